// weightkit analyze logit-lens: each layer's hidden state decoded through the final norm and head.

import ArgumentParser
import WeightKit

struct AnalyzeLogitLens: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logit-lens",
        abstract: "Decode every layer's hidden state through the final norm and the unembedding: top-K tokens per position.",
        discussion: """
            Layer 0 is the embedding output, layer L the last hidden state (Hugging Face's hidden_states \
            convention). The model's final norm is applied where the hidden state is not already \
            normalised: GPT-2 and LLaMA layers 0…L−1 (layer L is already after ln_f / norm); never for \
            GPT-1, which has no final norm. So layer L's top-1 is the model's own next-token prediction.

            The plot is a heatmap (rows: layers, last on top; columns: positions): each cell shows the \
            top-1 token, coloured by its softmax probability. Tokens are shown as strings when the model \
            has a tokenizer (spaces as ␣, newlines as ↵), as ids otherwise.

            Examples:
              weightkit analyze logit-lens Fixtures/gpt2-tiny \\
                  --tokens 0,95,7,36,65,94,27,56
              weightkit analyze logit-lens Fixtures/llama-gqa --tokens 1,2,3 --top 5 --json
              weightkit analyze logit-lens Fixtures/gpt1-tiny --tokens 0,95,7,36 \\
                  --plot lens.svg
              weightkit analyze logit-lens Fixtures/gpt2-trained \\
                  --prompt "def __init__(self):" --plot lens.svg
            """)

    @Argument(help: "A weight file or model directory.") var model: String
    @Option(help: "Comma-separated token ids.") var tokens: String?
    @Option(help: "Text to encode with the model's tokenizer (instead of --tokens).") var prompt: String?
    @Option(help: "Tokens to keep per layer and position.") var top = 5
    @Flag(help: "Print JSON: {\"layers\": [{\"layer\", \"positions\": [{\"top\": [[id, logit], …]}]}]}.") var json = false
    @Option(help: "Write an SVG heatmap to this path.") var plot: String?

    func validate() throws {
        try checkPlotPath(plot)
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
    }

    @OptionGroup var limits: InputLimits

    func run() throws {
        limits.apply()
        let (ids, tokenizer) = try guarded { try resolveInput(tokens: tokens, prompt: prompt, model: model) }
        let lens = try guarded { () -> LogitLens in
            let lens = try LogitLens.run(try LoadedModel.open(model), name: model, tokens: ids, top: top)
            if let plot { try writePlot(lens.heatmap(tokenizer: tokenizer).svg(), to: plot) }
            return lens
        }
        if json {
            printJSON(.object([
                ("model", .string(model)), ("tokens", .array(ids.map { .int($0) })),
                ("token_strings", tokenizer.map { t in .array(ids.map { .string(t.decode([$0])) }) } ?? .null),
                ("layers", .array(lens.layers.map { l in
                    .object([
                        ("layer", .int(l.layer)), ("final_norm_applied", .bool(l.normalised)),
                        ("positions", .array(l.positions.map { p in
                            .object([
                                ("top", .array(p.top.map { .array([.int($0.id), .float($0.logit)]) })),
                                ("top1_probability", .double(p.topProbability)),
                            ])
                        })),
                    ])
                })),
            ]))
            return
        }
        print("\(model): top-\(top) tokens per layer and position (id:logit); * = final norm applied")
        for l in lens.layers.reversed() {
            print("layer \(l.layer)\(l.normalised ? "*" : "")")
            for (p, pos) in l.positions.enumerated() {
                let input = tokenizer == nil ? String(ids[p]).leftPadded(5) : "\(ids[p]) \(TokenLabel.label(ids[p], tokenizer: tokenizer))"
                print("  pos \(String(p).leftPadded(3)) (in \(input)): "
                    + pos.top.map { t in tokenizer == nil ? "\(t.id):\(short(t.logit))" : "\(TokenLabel.label(t.id, tokenizer: tokenizer)):\(short(t.logit))" }.joined(separator: "  "))
            }
        }
    }
}
