// A tokenizer as Hugging Face's `tokenizers` runs one, whichever file it came from:
//
//   text ─► split on added tokens ─► normalize each piece ─► pre-tokenize into words ─► model (BPE or
//   SentencePiece) ─► post-process (BOS/EOS template) ─► ids
//   ids ─► token texts ─► decoder chain ─► text
//
// `tokenizer.json`, GPT-2's `vocab.json` + `merges.txt`, SentencePiece's `tokenizer.model` and GGUF
// `tokenizer.ggml.*` keys all load into this one shape (see the `Tokenizer+…` files).
import Foundation

/// A token that is matched in the text before anything else (special tokens like `<|endoftext|>`).
public struct AddedToken: Sendable, Equatable {
    public var id: Int
    public var content: String
    /// Special tokens are left out by `decode(skipSpecialTokens: true)`.
    public var special: Bool
    public var lstrip = false
    public var rstrip = false
    public var singleWord = false
    public var normalized = false

    public init(id: Int, content: String, special: Bool, lstrip: Bool = false, rstrip: Bool = false,
                singleWord: Bool = false, normalized: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.singleWord = singleWord
        self.normalized = normalized
    }
}

/// Which ids mean what, and what encoding adds.
public struct SpecialTokens: Sendable, Equatable {
    public var bos: Int?
    public var eos: Int?
    public var unk: Int?
    public var pad: Int?
    /// Ids that end generation (EOS and, from generation_config.json or GGUF, end-of-turn tokens).
    public var endOfGeneration: [Int] = []
    public var addBos = false
    public var addEos = false
    public init() {}
}

/// One step of normalization.
enum Normalizer: Sendable, Equatable {
    case prepend(String)
    case replace(String, String)
    case nfc, nfd, nfkc, nfkd
    case lowercase
}

/// Text transforms and splits before the model.
struct PreTokenization: Sendable, Equatable {
    enum PrependScheme: String, Sendable { case always, first, never }
    /// ByteLevel(add_prefix_space): a space before a piece that does not start with one.
    var addPrefixSpace = false
    /// Metaspace: spaces become `replacement`, which is also prepended per `scheme`; `split` cuts before each.
    var metaspace: (replacement: String, scheme: PrependScheme, split: Bool)? = nil
    /// Regex steps, each cutting the pieces of the one before; `removed` drops the matches.
    var steps: [(pattern: SplitPattern, removed: Bool)] = []

    static func == (a: PreTokenization, b: PreTokenization) -> Bool {
        a.addPrefixSpace == b.addPrefixSpace && a.metaspace?.replacement == b.metaspace?.replacement
            && a.metaspace?.scheme == b.metaspace?.scheme && a.metaspace?.split == b.metaspace?.split
            && a.steps.count == b.steps.count
            && zip(a.steps, b.steps).allSatisfy { $0.pattern == $1.pattern && $0.removed == $1.removed }
    }
}

/// One step of the decoder chain (Hugging Face's decoders).
enum DecoderStep: Sendable, Equatable {
    case byteLevel
    case replace(String, String)
    case byteFallback
    case fuse
    case strip(content: String, start: Int, stop: Int)
    case metaspace(replacement: String, prependScheme: PreTokenization.PrependScheme)
}

/// What the tokenizer needs of a SentencePiece model (which normalizes text itself).
protocol SentencePieceEncoding: Sendable {
    func encode(_ text: String, dummyPrefix: Bool) -> [Int]
    func decode(_ ids: [Int]) -> String
    func pieceBytes(_ id: Int) -> [UInt8]
    /// Whether `decode` drops the space the dummy prefix put before the first piece.
    var stripsLeadingSpace: Bool { get }
}

/// The model that turns a normalized, pre-tokenized piece into ids.
enum TokenModel: Sendable {
    case bpe(BPEModel)
    case sentencePiece(any SentencePieceEncoding)
}

