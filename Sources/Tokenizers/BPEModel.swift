// Byte-pair encoding with merge ranks, as Hugging Face's `tokenizers` BPE model and llama.cpp's BPE
// vocabularies (`tokenizer.ggml.model = gpt2`) apply it to one pre-tokenized word:
//
//   1. the word becomes symbols: with a byte-level alphabet one symbol per byte (GPT-2, Llama-3);
//      otherwise one per Unicode character, and a character missing from the vocabulary becomes its
//      UTF-8 bytes as `<0xNN>` tokens (byte fallback) or the unknown token;
//   2. while some adjacent pair of symbols has a merge, the pair with the lowest rank is merged
//      (leftmost first among equal ranks);
//   3. with `ignoreMerges` (Llama-3) a word that is itself in the vocabulary is taken whole first.

#if canImport(Glibc)
    import Glibc
#endif

/// A BPE vocabulary with its merges.
final class BPEModel: Sendable {

    /// Token text by id, as stored in the vocabulary (byte-level tokens in GPT-2's alphabet).
    let tokens: [String]
    let ids: [String: Int32]
    /// (left << 32 | right) → (rank << 32 | merged id).
    let merges: [UInt64: UInt64]
    /// The merges as pairs of ids in rank order, as read (for writing the vocabulary out again).
    let mergeList: [(Int32, Int32)]
    let byteLevel: Bool
    let ignoreMerges: Bool
    let byteFallback: Bool
    let unknownId: Int32?
    let fuseUnknown: Bool
    /// Byte-level: the id of each byte's alphabet character. Byte fallback: the id of `<0xNN>`.
    let byteIds: [Int32]
    /// The bytes each token decodes to (byte-level alphabet undone; `<0xNN>` as its byte).
    let tokenBytes: [[UInt8]]

    /// Words already encoded during one `encode` call.
    typealias Cache = [WordKey: [Int32]]
    static let cacheLimit = 1 << 17

    /// - Parameters: `merges` as pairs of token texts in rank order.
    init(
        tokens: [String], merges: [(String, String)], byteLevel: Bool, ignoreMerges: Bool = false,
        byteFallback: Bool = false, unknownId: Int32? = nil, fuseUnknown: Bool = false, path: String
    ) throws(TokenizerError) {
        self.tokens = tokens
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        // A text that appears twice keeps its first id (GGUF vocabularies can repeat a text; a
        // tokenizer.json vocabulary cannot, being a JSON object).
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = Int32(i) }
        self.ids = ids
        var m: [UInt64: UInt64] = [:]
        m.reserveCapacity(merges.count)
        var list: [(Int32, Int32)] = []
        list.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            guard let ia = ids[a], let ib = ids[b] else {
                let missing = ids[a] == nil ? a : b
                throw TokenizerError(path, "merge \(rank) (\(quoted(a)) \(quoted(b))) names \(quoted(missing)), which is not in the vocabulary")
            }
            guard let im = ids[a + b] else {
                throw TokenizerError(path, "merge \(rank) (\(quoted(a)) \(quoted(b))) makes \(quoted(a + b)), which is not in the vocabulary")
            }
            list.append((ia, ib))
            let key = UInt64(UInt32(ia)) << 32 | UInt64(UInt32(ib))
            if m[key] == nil { m[key] = UInt64(rank) << 32 | UInt64(UInt32(im)) }
        }
        self.merges = m
        self.mergeList = list
        self.byteLevel = byteLevel
        self.ignoreMerges = ignoreMerges
        self.byteFallback = byteFallback
        self.unknownId = unknownId
        self.fuseUnknown = fuseUnknown
        var byteIds = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            let text = byteLevel ? String(Unicode.Scalar(ByteLevel.byteToScalar[b])!) : byteTokenText(UInt8(b))
            byteIds[b] = ids[text] ?? -1
        }
        self.byteIds = byteIds
        self.tokenBytes = tokens.map { t in
            if byteLevel { return ByteLevel.decode(t) ?? Array(t.utf8) }
            if let b = parseByteToken(t) { return [b] }
            return Array(t.utf8)
        }
    }

    /// Appends the ids of one word (its UTF-8 bytes; for a byte-level model the raw bytes, not the alphabet).
    func encodeWord(_ word: UnsafeBufferPointer<UInt8>, into out: inout [Int32], cache: inout Cache) {
        if word.isEmpty { return }
        if let hit = cache[WordKey(borrowing: word)] {
            out.append(contentsOf: hit)
            return
        }
        var syms: [Int32] = []
        syms.reserveCapacity(word.count)
        if ignoreMerges, let whole = wholeWordId(word) {
            syms.append(whole)
        } else {
            initialSymbols(word, into: &syms)
            mergeAll(&syms)
        }
        out.append(contentsOf: syms)
        if word.count <= 256 {
            if cache.count >= BPEModel.cacheLimit { cache.removeAll(keepingCapacity: true) }
            cache[WordKey(owning: Array(word))] = syms
        }
    }

    private func wholeWordId(_ word: UnsafeBufferPointer<UInt8>) -> Int32? {
        let text = byteLevel ? ByteLevel.encode(word) : String(decoding: word, as: UTF8.self)
        return ids[text]
    }

    private func initialSymbols(_ word: UnsafeBufferPointer<UInt8>, into syms: inout [Int32]) {
        if byteLevel {
            for b in word {
                let id = byteIds[Int(b)]
                if id >= 0 { syms.append(id) } else if let u = unknownId { appendUnknown(u, &syms) }
            }
            return
        }
        var i = 0
        var lastWasUnknown = false
        while i < word.count {
            let len = utf8Length(word[i])
            let end = min(i + len, word.count)
            let ch = String(decoding: UnsafeBufferPointer(rebasing: word[i..<end]), as: UTF8.self)
            if let id = ids[ch] {
                syms.append(id)
                lastWasUnknown = false
            } else if byteFallback, (i..<end).allSatisfy({ byteIds[Int(word[$0])] >= 0 }) {
                for j in i..<end { syms.append(byteIds[Int(word[j])]) }
                lastWasUnknown = false
            } else if let u = unknownId {
                if !(fuseUnknown && lastWasUnknown) { syms.append(u) }
                lastWasUnknown = true
            }
            i = end
        }
    }

    private func appendUnknown(_ u: Int32, _ syms: inout [Int32]) {
        if fuseUnknown, syms.last == u { return }
        syms.append(u)
    }

    @inline(__always)
    private func merge(_ a: Int32, _ b: Int32) -> UInt64? {
        merges[UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))]
    }

    /// Applies merges lowest rank first, leftmost first among equals.
    func mergeAll(_ syms: inout [Int32]) {
        if syms.count < 2 { return }
        if syms.count > 48 {
            mergeLong(&syms)
            return
        }
        while syms.count > 1 {
            var best = UInt64.max
            var at = -1
            for p in 0..<(syms.count - 1) {
                if let m = merge(syms[p], syms[p + 1]), m >> 32 < best >> 32 {
                    best = m
                    at = p
                }
            }
            if at < 0 { break }
            syms[at] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            syms.remove(at: at + 1)
        }
    }

    /// The same merges with a heap and a linked list, for long words (O(n log n)).
    private func mergeLong(_ syms: inout [Int32]) {
        let n = syms.count
        var id = syms
        var next = [Int32](unsafeUninitializedCapacity: n) { buf, count in
            for i in 0..<n { buf[i] = Int32(i + 1) }
            count = n
        }
        var prev = [Int32](unsafeUninitializedCapacity: n) { buf, count in
            for i in 0..<n { buf[i] = Int32(i - 1) }
            count = n
        }
        var alive = [Bool](repeating: true, count: n)
        var heap = MinHeap()
        for p in 0..<(n - 1) {
            if let m = merge(id[p], id[p + 1]) { heap.push((m >> 32) << 32 | UInt64(p)) }
        }
        while let top = heap.pop() {
            let rank = top >> 32
            let p = Int(top & 0xFFFF_FFFF)
            guard alive[p] else { continue }
            let q = Int(next[p])
            guard q < n, let m = merge(id[p], id[q]), m >> 32 == rank else { continue }
            id[p] = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
            alive[q] = false
            let r = Int(next[q])
            next[p] = Int32(r)
            if r < n { prev[r] = Int32(p) }
            let l = Int(prev[p])
            if l >= 0, let ml = merge(id[l], id[p]) { heap.push((ml >> 32) << 32 | UInt64(l)) }
            if r < n, let mr = merge(id[p], id[r]) { heap.push((mr >> 32) << 32 | UInt64(p)) }
        }
        syms.removeAll(keepingCapacity: true)
        var p = 0
        while p < n {
            syms.append(id[p])
            p = Int(next[p])
        }
    }
}

