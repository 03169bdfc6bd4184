// The zip layout: the archive folder from the entries, TorchScript refused, the small records read
// whole with their CRC checked, data.pkl run with storages resolved to their entries.

import TensorCore

extension PyTorchFile {
    static func readZip(_ region: ByteRegion, path: String, limits: PickleLimits) throws -> PyTorchFile {
        let zip = try ZipArchive(region: region, path: path)
        func fail(_ kind: PyTorchError.Kind, _ m: String) -> PyTorchError { PyTorchError(kind, path, m) }
        // TorchScript archives carry code; torch ≤ 2.5.1 ran it even under weights_only=True.
        if let script = zip.entries.first(where: { e in
            let parts = e.name.split(separator: "/")
            return parts.count >= 2 && (parts[1] == "constants.pkl" || parts[1] == "code")
        }) {
            throw fail(.notPyTorch, "is a TorchScript archive (it holds '\(script.name)'): torch.jit.save output carries code, which WeightKit never runs; it reads torch.save files only (a TorchScript file handed to torch.load is the CVE-2025-32434 route)")
        }
        let pickles = zip.entries.filter { e in
            let parts = e.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl"
        }
        guard let pkl = pickles.first else {
            let names = zip.entries.prefix(3).map { "'\($0.name)'" }.joined(separator: ", ")
            throw fail(.notPyTorch, "is a zip archive but not a torch.save file: no '<archive>/data.pkl' entry (entries: \(names.isEmpty ? "none" : names))")
        }
        guard pickles.count == 1 else {
            throw fail(.zip, "holds several pickles (\(pickles.map { "'\($0.name)'" }.joined(separator: ", "))); refused")
        }
        let archive = String(pkl.name.dropLast("/data.pkl".count))
        if let stray = zip.entries.first(where: { !$0.name.hasPrefix(archive + "/") }) {
            throw fail(.zip, "entry '\(stray.name)' lies outside the archive folder '\(archive)/'; refused")
        }
        // Small records read whole, their CRC checked.
        func record(_ name: String) throws -> String? {
            guard let e = zip[archive + "/" + name] else { return nil }
            guard e.size <= 64 else { throw fail(.zip, "record '\(e.name)' is \(e.size) bytes; at most 64 expected") }
            return try region.withUnsafeBytes(offset: e.dataOffset, count: e.size) { raw throws -> String in
                guard CRC32.checksum(raw) == e.crc32 else { throw fail(.zip, "record '\(e.name)' fails its CRC-32 check; corrupt") }
                guard let s = String(validating: raw, as: UTF8.self) else { throw fail(.zip, "record '\(e.name)' is not text") }
                return s
            }
        }
        let byteOrder = try record("byteorder")
        var bigEndian = false
        switch byteOrder {
        case nil, "little": break
        case "big": bigEndian = true
        case let other?:
            throw fail(.zip, "record '\(archive)/byteorder' says '\(PickleMachine.printable(other))', not 'little' or 'big'")
        }
        var version: String? = nil
        if let v = try record("version") ?? record(".data/version") {
            let t = String(v.filter { $0 != "\n" && $0 != "\r" && $0 != " " })
            guard !t.isEmpty, t.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw fail(.zip, "version record says '\(PickleMachine.printable(v))', not a number")
            }
            version = t
        }
        let table = StorageTable()
        let storageFolder = archive + "/data/"
        let load: PickleMachine.PersistentLoad = { (r: StorageRequest) throws(PyTorchError) -> StorageInfo in
            guard r.view == nil else { throw fail(.pickle, "storage '\(r.key)' has legacy view metadata in a zip file") }
            guard let bytes = r.dtype.byteCount(elements: r.numel) else {
                throw fail(.tensor, "storage '\(r.key)': \(r.numel) elements of \(r.typeName) overflow")
            }
            if let i = table.byKey[r.key] {
                let s = table.slots[i]
                guard s.dtype == r.dtype, s.numel == r.numel else {
                    throw fail(.tensor, "storage '\(r.key)' is named as \(s.typeName) of \(s.numel) elements and as \(r.typeName) of \(r.numel); refused")
                }
                return StorageInfo(index: i, dtype: s.dtype, numel: s.numel)
            }
            guard let e = zip[storageFolder + r.key] else {
                throw fail(.zip, "data.pkl names storage '\(PickleMachine.printable(r.key))' but there is no entry '\(storageFolder)\(PickleMachine.printable(r.key))'")
            }
            guard e.size == bytes else {
                throw fail(.tensor, "entry '\(e.name)' holds \(e.size) bytes but data.pkl (byte \(r.pickleOffset)) says \(r.numel) × \(r.typeName) = \(bytes)")
            }
            table.byKey[r.key] = table.slots.count
            table.slots.append(StorageSlot(key: r.key, dtype: r.dtype, typeName: r.typeName, numel: r.numel, fileOffset: e.dataOffset))
            return StorageInfo(index: table.slots.count - 1, dtype: r.dtype, numel: r.numel)
        }
        let assembled: Assembled = try region.withUnsafeBytes(offset: pkl.dataOffset, count: pkl.size) { raw in
            guard CRC32.checksum(raw) == pkl.crc32 else { throw fail(.zip, "'\(pkl.name)' fails its CRC-32 check; corrupt") }
            var machine = PickleMachine(bytes: raw, pickleName: "data.pkl", path: path, limits: limits, persistentLoad: load)
            let (root, end) = try machine.run()
            guard end == raw.count else {
                throw fail(.pickle, "\(raw.count - end) bytes follow the STOP of data.pkl (byte \(end)); refused")
            }
            return try Assembled(machine: machine, root: root, table: table, region: region, bigEndian: bigEndian, path: path, limits: limits)
        }
        return PyTorchFile(
            path: path, layout: .zip, archiveName: archive, version: version, bigEndian: bigEndian, zip64: zip.zip64, assembled: assembled)
    }
}
