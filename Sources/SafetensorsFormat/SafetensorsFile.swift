// The safetensors reader: maps the file, parses and validates only the header, and hands out
// tensors as slices of the map (zero-copy; TensorCore copies when a view needs alignment).

import TensorCore

/// An opened safetensors file. Opening reads only the header; tensor bytes stay in the map
/// until a caller touches them.
public struct SafetensorsFile: Sendable {
    /// The reference reader's header cap: 100,000,000 bytes (exactly that is allowed).
    public static let defaultMaxHeaderBytes = 100_000_000

    public let path: String
    /// `__metadata__`, in file order, every value a string.
    public let metadata: Metadata
    /// Tensors in header order.
    public let tensors: [Tensor]
    /// N, the header length.
    public let headerLength: Int

    /// Maps and validates `path`.
    public static func open(path: String, maxHeaderBytes: Int = defaultMaxHeaderBytes) throws -> SafetensorsFile {
        let region: ByteRegion
        do { region = try ByteRegion.map(path: path) } catch {
            throw SafetensorsError(.io, path, "\(error)".removingPrefix("\(path): "))
        }
        return try SafetensorsFile(region: region, path: path, maxHeaderBytes: maxHeaderBytes)
    }

    /// Validates a whole file held in `region`.
    public init(region: ByteRegion, path: String, maxHeaderBytes: Int = defaultMaxHeaderBytes) throws {
        self.path = path
        let size = region.count
        func fail(_ kind: SafetensorsError.Kind, _ message: String) -> SafetensorsError {
            SafetensorsError(kind, path, message)
        }
        let kind = region.withUnsafeBytes { FileKind.sniff(UnsafeRawBufferPointer(rebasing: $0.prefix(64))) }
        if ![.safetensors, .unknown, .json, .empty].contains(kind) {
            throw fail(.notSafetensors, "is \(kind.phrase), not a safetensors file")
        }
        // Rule 1: at least the 8-byte length.
        guard size >= 8 else {
            throw fail(.headerTooSmall, "file is \(size) bytes, too short for the 8-byte header length")
        }
        let n64 = region.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self)) }
        // Rule 2: N within the cap.
        guard let n = Checked.int(n64), n <= maxHeaderBytes else {
            throw fail(.headerTooLarge, "header length \(n64) (bytes 0-7) exceeds the limit of \(maxHeaderBytes) bytes; is this a safetensors file?")
        }
        // Rule 3: header inside the file.
        guard let headerEnd = Checked.add(n, 8), headerEnd <= size else {
            throw fail(.invalidHeaderLength, "header length \(n) (bytes 0-7) runs past the end of the file (\(size) bytes)")
        }
        self.headerLength = n
        // Rules 4 and 5: UTF-8 JSON of the right shape.
        let header: JSONValue = try region.withUnsafeBytes(offset: 8, count: n) { raw in
            guard String(validating: raw.bindMemory(to: UInt8.self), as: UTF8.self) != nil else {
                throw fail(.invalidHeader, "header (bytes 8-\(headerEnd - 1)) is not valid UTF-8")
            }
            do { return try JSONParser.parse(raw, rejectDuplicateKeys: true) } catch let error as JSONError {
                if error.message.hasPrefix("duplicate key") {
                    throw fail(.duplicateName, "header has a \(error.message) at byte \(8 + error.offset); each tensor name must appear once")
                }
                throw fail(.invalidHeaderDeserialization, "header is not valid JSON: \(error.message) at byte \(8 + error.offset)")
            } catch { throw error }
        }
        guard let members = header.object else {
            throw fail(.invalidHeaderDeserialization, "header is not a JSON object")
        }

        struct Entry {
            let name: String
            let dtype: DType
            let shape: [Int]
            let begin: Int
            let end: Int
        }
        var metadata = Metadata()
        var entries = [Entry]()
        entries.reserveCapacity(members.count)
        for (name, value) in members {
            if name == "__metadata__" {
                guard let m = value.object else {
                    throw fail(.invalidHeaderDeserialization, "__metadata__ is not an object of strings")
                }
                for (k, v) in m {
                    guard let s = v.string else {
                        throw fail(.invalidHeaderDeserialization, "__metadata__ value for '\(k)' is \(v.serialized().prefix(40)), not a string")
                    }
                    metadata[k] = .string(s)
                }
                continue
            }
            guard let fields = value.object else {
                throw fail(.invalidHeaderDeserialization, "tensor '\(name)': entry is not an object")
            }
            for (k, _) in fields where !["dtype", "shape", "data_offsets"].contains(k) {
                throw fail(.invalidHeaderDeserialization, "tensor '\(name)': unknown field '\(k)'")
            }
            guard let dtypeName = value["dtype"]?.string else {
                throw fail(.invalidHeaderDeserialization, "tensor '\(name)': missing or non-string \"dtype\"")
            }
            guard let dtype = DType(safetensorsName: dtypeName) else {
                if knownUnsupportedSafetensorsDTypes.contains(dtypeName) {
                    throw fail(.unsupportedDType, "tensor '\(name)': dtype \(dtypeName) is valid safetensors but WeightKit does not read it")
                }
                throw fail(.invalidHeaderDeserialization, "tensor '\(name)': unknown dtype \"\(dtypeName)\"")
            }
            guard let shapeJSON = value["shape"]?.array else {
                throw fail(.invalidHeaderDeserialization, "tensor '\(name)': missing or non-array \"shape\"")
            }
            var shape = [Int]()
            for d in shapeJSON {
                guard let v = d.int, v >= 0 else {
                    throw fail(.invalidHeaderDeserialization, "tensor '\(name)': shape entry \(d.serialized()) is not a non-negative integer")
                }
                shape.append(v)
            }
            guard let offs = value["data_offsets"]?.array, offs.count == 2, let begin = offs[0].int, let end = offs[1].int,
                begin >= 0, end >= 0
            else {
                throw fail(.invalidHeaderDeserialization, "tensor '\(name)': \"data_offsets\" must be two non-negative integers")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }

        // Rules 7 and 9: sizes agree with shapes, computed with checked products.
        for e in entries {
            guard let count = Checked.product(e.shape), let bytes = e.dtype.byteCount(elements: count) else {
                throw fail(.validationOverflow, "tensor '\(e.name)': shape \(e.shape) of \(e.dtype.rawValue) overflows when multiplied out")
            }
            guard e.end >= e.begin, e.end - e.begin == bytes else {
                throw fail(.tensorInvalidInfo, "tensor '\(e.name)': data_offsets [\(e.begin), \(e.end)] hold \(e.end - e.begin) bytes but shape \(e.shape) of \(e.dtype.safetensorsName ?? "") needs \(bytes)")
            }
        }
        // Rule 6: the tensors tile the buffer exactly.
        let sorted = entries.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
        var expected = 0
        for e in sorted {
            if e.begin != expected {
                let what = e.begin > expected ? "leaves a gap after byte \(expected)" : "overlaps the previous tensor, which ends at \(expected)"
                throw fail(.invalidOffset, "tensor '\(e.name)': data_offsets [\(e.begin), \(e.end)] \(what) in the data buffer")
            }
            expected = e.end
        }
        // Rule 10: the buffer ends exactly at the end of the file.
        let dataSize = size - headerEnd
        if expected != dataSize {
            if expected > dataSize {
                let last = sorted.last.map { "'\($0.name)' " } ?? ""
                throw fail(.metadataIncompleteBuffer, "tensor \(last)ends at data byte \(expected) (file byte \(headerEnd + expected)), past the end of the file (\(size) bytes); the file is truncated")
            }
            throw fail(.metadataIncompleteBuffer, "\(dataSize - expected) trailing bytes after the last tensor (data ends at file byte \(headerEnd + expected), file is \(size) bytes)")
        }

        var tensors = [Tensor]()
        tensors.reserveCapacity(entries.count)
        for e in entries {
            guard let data = TensorData(region: region, offset: headerEnd + e.begin, count: e.end - e.begin) else {
                throw fail(.invalidOffset, "tensor '\(e.name)': bytes [\(headerEnd + e.begin), \(headerEnd + e.end)) lie outside the file")
            }
            tensors.append(try Tensor(name: e.name, dtype: e.dtype, shape: e.shape, data: data))
        }
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The tensor named `name`.
    public subscript(name: String) -> Tensor? { tensors.first { $0.name == name } }
}
