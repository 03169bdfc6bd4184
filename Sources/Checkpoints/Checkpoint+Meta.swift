// Meta's LLaMA release layout: `params.json` beside `consolidated.00.pth`, … . With one file the
// tensors are the model's; with several, each file is one model-parallel slice and the tensors
// are joined back: column-parallel weights (wq, wk, wv, w1, w3, output) along dim 0, row-parallel
// ones (wo, w2) along dim 1, the embedding along whichever dim is the split one (LLaMA 1/2 split
// the model dimension, Llama 3 the vocabulary), and 1-D tensors (norms, rope.freqs), which every
// slice holds whole, from the first slice. params.json is the config (Models reads its keys).

import Foundation
import PyTorchFormat
import TensorCore

extension Checkpoint {
    static func openConsolidated(_ dir: String, files: [String]) throws -> Checkpoint {
        let paramsPath = dir + "/params.json"
        let params = try readConfig(paramsPath)
        let sorted = files.sorted()
        var c: Checkpoint
        if sorted.count == 1 {
            c = try openFile(dir + "/" + sorted[0])
        } else {
            let parts = try sorted.map { try openFile(dir + "/" + $0) }
            c = try joinSlices(parts, dim: params?["dim"]?.int, dir: dir)
        }
        c.config = params
        c.configPath = paramsPath
        return c
    }

    /// The dimension a Meta tensor is split along across model-parallel slices; nil for tensors every
    /// slice holds whole.
    static func splitAxis(_ name: String, shape: [Int], slices: Int, dim: Int?) -> Int?? {
        if shape.count <= 1 { return .some(nil) }
        let columnParallel = ["attention.wq.weight", "attention.wk.weight", "attention.wv.weight", "feed_forward.w1.weight", "feed_forward.w3.weight"]
        let rowParallel = ["attention.wo.weight", "feed_forward.w2.weight"]
        if name == "output.weight" || columnParallel.contains(where: { name.hasSuffix("." + $0) }) { return 0 }
        if rowParallel.contains(where: { name.hasSuffix("." + $0) }) { return 1 }
        if name == "tok_embeddings.weight", shape.count == 2, let dim {
            if shape[1] * slices == dim { return 1 }
            if shape[1] == dim { return 0 }
        }
        return nil  // unknown: the caller refuses
    }

    /// Joins model-parallel slices into whole tensors (copied when their bytes are asked for).
    static func joinSlices(_ parts: [Checkpoint], dim: Int?, dir: String) throws -> Checkpoint {
        let first = parts[0]
        let n = parts.count
        var entries = [TensorEntry]()
        for e in first.entries {
            let slices = try parts.map { p -> TensorEntry in
                guard let s = p[e.name] else { throw CheckpointError(p.path, "has no tensor '\(e.name)', which \(first.path) holds") }
                guard s.dtype == e.dtype, s.shape == e.shape else {
                    throw CheckpointError(p.path, "tensor '\(e.name)' is \(s.dtype.rawValue) \(s.shape) but \(e.dtype.rawValue) \(e.shape) in \(first.path)")
                }
                return s
            }
            guard let axisOrNil = splitAxis(e.name, shape: e.shape, slices: n, dim: dim) else {
                throw CheckpointError(dir, "cannot tell how '\(e.name)' \(e.shape) is split across the \(n) consolidated.*.pth slices")
            }
            guard let axis = axisOrNil else {
                entries.append(e)
                continue
            }
            var shape = e.shape
            shape[axis] *= n
            let outer = e.shape[..<axis].reduce(1, *)
            let chunk = e.byteCount / max(outer, 1)
            let total = e.byteCount * n
            entries.append(try TensorEntry(name: e.name, dtype: e.dtype, shape: shape) {
                let datas = try slices.map { try $0.bytes() }
                let region = ByteRegion(count: total) { out in
                    var at = 0
                    for o in 0..<outer {
                        for d in datas {
                            d.withUnsafeBytes { src in
                                (out.baseAddress! + at).copyMemory(from: src.baseAddress! + o * chunk, byteCount: chunk)
                            }
                            at += chunk
                        }
                    }
                }
                return TensorData(region: region, offset: 0, count: total)!
            })
        }
        for p in parts.dropFirst() {
            if let extra = p.entries.first(where: { first[$0.name] == nil }) {
                throw CheckpointError(p.path, "holds '\(extra.name)', which \(first.path) does not")
            }
        }
        var c = Checkpoint(path: dir, format: first.format, files: parts.flatMap(\.files), metadata: first.metadata, entries: entries)
        c.others = first.others
        c.details = first.details.prefix(1) + ["\(n) model-parallel slices joined: split tensors are copied when read, the others mapped"]
        for e in entries where e.shape != first[e.name]?.shape { c.tensorNotes[e.name] = "joined from \(n) slices (copied)" }
        return c
    }
}
