// Files written by torch.save (Fixtures/pytorch, made by its generate.py with pinned torch) read as
// torch.load(weights_only=True) reads them: the same tensors under the same dotted names, the same
// dtypes, shapes, strides and storage offsets, the same bytes, the same other values.

import Foundation
import Testing
import TestSupport
@testable import PyTorchFormat
@testable import TensorCore

@Suite("PyTorch files written by torch.save")
struct InteropTests {
    struct Entry: CustomStringConvertible, Sendable {
        let file: String
        let json: JSONValue
        var description: String { file }
    }

    static let files: [Entry] = {
        let path = RepoPaths.fixtures("pytorch/expected.json")
        guard let data = FileManager.default.contents(atPath: path),
            let root = try? data.withUnsafeBytes({ try JSONParser.parse($0) }), let list = root["files"]?.array
        else { return [] }
        return list.filter { $0["tensors"] != nil }.map { Entry(file: $0["file"]?.string ?? "?", json: $0) }
    }()

    @Test("every fixture file is listed")
    func present() {
        #expect(Self.files.count >= 13)
        #expect(Set(Self.files.compactMap { $0.json["layout"]?.string }) == ["zip", "legacy"])
    }

    @Test("each file reads as torch.load reads it", arguments: files)
    func matchesTorch(_ e: Entry) throws {
        let f = try PyTorchFile.open(path: RepoPaths.fixtures("pytorch/" + e.file))
        #expect(f.layout.rawValue == e.json["layout"]?.string)
        let want = e.json["tensors"]?.array ?? []
        #expect(f.tensors.map(\.name) == want.compactMap { $0["name"]?.string })
        for (t, w) in zip(f.tensors, want) {
            #expect(t.dtype.rawValue == w["dtype"]?.string, "\(t.name)")
            #expect(t.shape == w["shape"]?.array?.compactMap(\.int), "\(t.name)")
            #expect(t.strides == w["stride"]?.array?.compactMap(\.int), "\(t.name)")
            #expect(t.storageOffset == w["offset"]?.int, "\(t.name)")
            #expect(try t.entry.bytes().withUnsafeBytes { SHA256.hex($0) } == w["sha256"]?.string, "bytes of \(t.name)")
        }
        let others = (e.json["others"]?.array ?? []).compactMap { $0["name"]?.string }
        #expect(f.others.map(\.name) == others)
    }

    @Test("views: contiguous ones are mapped, strided ones copied, and each is said")
    func access() throws {
        let f = try PyTorchFile.open(path: RepoPaths.fixtures("pytorch/tensors/views.pt"))
        let access = Dictionary(uniqueKeysWithValues: f.tensors.map { ($0.name, $0.access) })
        #expect(access["offset"] == .mapped)
        #expect(access["rows"] == .mapped)
        #expect(access["transposed"] == .copiedView)
        #expect(access["strided"] == .copiedView)
        #expect(access["expanded"] == .copiedView)
        #expect(access["permuted"] == .copiedView)
        let rows = try #require(f["rows"])
        // Zero-copy: the bytes are the file's own pages.
        let data = try rows.entry.bytes()
        #expect(data.region.path == RepoPaths.fixtures("pytorch/tensors/views.pt"))
        let legacy = try PyTorchFile.open(path: RepoPaths.fixtures("pytorch/tensors/views-legacy.pt"))
        #expect(legacy.layout == .legacy)
        #expect(legacy["offset"]?.access == .copiedUnaligned, "legacy storages follow 8-byte counts at any offset")
    }

    @Test("tied and shared storages are recognised")
    func shared() throws {
        let f = try PyTorchFile.open(path: RepoPaths.fixtures("pytorch/tensors/shared.pt"))
        #expect(f.storageCount == 1)
        #expect(f["w_alias"]?.sameAs == "w")
        #expect(f["row1"]?.sameAs == nil)
        #expect(f["row1"]?.sharesStorageWith == ["w", "w_alias", "tail", "wt"])
        let gpt2 = try PyTorchFile.open(path: RepoPaths.fixtures("pytorch/gpt2-tiny/pytorch_model.bin"))
        #expect(gpt2["lm_head.weight"]?.sameAs == "transformer.wte.weight")
        #expect(gpt2.archiveName == "pytorch_model")
    }

    @Test("a training snapshot: the state dict is found under 'model', the rest is listed")
    func snapshot() throws {
        let f = try PyTorchFile.open(path: RepoPaths.fixtures("pytorch/gpt2-tiny/checkpoint.pt"))
        #expect(f.stateDictKey == "model")
        let others = Dictionary(uniqueKeysWithValues: f.others.map { ($0.name, $0) })
        #expect(others["step"] == PyTorchValue(name: "step", components: ["step"], type: "int", text: "3"))
        #expect(others["losses"]?.text == "[4.5, 4.25, 4.0]")
        #expect(others["run"]?.text == "'fixture'")
        #expect(others["optimizer.param_groups.0.betas"]?.text == "(0.9, 0.999)")
        #expect(f.tensors.contains { $0.name == "optimizer.state.0.exp_avg" })
        let plain = try PyTorchFile.open(path: RepoPaths.fixtures("pytorch/gpt2-tiny/pytorch_model.bin"))
        #expect(plain.stateDictKey == nil)
    }
}
