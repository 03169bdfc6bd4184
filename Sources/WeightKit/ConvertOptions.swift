// What a conversion is asked to do: output kind, dtype, naming, shard size, metadata settings;
// and the small parsers the command line shares (sizes like "2GB", typed `key=value`).

import Foundation
import TensorCore

/// The container convert writes, chosen from OUT's spelling.
public enum ConvertOutputFormat: String, Sendable {
    case safetensors, gguf, hdf5
    /// A Hugging Face model directory: config.json + model.safetensors, or shards + index.
    case directory = "hf-directory"

    /// `.safetensors`, `.gguf`, `.h5`/`.hdf5` files; a trailing slash, an existing directory or
    /// a name without an extension is a model directory.
    public static func of(_ path: String) throws -> ConvertOutputFormat {
        if path.hasSuffix("/") { return .directory }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { return .directory }
        let base = (path as NSString).lastPathComponent
        let ext = (base as NSString).pathExtension.lowercased()
        switch ext {
        case "safetensors": return .safetensors
        case "gguf": return .gguf
        case "h5", "hdf5": return .hdf5
        case "": return .directory
        default:
            throw WeightKitError("\(path): cannot tell the output format from '.\(ext)' (use .safetensors, .gguf, .h5/.hdf5, or a directory)")
        }
    }
}

/// Which names the output uses.
public enum ConvertNaming: String, Sendable, CaseIterable {
    /// Hugging Face transformers' names (GPT-2/GPT-1 `transformer.`, LLaMA `model.`, Conv1D [in, out], Q/K half-split).
    case hf
    /// llama.cpp's names and conventions (Conv1D transposed to [out, in], Q/K interleaved).
    case gguf
    /// The input's names, bytes and layout as they are; works for any checkpoint.
    case keep
}

/// Settings of one conversion.
public struct ConvertOptions: Sendable {
    /// Target dtype (nil keeps each tensor's dtype; quantized inputs become f32 outside GGUF).
    public var dtype: DType?
    /// Nil: gguf for .gguf outputs, hf otherwise, keep when the input is not a recognised model.
    public var naming: ConvertNaming?
    /// Largest shard of a model directory, in bytes of tensor data.
    public var shardSize: Int
    /// `key=value` metadata settings, applied last.
    public var settings: [String]
    /// Replace an existing output.
    public var force: Bool
    /// Carry the tokenizer along (GGUF keys, or Hugging Face tokenizer files).
    public var tokenizer = true
    /// A llama-quantize mixture (`q4_k_m`, …): per-tensor types by llama.cpp's rules, into GGUF only.
    public var mixture: QuantMixture?
    /// `--tensor-type PATTERN=TYPE` overrides for a mixture, first match wins.
    public var tensorTypes: [(pattern: String, type: DType)] = []
    /// An importance matrix (llama.cpp's imatrix GGUF or .dat) for a K-quant mixture.
    public var imatrix: String?
    /// Force llama.cpp's `tokenizer.ggml.pre` name for a BPE tokenizer whose pre-tokenizer WeightKit
    /// does not recognise.
    public var pre: String?

    public init(dtype: DType? = nil, naming: ConvertNaming? = nil, shardSize: Int = 5_000_000_000, settings: [String] = [], force: Bool = false) {
        self.dtype = dtype
        self.naming = naming
        self.shardSize = shardSize
        self.settings = settings
        self.force = force
    }

    /// The dtypes `--dtype` accepts (each tensor converted as llama.cpp's converter does).
    public static let dtypes: [DType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1]
    /// The llama-quantize mixtures `--dtype` also accepts (per-tensor types by llama-quantize's rules).
    public static let mixtures: [QuantMixture] = [.q2_k, .q3_k_s, .q3_k_m, .q3_k_l, .q4_k_s, .q4_k_m, .q5_k_s, .q5_k_m, .q6_k]

