import Foundation
import Testing
import TestSupport
@testable import Checkpoints
@testable import Models
@testable import WeightKit

/// GGUF metadata against tensor shapes (Models/MetadataCheck.swift). gpt2-ninner/llamacpp.gguf is
/// llama.cpp's converter's output for a GPT-2 with n_inner 48 (Fixtures/gpt2_ninner.py): its
/// gpt2.feed_forward_length says 128, its tensors 48, and llama.cpp's own loader refuses it.
@Suite("metadata that lies, tensors that don't")
struct MetadataCheckTests {
    @Test("llama.cpp's GPT-2 GGUF with n_inner: the tensors' width is used, with a warning; it verifies and diffs equal")
    func feedForwardFromTensors() throws {
        let m = try LoadedModel.open(Fixtures.path("gpt2-ninner", "llamacpp.gguf"))
        #expect(m.graph.config.intermediateSize == 48)
        #expect(m.graph.warnings == ["GGUF metadata says gpt2.feed_forward_length = 128 but the MLP tensors give 48; using 48"])
        let r = try Verifier.verify(model: m, reference: try ReferenceFile.open(Fixtures.path("gpt2-ninner", "reference.safetensors")))
        #expect(r.passed, "fails at \(r.firstFailure?.name ?? "")")
        let d = try Differ.diff(Fixtures.path("gpt2-ninner"), Fixtures.path("gpt2-ninner", "llamacpp.gguf"))
        #expect(d.equal, "\(d.configDifferences)")
        #expect(try LoadedModel.open(Fixtures.path("gpt2-ninner")).graph.warnings.isEmpty)
    }

    @Test("tensors that disagree among themselves: the error names the metadata value and theirs")
    func unsettled() throws {
        let c = try Checkpoint.open(Fixtures.path("gpt2-ninner", "llamacpp.gguf"))
        let entries = c.entries.map { e -> TensorEntry in
            e.name == "blk.1.ffn_up.weight" ? (try! TensorEntry(name: e.name, dtype: .f32, shape: [40, 32]) { try e.bytes() }) : e
        }
        let bad = Checkpoint(path: c.path, format: c.format, files: c.files, metadata: c.metadata, entries: entries)
        let e = try #require(throws: ModelError.self) { try ModelLayouts.graph(for: bad) }
        #expect(e.description.contains("gpt2.feed_forward_length = 128; the MLP tensors have widths [40, 48]"), "\(e)")
    }

    @Test("vocab_size and head counts (with a key_length) are taken from the tensors, each with its warning")
    func vocabAndHeads() throws {
        var g = try Checkpoint.open(Fixtures.path("gpt2-tiny", "model.gguf"))
        g.metadata["gpt2.vocab_size"] = .uint32(600)
        let a = try ModelLayouts.graph(for: g)
        #expect(a.config.vocabSize == 96 && a.warnings == ["GGUF metadata says gpt2.vocab_size = 600 but token_embd.weight's rows give 96; using 96"])

        var l = try Checkpoint.open(Fixtures.path("llama-gqa", "model.gguf"))
        l.metadata["llama.attention.head_count"] = .uint32(8)
        l.metadata["llama.attention.key_length"] = .uint32(8)
        let b = try ModelLayouts.graph(for: l)
        #expect(b.config.heads == 4 && b.warnings.count == 1 && b.warnings[0].contains("llama.attention.head_count = 8"), "\(b.warnings)")
        let r = try Verifier.verify(model: LoadedModel(checkpoint: l, graph: b), reference: try ReferenceFile.open(Fixtures.path("llama-gqa", "reference.safetensors")))
        #expect(r.passed)
    }
}
