// weightkit compare: how far apart two checkpoints of one model are (a quantization's cost).

import ArgumentParser
import Foundation
import WeightKit

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two checkpoints of one model on the same tokens: per-layer error, KL divergence, perplexity.",
        discussion: """
            A is the reference, B the copy (any formats and dtypes, e.g. an f32 safetensors and a \
            q8_0 GGUF). Both run on the same tokens; for each hidden state the relative error \
            ‖h_B − h_A‖ ÷ ‖h_A‖ is printed, and for the logits the mean and max KL(P_A ‖ P_B) over \
            positions and how often the top-1 token agrees. With --text-file the text is tokenized \
            (with A's tokenizer), cut into windows of --ctx tokens, and each model's perplexity is \
            reported too, as llama-perplexity --kl-divergence does.

            --max-kl X makes it a check: exit 1 when the mean KL exceeds X.

            Examples:
              weightkit compare Fixtures/gpt2-tiny Fixtures/gpt2-tiny/model-q8_0.gguf \\
                  --tokens 0,95,7,36
              weightkit compare model/ model-q4_0.gguf --text-file wiki.txt --ctx 256 \\
                  --json
              weightkit compare model/ model-q8_0.gguf --prompt "Hello" --max-kl 0.01
            """)

    @Argument(help: "The reference checkpoint.") var a: String
    @Argument(help: "The checkpoint to compare with it.") var b: String
    @Option(help: "Comma-separated token ids.") var tokens: String?
    @Option(help: "Text to encode with A's tokenizer.") var prompt: String?
    @Option(name: .customLong("text-file"), help: "A text file: perplexity and KL over all of it.") var textFile: String?
    @Option(help: "Window length for --text-file (default: the model's context, at most 512).") var ctx: Int?
    @Option(name: .customLong("max-kl"), help: "Exit 1 when the mean KL divergence exceeds this.") var maxKL: Double?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        if [tokens != nil, prompt != nil, textFile != nil].filter({ $0 }).count != 1 {
            throw ValidationError("give exactly one of --tokens, --prompt or --text-file")
        }
        if let ctx, ctx < 2 { throw ValidationError("--ctx must be at least 2") }
    }

    @OptionGroup var limits: InputLimits

    func run() throws {
        limits.apply()
        let c = try guarded { () -> Comparison in
            let ma = try LoadedModel.open(a)
            let mb = try LoadedModel.open(b)
            var windows: [[Int]]
            if let textFile {
                guard let data = FileManager.default.contents(atPath: textFile) else {
                    throw WeightKitError("\(textFile): cannot read")
                }
                guard let text = String(data: data, encoding: .utf8) else { throw WeightKitError("\(textFile): not UTF-8 text") }
                let tok = try ModelTokenizer.require(for: a)
                try ModelTokenizer.check(tok, against: ma.graph.config, path: a)
                let size = min(ctx ?? min(ma.graph.config.maxPositions, 512), ma.graph.config.maxPositions, mb.graph.config.maxPositions)
                windows = Comparer.windows(tok.encode(text), size: size)
            } else {
                windows = [try resolveInput(tokens: tokens, prompt: prompt, model: a, config: ma.graph.config).ids]
            }
            return try Comparer.compare(ma, mb, windows: windows, perplexity: textFile != nil)
        }
        if json {
            printJSON(c.json)
        } else {
            print("compare \(b) with \(a) over \(c.positions) positions")
            if !c.layers.isEmpty {
                print("  hidden state        rel error")
                for l in c.layers { print("  \(l.name.padded(18))  \(String(format: "%.3e", l.relError))") }
            }
            print(String(format: "  logits: KL mean %.4e, KL max %.4e, top-1 agreement %.2f%%", c.klMean, c.klMax, c.top1Agreement * 100))
            if let p = c.perplexity { print(String(format: "  perplexity: A %.4f, B %.4f (B/A %.4f)", p.a, p.b, p.b / p.a)) }
        }
        if let maxKL, c.klMean > maxKL {
            writeStandardError("weightkit: mean KL divergence \(String(format: "%.4e", c.klMean)) exceeds --max-kl \(maxKL)\n")
            throw ExitCode(1)
        }
    }
}
