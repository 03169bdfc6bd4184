// The zip container of torch.save (torch ≥ 1.6), read from the central directory and checked
// before any entry is used. The parts WeightKit reads:
//
//   end of central directory   PK\x05\x06, at the very end (after an optional comment):
//     +4 disk u16, +6 disk of CD u16, +8 entries here u16, +10 entries u16, +12 CD size u32,
//     +16 CD offset u32, +20 comment length u16
//   zip64 locator              PK\x06\x07, the 20 bytes before it: +8 offset of the zip64 record u64
//   zip64 end record           PK\x06\x06: +24 entries here u64, +32 entries u64, +40 CD size u64,
//                              +48 CD offset u64 (torch writes these on every file)
//   central header (each)      PK\x01\x02: +8 flags, +10 method, +16 crc32, +20 compressed size,
//                              +24 size, +28 name length, +30 extra length, +32 comment length,
//                              +34 disk, +42 local header offset; then name, extra, comment.
//                              Extra id 0x0001 (zip64) holds, in order, those of size, compressed
//                              size, offset and disk that read 0xFFFFFFFF (0xFFFF).
//   local header (each)        PK\x03\x04: +26 name length, +28 extra length; the data follows
//                              the name and extra. torch pads the extra ("FB" field) so that
//                              data starts on a 64-byte boundary, and sets flag bit 3 (sizes in
//                              a data descriptor after the data), so sizes come from the CD.
//
// Checked: the end record ends the file exactly; zip64 and classic fields agree; the entry
// count fits the directory's bytes before anything is allocated; the directory is consumed
// exactly; names are UTF-8 without NUL, backslash, leading '/', '.' or '..' segments, and
// unique; each local header is where the directory says, names the same entry, and its data
// lies before the directory; no two entries overlap; no entry is encrypted or compressed.

import TensorCore

/// One entry of the archive, located and checked.
struct ZipEntry: Sendable {
    let name: String
    let method: UInt16
    let flags: UInt16
    let crc32: UInt32
    let compressedSize: Int
    let size: Int
    let localHeaderOffset: Int
    /// First byte of the entry's data in the file.
    let dataOffset: Int
}

/// The central directory of a zip file held in a region.
struct ZipArchive: Sendable {
    let entries: [ZipEntry]
    private let index: [String: Int]
    /// Whether the file carries a zip64 end record.
    let zip64: Bool

    subscript(name: String) -> ZipEntry? { index[name].map { entries[$0] } }

