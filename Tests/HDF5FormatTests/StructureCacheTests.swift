// Opening the same unchanged file again in one process reuses the helper's answer (HDF5Helper.answers),
// still decoded and checked against the file; a file that changed (its modification or status-change
// time, size or inode) is read by the helper again.
import Foundation
import Testing
import TestSupport
@testable import HDF5Format

@Suite("HDF5 structure answers reused for unchanged files")
struct StructureCacheTests {
    @Test func reusedUntilTheFileChanges() throws {
        let dir = RepoPaths.temporaryDirectory("h5-cache")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/model.h5"
        try FileManager.default.copyItem(atPath: Fixtures.path("gpt2-tiny", "tf_model.h5"), toPath: path)
        let first = try HDF5File.open(path: path)
        let key = try #require(HDF5Helper.FileIdentity(path: path, limits: HDF5Helper.structureLimits))
        #expect(HDF5Helper.answers.withLock { $0[key] } != nil, "the answer was not kept")

        // The kept answer is what a second open decodes: spoil it, and the open fails on it (the
        // helper, run again, would have succeeded).
        HDF5Helper.answers.withLock { $0[key] = Array("WKH5 spoiled".utf8) }
        #expect(throws: HDF5Error.self) { try HDF5File.open(path: path) }

        // A new modification time is a new file: the helper runs again and the open succeeds.
        var times = [timespec(tv_sec: 1_000_000_000, tv_nsec: 0), timespec(tv_sec: 1_000_000_000, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        let again = try HDF5File.open(path: path)
        #expect(again.entries.map(\.name) == first.entries.map(\.name))
        let newKey = try #require(HDF5Helper.FileIdentity(path: path, limits: HDF5Helper.structureLimits))
        #expect(newKey != key)
        #expect(HDF5Helper.answers.withLock { $0[newKey] } != nil)
    }
}
