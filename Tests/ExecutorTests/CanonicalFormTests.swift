// The executor runs weights in the forms Canonicalization.execution decides from their transform
// values: a transpose left to BLAS, Q/K row maps left to RoPE, and any other row map applied when
// widened. Each form must compute transformers' reference (Fixtures/*/reference.safetensors).

import CheckpointCore
import Foundation
import GGUFFormat
import SafetensorsFormat
import Testing
import TestSupport
@testable import Executor
@testable import Models
@testable import TensorCore

@Suite("executor: weights run in the forms their transforms describe")
struct CanonicalFormTests {
    /// A fixture's file as a checkpoint, read without the Checkpoints module (this target links no
    /// system library): GGUF with its own metadata, safetensors with the config.json beside it.
    static func open(_ fixture: String, _ file: String) throws -> Checkpoint {
        let dir = Fixtures.path(fixture)
        let path = dir + "/" + file
        if file.hasSuffix(".gguf") {
            let g = try GGUFFile.open(path: path)
            return Checkpoint(path: path, format: .gguf, files: [path], metadata: g.metadata, entries: g.tensors.map { TensorEntry($0) })
        }
        let s = try SafetensorsFile.open(path: path)
        return Checkpoint(
            path: path, format: .safetensors, files: [path], metadata: s.metadata, entries: s.tensors.map { TensorEntry($0) },
            config: try Checkpoint.readConfig(dir + "/config.json"), configPath: dir + "/config.json")
    }

    /// transformers' tokens and logits for a fixture.
    static func reference(_ fixture: String) throws -> (ids: [Int], logits: [Float]) {
        let f = try SafetensorsFile.open(path: Fixtures.path(fixture, "reference.safetensors"))
        let ids: [Int]
        switch try #require(f["input_ids"]).values() {
        case .signed(let v): ids = v.map { Int($0) }
        case .unsigned(let v): ids = v.map { Int($0) }
        case .floats: ids = []
        }
        return (ids, try #require(f["logits"]).floats())
    }

    static func logits(_ e: Executor, _ ids: [Int]) throws -> [Float] {
        try #require(try e.run(batch: [ids], record: ["logits"])["logits"]).values
    }

    /// An executor for `g` running its weights in `forms`.
    static func executor(_ g: ModelGraph, _ forms: ExecutionForms) -> Executor {
        let e = Executor(graph: g)
        e.use(forms)
        return e
    }

