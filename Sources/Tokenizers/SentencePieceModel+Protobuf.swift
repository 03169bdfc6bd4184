// The protocol-buffer wire format, as much of it as a ModelProto needs, read and written by hand.
//
//   record   = key value
//   key      = varint (field_number << 3 | wire_type)
//   varint   = 1 to 10 bytes, 7 bits each, least significant group first; the high bit says "more"
//   wire 0   varint (int32 / bool / enum; a negative int32 is 10 bytes, sign-extended to 64 bits)
//   wire 1   8 bytes little-endian
//   wire 2   varint length, then that many bytes (string, bytes, embedded message)
//   wire 3/4 start / end of a group (obsolete; skipped, nesting bounded)
//   wire 5   4 bytes little-endian (float)
//
// The reader trusts nothing: every length is checked against the bytes left in its message, varints
// longer than 10 bytes or wider than 64 bits are refused, nesting is bounded, and a field WeightKit
// reads must arrive in its own wire type. Unknown fields of ModelProto, TrainerSpec and NormalizerSpec
// are kept verbatim; `serialized()` writes known and kept fields in field-number order, as protobuf does.

extension SentencePieceModel {
    /// Messages and groups nested deeper than this are refused.
    static let maxNesting = 32

    /// A cursor over one message's bytes.
    struct WireReader {
        let bytes: [UInt8]
        var position: Int
        let end: Int
        let depth: Int
        let path: String
        /// Where we are, for messages: e.g. `ModelProto.pieces` and index 3 (−1: not an element).
        let context: StaticString
        let index: Int

        init(_ bytes: [UInt8], range: Range<Int>, depth: Int, path: String, context: StaticString, index: Int = -1) {
            self.bytes = bytes
            position = range.lowerBound
            end = range.upperBound
            self.depth = depth
            self.path = path
            self.context = context
            self.index = index
        }

        var atEnd: Bool { position >= end }

        func fail(_ what: String, at offset: Int) -> TokenizerError {
            TokenizerError(path, "\(context)\(index >= 0 ? "[\(index)]" : ""): \(what) at byte \(offset)")
        }

        /// The next record's field number and wire type.
        mutating func key() throws(TokenizerError) -> (field: UInt64, wire: UInt8, start: Int) {
            let start = position
            let k = try varint("key")
            let field = k >> 3
            let wire = UInt8(k & 7)
            if field == 0 { throw fail("field number 0 (not a protocol buffer, or corrupt)", at: start) }
            if field > 0x1FFF_FFFF { throw fail("field number \(field) is larger than protobuf allows", at: start) }
            if wire > 5 { throw fail("wire type \(wire) of field \(field) does not exist (not a protocol buffer, or corrupt)", at: start) }
            return (field, wire, start)
        }

