// A SentencePiece `tokenizer.model`: a protocol-buffer ModelProto (sentencepiece_model.proto), read
// directly. The fields WeightKit reads, by field number:
//
//   ModelProto       1 pieces (repeated SentencePiece) | 2 trainer_spec | 3 normalizer_spec | 5 denormalizer_spec
//   SentencePiece    1 piece (string) | 2 score (float) | 3 type (enum: 1 normal, 2 unknown, 3 control,
//                    4 user-defined, 5 unused, 6 byte)
//   TrainerSpec      3 model_type (1 unigram, 2 bpe, 3 word, 4 char) | 21 split_by_unicode_script |
//                    22 split_by_whitespace | 23 split_by_number | 24 treat_whitespace_as_suffix | 25 split_digits |
//                    26 allow_whitespace_only_pieces | 30 control_symbols | 31 user_defined_symbols |
//                    35 byte_fallback | 40 unk_id | 41 bos_id | 42 eos_id | 43 pad_id | 44 unk_surface |
//                    45 unk_piece | 46 bos_piece | 47 eos_piece | 48 pad_piece
//   NormalizerSpec   1 name | 2 precompiled_charsmap (bytes) | 3 add_dummy_prefix | 4 remove_extra_whitespaces |
//                    5 escape_whitespaces
//
// Every other field of ModelProto, TrainerSpec and NormalizerSpec is kept as its raw bytes and written
// back by `serialized()`; other fields of a SentencePiece are dropped. The wire format is in
// `SentencePieceModel+Protobuf.swift`; the longer description in `Formats/sentencepiece.md`.

import TensorCore

/// A SentencePiece model (`tokenizer.model`): its vocabulary with scores and types, and the trainer and
/// normalizer settings that decide how text is encoded. Reading checks every length and count and the
/// rules sentencepiece itself checks when it loads a model; `SentencePieceTokenizer` encodes with it.
public struct SentencePieceModel: Sendable, Equatable {
    /// `ModelProto.SentencePiece.Type`.
    public enum PieceType: Int, Sendable { case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6 }

    /// One vocabulary entry; its id is its index in `pieces`.
    public struct Piece: Sendable, Equatable {
        /// The piece's text, with U+2581 `▁` standing for a space; byte pieces read `<0x41>`.
        public var piece: String
        /// Merge priority for BPE (higher merges first); log probability for unigram.
        public var score: Float
        public var type: PieceType
        public init(piece: String, score: Float, type: PieceType) {
            self.piece = piece
            self.score = score
            self.type = type
        }

        /// Equal when the pieces have the same UTF-8 bytes (not merely canonically equivalent text), the
        /// same score bits and the same type.
        public static func == (a: Piece, b: Piece) -> Bool {
            a.type == b.type && a.score.bitPattern == b.score.bitPattern && a.piece.utf8.elementsEqual(b.piece.utf8)
        }
    }

    /// `TrainerSpec.ModelType`.
    public enum ModelType: Int, Sendable { case unigram = 1, bpe = 2, word = 3, char = 4 }

    /// A field WeightKit does not interpret, kept as it was on the wire (key and value) so that
    /// `serialized()` writes it back in field-number order.
    public struct RawField: Sendable, Equatable {
        public var number: UInt64
        /// The whole record: key varint, then the value in its wire type.
        public var encoded: [UInt8]
        public init(number: UInt64, encoded: [UInt8]) {
            self.number = number
            self.encoded = encoded
        }
    }

    /// The vocabulary, in id order.
    public var pieces: [Piece]
    /// `trainer_spec.model_type` (default unigram, as in the proto).
    public var modelType: ModelType
    /// `trainer_spec.byte_fallback`: characters outside the vocabulary become `<0xNN>` pieces of their UTF-8 bytes.
    public var byteFallback: Bool
    /// `trainer_spec.split_digits` (training only: the vocabulary then holds no multi-digit pieces).
    public var splitDigits: Bool
    /// `trainer_spec.split_by_whitespace`, `split_by_number`, `split_by_unicode_script` (training only).
    public var splitByWhitespace: Bool, splitByNumber: Bool, splitByUnicodeScript: Bool
    /// `trainer_spec.treat_whitespace_as_suffix`: the dummy `▁` goes after the text instead of before it.
    public var treatWhitespaceAsSuffix: Bool
    /// `trainer_spec.allow_whitespace_only_pieces` (training only).
    public var allowWhitespaceOnlyPieces: Bool
    /// `trainer_spec.user_defined_symbols` and `control_symbols` as listed for training; encoding uses the
    /// pieces whose type is `.userDefined`.
    public var userDefinedSymbols: [String], controlSymbols: [String]
    /// `trainer_spec.unk_id`, `bos_id`, `eos_id`, `pad_id` (defaults 0, 1, 2, −1; −1 means none).
    public var unkId: Int, bosId: Int, eosId: Int, padId: Int
    /// `trainer_spec.unk_piece`, `bos_piece`, `eos_piece`, `pad_piece` (defaults `<unk>`, `<s>`, `</s>`, `<pad>`).
    public var unkPiece: String, bosPiece: String, eosPiece: String, padPiece: String
    /// `trainer_spec.unk_surface`: what decoding prints for the unknown piece (default " ⁇ ").
    public var unkSurface: String
    /// `normalizer_spec.add_dummy_prefix`, `remove_extra_whitespaces`, `escape_whitespaces` (all default true).
    public var addDummyPrefix: Bool, removeExtraWhitespaces: Bool, escapeWhitespaces: Bool
    /// `normalizer_spec.name` (`identity`, `nmt_nfkc`, …) and its compiled rules; empty rules mean identity.
    public var normalizerName: String, precompiledCharsmap: [UInt8]
    /// `denormalizer_spec.precompiled_charsmap` (empty when there is no denormalizer).
    public var denormalizerCharsmap: [UInt8]
    /// Fields not interpreted, per message, in the order read.
    public var otherModelFields: [RawField], otherTrainerFields: [RawField], otherNormalizerFields: [RawField]
    /// `denormalizer_spec` as read, written back as is (nil when absent).
    public var denormalizerSpec: [UInt8]?

