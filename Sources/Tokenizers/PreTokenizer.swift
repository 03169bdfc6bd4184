// Cutting text into words before BPE. Every supported pattern is a regular expression from a
// tokenizer's definition (Hugging Face `Split`/`ByteLevel`, llama.cpp's `tokenizer.ggml.pre` table);
// the common ones are matched by hand-written code that follows the regex's semantics exactly
// (leftmost alternative first, greedy quantifiers, backtracking where the pattern needs it). Each
// step cuts every piece from the previous step into the matches and the text between them, as both
// `Split(behavior: Isolated)` and llama.cpp do.

/// One splitting step.
enum SplitPattern: Sendable, Equatable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` (GPT-2).
    case gpt2
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    /// with N = 3 (Llama-3) or 1 (Qwen2).
    case llama3(maxDigits: Int)
    /// Any other supported regular expression.
    case regex(PatternRegex)

    /// The regex source text of the hand-written patterns, as tokenizer files write them.
    static let gpt2Source = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Source =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Source =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// The step for a regex source: hand-written where the pattern is one of the common ones.
    static func from(regex source: String, path: String) throws(TokenizerError) -> SplitPattern {
        switch source {
        case gpt2Source: return .gpt2
        case llama3Source: return .llama3(maxDigits: 3)
        case qwen2Source: return .llama3(maxDigits: 1)
        default: return .regex(try PatternRegex(source, path: path))
        }
    }

    var source: String {
        switch self {
        case .gpt2: return SplitPattern.gpt2Source
        case .llama3(let d): return d == 3 ? SplitPattern.llama3Source : SplitPattern.qwen2Source
        case .regex(let r): return r.source
        }
    }
}

/// Scalars of the text being split, with their classes and byte offsets.
struct ScalarBuffer {
    var values: [UInt32] = []
    var classes: [UInt8] = []
    var offsets: [Int32] = []

    mutating func load(_ bytes: UnsafeBufferPointer<UInt8>) {
        decodeScalars(bytes, into: &values, offsets: &offsets)
        classes.removeAll(keepingCapacity: true)
        classes.reserveCapacity(values.count)
        for v in values { classes.append(UnicodeClass.of(v).rawValue) }
    }
}

extension SplitPattern {
    /// Cuts scalars `start..<end` into pieces (scalar index ranges), appended to `out`.
    func split(_ t: borrowing ScalarBuffer, _ start: Int, _ end: Int, into out: inout [Range<Int>]) {
        if case .regex(let r) = self {
            r.split(t, start, end, into: &out)
            return
        }
        t.values.withUnsafeBufferPointer { v in
            t.classes.withUnsafeBufferPointer { c in
                var i = start
                while i < end {
                    let j: Int
                    switch self {
                    case .gpt2: j = SplitPattern.matchGPT2(v, c, i, end)
                    case .llama3(let d): j = SplitPattern.matchLlama3(v, c, i, end, maxDigits: d)
                    case .regex: j = end
                    }
                    out.append(i..<j)
                    i = j
                }
            }
        }
    }

    @inline(__always) static func isL(_ c: UInt8) -> Bool { c & UnicodeClass.letter.rawValue != 0 }
    @inline(__always) static func isN(_ c: UInt8) -> Bool { c & UnicodeClass.number.rawValue != 0 }
    @inline(__always) static func isS(_ c: UInt8) -> Bool { c & UnicodeClass.whitespace.rawValue != 0 }
    @inline(__always) static func isNL(_ c: UInt8) -> Bool { c & UnicodeClass.newline.rawValue != 0 }
    /// `[^\s\p{L}\p{N}]`
    @inline(__always) static func isOther(_ c: UInt8) -> Bool {
        c & (UnicodeClass.letter.rawValue | UnicodeClass.number.rawValue | UnicodeClass.whitespace.rawValue) == 0
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` at i (ASCII; case-insensitive when asked): the end, or nil.
    @inline(__always)
    static func contraction(_ v: UnsafeBufferPointer<UInt32>, _ i: Int, _ end: Int, fold: Bool) -> Int? {
        guard v[i] == 0x27, i + 1 < end else { return nil }
        func low(_ x: UInt32) -> UInt32 { fold && x >= 0x41 && x <= 0x5A ? x + 0x20 : x }
        let a = low(v[i + 1])
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return i + 2 }  // s t m d
        guard i + 2 < end else { return nil }
        let b = low(v[i + 2])
        if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return i + 3 }  // re ve ll
        return nil
    }

    /// The end of the whitespace tail alternatives `\s+(?!\S)|\s+` for a run starting at i.
    @inline(__always)
    static func whitespaceTail(_ c: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        var k = i
        while k < end, isS(c[k]) { k += 1 }
        if k == end || k - i < 2 { return k }
        return k - 1
    }

    static func matchGPT2(_ v: UnsafeBufferPointer<UInt32>, _ c: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        if let e = contraction(v, i, end, fold: false) { return e }
        var j = i
        if v[i] == 0x20, i + 1 < end, !isS(c[i + 1]) { j = i + 1 }
        let cj = c[j]
        if isL(cj) {
            j += 1
            while j < end, isL(c[j]) { j += 1 }
            return j
        }
        if isN(cj) {
            j += 1
            while j < end, isN(c[j]) { j += 1 }
            return j
        }
        if isOther(cj) {
            j += 1
            while j < end, isOther(c[j]) { j += 1 }
            return j
        }
        return whitespaceTail(c, i, end)
    }

    static func matchLlama3(
        _ v: UnsafeBufferPointer<UInt32>, _ c: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int, maxDigits: Int
    ) -> Int {
        if let e = contraction(v, i, end, fold: true) { return e }
        let ci = c[i]
        // [^\r\n\p{L}\p{N}]?\p{L}+
        var j = i
        if !isL(ci), !isN(ci), !isNL(ci), i + 1 < end, isL(c[i + 1]) { j = i + 1 }
        if isL(c[j]) {
            j += 1
            while j < end, isL(c[j]) { j += 1 }
            return j
        }
        // \p{N}{1,maxDigits}
        if isN(ci) {
            j = i + 1
            while j < end, j - i < maxDigits, isN(c[j]) { j += 1 }
            return j
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        j = i
        if v[i] == 0x20, i + 1 < end, isOther(c[i + 1]) { j = i + 1 }
        if isOther(c[j]) {
            j += 1
            while j < end, isOther(c[j]) { j += 1 }
            while j < end, isNL(c[j]) { j += 1 }
            return j
        }
        // \s*[\r\n]+ : up to the last newline of the whitespace run
        var k = i
        var lastNL = -1
        while k < end, isS(c[k]) {
            if isNL(c[k]) { lastNL = k }
            k += 1
        }
        if lastNL >= 0 { return lastNL + 1 }
        return whitespaceTail(c, i, end)
    }
}