        mutating func varint(_ what: String) throws(TokenizerError) -> UInt64 {
            let start = position
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard position < end else {
                    throw fail("\(what): varint cut off after \(position - start) bytes (\(end == bytes.count ? "file" : "message") ends)", at: start)
                }
                let b = bytes[position]
                position += 1
                if shift == 63 {
                    // The tenth byte: only its lowest bit fits, and it must be the last.
                    if b & 0x80 != 0 { throw fail("\(what): varint longer than 10 bytes", at: start) }
                    if b > 1 { throw fail("\(what): varint overflows 64 bits", at: start) }
                }
                value |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return value }
                shift += 7
            }
        }

        mutating func fixed32(_ what: String) throws(TokenizerError) -> UInt32 {
            guard end - position >= 4 else { throw fail("\(what): 4-byte value cut off (\(end - position) bytes left)", at: position) }
            var v: UInt32 = 0
            for i in 0..<4 { v |= UInt32(bytes[position + i]) << (8 * UInt32(i)) }
            position += 4
            return v
        }

        mutating func fixed64(_ what: String) throws(TokenizerError) -> UInt64 {
            guard end - position >= 8 else { throw fail("\(what): 8-byte value cut off (\(end - position) bytes left)", at: position) }
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(bytes[position + i]) << (8 * UInt64(i)) }
            position += 8
            return v
        }

        /// A length-delimited value's byte range, checked against the bytes left in this message.
        mutating func lengthDelimited(_ what: String) throws(TokenizerError) -> Range<Int> {
            let start = position
            let n = try varint(what + " length")
            let left = end - position
            guard n <= UInt64(left) else {
                throw fail("\(what): length \(n) runs past the end of its \(end == bytes.count ? "file" : "message") (\(left) bytes left)", at: start)
            }
            let r = position..<(position + Int(n))
            position = r.upperBound
            return r
        }

        mutating func string(_ what: String) throws(TokenizerError) -> String {
            let start = position
            let r = try lengthDelimited(what)
            guard let s = String(validating: bytes[r], as: UTF8.self) else { throw fail("\(what) is not valid UTF-8", at: start) }
            return s
        }

        mutating func bool(_ what: String) throws(TokenizerError) -> Bool { try varint(what) != 0 }

        /// An int32 field: protobuf keeps the low 32 bits of the varint.
        mutating func int32(_ what: String) throws(TokenizerError) -> Int { Int(Int32(truncatingIfNeeded: try varint(what))) }

        /// A reader for an embedded message at `range`, one level deeper.
        func nested(_ range: Range<Int>, context: StaticString, index: Int = -1) throws(TokenizerError) -> WireReader {
            if depth + 1 > SentencePieceModel.maxNesting {
                throw fail("messages nested more than \(SentencePieceModel.maxNesting) deep", at: range.lowerBound)
            }
            return WireReader(bytes, range: range, depth: depth + 1, path: path, context: context, index: index)
        }

        /// Requires that field `field` arrived as wire type `expected`.
        func expect(_ got: (field: UInt64, wire: UInt8, start: Int), _ expected: UInt8, _ name: String) throws(TokenizerError) {
            if got.wire != expected {
                throw fail("field \(got.field) (\(name)) has wire type \(got.wire), expected \(expected)", at: got.start)
            }
        }

        /// Skips the value of a record whose key was just read; groups are skipped to their end, nested
        /// groups counted against the nesting bound.
        mutating func skip(_ key: (field: UInt64, wire: UInt8, start: Int), groupDepth: Int = 0) throws(TokenizerError) {
            switch key.wire {
            case 0: _ = try varint("field \(key.field)")
            case 1: _ = try fixed64("field \(key.field)")
            case 2: _ = try lengthDelimited("field \(key.field)")
            case 5: _ = try fixed32("field \(key.field)")
            case 3:
                if depth + groupDepth + 1 > SentencePieceModel.maxNesting {
                    throw fail("groups nested more than \(SentencePieceModel.maxNesting) deep", at: key.start)
                }
                while true {
                    guard !atEnd else { throw fail("group of field \(key.field) is not closed", at: key.start) }
                    let inner = try self.key()
                    if inner.wire == 4 {
                        if inner.field != key.field {
                            throw fail("group of field \(key.field) closed by an end-group of field \(inner.field)", at: inner.start)
                        }
                        return
                    }
                    try skip(inner, groupDepth: groupDepth + 1)
                }
            default:  // 4: an end-group with no group open
                throw fail("end-group of field \(key.field) without a matching start", at: key.start)
            }
        }

        /// Skips the value of `key` and returns the whole record's bytes.
        mutating func raw(_ key: (field: UInt64, wire: UInt8, start: Int)) throws(TokenizerError) -> RawField {
            try skip(key)
            return RawField(number: key.field, encoded: Array(bytes[key.start..<position]))
        }
    }

    // MARK: Reading

    /// Counts the pieces before reading any, so that a file of millions of tiny records is refused before
    /// it costs memory; the walk checks the top-level records as the full read will.
    static func countPieces(_ bytes: [UInt8], path: String) throws(TokenizerError) -> Int {
        var r = WireReader(bytes, range: 0..<bytes.count, depth: 0, path: path, context: "ModelProto")
        var count = 0
        while !r.atEnd {
            let k = try r.key()
            if k.field == 1 && k.wire == 2 {
                if count == maxPieces {
                    throw r.fail("over \(maxPieces) pieces, the most WeightKit accepts (a piece-count bomb?)", at: k.start)
                }
                count += 1
                _ = try r.lengthDelimited("pieces")
            } else {
                try r.skip(k)
            }
        }
        return count
    }

    mutating func parseModelProto(_ bytes: [UInt8], path: String) throws(TokenizerError) {
        pieces.reserveCapacity(try Self.countPieces(bytes, path: path))
        var r = WireReader(bytes, range: 0..<bytes.count, depth: 0, path: path, context: "ModelProto")
        var sawTrainerSpec = false, sawNormalizerSpec = false
        while !r.atEnd {
            let k = try r.key()
            switch k.field {
            case 1:
                try r.expect(k, 2, "pieces")
                let range = try r.lengthDelimited("pieces")
                var sub = try r.nested(range, context: "ModelProto.pieces", index: pieces.count)
                pieces.append(try Self.parsePiece(&sub))
            case 2:
                try r.expect(k, 2, "trainer_spec")
                let range = try r.lengthDelimited("trainer_spec")
                var sub = try r.nested(range, context: "ModelProto.trainer_spec")
                try parseTrainerSpec(&sub)
                sawTrainerSpec = true
            case 3:
                try r.expect(k, 2, "normalizer_spec")
                let range = try r.lengthDelimited("normalizer_spec")
                var sub = try r.nested(range, context: "ModelProto.normalizer_spec")
                try parseNormalizerSpec(&sub)
                sawNormalizerSpec = true
            case 5:
                try r.expect(k, 2, "denormalizer_spec")
                let range = try r.lengthDelimited("denormalizer_spec")
                var sub = try r.nested(range, context: "ModelProto.denormalizer_spec")
                // Read only for its charsmap; the spec is kept as raw bytes. Occurrences merge as protobuf
                // merges them: the raw bytes concatenate, a later charsmap replaces an earlier one.
                var spec = SentencePieceModel(pieces: [])
                try spec.parseNormalizerSpec(&sub)
                if !spec.precompiledCharsmap.isEmpty { denormalizerCharsmap = spec.precompiledCharsmap }
                denormalizerSpec = (denormalizerSpec ?? []) + Array(bytes[range])
            default:
                otherModelFields.append(try r.raw(k))
            }
        }
        // sentencepiece always writes both, after the pieces: without them the file is most likely cut
        // short at a record boundary, which protobuf cannot otherwise tell.
        if !sawTrainerSpec {
            throw TokenizerError(path, "ModelProto has no trainer_spec (field 2): the file is truncated, or not a SentencePiece model")
        }
        if !sawNormalizerSpec {
            throw TokenizerError(path, "ModelProto has no normalizer_spec (field 3): the file is truncated, or not a SentencePiece model")
        }
    }

    static func parsePiece(_ r: inout WireReader) throws(TokenizerError) -> Piece {
        var p = Piece(piece: "", score: 0, type: .normal)
        while !r.atEnd {
            let k = try r.key()
            switch k.field {
            case 1:
                try r.expect(k, 2, "piece")
                p.piece = try r.string("piece")
            case 2:
                try r.expect(k, 5, "score")
                p.score = Float(bitPattern: try r.fixed32("score"))
            case 3:
                try r.expect(k, 0, "type")
                let v = try r.varint("type")
                guard let t = PieceType(rawValue: Int(truncatingIfNeeded: v)), v <= 6 else {
                    throw r.fail("type \(Int64(bitPattern: v)) is not one of 1 (normal) … 6 (byte)", at: k.start)
                }
                p.type = t
            default:
                try r.skip(k)
            }
        }
        return p
    }

    mutating func parseTrainerSpec(_ r: inout WireReader) throws(TokenizerError) {
        while !r.atEnd {
            let k = try r.key()
            switch k.field {
            case 3:
                try r.expect(k, 0, "model_type")
                let v = try r.varint("model_type")
                guard v <= 4, let t = ModelType(rawValue: Int(v)) else {
                    throw r.fail("model_type \(Int64(bitPattern: v)) is not one of 1 (unigram), 2 (bpe), 3 (word), 4 (char)", at: k.start)
                }
                modelType = t
            case 21: try r.expect(k, 0, "split_by_unicode_script"); splitByUnicodeScript = try r.bool("split_by_unicode_script")
            case 22: try r.expect(k, 0, "split_by_whitespace"); splitByWhitespace = try r.bool("split_by_whitespace")
            case 23: try r.expect(k, 0, "split_by_number"); splitByNumber = try r.bool("split_by_number")
            case 24: try r.expect(k, 0, "treat_whitespace_as_suffix"); treatWhitespaceAsSuffix = try r.bool("treat_whitespace_as_suffix")
            case 25: try r.expect(k, 0, "split_digits"); splitDigits = try r.bool("split_digits")
            case 26: try r.expect(k, 0, "allow_whitespace_only_pieces"); allowWhitespaceOnlyPieces = try r.bool("allow_whitespace_only_pieces")
            case 30: try r.expect(k, 2, "control_symbols"); controlSymbols.append(try r.string("control_symbols"))
            case 31: try r.expect(k, 2, "user_defined_symbols"); userDefinedSymbols.append(try r.string("user_defined_symbols"))
            case 35: try r.expect(k, 0, "byte_fallback"); byteFallback = try r.bool("byte_fallback")
            case 40: try r.expect(k, 0, "unk_id"); unkId = try r.int32("unk_id")
            case 41: try r.expect(k, 0, "bos_id"); bosId = try r.int32("bos_id")
            case 42: try r.expect(k, 0, "eos_id"); eosId = try r.int32("eos_id")
            case 43: try r.expect(k, 0, "pad_id"); padId = try r.int32("pad_id")
            case 44: try r.expect(k, 2, "unk_surface"); unkSurface = try r.string("unk_surface")
            case 45: try r.expect(k, 2, "unk_piece"); unkPiece = try r.string("unk_piece")
            case 46: try r.expect(k, 2, "bos_piece"); bosPiece = try r.string("bos_piece")
            case 47: try r.expect(k, 2, "eos_piece"); eosPiece = try r.string("eos_piece")
            case 48: try r.expect(k, 2, "pad_piece"); padPiece = try r.string("pad_piece")
            default: otherTrainerFields.append(try r.raw(k))
            }
        }
    }

    mutating func parseNormalizerSpec(_ r: inout WireReader) throws(TokenizerError) {
        while !r.atEnd {
            let k = try r.key()
            switch k.field {
            case 1: try r.expect(k, 2, "name"); normalizerName = try r.string("name")
            case 2: try r.expect(k, 2, "precompiled_charsmap"); precompiledCharsmap = Array(r.bytes[try r.lengthDelimited("precompiled_charsmap")])
            case 3: try r.expect(k, 0, "add_dummy_prefix"); addDummyPrefix = try r.bool("add_dummy_prefix")
            case 4: try r.expect(k, 0, "remove_extra_whitespaces"); removeExtraWhitespaces = try r.bool("remove_extra_whitespaces")
            case 5: try r.expect(k, 0, "escape_whitespaces"); escapeWhitespaces = try r.bool("escape_whitespaces")
            default: otherNormalizerFields.append(try r.raw(k))
            }
        }
    }

    // MARK: Writing

    /// Protobuf bytes, appended record by record.
    struct WireWriter {
        var bytes: [UInt8] = []

        mutating func varint(_ v: UInt64) {
            var v = v
            while v >= 0x80 {
                bytes.append(UInt8(v & 0x7F) | 0x80)
                v >>= 7
            }
            bytes.append(UInt8(v))
        }
        mutating func key(_ field: UInt64, _ wire: UInt8) { varint(field << 3 | UInt64(wire)) }
        mutating func int32(_ field: UInt64, _ v: Int) {
            key(field, 0)
            varint(UInt64(bitPattern: Int64(Int32(truncatingIfNeeded: v))))
        }
        mutating func bool(_ field: UInt64, _ v: Bool) {
            key(field, 0)
            varint(v ? 1 : 0)
        }
        mutating func float(_ field: UInt64, _ v: Float) {
            key(field, 5)
            let b = v.bitPattern
            for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: b >> (8 * UInt32(i)))) }
        }
        mutating func bytesField(_ field: UInt64, _ v: [UInt8]) {
            key(field, 2)
            varint(UInt64(v.count))
            bytes.append(contentsOf: v)
        }
        mutating func string(_ field: UInt64, _ v: String) { bytesField(field, Array(v.utf8)) }
    }

    /// Known records (field number, encoded bytes) and kept raw ones, in field-number order; for one
    /// number, known records first, in the order given (repeated fields keep their order).
    private static func merge(_ known: [(UInt64, [UInt8])], _ raw: [RawField]) -> [UInt8] {
        var all = known.enumerated().map { (number: $1.0, order: $0, bytes: $1.1) }
        all += raw.enumerated().map { (number: $1.number, order: known.count + $0, bytes: $1.encoded) }
        all.sort { ($0.number, $0.order) < ($1.number, $1.order) }
        var out: [UInt8] = []
        for r in all { out.append(contentsOf: r.bytes) }
        return out
    }

    private static func record(_ body: (inout WireWriter) -> Void) -> [UInt8] {
        var w = WireWriter()
        body(&w)
        return w.bytes
    }

    /// Serialises back to a ModelProto that sentencepiece loads (for GGUF → HF conversions). Every field
    /// WeightKit interprets is written explicitly (defaults included); kept fields are written back as read.
    public func serialized() -> [UInt8] {
        var trainer: [(UInt64, [UInt8])] = [
            (3, Self.record { $0.int32(3, modelType.rawValue) }),
            (21, Self.record { $0.bool(21, splitByUnicodeScript) }),
            (22, Self.record { $0.bool(22, splitByWhitespace) }),
            (23, Self.record { $0.bool(23, splitByNumber) }),
            (24, Self.record { $0.bool(24, treatWhitespaceAsSuffix) }),
            (25, Self.record { $0.bool(25, splitDigits) }),
            (26, Self.record { $0.bool(26, allowWhitespaceOnlyPieces) }),
        ]
        for s in controlSymbols { trainer.append((30, Self.record { $0.string(30, s) })) }
        for s in userDefinedSymbols { trainer.append((31, Self.record { $0.string(31, s) })) }
        trainer += [
            (35, Self.record { $0.bool(35, byteFallback) }),
            (40, Self.record { $0.int32(40, unkId) }),
            (41, Self.record { $0.int32(41, bosId) }),
            (42, Self.record { $0.int32(42, eosId) }),
            (43, Self.record { $0.int32(43, padId) }),
            (44, Self.record { $0.string(44, unkSurface) }),
            (45, Self.record { $0.string(45, unkPiece) }),
            (46, Self.record { $0.string(46, bosPiece) }),
            (47, Self.record { $0.string(47, eosPiece) }),
            (48, Self.record { $0.string(48, padPiece) }),
        ]
        var normalizer: [(UInt64, [UInt8])] = [(1, Self.record { $0.string(1, normalizerName) })]
        if !precompiledCharsmap.isEmpty { normalizer.append((2, Self.record { $0.bytesField(2, precompiledCharsmap) })) }
        normalizer += [
            (3, Self.record { $0.bool(3, addDummyPrefix) }),
            (4, Self.record { $0.bool(4, removeExtraWhitespaces) }),
            (5, Self.record { $0.bool(5, escapeWhitespaces) }),
        ]

        var model: [(UInt64, [UInt8])] = []
        model.reserveCapacity(pieces.count + 3)
        for p in pieces {
            var body = WireWriter()
            body.string(1, p.piece)
            body.float(2, p.score)
            body.int32(3, p.type.rawValue)
            model.append((1, Self.record { $0.bytesField(1, body.bytes) }))
        }
        let trainerBytes = Self.merge(trainer, otherTrainerFields)
        let normalizerBytes = Self.merge(normalizer, otherNormalizerFields)
        model.append((2, Self.record { $0.bytesField(2, trainerBytes) }))
        model.append((3, Self.record { $0.bytesField(3, normalizerBytes) }))
        if let d = denormalizerSpec { model.append((5, Self.record { $0.bytesField(5, d) })) }
        return Self.merge(model, otherModelFields)
    }
}
