// WeightKit's K-quant encoders against blocks written by llama.cpp's own quantizers
// (Fixtures/kquants, made by make_vectors.py through ggml_quantize_chunk): every block of every
// case, with and without importance weights, must be byte-identical. No llama.cpp needed here.

import Foundation
import Testing
import TensorCore
import TestSupport

@Suite struct KQuantVectorsTests {
    struct Case {
        let name: String
        let rowLength: Int
        let rows: Int
    }

    static func cases() throws -> [Case] {
        let text = try String(contentsOfFile: RepoPaths.fixtures("kquants/cases.txt"), encoding: .utf8)
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let f = line.split(separator: " ")
            return Case(name: String(f[0]), rowLength: Int(f[1])!, rows: Int(f[2])!)
        }
    }

    static let types: [(DType, Bool)] = [
        (.q2_k, false), (.q2_k, true), (.q3_k, false), (.q3_k, true), (.q4_k, false), (.q4_k, true),
        (.q5_k, false), (.q5_k, true), (.q6_k, false), (.q6_k, true), (.q8_k, false),
    ]

    /// Every block of every case equals llama.cpp's; a difference is reported with its case, row and
    /// block and the largest difference of the dequantized values it causes.
    @Test(arguments: types)
    func blocksMatchLlamaCpp(_ dtype: DType, _ weighted: Bool) throws {
        let cases = try Self.cases()
        let inputs = try readFloats(RepoPaths.fixtures("kquants/inputs.f32"))
        let weights = try readFloats(RepoPaths.fixtures("kquants/imatrix.f32"))
        let want = try readBytes(RepoPaths.fixtures("kquants/\(dtype.rawValue)\(weighted ? ".imatrix" : "").bin"))
        let codec = try #require(dtype.codec)
        var x = 0, w = 0, o = 0
        var total = 0, differ = 0
        var worst: Float = 0
        var first: String?
        for c in cases {
            let n = c.rowLength * c.rows
            let got = try inputs[x..<(x + n)].withUnsafeBufferPointer { src in
                try weights[w..<(w + c.rowLength)].withUnsafeBufferPointer { imatrix in
                    try GGMLQuants.quantize(dtype, src, rowLength: c.rowLength, importance: weighted ? imatrix : nil, tensor: c.name)
                }
            }
            let expect = Array(want[o..<(o + got.count)])
            for b in 0..<(n / 256) {
                total += 1
                let range = (b * codec.blockBytes)..<((b + 1) * codec.blockBytes)
                if got[range] == expect[range] { continue }
                differ += 1
                let dg = try Self.decode(dtype, Array(got[range])), de = try Self.decode(dtype, Array(expect[range]))
                let d = zip(dg, de).map { abs($0 - $1) }.max() ?? 0
                worst = max(worst, d.isNaN ? .infinity : d)
                if first == nil { first = "\(c.name) row \(b * 256 / c.rowLength) block \(b % (c.rowLength / 256))" }
            }
            x += n
            w += c.rowLength
            o += got.count
        }
        #expect(o == want.count, "the vectors hold \(want.count) bytes, the cases \(o)")
        #expect(differ == 0, "\(dtype.rawValue)\(weighted ? " (imatrix)" : ""): \(differ) of \(total) blocks differ from llama.cpp, first in \(first ?? "-"); largest dequantized difference \(worst)")
    }

    static func decode(_ dtype: DType, _ block: [UInt8]) throws -> [Float] {
        var out = [Float](repeating: 0, count: 256)
        try block.withUnsafeBytes { src in
            try out.withUnsafeMutableBufferPointer { try GGMLQuants.dequantize(dtype, src, into: $0.baseAddress!, count: 256, tensor: "t") }
        }
        return out
    }

    @Test(arguments: [DType.q2_k, .q3_k, .q4_k, .q5_k, .q6_k, .q8_k])
    func nonFiniteValuesAreRefusedNamingTheRow(_ dtype: DType) {
        var x = [Float](repeating: 0.5, count: 3 * 512)
        x[2 * 512 + 300] = dtype == .q4_k ? -.infinity : .nan
        let shown = dtype == .q4_k ? "-inf" : "nan"
        #expect(throws: TensorCoreError("tensor 'blk.0.ffn_up.weight': row 2 holds \(shown) at column 300; \(dtype.rawValue) cannot encode NaN or infinity")) {
            try x.withUnsafeBufferPointer { try GGMLQuants.quantize(dtype, $0, rowLength: 512, tensor: "blk.0.ffn_up.weight") }
        }
    }

    @Test func importanceWeightsAreCheckedAgainstTheType() {
        let x = [Float](repeating: 1, count: 512)
        let w = [Float](repeating: 1, count: 256)
        #expect(throws: TensorCoreError("tensor 't': 256 importance weights for rows of 512 values")) {
            try x.withUnsafeBufferPointer { s in try w.withUnsafeBufferPointer { try GGMLQuants.quantize(.q4_k, s, rowLength: 512, importance: $0, tensor: "t") } }
        }
        #expect(throws: TensorCoreError("tensor 't': q8_0 takes no importance weights (only q2_k, q3_k, q4_k, q5_k, q6_k do)")) {
            try x.withUnsafeBufferPointer { s in try w.withUnsafeBufferPointer { try GGMLQuants.quantize(.q8_0, s, rowLength: 256, importance: $0, tensor: "t") } }
        }
    }
}
