import Foundation
import Testing
import TestSupport
@testable import SafetensorsFormat
@testable import TensorCore

@Suite("safetensors writer")
struct WriterTests {
    static let plainTypes: [DType] = [.f64, .f32, .f16, .bf16, .i64, .i32, .i16, .i8, .u64, .u32, .u16, .u8, .bool, .f8_e4m3, .f8_e5m2]

    func randomTensor(_ name: String, _ dtype: DType, _ shape: [Int], seed: UInt64) throws -> Tensor {
        var g = SplitMix(seed)
        let n = shape.reduce(1, *) * dtype.blockBytes
        let bytes = (0..<n).map { _ in dtype == .bool ? UInt8(g.next() & 1) : UInt8(truncatingIfNeeded: g.next()) }
        return try Tensor(name: name, dtype: dtype, shape: shape, data: TensorData(bytes: bytes))
    }

    @Test("write then read is bit-exact for every dtype and shape", arguments: plainTypes, [[], [0], [3], [2, 5], [2, 1, 3]])
    func roundTrip(dtype: DType, shape: [Int]) throws {
        let dir = RepoPaths.temporaryDirectory("st")
        let path = dir + "/x.safetensors"
        let tensors = [try randomTensor("a.weight", dtype, shape, seed: 7), try randomTensor("b", .u8, [3], seed: 9)]
        try SafetensorsWriter.write(to: path, metadata: [("format", "pt")], tensors: tensors)
        let f = try SafetensorsFile.open(path: path)
        #expect(f.metadata["format"] == .string("pt"))
        for t in tensors {
            let r = try #require(f[t.name])
            #expect(r.dtype == t.dtype && r.shape == t.shape && r.data.bytes == t.data.bytes)
        }
        // The data buffer starts 8-aligned and tensors are ordered largest dtype first.
        #expect((8 + f.headerLength) % 8 == 0)
    }

    @Test("a failed write leaves no file and no temporary")
    func atomic() throws {
        let dir = RepoPaths.temporaryDirectory("st")
        let path = dir + "/y.safetensors"
        struct Boom: Error {}
        let bad = try TensorEntry(name: "t", dtype: .f32, shape: [4]) { throw Boom() }
        #expect(throws: Boom.self) { try SafetensorsWriter.write(to: path, tensors: [bad]) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        // An existing file is not replaced without overwrite.
        try SafetensorsWriter.write(to: path, tensors: [try randomTensor("t", .f32, [1], seed: 1)])
        #expect(throws: SafetensorsError.self) { try SafetensorsWriter.write(to: path, tensors: [TensorEntry(try randomTensor("t", .f32, [1], seed: 1))], overwrite: false) }
    }

    @Test("names the reference writer refuses are refused")
    func refusedNames() throws {
        let t = try randomTensor("__metadata__", .f32, [1], seed: 1)
        #expect(throws: SafetensorsError.self) { try SafetensorsWriter.header(metadata: [], tensors: [TensorEntry(t)]) }
        let a = try randomTensor("a", .f32, [1], seed: 1)
        #expect(throws: SafetensorsError.self) { try SafetensorsWriter.header(metadata: [], tensors: [TensorEntry(a), TensorEntry(a)]) }
        let q = try Tensor(name: "q", dtype: .q8_0, shape: [32], data: TensorData(bytes: [UInt8](repeating: 0, count: 34)))
        #expect(throws: SafetensorsError.self) { try SafetensorsWriter.header(metadata: [], tensors: [TensorEntry(q)]) }
    }
}

/// A small deterministic generator for test data.
struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