    /// Parses a size: bytes, or a number with B, KB, MB, GB, TB (powers of 1000, as
    /// transformers' `max_shard_size`) or KiB, MiB, GiB, TiB (powers of 1024).
    public static func parseSize(_ text: String) throws -> Int {
        let s = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [
            ("KIB", 1024), ("MIB", 1_048_576), ("GIB", 1_073_741_824), ("TIB", 1_099_511_627_776),
            ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1),
        ]
        let upper = s.uppercased()
        for (u, m) in units where upper.hasSuffix(u) {
            let num = String(s.dropLast(u.count)).trimmingCharacters(in: .whitespaces)
            if let v = Double(num), v > 0, v * m < 9e18 { return Int(v * m) }
            break
        }
        if let v = Int(s), v > 0 { return v }
        throw WeightKitError("size '\(text)' is not a positive size such as 500MB, 2GB or 1GiB")
    }

    /// Splits `key=value`; `key:type=value` names the type (u8 i8 u16 i16 u32 i32 u64 i64 f32
    /// f64 bool str). Untyped values: true/false → bool; integers → u32 when they fit, else i32,
    /// u64 or i64; other numbers → f32; anything else → string.
    public static func parseSetting(_ text: String) throws -> (key: String, value: MetadataValue, raw: String) {
        guard let eq = text.firstIndex(of: "=") else { throw WeightKitError("--set '\(text)': expected key=value") }
        var key = String(text[..<eq])
        let raw = String(text[text.index(after: eq)...])
        var type: String?
        if let colon = key.lastIndex(of: ":") {
            type = String(key[key.index(after: colon)...])
            key = String(key[..<colon])
        }
        guard !key.isEmpty else { throw WeightKitError("--set '\(text)': empty key") }
        func bad() -> WeightKitError { WeightKitError("--set '\(text)': '\(raw)' is not a \(type ?? "value")") }
        switch type {
        case nil:
            if raw == "true" || raw == "false" { return (key, .bool(raw == "true"), raw) }
            if let i = Int64(raw) {
                if let u = UInt32(exactly: i) { return (key, .uint32(u), raw) }
                if let s = Int32(exactly: i) { return (key, .int32(s), raw) }
                return (key, .int64(i), raw)
            }
            if let u = UInt64(raw) { return (key, .uint64(u), raw) }
            if let d = Double(raw), raw.rangeOfCharacter(from: .decimalDigits) != nil { return (key, .float32(Float(d)), raw) }
            return (key, .string(raw), raw)
        case "u8": guard let v = UInt8(raw) else { throw bad() }; return (key, .uint8(v), raw)
        case "i8": guard let v = Int8(raw) else { throw bad() }; return (key, .int8(v), raw)
        case "u16": guard let v = UInt16(raw) else { throw bad() }; return (key, .uint16(v), raw)
        case "i16": guard let v = Int16(raw) else { throw bad() }; return (key, .int16(v), raw)
        case "u32": guard let v = UInt32(raw) else { throw bad() }; return (key, .uint32(v), raw)
        case "i32": guard let v = Int32(raw) else { throw bad() }; return (key, .int32(v), raw)
        case "u64": guard let v = UInt64(raw) else { throw bad() }; return (key, .uint64(v), raw)
        case "i64": guard let v = Int64(raw) else { throw bad() }; return (key, .int64(v), raw)
        case "f32": guard let v = Float(raw) else { throw bad() }; return (key, .float32(v), raw)
        case "f64": guard let v = Double(raw) else { throw bad() }; return (key, .float64(v), raw)
        case "bool": guard raw == "true" || raw == "false" else { throw bad() }; return (key, .bool(raw == "true"), raw)
        case "str": return (key, .string(raw), raw)
        default:
            throw WeightKitError("--set '\(text)': unknown type '\(type!)' (u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool str)")
        }
    }
}

/// Where a conversion stands, reported after each tensor is produced.
public struct ConvertProgress: Sendable {
    public let tensorsDone: Int
    public let tensorsTotal: Int
    public let bytesDone: Int
    public let bytesTotal: Int
    public let seconds: Double
}

/// One file a conversion wrote.
public struct ConvertedFile: Sendable {
    public let path: String
    public let bytes: Int
    /// Hex SHA-256 of the file (empty when not asked for).
    public let sha256: String
}

/// What a conversion did.
public struct ConvertSummary: Sendable {
    public let input: String
    public let output: String
    public let format: ConvertOutputFormat
    public let naming: ConvertNaming
    /// The requested dtype, or "keep".
    public let dtype: String
    public let tensors: Int
    /// Bytes of all files written.
    public let bytes: Int
    public let seconds: Double
    public let files: [ConvertedFile]
    /// Things the user should know (a config.json left as it was, …).
    public let notes: [String]

    /// `{"input","output","format","naming","dtype","tensors","bytes","seconds","files":[{"path","bytes","sha256"}],"notes":[…]}`.
    public var json: JSONValue {
        .object([
            ("input", .string(input)), ("output", .string(output)), ("format", .string(format.rawValue)),
            ("naming", .string(naming.rawValue)), ("dtype", .string(dtype)), ("tensors", .int(tensors)), ("bytes", .int(bytes)),
            ("seconds", .double((seconds * 1000).rounded() / 1000)),
            ("files", .array(files.map { .object([("path", .string($0.path)), ("bytes", .int($0.bytes)), ("sha256", .string($0.sha256))]) })),
            ("notes", .array(notes.map { .string($0) })),
        ])
    }
}
