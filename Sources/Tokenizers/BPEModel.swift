// Byte-pair encoding with merge ranks, as Hugging Face's `tokenizers` BPE model and llama.cpp's BPE
// vocabularies (`tokenizer.ggml.model = gpt2`) apply it to one pre-tokenized word:
//
//   1. the word becomes symbols: with a byte-level alphabet one symbol per byte (GPT-2, Llama-3);
//      otherwise one per Unicode character, and a character missing from the vocabulary becomes its
//      UTF-8 bytes as `<0xNN>` tokens (byte fallback) or the unknown token;
//   2. while some adjacent pair of symbols has a merge, the pair with the lowest rank is merged
//      (leftmost first among equal ranks);
//   3. with `ignoreMerges` (Llama-3) a word that is itself in the vocabulary is taken whole first.
//
// Storage, chosen for load time (a 128k vocabulary with 280k merges) and encode speed: token texts are
// UTF-8 bytes back to back, found by an open-addressing table hashed over the bytes (so two texts are
// the same token only when their bytes are equal: Swift's `String ==` would also join canonically
// equivalent texts such as U+212B and U+00C5, which are different tokens); merges are an open-addressing
// table from an id pair to (rank, merged id); and the words of one `encode` call are cached in flat arrays.

#if canImport(Glibc)
    import Glibc
#endif

/// Strings as UTF-8 bytes back to back: string i is `bytes[offsets[i] ..< offsets[i + 1]]`.
struct PackedStrings: Sendable {
    var bytes: [UInt8] = []
    var offsets: [Int32] = [0]

    init() {}

    init(_ strings: [String]) {
        offsets.reserveCapacity(strings.count + 1)
        for s in strings { append(s) }
    }

    /// `utf8` holds the strings back to back and `ends` the end offset of each (validated UTF-8).
    init(utf8: [UInt8], ends: [Int32]) {
        bytes = utf8
        offsets = [0] + ends
    }

    var count: Int { offsets.count - 1 }

    mutating func append(_ s: String) {
        bytes.append(contentsOf: s.utf8)
        offsets.append(Int32(truncatingIfNeeded: bytes.count))
    }

    func range(_ i: Int) -> Range<Int> { Int(offsets[i])..<Int(offsets[i + 1]) }

    func string(_ i: Int) -> String {
        bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[range(i)]), as: UTF8.self) }
    }

    /// Every string, as Swift strings.
    func strings() -> [String] {
        bytes.withUnsafeBufferPointer { b in
            offsets.withUnsafeBufferPointer { o in
                (0..<(o.count - 1)).map { i in
                    String(decoding: UnsafeBufferPointer(rebasing: b[Int(o[i])..<Int(o[i + 1])]), as: UTF8.self)
                }
            }
        }
    }
}

/// Merge rules as byte ranges of one buffer: merge k joins `bytes[bounds[4k] ..< bounds[4k+1]]` and
/// `bytes[bounds[4k+2] ..< bounds[4k+3]]` (the two ranges need not touch: `"a b"` strings keep their space).
struct PackedMerges: Sendable {
    var bytes: [UInt8] = []
    var bounds: [Int32] = []

    init() {}

    init(_ pairs: [(String, String)]) {
        bounds.reserveCapacity(pairs.count * 4)
        for (a, b) in pairs {
            let s = Int32(truncatingIfNeeded: bytes.count)
            bytes.append(contentsOf: a.utf8)
            let m = Int32(truncatingIfNeeded: bytes.count)
            bytes.append(contentsOf: b.utf8)
            append(s, m, m, Int32(truncatingIfNeeded: bytes.count))
        }
    }

    /// Adds a merge of bytes[a0 ..< a1] and bytes[b0 ..< b1].
    @inline(__always)
    mutating func append(_ a0: Int32, _ a1: Int32, _ b0: Int32, _ b1: Int32) {
        bounds.append(a0)
        bounds.append(a1)
        bounds.append(b0)
        bounds.append(b1)
    }

    var count: Int { bounds.count / 4 }
}

/// Up to 8 bytes as one little-endian word, zero-padded (`n` in 0...8; reads only p[0..<n]).
@inline(__always)
func loadWord(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
    let raw = UnsafeRawPointer(p)
    if n >= 8 { return UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)) }
    if n >= 4 {  // two loads that overlap in the middle
        let lo = UInt64(UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)))
        let hi = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)))
        return lo | hi << (8 * UInt64(n - 4))
    }
    if n == 0 { return 0 }
    return UInt64(p[0]) | UInt64(p[n / 2]) << (8 * UInt64(n / 2)) | UInt64(p[n - 1]) << (8 * UInt64(n - 1))
}

