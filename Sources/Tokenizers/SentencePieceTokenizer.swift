// Encoding and decoding with a SentencePiece BPE vocabulary, as the sentencepiece library does it (and
// llama.cpp's SPM tokenizer for `tokenizer.ggml.model = llama`):
//
//   normalize   identity rules only: with remove_extra_whitespaces, leading, trailing and repeated spaces go;
//               each space becomes U+2581 `▁`; add_dummy_prefix puts one `▁` before the text (after it with
//               treat_whitespace_as_suffix). User-defined pieces pass through as units.
//   split       into characters; a user-defined piece is matched greedily (longest first) and never merged
//   merge       repeatedly the adjacent pair whose concatenation is a normal, user-defined or unused piece
//               with the highest score, the leftmost on ties (a heap of candidate pairs over a linked list
//               of symbols that are byte ranges of the normalized text; pieces found by hashing the range)
//   ids         a symbol that is not a piece is unknown: with byte_fallback its UTF-8 bytes become `<0xNN>`
//               pieces, otherwise a run of unknown symbols becomes one unk id; unused pieces are split
//               back into the pair that formed them
//   decode      control pieces print nothing, unk prints unk_surface, runs of byte pieces are decoded as
//               UTF-8 with one U+FFFD per invalid byte, `▁` prints a space, and the first piece loses its
//               leading `▁` when add_dummy_prefix (or remove_extra_whitespaces) is set

/// A SentencePiece BPE tokenizer: `encode` and `decode` give what sentencepiece's
/// `SentencePieceProcessor.encode(text)` and `.decode(ids)` give for the same model.
public struct SentencePieceTokenizer: Sendable {
    /// Piece texts, UTF-8, back to back (plus one spare byte); piece i is `text[offsets[i] ..< offsets[i + 1]]`.
    let text: [UInt8]
    let offsets: [Int32]
    /// `SentencePieceModel.PieceType` raw values.
    let types: [UInt8]
    let scores: [Float]
    /// Open addressing from piece text to id (−1: empty slot); the count is a power of two.
    let slots: [Int32]
    /// The id that stands for text outside the vocabulary, or −1 when every byte has a byte piece instead.
    let unkId: Int
    /// The `<0xNN>` piece of each byte, or −1.
    let byteIds: [Int32]
    /// The byte each byte piece stands for, by id (0 for other pieces).
    let byteOfPiece: [UInt8]
    /// User-defined pieces by their first byte, longest first (empty when there are none).
    let userDefined: [[Int32]]
    let hasUnused: Bool
    /// No piece merges may form joins a `▁` to the character before it (after it), so the text can be
    /// merged in spans cut there; false when the vocabulary has unused pieces.
    let splitBeforeSpace: Bool, splitAfterSpace: Bool
    /// The longest piece a merge can produce, in bytes.
    let maxMergeBytes: Int
    let addDummyPrefix: Bool, removeExtraWhitespaces: Bool, escapeWhitespaces: Bool
    let treatWhitespaceAsSuffix: Bool, byteFallback: Bool
    let unkSurface: [UInt8]

    /// The number of pieces; ids are `0 ..< vocabularySize`.
    public var vocabularySize: Int { types.count }

    /// A tokenizer for `model`, which must be a BPE model with identity normalization. Unigram, word and
    /// char models are refused, and so is a normalizer or denormalizer with precompiled rules (nmt_nfkc …).
    public init(model: SentencePieceModel, path: String) throws(TokenizerError) {
        try model.validate(path: path)
        switch model.modelType {
        case .bpe: break
        case .unigram: throw TokenizerError(path, "unigram SentencePiece models are not supported yet (only BPE)")
        case .word, .char:
            throw TokenizerError(path, "\(model.modelType) SentencePiece models are not supported (only BPE)")
        }
        if !model.precompiledCharsmap.isEmpty {
            let name = model.normalizerName.isEmpty ? "" : " '\(model.normalizerName)'"
            throw TokenizerError(path,
                "the normalizer\(name) rewrites text with precompiled rules (\(model.precompiledCharsmap.count) bytes of precompiled_charsmap, e.g. NFKC), which WeightKit does not implement: only identity normalization is supported")
        }
        if !model.denormalizerCharsmap.isEmpty {
            throw TokenizerError(path,
                "the denormalizer rewrites decoded text with precompiled rules (\(model.denormalizerCharsmap.count) bytes), which WeightKit does not implement")
        }
        let unk = model.pieces.firstIndex { $0.type == .unknown } ?? -1
        try self.init(
            pieces: model.pieces.map { (Array($0.piece.utf8), $0.score, UInt8($0.type.rawValue)) }, unkId: unk,
            addDummyPrefix: model.addDummyPrefix, removeExtraWhitespaces: model.removeExtraWhitespaces,
            escapeWhitespaces: model.escapeWhitespaces, treatWhitespaceAsSuffix: model.treatWhitespaceAsSuffix,
            byteFallback: model.byteFallback, unkSurface: model.unkSurface, path: path)
    }

