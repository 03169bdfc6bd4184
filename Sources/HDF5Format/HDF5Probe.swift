// The helper process's side (`wk-hdf5-probe`): the only code that hands an untrusted HDF5 file to
// libhdf5 for reading. It limits itself before touching the file (address space, CPU time, no file
// writes, no core dump, no new files once the input is open), then either
//   structure PATH          writes the file's structure (groups, attributes, datasets with their
//                           dtype, shape, filters and chunk index) to stdout, or
//   read PATH NAME DTYPE    writes the bytes of one dataset, converted to DTYPE, to stdout.
// A failure libhdf5 reports is one line on stderr and exit 2; a crash, a hang or an allocation over
// the limit kills this process and the parent reports it (HDF5Helper.swift).

internal import CHDF5
import TensorCore
#if canImport(Glibc)
    import Glibc
#endif

/// What the helper resolves from a file.
struct HDF5Structure {
    var groups: [String] = []
    var metadata: [(String, MetadataValue)] = []
    var skipped: [String] = []
    var plans: [DatasetPlan] = []

    func encode() -> [UInt8] {
        var w = WireWriter()
        w.bytes.append(contentsOf: Array("WKH5".utf8))
        w.int(groups.count)
        for g in groups { w.string(g) }
        w.int(metadata.count)
        for (k, v) in metadata {
            w.string(k)
            w.value(v)
        }
        w.int(skipped.count)
        for s in skipped { w.string(s) }
        w.int(plans.count)
        for p in plans { p.encode(&w) }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], path: String, fileSize: Int) throws -> HDF5Structure {
        var r = WireReader(bytes)
        do {
            guard Array(try r.take(4)) == Array("WKH5".utf8) else { throw WireError(text: "the helper's answer has no header") }
            var s = HDF5Structure()
            for _ in 0..<(try r.count(minBytes: 8)) { s.groups.append(try r.string()) }
            for _ in 0..<(try r.count(minBytes: 10)) { s.metadata.append((try r.string(), try r.value())) }
            for _ in 0..<(try r.count(minBytes: 8)) { s.skipped.append(try r.string()) }
            for _ in 0..<(try r.count(minBytes: 40)) { s.plans.append(try DatasetPlan.decode(&r, path: path, fileSize: fileSize)) }
            guard r.remaining == 0 else { throw WireError(text: "the helper's answer has trailing bytes") }
            return s
        } catch let e as WireError {
            throw HDF5Error(path: path, "cannot read the file structure: \(e.text)")
        }
    }
}

public enum HDF5Probe {
    /// The helper's entry point; returns the exit status.
    public static func main(_ args: [String]) -> Int32 {
        var a = Array(args.dropFirst())
        closeInherited(keep: a.contains("--fd") ? 3 : nil)
        var limits = HDF5Helper.Limits()
        while let i = a.firstIndex(where: { $0.hasPrefix("--") }) {
            guard i + 1 < a.count, let v = Int(a[i + 1]) else { return usage() }
            switch a[i] {
            case "--address-space": limits.addressSpace = v
            case "--cpu-seconds": limits.seconds = v
            case "--fd": imageDescriptor = Int32(v)
            case "--filter": filtersToLoad.append(v)
            default: return usage()
            }
            a.removeSubrange(i...i + 1)
        }
        limitSelf(limits)
        // Filters the dataset to read needs, as the parent found them in the structure: asking libhdf5 whether
        // each is available loads its plugin from HDF5_PLUGIN_PATH now, while this process may still open files
        // (after the input is open it may open none, and a plugin could not be loaded any more).
        if !filtersToLoad.isEmpty {
            HDF5Library.enter()
            for id in filtersToLoad where id > 0 && id <= 65535 {
                _ = H5Zfilter_avail(H5Z_filter_t(id))
                _ = HDF5Library.errorStack()
            }
        }
        do {
            switch a.first {
            case "structure" where a.count == 2:
                let s = try structure(path: a[1])
                return writeAll(s.encode()) ? 0 : 3
            case "read" where a.count == 4:
                guard let dtype = DType(rawValue: a[3]) else { return usage() }
                return try read(path: a[1], name: a[2], dtype: dtype)
            default:
                return usage()
            }
        } catch {
            writeStandardError("\(error)".split(separator: "\n").joined(separator: " ") + "\n")
            return 2
        }
    }

    /// Descriptors the parent had open without close-on-exec (libhdf5's own files, being written by
    /// other threads) are not the helper's business: closed first, so no lock outlives its owner.
    /// The file as an open descriptor (an unnamed `.zst` copy): opened from a memory image of it.
    nonisolated(unsafe) static var imageDescriptor: Int32? = nil
    /// `--filter ID`, once per filter: plugins to load before the input is opened.
    nonisolated(unsafe) static var filtersToLoad: [Int] = []

