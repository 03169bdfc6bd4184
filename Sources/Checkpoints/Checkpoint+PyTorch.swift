// torch.save files as checkpoints: the state dict's tensors by name (a snapshot's state dict taken
// from under its key), everything else listed as other entries, and what inspect should say about
// views that are copied and storages that are shared.

import Foundation
import PyTorchFormat
import TensorCore

extension Checkpoint {
    static func openPyTorch(_ path: String) throws -> Checkpoint {
        Checkpoint(pytorch: try PyTorchFile.open(path: path), path: path)
    }

    init(pytorch file: PyTorchFile, path: String) {
        let key = file.stateDictKey
        func local(_ t: PyTorchTensor) -> String { key == nil ? t.name : t.components.dropFirst().joined(separator: ".") }
        var localNames = [String: String]()
        for t in file.tensors where key == nil || t.components.first == key { localNames[t.name] = local(t) }
        var entries = [TensorEntry]()
        var notes = [String: String]()
        var others = [CheckpointOther]()
        for t in file.tensors {
            let shape = "[" + t.shape.map(String.init).joined(separator: ", ") + "]"
            guard let name = localNames[t.name] else {
                others.append(CheckpointOther(name: t.name, type: "tensor", value: "\(t.dtype.rawValue) \(shape), outside the state dict '\(key ?? "")'"))
                continue
            }
            entries.append(t.entry.renamed(name))
            var note = [String]()
            if t.access != .mapped { note.append(t.access.rawValue) }
            if let same = t.sameAs {
                note.append("same storage and view as '\(localNames[same] ?? same)' (tied)")
            } else if !t.sharesStorageWith.isEmpty {
                let with = t.sharesStorageWith.prefix(3).map { "'\(localNames[$0] ?? $0)'" }.joined(separator: ", ")
                let more = t.sharesStorageWith.count > 3 ? " and \(t.sharesStorageWith.count - 3) more" : ""
                note.append("shares storage '\(t.storageKey)' with \(with)\(more)")
            }
            if !note.isEmpty { notes[name] = note.joined(separator: "; ") }
        }
        for v in file.others { others.append(CheckpointOther(name: v.name, type: v.type, value: v.text)) }
        var facts = [String]()
        switch file.layout {
        case .zip: facts.append("zip layout, archive '\(file.archiveName ?? "")'" + (file.version.map { ", version \($0)" } ?? ""))
        case .legacy: facts.append("legacy (pre-zip) layout")
        }
        facts.append(file.bigEndian ? "big-endian (read byte-swapped)" : "little-endian")
        facts.append("\(file.storageCount) storage\(file.storageCount == 1 ? "" : "s")")
        if let key { facts.append("state dict under '\(key)'") }
        var details = [facts.joined(separator: ", ")]
        let copied = file.tensors.filter { $0.access != .mapped && localNames[$0.name] != nil }.count
        details.append("\(entries.count - copied) of \(entries.count) tensors mapped without copying; nothing executed")
        if file.ignoredAttributes > 0 {
            details.append("\(file.ignoredAttributes) dict attribute\(file.ignoredAttributes == 1 ? "" : "s") set by BUILD (a state dict's _metadata) ignored")
        }
        self.init(path: path, format: .pytorch, files: [path], metadata: Metadata(), entries: entries)
        self.others = others
        self.tensorNotes = notes
        self.details = details
    }

    /// The names torch.save files go by.
    static func isTorchName(_ path: String) -> Bool { [".bin", ".pt", ".pth"].contains { path.hasSuffix($0) } }

    /// A POSIX tar archive (PyTorch's oldest layout), recognised to be named.
    static func isTar(_ path: String) -> Bool {
        guard let h = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? h.close() }
        let head = (try? h.read(upToCount: 512)) ?? Data()
        return head.count == 512 && Array(head[257..<262]) == Array("ustar".utf8)
    }
}
