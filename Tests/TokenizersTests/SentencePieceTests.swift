// WeightKit's SentencePiece reader and BPE tokenizer against the sentencepiece package: models trained
// here (byte fallback on and off, user-defined and control symbols, whitespace as suffix, no dummy
// prefix) encode and decode thousands of strings exactly as SentencePieceProcessor does; the reader sees
// the pieces, scores, types and flags sentencepiece_model_pb2 sees; serialized() loads in sentencepiece
// with the same encodings; hostile files are refused with their exact message; and llama.cpp's LLaMA SPM
// vocabulary (GGUF arrays) matches every case of its test-tokenizer-0 vectors.

import Foundation
import Testing
import TensorCore
import TestSupport
@testable import Tokenizers

@Suite struct SentencePieceTests {
    struct SetupFailure: Error, CustomStringConvertible, Sendable { let description: String }

    /// The BPE models compared string by string, and all models (the reader sees every one).
    static let bpeModels = ["bpe-bytefallback", "bpe-plain", "bpe-suffix", "bpe-noprefix"]
    static let allModels = bpeModels + ["unigram", "bpe-nmt-nfkc"]

    /// Models trained once per run, with sentencepiece's answers beside them: NAME.model, NAME.pieces,
    /// NAME.flags and, for the BPE models, NAME.cases and NAME.decode.
    static let trained: Result<String, SetupFailure> = {
        let dir = RepoPaths.temporaryDirectory("spm")
        do {
            try Python.check(trainScript, [dir])
            return .success(dir)
        } catch {
            return .failure(SetupFailure(description: "training with the sentencepiece package failed: \(error)"))
        }
    }()

    /// llama.cpp's LLaMA SentencePiece vocabulary and its test-tokenizer-0 vectors, in the shared peer data.
    static let llamaSPM = RepoPaths.root + "/../shared/peer-data/llama.cpp-vocab/ggml-vocab-llama-spm.gguf"

    // MARK: Helpers

