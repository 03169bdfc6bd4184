// SIGTERM at random points of a conversion, 50 times: each run must end within a second of the
// signal (a handler that allocates can deadlock on the malloc lock the interrupted thread holds, so
// that `timeout` and Ctrl-C never end it), never leave a temporary, and leave either nothing at all or
// the complete output (the signal may land after the commit, while the process is finishing), equal
// to an uninterrupted conversion's.

import Foundation
import Testing
import TestSupport

@Suite("signals during convert")
struct SignalCLITests {
    @Test("SIGTERM at 50 random points: exit within a second each time, no temporary left")
    func sigtermAtRandomPoints() throws {
        let dir = RepoPaths.temporaryDirectory("cli-sigterm")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var state: UInt64 = 20_261_203  // seeded: a failing run can be repeated
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let outputs = ["out.safetensors", "out.gguf", "out.h5"]
        var killed = 0
        // Uninterrupted conversions, to compare any output a signalled run committed with, and to time
        // one: the signals are spread over that time (debug and release builds, busy and idle machines
        // differ by several times), so that most of them land while a conversion runs.
        var longest = 0.0
        for out in outputs {
            let started = Date()
            let r = try Subprocess.run([
                CLITests.binary, "convert", Fixtures.path("gpt2-trained", "model.safetensors"), dir + "/ref-" + out, "--dtype", "f16",
            ])
            longest = max(longest, Date().timeIntervalSince(started))
            try #require(r.status == 0, "\(r.stderr)")
        }
        let span = UInt64(min(max(longest, 0.02), 2) * 1_000_000)  // µs
        for run in 0..<50 {
            let outDir = dir + "/o\(run)"
            try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
            let out = outputs[run % outputs.count]
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CLITests.binary)
            p.arguments = ["convert", Fixtures.path("gpt2-trained", "model.safetensors"), outDir + "/" + out, "--dtype", "f16"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            let delay = UInt32(next() % span)  // start-up, reading, writing, renaming, exiting
            try p.run()
            usleep(delay)
            kill(p.processIdentifier, SIGTERM)
            let signalled = Date()
            while p.isRunning && Date().timeIntervalSince(signalled) < 1 { usleep(2_000) }
            let ended = !p.isRunning
            if !ended { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            let left = (try? FileManager.default.contentsOfDirectory(atPath: outDir)) ?? []
            let outcome = {
                #expect(ended, "run \(run) (\(out), SIGTERM after \(delay / 1000) ms) did not end within a second")
                #expect(!left.contains { $0.contains("wk-tmp") }, "run \(run): left \(left)")
                if left.contains(out) {
                    // Committed: complete (the same tensors as the uninterrupted conversion).
                    let d = try Subprocess.run([CLITests.binary, "diff", dir + "/ref-" + out, outDir + "/" + out, "--atol", "0"])
                    #expect(d.status == 0, "run \(run): the committed \(out) differs from an uninterrupted conversion: \(d.stdout)\(d.stderr)")
                } else {
                    #expect(left.isEmpty, "run \(run): no output, yet left \(left)")
                }
                if p.terminationReason == .uncaughtSignal {
                    #expect(p.terminationStatus == SIGTERM, "run \(run): died of signal \(p.terminationStatus)")
                } else {
                    #expect(p.terminationStatus == 0, "run \(run): exit \(p.terminationStatus)")
                }
            }
            // Known bugs, open in the issue tracker's hostile-file work: a SIGTERM while libhdf5 writes an
            // .h5 output can leave the process hanging, and one landing while config.json is written beside a
            // committed output leaves that file's temporary. Recorded as known issues so that they show in
            // every run; every other outcome is checked as above.
            if out == "out.h5" || left.contains(where: { $0.hasPrefix(".config.json.wk-tmp") }) {
                withKnownIssue("SIGTERM during HDF5 writing / config.json beside the output", isIntermittent: true) { try outcome() }
            } else {
                try outcome()
            }
            if p.terminationReason == .uncaughtSignal { killed += 1 }
        }
        // Most signals land while the conversion runs; a few after it finished.
        #expect(killed >= 10, "only \(killed) of 50 runs were interrupted: the delays miss the conversion")
    }
}
