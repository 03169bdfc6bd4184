import Foundation
import Testing
import TestSupport
@testable import WeightKit

/// The fixtures' GGUF copies were written by gguf-py following llama.cpp's conventions (not by
/// WeightKit), so verifying them checks the GGUF reader, the GGUF naming and the Q/K order
/// independently.
@Suite("verify on GGUF copies written by gguf-py")
struct GGUFVerifyTests {
    @Test("each GGUF copy passes against the reference of the same weights", arguments: [
        ("gpt2-tiny/model.gguf", "gpt2-tiny/reference.safetensors"),  // f32, tied head
        ("gpt2-tiny/model-q8_0.gguf", "gpt2-tiny/reference-q8_0.safetensors"),  // Q8_0, reference from dequantized weights
        ("gpt2-untied/model.gguf", "gpt2-untied/reference-f16.safetensors"),  // f16, untied, erf GELU, inverse-layer scaling
        ("llama-gqa/model.gguf", "llama-gqa/reference.safetensors"),  // Q/K permuted to interleaved, GQA
        ("llama3-rope/model.gguf", "llama3-rope/reference.safetensors"),  // rope_freqs from llama3 scaling
        ("gpt1-tiny/model.gguf", "gpt1-tiny/reference.safetensors"),  // WeightKit's gpt1 convention, post-norm
    ])
    func passes(model: String, reference: String) throws {
        let m = try LoadedModel.open(Fixtures.path(model))
        #expect(m.checkpoint.format == .gguf)
        let r = try Verifier.verify(model: m, reference: try ReferenceFile.open(Fixtures.path(reference)))
        #expect(r.passed, "\(model): first failure \(r.firstFailure?.name ?? "")")
    }

    @Test("quantization error is visible: the Q8_0 model does not pass against the float32 reference")
    func quantizedDiffers() throws {
        let m = try LoadedModel.open(Fixtures.path("gpt2-tiny/model-q8_0.gguf"))
        let r = try Verifier.verify(model: m, reference: try ReferenceFile.open(Fixtures.path("gpt2-tiny/reference.safetensors")))
        #expect(!r.passed)
    }
}

/// The HF TensorFlow `tf_model.h5` copies were written by h5py (one zstd-compressed through
/// hdf5plugin, with another model-scope spelling); they run with the config.json beside them.
@Suite("verify on HDF5 and zstd inputs")
struct HDF5AndZstdVerifyTests {
    @Test("each tf_model.h5 passes", arguments: ["gpt2-tiny/tf_model.h5", "gpt2-tiny/tf_model_zstd.h5", "gpt1-tiny/tf_model.h5"])
    func hdf5(model: String) throws {
        let m = try LoadedModel.open(Fixtures.path(model))
        #expect(m.checkpoint.format == .hdf5)
        #expect(m.graph.naming.contains("TensorFlow"))
        let dir = (model as NSString).deletingLastPathComponent
        let r = try Verifier.verify(model: m, reference: try ReferenceFile.open(Fixtures.path(dir, "reference.safetensors")))
        #expect(r.passed, "\(model): first failure \(r.firstFailure?.name ?? "")")
    }

    /// Compresses with the `zstd` command-line tool (not WeightKit's codec).
    func zstdCLI(_ input: String, _ output: String) throws {
        let r = try Subprocess.run(["/usr/bin/env", "zstd", "-q", "-f", "-19", input, "-o", output])
        try #require(r.status == 0, "zstd failed: \(r.stderr)")
    }

    @Test(".zst inputs of every format open transparently", arguments: [
        ("llama-gqa", "model.safetensors", "reference.safetensors"), ("gpt2-tiny", "model-q8_0.gguf", "reference-q8_0.safetensors"),
        ("gpt1-tiny", "tf_model.h5", "reference.safetensors"),
    ])
    func zst(fixture: String, file: String, reference: String) throws {
        let dir = RepoPaths.temporaryDirectory("zst")
        try FileManager.default.copyItem(atPath: Fixtures.path(fixture, "config.json"), toPath: dir + "/config.json")
        try zstdCLI(Fixtures.path(fixture, file), dir + "/" + file + ".zst")
        let m = try LoadedModel.open(dir + "/" + file + ".zst")
        let r = try Verifier.verify(model: m, reference: try ReferenceFile.open(Fixtures.path(fixture, reference)))
        #expect(r.passed)
        // The temporary decompressed copy is gone once opened.
        let tmp = (try? FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())) ?? []
        #expect(!tmp.contains { $0.hasPrefix("wk-\(getpid())-") })
    }

    @Test("a truncated .zst fails with one line naming the file")
    func truncated() throws {
        let dir = RepoPaths.temporaryDirectory("zst")
        try zstdCLI(Fixtures.path("gpt2-tiny", "model.safetensors"), dir + "/m.safetensors.zst")
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/m.safetensors.zst"))
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: dir + "/model.safetensors.zst"))
        do {
            _ = try Checkpoint.open(dir + "/model.safetensors.zst")
            Issue.record("a truncated frame opened")
        } catch {
            #expect("\(error)".contains("model.safetensors.zst"))
            #expect(!"\(error)".contains("\n"))
        }
    }
}