    /// A tokenizer from the arrays a GGUF file with `tokenizer.ggml.model = llama` holds:
    /// `tokenizer.ggml.tokens`, `.scores`, `.token_type` (1 normal, 2 unknown, 3 control, 4 user-defined,
    /// 5 unused, 6 byte), `add_space_prefix` (llama.cpp's default is true) and `unknown_token_id`.
    /// Pass `byteFallback` true when the vocabulary has `<0xNN>` byte tokens (llama.cpp always falls back to
    /// them). Spaces are never collapsed (remove_extra_whitespaces is false, as in llama.cpp). With
    /// `unkId` nil the token of type unknown is used.
    public init(
        tokens: [String], scores: [Float], types: [Int32], addDummyPrefix: Bool, byteFallback: Bool, unkId: Int?,
        path: String
    ) throws(TokenizerError) {
        let n = tokens.count
        if n == 0 { throw TokenizerError(path, "the vocabulary is empty (tokenizer.ggml.tokens has no entries)") }
        if n > SentencePieceModel.maxPieces {
            throw TokenizerError(path, "the vocabulary has \(n) tokens, more than the \(SentencePieceModel.maxPieces) WeightKit accepts")
        }
        if scores.count != n {
            throw TokenizerError(path, "tokenizer.ggml.scores has \(scores.count) entries but tokenizer.ggml.tokens has \(n)")
        }
        if types.count != n {
            throw TokenizerError(path, "tokenizer.ggml.token_type has \(types.count) entries but tokenizer.ggml.tokens has \(n)")
        }
        var pieces: [([UInt8], Float, UInt8)] = []
        pieces.reserveCapacity(n)
        var unknown = -1
        for i in 0..<n {
            guard (1...6).contains(types[i]) else {
                throw TokenizerError(path, "token \(i) \(SentencePieceModel.quote(tokens[i])) has type \(types[i]), not one of 1 (normal) … 6 (byte)")
            }
            if types[i] == 2 && unknown < 0 { unknown = i }
            pieces.append((Array(tokens[i].utf8), scores[i], UInt8(types[i])))
        }
        if let u = unkId {
            guard u >= 0 && u < n else {
                throw TokenizerError(path, "the unknown token id \(u) is outside the vocabulary of \(n) tokens")
            }
            unknown = u
        }
        try self.init(
            pieces: pieces, unkId: unknown, addDummyPrefix: addDummyPrefix, removeExtraWhitespaces: false,
            escapeWhitespaces: true, treatWhitespaceAsSuffix: false, byteFallback: byteFallback,
            unkSurface: SentencePieceModel.defaultUnkSurface, path: path)
    }