    /// Largest |a − b| over the largest |b|.
    static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        precondition(a.count == b.count)
        let scale = b.map(abs).max() ?? 1
        return zip(a, b).map { abs($0 - $1) }.max()! / max(scale, 1e-30)
    }

    /// The forms that realise every step by copying rows (nothing left to RoPE).
    static func copying(_ g: ModelGraph) throws -> ExecutionForms {
        var f = try Canonicalization.execution(g)
        for (name, w) in g.weights {
            if let m = try Canonicalization.steps(from: w.transform, to: .identity, shape: w.shape).rowMap { f.rowMaps[name] = m }
        }
        f.ropeStyle = .half
        return f
    }

    @Test("LLaMA GGUF (Q/K interleaved): RoPE absorbs the row maps, and copying the rows instead computes the same")
    func llamaInterleaved() throws {
        let (ids, want) = try Self.reference("llama-gqa")
        let g = try ModelLayouts.graph(for: try Self.open("llama-gqa", "model.gguf"))
        let forms = try Canonicalization.execution(g)
        #expect(forms.ropeStyle == .interleaved && forms.rowMaps.isEmpty && forms.blasTransposed.isEmpty, "\(forms)")
        #expect(g.config.rope?.style == .interleaved)
        let copy = try Self.copying(g)
        // Every Q and K weight of both layers has a map to apply.
        #expect(Set(copy.rowMaps.keys) == ["layers.0.attn.q.weight", "layers.0.attn.k.weight", "layers.1.attn.q.weight", "layers.1.attn.k.weight"])
        let absorbed = try Self.logits(Executor(graph: g), ids)
        let copied = try Self.logits(Self.executor(g, copy), ids)
        let hf = try ModelLayouts.graph(for: try Self.open("llama-gqa", "model.safetensors"))
        #expect(try Canonicalization.execution(hf) == ExecutionForms())
        let canonical = try Self.logits(Executor(graph: hf), ids)
        for (label, got) in [("absorbed", absorbed), ("copied", copied), ("HF rows", canonical)] {
            let e = Self.relativeError(got, want)
            #expect(e < 1e-5, "\(label): \(e) of the largest logit from transformers' logits")
        }
        // Neither kept: interleaved rows under half-split RoPE compute another function (the tolerance tells).
        var neither = forms
        neither.ropeStyle = .half
        let wrong = Self.relativeError(try Self.logits(Self.executor(g, neither), ids), want)
        #expect(wrong > 1e-3, "\(wrong)")
    }

    @Test("a map RoPE cannot absorb (one K weight canonical, the rest interleaved) is applied by copying")
    func mixedMapsAreCopied() throws {
        let g = try ModelLayouts.graph(for: try Self.open("llama-gqa", "model.gguf"))
        var weights = g.weights
        let k = weights["layers.1.attn.k.weight"]!
        weights[k.name] = BoundWeight(name: k.name, source: k.source, shape: k.shape, transform: .identity)
        let mixed = ModelGraph(config: g.config, ops: g.ops, weights: weights, widths: g.widths, naming: g.naming)
        let forms = try Canonicalization.execution(mixed)
        #expect(forms.ropeStyle == .half && forms.rowMaps.count == 3, "\(forms)")
    }

    @Test("partial rotation over interleaved rows keeps them as stored (what llama.cpp computes on them)")
    func partialRotationKeepsRows() throws {
        let g = try ModelLayouts.graph(for: try Self.open("llama-gqa", "model.gguf"))
        var c = g.config
        c.rope!.rotaryDim = 4
        let partial = ModelGraph(config: c, ops: g.ops, weights: g.weights, widths: g.widths, naming: g.naming)
        let forms = try Canonicalization.execution(partial)
        #expect(forms.ropeStyle == .interleaved && forms.rowMaps.isEmpty, "\(forms)")
    }

    @Test("rows that are not whole heads of an even size: the run is refused, naming the tensor, before anything runs")
    func unpermutableRowsRefused() throws {
        let g = try ModelLayouts.graph(for: try Self.open("llama-gqa", "model.gguf"))
        var weights = g.weights
        let q = weights["layers.0.attn.q.weight"]!
        weights[q.name] = BoundWeight(name: q.name, source: q.source, shape: q.shape, transform: .interleavedRows(heads: 3))
        let bad = ModelGraph(config: g.config, ops: g.ops, weights: weights, widths: g.widths, naming: g.naming)
        let e = try #require(throws: ModelError.self) { try Canonicalization.execution(bad) }
        #expect("\(e)" == "blk.0.attn_q.weight: layers.0.attn.q.weight: 32 rows are not 3 heads of an even size; Q/K rows cannot be reordered", "\(e)")
        let e2 = try #require(throws: ModelError.self) { try Executor(graph: bad).run(batch: [[1, 2, 3]]) }
        #expect("\(e2)" == "\(e)")
    }

    @Test("GPT-2: the Conv1D transpose is left to BLAS from HF names; GGUF stores [out, in]; both compute transformers' logits")
    func gpt2Transpose() throws {
        let (ids, want) = try Self.reference("gpt2-tiny")
        let hf = try ModelLayouts.graph(for: try Self.open("gpt2-tiny", "model.safetensors"))
        let forms = try Canonicalization.execution(hf)
        #expect(forms.blasTransposed == Set((0..<hf.config.layers).flatMap { i in
            ["attn.qkv", "attn.out", "mlp.up", "mlp.down"].map { "layers.\(i).\($0).weight" }
        }), "\(forms.blasTransposed.sorted())")
        let gguf = try ModelLayouts.graph(for: try Self.open("gpt2-tiny", "model.gguf"))
        #expect(try Canonicalization.execution(gguf) == ExecutionForms())
        for (label, g) in [("HF", hf), ("GGUF", gguf)] {
            let e = Self.relativeError(try Self.logits(Executor(graph: g), ids), want)
            #expect(e < 1e-5, "\(label): \(e) of the largest logit from transformers' logits")
        }
    }
}
