// An input truncated while convert reads it: the next read of a lost page of the map raises SIGBUS,
// which the map guard turns into one line naming the file, exit 2, temporaries removed.

import Foundation
import Testing
import TestSupport
import TensorCore
import SafetensorsFormat

@Suite("inputs truncated while they are read")
struct TruncationCLITests {
    @Test("convert of an input that shrinks mid-read: 'the file shrank', exit 2, nothing left")
    func shrinkDuringConvert() throws {
        let dir = RepoPaths.temporaryDirectory("cli-shrink")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/big.safetensors"
        // 48 tensors of 1M floats (192 MB): long enough to truncate in the middle.
        let tensors = try (0..<48).map { i in
            try TensorEntry(name: "t\(i).weight", dtype: .f32, shape: [1024, 1024]) {
                TensorData(region: ByteRegion(count: 1 << 22) { b in
                    let f = b.bindMemory(to: Float.self)
                    for k in 0..<f.count { f[k] = Float((k * 7 + i) % 1000) * 0.001 - 0.5 }
                }, offset: 0, count: 1 << 22)!
            }
        }
        try SafetensorsWriter.write(to: input, tensors: tensors)
        let outDir = dir + "/o"
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLITests.binary)
        p.arguments = ["convert", input, outDir + "/out.safetensors", "--dtype", "bf16"]
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        try p.run()
        var started = false
        for _ in 0..<500 {
            if Subprocess.bytesBeingWritten(pid: p.processIdentifier, under: outDir) > 4 << 20 {
                started = true
                break
            }
            if !p.isRunning { break }
            usleep(10_000)
        }
        #expect(started, "the conversion never got going (or finished too fast)")
        #expect(truncate(input, 1 << 20) == 0)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 2, "status \(p.terminationStatus): \(text)")
        #expect(text.split(separator: "\n").count == 1, "\(text)")
        #expect(text.contains("big.safetensors: the file shrank while it was being read"), "\(text)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: outDir)) ?? ["?"]).isEmpty)
    }
}