/// A loaded tokenizer: encode text to ids, decode ids to text.
public final class Tokenizer: Sendable {
    /// `BPE` or `SentencePiece`.
    public let kind: String
    /// Where it was read from and how (for inspect): e.g. `tokenizer.json`, `GGUF tokenizer.ggml.*`.
    public let source: String
    /// Token text by id, added tokens included.
    public let vocabulary: [String]
    public let addedTokens: [AddedToken]
    public let specials: SpecialTokens
    /// The chat template (Jinja source), if the files carry one.
    public let chatTemplate: String?
    /// The pre-tokenizer's name as llama.cpp's `tokenizer.ggml.pre` knows it, when it has one.
    public let preName: String?

    let model: TokenModel
    let normalizers: [Normalizer]
    let pre: PreTokenization
    let byteLevel: Bool
    /// Ids before and after the sequence when special tokens are added.
    let prefix: [Int]
    let suffix: [Int]
    let decoder: [DecoderStep]
    /// Added tokens for `splitAdded`: those that start with byte b are `addedOrder[addedStart[b] ..<
    /// addedStart[b + 1]]`, longest first; `addedPrefix[t]` holds token t's first 8 bytes (as `loadWord`).
    let addedStart: [Int32]
    let addedOrder: [Int32]
    let addedPrefix: [UInt64]
    let addedIds: [Int: Int]
    let addedBytes: [[UInt8]]
    /// When the model sees the whole text as one word (Metaspace without split, or the older Prepend +
    /// Replace normalizers), the replacement character before which that word can be cut without changing
    /// the ids (`BPEModel.canCut`): the pieces are then ordinary words for the cache.
    let cutMarker: [UInt8]?

    init(
        kind: String, source: String, vocabulary: [String], addedTokens: [AddedToken], specials: SpecialTokens,
        chatTemplate: String?, preName: String?, model: TokenModel, normalizers: [Normalizer],
        pre: PreTokenization, byteLevel: Bool, prefix: [Int], suffix: [Int], decoder: [DecoderStep]
    ) {
        self.kind = kind
        self.source = source
        self.vocabulary = vocabulary
        self.addedTokens = addedTokens
        self.specials = specials
        self.chatTemplate = chatTemplate
        self.preName = preName
        self.model = model
        self.normalizers = normalizers
        self.pre = pre
        self.byteLevel = byteLevel
        self.prefix = prefix
        self.suffix = suffix
        self.decoder = decoder
        var index = [[Int]](repeating: [], count: 256)
        for (i, t) in addedTokens.enumerated() where !t.content.isEmpty {
            index[Int(t.content.utf8.first!)].append(i)
        }
        for b in 0..<256 { index[b].sort { addedTokens[$0].content.utf8.count > addedTokens[$1].content.utf8.count } }
        addedStart = index.reduce(into: [0]) { $0.append($0.last! + Int32($1.count)) }
        addedOrder = index.flatMap { $0.map(Int32.init) }
        var ids: [Int: Int] = [:]
        for (i, t) in addedTokens.enumerated() { ids[t.id] = i }
        addedIds = ids
        addedBytes = addedTokens.map { Array($0.content.utf8) }
        addedPrefix = addedBytes.map { b in b.withUnsafeBufferPointer { $0.isEmpty ? 0 : loadWord($0.baseAddress!, min(8, $0.count)) } }
        var cut: [UInt8]? = nil
        if case .bpe(let bpe) = model, pre.steps.isEmpty, !(pre.metaspace?.split ?? false) {
            var marker = pre.metaspace?.replacement
            if marker == nil { for n in normalizers { if case .replace(" ", let r) = n { marker = r } } }
            if let m = marker.map({ Array($0.utf8) }), bpe.canCut(before: m) { cut = m }
        }
        cutMarker = cut
    }

    public var vocabularySize: Int { vocabulary.count }

    // MARK: Encoding