/// `<0xNN>`, the byte-fallback token for a byte.
func byteTokenText(_ b: UInt8) -> String {
    let hex = String(b, radix: 16, uppercase: true)
    return "<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"
}

/// The byte of a `<0xNN>` token.
func parseByteToken(_ t: String) -> UInt8? {
    let u = Array(t.utf8)
    guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
    return UInt8(String(decoding: u[3...4], as: UTF8.self), radix: 16)
}

@inline(__always)
func utf8Length(_ b0: UInt8) -> Int {
    b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4
}

func quoted(_ s: String) -> String {
    var out = "'"
    for u in s.unicodeScalars {
        if u.value < 0x20 || u.value == 0x7F { out += "\\u{\(String(u.value, radix: 16))}" } else { out.unicodeScalars.append(u) }
    }
    return out + "'"
}

/// A binary min-heap of UInt64 keys.
struct MinHeap {
    private var a: [UInt64] = []
    mutating func push(_ x: UInt64) {
        a.append(x)
        var i = a.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            if a[p] <= a[i] { break }
            a.swapAt(p, i)
            i = p
        }
    }
    mutating func pop() -> UInt64? {
        guard let top = a.first else { return nil }
        let last = a.removeLast()
        if !a.isEmpty {
            a[0] = last
            var i = 0
            let n = a.count
            while true {
                let l = 2 * i + 1
                if l >= n { break }
                var c = l
                if l + 1 < n, a[l + 1] < a[l] { c = l + 1 }
                if a[i] <= a[c] { break }
                a.swapAt(i, c)
                i = c
            }
        }
        return top
    }
}

/// A word's bytes as a dictionary key: owned when stored, borrowed for a look-up.
struct WordKey: Hashable, @unchecked Sendable {
    private let owned: [UInt8]?
    private let borrowed: UnsafeBufferPointer<UInt8>?

    init(owning bytes: [UInt8]) {
        owned = bytes
        borrowed = nil
    }
    init(borrowing bytes: UnsafeBufferPointer<UInt8>) {
        owned = nil
        borrowed = bytes
    }

    private func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        if let owned { return owned.withUnsafeBytes(body) }
        return body(UnsafeRawBufferPointer(borrowed!))
    }

    static func == (a: WordKey, b: WordKey) -> Bool {
        a.withBytes { x in b.withBytes { y in x.count == y.count && (x.count == 0 || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0) } }
    }

    func hash(into h: inout Hasher) { withBytes { h.combine(bytes: $0) } }
}