// MARK: Splitting UTF-8 directly

extension SplitPattern {
    /// Whether `splitBytes` can cut with this step: the hand-written patterns.
    var splitsBytes: Bool {
        if case .regex = self { return false }
        return true
    }

    /// Cuts UTF-8 text into the same pieces as `split` (which works on decoded scalars), handing each
    /// piece's byte range to `body` as it is found: no scalar buffer, no list of pieces. The text must be
    /// valid UTF-8 and the step hand-written (`splitsBytes`).
    func splitBytes(_ text: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
        guard let p = text.baseAddress else { return }
        UnicodeClass.bmp.withUnsafeBufferPointer { bmp in
            let t = UTF8Text(p: p, end: text.count, bmp: bmp.baseAddress!)
            var i = 0
            while i < t.end {
                let j: Int
                switch self {
                case .gpt2: j = t.matchGPT2(i)
                case .llama3(let d): j = t.matchLlama3(i, maxDigits: d)
                case .regex: j = t.end
                }
                body(i..<j)
                i = j
            }
        }
    }
}

/// Valid UTF-8 read a character at a time, with the classes of `UnicodeClass`; positions are byte offsets of
/// character starts. The matchers are `SplitPattern.matchGPT2` and `matchLlama3` over these positions.
private struct UTF8Text {
    let p: UnsafePointer<UInt8>
    let end: Int
    /// `UnicodeClass.bmp`.
    let bmp: UnsafePointer<UInt8>

