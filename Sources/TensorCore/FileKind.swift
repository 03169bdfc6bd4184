// Recognises what a file is from its first bytes, so a reader handed the wrong file can say
// what it got ("a Git LFS pointer", "a GGUF file") instead of a misleading parse error.

/// The kinds of file WeightKit recognises by their first bytes.
public enum FileKind: String, Sendable, Equatable {
    case safetensors, gguf, hdf5, zstd
    case gitLFSPointer, zip, pickle, gzip, json, html, empty, unknown

    /// A phrase naming the kind for error messages.
    public var phrase: String {
        switch self {
        case .safetensors: return "a safetensors file"
        case .gguf: return "a GGUF file"
        case .hdf5: return "an HDF5 file"
        case .zstd: return "a zstd-compressed file"
        case .gitLFSPointer: return "a Git LFS pointer file, not the weights (run `git lfs pull` to fetch them)"
        case .zip: return "a zip archive (a PyTorch .bin/.pt checkpoint?)"
        case .pickle: return "a Python pickle (a legacy PyTorch checkpoint?)"
        case .gzip: return "a gzip-compressed file, which WeightKit does not read"
        case .json: return "a JSON text file, not a weight file"
        case .html: return "an HTML page (a failed download?), not a weight file"
        case .empty: return "an empty file"
        case .unknown: return "not a recognised weight file"
        }
    }

    /// Classifies a file from its first bytes (16 or more are enough).
    public static func sniff(_ head: UnsafeRawBufferPointer) -> FileKind {
        let b = Array(head.prefix(64))
        if b.isEmpty { return .empty }
        func starts(_ s: [UInt8]) -> Bool { b.count >= s.count && Array(b.prefix(s.count)) == s }
        func startsText(_ s: String) -> Bool { starts(Array(s.utf8)) }
        if startsText("GGUF") || starts([0x46, 0x55, 0x47, 0x47]) { return .gguf }
        if starts([0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) { return .hdf5 }
        if starts([0x28, 0xB5, 0x2F, 0xFD]) { return .zstd }
        if startsText("version https://git-lfs") { return .gitLFSPointer }
        if starts([0x50, 0x4B, 0x03, 0x04]) { return .zip }
        if starts([0x1F, 0x8B]) { return .gzip }
        // safetensors before pickle: a header length whose low bytes are 0x80 0x02…0x05 looks like
        // a pickle protocol marker.
        if b.count >= 9 {
            var n: UInt64 = 0
            for i in 0..<8 { n |= UInt64(b[i]) << (8 * UInt64(i)) }
            var j = 8
            while j < b.count, b[j] == 0x20 || b[j] == 0x0A || b[j] == 0x09 || b[j] == 0x0D { j += 1 }
            if n > 0, n < 1 << 40, j < b.count, b[j] == UInt8(ascii: "{") { return .safetensors }
        }
        if b.count >= 2, b[0] == 0x80, (2...5).contains(b[1]) { return .pickle }
        var k = 0
        while k < b.count, b[k] == 0x20 || b[k] == 0x0A || b[k] == 0x09 || b[k] == 0x0D || b[k] == 0xEF || b[k] == 0xBB || b[k] == 0xBF { k += 1 }
        if k < b.count {
            if b[k] == UInt8(ascii: "{") || b[k] == UInt8(ascii: "[") { return .json }
            if b[k] == UInt8(ascii: "<") {
                let rest = String(decoding: b[k...], as: UTF8.self).lowercased()
                if rest.hasPrefix("<!doctype html") || rest.hasPrefix("<html") { return .html }
            }
        }
        return .unknown
    }
}
