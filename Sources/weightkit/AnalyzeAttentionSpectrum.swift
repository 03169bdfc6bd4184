// weightkit analyze attention-spectrum: σ_max of every head's attention-probability matrix, per layer.

import ArgumentParser
import WeightKit

struct AnalyzeAttentionSpectrum: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention-spectrum",
        abstract: "Per layer, the spectral norm of each head's attention matrix; mean, min and max over heads.",
        discussion: """
            For each layer and head, the largest singular value σ_max of the [T, T] matrix of attention \
            probabilities (power iteration on PᵀP in double precision, stopped when ‖PᵀPv − λv‖ ≤ 1e-10·λ). \
            Attention rows sum to 1, so every value lies in [1, √T]: 1 for attention to oneself only, √T \
            when every token attends only to token 0. With --reference, each model runs on the file's \
            input_ids and a head's value is averaged over its sequences.

            Several models go on one plot: one line each (mean over heads) with a band from min to max.

            Examples:
              weightkit analyze attention-spectrum Fixtures/gpt2-tiny \\
                  --tokens 0,95,7,36,65,94,27,56
              weightkit analyze attention-spectrum Fixtures/gpt1-tiny Fixtures/gpt2-tiny \\
                  Fixtures/llama-gqa --reference Fixtures/gpt2-tiny/reference.safetensors \\
                  --plot spectra.svg
              weightkit analyze attention-spectrum Fixtures/llama-gqa --tokens 1,2,3,4 \\
                  --csv > spectra.csv
            """)

    @Argument(help: "One or more weight files or model directories.") var models: [String]
    @Option(help: "Comma-separated token ids.") var tokens: String?
    @Option(help: "Take the tokens from this reference file's input_ids.") var reference: String?
    @Option(help: "Text to encode with each model's tokenizer (instead of --tokens).") var prompt: String?
    @Flag(help: "Print JSON: {\"models\": [{\"model\", \"layers\": [{\"layer\", \"heads\", \"mean\", \"min\", \"max\"}]}]}.") var json = false
    @Flag(help: "Print CSV: model,layer,head,sigma_max.") var csv = false
    @Option(help: "Write an SVG line chart to this path.") var plot: String?

    func validate() throws {
        try checkPlotPath(plot)
        if models.isEmpty { throw ValidationError("give at least one MODEL") }
        if [tokens != nil, reference != nil, prompt != nil].filter({ $0 }).count != 1 {
            throw ValidationError("give exactly one of --tokens 1,2,3, --prompt TEXT or --reference REF.safetensors")
        }
        if json && csv { throw ValidationError("--json and --csv are alternatives; give one") }
    }

    @OptionGroup var limits: InputLimits

    func run() throws {
        limits.apply()
        let spectra = try guarded { () -> [AttentionSpectrum] in
            let spectra = try models.map { path in
                let batch = try prompt.map { [try resolveInput(tokens: nil, prompt: $0, model: path).ids] }
                    ?? analysisInput(tokens: tokens, reference: reference)
                return try AttentionSpectrum.measure(try LoadedModel.open(path), name: path, batch: batch)
            }
            if let plot { try writePlot(AttentionSpectrum.chart(spectra, input: prompt.map { "\"\($0)\"" }).svg(), to: plot) }
            return spectra
        }
        if json {
            printJSON(.object([("models", .array(spectra.map { s in
                .object([
                    ("model", .string(s.model)), ("tokens", .int(s.tokens)),
                    ("layers", .array(s.layers.map { l in
                        .object([
                            ("layer", .int(l.layer)), ("heads", .array(l.heads.map { .double($0) })), ("mean", .double(l.mean)),
                            ("min", .double(l.min)), ("max", .double(l.max)),
                        ])
                    })),
                ])
            }))]))
            return
        }
        if csv {
            print("model,layer,head,sigma_max")
            for s in spectra { for l in s.layers { for (h, v) in l.heads.enumerated() { print("\(csvField(s.model)),\(l.layer),\(h),\(v)") } } }
            return
        }
        for (i, s) in spectra.enumerated() {
            if i > 0 { print("") }
            print("\(s.model): σ_max of attention probabilities, T = \(s.tokens) (bounds 1 … √T = \(fixed(Double(s.tokens).squareRoot())))")
            let heads = s.layers.first?.heads.count ?? 0
            print("layer".padded(7) + "mean".leftPadded(9) + "min".leftPadded(9) + "max".leftPadded(9) + "   " + (0..<heads).map { "h\($0)".leftPadded(8) }.joined())
            for l in s.layers {
                print(String(l.layer).padded(7) + fixed(l.mean).leftPadded(9) + fixed(l.min).leftPadded(9) + fixed(l.max).leftPadded(9) + "   "
                    + l.heads.map { fixed($0).leftPadded(8) }.joined())
            }
        }
    }
}

/// A CSV field, quoted when it holds a comma, quote or newline.
func csvField(_ s: String) -> String {
    s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
}