/// A byte string's hash and first 8 bytes, as the look-up tables use them.
struct ByteKey {
    let hash: UInt64
    let prefix: UInt64
    let count: Int

    /// Eight bytes at a time: the first word with the length, then each further word, multiplied in.
    @inline(__always)
    init(_ p: UnsafePointer<UInt8>, _ n: Int) {
        let w0 = loadWord(p, min(n, 8))
        var h = (w0 ^ UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15) &* 0xFF51_AFD7_ED55_8CCD
        var i = 8
        while i < n {
            h = ((h << 29 | h >> 35) ^ loadWord(p + i, min(n - i, 8))) &* 0xFF51_AFD7_ED55_8CCD
            i += 8
        }
        hash = h ^ h >> 32
        prefix = w0
        count = n
    }

    /// Where the key starts probing in a table of `mask + 1` slots.
    @inline(__always)
    func slot(_ mask: Int) -> Int { Int(truncatingIfNeeded: hash >> 20) & mask }
}

@inline(__always)
func bytesEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
    if n > 16 { return memcmp(a, b, n) == 0 }
    for i in 0..<n where a[i] != b[i] { return false }
    return true
}

/// Token texts → ids by open addressing over 16-byte slots: the text's first 8 bytes (zero-padded) and
/// (length << 32 | id), `UInt64.max` when empty; a power of two of slots, at most half full. A text of up
/// to 8 bytes, most of a vocabulary, is compared in its slot without reading `texts`.
struct TokenTable: Sendable {
    let texts: PackedStrings
    private let slots: [UInt64]
    /// The first text that appears twice, by its two ids (found by its first id).
    let duplicate: (first: Int, second: Int)?

    init(_ texts: PackedStrings) {
        let n = texts.count
        var capacity = 16
        while capacity < 2 * n { capacity <<= 1 }
        var slots = [UInt64](repeating: .max, count: 2 * capacity)
        var duplicate: (Int, Int)? = nil
        texts.bytes.withUnsafeBufferPointer { tb in
            texts.offsets.withUnsafeBufferPointer { off in
                slots.withUnsafeMutableBufferPointer { s in
                    let base = tb.baseAddress ?? UnsafePointer(bitPattern: 1)!
                    let mask = capacity - 1
                    for i in 0..<n {
                        let p = base + Int(off[i])
                        let len = Int(off[i + 1] - off[i])
                        let key = ByteKey(p, len)
                        var h = key.slot(mask)
                        var dup = false
                        while s[2 * h + 1] != .max {
                            let j = Int(truncatingIfNeeded: s[2 * h + 1] & 0xFFFF_FFFF)
                            if s[2 * h] == key.prefix, Int(s[2 * h + 1] >> 32) == len,
                                len <= 8 || bytesEqual(p + 8, base + Int(off[j]) + 8, len - 8)
                            {
                                if duplicate == nil { duplicate = (j, i) }
                                dup = true
                                break
                            }
                            h = (h + 1) & mask
                        }
                        if !dup {
                            s[2 * h] = key.prefix
                            s[2 * h + 1] = UInt64(len) << 32 | UInt64(i)
                        }
                    }
                }
            }
        }
        self.texts = texts
        self.slots = slots
        self.duplicate = duplicate
    }

    /// The id of the token whose text is the `key.count` bytes at `p`, or −1.
    @inline(__always)
    func find(_ key: ByteKey, _ p: UnsafePointer<UInt8>) -> Int32 {
        let len = UInt64(key.count)
        return slots.withUnsafeBufferPointer { s in
            let mask = s.count / 2 - 1
            var i = key.slot(mask)
            while true {
                let meta = s[2 * i + 1]
                if meta == .max { return -1 }
                if s[2 * i] == key.prefix, meta >> 32 == len {
                    let id = Int32(truncatingIfNeeded: meta & 0xFFFF_FFFF)
                    if len <= 8 || tailEqual(id, p, key.count) { return id }
                }
                i = (i + 1) & mask
            }
        }
    }