    /// The class bits and byte length of the character at i.
    @inline(__always)
    func char(_ i: Int) -> (cls: UInt8, len: Int) {
        let b0 = p[i]
        if b0 < 0x80 { return (bmp[Int(b0)], 1) }
        let v: UInt32
        let len: Int
        if b0 < 0xE0 {
            v = UInt32(b0 & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F)
            len = 2
        } else if b0 < 0xF0 {
            v = UInt32(b0 & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F)
            len = 3
        } else {
            v = UInt32(b0 & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6 | UInt32(p[i + 3] & 0x3F)
            len = 4
        }
        return (v < 0x10000 ? bmp[Int(v)] : UnicodeClass.compute(v).rawValue, len)
    }

    @inline(__always) func cls(_ i: Int) -> UInt8 { char(i).cls }
    @inline(__always) func next(_ i: Int) -> Int { i + utf8Length(p[i]) }

    /// The end of a run of characters whose class satisfies `f`, from i.
    @inline(__always)
    func run(_ i: Int, _ f: (UInt8) -> Bool) -> Int {
        var j = i
        while j < end {
            let c = char(j)
            if !f(c.cls) { break }
            j += c.len
        }
        return j
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` at i (ASCII; case-insensitive when asked): the end, or nil.
    @inline(__always)
    func contraction(_ i: Int, fold: Bool) -> Int? {
        guard p[i] == 0x27, i + 1 < end else { return nil }
        func low(_ x: UInt8) -> UInt8 { fold && x >= 0x41 && x <= 0x5A ? x + 0x20 : x }
        let a = low(p[i + 1])
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return i + 2 }  // s t m d
        guard i + 2 < end else { return nil }
        let b = low(p[i + 2])
        if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return i + 3 }  // re ve ll
        return nil
    }

    /// The end of the whitespace tail alternatives `\s+(?!\S)|\s+` for a run starting at i.
    @inline(__always)
    func whitespaceTail(_ i: Int) -> Int {
        var k = i
        var last = i
        var count = 0
        while k < end {
            let c = char(k)
            if !SplitPattern.isS(c.cls) { break }
            last = k
            k += c.len
            count += 1
        }
        if k == end || count < 2 { return k }
        return last
    }

    func matchGPT2(_ i: Int) -> Int {
        if let e = contraction(i, fold: false) { return e }
        var j = i
        if p[i] == 0x20, i + 1 < end, !SplitPattern.isS(cls(i + 1)) { j = i + 1 }
        let cj = char(j)
        if SplitPattern.isL(cj.cls) { return run(j + cj.len, SplitPattern.isL) }
        if SplitPattern.isN(cj.cls) { return run(j + cj.len, SplitPattern.isN) }
        if SplitPattern.isOther(cj.cls) { return run(j + cj.len, SplitPattern.isOther) }
        return whitespaceTail(i)
    }

    func matchLlama3(_ i: Int, maxDigits: Int) -> Int {
        if let e = contraction(i, fold: true) { return e }
        let ci = char(i)
        // [^\r\n\p{L}\p{N}]?\p{L}+
        var j = i
        if !SplitPattern.isL(ci.cls), !SplitPattern.isN(ci.cls), !SplitPattern.isNL(ci.cls), i + ci.len < end,
            SplitPattern.isL(cls(i + ci.len))
        {
            j = i + ci.len
        }
        let cj = j == i ? ci : char(j)
        if SplitPattern.isL(cj.cls) { return run(j + cj.len, SplitPattern.isL) }
        // \p{N}{1,maxDigits}
        if SplitPattern.isN(ci.cls) {
            j = i + ci.len
            var n = 1
            while j < end, n < maxDigits {
                let c = char(j)
                if !SplitPattern.isN(c.cls) { break }
                j += c.len
                n += 1
            }
            return j
        }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        j = i
        if p[i] == 0x20, i + 1 < end, SplitPattern.isOther(cls(i + 1)) { j = i + 1 }
        let co = j == i ? ci : char(j)
        if SplitPattern.isOther(co.cls) {
            j = run(j + co.len, SplitPattern.isOther)
            while j < end, p[j] == 0x0A || p[j] == 0x0D { j += 1 }
            return j
        }
        // \s*[\r\n]+ : up to the last newline of the whitespace run
        var k = i
        var lastNL = -1
        while k < end {
            let c = char(k)
            if !SplitPattern.isS(c.cls) { break }
            if SplitPattern.isNL(c.cls) { lastNL = k }
            k += c.len
        }
        if lastNL >= 0 { return lastNL + 1 }
        return whitespaceTail(i)
    }
}
