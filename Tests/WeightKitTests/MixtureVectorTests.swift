// A llama-quantize mixture from bf16 safetensors writes vectors (norms) as f32, as convert_hf_to_gguf does:
// llama.cpp's CPU ops refuse a bf16 norm weight. Read back by gguf-py.
import Foundation
import TestSupport
import Testing
import WeightKit

@Suite struct MixtureVectorTests {
    @Test("--dtype q4_k_m from bf16 safetensors: every 1-D tensor is F32 in the GGUF (gguf-py)")
    func vectorsF32() throws {
        let dir = RepoPaths.temporaryDirectory("mixture-vectors")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var o = ConvertOptions()
        o.mixture = .q4_k_m
        _ = try Converter.convert(Fixtures.path("llama-dtypes"), to: dir + "/out.gguf", options: o)
        let out = try Python.check(
            """
            import sys, gguf
            r = gguf.GGUFReader(sys.argv[1])
            print(sorted({(len([d for d in t.shape if d > 1]), t.tensor_type.name) for t in r.tensors}))
            """, [dir + "/out.gguf"])
        // llama-dtypes' norms are bf16 in the source; matrices of rows of 64 fall back to q5_0/q8_0.
        #expect(out.contains("(1, 'F32')"), "\(out)")
        #expect(!out.contains("(1, 'BF16')"), "\(out)")
    }
}