    /// Encodes text as the tokenizer's reference implementation does by default (`tokenizer(text).input_ids`):
    /// special tokens in the text are matched, and BOS/EOS are added as the configuration says unless
    /// `addSpecialTokens` is false.
    ///
    /// `parseSpecial: false` leaves special (control) tokens in the text as text, as llama.cpp's
    /// `parse_special = false` does; user-defined added tokens are still matched.
    public func encode(_ text: String, addSpecialTokens: Bool = true, parseSpecial: Bool = true) -> [Int] {
        var cache = BPEModel.Cache()
        return encode(text, addSpecialTokens: addSpecialTokens, parseSpecial: parseSpecial, cache: &cache)
    }

    /// Encodes each text as `encode` does, one after the other on the calling thread; words seen in one text
    /// are not encoded again in the next.
    public func encodeBatch(_ texts: [String], addSpecialTokens: Bool = true, parseSpecial: Bool = true) -> [[Int]] {
        var cache = BPEModel.Cache()
        return texts.map { encode($0, addSpecialTokens: addSpecialTokens, parseSpecial: parseSpecial, cache: &cache) }
    }

    func encode(_ text: String, addSpecialTokens: Bool, parseSpecial: Bool, cache: inout BPEModel.Cache) -> [Int] {
        var out: [Int32] = []
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBufferPointer { buf in
            let b = UnsafeBufferPointer(buf)
            var segments: [(Range<Int>, Int?)] = []
            splitAdded(b, parseSpecial: parseSpecial, into: &segments)
            var previousWasAdded = true
            for (range, added) in segments {
                if let added {
                    out.append(Int32(addedTokens[added].id))
                    previousWasAdded = true
                    continue
                }
                encodeSegment(UnsafeBufferPointer(rebasing: b[range]), atStart: range.lowerBound == 0,
                              afterSpecial: previousWasAdded, into: &out, cache: &cache)
                previousWasAdded = false
            }
        }
        var ids = out.map(Int.init)
        if addSpecialTokens { ids = prefix + ids + suffix }
        return ids
    }

    /// Cuts text into runs of plain text and added tokens (leftmost match, longest first).
    func splitAdded(_ b: UnsafeBufferPointer<UInt8>, parseSpecial: Bool, into segments: inout [(Range<Int>, Int?)]) {
        if addedTokens.isEmpty {
            if !b.isEmpty { segments.append((0..<b.count, nil)) }
            return
        }
        var start = 0
        var i = 0
        let n = b.count
        let base = b.baseAddress!
        addedStart.withUnsafeBufferPointer { first in
            addedOrder.withUnsafeBufferPointer { order in
                addedPrefix.withUnsafeBufferPointer { prefix in
                    while i < n {
                        let lo = Int(first[Int(base[i])]), hi = Int(first[Int(base[i]) + 1])
                        if lo == hi {
                            i += 1
                            continue
                        }
                        // Candidates are compared on their first 8 bytes before anything else.
                        let w = loadWord(base + i, min(8, n - i))
                        var matched: (index: Int, end: Int)? = nil
                        for k in lo..<hi {
                            let t = Int(order[k])
                            let len = addedBytes[t].count
                            guard len <= n - i, w & (len >= 8 ? .max : (1 << (8 * UInt64(len))) - 1) == prefix[t] else { continue }
                            if len > 8 {
                                let equal = addedBytes[t].withUnsafeBufferPointer { memcmp($0.baseAddress! + 8, base + i + 8, len - 8) == 0 }
                                guard equal else { continue }
                            }
                            let tok = addedTokens[t]
                            if !parseSpecial, tok.special { continue }
                            if tok.singleWord, !isWordBoundary(b, i, i + len) { continue }
                            matched = (t, i + len)
                            break
                        }
                        guard let m = matched else {
                            i += 1
                            continue
                        }
                        let tok = addedTokens[m.index]
                        var left = i
                        if tok.lstrip { while left > start, isASCIISpace(b[left - 1]) { left -= 1 } }
                        var right = m.end
                        if tok.rstrip { while right < n, isASCIISpace(b[right]) { right += 1 } }
                        if start < left { segments.append((start..<left, nil)) }
                        segments.append((left..<right, m.index))
                        start = right
                        i = right
                    }
                }
            }
        }
        if start < n { segments.append((start..<n, nil)) }
    }

