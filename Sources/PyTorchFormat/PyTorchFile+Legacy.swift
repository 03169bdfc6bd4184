// The legacy layout (_use_new_zipfile_serialization=False): five pickles, then the storages'
// records, each a signed 64-bit element count in the file's byte order and the raw elements.

import TensorCore

extension PyTorchFile {
    /// torch's MAGIC_NUMBER 0x1950a86a20f9469cfc6c, as LONG1's little-endian bytes.
    static let legacyMagic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    static func readLegacy(_ region: ByteRegion, path: String, limits: PickleLimits) throws -> PyTorchFile {
        func fail(_ kind: PyTorchError.Kind, _ m: String) -> PyTorchError { PyTorchError(kind, path, m) }
        let size = region.count
        let table = StorageTable()
        let load: PickleMachine.PersistentLoad = { (r: StorageRequest) throws(PyTorchError) -> StorageInfo in
            guard r.dtype.byteCount(elements: r.numel) != nil else {
                throw fail(.tensor, "storage '\(r.key)': \(r.numel) elements of \(r.typeName) overflow")
            }
            var root: Int
            if let i = table.byKey[r.key] {
                let s = table.slots[i]
                guard s.parent == nil, s.dtype == r.dtype, s.numel == r.numel else {
                    throw fail(.tensor, "storage '\(PickleMachine.printable(r.key))' is named as \(s.typeName) of \(s.numel) elements and as \(r.typeName) of \(r.numel); refused")
                }
                root = i
            } else {
                table.byKey[r.key] = table.slots.count
                table.slots.append(StorageSlot(key: r.key, dtype: r.dtype, typeName: r.typeName, numel: r.numel, fileOffset: -1))
                root = table.slots.count - 1
            }
            guard let view = r.view else { return StorageInfo(index: root, dtype: r.dtype, numel: r.numel) }
            guard let end = Checked.add(view.offset, view.numel), end <= r.numel else {
                throw fail(.tensor, "storage view '\(PickleMachine.printable(view.key))' (elements \(view.offset)+\(view.numel)) lies outside storage '\(PickleMachine.printable(r.key))' of \(r.numel)")
            }
            if let v = table.byKey[view.key] {
                let s = table.slots[v]
                guard s.parent == root, s.parentOffset == view.offset, s.numel == view.numel else {
                    throw fail(.tensor, "storage view '\(PickleMachine.printable(view.key))' is named twice with different extents; refused")
                }
                return StorageInfo(index: v, dtype: s.dtype, numel: s.numel)
            }
            table.byKey[view.key] = table.slots.count
            table.slots.append(StorageSlot(
                key: view.key, dtype: r.dtype, typeName: r.typeName, numel: view.numel, fileOffset: -1, parent: root,
                parentOffset: view.offset))
            return StorageInfo(index: table.slots.count - 1, dtype: r.dtype, numel: view.numel)
        }

        return try region.withUnsafeBytes { raw throws -> PyTorchFile in
            // Pickles 1–3: magic number, protocol version, sys_info.
            var magic = PickleMachine(bytes: raw, pickleName: "the first pickle", path: path, limits: limits, persistentLoad: nil)
            let (m, afterMagic) = try magic.run()
            guard case .bigInt(let b) = m, b == legacyMagic else {
                throw fail(.notPyTorch, "is a Python pickle but not a torch.save file: its first pickle holds a value of type \(m.typeName), not torch's magic number 0x1950a86a20f9469cfc6c")
            }
            var protocolMachine = PickleMachine(bytes: raw, pickleName: "the protocol pickle", path: path, limits: limits, persistentLoad: nil)
            let (p, afterProtocol) = try protocolMachine.run(from: afterMagic)
            guard case .int(1001) = p else {
                let what: String
                if case .int(let v) = p { what = String(v) } else { what = "a \(p.typeName)" }
                throw fail(.legacy, "legacy protocol version is \(what), not 1001")
            }
            var sysMachine = PickleMachine(bytes: raw, pickleName: "the sys_info pickle", path: path, limits: limits, persistentLoad: nil)
            let (sys, afterSys) = try sysMachine.run(from: afterProtocol)
            guard case .dict(let d) = sys else { throw fail(.legacy, "sys_info is a \(sys.typeName), not a dict") }
            let info = sysMachine.dicts[d]
            guard let at = info.positions[.string("little_endian")], case .bool(let little) = info.values[at] else {
                throw fail(.legacy, "sys_info has no little_endian flag")
            }
            // Pickle 4: the saved object.
            var main = PickleMachine(bytes: raw, pickleName: "the main pickle", path: path, limits: limits, persistentLoad: load)
            let (root, afterMain) = try main.run(from: afterSys)
            // Pickle 5: the storage keys in the order their records follow.
            var keysMachine = PickleMachine(bytes: raw, pickleName: "the storage key list", path: path, limits: limits, persistentLoad: nil)
            let (keyList, afterKeys) = try keysMachine.run(from: afterMain)
            guard case .list(let l) = keyList else { throw fail(.legacy, "the storage key list is a \(keyList.typeName), not a list") }
            var keys = [String]()
            for k in keysMachine.lists[l] {
                guard case .string(let s) = k else { throw fail(.legacy, "the storage key list holds a \(k.typeName)") }
                keys.append(s)
            }
            // The storage records.
            var pos = afterKeys
            var seen = Set<String>()
            for key in keys {
                guard let i = table.byKey[key], table.slots[i].parent == nil else {
                    throw fail(.legacy, "the storage key list names '\(PickleMachine.printable(key))', which no tensor uses")
                }
                guard seen.insert(key).inserted else { throw fail(.legacy, "the storage key list names '\(PickleMachine.printable(key))' twice") }
                let slot = table.slots[i]
                guard size - pos >= 8 else {
                    throw fail(.legacy, "file ends at byte \(size) inside the record of storage '\(PickleMachine.printable(key))' (from byte \(pos)); truncated")
                }
                let stored = raw.loadUnaligned(fromByteOffset: pos, as: Int64.self)
                let count = little ? Int64(littleEndian: stored) : Int64(bigEndian: stored)
                guard count == Int64(slot.numel) else {
                    throw fail(.legacy, "storage '\(PickleMachine.printable(key))' at byte \(pos) records \(count) elements but the main pickle says \(slot.numel)")
                }
                let start = pos + 8
                guard slot.byteCount <= size - start else {
                    throw fail(.legacy, "storage '\(PickleMachine.printable(key))': \(slot.byteCount) bytes from byte \(start) run past the end of the file (\(size)); truncated")
                }
                table.slots[i].fileOffset = start
                pos = start + slot.byteCount
            }
            if let missing = table.slots.first(where: { $0.parent == nil && $0.fileOffset < 0 }) {
                throw fail(.legacy, "storage '\(PickleMachine.printable(missing.key))' is used by a tensor but has no record")
            }
            guard pos == size else { throw fail(.legacy, "\(size - pos) bytes follow the last storage (from byte \(pos)); refused") }
            for i in table.slots.indices {
                if let p = table.slots[i].parent {
                    table.slots[i].fileOffset = table.slots[p].fileOffset + table.slots[i].parentOffset * table.slots[i].dtype.blockBytes
                }
            }
            let assembled = try Assembled(machine: main, root: root, table: table, region: region, bigEndian: !little, path: path, limits: limits)
            return PyTorchFile(
                path: path, layout: .legacy, archiveName: nil, version: "1001", bigEndian: !little, zip64: false, assembled: assembled)
        }
    }
}
