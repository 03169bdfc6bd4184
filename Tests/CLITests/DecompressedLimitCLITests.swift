// --max-decompressed SIZE on the commands that read `.zst` inputs: the flag sets the cap, overrides
// WEIGHTKIT_MAX_DECOMPRESSED, and a refusal is one line naming the file and the limit, exit 2, with
// nothing left in $TMPDIR.

import Foundation
import Testing
import TestSupport

@Suite("--max-decompressed")
struct DecompressedLimitCLITests {
    @Test("the flag caps decompression, overrides the environment, and refuses cleanly")
    func flag() throws {
        let dir = RepoPaths.temporaryDirectory("cli-maxdec")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let scratch = dir + "/tmp"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let source = Fixtures.path("gpt2-tiny", "model.safetensors")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: source)[.size] as? Int)
        let zst = dir + "/model.safetensors.zst"
        try FileManager.default.copyItem(atPath: Fixtures.path("gpt2-tiny", "config.json"), toPath: dir + "/config.json")
        let z = try Subprocess.run(["/bin/sh", "-c", "zstd -q -c '\(source)' > '\(zst)'"])
        try #require(z.status == 0, "\(z.stderr)")
        func wk(_ args: [String], env: String? = nil) throws -> ProcessResult {
            var e = ProcessInfo.processInfo.environment
            e["TMPDIR"] = scratch
            e["WEIGHTKIT_MAX_DECOMPRESSED"] = env
            return try Subprocess.run([CLITests.binary] + args, environment: e)
        }
        let below = "\(size / 1024 - 1)K"
        let above = "\(size / 1024 + 1)K"
        for command in [["inspect", zst], ["run", zst, "--tokens", "1,2"], ["convert", zst, dir + "/out.gguf"]] {
            let refused = try wk(command + ["--max-decompressed", below])
            #expect(refused.status == 2, "\(command[0]): \(refused.stderr)")
            #expect(refused.stderr == "weightkit: \(zst): decompresses to more than \((size / 1024 - 1) * 1024) bytes (the limit; raise it with --max-decompressed SIZE or WEIGHTKIT_MAX_DECOMPRESSED, in bytes or with K/M/G/T); stopped after reading \(try #require(try FileManager.default.attributesOfItem(atPath: zst)[.size] as? Int)) compressed bytes\n", "\(command[0])")
            #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).isEmpty)
            #expect(!FileManager.default.fileExists(atPath: dir + "/out.gguf"))
            // The flag wins over the environment, both ways.
            let raised = try wk(command + ["--max-decompressed", above], env: below)
            #expect(raised.status == 0, "\(command[0]): \(raised.stderr)")
            let lowered = try wk(command + ["--max-decompressed", below], env: above)
            #expect(lowered.status == 2, "\(command[0]): \(lowered.stderr)")
            #expect(try wk(command, env: below).status == 2)
            try? FileManager.default.removeItem(atPath: dir + "/out.gguf")
        }
        let bad = try wk(["inspect", zst, "--max-decompressed", "lots"])
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("Error: --max-decompressed takes a size in bytes, or with K, M, G or T (e.g. 512M, 8G); got 'lots'\n"), "\(bad.stderr)")
        let help = try wk(["verify", "--help"])
        #expect(help.stdout.contains("--max-decompressed <size>"))
    }
}