    private init(
        pieces: [([UInt8], Float, UInt8)], unkId: Int, addDummyPrefix: Bool, removeExtraWhitespaces: Bool,
        escapeWhitespaces: Bool, treatWhitespaceAsSuffix: Bool, byteFallback: Bool, unkSurface: String, path: String
    ) throws(TokenizerError) {
        let n = pieces.count
        var text: [UInt8] = []
        var offsets: [Int32] = [0]
        var types: [UInt8] = []
        var scores: [Float] = []
        offsets.reserveCapacity(n + 1)
        types.reserveCapacity(n)
        scores.reserveCapacity(n)
        var byteIds = [Int32](repeating: -1, count: 256)
        var byteOfPiece = [UInt8](repeating: 0, count: n)
        var userDefinedIds: [Int32] = []
        var hasUnused = false
        var maxMerge = 0
        for (i, (bytes, score, type)) in pieces.enumerated() {
            if bytes.isEmpty { throw TokenizerError(path, "piece \(i) is empty") }
            if bytes.count >= SentencePieceModel.maxPieceBytes {
                throw TokenizerError(path, "piece \(i) is \(bytes.count) bytes long; pieces must be shorter than \(SentencePieceModel.maxPieceBytes) bytes")
            }
            guard text.count + bytes.count < Int(Int32.max) else {
                throw TokenizerError(path, "the pieces hold more than 2 GiB of text")
            }
            text += bytes
            offsets.append(Int32(text.count))
            types.append(type)
            scores.append(score)
            switch type {
            case 1, 4, 5:  // normal, user-defined, unused: these are what merges may form
                if score.isNaN { throw TokenizerError(path, "piece \(i) \(SentencePieceModel.quote(String(decoding: bytes, as: UTF8.self))) has a NaN score, which leaves the merge order undefined") }
                maxMerge = max(maxMerge, bytes.count)
                if type == 4 { userDefinedIds.append(Int32(i)) }
                if type == 5 { hasUnused = true }
            case 6:
                guard let b = SentencePieceModel.byteValue(String(decoding: bytes, as: UTF8.self)) else {
                    throw TokenizerError(path, "piece \(i) has type byte but reads \(SentencePieceModel.quote(String(decoding: bytes, as: UTF8.self))), not <0xNN>")
                }
                if byteIds[Int(b)] < 0 { byteIds[Int(b)] = Int32(i) }
                byteOfPiece[i] = b
            default: break
            }
        }
        text.append(0)  // never empty, so its base address always exists

        // The hash table: at most half full.
        var capacity = 16
        while capacity < 2 * n { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        try text.withUnsafeBufferPointer { (t) throws(TokenizerError) in
            for i in 0..<n {
                let p = t.baseAddress.unsafelyUnwrapped + Int(offsets[i])
                let len = Int(offsets[i + 1] - offsets[i])
                var h = Int(truncatingIfNeeded: Self.hash(p, len)) & mask
                while slots[h] >= 0 {
                    let j = Int(slots[h])
                    if Int(offsets[j + 1] - offsets[j]) == len && Self.equal(p, t.baseAddress.unsafelyUnwrapped + Int(offsets[j]), len) {
                        throw TokenizerError(path, "pieces \(j) and \(i) are both \(SentencePieceModel.quote(String(decoding: UnsafeBufferPointer(start: p, count: len), as: UTF8.self))): duplicate pieces")
                    }
                    h = (h + 1) & mask
                }
                slots[h] = Int32(i)
            }
        }

        if unkId < 0 {
            if !byteFallback {
                throw TokenizerError(path, "no piece has type unknown, so text outside the vocabulary cannot be encoded")
            }
            if let missing = byteIds.firstIndex(of: -1) {
                throw TokenizerError(path, "no piece has type unknown and there is no byte piece for 0x\(SentencePieceModel.hex2(UInt8(missing))), so that byte cannot be encoded")
            }
        }

        var userDefined: [[Int32]] = []
        if !userDefinedIds.isEmpty {
            userDefined = [[Int32]](repeating: [], count: 256)
            for id in userDefinedIds.sorted(by: { offsets[Int($0) + 1] - offsets[Int($0)] > offsets[Int($1) + 1] - offsets[Int($1)] }) {
                userDefined[Int(text[Int(offsets[Int(id)])])].append(id)
            }
        }

        self.text = text
        self.offsets = offsets
        self.types = types
        self.scores = scores
        self.slots = slots
        self.unkId = unkId
        self.byteIds = byteIds
        self.byteOfPiece = byteOfPiece
        self.userDefined = userDefined
        self.hasUnused = hasUnused
        let (before, after) = Self.spaceJoins(pieces, space: escapeWhitespaces ? [0xE2, 0x96, 0x81] : [0x20])
        splitBeforeSpace = !hasUnused && !before
        splitAfterSpace = !hasUnused && !after
        self.maxMergeBytes = maxMerge
        self.addDummyPrefix = addDummyPrefix
        self.removeExtraWhitespaces = removeExtraWhitespaces
        self.escapeWhitespaces = escapeWhitespaces
        self.treatWhitespaceAsSuffix = treatWhitespaceAsSuffix
        self.byteFallback = byteFallback
        self.unkSurface = Array(unkSurface.utf8)
    }

    /// Whether some piece merges may form (normal, user-defined, unused) holds the space symbol after
    /// another character (`before`), or before another character (`after`).
    static func spaceJoins(_ pieces: [([UInt8], Float, UInt8)], space: [UInt8]) -> (before: Bool, after: Bool) {
        var before = false, after = false
        let w = space.count
        for (p, _, type) in pieces where type == 1 || type == 4 || type == 5 {
            var i = 0
            while i + w <= p.count {
                if p[i..<(i + w)].elementsEqual(space) {
                    let spaceBefore = i >= w && p[(i - w)..<i].elementsEqual(space)
                    let spaceAfter = i + 2 * w <= p.count && p[(i + w)..<(i + 2 * w)].elementsEqual(space)
                    if i > 0 && !spaceBefore { before = true }
                    if i + w < p.count && !spaceAfter { after = true }
                    i += w
                } else {
                    i += 1
                }
            }
            if before && after { break }
        }
        return (before, after)
    }

    /// `n` bytes at `a` and `b` are equal.
    @inline(__always)
    static func equal(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = 0
        while i < n {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }

    /// FNV-1a, 64-bit.
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<n { h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01b3 }
        return h
    }

    // MARK: Encoding

    /// Encodes plain text (no special-token parsing, no BOS/EOS), as `SentencePieceProcessor.encode(text)`.
    /// (Text of 2 GiB or more in one call is a programmer error.)
    public func encode(_ text: String) -> [Int] {
        var text = text
        return text.withUTF8 { input in
            let normalized = normalize(input)
            if normalized.isEmpty { return [] }
            return normalized.withUnsafeBufferPointer { segment($0) }
        }
    }

    /// The normalized text, as sentencepiece's normalizer makes it with identity rules.
    func normalize(_ input: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let n = input.count
        guard n > 0, let base = input.baseAddress else { return [] }
        var i = 0
        if removeExtraWhitespaces {
            while i < n && base[i] == 0x20 && unitLength(base + i, n - i) == 1 { i += 1 }
        }
        if i == n { return [] }
        var out: [UInt8] = []
        out.reserveCapacity(n + n / 2 + 8)
        if addDummyPrefix && !treatWhitespaceAsSuffix { appendSpace(&out) }
        var prevSpace = removeExtraWhitespaces
        if userDefined.isEmpty {
            // Every unit is one character, and only the space character holds the byte 0x20.
            while i < n {
                let c = base[i]
                if c == 0x20 {
                    if !prevSpace { appendSpace(&out) }
                    prevSpace = removeExtraWhitespaces
                } else {
                    out.append(c)
                    prevSpace = false
                }
                i += 1
            }
        } else {
            while i < n {
                let e = i + unitLength(base + i, n - i)
                var s = i
                if prevSpace { while s < e && base[s] == 0x20 { s += 1 } }
                if s < e {
                    for k in s..<e {
                        if base[k] == 0x20 { appendSpace(&out) } else { out.append(base[k]) }
                    }
                    prevSpace = base[e - 1] == 0x20
                }
                i = e
                if !removeExtraWhitespaces { prevSpace = false }
            }
        }
        if removeExtraWhitespaces {
            if escapeWhitespaces {
                while out.count >= 3 && out[out.count - 3] == 0xE2 && out[out.count - 2] == 0x96 && out[out.count - 1] == 0x81 {
                    out.removeLast(3)
                }
            } else {
                while out.last == 0x20 { out.removeLast() }
            }
        }
        if addDummyPrefix && treatWhitespaceAsSuffix { appendSpace(&out) }
        return out
    }

    @inline(__always)
    private func appendSpace(_ out: inout [UInt8]) {
        if escapeWhitespaces {
            out.append(0xE2)
            out.append(0x96)
            out.append(0x81)
        } else {
            out.append(0x20)
        }
    }

    /// The length of the unit at `p`: the longest user-defined piece there, else one UTF-8 character
    /// (by its lead byte, as sentencepiece counts it), never more than `left`.
    @inline(__always)
    private func unitLength(_ p: UnsafePointer<UInt8>, _ left: Int) -> Int {
        if !userDefined.isEmpty {
            let m = userDefinedMatch(p, left)
            if m > 0 { return m }
        }
        return min(Self.charLength(p[0]), left)
    }

    @inline(__always)
    static func charLength(_ lead: UInt8) -> Int {
        lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
    }

    /// The length of the longest user-defined piece at `p`, or 0.
    private func userDefinedMatch(_ p: UnsafePointer<UInt8>, _ left: Int) -> Int {
        for id in userDefined[Int(p[0])] {
            let s = Int(offsets[Int(id)])
            let len = Int(offsets[Int(id) + 1]) - s
            if len <= left {
                let hit = text.withUnsafeBufferPointer { t in Self.equal(p, t.baseAddress.unsafelyUnwrapped + s, len) }
                if hit { return len }
            }
        }
        return 0
    }

    /// Borrowed pointers to the vocabulary, valid inside `withVocabulary`.
    struct VocabularyView {
        let text: UnsafePointer<UInt8>
        let offsets: UnsafePointer<Int32>
        let types: UnsafePointer<UInt8>
        let scores: UnsafePointer<Float>
        let slots: UnsafePointer<Int32>
        let mask: Int

        /// The id of the piece whose text is the `n` bytes at `p`, or −1.
        @inline(__always)
        func find(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32 {
            var h = Int(truncatingIfNeeded: SentencePieceTokenizer.hash(p, n)) & mask
            while true {
                let id = slots[h]
                if id < 0 { return -1 }
                let s = Int(offsets[Int(id)])
                if Int(offsets[Int(id) + 1]) - s == n && SentencePieceTokenizer.equal(p, text + s, n) { return id }
                h = (h + 1) & mask
            }
        }
    }

    private func withVocabulary<R>(_ body: (VocabularyView) -> R) -> R {
        // Every array is non-empty (at least one piece, a spare text byte, 16 slots).
        text.withUnsafeBufferPointer { t in
            offsets.withUnsafeBufferPointer { o in
                types.withUnsafeBufferPointer { ty in
                    scores.withUnsafeBufferPointer { sc in
                        slots.withUnsafeBufferPointer { sl in
                            body(
                                VocabularyView(
                                    text: t.baseAddress.unsafelyUnwrapped, offsets: o.baseAddress.unsafelyUnwrapped,
                                    types: ty.baseAddress.unsafelyUnwrapped, scores: sc.baseAddress.unsafelyUnwrapped,
                                    slots: sl.baseAddress.unsafelyUnwrapped, mask: sl.count - 1))
                        }
                    }
                }
            }
        }
    }

    /// A merge candidate: symbols `left` and `right` (adjacent when queued) form a piece of `size` bytes.
    struct Candidate {
        var score: Float
        var left: Int32
        var right: Int32
        var size: Int32
    }

    /// BPE over the symbols of a normalized text: a doubly linked list of byte ranges and a max-heap of
    /// candidate pairs. A queued pair is stale once either side has changed, which the sizes reveal
    /// (symbols only grow), exactly as sentencepiece checks it. The symbol arrays are allocated once per
    /// text; `run` merges one span of them.
    struct Merger {
        let v: VocabularyView
        let buf: UnsafePointer<UInt8>
        let maxMergeBytes: Int32
        let recordUnused: Bool
        let start: UnsafeMutablePointer<Int32>
        let len: UnsafeMutablePointer<Int32>
        let prev: UnsafeMutablePointer<Int32>
        let next: UnsafeMutablePointer<Int32>
        let frozen: UnsafeMutablePointer<Bool>
        var heap: [Candidate] = []
        /// For pieces of type unused: the pair that last formed them (start, left length, right length).
        var formedBy: [Int32: (Int32, Int32, Int32)] = [:]

        /// `a` leaves the heap before `b`: higher score, then further left.
        @inline(__always)
        static func before(_ a: Candidate, _ b: Candidate) -> Bool {
            a.score > b.score || (a.score == b.score && a.left < b.left)
        }

        mutating func push(_ c: Candidate) {
            heap.append(c)
            heap.withUnsafeMutableBufferPointer { h in
                var i = h.count - 1
                while i > 0 {
                    let parent = (i - 1) >> 1
                    if !Self.before(c, h[parent]) { break }
                    h[i] = h[parent]
                    i = parent
                }
                h[i] = c
            }
        }

        mutating func pop() -> Candidate {
            let last = heap.removeLast()
            if heap.isEmpty { return last }
            return heap.withUnsafeMutableBufferPointer { h in
                let top = h[0]
                let n = h.count
                var i = 0
                while true {
                    var child = 2 * i + 1
                    if child >= n { break }
                    if child + 1 < n && Self.before(h[child + 1], h[child]) { child += 1 }
                    if !Self.before(h[child], last) { break }
                    h[i] = h[child]
                    i = child
                }
                h[i] = last
                return top
            }
        }

        /// Queues the pair (l, r) when their concatenation is a piece merges may form.
        @inline(__always)
        mutating func consider(_ l: Int32, _ r: Int32) {
            if l < 0 || r < 0 { return }
            let li = Int(l), ri = Int(r)
            if frozen[li] || frozen[ri] { return }
            let size = len[li] + len[ri]
            if size > maxMergeBytes { return }
            let id = v.find(buf + Int(start[li]), Int(size))
            if id < 0 { return }
            let type = v.types[Int(id)]
            guard type == 1 || type == 4 || type == 5 else { return }
            push(Candidate(score: v.scores[Int(id)], left: l, right: r, size: size))
            if type == 5 && recordUnused { formedBy[id] = (start[li], len[li], len[ri]) }
        }

        /// Merges the symbols `a ..< b`, which are linked to each other only.
        mutating func run(_ a: Int, _ b: Int) {
            for k in a..<b {
                prev[k] = k == a ? -1 : Int32(k - 1)
                next[k] = k + 1 == b ? -1 : Int32(k + 1)
            }
            if b - a < 2 { return }
            for k in (a + 1)..<b { consider(Int32(k - 1), Int32(k)) }
            while !heap.isEmpty {
                let top = pop()
                let l = Int(top.left), r = Int(top.right)
                if len[l] == 0 || len[r] == 0 || len[l] + len[r] != top.size { continue }
                len[l] = top.size
                len[r] = 0
                let after = next[r]
                next[l] = after
                if after >= 0 { prev[Int(after)] = top.left }
                consider(prev[l], top.left)
                consider(top.left, after)
            }
        }
    }

    /// Spans already merged in this text, by their bytes, with their items (see `emit`). Spans repeat
    /// (words), and a span's merges depend on its bytes alone.
    struct SpanCache {
        /// Allocated at the first insertion: most texts are short and need no cache.
        var slots: [Int32] = []
        var hashes: [UInt64] = []
        /// Per entry: key start and length in `keys`, items start and count in `items`.
        var ranges: [(Int32, Int32, Int32, Int32)] = []
        var keys: [UInt8] = []
        var items: [Int32] = []
        static let maxKeyBytes = 256
        static let maxEntries = 1 << 16

        func find(_ h: UInt64, _ p: UnsafePointer<UInt8>, _ n: Int) -> Range<Int>? {
            if slots.isEmpty { return nil }
            let mask = slots.count - 1
            var i = Int(truncatingIfNeeded: h) & mask
            while true {
                let e = Int(slots[i])
                if e < 0 { return nil }
                if hashes[e] == h {
                    let (ks, kl, s, c) = ranges[e]
                    if Int(kl) == n && keys.withUnsafeBufferPointer({ SentencePieceTokenizer.equal(p, $0.baseAddress.unsafelyUnwrapped + Int(ks), n) }) {
                        return Int(s)..<Int(s + c)
                    }
                }
                i = (i + 1) & mask
            }
        }

        mutating func insert(_ h: UInt64, _ p: UnsafePointer<UInt8>, _ n: Int, _ found: ArraySlice<Int32>) {
            if ranges.count >= Self.maxEntries { return }
            if 2 * (ranges.count + 1) > slots.count {
                slots = [Int32](repeating: -1, count: max(64, slots.count * 2))
                for e in 0..<ranges.count { place(e) }
            }
            guard keys.count + n < Int(Int32.max), items.count + found.count < Int(Int32.max) else { return }
            ranges.append((Int32(keys.count), Int32(n), Int32(items.count), Int32(found.count)))
            hashes.append(h)
            keys.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
            items.append(contentsOf: found)
            place(ranges.count - 1)
        }

        private mutating func place(_ e: Int) {
            let mask = slots.count - 1
            var i = Int(truncatingIfNeeded: hashes[e]) & mask
            while slots[i] >= 0 { i = (i + 1) & mask }
            slots[i] = Int32(e)
        }
    }

    /// BPE over the normalized text `buf`, then ids. When the vocabulary allows it (`splitBeforeSpace`,
    /// `splitAfterSpace`), the text is cut into spans no merge can cross (at a `▁` that no piece joins to
    /// the character before, or after; beside a user-defined piece) and each span is merged alone (once per
    /// distinct span), which gives the same merges as the whole text but keeps the heap small. With unused
    /// pieces, whose resegmentation depends on the order of all merges, the text is merged whole.
    func segment(_ buf: UnsafeBufferPointer<UInt8>) -> [Int] {
        let n = buf.count
        precondition(n < Int(Int32.max), "SentencePieceTokenizer.encode: text of 2 GiB or more")
        guard n > 0, let base = buf.baseAddress else { return [] }
        // Symbols: one per character, or per user-defined piece (frozen).
        let arrays = UnsafeMutablePointer<Int32>.allocate(capacity: 4 * n)
        let frozen = UnsafeMutablePointer<Bool>.allocate(capacity: n)
        defer {
            arrays.deallocate()
            frozen.deallocate()
        }
        let start = arrays, len = arrays + n
        var count = 0
        var i = 0
        while i < n {
            var l = userDefined.isEmpty ? 0 : userDefinedMatch(base + i, n - i)
            frozen[count] = l > 0
            if l == 0 { l = min(Self.charLength(base[i]), n - i) }
            start[count] = Int32(i)
            len[count] = Int32(l)
            count += 1
            i += l
        }
        let split = !hasUnused && (splitBeforeSpace || splitAfterSpace || !userDefined.isEmpty)
        return withVocabulary { v in
            var m = Merger(
                v: v, buf: base, maxMergeBytes: Int32(maxMergeBytes), recordUnused: hasUnused, start: start, len: len,
                prev: arrays + 2 * n, next: arrays + 3 * n, frozen: frozen)
            var ids: [Int] = []
            ids.reserveCapacity(count)
            var items: [Int32] = []
            var cache = SpanCache()
            var previousUnknown = false
            let escaped = escapeWhitespaces
            /// Symbol k is the space symbol (`▁`, or a space when spaces are not escaped).
            @inline(__always) func isSpace(_ k: Int) -> Bool {
                if frozen[k] { return false }
                let s = Int(start[k])
                if escaped { return len[k] == 3 && base[s] == 0xE2 && base[s + 1] == 0x96 && base[s + 2] == 0x81 }
                return len[k] == 1 && base[s] == 0x20
            }
            var a = 0
            while a < count {
                var b = a + 1
                if split {
                    while b < count {
                        if frozen[b] || frozen[b - 1] { break }
                        if splitBeforeSpace && isSpace(b) && !isSpace(b - 1) { break }
                        if splitAfterSpace && isSpace(b - 1) && !isSpace(b) { break }
                        b += 1
                    }
                } else {
                    b = count
                }
                let s0 = Int(start[a])
                let bytes = Int(start[b - 1] + len[b - 1]) - s0
                let cacheable = split && bytes <= SpanCache.maxKeyBytes
                let h = cacheable ? Self.hash(base + s0, bytes) : 0
                if cacheable, let r = cache.find(h, base + s0, bytes) {
                    append(cache.items[r], to: &ids, &previousUnknown)
                } else {
                    m.run(a, b)
                    items.removeAll(keepingCapacity: true)
                    var k = Int32(a)
                    while k >= 0 {
                        emit(Int(start[Int(k)]), Int(len[Int(k)]), m, v, base, &items)
                        k = m.next[Int(k)]
                    }
                    append(items[...], to: &ids, &previousUnknown)
                    if cacheable { cache.insert(h, base + s0, bytes, items[...]) }
                }
                a = b
            }
            return ids
        }
    }

    /// The items of the symbol `buf[s ..< s + n]`: ids, with unused pieces split back into the pair that
    /// formed them and, under byte_fallback, an unknown symbol as the ids of its bytes' pieces; otherwise
    /// an unknown symbol is −1, or −2 − id when it is the unknown piece's own text.
    private func emit(
        _ s: Int, _ n: Int, _ m: Merger, _ v: VocabularyView, _ buf: UnsafePointer<UInt8>, _ items: inout [Int32]
    ) {
        let id = v.find(buf + s, n)
        if id >= 0 && v.types[Int(id)] == 5, let pair = m.formedBy[id] {
            emit(Int(pair.0), Int(pair.1), m, v, buf, &items)
            emit(Int(pair.0 + pair.1), Int(pair.2), m, v, buf, &items)
            return
        }
        if id >= 0 && v.types[Int(id)] != 2 {
            items.append(id)
        } else if byteFallback {
            // unkId is −1 only when every byte has its piece.
            for k in s..<(s + n) {
                let b = byteIds[Int(buf[k])]
                items.append(b >= 0 ? b : Int32(unkId))
            }
        } else {
            items.append(id >= 0 ? -2 - id : -1)
        }
    }

    /// Appends items as ids: a run of unknown symbols becomes one unknown id, as sentencepiece merges it.
    @inline(__always)
    private func append(_ items: ArraySlice<Int32>, to ids: inout [Int], _ previousUnknown: inout Bool) {
        for x in items {
            if x >= 0 {
                ids.append(Int(x))
                previousUnknown = false
            } else {
                if !previousUnknown { ids.append(x == -1 ? unkId : Int(-2 - x)) }
                previousUnknown = true
            }
        }
    }

    // MARK: Decoding

    /// Decodes ids as `SentencePieceProcessor.decode(ids)`. Ids outside the vocabulary (which sentencepiece
    /// refuses with an error) print nothing.
    public func decode(_ ids: [Int]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        var pending: [UInt8] = []
        var expectLeadingSpace = true  // sentencepiece's is_bos_ws
        var consumedLeadingSpace = false  // bos_ws_seen
        let stripsLeadingSpace = addDummyPrefix || removeExtraWhitespaces
        let count = types.count
        for id in ids {
            guard id >= 0 && id < count else { continue }
            let type = types[id]
            if type == 6 {
                pending.append(byteOfPiece[id])
                continue
            }
            if !pending.isEmpty {
                Self.appendDecodedBytes(pending, to: &out)
                pending.removeAll(keepingCapacity: true)
            }
            if consumedLeadingSpace || !out.isEmpty { expectLeadingSpace = false }
            consumedLeadingSpace = false
            switch type {
            case 3: break  // control: invisible
            case 2: out += unkSurface
            default:
                var start = Int(offsets[id])
                let end = Int(offsets[id + 1])
                if expectLeadingSpace && stripsLeadingSpace && end - start >= 3 && text[start] == 0xE2
                    && text[start + 1] == 0x96 && text[start + 2] == 0x81
                {
                    start += 3
                    // With remove_extra_whitespaces every leading space goes, not only the first.
                    consumedLeadingSpace = !removeExtraWhitespaces
                }
                Self.appendUnescaped(text, start, end, to: &out)
            }
        }
        if !pending.isEmpty { Self.appendDecodedBytes(pending, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The text of one piece as it appears in output, for streaming: `▁` → space, a byte piece its byte,
    /// a control piece nothing, the unknown piece unk_surface, an id outside the vocabulary nothing. The
    /// leading space `decode` drops from the first piece is kept.
    public func pieceBytes(_ id: Int) -> [UInt8] {
        guard id >= 0 && id < types.count else { return [] }
        switch types[id] {
        case 6: return [byteOfPiece[id]]
        case 3: return []
        case 2: return unkSurface
        default:
            var out: [UInt8] = []
            Self.appendUnescaped(text, Int(offsets[id]), Int(offsets[id + 1]), to: &out)
            return out
        }
    }

    /// `text[start..<end]` with every `▁` (E2 96 81) replaced by a space.
    private static func appendUnescaped(_ text: [UInt8], _ start: Int, _ end: Int, to out: inout [UInt8]) {
        var i = start
        while i < end {
            if text[i] == 0xE2 && i + 2 < end && text[i + 1] == 0x96 && text[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(text[i])
                i += 1
            }
        }
    }

    /// Bytes of a run of byte pieces as UTF-8, one character at a time; a byte that does not start a
    /// valid character (overlong, surrogate, past U+10FFFF, cut off) becomes U+FFFD and the next byte is
    /// tried, as sentencepiece does.
    static func appendDecodedBytes(_ b: [UInt8], to out: inout [UInt8]) {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            var len = 0
            if c < 0x80 {
                len = 1
            } else if c & 0xE0 == 0xC0 {
                if n - i >= 2 && b[i + 1] & 0xC0 == 0x80 {
                    let cp = UInt32(c & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F)
                    if cp >= 0x80 { len = 2 }
                }
            } else if c & 0xF0 == 0xE0 {
                if n - i >= 3 && b[i + 1] & 0xC0 == 0x80 && b[i + 2] & 0xC0 == 0x80 {
                    let cp = UInt32(c & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F)
                    if cp >= 0x800 && !(0xD800...0xDFFF).contains(cp) { len = 3 }
                }
            } else if c & 0xF8 == 0xF0 {
                if n - i >= 4 && b[i + 1] & 0xC0 == 0x80 && b[i + 2] & 0xC0 == 0x80 && b[i + 3] & 0xC0 == 0x80 {
                    let cp = UInt32(c & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12 | UInt32(b[i + 2] & 0x3F) << 6
                        | UInt32(b[i + 3] & 0x3F)
                    if cp >= 0x10000 && cp <= 0x10FFFF { len = 4 }
                }
            }
            if len == 0 {
                out += [0xEF, 0xBF, 0xBD]
                i += 1
            } else {
                out += b[i..<(i + len)]
                i += len
            }
        }
    }
}
