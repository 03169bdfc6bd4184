// Models and the Executor link no system library: the package's own target graph, read from
// `swift package dump-package` (the manifest as SwiftPM evaluates it), has no system-library target
// in the transitive dependencies of Models, Executor, CheckpointCore or their test targets.

import Foundation
import Testing
import TestSupport
import TensorCore

@Suite("dependencies: which targets link system libraries")
struct DependencyTests {
    /// Target name → (type, names of the targets it depends on), from the evaluated manifest.
    static func targets() throws -> [String: (type: String, deps: [String])] {
        let scratch = RepoPaths.temporaryDirectory("dump-package")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // A scratch path of its own: the running `swift test` holds .build's lock. dump-package evaluates
        // the manifest only (no dependency resolution, no network).
        let r = try Subprocess.run([
            "/usr/bin/env", "swift", "package", "--package-path", RepoPaths.root, "--scratch-path", scratch, "dump-package",
        ])
        try #require(r.status == 0, "swift package dump-package exited \(r.status): \(r.stderr)")
        let json = try JSONParser.parse(r.stdout)
        var out = [String: (type: String, deps: [String])]()
        for t in json["targets"]?.array ?? [] {
            guard let name = t["name"]?.string, let type = t["type"]?.string else { continue }
            // {"byName": [name, condition]} and {"target": [name, condition]} name targets of this package;
            // {"product": …} names another package's product, which links nothing of ours.
            let deps = (t["dependencies"]?.array ?? []).compactMap { d in (d["byName"] ?? d["target"])?.array?.first?.string }
            out[name] = (type, deps)
        }
        return out
    }

    /// Every target reachable from `root`, `root` included.
    static func closure(_ root: String, in graph: [String: (type: String, deps: [String])]) -> Set<String> {
        var seen: Set<String> = [], todo = [root]
        while let t = todo.popLast() {
            guard seen.insert(t).inserted else { continue }
            todo += graph[t]?.deps ?? []
        }
        return seen
    }

    @Test("Models, Executor, CheckpointCore and their tests reach no system library; Checkpoints does")
    func noSystemLibraries() throws {
        let graph = try Self.targets()
        let system = Set(graph.filter { $0.value.type == "system" }.keys)
        // The check can see a system library where there is one: the readers link libhdf5, libzstd and zlib.
        #expect(system.isSuperset(of: ["CHDF5", "CZstd", "CZlib"]), "\(system.sorted())")
        #expect(Self.closure("Checkpoints", in: graph).isSuperset(of: ["CHDF5", "CZstd", "CZlib"]))
        for target in ["CheckpointCore", "Models", "Executor", "ModelsTests", "ExecutorTests"] {
            #expect(graph[target] != nil, "no target \(target)")
            let reached = Self.closure(target, in: graph)
            // OpenBLAS is the Executor's own kernel library, not a file reader's.
            let readers = reached.intersection(system).subtracting(["COpenBLAS"])
            #expect(readers.isEmpty, "\(target) reaches \(readers.sorted()) through \(reached.subtracting(readers).sorted())")
            #expect(!reached.contains("Checkpoints"), "\(target) depends on Checkpoints")
        }
    }
}
