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
