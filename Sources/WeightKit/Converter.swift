// weightkit convert: any checkpoint to safetensors, GGUF, HDF5 or a Hugging Face model
// directory, streaming one tensor at a time from the memory map to the writer, atomically.
//
// Safety: OUT is never one of the input's files (compared by device and inode, and by resolved
// path for directories that hold the input); an existing OUT is replaced only with `force`.
// Files are written unnamed where the file system allows and linked into place (AtomicFile); a
// model directory is built in a temporary directory beside OUT and renamed into place. Named
// temporaries are registered with PendingFiles so a signal handler can remove them, and those a
// killed run left are removed by the next (StaleTemporaries).

import Foundation
import GGUFFormat
import HDF5Format
import Models
import SafetensorsFormat
import TensorCore

/// Converts checkpoints between formats and namings.
public enum Converter {
    /// Converts `input` to `output` (see ConvertOptions). `hashes` computes each written file's
    /// SHA-256 (a second read of the output). `progress` is called after each tensor is produced.
    public static func convert(
        _ input: String, to output: String, options: ConvertOptions = ConvertOptions(), hashes: Bool = false,
        progress: (@Sendable (ConvertProgress) -> Void)? = nil
    ) throws -> ConvertSummary {
        let start = Date()
        let format = try ConvertOutputFormat.of(output)
        let target = output.count > 1 && output.hasSuffix("/") ? String(output.dropLast()) : output
        let checkpoint = try Checkpoint.open(input)
        try checkTarget(target, format: format, input: checkpoint, force: options.force)
        // Temporaries a killed conversion left beside the target (StaleTemporaries).
        let targetDirectory = (target as NSString).deletingLastPathComponent
        let stale = StaleTemporaries.remove(in: targetDirectory.isEmpty ? "." : targetDirectory)
        var plan = try ConvertPlan.make(checkpoint, format: format, options: options)
        plan.notes += stale.map { "removed \($0), a temporary left by process \(StaleTemporaries.owner(of: $0) ?? 0), which no longer runs" }
        let tokenizerFiles = try carryTokenizer(input, checkpoint: checkpoint, format: format, plan: &plan, options: options)
        // config.json and tokenizer files beside a single HF-named output, decided before anything
        // is written (Converter+Beside).
        let beside = try besideFiles(
            target: target, format: format, plan: &plan, tokenizerFiles: tokenizerFiles, input: input, checkpoint: checkpoint,
            force: options.force)

        let tracker = ProgressTracker(total: plan.recipes.count, bytes: plan.recipes.reduce(0) { $0 + ($1.dtype.byteCount(elements: $1.source.elementCount) ?? 0) },
                                      start: start, report: progress)
        var entries = try plan.recipes.map { r -> TensorEntry in
            let e = try r.entry()
            return try TensorEntry(name: e.name, dtype: e.dtype, shape: e.shape) {
                let d = try e.bytes()
                tracker.advance(d.count)
                return d
            }
        }
        // The writer's order (safetensors sorts by dtype, then name; shards in turn), produced one
        // tensor ahead.
        let writeOrder: [TensorEntry]
        switch format {
        case .safetensors: writeOrder = try SafetensorsWriter.header(metadata: plan.stringMetadata, tensors: entries, path: target).order
        case .directory:
            writeOrder = try Converter.partition(entries, limit: options.shardSize).flatMap {
                try SafetensorsWriter.header(metadata: plan.stringMetadata, tensors: $0, path: target).order
            }
        default: writeOrder = entries
        }
        let prefetched = try Prefetcher(order: writeOrder).entries()
        let byName = Dictionary(prefetched.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        entries = entries.map { byName[$0.name] ?? $0 }
        if format == .gguf {
            for e in entries where e.name.utf8.count >= 64 {
                throw WeightKitError("\(output): tensor name '\(e.name)' is \(e.name.utf8.count) bytes; GGUF allows at most 63 (convert to GGUF names with --naming gguf)")
            }
        }

        var files = [String]()
        switch format {
        case .gguf:
            try GGUFWriter.write(to: target, metadata: plan.metadata, tensors: entries, alignment: 32, overwrite: options.force)
            files = [target]
        case .safetensors:
            try SafetensorsWriter.write(to: target, metadata: plan.stringMetadata, tensors: entries, overwrite: options.force)
            files = [target]
        case .hdf5:
            try HDF5Writer.write(to: target, metadata: plan.metadata, tensors: entries, overwrite: options.force)
            files = [target]
        case .directory:
            files = try writeDirectory(
                target, plan: plan, entries: entries, shardSize: options.shardSize, force: options.force, extraFiles: tokenizerFiles)
        }
        files += try writeBeside(beside)
        let written = files.map { p -> ConvertedFile in
            let size = (try? FileManager.default.attributesOfItem(atPath: p)[.size] as? Int) ?? 0
            return ConvertedFile(path: p, bytes: size, sha256: hashes ? ((try? sha256(p)) ?? "") : "")
        }
        return ConvertSummary(
            input: input, output: output, format: format, naming: plan.naming, dtype: options.mixture?.rawValue ?? options.dtype?.rawValue ?? "keep",
            tensors: entries.count, bytes: written.reduce(0) { $0 + $1.bytes }, seconds: Date().timeIntervalSince(start),
            files: written, notes: plan.notes)
    }

    // MARK: Safety

    /// Refuses an existing target without `force`, and any target that is, or whose replacement
    /// would remove, one of the input's files.
    static func checkTarget(_ target: String, format: ConvertOutputFormat, input: Checkpoint, force: Bool) throws {
        var st = stat()
        guard lstat(target, &st) == 0 else { return }  // absent: fine
        let isDir = (st.st_mode & S_IFMT) == S_IFDIR
        var sources = input.files + [input.path]
        if let cp = input.configPath { sources.append(cp) }
        let resolvedTarget = URL(fileURLWithPath: target).resolvingSymlinksInPath().path
        var tst = stat()
        _ = stat(target, &tst)
        for s in sources {
            var sst = stat()
            if stat(s, &sst) == 0, sst.st_dev == tst.st_dev, sst.st_ino == tst.st_ino {
                throw WeightKitError("\(target): is the input itself; refusing to overwrite it")
            }
            let resolved = URL(fileURLWithPath: s).resolvingSymlinksInPath().path
            if isDir, resolved.hasPrefix(resolvedTarget + "/") {
                throw WeightKitError("\(target): holds the input '\(s)'; refusing to replace it")
            }
        }
        if isDir && format != .directory {
            throw WeightKitError("\(target): is a directory, not a \(format.rawValue) file")
        }
        if !isDir && format == .directory {
            throw WeightKitError("\(target): exists and is not a directory")
        }
        if !force { throw WeightKitError("\(target): already exists (use --force to overwrite)") }
    }

    // MARK: Model directories

    /// Writes config.json and model.safetensors (or shards + index) and `extraFiles`, then renames
    /// a temporary directory holding them into place (replacing an existing one with `force`).
    ///
    /// Where the file system allows, every file is written unnamed (AtomicFile, in OUT's parent)
    /// and the temporary directory exists only for the last step: created, the files linked into
    /// it, renamed into place. Elsewhere the files are written into the temporary directory.
    /// Either way its name is on the pending list before it exists, as is each file's.
    static func writeDirectory(
        _ target: String, plan: ConvertPlan, entries: [TensorEntry], shardSize: Int, force: Bool,
        extraFiles: [(name: String, bytes: [UInt8])] = []
    ) throws -> [String] {
        let parent = (target as NSString).deletingLastPathComponent
        let base = (target as NSString).lastPathComponent
        let dirOfParent = parent.isEmpty ? "." : parent
        let tmp = dirOfParent + "/.\(base).wk-tmp-\(getpid())-\(Int.random(in: 0..<1_000_000))"
        let probe = AtomicFile.canLinkUnnamed ? open(dirOfParent, O_RDWR | 0o20_200_000 /* O_TMPFILE */ | O_CLOEXEC, 0o600) : -1
        let staged = probe >= 0
        if staged { close(probe) }

        var dirSlot: Int?
        var made = false
        var fileSlots = [Int]()
        var names = [String]()
        var unlinked = [(name: String, file: AtomicFile)]()
        func makeDirectory() throws {
            let failed = PendingFiles.critical { () -> Int32? in
                dirSlot = PendingFiles.addDirectory(tmp)
                guard mkdir(tmp, 0o755) == 0 else { return errno }
                made = true
                return nil
            }
            if let failed {
                errno = failed
                throw WeightKitError("\(target): cannot create a temporary directory in '\(dirOfParent)': \(errnoText())")
            }
        }
        func will(_ name: String) {
            if let s = PendingFiles.add(tmp + "/" + name) { fileSlots.append(s) }
        }
        func add(_ name: String, _ body: (AtomicFile) throws -> Void) throws {
            let f = try AtomicFile(destination: tmp + "/" + name, overwrite: false, unnamedIn: staged ? dirOfParent : nil)
            do {
                try body(f)
                if staged {
                    try f.sync()
                    unlinked.append((name, f))
                } else {
                    will(name)
                    try f.commit()
                }
            } catch {
                f.abort()
                throw error
            }
            names.append(name)
        }
        defer {
            for f in unlinked { f.file.abort() }  // after a failure; committed files ignore it
            PendingFiles.critical {
                for s in fileSlots { PendingFiles.remove(slot: s) }
                if let dirSlot { PendingFiles.removeDirectory(slot: dirSlot) }
            }
        }
        do {
            if !staged { try makeDirectory() }
            if let config = plan.config {
                try add("config.json") { try $0.write(Array((config.serialized(indent: 2) + "\n").utf8)) }
            }
            let shards = partition(entries, limit: shardSize)
            if shards.count == 1 {
                try add("model.safetensors") { try SafetensorsWriter.write(into: $0, metadata: plan.stringMetadata, tensors: shards[0]) }
            } else {
                var weightMap = [(String, JSONValue)]()
                let n = shards.count
                for (i, shard) in shards.enumerated() {
                    let name = String(format: "model-%05d-of-%05d.safetensors", i + 1, n)
                    try add(name) { try SafetensorsWriter.write(into: $0, metadata: plan.stringMetadata, tensors: shard) }
                    for e in shard { weightMap.append((e.name, .string(name))) }
                }
                weightMap.sort { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
                let total = entries.reduce(0) { $0 + $1.byteCount }
                let index = JSONValue.object([
                    ("metadata", .object([("total_size", .int(total))])), ("weight_map", .object(weightMap)),
                ])
                try add("model.safetensors.index.json") { try $0.write(Array((index.serialized(indent: 2) + "\n").utf8)) }
            }
            for (name, bytes) in extraFiles {
                try add(name) { try $0.write(bytes) }
            }
            if staged {
                // The only named moment: the directory created, the files linked in, renamed.
                try makeDirectory()
                for f in unlinked {
                    will(f.name)
                    try f.file.commit()
                }
            }
            if !staged { fsyncPath(tmp) }
            try swapIntoPlace(tmp, target: target, force: force)
            // Staged: synced under its final name, so the named moment above stays metadata only.
            if staged { fsyncPath(target) }
        } catch {
            if made { try? FileManager.default.removeItem(atPath: tmp) }
            throw error
        }
        return names.map { target + "/" + $0 }
    }

    /// Greedy shards in order, as huggingface_hub splits: a tensor that would overflow the current
    /// shard starts a new one; a tensor larger than the limit gets a shard of its own.
    static func partition(_ entries: [TensorEntry], limit: Int) -> [[TensorEntry]] {
        var shards: [[TensorEntry]] = [[]]
        var size = 0
        for e in entries {
            if !shards[shards.count - 1].isEmpty && size + e.byteCount > limit {
                shards.append([])
                size = 0
            }
            shards[shards.count - 1].append(e)
            size += e.byteCount
        }
        return shards
    }

    /// Renames `tmp` onto `target` in a critical section, so an interrupt cannot fall between moving
    /// an old directory aside and moving the new one in (it takes effect once the swap is done).
    static func swapIntoPlace(_ tmp: String, target: String, force: Bool) throws {
        try PendingFiles.critical { try swap(tmp, target: target, force: force) }
        let parent = (target as NSString).deletingLastPathComponent
        fsyncPath(parent.isEmpty ? "." : parent)
    }

    private static func swap(_ tmp: String, target: String, force: Bool) throws {
        var st = stat()
        if lstat(target, &st) == 0 {
            guard force else { throw WeightKitError("\(target): already exists (use --force to overwrite)") }
            let aside = tmp + "-old"
            guard rename(target, aside) == 0 else { throw WeightKitError("\(target): cannot move the existing directory aside: \(errnoText())") }
            guard rename(tmp, target) == 0 else {
                let e = errnoText()
                _ = rename(aside, target)
                throw WeightKitError("\(target): cannot rename the new directory into place: \(e)")
            }
            try? FileManager.default.removeItem(atPath: aside)
        } else {
            guard rename(tmp, target) == 0 else { throw WeightKitError("\(target): cannot rename the new directory into place: \(errnoText())") }
        }
    }

    static func fsyncPath(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        if fd >= 0 {
            fsync(fd)
            close(fd)
        }
    }

    /// Writes a small text file atomically.
    static func writeText(_ text: String, to path: String, overwrite: Bool) throws {
        try writeBytes(Array(text.utf8), to: path, overwrite: overwrite)
    }

    static func writeBytes(_ bytes: [UInt8], to path: String, overwrite: Bool) throws {
        let f = try AtomicFile(destination: path, overwrite: overwrite)
        do {
            try f.write(bytes)
            try f.commit()
        } catch {
            f.abort()
            throw error
        }
    }

    /// Hex SHA-256 of a file, read through a memory map.
    public static func sha256(_ path: String) throws -> String {
        let region = try ByteRegion.map(path: path)
        var h = SHA256()
        region.withUnsafeBytes { all in
            var off = 0
            while off < all.count {
                let n = min(1 << 24, all.count - off)
                h.update(UnsafeRawBufferPointer(rebasing: all[off..<(off + n)]))
                off += n
            }
        }
        return h.hexDigest()
    }
}

/// Counts tensors and bytes as they are produced and reports to the caller.
final class ProgressTracker: @unchecked Sendable {
    private let lock = NSLock()
    private var done = 0
    private var bytes = 0
    let total: Int
    let totalBytes: Int
    let start: Date
    let report: (@Sendable (ConvertProgress) -> Void)?

    init(total: Int, bytes: Int, start: Date, report: (@Sendable (ConvertProgress) -> Void)?) {
        self.total = total
        self.totalBytes = bytes
        self.start = start
        self.report = report
    }

    func advance(_ n: Int) {
        guard let report else { return }
        lock.lock()
        done += 1
        bytes += n
        let p = ConvertProgress(tensorsDone: done, tensorsTotal: total, bytesDone: bytes, bytesTotal: totalBytes, seconds: Date().timeIntervalSince(start))
        lock.unlock()
        report(p)
    }
}
