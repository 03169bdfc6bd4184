// weightkit analyze depth-mixing: what each block writes into the residual stream, and how each
// layer's stream is made of the earlier ones.

import ArgumentParser
import Foundation
import WeightKit

struct AnalyzeDepthMixing: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "depth-mixing",
        abstract: "Per layer, each block's write into the residual stream and the stream as a mix of earlier layers.",
        discussion: """
            The residual stream r_0…r_L is the model's hidden states, with the last one taken before the \
            final norm (GPT-2, LLaMA). For each layer ℓ ≥ 1, block ℓ's write is Δ_ℓ = r_ℓ − r_{ℓ−1}; the table \
            gives the mean over tokens of ‖r_ℓ‖, ‖Δ_ℓ‖ and cos(Δ_ℓ, r_{ℓ−1}) (negative: the block erases \
            part of the stream), then the least-squares weights α_ℓ,0…α_ℓ,ℓ−1 that best express r_ℓ as a \
            combination of r_0…r_{ℓ−1} over all tokens (DenseFormer's depth-weighted average, fitted after \
            the fact) and the R² of that fit. --json adds the shares: the part of r_ℓ along the embedding \
            and along each block's write (⟨u_j, r_ℓ⟩ ÷ ‖r_ℓ‖² per token, averaged; each row sums to 1).

            --plot draws the weights as a heatmap (rows: layers, columns: earlier block outputs), \
            --plot-shares the shares. Definitions: Formats/analysis.md.

            Examples:
              weightkit analyze depth-mixing Fixtures/gpt2-trained \\
                  --prompt "def f(self, x):" --plot mixing.svg
              weightkit analyze depth-mixing Fixtures/gpt1-trained --prompt "import os" \\
                  --json
              weightkit analyze depth-mixing Fixtures/llama-gqa --tokens 1,2,3,4
            """)

    @Argument(help: "A weight file or model directory.") var model: String
    @Option(help: "Comma-separated token ids.") var tokens: String?
    @Option(help: "Text to encode with the model's tokenizer (instead of --tokens).") var prompt: String?
    @Flag(help: "Print JSON: {\"model\", \"tokens\", \"token_strings\", \"layers\": [{\"layer\", \"stream_norm\", \"write_norm\", \"write_cosine\", \"shares\", \"weights\", \"r2\"}]}.") var json = false
    @Option(help: "Write an SVG heatmap of the least-squares weights to this path.") var plot: String?
    @Option(help: "Write an SVG heatmap of the shares to this path.") var plotShares: String?

    func validate() throws {
        try checkPlotPath(plot)
        if (tokens == nil) == (prompt == nil) { throw ValidationError("give exactly one of --tokens 1,2,3 or --prompt TEXT") }
    }

    @OptionGroup var limits: InputLimits

    func run() throws {
        limits.apply()
        let (ids, tokenizer) = try guarded { try resolveInput(tokens: tokens, prompt: prompt, model: model) }
        let mixing = try guarded { () -> DepthMixing in
            let m = try DepthMixing.run(try LoadedModel.open(model), name: model, tokens: ids)
            let text = prompt.map { "\"\(TokenLabel.oneLine($0, limit: 60))\"" } ?? TokenLabel.oneLine("tokens " + ids.map(String.init).joined(separator: ","), limit: 60)
            let subtitle = "\(model) on \(text) (\(ids.count) tokens)"
            if let plot { try writePlot(m.weightsHeatmap(subtitle: subtitle).svg(), to: plot) }
            if let plotShares { try writePlot(m.sharesHeatmap(subtitle: subtitle).svg(), to: plotShares) }
            return m
        }
        if json {
            printJSON(.object([
                ("model", .string(model)), ("tokens", .array(ids.map { .int($0) })),
                ("token_strings", tokenizer.map { t in .array(ids.map { .string(t.decode([$0])) }) } ?? .null),
                ("layers", .array(mixing.layers.map { l in
                    .object([
                        ("layer", .int(l.layer)), ("stream_norm", .double(l.streamNorm)),
                        ("write_norm", l.writeNorm.map { .double($0) } ?? .null),
                        ("write_cosine", l.writeCosine.map { .double($0) } ?? .null),
                        ("shares", .array(l.shares.map { .double($0) })),
                        ("weights", .array(l.weights.map { .double($0) })),
                        ("r2", l.r2.map { .double($0) } ?? .null),
                    ])
                })),
            ]))
            return
        }
        print("\(model): residual stream over depth on \(ids.count) tokens (means over tokens)")
        print("layer".padded(7) + "‖r_ℓ‖".leftPadded(10) + "‖Δ_ℓ‖".leftPadded(10) + "cos(Δ,r)".leftPadded(10) + "R²".leftPadded(9)
              + "   weights on r_0 … r_{ℓ−1}")
        for l in mixing.layers {
            let w = l.weights.map { String(format: "%+.3f", $0).leftPadded(8) }.joined()
            print(String(l.layer).padded(7) + fixed(l.streamNorm, 3).leftPadded(10) + (l.writeNorm.map { fixed($0, 3) } ?? "").leftPadded(10)
                  + (l.writeCosine.map { String(format: "%+.3f", $0) } ?? "").leftPadded(10) + (l.r2.map { fixed($0, 4) } ?? "").leftPadded(9)
                  + "   " + w)
        }
    }
}
