// GPT-2 in f16/bf16 safetensors: the Conv1D matrices, stored [in, out], run as stored (nothing of the
// model is widened), and the logits are those of the same weights widened to float32 and run by the f32
// path. Both files are written here from gpt2-tiny's float32 weights: the half-precision one with each
// value rounded, its float32 twin with the rounded values widened back.
import Foundation
import TestSupport
import Testing
import WeightKit

@Suite struct HalfConv1DTests {
    /// gpt2-tiny's tensors (name, shape, float32 values), read from its safetensors file.
    static func tinyTensors() throws -> [(String, [Int], [Float])] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("gpt2-tiny", "model.safetensors")))
        let n = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian })
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as! [String: Any]
        return header.keys.filter { $0 != "__metadata__" }.sorted().map { name in
            let e = header[name] as! [String: Any]
            let shape = e["shape"] as! [Int], offsets = e["data_offsets"] as! [Int]
            precondition(e["dtype"] as! String == "F32")
            let bytes = data.subdata(in: (8 + n + offsets[0])..<(8 + n + offsets[1]))
            let values = bytes.withUnsafeBytes { raw in (0..<(bytes.count / 4)).map { Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian) } }
            return (name, shape, values)
        }
    }

    /// A safetensors file of `tensors` in `dtype` ("F16", "BF16" or "F32") with config.json beside it.
    static func write(_ tensors: [(String, [Int], [UInt8])], dtype: String, to dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var entries = [String: Any](), blob = [UInt8](), offset = 0
        for (name, shape, bytes) in tensors {
            entries[name] = ["dtype": dtype, "shape": shape, "data_offsets": [offset, offset + bytes.count]]
            blob += bytes
            offset += bytes.count
        }
        var json = try JSONSerialization.data(withJSONObject: entries, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var file = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        file.append(contentsOf: blob)
        try file.write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
        try FileManager.default.copyItem(atPath: Fixtures.path("gpt2-tiny", "config.json"), toPath: dir + "/config.json")
    }

    @Test("GPT-2 f16/bf16 safetensors: Conv1D [in, out] matrices mapped, none widened; logits equal the widened f32 run", arguments: ["F16", "BF16"])
    func halfGPT2(_ dtype: String) throws {
        let root = NSTemporaryDirectory() + "wk-half-conv1d-\(getpid())-\(dtype)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        var half = [(String, [Int], [UInt8])](), twin = [(String, [Int], [UInt8])]()
        for (name, shape, values) in try Self.tinyTensors() {
            let bits: [UInt16] = values.map { dtype == "F16" ? Float16($0).bitPattern : UInt16($0.bitPattern >> 16) }
            let widened: [Float] = bits.map { dtype == "F16" ? Float(Float16(bitPattern: $0)) : Float(bitPattern: UInt32($0) << 16) }
            half.append((name, shape, bits.flatMap { [UInt8($0 & 0xff), UInt8($0 >> 8)] }))
            twin.append((name, shape, widened.flatMap { f in withUnsafeBytes(of: f.bitPattern.littleEndian) { Array($0) } }))
        }
        try Self.write(half, dtype: dtype, to: root + "/half")
        try Self.write(twin, dtype: "F32", to: root + "/f32")

        let m = try LoadedModel.open(root + "/half"), r = try LoadedModel.open(root + "/f32")
        // Every matrix read by a linear layer or the token embedding is mapped (the Conv1D ones [in, out]);
        // what is widened is the vectors (norms, biases) and the position table, read by other ops.
        let plan = try Executor.memoryPlan(m.graph)
        var seen = Set<String>(), mapped = 0, owned = 0
        for w in m.graph.weights.values where seen.insert(w.source.name).inserted {
            if w.source.shape.count == 2, !w.source.name.contains("wpe") { mapped += w.source.byteCount } else { owned += w.source.elementCount * 4 }
        }
        let d = m.graph.config.hiddenSize
        #expect(m.graph.weights.values.contains { $0.source.name.hasSuffix("attn.c_attn.weight") && $0.source.shape == [d, 3 * d] }, "no [in, out] Conv1D weight")
        #expect(plan.mappedBytes == mapped)
        #expect(plan.ownedBytes == owned)

        let tokens = (0..<20).map { ($0 * 29) % m.graph.config.vocabSize }
        for last in [false, true] {
            let e = Executor(graph: m.graph), f = Executor(graph: r.graph)
            let a = try e.run(tokens: tokens, session: e.makeSession(), record: ["logits"], lastLogits: last).items[0].values
            let b = try f.run(tokens: tokens, session: f.makeSession(), record: ["logits"], lastLogits: last).items[0].values
            // The same decoded values in float32, sums in another order: float32 rounding of short sums.
            let scale = b.map { abs($0) }.max()!
            let worst = zip(a, b).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-5 * scale, "\(dtype) lastLogits \(last): max |Δ| \(worst), max |logit| \(scale)")
        }
        // Decoding one token after the prompt (the column GEMV).
        let e = Executor(graph: m.graph), f = Executor(graph: r.graph)
        let s = e.makeSession(), t = f.makeSession()
        _ = try e.run(tokens: tokens, session: s, record: ["logits"])
        _ = try f.run(tokens: tokens, session: t, record: ["logits"])
        let a = try e.run(tokens: [5], session: s, record: ["logits"]).items[0].values
        let b = try f.run(tokens: [5], session: t, record: ["logits"]).items[0].values
        let scale = b.map { abs($0) }.max()!
        let worst = zip(a, b).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-5 * scale, "\(dtype) decode: max |Δ| \(worst), max |logit| \(scale)")
    }
}
