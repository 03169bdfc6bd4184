// Headers with very many keys load in linear time. A benchmark-style check, not a timed one: the
// 200,000-key header must cost less than 30 times the 20,000-key one (linear is 10x; the quadratic
// metadata table this replaced cost about 100x, and a 50,000-key header took over 10 s).

import Foundation
import Testing
import TestSupport
@testable import SafetensorsFormat
@testable import TensorCore

@Suite("safetensors headers with many keys")
struct LargeHeaderTests {
    /// A file holding one f32 tensor and `keys` metadata entries.
    static func file(keys: Int) -> [UInt8] {
        var header = "{\"__metadata__\":{"
        header.reserveCapacity(keys * 30)
        for i in 0..<keys {
            if i > 0 { header += "," }
            header += "\"key.\(i)\":\"value \(i)\""
        }
        header += "},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"
        while header.utf8.count % 8 != 0 { header += " " }
        var bytes: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { bytes += $0 }
        bytes += Array(header.utf8)
        bytes += [UInt8](repeating: 0, count: 8)
        return bytes
    }

    static func secondsToOpen(_ bytes: [UInt8], keys: Int) throws -> Double {
        var best = Double.infinity
        for _ in 0..<3 {
            let region = ByteRegion(bytes)
            let start = DispatchTime.now().uptimeNanoseconds
            let f = try SafetensorsFile(region: region, path: "many-keys.safetensors")
            let lookedUp = f.metadata["key.\(keys - 1)"]
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            #expect(f.metadata.entries.count == keys)
            #expect(lookedUp == .string("value \(keys - 1)"))
        }
        return best
    }

    @Test("200,000 metadata keys cost about ten times 20,000 (linear), not a hundred")
    func linear() throws {
        let small = try Self.secondsToOpen(Self.file(keys: 20_000), keys: 20_000)
        let large = try Self.secondsToOpen(Self.file(keys: 200_000), keys: 200_000)
        #expect(large < 30 * small, "20,000 keys: \(small) s, 200,000 keys: \(large) s (\(large / small)x)")
        print("safetensors header: 20,000 keys \(small) s, 200,000 keys \(large) s, ratio \(large / small)")
    }
}