    @inline(__always)
    func find(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32 { find(ByteKey(p, n), p) }

    /// Reads the home slot of each key, so that the look-ups that follow find them in the cache: the reads
    /// do not depend on one another, so the processor waits for their misses together, not one by one.
    @inline(__always)
    func touch(_ keys: UnsafeMutableBufferPointer<ByteKey>) -> UInt64 {
        slots.withUnsafeBufferPointer { s in
            let mask = s.count / 2 - 1
            var acc: UInt64 = 0
            for k in keys { acc &+= s[2 * k.slot(mask) + 1] }
            return acc
        }
    }

    /// Whether token `id` (more than 8 bytes) is p[0..<n] from the 9th byte on.
    private func tailEqual(_ id: Int32, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        texts.bytes.withUnsafeBufferPointer { tb in
            texts.offsets.withUnsafeBufferPointer { off in
                bytesEqual(p + 8, tb.baseAddress! + Int(off[Int(id)]) + 8, n - 8)
            }
        }
    }
}

/// A BPE vocabulary with its merges.
final class BPEModel: Sendable {

    /// Token text by id, as stored in the vocabulary (byte-level tokens in GPT-2's alphabet).
    let tokens: [String]
    /// Token text → id, by UTF-8 bytes (a text that appears twice is found as its first id).
    let table: TokenTable
    /// Merges, open addressing: slot i holds the key (left << 32 | right, `UInt64.max` when empty) at 2i
    /// and (rank << 32 | merged id) at 2i + 1; a power of two of slots, at most two thirds full.
    let mergeTable: [UInt64]
    let mergeShift: UInt64
    let byteLevel: Bool
    let ignoreMerges: Bool
    let byteFallback: Bool
    let unknownId: Int32?
    let fuseUnknown: Bool
    /// Byte-level: the id of each byte's alphabet character. Byte fallback: the id of `<0xNN>`.
    let byteIds: [Int32]
    /// Non-byte-level: the id of each ASCII character (−1 when it is not a token), a shortcut for step 1.
    let asciiIds: [Int32]
    /// The first text that appears twice, by its two ids (a tokenizer.json vocabulary cannot have one).
    var duplicate: (first: Int, second: Int)? { table.duplicate }
    /// The merges as pairs of ids in rank order, as read (for writing the vocabulary out again).
    let mergeList: [(Int32, Int32)]

    var count: Int { tokens.count }

    /// Token text → id, by UTF-8 bytes (`ids[text]`; the first id of a text that appears twice).
    var ids: IdLookup { IdLookup(model: self) }

    struct IdLookup {
        let model: BPEModel
        subscript(_ text: String) -> Int32? {
            var t = text
            let id = t.withUTF8 { model.id(of: $0) }
            return id >= 0 ? id : nil
        }
    }