    /// Reads and checks the directory of the zip file in `region` (the whole file).
    init(region: ByteRegion, path: String) throws(PyTorchError) {
        let size = region.count
        func fail(_ message: String) -> PyTorchError { PyTorchError(.zip, path, message) }
        guard let base = region.base, size >= 22 else {
            throw fail("file is \(size) bytes, too short for a zip archive's end record (22 bytes); truncated?")
        }
        let raw = UnsafeRawBufferPointer(start: base, count: size)
        func u16(_ o: Int) -> Int { Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self))) }
        func u32(_ o: Int) -> Int { Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self))) }
        func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }

        // The end record: the last PK\x05\x06 whose comment runs exactly to the end of the file.
        var eocd = -1
        var p = size - 22
        let lowest = max(0, size - 22 - 0xFFFF)
        while p >= lowest {
            if raw[p] == 0x50, raw[p + 1] == 0x4B, raw[p + 2] == 0x05, raw[p + 3] == 0x06, p + 22 + u16(p + 20) == size {
                eocd = p
                break
            }
            p -= 1
        }
        guard eocd >= 0 else {
            throw fail("no zip end-of-central-directory record at the end of the file; truncated?")
        }
        var entryCount = UInt64(u16(eocd + 10))
        var cdSize = UInt64(u32(eocd + 12))
        var cdOffset = UInt64(u32(eocd + 16))
        var cdLimit = eocd  // the directory ends before this byte
        guard (u16(eocd + 4) == 0 && u16(eocd + 6) == 0) || u16(eocd + 4) == 0xFFFF else {
            throw fail("end record names disk \(u16(eocd + 4)): multi-volume archives are not read")
        }
        guard u16(eocd + 8) == u16(eocd + 10) else {
            throw fail("end record counts \(u16(eocd + 8)) entries on this disk but \(u16(eocd + 10)) in all: multi-volume archives are not read")
        }
        var zip64 = false
        if eocd >= 20, u32(eocd - 20) == 0x0706_4B50 {
            zip64 = true
            let recordOffset64 = u64(eocd - 12)
            guard let record = Checked.int(recordOffset64), record <= eocd - 20 - 56 else {
                throw fail("zip64 locator (byte \(eocd - 20)) points to byte \(recordOffset64), which is not before it")
            }
            guard u32(record) == 0x0606_4B50 else {
                throw fail("zip64 locator points to byte \(record), which holds no zip64 end record")
            }
            guard u32(record + 16) == 0, u32(record + 20) == 0, u64(record + 24) == u64(record + 32) else {
                throw fail("zip64 end record names another disk: multi-volume archives are not read")
            }
            let n64 = u64(record + 32), size64 = u64(record + 40), offset64 = u64(record + 48)
            // Classic fields that are not saturated must say the same as the zip64 ones.
            if (entryCount != 0xFFFF && entryCount != n64) || (cdSize != 0xFFFF_FFFF && cdSize != size64)
                || (cdOffset != 0xFFFF_FFFF && cdOffset != offset64)
            {
                throw fail("end record (\(entryCount) entries, directory of \(cdSize) bytes at \(cdOffset)) and zip64 end record (\(n64) entries, \(size64) bytes at \(offset64)) disagree")
            }
            (entryCount, cdSize, cdOffset) = (n64, size64, offset64)
            cdLimit = record
        } else if entryCount == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            throw fail("end record fields are saturated (0xFFFF…) but there is no zip64 end record")
        }
        guard let cdStart = Checked.int(cdOffset), let cdBytes = Checked.int(cdSize), let cdEnd = Checked.add(cdStart, cdBytes),
            cdEnd <= cdLimit
        else {
            throw fail("central directory (\(cdSize) bytes at byte \(cdOffset)) does not lie before the end record (byte \(cdLimit))")
        }
        // Each central header takes at least 46 bytes: the count is checked before allocating.
        guard entryCount <= UInt64(cdBytes / 46) else {
            throw fail("end record claims \(entryCount) entries but the central directory holds only \(cdBytes) bytes (46 or more each)")
        }

        var entries = [ZipEntry]()
        entries.reserveCapacity(Int(entryCount))
        var index = [String: Int]()
        var q = cdStart
        for i in 0..<Int(entryCount) {
            guard q + 46 <= cdEnd else { throw fail("central directory ends inside entry \(i) (byte \(q))") }
            guard u32(q) == 0x0201_4B50 else { throw fail("central directory entry \(i) at byte \(q) has no PK\\x01\\x02 signature") }
            let flags = UInt16(u16(q + 8)), method = UInt16(u16(q + 10))
            let nameLength = u16(q + 28), extraLength = u16(q + 30), commentLength = u16(q + 32)
            let recordEnd = q + 46 + nameLength + extraLength + commentLength
            guard recordEnd <= cdEnd else { throw fail("central directory entry \(i) at byte \(q) runs past the directory's end (byte \(cdEnd))") }
            guard let name = String(validating: raw[(q + 46)..<(q + 46 + nameLength)], as: UTF8.self) else {
                throw fail("central directory entry \(i) at byte \(q): name is not UTF-8")
            }
            try Self.checkName(name, fail: fail)
            var usize = UInt64(u32(q + 24)), csize = UInt64(u32(q + 20)), local = UInt64(u32(q + 42))
            var disk = UInt64(u16(q + 34))
            // zip64 extra: the saturated fields, in order.
            var e = q + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = u16(e), length = u16(e + 2)
                guard e + 4 + length <= extraEnd else { throw fail("entry '\(name)': extra field \(id) runs past the extra area") }
                if id == 0x0001 {
                    var f = e + 4
                    func next(_ width: Int) throws(PyTorchError) -> UInt64 {
                        guard f + width <= e + 4 + length else { throw fail("entry '\(name)': zip64 extra field is too short for the saturated fields") }
                        defer { f += width }
                        return width == 8 ? u64(f) : UInt64(u32(f))
                    }
                    if usize == 0xFFFF_FFFF { usize = try next(8) }
                    if csize == 0xFFFF_FFFF { csize = try next(8) }
                    if local == 0xFFFF_FFFF { local = try next(8) }
                    if disk == 0xFFFF { disk = try next(4) }
                }
                e += 4 + length
            }
            guard usize != 0xFFFF_FFFF, csize != 0xFFFF_FFFF, local != 0xFFFF_FFFF else {
                throw fail("entry '\(name)': sizes or offset read 0xFFFFFFFF but there is no zip64 extra field to give them")
            }
            guard disk == 0 else { throw fail("entry '\(name)' is on disk \(disk): multi-volume archives are not read") }
            if flags & 0x41 != 0 { throw PyTorchError(.compressed, path, "entry '\(name)' is encrypted; torch.save never encrypts") }
            if method != 0 {
                let what = method == 8 ? "deflate-compressed" : "compressed (method \(method))"
                throw PyTorchError(.compressed, path, "entry '\(name)' is \(what): \(csize) bytes that would expand to \(usize); torch.save stores every entry uncompressed and WeightKit maps them, so compressed entries are refused")
            }
            guard csize == usize else { throw fail("stored entry '\(name)' has compressed size \(csize) but size \(usize)") }
            guard let localOffset = Checked.int(local), let length = Checked.int(usize), localOffset <= cdStart - 30 else {
                throw fail("entry '\(name)': local header offset \(local) is not before the central directory (byte \(cdStart))")
            }
            guard u32(localOffset) == 0x0403_4B50 else {
                throw fail("entry '\(name)': no local header (PK\\x03\\x04) at byte \(localOffset)")
            }
            let localName = u16(localOffset + 26), localExtra = u16(localOffset + 28)
            let dataOffset = localOffset + 30 + localName + localExtra
            guard localName == nameLength, dataOffset <= cdStart,
                raw[(localOffset + 30)..<(localOffset + 30 + localName)].elementsEqual(raw[(q + 46)..<(q + 46 + nameLength)])
            else {
                throw fail("entry '\(name)': the local header at byte \(localOffset) names another entry or runs into the central directory")
            }
            guard UInt16(u16(localOffset + 8)) == method else {
                throw fail("entry '\(name)': local header says method \(u16(localOffset + 8)), central directory says \(method)")
            }
            guard let dataEnd = Checked.add(dataOffset, length), dataEnd <= cdStart else {
                throw fail("entry '\(name)': \(usize) bytes at byte \(dataOffset) run past the start of the central directory (byte \(cdStart)); truncated or corrupt")
            }
            guard index[name] == nil else { throw fail("entry '\(name)' appears twice") }
            index[name] = entries.count
            entries.append(ZipEntry(
                name: name, method: method, flags: flags, crc32: UInt32(u32(q + 16)), compressedSize: length, size: length,
                localHeaderOffset: localOffset, dataOffset: dataOffset))
            q = recordEnd
        }
        guard q == cdEnd else {
            throw fail("central directory holds \(cdEnd - q) bytes after its \(entryCount) entries (from byte \(q)); refused")
        }
        // No two entries share bytes: sorted by local header, each starts after the previous data.
        let sorted = entries.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        for (a, b) in zip(sorted, sorted.dropFirst()) where b.localHeaderOffset < a.dataOffset + a.size {
            throw fail("entries '\(a.name)' (bytes \(a.localHeaderOffset)-\(a.dataOffset + a.size - 1)) and '\(b.name)' (from byte \(b.localHeaderOffset)) overlap")
        }
        self.entries = entries
        self.index = index
        self.zip64 = zip64
    }

    /// Entry names that could escape a folder or confuse a reader are refused.
    static func checkName(_ name: String, fail: (String) -> PyTorchError) throws(PyTorchError) {
        if name.isEmpty { throw fail("an entry has an empty name") }
        if name.contains("\0") || name.contains("\\") {
            throw fail("entry name '\(name.debugDescription.dropFirst().dropLast())' holds a NUL or backslash; refused")
        }
        if name.hasPrefix("/") { throw fail("entry name '\(name)' is an absolute path; refused") }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        if parts.contains(where: { $0 == ".." || $0 == "." }) { throw fail("entry name '\(name)' has a '.' or '..' segment; refused") }
        if parts.dropLast().contains(where: \.isEmpty) { throw fail("entry name '\(name)' has an empty segment; refused") }
    }
}

/// CRC-32 (the zip polynomial, reflected 0xEDB88320), for the small records read whole.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
