// --max-decompressed SIZE: the options every command that opens a model or weight file shares.

import ArgumentParser
import WeightKit

/// Limits on what an input may cost to open (Formats/security.md).
struct InputLimits: ParsableArguments {
    @Option(
        name: .customLong("max-decompressed"),
        help: ArgumentHelp(
            "Most bytes a .zst input may decompress to (e.g. 512M, 8G; K/M/G/T are powers of 1024).",
            discussion: "Default: WEIGHTKIT_MAX_DECOMPRESSED when set, else 32 times the compressed size and at least 1G. Past it the input is refused.",
            valueName: "size"))
    var maxDecompressed: String?

    func validate() throws {
        if let maxDecompressed, Checkpoint.parseSize(maxDecompressed) == nil {
            throw ValidationError("--max-decompressed takes a size in bytes, or with K, M, G or T (e.g. 512M, 8G); got '\(maxDecompressed)'")
        }
    }

    /// Sets the limits for this process (the flag overrides the environment).
    func apply() {
        if let maxDecompressed, let v = Checkpoint.parseSize(maxDecompressed) { Checkpoint.maxDecompressedBytes = v }
    }
}