    /// The most pieces a model may have (sentencepiece ids are 32-bit; real vocabularies stay far below).
    public static let maxPieces = 1 << 24
    /// sentencepiece refuses pieces of this many bytes or more.
    public static let maxPieceBytes = 8000

    /// A model with the proto's defaults for every setting not given; `serialized()` turns it into a
    /// `tokenizer.model` (e.g. from a GGUF vocabulary). Nothing is checked until `validate(path:)`.
    public init(
        pieces: [Piece], modelType: ModelType = .bpe, byteFallback: Bool = false, addDummyPrefix: Bool = true,
        removeExtraWhitespaces: Bool = true, escapeWhitespaces: Bool = true, normalizerName: String = "identity",
        unkId: Int = 0, bosId: Int = 1, eosId: Int = 2, padId: Int = -1
    ) {
        self.pieces = pieces
        self.modelType = modelType
        self.byteFallback = byteFallback
        splitDigits = false
        splitByWhitespace = true
        splitByNumber = true
        splitByUnicodeScript = true
        treatWhitespaceAsSuffix = false
        allowWhitespaceOnlyPieces = false
        userDefinedSymbols = []
        controlSymbols = []
        self.unkId = unkId
        self.bosId = bosId
        self.eosId = eosId
        self.padId = padId
        unkPiece = "<unk>"
        bosPiece = "<s>"
        eosPiece = "</s>"
        padPiece = "<pad>"
        unkSurface = SentencePieceModel.defaultUnkSurface
        self.addDummyPrefix = addDummyPrefix
        self.removeExtraWhitespaces = removeExtraWhitespaces
        self.escapeWhitespaces = escapeWhitespaces
        self.normalizerName = normalizerName
        precompiledCharsmap = []
        denormalizerCharsmap = []
        otherModelFields = []
        otherTrainerFields = []
        otherNormalizerFields = []
        denormalizerSpec = nil
    }

    /// " ⁇ " (U+2047 between spaces), sentencepiece's default unknown surface.
    public static let defaultUnkSurface = " \u{2047} "

    /// Reads and checks the `tokenizer.model` at `path`.
    public init(contentsOf path: String) throws(TokenizerError) {
        let region: ByteRegion
        do { region = try ByteRegion.map(path: path) } catch {
            let text = "\(error)"
            let prefix = path + ": "
            throw TokenizerError(path, text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text)
        }
        let bytes = region.withUnsafeBytes { Array($0) }
        try self.init(bytes: bytes, path: path)
    }

    /// Parses and checks ModelProto bytes; `path` names the file in errors.
    public init(bytes: [UInt8], path: String) throws(TokenizerError) {
        if bytes.isEmpty { throw TokenizerError(path, "the file is empty, not a SentencePiece model") }
        // The proto's defaults: model_type unigram, no normalizer name.
        self.init(pieces: [], modelType: .unigram, normalizerName: "")
        do { try parseModelProto(bytes, path: path) } catch {
            // A file that is not protobuf at all is named by what it is.
            if let kind = Self.foreignKind(bytes) { throw TokenizerError(path, "this is \(kind), not a SentencePiece model") }
            throw error
        }
        try validate(path: path)
    }

    /// What a file that failed to parse is, when its first bytes say so.
    private static func foreignKind(_ bytes: [UInt8]) -> String? {
        let kind = bytes.withUnsafeBytes { FileKind.sniff($0) }
        switch kind {
        case .gitLFSPointer: return "a Git LFS pointer, not the file itself (run `git lfs pull` to fetch it)"
        case .zip: return "a zip archive"
        case .gzip: return "a gzip-compressed file"
        case .zstd: return "a zstd-compressed file"
        case .gguf: return "a GGUF file (its vocabulary is in the tokenizer.ggml.* keys)"
        case .hdf5: return "an HDF5 file"
        case .safetensors: return "a safetensors file"
        case .pickle: return "a Python pickle"
        case .json: return "a JSON text file (a tokenizer.json?)"
        case .html: return "an HTML page (a failed download?)"
        case .empty, .unknown: return nil
        }
    }

