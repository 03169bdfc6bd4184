// weightkit analyze rank-collapse: how fast stacks of attention layers lose rank, with and without
// skip connections and MLPs (Dong, Cordonnier, Loukas 2021); or the same measure on a model.

import ArgumentParser
import WeightKit

extension StackSetup: ExpressibleByArgument {}

struct AnalyzeRankCollapse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rank-collapse",
        abstract: "Per layer, the distance of the token representations from rank 1, in four synthetic stacks or a model.",
        discussion: """
            The measure is ‖res(X)‖_F = ‖X − 1·mean(X)‖_F over the tokens (rows) of X, the Frobenius-optimal \
            res(X) of Dong, Cordonnier and Loukas (2021); --relative divides it by ‖X‖_F. Zero means every \
            token has the same representation (rank 1).

            Without --model: four randomly initialised stacks sharing one draw of weights and inputs \
            (attention only, with skip, with MLP, with skip and MLP; LN = LayerNorm).

            --setup published (the default) is the experiment as published, in PyTorch's terms: \
            nn.MultiheadAttention(D, heads, bias=False) without a mask (bidirectional), blocks \
            Y = MHA(LN(X)), with MLP Y = fc2(ReLU(fc1(LN(Y)))) (width D, biases), with skip Y = Y + X; \
            PyTorch's default initialisations (in-projection Xavier-uniform, Linear Kaiming-uniform). \
            One draw of weights (--seed) and a batch of --samples inputs with N(0, 1) entries, averaged.

            --setup causal is GPT-style: pre-norm blocks with a skip around attention and around the MLP \
            (GELU, width 4D, no biases), causal attention, N(0, 1/fan_in) weights, --samples independent \
            draws of weights and input.

            --mask none|causal sets the attention mask of either setup; --mask none,causal runs both and \
            plots them side by side. The same --seed gives the same numbers on every machine.

            With --model and --tokens or --prompt: the same measure on the model's hidden_states.0…L. For \
            GPT-2 and LLaMA the last one is after the final norm, so compare relative values there.

            Examples:
              weightkit analyze rank-collapse
              weightkit analyze rank-collapse --mask none,causal --plot collapse.svg
              weightkit analyze rank-collapse --setup causal --depth 24 --width 64 \\
                  --heads 4 --samples 8 --seed 7 --relative
              weightkit analyze rank-collapse --model Fixtures/gpt2-trained \\
                  --prompt "def f(x):" --json
            """)

    @Option(help: "Synthetic stacks: published (PyTorch's experiment) or causal (GPT-style).") var setup: StackSetup = .published
    @Option(help: "Attention mask of the synthetic stacks: none, causal, or none,causal for both (default: the setup's).") var mask: String?
    @Option(help: "Blocks in each synthetic stack.") var depth = 12
    @Option(help: "Token count: rows of X (synthetic), or comma-separated token ids with --model.") var tokens: String?
    @Option(help: "Text to encode with the model's tokenizer (with --model).") var prompt: String?
    @Option(help: "Model width D of the synthetic stacks.") var width = 128
    @Option(help: "Attention heads of the synthetic stacks.") var heads = 1
    @Option(help: "Inputs averaged per layer (published: a batch through one draw of weights; causal: independent draws).") var samples = 32
    @Option(help: "Seed of the generator (SplitMix64).") var seed: UInt64 = 0
    @Option(help: "Measure this model's hidden states instead of synthetic stacks (repeat for several models, one line each).") var model: [String] = []
    @Flag(help: "Show ‖X − 1·mean(X)‖_F ÷ ‖X‖_F instead of the absolute norm in the table and plot.") var relative = false
    @Flag(help: "Print JSON: {\"setup\", \"mask\", \"layers\": [0…L], \"series\": {name: [absolute…]}, \"relative\": {name: [relative…]}}; with two masks {\"setup\", \"layers\", \"masks\": [{\"mask\", \"series\", \"relative\"}…]}.") var json = false
    @Option(help: "Write an SVG line chart (log scale) to this path.") var plot: String?

    func validate() throws {
        try checkPlotPath(plot)
        if model.isEmpty {
            if prompt != nil { throw ValidationError("--prompt goes with --model") }
        } else {
            if mask != nil { throw ValidationError("--mask applies to the synthetic stacks, not to --model") }
        }
        _ = try masks()
    }

    /// The masks asked for: one, or two for a side-by-side comparison.
    func masks() throws -> [StackMask?] {
        guard let mask else { return [nil] }
        let parts = mask.split(separator: ",", omittingEmptySubsequences: false).map { String($0) }
        let parsed = parts.compactMap { StackMask(rawValue: $0) }
        guard parsed.count == parts.count, Set(parsed).count == parsed.count else {
            throw ValidationError("--mask takes none, causal, or none,causal")
        }
        return parsed
    }

    @OptionGroup var limits: InputLimits

    func run() throws {
        limits.apply()
        var runs = [(mask: StackMask?, result: RankCollapseResult, subtitle: String)]()
        if !model.isEmpty {
            // One series per model, each on its own tokenizer's encoding of --prompt.
            var series = [ResidualSeries]()
            var layers = [Int]()
            var counts = [Int]()
            for m in model {
                let ids = try guarded { try resolveInput(tokens: tokens, prompt: prompt, model: m).ids }
                guard ids.count >= 2 else { throw ValidationError("the model's input needs at least 2 tokens: one token is always rank 1") }
                let r = try guarded { try RankCollapse.model(try LoadedModel.open(m), name: m, tokens: ids) }
                series += r.series
                if r.layers.count > layers.count { layers = r.layers }
                counts.append(ids.count)
            }
            let n = Set(counts).count == 1 ? "\(counts[0]) tokens" : "\(counts.map(String.init).joined(separator: "/")) tokens"
            let what = prompt.map { "\"\(TokenLabel.oneLine($0, limit: 48))\" (\(n))" } ?? n
            let names = model.count == 1 ? model[0] : "\(model.count) models'"
            runs.append((nil, RankCollapseResult(layers: layers, series: series), "\(names) hidden states on \(what)"))
        } else {
            let t: Int
            if let tokens {
                guard let n = Int(tokens) else {
                    throw ValidationError("--tokens is a count for synthetic stacks (e.g. --tokens 10); token ids go with --model")
                }
                t = n
            } else {
                t = 10
            }
            guard t >= 2 else { throw ValidationError("--tokens must be at least 2: one token is always rank 1") }
            let shape = StackShape(depth: depth, tokens: t, width: width, heads: heads)
            let maskList = try masks()
            for m in maskList {
                let result = try guarded { try RankCollapse.synthetic(shape: shape, setup: setup, mask: m, samples: samples, seed: seed) }
                let maskText = (m ?? setup.defaultMask) == .bidirectional ? "no mask (bidirectional)" : "causal mask"
                let how = setup == .published
                    ? "\(samples) inputs, one draw of weights, seed \(seed)" : "mean of \(samples) draws, seed \(seed)"
                // Side by side the title names the mask, and the subtitle must fit half the width.
                let what = maskList.count > 1 ? "" : "\(maskText), "
                runs.append((m ?? setup.defaultMask, result,
                             "\(setup.rawValue) setup, \(what)T = \(t), D = \(width), \(heads) head\(heads == 1 ? "" : "s"), \(how)"))
            }
        }
        if let plot {
            let charts = runs.map { r in
                r.result.chart(
                    title: runs.count > 1 ? "Rank collapse, \(r.mask == .bidirectional ? "no mask (bidirectional)" : "causal mask")" : "Rank collapse: distance from rank 1 per layer",
                    subtitle: r.subtitle, relative: relative)
            }
            let svg = charts.count == 1 ? charts[0].svg() : LineChart.sideBySide(charts)
            try guarded { try writePlot(svg, to: plot) }
        }
        if json {
            func measures(_ r: RankCollapseResult) -> [(String, JSONValue)] {
                [
                    ("series", .object(r.series.map { ($0.name, .array($0.absolute.map { .double($0) })) })),
                    ("relative", .object(r.series.map { ($0.name, .array($0.relative.map { .double($0) })) })),
                ]
            }
            var top: [(String, JSONValue)] = model.isEmpty ? [("setup", .string(setup.rawValue))] : [("models", .array(model.map { .string($0) }))]
            if runs.count == 1 {
                if let m = runs[0].mask { top.append(("mask", .string(m.rawValue))) }
                top.append(("layers", .array(runs[0].result.layers.map { .int($0) })))
                top += measures(runs[0].result)
            } else {
                top.append(("layers", .array(runs[0].result.layers.map { .int($0) })))
                top.append(("masks", .array(runs.map { .object([("mask", .string($0.mask?.rawValue ?? ""))] + measures($0.result)) })))
            }
            printJSON(.object(top))
            return
        }
        for (i, r) in runs.enumerated() {
            if i > 0 { print("") }
            print((relative ? "‖X − 1·mean(X)‖_F ÷ ‖X‖_F" : "‖X − 1·mean(X)‖_F") + " per layer: \(r.subtitle)")
            print("layer".padded(7) + r.result.series.map { ($0.name.count > 20 ? "…" + $0.name.suffix(19) : $0.name).leftPadded(22) }.joined())
            for (k, l) in r.result.layers.enumerated() {
                print(String(l).padded(7) + r.result.series.map { s in
                    (k < s.absolute.count ? sci(relative ? s.relative[k] : s.absolute[k]) : "").leftPadded(22)
                }.joined())
            }
        }
    }
}

/// "1.234e-05" style.
func sci(_ x: Double) -> String { String(format: "%.3e", x) }
