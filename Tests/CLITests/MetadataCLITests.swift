import Foundation
import TestSupport
import Testing

/// GGUF metadata overridden by tensor shapes is said once on stderr and shown by inspect.
@Suite("metadata warnings on the command line")
struct MetadataCLITests {
    @Test func warningLine() throws {
        let gguf = Fixtures.path("gpt2-ninner", "llamacpp.gguf")
        let v = try Subprocess.run([CLITests.binary, "verify", gguf, "--reference", Fixtures.path("gpt2-ninner", "reference.safetensors")])
        #expect(v.status == 0, "\(v.stderr)")
        let lines = v.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0] == "weightkit: warning: \(gguf): GGUF metadata says gpt2.feed_forward_length = 128 but the MLP tensors give 48; using 48")
        let i = try Subprocess.run([CLITests.binary, "inspect", gguf])
        #expect(i.status == 0 && i.stdout.contains("warning       GGUF metadata says gpt2.feed_forward_length = 128"))
    }
}
