// weightkit analyze rank-collapse: how fast stacks of attention layers lose rank, with and without
// skip connections and MLPs (Dong, Cordonnier, Loukas 2021); or the same measure on a model.

import ArgumentParser
import WeightKit

struct AnalyzeRankCollapse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rank-collapse",
        abstract: "Per layer, the distance of the token representations from rank 1, in four synthetic stacks or a model.",
        discussion: """
            The measure is ‖res(X)‖_F = ‖X − 1·mean(X)‖_F over the tokens (rows) of X, the Frobenius-optimal \
            res(X) of Dong, Cordonnier and Loukas (2021); "relative" divides it by ‖X‖_F. Zero means every \
            token has the same representation (rank 1).

            Without --model: four randomly initialised stacks of pre-norm blocks run in the executor, \
            sharing one draw of weights and input per sample, averaged over --samples draws:
              attention            x ← Attn(LN(x))
              attention+skip       x ← x + Attn(LN(x))
              attention+mlp        x ← MLP(LN(Attn(LN(x))))
              attention+skip+mlp   h ← x + Attn(LN(x)); x ← h + MLP(LN(h))
            Attention is causal (as in GPT models), weights are N(0, 1/fan_in), the MLP is 4·width wide \
            with GELU, the input rows are N(0, 1). The same --seed gives the same numbers.

            With --model and --tokens: the same measure on the model's hidden_states.0…L. For GPT-2 and \
            LLaMA the last one is after the final norm, so compare relative values there.

            Examples:
              weightkit analyze rank-collapse
              weightkit analyze rank-collapse --depth 24 --width 64 --heads 4 --samples 8 --seed 7 --plot collapse.svg
              weightkit analyze rank-collapse --model Fixtures/gpt2-tiny --tokens 0,95,7,36,65,94,27,56 --json
            """)

    @Option(help: "Blocks in each synthetic stack.") var depth = 12
    @Option(help: "Token count: rows of X (synthetic), or comma-separated token ids with --model.") var tokens: String = "10"
    @Option(help: "Model width D of the synthetic stacks.") var width = 128
    @Option(help: "Attention heads of the synthetic stacks.") var heads = 1
    @Option(help: "Random draws (weights and input) averaged per layer.") var samples = 32
    @Option(help: "Seed of the generator (SplitMix64).") var seed: UInt64 = 0
    @Option(help: "Measure this model's hidden states instead of synthetic stacks.") var model: String?
    @Flag(help: "Print JSON: {\"layers\": [0…L], \"series\": {name: [absolute…]}, \"relative\": {name: [relative…]}}.") var json = false
    @Option(help: "Write an SVG line chart (relative residual, log scale) to this path.") var plot: String?

    func run() throws {
        let result: RankCollapseResult
        let subtitle: String
        if let model {
            let ids = try parseTokens(tokens)
            guard ids.count >= 2 else { throw ValidationError("--tokens needs at least 2 token ids with --model: one token is always rank 1") }
            (result, subtitle) = try guarded {
                (try RankCollapse.model(try LoadedModel.open(model), name: model, tokens: ids), "\(model) hidden states on \(ids.count) tokens")
            }
        } else {
            guard let t = Int(tokens) else {
                throw ValidationError("--tokens is a count for synthetic stacks (e.g. --tokens 10); token ids go with --model")
            }
            guard t >= 2 else { throw ValidationError("--tokens must be at least 2: one token is always rank 1") }
            let shape = StackShape(depth: depth, tokens: t, width: width, heads: heads)
            (result, subtitle) = try guarded {
                (try RankCollapse.synthetic(shape: shape, samples: samples, seed: seed),
                 "causal pre-norm stacks, T = \(t), D = \(width), \(heads) head\(heads == 1 ? "" : "s"), mean of \(samples) draws, seed \(seed)")
            }
        }
        if let plot { try guarded { try writePlot(result.chart(subtitle: subtitle).svg(), to: plot) } }
        if json {
            printJSON(.object([
                ("layers", .array(result.layers.map { .int($0) })),
                ("series", .object(result.series.map { ($0.name, .array($0.absolute.map { .double($0) })) })),
                ("relative", .object(result.series.map { ($0.name, .array($0.relative.map { .double($0) })) })),
            ]))
            return
        }
        print("‖X − 1·mean(X)‖_F per layer (relative = ÷ ‖X‖_F): \(subtitle)")
        print("layer".padded(7) + result.series.map { ($0.name.count > 22 ? "…" + $0.name.suffix(21) : $0.name).leftPadded(24) }.joined())
        for (i, l) in result.layers.enumerated() {
            print(String(l).padded(7) + result.series.map { s in
                "\(sci(s.absolute[i])) (\(sci(s.relative[i])))".leftPadded(24)
            }.joined())
        }
    }
}

/// "1.234e-05" style.
func sci(_ x: Double) -> String { String(format: "%.3e", x) }
