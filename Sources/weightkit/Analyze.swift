// weightkit analyze: attention spectra, rank collapse and the logit lens, with tables, JSON and SVG plots.

import ArgumentParser
import Foundation
import WeightKit

struct Analyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Look inside models: attention spectra, rank collapse, the logit lens, depth mixing.",
        discussion: """
            Each analysis prints a table, or JSON with --json, and can draw an SVG plot with --plot. \
            Definitions, algorithms and tolerances: Formats/analysis.md.

            Examples:
              weightkit analyze attention-spectrum Fixtures/gpt1-tiny Fixtures/gpt2-tiny \\
                  --tokens 0,95,7,36,65,94,27,56 --plot spectra.svg
              weightkit analyze rank-collapse --depth 12 --samples 32 --plot collapse.svg
              weightkit analyze logit-lens Fixtures/gpt2-tiny --tokens 0,95,7,36 --top 3 \\
                  --plot lens.svg
              weightkit analyze depth-mixing Fixtures/gpt2-trained --prompt "def f(x):" \\
                  --plot mixing.svg
            """,
        subcommands: [AnalyzeAttentionSpectrum.self, AnalyzeRankCollapse.self, AnalyzeLogitLens.self, AnalyzeDepthMixing.self])
}

/// Refuses a --plot path that does not end in .svg: the plots are SVG and nothing else, and a
/// file named .png holding SVG text would mislead.
func checkPlotPath(_ path: String?) throws {
    guard let path, !path.lowercased().hasSuffix(".svg") else { return }
    throw ValidationError("--plot writes SVG; give a path ending in .svg (got '\(path)')")
}

/// Writes an SVG document and says where on stderr, so stdout stays a table or JSON.
func writePlot(_ svg: String, to path: String) throws {
    try checkPlotPath(path)
    do {
        try svg.write(toFile: path, atomically: true, encoding: .utf8)
    } catch {
        throw WeightKitError("\(path): cannot write the plot (\(error.localizedDescription))")
    }
    writeStandardError("plot written to \(path)\n")
}

/// The token ids of --tokens, or of --reference's input_ids (all its sequences).
func analysisInput(tokens: String?, reference: String?) throws -> [[Int]] {
    switch (tokens, reference) {
    case (let t?, nil): return [try parseTokens(t)]
    case (nil, let r?): return try ReferenceFile.open(r).inputIDs
    default: throw ValidationError("give exactly one of --tokens 1,2,3 or --reference REF.safetensors")
    }
}

/// "1.2346" with a fixed number of decimals.
func fixed(_ x: Double, _ decimals: Int = 4) -> String { String(format: "%.\(decimals)f", x) }