    /// - Parameters: `tokens` and the same texts packed as `texts` (made from `tokens` when nil); `merges` in
    ///   rank order, each two token texts.
    init(
        tokens: [String], texts: PackedStrings? = nil, merges: PackedMerges, byteLevel: Bool, ignoreMerges: Bool = false,
        byteFallback: Bool = false, unknownId: Int32? = nil, fuseUnknown: Bool = false, path: String
    ) throws(TokenizerError) {
        let texts = texts ?? PackedStrings(tokens)
        precondition(texts.count == tokens.count, "texts and tokens differ in count")
        let table = TokenTable(texts)
        self.tokens = tokens
        self.table = table

        // First every merge's key (left << 32 | right) and value (rank << 32 | merged id) in rank order; then the
        // table is filled in the order of the keys' home slots (a counting sort on their top bits), so that its
        // writes move through memory in one direction instead of all over a table larger than the caches.
        // Looking up texts waits on memory: the two halves of 16 merges are hashed and their slots read ahead
        // together, and the merged text is first compared with the token after the previous merge's (merges
        // are usually listed in the order of the tokens they make: GPT-2's, Llama-3's), which reads the token
        // texts in order; only when that fails is it hashed and looked up.
        let m = merges.count
        var mcap = 16
        while 2 * mcap < 3 * m { mcap <<= 1 }  // at most two thirds full
        let shift = UInt64(64 - mcap.trailingZeroBitCount)
        var keys = [UInt64](repeating: 0, count: m)
        var values = [UInt64](repeating: 0, count: m)
        var list = [(Int32, Int32)](repeating: (0, 0), count: m)
        var failedAt: Int? = nil
        var longest = 1
        for k in 0..<m { longest = max(longest, Int(merges.bounds[4 * k + 1] - merges.bounds[4 * k]) + Int(merges.bounds[4 * k + 3] - merges.bounds[4 * k + 2])) }
        let batch = 16
        // A text listed twice must be found as its first id, which only the table knows.
        let predict = table.duplicate == nil
        merges.bytes.withUnsafeBufferPointer { mb in
            merges.bounds.withUnsafeBufferPointer { bd in
                texts.bytes.withUnsafeBufferPointer { tb in
                    texts.offsets.withUnsafeBufferPointer { off in
                        keys.withUnsafeMutableBufferPointer { keys in
                            values.withUnsafeMutableBufferPointer { values in
                                list.withUnsafeMutableBufferPointer { list in
                                    withUnsafeTemporaryAllocation(of: UInt8.self, capacity: longest) { joined in
                                        withUnsafeTemporaryAllocation(of: ByteKey.self, capacity: 2 * batch) { bk in
                                            let base = mb.baseAddress ?? UnsafePointer(bitPattern: 1)!
                                            let tbase = tb.baseAddress ?? UnsafePointer(bitPattern: 1)!
                                            let n = off.count - 1
                                            /// Whether token t is a + b.
                                            func isJoin(_ t: Int, _ a: UnsafePointer<UInt8>, _ aLen: Int, _ b: UnsafePointer<UInt8>, _ bLen: Int) -> Bool {
                                                guard t < n, Int(off[t + 1] - off[t]) == aLen + bLen else { return false }
                                                let tp = tbase + Int(off[t])
                                                return bytesEqual(tp, a, aLen) && bytesEqual(tp + aLen, b, bLen)
                                            }
                                            var sink: UInt64 = 0
                                            var previous = -1
                                            var start = 0
                                            while start < m {
                                                let count = min(batch, m - start)
                                                for j in 0..<count {
                                                    let r = start + j
                                                    let a = base + Int(bd[4 * r]), aLen = Int(bd[4 * r + 1] - bd[4 * r])
                                                    let b = base + Int(bd[4 * r + 2]), bLen = Int(bd[4 * r + 3] - bd[4 * r + 2])
                                                    (bk.baseAddress! + 2 * j).initialize(to: ByteKey(a, aLen))
                                                    (bk.baseAddress! + 2 * j + 1).initialize(to: ByteKey(b, bLen))
                                                }
                                                sink &+= table.touch(UnsafeMutableBufferPointer(rebasing: bk[0..<(2 * count)]))
                                                for j in 0..<count {
                                                    let r = start + j
                                                    let a = base + Int(bd[4 * r]), aLen = Int(bd[4 * r + 1] - bd[4 * r])
                                                    let b = base + Int(bd[4 * r + 2]), bLen = Int(bd[4 * r + 3] - bd[4 * r + 2])
                                                    let ia = table.find(bk[2 * j], a)
                                                    let ib = table.find(bk[2 * j + 1], b)
                                                    var im: Int32 = -1
                                                    if predict, previous >= 0, isJoin(previous, a, aLen, b, bLen) {
                                                        im = Int32(previous)
                                                    } else if predict, previous >= 0, isJoin(previous + 1, a, aLen, b, bLen) {
                                                        im = Int32(previous + 1)
                                                    } else {
                                                        let ab = joined.baseAddress!
                                                        ab.update(from: a, count: aLen)
                                                        (ab + aLen).update(from: b, count: bLen)
                                                        im = table.find(ByteKey(ab, aLen + bLen), ab)
                                                    }
                                                    guard ia >= 0, ib >= 0, im >= 0 else {
                                                        failedAt = r
                                                        return
                                                    }
                                                    previous = Int(im)
                                                    list[r] = (ia, ib)
                                                    keys[r] = UInt64(UInt32(ia)) << 32 | UInt64(UInt32(ib))
                                                    values[r] = UInt64(r) << 32 | UInt64(UInt32(im))
                                                }
                                                start += count
                                            }
                                            if sink == 1 { failedAt = nil }  // keeps the reads ahead
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        if let r = failedAt {
            let sa = String(decoding: merges.bytes[Int(merges.bounds[4 * r])..<Int(merges.bounds[4 * r + 1])], as: UTF8.self)
            let sb = String(decoding: merges.bytes[Int(merges.bounds[4 * r + 2])..<Int(merges.bounds[4 * r + 3])], as: UTF8.self)
            let ia = table.find(Array(sa.utf8), sa.utf8.count), ib = table.find(Array(sb.utf8), sb.utf8.count)
            let what = ia < 0 || ib < 0 ? "names \(quoted(ia < 0 ? sa : sb))" : "makes \(quoted(sa + sb))"
            throw TokenizerError(path, "merge \(r) (\(quoted(sa)) \(quoted(sb))) \(what), which is not in the vocabulary")
        }
        // The counting sort moves the pairs themselves (stable: a pair listed twice keeps its rank order), so
        // that both the sorted pairs and the table are then read and written in one direction.
        let bucketBits = min(12, mcap.trailingZeroBitCount)
        let bucketShift = shift + UInt64(mcap.trailingZeroBitCount - bucketBits)
        var next = [Int](repeating: 0, count: (1 << bucketBits) + 1)
        var mergeTable = [UInt64](repeating: .max, count: 2 * mcap)
        let sorted = [UInt64](unsafeUninitializedCapacity: 2 * m) { out, filled in
            keys.withUnsafeBufferPointer { keys in
                values.withUnsafeBufferPointer { values in
                    next.withUnsafeMutableBufferPointer { next in
                        for k in keys { next[Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> bucketShift) + 1] += 1 }
                        for i in 1..<next.count { next[i] += next[i - 1] }
                        for r in 0..<m {
                            let k = keys[r]
                            let bucket = Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> bucketShift)
                            out[2 * next[bucket]] = k
                            out[2 * next[bucket] + 1] = values[r]
                            next[bucket] += 1
                        }
                    }
                }
            }
            filled = 2 * m
        }
        sorted.withUnsafeBufferPointer { sorted in
            mergeTable.withUnsafeMutableBufferPointer { t in
                let mask = mcap - 1
                for i in 0..<m {
                    let key = sorted[2 * i], value = sorted[2 * i + 1]
                    var h = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
                    while t[2 * h] != .max && t[2 * h] != key { h = (h + 1) & mask }
                    if t[2 * h] == .max || t[2 * h + 1] > value {  // a pair listed twice keeps its first rank
                        t[2 * h] = key
                        t[2 * h + 1] = value
                    }
                }
            }
        }
        self.mergeTable = mergeTable
        self.mergeList = list
        self.mergeShift = shift
        self.byteLevel = byteLevel
        self.ignoreMerges = ignoreMerges
        self.byteFallback = byteFallback
        self.unknownId = unknownId
        self.fuseUnknown = fuseUnknown
        var byteIds = [Int32](repeating: -1, count: 256)
        var asciiIds = [Int32](repeating: -1, count: 128)
        for b in 0..<256 {
            let text = Array((byteLevel ? String(Unicode.Scalar(ByteLevel.byteToScalar[b])!) : byteTokenText(UInt8(b))).utf8)
            byteIds[b] = text.withUnsafeBufferPointer { table.find($0.baseAddress!, $0.count) }
            if b < 128 { asciiIds[b] = withUnsafePointer(to: UInt8(b)) { table.find($0, 1) } }
        }
        self.byteIds = byteIds
        self.asciiIds = asciiIds
    }

    /// - Parameters: `merges` as pairs of token texts in rank order.
    convenience init(
        tokens: [String], merges: [(String, String)], byteLevel: Bool, ignoreMerges: Bool = false,
        byteFallback: Bool = false, unknownId: Int32? = nil, fuseUnknown: Bool = false, path: String
    ) throws(TokenizerError) {
        try self.init(
            tokens: tokens, merges: PackedMerges(merges), byteLevel: byteLevel, ignoreMerges: ignoreMerges,
            byteFallback: byteFallback, unknownId: unknownId, fuseUnknown: fuseUnknown, path: path)
    }

    // MARK: Look-ups

    /// The id of a token text given as bytes, or −1.
    func id(of text: UnsafeBufferPointer<UInt8>) -> Int32 {
        guard let p = text.baseAddress else { return -1 }
        return table.find(p, text.count)
    }

    /// The bytes a token decodes to (byte-level alphabet undone; `<0xNN>` as its byte).
    func tokenBytes(_ id: Int) -> [UInt8] {
        let raw = Array(table.texts.bytes[table.texts.range(id)])
        let text = String(decoding: raw, as: UTF8.self)
        if byteLevel { return ByteLevel.decode(text) ?? raw }
        if let b = parseByteToken(text) { return [b] }
        return raw
    }

    /// Whether the word can be cut before each `marker` that follows another character, with the same ids as
    /// the uncut word: no token (and so no merge, since merges make tokens) holds the marker after a character
    /// other than the marker itself, the marker is one character that is itself a token, and no word is taken
    /// whole (`ignoreMerges`). Metaspace tokenizers that keep the whole text as one word are cut this way.
    func canCut(before marker: [UInt8]) -> Bool {
        guard !byteLevel, !ignoreMerges, let lead = marker.first, utf8Length(lead) == marker.count,
            marker.withUnsafeBufferPointer({ id(of: $0) }) >= 0
        else { return false }
        let m = marker.count
        let texts = table.texts
        return texts.bytes.withUnsafeBufferPointer { tb in
            for t in 0..<texts.count {
                let r = texts.range(t)
                var i = r.lowerBound + 1
                while i + m <= r.upperBound {
                    if tb[i] == lead, bytesEqual(tb.baseAddress! + i, marker, m) {
                        if i - m < r.lowerBound || !bytesEqual(tb.baseAddress! + i - m, marker, m) { return false }
                        i += m
                    } else {
                        i += 1
                    }
                }
            }
            return true
        }
    }

    // MARK: Encoding

    /// Appends the ids of one word (its UTF-8 bytes; for a byte-level model the raw bytes, not the alphabet).
    /// `whole: false` skips taking the word whole (`ignoreMerges`).
    func encodeWord(_ word: UnsafeBufferPointer<UInt8>, into out: inout [Int32], cache: inout Cache, whole: Bool = true) {
        guard let wp = word.baseAddress, !word.isEmpty else { return }
        let key = ByteKey(wp, word.count)
        if cache.lookup(key, wp, into: &out) { return }
        var syms = cache.takeScratch()
        if ignoreMerges, whole, let id = wholeWordId(word) {
            syms.removeAll(keepingCapacity: true)
            syms.append(id)
        } else {
            syms.removeAll(keepingCapacity: true)
            initialSymbols(word, into: &syms)
            mergeAll(&syms)
        }
        out.append(contentsOf: syms)
        if word.count <= 256 { cache.insert(key, wp, syms) }
        cache.returnScratch(syms)
    }

    /// The id of the whole word, if it is a token.
    private func wholeWordId(_ word: UnsafeBufferPointer<UInt8>) -> Int32? {
        if !byteLevel {
            let id = self.id(of: word)
            return id >= 0 ? id : nil
        }
        // The word in GPT-2's alphabet: each byte one character of one or two UTF-8 bytes.
        var text: [UInt8] = []
        text.reserveCapacity(word.count * 2)
        for b in word {
            let v = ByteLevel.byteToScalar[Int(b)]
            if v < 0x80 {
                text.append(UInt8(v))
            } else {
                text.append(UInt8(0xC0 | (v >> 6)))
                text.append(UInt8(0x80 | (v & 0x3F)))
            }
        }
        let id = text.withUnsafeBufferPointer { self.id(of: $0) }
        return id >= 0 ? id : nil
    }

    private func initialSymbols(_ word: UnsafeBufferPointer<UInt8>, into syms: inout [Int32]) {
        if byteLevel {
            byteIds.withUnsafeBufferPointer { ids in
                for b in word {
                    let id = ids[Int(b)]
                    if id >= 0 { syms.append(id) } else if let u = unknownId { appendUnknown(u, &syms) }
                }
            }
            return
        }
        var i = 0
        var lastWasUnknown = false
        let base = word.baseAddress!
        while i < word.count {
            let b0 = word[i]
            let len = utf8Length(b0)
            let end = min(i + len, word.count)
            let id = b0 < 0x80 ? asciiIds[Int(b0)] : table.find(base + i, end - i)
            if id >= 0 {
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

    /// (rank << 32 | merged id) of the pair, or `UInt64.max` when the pair has no merge.
    @inline(__always)
    static func merge(_ a: Int32, _ b: Int32, _ t: UnsafeBufferPointer<UInt64>, _ shift: UInt64) -> UInt64 {
        let key = UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
        let mask = t.count / 2 - 1
        var h = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let k = t[2 * h]
            if k == key { return t[2 * h + 1] }
            if k == .max { return .max }
            h = (h + 1) & mask
        }
    }

    /// Applies merges lowest rank first, leftmost first among equals.
    func mergeAll(_ syms: inout [Int32]) {
        if syms.count < 2 { return }
        if syms.count > 64 {
            mergeLong(&syms)
            return
        }
        let shift = mergeShift
        let kept = mergeTable.withUnsafeBufferPointer { t in
            syms.withUnsafeMutableBufferPointer { s in
                // ranks[p]: the merge of s[p], s[p + 1], looked up again only beside a merge.
                var n = s.count
                withUnsafeTemporaryAllocation(of: UInt64.self, capacity: n) { ranks in
                    for p in 0..<(n - 1) { ranks[p] = Self.merge(s[p], s[p + 1], t, shift) }
                    while n > 1 {
                        var best = UInt64.max
                        var at = -1
                        for p in 0..<(n - 1) where ranks[p] >> 32 < best >> 32 {
                            best = ranks[p]
                            at = p
                        }
                        if at < 0 { break }
                        s[at] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
                        for p in (at + 1)..<(n - 1) {
                            s[p] = s[p + 1]
                            ranks[p] = ranks[p + 1]
                        }
                        n -= 1
                        if at > 0 { ranks[at - 1] = Self.merge(s[at - 1], s[at], t, shift) }
                        if at < n - 1 { ranks[at] = Self.merge(s[at], s[at + 1], t, shift) }
                    }
                }
                return n
            }
        }
        syms.removeLast(syms.count - kept)
    }

    /// The same merges with a heap and a linked list, for long words (O(n log n)).
    private func mergeLong(_ syms: inout [Int32]) {
        let n = syms.count
        let shift = mergeShift
        var next = [Int32](unsafeUninitializedCapacity: n) { buf, count in
            for i in 0..<n { buf[i] = Int32(i + 1) }
            count = n
        }
        var prev = [Int32](unsafeUninitializedCapacity: n) { buf, count in
            for i in 0..<n { buf[i] = Int32(i - 1) }
            count = n
        }
        var heap = MinHeap()
        mergeTable.withUnsafeBufferPointer { t in
            syms.withUnsafeMutableBufferPointer { id in
                next.withUnsafeMutableBufferPointer { next in
                    prev.withUnsafeMutableBufferPointer { prev in
                        for p in 0..<(n - 1) {
                            let m = Self.merge(id[p], id[p + 1], t, shift)
                            if m != .max { heap.push((m >> 32) << 32 | UInt64(p)) }
                        }
                        while let top = heap.pop() {
                            let rank = top >> 32
                            let p = Int(top & 0xFFFF_FFFF)
                            guard id[p] >= 0 else { continue }  // merged into its left neighbour
                            let q = Int(next[p])
                            guard q < n else { continue }
                            let m = Self.merge(id[p], id[q], t, shift)
                            guard m != .max, m >> 32 == rank else { continue }
                            id[p] = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
                            id[q] = -1
                            let r = Int(next[q])
                            next[p] = Int32(r)
                            if r < n { prev[r] = Int32(p) }
                            let l = Int(prev[p])
                            if l >= 0 {
                                let ml = Self.merge(id[l], id[p], t, shift)
                                if ml != .max { heap.push((ml >> 32) << 32 | UInt64(l)) }
                            }
                            if r < n {
                                let mr = Self.merge(id[p], id[r], t, shift)
                                if mr != .max { heap.push((mr >> 32) << 32 | UInt64(p)) }
                            }
                        }
                    }
                }
            }
        }
        var k = 0
        for i in 0..<n where syms[i] >= 0 {
            syms[k] = syms[i]
            k += 1
        }
        syms.removeLast(n - k)
    }

    // MARK: The word cache

    /// Words already encoded during one `encode` call (or one batch), by open addressing over 16-byte
    /// slots: the word's first 8 bytes, and (inline flag << 48 | length << 32 | value). A word of up to 8
    /// bytes with one id (most words) keeps the id in its slot as the value; any other word's value is an
    /// entry: where its bytes and ids are in flat arrays. Emptied when it holds `limit` words.
    struct Cache {
        static let limit = 1 << 17
        private static let inline: UInt64 = 1 << 48
        private var slots: [UInt64] = []
        private var words = 0
        private var entries: [(byteStart: Int32, idStart: Int32, idCount: Int32)] = []
        private var bytes: [UInt8] = []
        private var ids: [Int32] = []
        private var scratch: [Int32] = []

        init() {}

        /// Appends the cached ids of the word (`key` of the bytes at `p`) to `out`; false when it is not cached.
        @inline(__always)
        func lookup(_ key: ByteKey, _ p: UnsafePointer<UInt8>, into out: inout [Int32]) -> Bool {
            slots.withUnsafeBufferPointer { s in
                if s.isEmpty { return false }
                let mask = s.count / 2 - 1
                var i = key.slot(mask)
                while true {
                    let meta = s[2 * i + 1]
                    if meta == .max { return false }
                    if s[2 * i] == key.prefix, Int((meta >> 32) & 0xFFFF) == key.count {
                        let value = Int(truncatingIfNeeded: meta & 0xFFFF_FFFF)
                        if meta & Cache.inline != 0 {
                            out.append(Int32(truncatingIfNeeded: value))
                            return true
                        }
                        let e = entries[value]
                        if key.count <= 8
                            || bytes.withUnsafeBufferPointer({ bytesEqual(p + 8, $0.baseAddress! + Int(e.byteStart) + 8, key.count - 8) })
                        {
                            ids.withUnsafeBufferPointer {
                                out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[Int(e.idStart)..<Int(e.idStart + e.idCount)]))
                            }
                            return true
                        }
                    }
                    i = (i + 1) & mask
                }
            }
        }

        mutating func insert(_ key: ByteKey, _ p: UnsafePointer<UInt8>, _ wordIds: [Int32]) {
            precondition(key.count <= 0xFFFF, "cached words are short")
            if words >= Cache.limit || bytes.count + key.count > Int(Int32.max) || ids.count + wordIds.count > Int(Int32.max) {
                words = 0
                entries.removeAll(keepingCapacity: true)
                bytes.removeAll(keepingCapacity: true)
                ids.removeAll(keepingCapacity: true)
                for i in slots.indices { slots[i] = .max }
            }
            if 2 * (words + 1) > slots.count / 2 { grow() }
            var meta = UInt64(key.count) << 32
            if key.count <= 8 && wordIds.count == 1 {
                meta |= Cache.inline | UInt64(UInt32(bitPattern: wordIds[0]))
            } else {
                meta |= UInt64(entries.count)
                entries.append((Int32(bytes.count), Int32(ids.count), Int32(wordIds.count)))
                bytes.append(contentsOf: UnsafeBufferPointer(start: p, count: key.count))
                ids.append(contentsOf: wordIds)
            }
            place(key.slot(slots.count / 2 - 1), key.prefix, meta)
            words += 1
        }

        private mutating func place(_ home: Int, _ prefix: UInt64, _ meta: UInt64) {
            slots.withUnsafeMutableBufferPointer { s in
                let mask = s.count / 2 - 1
                var i = home
                while s[2 * i + 1] != .max { i = (i + 1) & mask }
                s[2 * i] = prefix
                s[2 * i + 1] = meta
            }
        }

        private mutating func grow() {
            let old = slots
            slots = [UInt64](repeating: .max, count: max(128, old.count * 2))
            let mask = slots.count / 2 - 1
            for i in 0..<(old.count / 2) where old[2 * i + 1] != .max {
                let prefix = old[2 * i], meta = old[2 * i + 1]
                let n = Int((meta >> 32) & 0xFFFF)
                let key: ByteKey
                if n <= 8 {
                    key = withUnsafeBytes(of: prefix.littleEndian) { ByteKey($0.bindMemory(to: UInt8.self).baseAddress!, n) }
                } else {
                    let e = entries[Int(meta & 0xFFFF_FFFF)]
                    key = bytes.withUnsafeBufferPointer { ByteKey($0.baseAddress! + Int(e.byteStart), n) }
                }
                place(key.slot(mask), prefix, meta)
            }
        }

        /// Working space for one word's symbols, reused from word to word.
        mutating func takeScratch() -> [Int32] {
            var s: [Int32] = []
            swap(&s, &scratch)
            return s
        }

        mutating func returnScratch(_ s: [Int32]) { scratch = s }
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
        a.withUnsafeMutableBufferPointer { a in
            var i = a.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                if a[p] <= x { break }
                a[i] = a[p]
                i = p
            }
            a[i] = x
        }
    }
    mutating func pop() -> UInt64? {
        guard let top = a.first else { return nil }
        let last = a.removeLast()
        if !a.isEmpty {
            a.withUnsafeMutableBufferPointer { a in
                var i = 0
                let n = a.count
                while true {
                    let l = 2 * i + 1
                    if l >= n { break }
                    var c = l
                    if l + 1 < n, a[l + 1] < a[l] { c = l + 1 }
                    if last <= a[c] { break }
                    a[i] = a[c]
                    i = c
                }
                a[i] = last
            }
        }
        return top
    }
}