    /// The checks sentencepiece makes when it loads a model, and WeightKit's own: at least one and at
    /// most 2^24 pieces; pieces non-empty, shorter than 8000 bytes, without NUL, all different; exactly one
    /// unknown piece; byte pieces spelled `<0xNN>` and only with byte_fallback, which needs all 256;
    /// unk/bos/eos/pad ids inside the vocabulary.
    public func validate(path: String) throws(TokenizerError) {
        if pieces.isEmpty { throw TokenizerError(path, "the model has no pieces (ModelProto.pieces is empty)") }
        if pieces.count > Self.maxPieces {
            throw TokenizerError(path, "the model has \(pieces.count) pieces, more than the \(Self.maxPieces) WeightKit accepts")
        }
        // Keyed by bytes: Swift compares strings by canonical equivalence, so 'ί' (U+03AF) and 'ί'
        // (U+1F77) would be one key, but they are two pieces.
        var firstIndex: [[UInt8]: Int] = [:]
        firstIndex.reserveCapacity(pieces.count)
        var unknown: Int? = nil
        var bytesSeen = [Bool](repeating: false, count: 256)
        for (i, p) in pieces.enumerated() {
            let n = p.piece.utf8.count
            if n == 0 { throw TokenizerError(path, "piece \(i) is empty") }
            if n >= Self.maxPieceBytes {
                throw TokenizerError(path, "piece \(i) is \(n) bytes long; sentencepiece refuses pieces of \(Self.maxPieceBytes) bytes or more")
            }
            if p.piece.utf8.contains(0) { throw TokenizerError(path, "piece \(i) contains a NUL character") }
            if let j = firstIndex.updateValue(i, forKey: Array(p.piece.utf8)) {
                throw TokenizerError(path, "pieces \(j) and \(i) are both \(Self.quote(p.piece)): duplicate pieces")
            }
            switch p.type {
            case .unknown:
                if let u = unknown { throw TokenizerError(path, "pieces \(u) and \(i) are both of type UNKNOWN; there must be exactly one") }
                unknown = i
            case .byte:
                guard let b = Self.byteValue(p.piece) else {
                    throw TokenizerError(path, "piece \(i) has type BYTE but reads \(Self.quote(p.piece)), not <0xNN>")
                }
                if !byteFallback {
                    throw TokenizerError(path, "piece \(i) \(Self.quote(p.piece)) has type BYTE although trainer_spec.byte_fallback is false")
                }
                bytesSeen[Int(b)] = true
            case .normal, .control, .userDefined, .unused: break
            }
        }
        if unknown == nil { throw TokenizerError(path, "no piece has type UNKNOWN (sentencepiece needs exactly one)") }
        if byteFallback, let missing = bytesSeen.firstIndex(of: false) {
            throw TokenizerError(path, "trainer_spec.byte_fallback is true but there is no byte piece for 0x\(Self.hex2(UInt8(missing))) (all 256 are needed)")
        }
        let count = pieces.count
        if unkId < 0 || unkId >= count { throw TokenizerError(path, "trainer_spec.unk_id \(unkId) is outside the vocabulary of \(count) pieces") }
        for (name, id) in [("bos_id", bosId), ("eos_id", eosId), ("pad_id", padId)] where id < -1 || id >= count {
            throw TokenizerError(path, "trainer_spec.\(name) \(id) is outside the vocabulary of \(count) pieces (−1 means none)")
        }
    }

    /// The byte a `<0xNN>` piece stands for (two uppercase hex digits, as sentencepiece writes them).
    static func byteValue(_ piece: String) -> UInt8? {
        let u = Array(piece.utf8)
        guard u.count == 6, u[0] == UInt8(ascii: "<"), u[1] == UInt8(ascii: "0"), u[2] == UInt8(ascii: "x"),
            u[5] == UInt8(ascii: ">"), let hi = upperHexDigit(u[3]), let lo = upperHexDigit(u[4])
        else { return nil }
        return hi << 4 | lo
    }

    private static func upperHexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// `<0xNN>` for byte `b`.
    static func bytePiece(_ b: UInt8) -> String { "<0x" + hex2(b) + ">" }

    static func hex2(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        return String(decoding: [digits[Int(b >> 4)], digits[Int(b & 15)]], as: UTF8.self)
    }

    /// A piece for an error message: quoted, control characters escaped, long pieces shortened.
    static func quote(_ s: String) -> String {
        var out = "'"
        for (k, u) in s.unicodeScalars.enumerated() {
            if k == 40 { out += "…"; break }
            if u.value < 0x20 || u.value == 0x7F { out += "\\u{\(String(u.value, radix: 16))}" } else { out.unicodeScalars.append(u) }
        }
        return out + "'"
    }
}