    static func unhex(_ s: Substring) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count / 2)
        var hi: UInt8? = nil
        for c in s.utf8 {
            let v: UInt8 = c <= 57 ? c - 48 : (c | 0x20) - 87
            if let h = hi {
                out.append(h << 4 | v)
                hi = nil
            } else {
                hi = v
            }
        }
        return out
    }

    static func hex(_ b: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for x in b {
            out.append(digits[Int(x >> 4)])
            out.append(digits[Int(x & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func ids(_ s: Substring) -> [Int] { s.isEmpty ? [] : s.split(separator: ",").map { Int($0) ?? Int.min } }

    static func lines(_ path: String) throws -> [Substring] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().map { $0 }
    }

    static func columns(_ line: Substring) -> [Substring] { line.split(separator: "\t", omittingEmptySubsequences: false) }

    static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

    /// The error a model file's bytes are refused with, or nil when they load.
    static func refusal(_ bytes: [UInt8]) -> String? {
        do {
            _ = try SentencePieceModel(bytes: bytes, path: "mem.model")
            return nil
        } catch {
            return error.description
        }
    }

    static func expectRefused(_ bytes: [UInt8], _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(refusal(bytes) == "mem.model: " + message, sourceLocation: sourceLocation)
    }

    /// Protobuf bytes for hand-made models, record by record.
    struct Proto {
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
        mutating func int(_ field: UInt64, _ v: Int64) {
            key(field, 0)
            varint(UInt64(bitPattern: v))
        }
        mutating func bytes(_ field: UInt64, _ b: [UInt8]) {
            key(field, 2)
            varint(UInt64(b.count))
            bytes += b
        }
        mutating func string(_ field: UInt64, _ s: String) { bytes(field, Array(s.utf8)) }
        mutating func message(_ field: UInt64, _ m: Proto) { bytes(field, m.bytes) }
        mutating func float(_ field: UInt64, _ f: Float) {
            key(field, 5)
            withUnsafeBytes(of: f.bitPattern.littleEndian) { bytes += $0 }
        }
    }

    static func piece(_ text: String, _ score: Float, _ type: Int64 = 1) -> Proto {
        var p = Proto()
        p.string(1, text)
        p.float(2, score)
        p.int(3, type)
        return p
    }

    /// `<unk> <s> </s> ▁ a b ab ▁ab`: a BPE model in which "ab ab" encodes to [7, 7].
    static let smallPieces: [Proto] = [
        piece("<unk>", 0, 2), piece("<s>", 0, 3), piece("</s>", 0, 3), piece("▁", -10), piece("a", -11),
        piece("b", -12), piece("ab", -1), piece("▁ab", -2),
    ]

    static func bpeTrainer(_ extra: (inout Proto) -> Void = { _ in }) -> Proto {
        var t = Proto()
        t.int(3, 2)
        extra(&t)
        return t
    }

    static func identityNormalizer() -> Proto {
        var n = Proto()
        n.string(1, "identity")
        return n
    }

    static func model(pieces: [Proto] = smallPieces, trainer: Proto = bpeTrainer(), normalizer: Proto? = identityNormalizer())
        -> [UInt8]
    {
        var m = Proto()
        for p in pieces { m.message(1, p) }
        m.message(2, trainer)
        if let normalizer { m.message(3, normalizer) }
        return m.bytes
    }

    // MARK: Against the sentencepiece package

    @Test(arguments: bpeModels)
    func encodeAndDecodeMatchSentencePiece(_ name: String) throws {
        let dir = try Self.trained.get()
        let tok = try SentencePieceTokenizer(model: try SentencePieceModel(contentsOf: "\(dir)/\(name).model"), path: name)
        var compared = 0, wrong: [String] = []
        for line in try Self.lines("\(dir)/\(name).cases") {
            let c = Self.columns(line)
            let text = Self.text(Self.unhex(c[0]))
            let expected = Self.ids(c[1])
            let got = tok.encode(text)
            let decoded = Array(tok.decode(expected).utf8)
            compared += 1
            if got != expected || decoded != Self.unhex(c[2]) {
                wrong.append("\(text.debugDescription): ids \(got) vs \(expected), decode \(Self.text(decoded).debugDescription) vs \(Self.text(Self.unhex(c[2])).debugDescription)")
            }
        }
        #expect(compared >= 2000)
        #expect(wrong.isEmpty, "\(name): \(wrong.count) of \(compared) strings differ; first: \(wrong.prefix(3))")

        // Id sequences sentencepiece decodes: byte pieces forming invalid UTF-8, control and unknown pieces.
        var sequences = 0
        wrong = []
        for line in try Self.lines("\(dir)/\(name).decode") {
            let c = Self.columns(line)
            let got = Array(tok.decode(Self.ids(c[0])).utf8)
            sequences += 1
            if got != Self.unhex(c[1]) { wrong.append("\(c[0]): \(Self.text(got).debugDescription) vs \(Self.text(Self.unhex(c[1])).debugDescription)") }
        }
        #expect(sequences >= 500)
        #expect(wrong.isEmpty, "\(name): \(wrong.count) of \(sequences) id sequences decode differently; first: \(wrong.prefix(3))")
        print("SentencePiece \(name): \(compared) strings encoded and decoded, \(sequences) id sequences decoded, all as sentencepiece")
    }

    @Test(arguments: allModels)
    func readerMatchesSentencePiece(_ name: String) throws {
        let dir = try Self.trained.get()
        let model = try SentencePieceModel(contentsOf: "\(dir)/\(name).model")
        let lines = try Self.lines("\(dir)/\(name).pieces")
        let fromProto = lines.first == "source=pb2"
        let rows = lines.dropFirst().map(Self.columns)
        try #require(model.pieces.count == rows.count)
        let tok = name.hasPrefix("bpe") && name != "bpe-nmt-nfkc" ? try SentencePieceTokenizer(model: model, path: name) : nil
        for (i, (p, row)) in zip(model.pieces, rows).enumerated() {
            #expect(Array(p.piece.utf8) == Self.unhex(row[0]), "piece \(i)")
            #expect(String(p.score.bitPattern, radix: 16) == String(UInt32(row[1], radix: 16) ?? 0, radix: 16), "score \(i)")
            // Without sentencepiece_model_pb2 the API cannot tell user-defined pieces from normal ones.
            let type = !fromProto && p.type == .userDefined ? 1 : p.type.rawValue
            #expect(type == Int(row[2]), "type of piece \(i)")
            if let tok { #expect(tok.pieceBytes(i) == Self.unhex(row[3]), "pieceBytes(\(i))") }
        }
        var flags: [String: String] = [:]
        for line in try Self.lines("\(dir)/\(name).flags") {
            let kv = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            flags[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
        }
        func flag(_ b: Bool) -> String { b ? "1" : "0" }
        #expect(flags["model_type"] == String(model.modelType.rawValue))
        #expect(flags["byte_fallback"] == flag(model.byteFallback))
        #expect(flags["split_digits"] == flag(model.splitDigits))
        #expect(flags["split_by_whitespace"] == flag(model.splitByWhitespace))
        #expect(flags["treat_whitespace_as_suffix"] == flag(model.treatWhitespaceAsSuffix))
        #expect(flags["allow_whitespace_only_pieces"] == flag(model.allowWhitespaceOnlyPieces))
        #expect(flags["unk_id"] == String(model.unkId))
        #expect(flags["bos_id"] == String(model.bosId))
        #expect(flags["eos_id"] == String(model.eosId))
        #expect(flags["pad_id"] == String(model.padId))
        #expect(flags["add_dummy_prefix"] == flag(model.addDummyPrefix))
        #expect(flags["remove_extra_whitespaces"] == flag(model.removeExtraWhitespaces))
        #expect(flags["escape_whitespaces"] == flag(model.escapeWhitespaces))
        #expect(flags["normalizer_name"] == model.normalizerName)
        #expect(flags["user_defined_symbols"] == model.userDefinedSymbols.joined(separator: "|"))
        #expect(flags["control_symbols"] == model.controlSymbols.joined(separator: "|"))
        if let n = flags["charsmap_bytes"] { #expect(n == String(model.precompiledCharsmap.count)) }
    }

    @Test(arguments: allModels)
    func serializedRoundTripsAndLoadsInSentencePiece(_ name: String) throws {
        let dir = try Self.trained.get()
        let model = try SentencePieceModel(contentsOf: "\(dir)/\(name).model")
        let bytes = model.serialized()
        let again = try SentencePieceModel(bytes: bytes, path: "serialized")
        #expect(again == model)
        #expect(again.serialized() == bytes)
        guard Self.bpeModels.contains(name) else { return }
        let path = "\(dir)/\(name).serialized.model"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let theirs = try Self.lines("\(dir)/\(name).cases")
        let ours = try Python.check(Self.encodeScript, [path, "\(dir)/\(name).cases"]).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        try #require(ours.count == theirs.count)
        var wrong = 0
        for (a, b) in zip(ours, theirs) {
            let x = Self.columns(a), y = Self.columns(b)
            if x[0] != y[1] || x[1] != y[2] { wrong += 1 }
        }
        #expect(wrong == 0, "\(name): \(wrong) of \(ours.count) strings encode differently with the serialized model")
    }

    /// Normalizer and trainer flags no training run here produces, set on a trained model through
    /// serialized(): sentencepiece and WeightKit encode and decode the generated strings alike.
    @Test(arguments: ["no-escape", "no-prefix-strip", "suffix-on-prefix-vocabulary", "keep-whitespace", "no-escape-keep"])
    func flagVariantsMatchSentencePiece(_ variant: String) throws {
        let dir = try Self.trained.get()
        var model = try SentencePieceModel(contentsOf: "\(dir)/bpe-bytefallback.model")
        switch variant {
        case "no-escape": model.escapeWhitespaces = false
        case "no-prefix-strip": model.addDummyPrefix = false
        case "suffix-on-prefix-vocabulary": model.treatWhitespaceAsSuffix = true
        case "keep-whitespace": model.removeExtraWhitespaces = false
        default:
            model.escapeWhitespaces = false
            model.removeExtraWhitespaces = false
        }
        let tok = try SentencePieceTokenizer(model: model, path: variant)
        let path = "\(dir)/variant-\(variant).model"
        try Data(model.serialized()).write(to: URL(fileURLWithPath: path))
        let cases = "\(dir)/bpe-bytefallback.cases"
        let original = try Self.lines(cases).map(Self.columns)
        let texts = original.map { Self.text(Self.unhex($0[0])) }
        let theirs = try Python.check(Self.encodeScript, [path, cases]).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        try #require(theirs.count == texts.count)
        var wrong: [String] = []
        var changed = 0
        for (k, (text, line)) in zip(texts, theirs).enumerated() {
            let c = Self.columns(line)
            if c[0] != original[k][1] { changed += 1 }
            let ids = tok.encode(text)
            if Self.ids(c[0]) != ids || Array(tok.decode(Self.ids(c[0])).utf8) != Self.unhex(c[1]) {
                wrong.append("\(text.debugDescription): \(ids) vs sentencepiece \(c[0])")
            }
        }
        #expect(wrong.isEmpty, "\(variant): \(wrong.count) of \(texts.count) differ; first: \(wrong.prefix(3))")
        #expect(changed > 100, "\(variant) changes the encoding of only \(changed) strings")
    }

    @Test func unigramAndRewritingNormalizersAreRefused() throws {
        let dir = try Self.trained.get()
        let unigram = try SentencePieceModel(contentsOf: "\(dir)/unigram.model")
        #expect(unigram.modelType == .unigram)
        #expect(throws: TokenizerError.self) { try SentencePieceTokenizer(model: unigram, path: "unigram.model") }
        do {
            _ = try SentencePieceTokenizer(model: unigram, path: "unigram.model")
        } catch {
            #expect(error.description == "unigram.model: unigram SentencePiece models are not supported yet (only BPE)")
        }
        let nfkc = try SentencePieceModel(contentsOf: "\(dir)/bpe-nmt-nfkc.model")
        do {
            _ = try SentencePieceTokenizer(model: nfkc, path: "nfkc.model")
            Issue.record("a model with nmt_nfkc rules was accepted")
        } catch {
            #expect(error.description == "nfkc.model: the normalizer 'nmt_nfkc' rewrites text with precompiled rules (\(nfkc.precompiledCharsmap.count) bytes of precompiled_charsmap, e.g. NFKC), which WeightKit does not implement: only identity normalization is supported")
        }
        var word = try SentencePieceModel(bytes: Self.model(), path: "m")
        word.modelType = .word
        do {
            _ = try SentencePieceTokenizer(model: word, path: "w.model")
            Issue.record("a word model was accepted")
        } catch {
            #expect(error.description == "w.model: word SentencePiece models are not supported (only BPE)")
        }
    }

    // MARK: Hand-made and hostile files

    @Test func smallHandMadeModel() throws {
        let model = try SentencePieceModel(bytes: Self.model(), path: "mem.model")
        #expect(model.pieces.count == 8)
        #expect(model.modelType == .bpe)
        #expect(model.normalizerName == "identity")
        #expect(model.addDummyPrefix && model.removeExtraWhitespaces && model.escapeWhitespaces)
        #expect(model.unkId == 0 && model.bosId == 1 && model.eosId == 2 && model.padId == -1)
        #expect(model.unkSurface == " \u{2047} ")
        let tok = try SentencePieceTokenizer(model: model, path: "mem.model")
        #expect(tok.encode("ab ab") == [7, 7])
        #expect(tok.encode("  ab   ab  ") == [7, 7])
        #expect(tok.encode("ba") == [3, 5, 4])
        #expect(tok.encode("c") == [3, 0])
        #expect(tok.encode("cc dd") == [3, 0, 3, 0])
        #expect(tok.decode([1, 7, 7, 2]) == "ab ab")
        #expect(tok.decode([0, 99, -1]) == " \u{2047} ")
        #expect(tok.pieceBytes(7) == Array(" ab".utf8))
    }

    @Test func truncatedAtEveryPosition() {
        let bytes = Self.model()
        #expect(Self.refusal(bytes) == nil)
        var kinds: Set<String> = []
        for cut in 0..<bytes.count {
            guard let message = Self.refusal(Array(bytes[..<cut])) else {
                Issue.record("a model cut to \(cut) of \(bytes.count) bytes was accepted")
                continue
            }
            #expect(message.hasPrefix("mem.model: "))
            kinds.insert(message.contains("runs past the end") ? "length" : message.contains("cut off") ? "varint" : message.contains("no normalizer_spec") ? "no normalizer" : message.contains("no trainer_spec") ? "no trainer" : message.contains("empty") ? "empty" : message)
        }
        #expect(kinds == ["length", "varint", "no trainer", "no normalizer", "empty"], "\(kinds)")
    }

    @Test func lengthsThatLie() {
        var m = Proto()
        m.key(1, 2)
        m.varint(200)
        m.bytes += Array(repeating: 0x41, count: 10)
        Self.expectRefused(m.bytes, "ModelProto: pieces: length 200 runs past the end of its file (10 bytes left) at byte 1")

        var p = Proto()
        p.key(1, 2)
        p.varint(50)
        p.bytes += Array("abc".utf8)
        Self.expectRefused(Self.model(pieces: [p] + Self.smallPieces), "ModelProto.pieces[0]: piece: length 50 runs past the end of its message (3 bytes left) at byte 3")

        var huge = Proto()
        huge.key(1, 2)
        huge.varint(UInt64.max)
        Self.expectRefused(huge.bytes, "ModelProto: pieces: length 18446744073709551615 runs past the end of its file (0 bytes left) at byte 1")
    }

    @Test func varints() {
        Self.expectRefused([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], "ModelProto: key: varint longer than 10 bytes at byte 0")
        Self.expectRefused([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02], "ModelProto: key: varint overflows 64 bits at byte 0")
        Self.expectRefused([0x0A, 0x80], "ModelProto: pieces length: varint cut off after 1 bytes (file ends) at byte 1")
        // A negative int32 is ten bytes on the wire and reads back as itself.
        let m = Self.model(trainer: Self.bpeTrainer { $0.int(43, -1); $0.int(41, -1) })
        #expect(Self.refusal(m) == nil)
        let bos = try? SentencePieceModel(bytes: m, path: "mem.model").bosId
        #expect(bos == -1)
    }

    @Test func pieceCountBomb() {
        // 2^24 + 1 empty pieces: two bytes each on disk, refused before any is read.
        let n = SentencePieceModel.maxPieces + 1
        let bytes = [UInt16](repeating: UInt16(0x0A).littleEndian, count: n).withUnsafeBytes { Array($0) }  // 0A 00 …
        Self.expectRefused(bytes, "ModelProto: over 16777216 pieces, the most WeightKit accepts (a piece-count bomb?) at byte 33554432")
    }

    @Test func malformedRecords() {
        Self.expectRefused([0x00], "ModelProto: field number 0 (not a protocol buffer, or corrupt) at byte 0")
        Self.expectRefused([0x0F], "ModelProto: wire type 7 of field 1 does not exist (not a protocol buffer, or corrupt) at byte 0")
        var wrongWire = Proto()
        wrongWire.int(1, 5)
        Self.expectRefused(wrongWire.bytes + Self.model(), "ModelProto: field 1 (pieces) has wire type 0, expected 2 at byte 0")
        Self.expectRefused([0x4C], "ModelProto: end-group of field 9 without a matching start at byte 0")
        // Groups are skipped (and kept), however they nest, up to 32 deep.
        var group = Proto()
        group.key(9, 3)
        group.int(1, 7)
        group.key(9, 4)
        let kept = try? SentencePieceModel(bytes: group.bytes + Self.model(), path: "mem.model")
        #expect(kept?.otherModelFields.map(\.number) == [9])
        #expect(kept.map { try? SentencePieceModel(bytes: $0.serialized(), path: "again") } == kept)
        let deep = [UInt8](repeating: 0x4B, count: 40) + [UInt8](repeating: 0x4C, count: 40)
        Self.expectRefused(deep, "ModelProto: groups nested more than 32 deep at byte 32")
        Self.expectRefused([0x4B, 0x08, 0x01], "ModelProto: group of field 9 is not closed at byte 0")
        Self.expectRefused([0x4B, 0x54], "ModelProto: group of field 9 closed by an end-group of field 10 at byte 1")
        // Unknown fields of every wire type are skipped.
        var unknown = Proto()
        unknown.int(100, 3)
        unknown.key(101, 1)
        unknown.bytes += [1, 2, 3, 4, 5, 6, 7, 8]
        unknown.string(102, "x")
        unknown.key(103, 5)
        unknown.bytes += [1, 2, 3, 4]
        #expect(Self.refusal(unknown.bytes + Self.model()) == nil)
        Self.expectRefused(unknown.bytes.dropLast(2) + [], "ModelProto: field 103: 4-byte value cut off (2 bytes left) at byte 19")
    }

    @Test func invalidModels() {
        let pieces = Self.smallPieces
        var invalid = Proto()
        invalid.bytes(1, [0x61, 0xFF])
        Self.expectRefused(Self.model(pieces: pieces + [invalid]), "ModelProto.pieces[8]: piece is not valid UTF-8 at byte 115")
        Self.expectRefused(Self.model(pieces: pieces + [Self.piece("a", -3)]), "pieces 4 and 8 are both 'a': duplicate pieces")
        // Canonically equivalent but different bytes: two pieces, as in LLaMA's vocabulary.
        #expect(Self.refusal(Self.model(pieces: pieces + [Self.piece("\u{3AF}", -3), Self.piece("\u{1F77}", -3)])) == nil)
        Self.expectRefused(Self.model(pieces: []), "the model has no pieces (ModelProto.pieces is empty)")
        Self.expectRefused(Self.model(pieces: pieces + [Self.piece("", -3)]), "piece 8 is empty")
        Self.expectRefused(Self.model(pieces: pieces + [Self.piece("a\u{0}b", -3)]), "piece 8 contains a NUL character")
        Self.expectRefused(Self.model(pieces: pieces + [Self.piece(String(repeating: "x", count: 8000), -3)]), "piece 8 is 8000 bytes long; sentencepiece refuses pieces of 8000 bytes or more")
        Self.expectRefused(Self.model(pieces: Array(pieces.dropFirst())), "no piece has type UNKNOWN (sentencepiece needs exactly one)")
        Self.expectRefused(Self.model(pieces: pieces + [Self.piece("<u2>", 0, 2)]), "pieces 0 and 8 are both of type UNKNOWN; there must be exactly one")
        Self.expectRefused(Self.model(pieces: pieces + [Self.piece("c", 0, 9)]), "ModelProto.pieces[8]: type 9 is not one of 1 (normal) … 6 (byte) at byte 122")
        Self.expectRefused(Self.model(trainer: Self.bpeTrainer { $0.int(3, 7) }), "ModelProto.trainer_spec: model_type 7 is not one of 1 (unigram), 2 (bpe), 3 (word), 4 (char) at byte 116")
        Self.expectRefused(Self.model(trainer: Self.bpeTrainer { $0.int(40, 8) }), "trainer_spec.unk_id 8 is outside the vocabulary of 8 pieces")
        Self.expectRefused(Self.model(trainer: Self.bpeTrainer { $0.int(41, -5) }), "trainer_spec.bos_id -5 is outside the vocabulary of 8 pieces (−1 means none)")
        // int32 fields keep the low 32 bits of the varint, as protobuf reads them.
        Self.expectRefused(Self.model(trainer: Self.bpeTrainer { $0.int(42, 1 << 40 + 100) }), "trainer_spec.eos_id 100 is outside the vocabulary of 8 pieces (−1 means none)")
        Self.expectRefused(Self.model(pieces: pieces + [Self.piece("<0x41>", 0, 6)]), "piece 8 '<0x41>' has type BYTE although trainer_spec.byte_fallback is false")
        Self.expectRefused(Self.model(pieces: pieces + [Self.piece("<0x4g>", 0, 6)], trainer: Self.bpeTrainer { $0.int(35, 1) }), "piece 8 has type BYTE but reads '<0x4g>', not <0xNN>")
        Self.expectRefused(Self.model(pieces: pieces + [Self.piece("<0x41>", 0, 6)], trainer: Self.bpeTrainer { $0.int(35, 1) }), "trainer_spec.byte_fallback is true but there is no byte piece for 0x00 (all 256 are needed)")
        Self.expectRefused(Self.model(normalizer: nil), "ModelProto has no normalizer_spec (field 3): the file is truncated, or not a SentencePiece model")
        Self.expectRefused([], "the file is empty, not a SentencePiece model")
        Self.expectRefused(Array("version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 9\n".utf8), "this is a Git LFS pointer, not the file itself (run `git lfs pull` to fetch it), not a SentencePiece model")
        Self.expectRefused(Array("GGUF".utf8) + [3, 0, 0, 0] + [UInt8](repeating: 0, count: 16), "this is a GGUF file (its vocabulary is in the tokenizer.ggml.* keys), not a SentencePiece model")
        Self.expectRefused(Array("<!DOCTYPE html><html>".utf8), "this is an HTML page (a failed download?), not a SentencePiece model")
        // NaN scores leave the merge order undefined: the tokenizer refuses them.
        if let nan = try? SentencePieceModel(bytes: Self.model(pieces: pieces + [Self.piece("ba", .nan)]), path: "mem.model") {
            #expect(throws: TokenizerError.self) { try SentencePieceTokenizer(model: nan, path: "mem.model") }
        } else {
            Issue.record("a NaN score was refused by the reader")
        }
    }

    @Test func ggufArraysAreChecked() {
        func refusal(_ tokens: [String], _ scores: [Float], _ types: [Int32], byteFallback: Bool = false, unk: Int? = nil) -> String? {
            do {
                _ = try SentencePieceTokenizer(tokens: tokens, scores: scores, types: types, addDummyPrefix: true, byteFallback: byteFallback, unkId: unk, path: "v.gguf")
                return nil
            } catch { return error.description }
        }
        #expect(refusal([], [], []) == "v.gguf: the vocabulary is empty (tokenizer.ggml.tokens has no entries)")
        #expect(refusal(["<unk>", "a"], [0], [2, 1]) == "v.gguf: tokenizer.ggml.scores has 1 entries but tokenizer.ggml.tokens has 2")
        #expect(refusal(["<unk>", "a"], [0, 0], [2]) == "v.gguf: tokenizer.ggml.token_type has 1 entries but tokenizer.ggml.tokens has 2")
        #expect(refusal(["<unk>", "a"], [0, 0], [2, 0]) == "v.gguf: token 1 'a' has type 0, not one of 1 (normal) … 6 (byte)")
        #expect(refusal(["<unk>", "a", "a"], [0, 0, 0], [2, 1, 1]) == "v.gguf: pieces 1 and 2 are both 'a': duplicate pieces")
        #expect(refusal(["<unk>", "a"], [0, 0], [2, 1], unk: 2) == "v.gguf: the unknown token id 2 is outside the vocabulary of 2 tokens")
        #expect(refusal(["x", "a"], [0, 0], [1, 1]) == "v.gguf: no piece has type unknown, so text outside the vocabulary cannot be encoded")
        #expect(refusal(["x", "<0x00>"], [0, 0], [1, 6], byteFallback: true) == "v.gguf: no piece has type unknown and there is no byte piece for 0x01, so that byte cannot be encoded")
        #expect(refusal(["<unk>", "a"], [0, .nan], [2, 1]) == "v.gguf: piece 1 'a' has a NaN score, which leaves the merge order undefined")
        #expect(refusal(["<unk>", "a"], [0, 0], [2, 1]) == nil)
    }

    /// A token type outside int32 (found by fuzzing `gguf-tokenizer`: it trapped converting to Int32) is
    /// refused by name, for both models and both ways of handing the arrays over.
    @Test func ggufTokenTypeOutsideInt32IsRefused() {
        for model in ["llama", "gpt2"] {
            for packed in [false, true] {
                let types: [Double] = [2, 1, Double(1 << 40)]
                let md = Metadata([
                    MetadataEntry("tokenizer.ggml.model", .string(model)),
                    MetadataEntry("tokenizer.ggml.tokens", .array(.string, ["<unk>", "a", "b"].map { .string($0) })),
                    MetadataEntry("tokenizer.ggml.token_type", .array(.int64, packed ? [] : types.map { .int64(Int64($0)) })),
                ])
                let utf8 = Array("<unk>ab".utf8), ends = [5, 6, 7]
                do {
                    _ = try Tokenizer.fromGGUF(
                        md, path: "v.gguf", strings: { packed && $0 == "tokenizer.ggml.tokens" ? (utf8, ends) : nil },
                        numbers: { packed && $0 == "tokenizer.ggml.token_type" ? types : nil })
                    Issue.record("\(model): a token type of 2^40 was accepted")
                } catch {
                    #expect(error.description == "v.gguf: tokenizer.ggml.token_type[2] = 1099511627776 is not a 32-bit token type")
                }
            }
        }
    }

    // MARK: llama.cpp's LLaMA SentencePiece vocabulary

    /// The GGUF's tokenizer arrays as gguf-py reads them.
    static func llamaVocabulary() throws -> (tokens: [String], scores: [Float], types: [Int32], addSpacePrefix: Bool, unk: Int?) {
        let out = try Python.check(ggufScript, [llamaSPM])
        var tokens: [String] = [], scores: [Float] = [], types: [Int32] = []
        var addSpacePrefix = true  // llama.cpp's default for `llama` vocabularies
        var unk: Int? = nil
        for line in out.split(separator: "\n") {
            if line.hasPrefix("add_space_prefix=") { addSpacePrefix = line.hasSuffix("=1"); continue }
            if line.hasPrefix("unknown_token_id=") { unk = Int(line.dropFirst("unknown_token_id=".count)); continue }
            let c = columns(line)
            tokens.append(text(unhex(c[0])))
            scores.append(Float(bitPattern: UInt32(c[1], radix: 16) ?? 0))
            types.append(Int32(c[2]) ?? 0)
        }
        return (tokens, scores, types, addSpacePrefix, unk)
    }

    /// The cases of `NAME.inp` / `NAME.out` as llama.cpp's test-tokenizer-0 reads them: inputs separated
    /// by "\n__ggml_vocab_test__\n", one line of space-separated ids per input (without BOS).
    static func llamaCases() throws -> [(text: String, ids: [Int])] {
        let raw = try String(contentsOfFile: llamaSPM + ".inp", encoding: .utf8)
        var inputs: [String] = []
        var rest = Substring(raw)
        while !rest.isEmpty {
            if let r = rest.range(of: "\n__ggml_vocab_test__\n") {
                inputs.append(String(rest[..<r.lowerBound]))
                rest = rest[r.upperBound...]
            } else {
                inputs.append(String(rest))
                rest = ""
            }
        }
        let outputs = try String(contentsOfFile: llamaSPM + ".out", encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        try #require(inputs.count == outputs.count)
        return zip(inputs, outputs).map { ($0, $1.split(separator: " ").map { Int($0) ?? -1 }) }
    }

    @Test func llamaSPMVectorsMatch() throws {
        let v = try Self.llamaVocabulary()
        #expect(v.tokens.count == 32000)
        let tok = try SentencePieceTokenizer(
            tokens: v.tokens, scores: v.scores, types: v.types, addDummyPrefix: v.addSpacePrefix, byteFallback: true,
            unkId: v.unk, path: Self.llamaSPM)
        let cases = try Self.llamaCases()
        var matched = 0
        for c in cases {
            let got = tok.encode(c.text)
            if got == c.ids { matched += 1 } else { Issue.record("\(c.text.debugDescription): \(got) vs llama.cpp \(c.ids)") }
        }
        #expect(cases.count == 46)
        #expect(matched == cases.count)
        print("SentencePiece llama-spm: \(matched) of \(cases.count) test-tokenizer-0 cases match")
    }

    /// The GGUF's arrays written as a tokenizer.model (as a GGUF → HF conversion does) load in sentencepiece,
    /// which then encodes llama.cpp's inputs and the generated strings as WeightKit does.
    @Test func llamaSPMAsTokenizerModel() throws {
        let v = try Self.llamaVocabulary()
        var pieces: [SentencePieceModel.Piece] = []
        for i in v.tokens.indices {
            pieces.append(.init(piece: v.tokens[i], score: v.scores[i], type: try #require(SentencePieceModel.PieceType(rawValue: Int(v.types[i])))))
        }
        let model = SentencePieceModel(pieces: pieces, byteFallback: true, addDummyPrefix: v.addSpacePrefix, removeExtraWhitespaces: false)
        try model.validate(path: "llama")
        let fromArrays = try SentencePieceTokenizer(
            tokens: v.tokens, scores: v.scores, types: v.types, addDummyPrefix: v.addSpacePrefix, byteFallback: true,
            unkId: v.unk, path: "llama")
        let dir = try Self.trained.get()
        let path = "\(dir)/llama-spm.model"
        try Data(model.serialized()).write(to: URL(fileURLWithPath: path))
        // Inputs: llama.cpp's cases, then one model's generated strings.
        var texts = try Self.llamaCases().map(\.text)
        texts += try Self.lines("\(dir)/bpe-plain.cases").map { Self.text(Self.unhex(Self.columns($0)[0])) }
        let inputs = "\(dir)/llama-spm.inputs"
        try (texts.map { Self.hex(Array($0.utf8)) }.joined(separator: "\n") + "\n").write(toFile: inputs, atomically: true, encoding: .utf8)
        let theirs = try Python.check(Self.encodeScript, [path, inputs]).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        try #require(theirs.count == texts.count)
        var wrong: [String] = []
        for (text, line) in zip(texts, theirs) {
            let c = Self.columns(line)
            let ids = fromArrays.encode(text)
            if Self.ids(c[0]) != ids || Array(fromArrays.decode(ids).utf8) != Self.unhex(c[1]) {
                wrong.append("\(text.debugDescription): \(ids) vs sentencepiece \(c[0])")
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) of \(texts.count) differ; first: \(wrong.prefix(3))")
        print("SentencePiece llama-spm as tokenizer.model: \(texts.count) strings encoded and decoded as sentencepiece")
    }

    // MARK: Python

    static let trainScript = #"""
# Trains small SentencePiece models with the sentencepiece package and writes, per model, what
# SentencePieceProcessor makes of many strings. argv: out_dir
import io, os, random, sys
import sentencepiece as spm
try:
    from sentencepiece import sentencepiece_model_pb2 as pb2
    pb2.ModelProto()
except Exception:
    pb2 = None

out = sys.argv[1]
WORDS = {
    'en': "the quick brown fox jumps over lazy dog while programmers write code and tests every day".split(),
    'fr': "le château où l'élève français déjà reçu naïve cœur".split(),
    'de': "Äpfel Größe Straße über schön Fußgänger".split(),
    'ru': "привет мир как дела сегодня хорошо погода".split(),
    'el': "γειά σου κόσμε καλημέρα ελληνικά".split(),
    'zh': "你好 世界 我们 今天 天气 很好 中文 分词".split(),
    'ja': "こんにちは 世界 カタカナ ひらがな 日本語".split(),
    'ko': "안녕하세요 세계 한국어 문장".split(),
    'ar': "مرحبا بالعالم اللغة العربية".split(),
    'he': "שלום עולם עברית".split(),
    'hi': "नमस्ते दुनिया हिन्दी भाषा".split(),
    'th': "สวัสดี ชาวโลก ภาษาไทย".split(),
    'emoji': ["😀", "👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🇫🇷", "❤️", "🔥🔥", "🤖"],
    'code': ["def f(x):", "return x+1;", "for (int i = 0; i < n; ++i) {", "}", "#include <stdio.h>",
             "x = [1, 2, 3]", "if a == b:", "print('hi')", "<tag>", "@@"],
    'digits': ["0", "12", "345", "2024", "3.14159", "1,000,000", "42", "007"],
}

def corpus(seed, n):
    r = random.Random(seed)
    keys = sorted(WORDS)
    lines = []
    for _ in range(n):
        parts = [r.choice(WORDS[r.choice(keys)]) for _ in range(r.randint(1, 12))]
        lines.append(r.choice([" ", " ", " ", "  ", "\t", "   "]).join(parts))
    return lines

LINES = corpus(1234, 3000)

MODELS = {
    # name: trainer arguments (normalization_rule_name identity unless said otherwise)
    'bpe-bytefallback': dict(model_type='bpe', vocab_size=500, byte_fallback=True, split_digits=True,
                             user_defined_symbols=['<tag>', '@@', 'http://']),
    'bpe-plain': dict(model_type='bpe', vocab_size=400, remove_extra_whitespaces=False, character_coverage=0.98),
    'bpe-suffix': dict(model_type='bpe', vocab_size=600, byte_fallback=True, treat_whitespace_as_suffix=True,
                       allow_whitespace_only_pieces=True, character_coverage=0.98),
    'bpe-noprefix': dict(model_type='bpe', vocab_size=450, add_dummy_prefix=False, remove_extra_whitespaces=False,
                         character_coverage=0.98, control_symbols=['<ctl>'], user_defined_symbols=['▁▁'],
                         split_by_whitespace=False),
    'unigram': dict(model_type='unigram', vocab_size=300, character_coverage=0.98),
    'bpe-nmt-nfkc': dict(model_type='bpe', vocab_size=450, character_coverage=0.98, normalization_rule_name='nmt_nfkc'),
}

def train(name, kw):
    kw = dict(kw)
    kw.setdefault('normalization_rule_name', 'identity')
    f = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(LINES), model_writer=f, minloglevel=2, **kw)
    with open(os.path.join(out, name + '.model'), 'wb') as g:
        g.write(f.getvalue())

POOL = ["a", " ", "  ", "   ", "\t", "\t\t", "\n", "\r\n", "\r", "\n\n", "é", "e\u0301", "a\u0308\u0323", "Z\u0351\u0352\u0353",
        "👨\u200d👩\u200d👧", "👩🏽\u200d💻", "🏳️\u200d🌈", "🇯🇵", "😀", "你好", "x", "123", "0", "  hello  ", "<tag>", "@@",
        "http://", "▁", "▁▁", "\u00a0", "\u3000", "\u2003", "\u0000", "\u0007", "\ufeff", "\ufffd", "Ω", "ﬁ", "①", "Å",
        "<s>", "</s>", "<unk>", "<ctl>", "<0x41>", "ქართული", "Հայերեն", "ሰላም", "ខ្មែរ", "ᚠᚢᚦ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0010fffd",
        "\ue000", "\uffff", "ŉ", "ǅ", "İ", "ß"]
EDGE = ["", " ", "  ", "\t", "\n", "hello", " hello", "hello ", "  a  b  ", "▁", " ▁ ", "a\u200db", "\r\n\r\n", "0123456789"]

def random_scalar(r):
    plane = r.choice([0x80, 0x800, 0x3000, 0x10000, 0x20000, 0xE0000, 0x110000])
    while True:
        c = r.randrange(0, plane)
        if not (0xD800 <= c <= 0xDFFF):
            return chr(c)

def strings(seed, n=2000):
    r = random.Random(seed)
    lines = corpus(seed + 1, 500)
    cases = list(EDGE)
    for _ in range(n):
        parts = []
        for _ in range(r.randint(0, 8)):
            x = r.random()
            if x < 0.4:
                parts.append(r.choice(POOL))
            elif x < 0.85:
                l = r.choice(lines)
                a = r.randint(0, len(l))
                parts.append(l[a:a + r.randint(0, 40)])
            else:
                parts.append(''.join(random_scalar(r) for _ in range(r.randint(1, 4))))
        s = ''.join(parts)
        if r.random() < 0.15: s = ' ' * r.randint(1, 3) + s
        if r.random() < 0.15: s = s + r.choice([' ', '  ', '\t', '\n'])
        cases.append(s)
    return cases

def h(s):
    return (s if isinstance(s, bytes) else s.encode('utf-8')).hex()

def ids(xs):
    return ','.join(map(str, xs))

def piece_type(sp, i, proto):
    if proto is not None:
        return proto.pieces[i].type
    if sp.is_unknown(i): return 2
    if sp.is_control(i): return 3
    if sp.is_unused(i): return 5
    if sp.is_byte(i): return 6
    return 1  # normal or user-defined: the API cannot tell them apart

def describe(name, kw):
    path = os.path.join(out, name + '.model')
    sp = spm.SentencePieceProcessor(model_file=path)
    proto = None
    if pb2 is not None:
        proto = pb2.ModelProto()
        proto.ParseFromString(open(path, 'rb').read())
    n = sp.get_piece_size()
    with open(os.path.join(out, name + '.pieces'), 'w') as f:
        f.write('source=%s\n' % ('pb2' if proto is not None else 'api'))
        for i in range(n):
            p = sp.id_to_piece(i)
            t = piece_type(sp, i, proto)
            surface = b'' if t == 3 else bytes([int(p[3:5], 16)]) if t == 6 else ' \u2047 '.encode() if t == 2 else p.replace('\u2581', ' ').encode()
            f.write('%s\t%08x\t%d\t%s\n' % (h(p), int.from_bytes(__import__('struct').pack('<f', sp.get_score(i)), 'little'), t, h(surface)))
    with open(os.path.join(out, name + '.flags'), 'w') as f:
        if proto is not None:
            t, nz = proto.trainer_spec, proto.normalizer_spec
            flags = dict(model_type=t.model_type, byte_fallback=int(t.byte_fallback), split_digits=int(t.split_digits),
                         treat_whitespace_as_suffix=int(t.treat_whitespace_as_suffix),
                         allow_whitespace_only_pieces=int(t.allow_whitespace_only_pieces),
                         split_by_whitespace=int(t.split_by_whitespace), unk_id=t.unk_id, bos_id=t.bos_id,
                         eos_id=t.eos_id, pad_id=t.pad_id, add_dummy_prefix=int(nz.add_dummy_prefix),
                         remove_extra_whitespaces=int(nz.remove_extra_whitespaces),
                         escape_whitespaces=int(nz.escape_whitespaces), normalizer_name=nz.name,
                         charsmap_bytes=len(nz.precompiled_charsmap),
                         user_defined_symbols='|'.join(t.user_defined_symbols), control_symbols='|'.join(t.control_symbols))
        else:
            flags = dict(model_type={'unigram': 1, 'bpe': 2}[kw['model_type']], byte_fallback=int(kw.get('byte_fallback', False)),
                         split_digits=int(kw.get('split_digits', False)),
                         treat_whitespace_as_suffix=int(kw.get('treat_whitespace_as_suffix', False)),
                         allow_whitespace_only_pieces=int(kw.get('allow_whitespace_only_pieces', False)),
                         split_by_whitespace=int(kw.get('split_by_whitespace', True)),
                         unk_id=sp.unk_id(), bos_id=sp.bos_id(), eos_id=sp.eos_id(), pad_id=sp.pad_id(),
                         add_dummy_prefix=int(kw.get('add_dummy_prefix', True)),
                         remove_extra_whitespaces=int(kw.get('remove_extra_whitespaces', True)), escape_whitespaces=1,
                         normalizer_name=kw.get('normalization_rule_name', 'identity'),
                         user_defined_symbols='|'.join(kw.get('user_defined_symbols', [])),
                         control_symbols='|'.join(kw.get('control_symbols', [])))
        for k in sorted(flags):
            f.write('%s=%s\n' % (k, flags[k]))
    if kw['model_type'] != 'bpe' or kw.get('normalization_rule_name', 'identity') != 'identity':
        return
    seed = sum(map(ord, name))
    with open(os.path.join(out, name + '.cases'), 'w') as f:
        for s in strings(seed):
            e = sp.encode(s)
            f.write('%s\t%s\t%s\n' % (h(s), ids(e), h(sp.decode(e))))
    # Random id sequences, heavy in byte pieces (invalid UTF-8), control and unknown pieces.
    r = random.Random(seed + 7)
    special = [i for i in range(n) if sp.is_byte(i) or sp.is_control(i) or sp.is_unknown(i)]
    with open(os.path.join(out, name + '.decode'), 'w') as f:
        for _ in range(600):
            seq = [r.choice(special) if special and r.random() < 0.5 else r.randrange(n) for _ in range(r.randint(0, 12))]
            f.write('%s\t%s\n' % (ids(seq), h(sp.decode(seq))))

for name, kw in MODELS.items():
    train(name, kw)
    describe(name, kw)
print('ok')
"""#

    static let encodeScript = #"""
# Loads a tokenizer.model with sentencepiece and encodes the texts of a .cases file (hex UTF-8 per line,
# first column); prints "ids<TAB>hex(decoded)" per line. argv: model, cases
import sys, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
out = []
for line in open(sys.argv[2]):
    text = bytes.fromhex(line.split('\t')[0]).decode('utf-8')
    ids = sp.encode(text)
    out.append('%s\t%s' % (','.join(map(str, ids)), sp.decode(ids).encode('utf-8').hex()))
sys.stdout.write('\n'.join(out) + '\n')
"""#

    static let ggufScript = #"""
# Prints a GGUF file's SentencePiece vocabulary: "key=value" lines for add_space_prefix and
# unknown_token_id (when present), then "hex(token)<TAB>score bits<TAB>type" per token. argv: gguf
import sys, gguf
r = gguf.GGUFReader(sys.argv[1])
f = r.fields
for key in ('tokenizer.ggml.add_space_prefix', 'tokenizer.ggml.unknown_token_id'):
    if key in f:
        print('%s=%d' % (key.split('.')[-1], int(f[key].parts[f[key].data[0]][0])))
toks, scores, types = f['tokenizer.ggml.tokens'], f['tokenizer.ggml.scores'], f['tokenizer.ggml.token_type']
for i in range(len(toks.data)):
    t = bytes(toks.parts[toks.data[i]]).hex()
    s = scores.parts[scores.data[i]].tobytes()[::-1].hex()
    print('%s\t%s\t%d' % (t, s, int(types.parts[types.data[i]][0])))
"""#
}
