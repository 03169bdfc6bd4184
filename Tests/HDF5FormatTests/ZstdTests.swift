// zstd codec: round trips, frames without a content size, and the errors for broken input.
import Foundation
import TensorCore
import TestSupport
import Testing
import ZstdCodec

@Suite struct ZstdTests {
    @Test(arguments: [0, 1, 100, 1 << 20])
    func roundTrip(count: Int) throws {
        let data = sampleBytes(.f32, count: count / 4 + 1).prefix(count).map { $0 }
        for level in [1, 3, 19] {
            let c = try Zstd.compress(data, level: level)
            #expect(Zstd.isFrame(c))
            #expect(try c.withUnsafeBytes { try Zstd.contentSize($0) } == .known(count))
            #expect(try Zstd.decompress(c) == data)
        }
    }

    @Test func framesWithoutContentSizeAndConcatenatedFrames() throws {
        let dir = RepoPaths.temporaryDirectory("wk-zstd")
        let raw = sampleBytes(.u8, count: 300_000)
        try Data(raw).write(to: URL(fileURLWithPath: dir + "/raw"))
        // `zstd` reading a pipe cannot record the content size.
        let r = try Subprocess.run(["/bin/sh", "-c", "cat '\(dir)/raw' | zstd -q -c > '\(dir)/stream.zst'"])
        #expect(r.status == 0, "\(r.stderr)")
        let stream = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/stream.zst")))
        #expect(try stream.withUnsafeBytes { try Zstd.contentSize($0) } == .unknown)
        #expect(try Zstd.decompress(stream) == raw)
        let two = try Zstd.compress(Array(raw[..<1000])) + Zstd.compress(Array(raw[1000...]))
        #expect(try Zstd.decompress(two) == raw)
    }

    @Test func brokenFrames() throws {
        let good = try Zstd.compress(sampleBytes(.u8, count: 100_000))
        #expect(!Zstd.isFrame([0x50, 0x4B, 3, 4]))
        #expect(throws: ZstdError.self) { try Zstd.decompress([1, 2, 3, 4, 5, 6, 7, 8]) }
        let truncated = Array(good.prefix(good.count / 2))
        #expect(throws: ZstdError.self) { try Zstd.decompress(truncated) }
        var corrupt = good
        for i in 4..<40 { corrupt[i] = 0xFF }  // reserved frame-header bits and block types
        #expect(throws: ZstdError.self) { try Zstd.decompress(corrupt) }
        // A frame claiming more content than the limit is refused before allocating.
        #expect(throws: ZstdError.self) { try Zstd.decompress(good, maxOutput: 1000) }
    }

    @Test func fileDecompression() throws {
        let dir = RepoPaths.temporaryDirectory("wk-zstdfile")
        let raw = sampleBytes(.u8, count: 3_000_000)
        let src = dir + "/model.safetensors.zst"
        try Data(try Zstd.compress(raw, level: 3)).write(to: URL(fileURLWithPath: src))
        let out = dir + "/model.safetensors"
        #expect(try Zstd.decompressFile(from: src, to: out) == raw.count)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: out))) == raw)
        let tmp = try Zstd.decompressToTemporaryFile(from: src, directory: dir)
        #expect(tmp.hasSuffix("-model.safetensors"))
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: tmp))) == raw)
    }

    @Test func fileErrorsNameTheFileAndLeaveNothing() throws {
        let dir = RepoPaths.temporaryDirectory("wk-zstdbad")
        let good = try Zstd.compress(sampleBytes(.u8, count: 2_000_000))
        let cases: [(String, [UInt8], String)] = [
            ("trunc.zst", Array(good.prefix(good.count - 100)), "truncated zstd frame (input ends after"),
            ("text.zst", Array("hello world".utf8), "not a zstd file (starts with bytes 68 65 6c 6c"),
            ("empty.zst", [], "empty file, not a zstd frame"),
            ("corrupt.zst", good.enumerated().map { (4..<40).contains($0.offset) ? 0xFF : $0.element }, "corrupt zstd data"),
        ]
        for (name, bytes, fragment) in cases {
            let src = dir + "/" + name
            _ = FileManager.default.createFile(atPath: src, contents: Data(bytes))
            expectOneLine(errorLine { try Zstd.decompressFile(from: src, to: dir + "/out") }, path: src, contains: fragment)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == cases.map(\.0).sorted())
        let missing = dir + "/missing.zst"
        expectOneLine(errorLine { try Zstd.decompressFile(from: missing, to: dir + "/out") }, path: missing, contains: "cannot open")
    }
}