    static func closeInherited(keep: Int32?) {
        var fds: [Int32] = []
        if let d = opendir("/proc/self/fd") {
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                if let fd = Int32(name), fd > 2 { fds.append(fd) }
            }
            let own = dirfd(d)
            closedir(d)
            fds.removeAll { $0 == own }
        }
        for fd in fds where fd != keep { close(fd) }
    }

    static func usage() -> Int32 {
        writeStandardError("usage: wk-hdf5-probe [--address-space BYTES] [--cpu-seconds S] [--filter ID]… (structure FILE | read FILE DATASET DTYPE)\n")
        return 64
    }

    /// Address space and CPU limits, no core file, no file may grow (the pipe is not a file).
    static func limitSelf(_ limits: HDF5Helper.Limits) {
        func set(_ what: Int32, _ v: Int) {
            var r = rlimit(rlim_cur: rlim_t(v), rlim_max: rlim_t(v))
            setrlimit(__rlimit_resource_t(UInt32(what)), &r)
        }
        set(Int32(RLIMIT_AS.rawValue), limits.addressSpace)
        set(Int32(RLIMIT_CPU.rawValue), limits.seconds)
        set(Int32(RLIMIT_CORE.rawValue), 0)
        set(Int32(RLIMIT_FSIZE.rawValue), 0)
    }

    /// After the input is open: no further descriptors (no new files, no sockets).
    static func closeTheDoor() {
        var r = rlimit(rlim_cur: 0, rlim_max: 0)
        setrlimit(__rlimit_resource_t(UInt32(RLIMIT_NOFILE.rawValue)), &r)
    }

    static func writeAll(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { writeAll($0) }
    }

    static func writeAll(_ buf: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < buf.count {
            let n = write(1, buf.baseAddress! + done, min(buf.count - done, 1 << 20))
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    static func openFile(_ path: String) throws -> (HDF5Handle, Int) {
        HDF5Library.enter()
        if let fd = imageDescriptor { return try openImage(fd, path: path) }
        var st = stat()
        guard stat(path, &st) == 0 else { throw HDF5Error(path: path, "cannot open: \(errnoText())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw HDF5Error(path: path, "not a regular file") }
        let isHDF5 = H5Fis_hdf5(path)
        if isHDF5 == 0 {
            throw HDF5Error(path: path, "not an HDF5 file (no HDF5 signature at byte 0, 512, 1024, …)")
        }
        guard isHDF5 > 0 else { throw HDF5Error(path: path, "cannot read the HDF5 superblock", detail: HDF5Library.reason()) }
        guard let file = HDF5Handle(H5Fopen(path, wk_H5F_ACC_RDONLY(), hid_t(H5P_DEFAULT)), .file) else {
            throw HDF5Error(path: path, "cannot open as HDF5", detail: HDF5Library.reason())
        }
        closeTheDoor()
        return (file, Int(st.st_size))
    }

    /// Opens the file held by descriptor `fd` from a memory image of it (libhdf5's core driver).
    static func openImage(_ fd: Int32, path: String) throws -> (HDF5Handle, Int) {
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 else { throw HDF5Error(path: path, "not a regular file") }
        let size = Int(st.st_size)
        guard let map = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), map != MAP_FAILED else {
            throw HDF5Error(path: path, "cannot map: \(errnoText())")
        }
        close(fd)
        guard let fapl = HDF5Handle(H5Pcreate(wk_H5P_FILE_ACCESS()), .propertyList),
            H5Pset_fapl_core(fapl.id, 1 << 20, false) >= 0, H5Pset_file_image(fapl.id, map, size) >= 0
        else { throw HDF5Error(path: path, "cannot set up a file image", detail: HDF5Library.reason()) }
        munmap(map, size)  // H5Pset_file_image copied it
        guard let file = HDF5Handle(H5Fopen("wk-image.h5", wk_H5F_ACC_RDONLY(), fapl.id), .file) else {
            throw HDF5Error(path: path, "cannot open as HDF5", detail: HDF5Library.reason())
        }
        closeTheDoor()
        return (file, size)
    }

    /// Every dataset and attribute of the file, in the order `HDF5File` lists them.
    static func structure(path: String) throws -> HDF5Structure {
        let (file, fileSize) = try openFile(path)
        let objects = try visit(file: file.id, path: path)
        var s = HDF5Structure()
        var attributesByObject: [String: [(String, MetadataValue)]] = [:]
        for (name, _) in objects {
            let (values, bad) = HDF5AttributeReader.readAll(file: file.id, object: name)
            attributesByObject[name] = HDF5File.joinKerasSplits(values)
            let prefix = name == "." ? "" : name + "@"
            s.skipped += bad.map { "\(prefix)\($0.0): \($0.1)" }
        }
        var budget = DatasetPlan.maxChunkRecords
        for (name, type) in objects {
            let attrs = attributesByObject[name] ?? []
            var consumed: String?
            if type == H5O_TYPE_DATASET {
                let marker = attrs.first { $0.0 == "dtype" }?.1.string
                let plan = try DatasetPlan.make(file: file.id, path: path, name: name, marker: marker, fileSize: fileSize, chunkBudget: &budget)
                if plan.usesMarker { consumed = "dtype" }
                s.plans.append(plan)
            } else if type == H5O_TYPE_GROUP, name != "." {
                s.groups.append(name)
            }
            let prefix = name == "." ? "" : name + "@"
            for (key, value) in attrs where key != consumed { s.metadata.append((prefix + key, value)) }
        }
        return s
    }

    /// Reads one dataset through libhdf5 (with type conversion to `dtype`) and writes its bytes.
    static func read(path: String, name: String, dtype: DType) throws -> Int32 {
        let (file, _) = try openFile(path)
        let object = "dataset '\(name)'"
        guard let ds = HDF5Handle(H5Dopen2(file.id, name, hid_t(H5P_DEFAULT)), .dataset, parent: file),
            let ftype = HDF5Handle(H5Dget_type(ds.id), .datatype), let space = HDF5Handle(H5Dget_space(ds.id), .dataspace)
        else { throw HDF5Error(path: path, object: object, "cannot open", detail: HDF5Library.reason()) }
        let n = H5Sget_simple_extent_npoints(space.id)
        guard n >= 0, let bytes = dtype.byteCount(elements: Int(n)) else {
            throw HDF5Error(path: path, object: object, "unreadable shape", detail: HDF5Library.reason())
        }
        let dcpl = HDF5Handle(H5Dget_create_plist(ds.id), .propertyList)
        if let dcpl {
            let nf = H5Pget_nfilters(dcpl.id)
            for i in 0..<UInt32(max(0, min(nf, 32))) {
                var flags: UInt32 = 0
                var cdn = 0
                var config: UInt32 = 0
                let id = H5Pget_filter2(dcpl.id, i, &flags, &cdn, nil, 0, nil, &config)
                if H5Zfilter_avail(H5Z_filter_t(id)) <= 0 {
                    _ = HDF5Library.errorStack()
                    let known = DatasetSource.filterNames[id].map { "'\($0)' " } ?? ""
                    throw HDF5Error(
                        path: path, object: object,
                        "compressed with HDF5 filter \(known)(\(id)), which is not available (WeightKit has deflate, shuffle, fletcher32 and zstd built in; for others install the plugin and set HDF5_PLUGIN_PATH)")
                }
            }
        }
        let mem = HDF5ElementType.memoryType(for: dtype, fileType: ftype.id)
        defer { if mem.owned { H5Tclose(mem.id) } }
        guard bytes > 0 else { return 0 }
        let buf = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { buf.deallocate() }
        let r = H5Dread(ds.id, mem.id, wk_H5S_ALL(), wk_H5S_ALL(), hid_t(H5P_DEFAULT), buf)
        if r < 0 { throw HDF5Error(path: path, object: object, "cannot read", detail: HDF5Library.reason()) }
        return writeAll(UnsafeRawBufferPointer(start: buf, count: bytes)) ? 0 : 3
    }

    /// The objects under the root (itself as "."), depth-first, each group's members in name order.
    private static func visit(file: hid_t, path: String) throws -> [(String, H5O_type_t)] {
        let ctx = VisitContext()
        let unmanaged = Unmanaged.passRetained(ctx)
        let r = H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, objectVisitor, unmanaged.toOpaque(), wk_H5O_INFO_BASIC())
        unmanaged.release()
        guard r >= 0 else { throw HDF5Error(path: path, "cannot list the objects in the file", detail: HDF5Library.reason()) }
        return ctx.objects
    }
}

/// What `H5Ovisit2` collects.
final class VisitContext {
    var objects: [(String, H5O_type_t)] = []
}

/// `H5O_iterate_t`: records each object's path and kind.
private let objectVisitor: H5O_iterate_t = { _, name, info, data in
    guard let name, let info, let data else { return 0 }
    let ctx = Unmanaged<VisitContext>.fromOpaque(data).takeUnretainedValue()
    ctx.objects.append((String(cString: name), info.pointee.type))
    return 0
}
