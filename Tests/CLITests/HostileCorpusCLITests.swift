// The hostile corpora, end to end: the HDF Group's CVE reproducer files (../shared/peer-data/hdf5-cve) and
// the files found by fuzzing WeightKit's own fixtures (../shared/hostile-found), each through inspect,
// inspect --json, inspect --tensor, run (when a model) and convert to safetensors and GGUF, under a
// timeout and an address-space limit (scripts/hostile-corpus.py). Every run must be a clean read or a
// clean refusal: exit 2, one line naming the file, nothing written, nothing left in TMPDIR.

import Foundation
import Testing
import TestSupport

@Suite("hostile corpora through the command line")
struct HostileCorpusCLITests {
    static let shared = RepoPaths.root + "/../shared"
    static let corpora = [shared + "/peer-data/hdf5-cve", shared + "/hostile-found"]

    @Test("every CVE reproducer and every fuzzing find ends in a clean read or a clean refusal", arguments: corpora)
    func corpus(_ dir: String) throws {
        #expect(FileManager.default.fileExists(atPath: dir), "the corpus \(dir) is missing")
        guard FileManager.default.fileExists(atPath: dir) else { return }
        let r = try Subprocess.run([
            "/usr/bin/env", "python3", RepoPaths.root + "/scripts/hostile-corpus.py", "--weightkit", CLITests.binary,
            "--timeout", "30", "--max-tensors", "1", "-j", "2", dir,
        ])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("0 not clean"), "\(r.stdout)")
    }
}