    private func isASCIISpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D }

    private func isWordBoundary(_ b: UnsafeBufferPointer<UInt8>, _ s: Int, _ e: Int) -> Bool {
        func wordByte(_ c: UInt8) -> Bool { c >= 0x80 || (c >= 0x30 && c <= 0x39) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A) || c == 0x5F }
        return (s == 0 || !wordByte(b[s - 1])) && (e == b.count || !wordByte(b[e]))
    }

    /// Normalizes, pre-tokenizes and runs the model over one run of plain text.
    func encodeSegment(
        _ raw: UnsafeBufferPointer<UInt8>, atStart: Bool, afterSpecial: Bool, into out: inout [Int32],
        cache: inout BPEModel.Cache
    ) {
        if case .sentencePiece(let spm) = model {
            let text = String(decoding: raw, as: UTF8.self)
            out.append(contentsOf: spm.encode(text, dummyPrefix: afterSpecial).map { Int32($0) })
            return
        }
        guard case .bpe(let bpe) = model else { return }
        var normalized: [UInt8]? = nil
        if !normalizers.isEmpty || pre.addPrefixSpace || pre.metaspace != nil {
            normalized = transform(raw, atStart: atStart)
        }
        func run(_ text: UnsafeBufferPointer<UInt8>) {
            if pre.steps.isEmpty && !(pre.metaspace?.split ?? false) {
                guard let marker = cutMarker, let m0 = marker.first, let base = text.baseAddress else {
                    bpe.encodeWord(text, into: &out, cache: &cache)
                    return
                }
                // Cut before each marker that follows another character.
                let m = marker.count
                var start = 0
                var i = 1
                while i + m <= text.count {
                    if text[i] == m0, bytesEqual(base + i, marker, m) {
                        if !(i >= m && bytesEqual(base + i - m, marker, m)) {
                            bpe.encodeWord(UnsafeBufferPointer(rebasing: text[start..<i]), into: &out, cache: &cache)
                            start = i
                        }
                        i += m
                    } else {
                        i += 1
                    }
                }
                bpe.encodeWord(UnsafeBufferPointer(rebasing: text[start...]), into: &out, cache: &cache)
                return
            }
            if pre.steps.count == 1, !pre.steps[0].removed, pre.steps[0].pattern.splitsBytes, pre.metaspace == nil {
                pre.steps[0].pattern.splitBytes(text) { r in
                    bpe.encodeWord(UnsafeBufferPointer(rebasing: text[r]), into: &out, cache: &cache)
                }
                return
            }
            var sb = ScalarBuffer()
            sb.load(text)
            var pieces: [Range<Int>] = [0..<sb.values.count]
            if let ms = pre.metaspace, ms.split {
                pieces = splitBeforeReplacement(sb, ms.replacement)
            }
            var next: [Range<Int>] = []
            for step in pre.steps {
                next.removeAll(keepingCapacity: true)
                for r in pieces {
                    if step.removed {
                        var tmp: [Range<Int>] = []
                        step.pattern.split(sb, r.lowerBound, r.upperBound, into: &tmp)
                        // keep only the text between matches: a match is a range the pattern accepts whole
                        for t in tmp where !patternMatchesWhole(step.pattern, sb, t) { next.append(t) }
                    } else {
                        step.pattern.split(sb, r.lowerBound, r.upperBound, into: &next)
                    }
                }
                swap(&pieces, &next)
            }
            for r in pieces where !r.isEmpty {
                let lo = Int(sb.offsets[r.lowerBound]), hi = Int(sb.offsets[r.upperBound])
                bpe.encodeWord(UnsafeBufferPointer(rebasing: text[lo..<hi]), into: &out, cache: &cache)
            }
        }
        if let normalized {
            normalized.withUnsafeBufferPointer { run($0) }
        } else {
            run(raw)
        }
    }

    private func patternMatchesWhole(_ p: SplitPattern, _ sb: ScalarBuffer, _ r: Range<Int>) -> Bool {
        var tmp: [Range<Int>] = []
        p.split(sb, r.lowerBound, r.upperBound, into: &tmp)
        return tmp.count == 1 && { () -> Bool in
            if case .regex(let rx) = p { return rx.matchesWhole(sb, r) }
            return true
        }()
    }

    private func splitBeforeReplacement(_ sb: ScalarBuffer, _ replacement: String) -> [Range<Int>] {
        guard let rep = replacement.unicodeScalars.first?.value else { return [0..<sb.values.count] }
        var out: [Range<Int>] = []
        var start = 0
        for (i, v) in sb.values.enumerated() where v == rep && i > start {
            out.append(start..<i)
            start = i
        }
        if start < sb.values.count { out.append(start..<sb.values.count) }
        return out
    }

    /// Normalizers, then the pre-tokenizer's own text transforms (prefix space, metaspace). Prefixes and
    /// replacements work on UTF-8 bytes: a space followed by a combining mark is still a space here,
    /// as in the reference implementation (Swift's `String` would see one grapheme).
    func transform(_ raw: UnsafeBufferPointer<UInt8>, atStart: Bool) -> [UInt8] {
        var b = Array(raw)
        for n in normalizers {
            switch n {
            case .prepend(let p): if !b.isEmpty { b = Array(p.utf8) + b }
            case .replace(let x, let y): b = replaceBytes(b, Array(x.utf8), Array(y.utf8))
            case .nfc: b = Array(String(decoding: b, as: UTF8.self).precomposedStringWithCanonicalMapping.utf8)
            case .nfd: b = Array(String(decoding: b, as: UTF8.self).decomposedStringWithCanonicalMapping.utf8)
            case .nfkc: b = Array(String(decoding: b, as: UTF8.self).precomposedStringWithCompatibilityMapping.utf8)
            case .nfkd: b = Array(String(decoding: b, as: UTF8.self).decomposedStringWithCompatibilityMapping.utf8)
            case .lowercase: b = Array(String(decoding: b, as: UTF8.self).lowercased().utf8)
            }
        }
        if pre.addPrefixSpace, b.first != 0x20 { b.insert(0x20, at: 0) }
        if let ms = pre.metaspace {
            let rep = Array(ms.replacement.utf8)
            b = replaceBytes(b, [0x20], rep)
            let prepend: Bool
            switch ms.scheme {
            case .always: prepend = true
            case .first: prepend = atStart
            case .never: prepend = false
            }
            if prepend, !b.starts(with: rep) { b = rep + b }
        }
        return b
    }

    // MARK: Decoding

    /// The text of token ids, as the reference tokenizer's `decode` gives it.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        if case .sentencePiece(let spm) = model {
            // Added tokens keep their text unless skipped; the dummy prefix's space is dropped only at
            // the very start of the text (after a special token it stays, as transformers decodes).
            var text = ""
            var run: [Int] = []
            func flush() {
                guard let first = run.first else { return }
                let piece = spm.decode(run)
                if !text.isEmpty, spm.stripsLeadingSpace, spm.pieceBytes(first).first == 0x20 { text += " " }
                text += piece
                run.removeAll()
            }
            for id in ids {
                if let a = addedIds[id] {
                    flush()
                    if !(skipSpecialTokens && addedTokens[a].special) { text += addedTokens[a].content }
                } else {
                    run.append(id)
                }
            }
            flush()
            return text
        }
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if let a = addedIds[id] {
                if skipSpecialTokens && addedTokens[a].special { continue }
                tokens.append(addedTokens[a].content)
            } else if id >= 0, id < vocabulary.count {
                tokens.append(vocabulary[id])
            }
        }
        return runDecoder(tokens)
    }

    func runDecoder(_ input: [String]) -> String {
        var tokens = input
        for step in decoder {
            switch step {
            case .byteLevel:
                var bytes: [UInt8] = []
                for t in tokens {
                    for u in t.unicodeScalars {
                        if let b = ByteLevel.byte(forScalar: u.value) { bytes.append(b) } else { bytes.append(contentsOf: String(u).utf8) }
                    }
                }
                tokens = [String(decoding: bytes, as: UTF8.self)]
            case .replace(let a, let b):
                let x = Array(a.utf8), y = Array(b.utf8)
                tokens = tokens.map { String(decoding: replaceBytes(Array($0.utf8), x, y), as: UTF8.self) }
            case .byteFallback:
                var out: [String] = []
                var pending: [UInt8] = []
                func flush() {
                    guard !pending.isEmpty else { return }
                    if let s = String(validatingUTF8: pending.map { CChar(bitPattern: $0) } + [0]), !pending.contains(0) {
                        out.append(s)
                    } else if let s = String(bytes: pending, encoding: .utf8) {
                        out.append(s)
                    } else {
                        out.append(contentsOf: Array(repeating: "\u{FFFD}", count: pending.count))
                    }
                    pending.removeAll()
                }
                for t in tokens {
                    if let b = parseByteToken(t) { pending.append(b) } else {
                        flush()
                        out.append(t)
                    }
                }
                flush()
                tokens = out
            case .fuse:
                tokens = [tokens.joined()]
            case .strip(let content, let start, let stop):
                guard let ch = content.unicodeScalars.first else { continue }
                tokens = tokens.map { t in
                    let scalars = Array(t.unicodeScalars)
                    var s = 0
                    while s < start, s < scalars.count, scalars[s] == ch { s += 1 }
                    var e = scalars.count
                    var k = 0
                    while k < stop, e > s, scalars[e - 1] == ch {
                        e -= 1
                        k += 1
                    }
                    var out = String.UnicodeScalarView()
                    out.append(contentsOf: scalars[s..<e])
                    return String(out)
                }
            case .metaspace(let replacement, let scheme):
                let rep = Array(replacement.utf8)
                tokens = tokens.enumerated().map { i, t in
                    var b = replaceBytes(Array(t.utf8), rep, [0x20])
                    if i == 0, scheme != .never, b.first == 0x20 { b.removeFirst() }
                    return String(decoding: b, as: UTF8.self)
                }
            }
        }
        return tokens.joined()
    }

    /// The bytes one token stands for in decoded text (byte-level alphabet undone, `<0xNN>` as its byte),
    /// for streaming output.
    public func tokenBytes(_ id: Int) -> [UInt8] {
        if let a = addedIds[id] { return Array(addedTokens[a].content.utf8) }
        switch model {
        case .bpe(let bpe):
            guard id >= 0, id < bpe.count else { return [] }
            var b = bpe.tokenBytes(id)
            if !byteLevel, let rep = pre.metaspace?.replacement ?? metaspaceFromNormalizers {
                b = replaceBytes(b, Array(rep.utf8), [0x20])
            }
            return b
        case .sentencePiece(let spm): return spm.pieceBytes(id)
        }
    }

    private var metaspaceFromNormalizers: String? {
        for n in normalizers { if case .replace(" ", let r) = n { return r } }
        return nil
    }
}

extension PatternRegex {
    /// Whether the whole range is one match.
    func matchesWhole(_ t: ScalarBuffer, _ r: Range<Int>) -> Bool {
        var out: [Range<Int>] = []
        split(t, r.lowerBound, r.upperBound, into: &out)
        return out.count == 1 && out[0] == r
    }
}

/// Every occurrence of `a` in `s` replaced by `b`, bytewise.
func replaceBytes(_ s: [UInt8], _ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
    guard !a.isEmpty, s.count >= a.count else { return s }
    var out: [UInt8] = []
    out.reserveCapacity(s.count)
    var i = 0
    let first = a[0]
    while i < s.count {
        if s[i] == first, i + a.count <= s.count, s[i..<(i + a.count)].elementsEqual(a) {
            out.append(contentsOf: b)
            i += a.count
        } else {
            out.append(s[i])
            i += 1
        }
    }
    return out
}
