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
