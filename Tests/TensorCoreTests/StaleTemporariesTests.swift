// StaleTemporaries: which names are WeightKit temporaries, and that only those of processes that are
// gone are removed (a running process's, this one's included, stay).

import Foundation
import Testing
@testable import TensorCore

@Suite("stale temporaries")
struct StaleTemporariesTests {
    @Test("owner: the pid in .NAME.wk-tmp-PID-N (and …-old); anything else is not a temporary")
    func owner() {
        #expect(StaleTemporaries.owner(of: ".model.safetensors.wk-tmp-1234-5") == 1234)
        #expect(StaleTemporaries.owner(of: ".out.wk-tmp-77-123456-old") == 77)
        #expect(StaleTemporaries.owner(of: ".a.wk-tmp-b.wk-tmp-9-1") == 9)  // the last marker counts
        for name in [
            "model.safetensors.wk-tmp-1234-5",  // not hidden
            ".x.wk-tmp-", ".x.wk-tmp-12", ".x.wk-tmp-12-", ".x.wk-tmp--1-2", ".x.wk-tmp-0-1",
            ".x.wk-tmp-12-3-new", ".x.wk-tmp-1a-2", ".x.wk-tmp-99999999999999999999-1", ".wk-tmp-1-2", ".x.wk-tmp-1-2-3",
        ] {
            #expect(StaleTemporaries.owner(of: name) == nil, "\(name)")
        }
    }

    @Test("remove: files and directories of a gone process; a running process's stay")
    func remove() throws {
        let dir = NSTemporaryDirectory() + "stale-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A pid that is gone: a child that has exited and been reaped.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        let gone = child.processIdentifier
        let mine = getpid()
        let files = [".a.gguf.wk-tmp-\(gone)-1", ".b.wk-tmp-\(mine)-2", ".c.wk-tmp-1-3", "d.gguf"]
        for f in files { FileManager.default.createFile(atPath: dir + "/" + f, contents: Data([1, 2, 3])) }
        try FileManager.default.createDirectory(atPath: dir + "/.out.wk-tmp-\(gone)-4", withIntermediateDirectories: false)
        FileManager.default.createFile(atPath: dir + "/.out.wk-tmp-\(gone)-4/model.safetensors", contents: Data([0]))
        try FileManager.default.createDirectory(atPath: dir + "/.out.wk-tmp-\(gone)-4-old", withIntermediateDirectories: false)
        let removed = StaleTemporaries.remove(in: dir).sorted()
        #expect(removed == [".a.gguf.wk-tmp-\(gone)-1", ".out.wk-tmp-\(gone)-4", ".out.wk-tmp-\(gone)-4-old"])
        let left = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(left == [".b.wk-tmp-\(mine)-2", ".c.wk-tmp-1-3", "d.gguf"])  // pid 1 runs
    }
}
