// The safetensors writer: the header first, computed from the tensors' facts, then each
// tensor's bytes in turn, into a temporary file renamed into place.

import TensorCore

/// Writes safetensors files as the reference writer does: tensors sorted by dtype alignment
/// (largest first) then by name (bytewise), offsets contiguous, `__metadata__` first when
/// present, the header padded with spaces to a multiple of 8 so the data starts 8-aligned.
public enum SafetensorsWriter {
    /// The header bytes (without the 8-byte length) and the tensors in file order.
    public static func header(metadata: [(String, String)], tensors: [TensorEntry], path: String = "<memory>") throws
        -> (header: [UInt8], order: [TensorEntry])
    {
        var seen = Set<String>()
        for t in tensors {
            if t.name == "__metadata__" {
                throw SafetensorsError(.invalidName, path, "'__metadata__' is reserved and cannot name a tensor")
            }
            guard seen.insert(t.name).inserted else {
                throw SafetensorsError(.duplicateName, path, "tensor '\(t.name)' appears twice")
            }
            guard t.dtype.safetensorsName != nil else {
                throw SafetensorsError(.unsupportedDType, path, "tensor '\(t.name)': safetensors cannot hold \(t.dtype.rawValue) (a ggml block type); dequantize or cast it first")
            }
        }
        let order = tensors.sorted { a, b in
            if a.dtype.safetensorsRank != b.dtype.safetensorsRank { return a.dtype.safetensorsRank > b.dtype.safetensorsRank }
            return Array(a.name.utf8).lexicographicallyPrecedes(Array(b.name.utf8))
        }
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += "\"__metadata__\":{" + metadata.map { JSONValue.quote($0.0) + ":" + JSONValue.quote($0.1) }.joined(separator: ",") + "}"
            first = false
        }
        var offset = 0
        for t in order {
            let end = offset + t.byteCount
            json += (first ? "" : ",") + JSONValue.quote(t.name) + ":{\"dtype\":\"\(t.dtype.safetensorsName!)\",\"shape\":["
                + t.shape.map(String.init).joined(separator: ",") + "],\"data_offsets\":[\(offset),\(end)]}"
            first = false
            offset = end
        }
        json += "}"
        var bytes = Array(json.utf8)
        bytes += [UInt8](repeating: 0x20, count: (8 - bytes.count % 8) % 8)
        guard bytes.count <= SafetensorsFile.defaultMaxHeaderBytes else {
            throw SafetensorsError(.headerTooLarge, path, "header would be \(bytes.count) bytes, over the \(SafetensorsFile.defaultMaxHeaderBytes)-byte limit readers enforce")
        }
        return (bytes, order)
    }

    /// Writes `tensors` to `path` atomically. Each tensor's bytes are produced and written in
    /// turn, so memory holds one tensor at a time.
    public static func write(
        to path: String, metadata: [(String, String)] = [], tensors: [TensorEntry], overwrite: Bool = true,
        progress: ((TensorEntry) -> Void)? = nil
    ) throws {
        let (header, order) = try self.header(metadata: metadata, tensors: tensors, path: path)
        let file: AtomicFile
        do { file = try AtomicFile(destination: path, overwrite: overwrite) } catch {
            throw SafetensorsError(.io, path, "\(error)".removingPrefix("\(path): "))
        }
        do {
            try write(header: header, order: order, into: file, progress: progress)
            try file.commit()
        } catch {
            file.abort()
            throw error
        }
    }

    /// Writes `tensors` into `file` without committing it (the caller commits or aborts).
    public static func write(into file: AtomicFile, metadata: [(String, String)] = [], tensors: [TensorEntry]) throws {
        let (header, order) = try self.header(metadata: metadata, tensors: tensors, path: file.destination)
        try write(header: header, order: order, into: file, progress: nil)
    }

    private static func write(header: [UInt8], order: [TensorEntry], into file: AtomicFile, progress: ((TensorEntry) -> Void)?) throws {
        var n = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &n) { try file.write($0) }
        try file.write(header)
        for t in order {
            let data = try t.bytes()
            try data.withUnsafeBytes { try file.write($0) }
            progress?(t)
        }
    }

    /// Writes tensors already in memory.
    public static func write(to path: String, metadata: [(String, String)] = [], tensors: [Tensor], overwrite: Bool = true) throws {
        try write(to: path, metadata: metadata, tensors: tensors.map { TensorEntry($0) }, overwrite: overwrite)
    }
}
