// A small backtracking regular-expression engine for pre-tokenizer patterns, over Unicode scalars.
// It supports what tokenizer definitions use: literals and escapes (`\r \n \t \s \S \d \D \w \W`,
// `\p{L} \p{N} \p{P} \p{M} \p{S} \p{Lu} \p{Ll} \p{Lt} \p{Lm} \p{Lo} \p{Nd}` and their `\P{…}`
// negations), bracket sets with ranges and negation, `.`, `^`, `$`, groups `(…)`, `(?:…)`,
// `(?i:…)`, look-ahead `(?=…)` `(?!…)`, alternation, and the quantifiers `? * + {m} {m,} {m,n}`
// (greedy, or lazy with a trailing `?`). Anything else (back-references, look-behind, possessive
// quantifiers, named groups, script names) is refused with the construct named. Case-insensitive
// matching folds ASCII letters only.

/// A compiled pattern.
struct PatternRegex: Sendable, Equatable {
    let source: String
    let root: RegexNode

    static func == (a: PatternRegex, b: PatternRegex) -> Bool { a.source == b.source }

    init(_ source: String, path: String) throws(TokenizerError) {
        self.source = source
        var p = RegexParser(scalars: Array(source.unicodeScalars.map(\.value)), path: path, source: source)
        root = try p.parseAll()
    }

    /// Cuts scalars `start..<end` into matches and the text between them.
    func split(_ t: borrowing ScalarBuffer, _ start: Int, _ end: Int, into out: inout [Range<Int>]) {
        t.values.withUnsafeBufferPointer { v in
            t.classes.withUnsafeBufferPointer { c in
                let m = RegexMatcher(v: v, c: c, start: start, end: end)
                var gap = start
                var i = start
                while i < end {
                    var matchEnd = -1
                    _ = m.match(root, i) { e in
                        matchEnd = e
                        return true
                    }
                    if matchEnd > i {
                        if gap < i { out.append(gap..<i) }
                        out.append(i..<matchEnd)
                        i = matchEnd
                        gap = i
                    } else {
                        i += 1
                    }
                }
                if gap < end { out.append(gap..<end) }
            }
        }
    }
}

/// One item of a bracket set or escape.
enum RegexAtom: Sendable, Equatable {
    case range(UInt32, UInt32)
    /// Scalars having any of these class bits.
    case classes(UInt8)
    /// Scalars having none of these class bits.
    case notClasses(UInt8)
    case decimalDigit(negated: Bool)
    case generalCategory(Unicode.GeneralCategory, negated: Bool)
    case word(negated: Bool)
}

indirect enum RegexNode: Sendable, Equatable {
    case empty
    case char(UInt32, fold: Bool)
    case set([RegexAtom], negated: Bool, fold: Bool)
    case any
    case sequence([RegexNode])
    case alternation([RegexNode])
    case repetition(RegexNode, min: Int, max: Int, greedy: Bool)
    case lookahead(RegexNode, negative: Bool)
    case lineStart, lineEnd
}

private struct RegexParser {
    let scalars: [UInt32]
    let path: String
    let source: String
    var i = 0
    var fold = false
    var depth = 0

    init(scalars: [UInt32], path: String, source: String) {
        self.scalars = scalars
        self.path = path
        self.source = source
    }

    func fail(_ m: String) -> TokenizerError {
        TokenizerError(path, "pre-tokenizer pattern \(quoted(source)): \(m) at character \(i)")
    }

    var atEnd: Bool { i >= scalars.count }
    var peek: UInt32 { scalars[i] }

    mutating func parseAll() throws(TokenizerError) -> RegexNode {
        let n = try parseAlternation()
        if !atEnd { throw fail("unbalanced ')'") }
        return n
    }

    mutating func parseAlternation() throws(TokenizerError) -> RegexNode {
        depth += 1
        defer { depth -= 1 }
        if depth > 64 { throw fail("groups nested too deeply") }
        var branches = [try parseSequence()]
        while !atEnd, peek == 0x7C {  // |
            i += 1
            branches.append(try parseSequence())
        }
        return branches.count == 1 ? branches[0] : .alternation(branches)
    }

    mutating func parseSequence() throws(TokenizerError) -> RegexNode {
        var items: [RegexNode] = []
        while !atEnd, peek != 0x7C, peek != 0x29 {
            var atom = try parseAtom()
            atom = try parseQuantifier(atom)
            items.append(atom)
        }
        return items.count == 1 ? items[0] : (items.isEmpty ? .empty : .sequence(items))
    }

    mutating func parseQuantifier(_ atom: RegexNode) throws(TokenizerError) -> RegexNode {
        guard !atEnd else { return atom }
        var lo = 0, hi = Int.max
        switch peek {
        case 0x3F: (lo, hi) = (0, 1)
        case 0x2A: (lo, hi) = (0, Int.max)
        case 0x2B: (lo, hi) = (1, Int.max)
        case 0x7B:  // {m}, {m,}, {m,n}
            var j = i + 1
            func number(_ j: inout Int) -> Int? {
                var v = 0, any = false
                while j < scalars.count, scalars[j] >= 0x30, scalars[j] <= 0x39, v < 100_000 {
                    v = v * 10 + Int(scalars[j] - 0x30)
                    j += 1
                    any = true
                }
                return any ? v : nil
            }
            guard let m = number(&j) else { return atom }
            lo = m
            hi = m
            if j < scalars.count, scalars[j] == 0x2C {
                j += 1
                hi = number(&j) ?? Int.max
            }
            guard j < scalars.count, scalars[j] == 0x7D, lo <= hi else { throw fail("malformed {m,n} quantifier") }
            i = j
        default: return atom
        }
        i += 1
        var greedy = true
        if !atEnd, peek == 0x3F {
            greedy = false
            i += 1
        } else if !atEnd, peek == 0x2B {
            throw fail("possessive quantifiers are not supported")
        }
        if case .lookahead = atom { throw fail("a quantified look-ahead is not supported") }
        return .repetition(atom, min: lo, max: hi, greedy: greedy)
    }

    mutating func parseAtom() throws(TokenizerError) -> RegexNode {
        let c = peek
        i += 1
        switch c {
        case 0x28:  // (
            var savedFold = fold
            var kind = 0  // 0 group, 1 lookahead, 2 negative lookahead
            if !atEnd, peek == 0x3F {  // (?
                i += 1
                guard !atEnd else { throw fail("unterminated group") }
                switch peek {
                case 0x3A: i += 1
                case 0x3D: kind = 1; i += 1
                case 0x21: kind = 2; i += 1
                case 0x69:  // (?i: or (?i)
                    i += 1
                    guard !atEnd else { throw fail("unterminated group") }
                    if peek == 0x3A {
                        i += 1
                        fold = true
                    } else if peek == 0x29 {
                        i += 1
                        fold = true
                        savedFold = true
                        return .empty
                    } else {
                        throw fail("unsupported inline flags")
                    }
                case 0x3C: throw fail("look-behind and named groups are not supported")
                default: throw fail("unsupported group syntax '(?\(Character(Unicode.Scalar(peek) ?? "?"))'")
                }
            }
            let inner = try parseAlternation()
            fold = savedFold
            guard !atEnd, peek == 0x29 else { throw fail("unterminated group") }
            i += 1
            switch kind {
            case 1: return .lookahead(inner, negative: false)
            case 2: return .lookahead(inner, negative: true)
            default: return inner
            }
        case 0x5B: return try parseSet()
        case 0x2E: return .any
        case 0x5E: return .lineStart
        case 0x24: return .lineEnd
        case 0x5C:
            let atom = try parseEscape()
            if case .range(let a, let b) = atom, a == b { return .char(a, fold: fold) }
            return .set([atom], negated: false, fold: fold)
        case 0x29: throw fail("unbalanced ')'")
        case 0x2A, 0x2B, 0x3F: throw fail("quantifier with nothing to repeat")
        default: return .char(c, fold: fold)
        }
    }

    mutating func parseSet() throws(TokenizerError) -> RegexNode {
        var negated = false
        if !atEnd, peek == 0x5E {
            negated = true
            i += 1
        }
        var atoms: [RegexAtom] = []
        var first = true
        while true {
            guard !atEnd else { throw fail("unterminated [set]") }
            let c = peek
            if c == 0x5D, !first {
                i += 1
                break
            }
            first = false
            i += 1
            var lo: UInt32
            if c == 0x5C {
                let a = try parseEscape()
                guard case .range(let x, let y) = a, x == y else {
                    atoms.append(a)
                    continue
                }
                lo = x
            } else if c == 0x5B, !atEnd, peek == 0x3A {
                throw fail("POSIX classes are not supported")
            } else {
                lo = c
            }
            // a range lo-hi
            if i + 1 < scalars.count, peek == 0x2D, scalars[i + 1] != 0x5D {
                i += 1
                var hi = peek
                i += 1
                if hi == 0x5C {
                    guard case .range(let x, let y) = try parseEscape(), x == y else { throw fail("bad range end") }
                    hi = x
                }
                guard lo <= hi else { throw fail("range out of order") }
                atoms.append(.range(lo, hi))
            } else {
                atoms.append(.range(lo, lo))
            }
        }
        return .set(atoms, negated: negated, fold: fold)
    }

    mutating func parseEscape() throws(TokenizerError) -> RegexAtom {
        guard !atEnd else { throw fail("pattern ends with '\\'") }
        let c = peek
        i += 1
        switch c {
        case 0x72: return .range(0x0D, 0x0D)  // \r
        case 0x6E: return .range(0x0A, 0x0A)  // \n
        case 0x74: return .range(0x09, 0x09)  // \t
        case 0x66: return .range(0x0C, 0x0C)  // \f
        case 0x76: return .range(0x0B, 0x0B)  // \v
        case 0x73: return .classes(UnicodeClass.whitespace.rawValue)
        case 0x53: return .notClasses(UnicodeClass.whitespace.rawValue)
        case 0x64: return .decimalDigit(negated: false)
        case 0x44: return .decimalDigit(negated: true)
        case 0x77: return .word(negated: false)
        case 0x57: return .word(negated: true)
        case 0x70, 0x50:  // \p{…} \P{…}
            let negated = c == 0x50
            guard !atEnd, peek == 0x7B else { throw fail("\\p needs {Name}") }
            i += 1
            var name = ""
            while !atEnd, peek != 0x7D, name.count < 32 {
                name.unicodeScalars.append(Unicode.Scalar(peek) ?? "?")
                i += 1
            }
            guard !atEnd else { throw fail("unterminated \\p{") }
            i += 1
            return try property(name, negated: negated)
        case 0x78:  // \xNN
            guard i + 1 < scalars.count,
                let v = UInt32(String(String.UnicodeScalarView([scalars[i], scalars[i + 1]].compactMap(Unicode.Scalar.init))), radix: 16)
            else { throw fail("malformed \\x escape") }
            i += 2
            return .range(v, v)
        case 0x75:  // \uNNNN
            guard i + 3 < scalars.count,
                let v = UInt32(String(String.UnicodeScalarView(scalars[i..<(i + 4)].compactMap(Unicode.Scalar.init))), radix: 16)
            else { throw fail("malformed \\u escape") }
            i += 4
            return .range(v, v)
        case 0x30...0x39, 0x62, 0x42, 0x41, 0x7A, 0x5A, 0x6B, 0x47:
            throw fail("escape '\\\(Character(Unicode.Scalar(c)!))' is not supported")
        default:
            if (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) {
                throw fail("escape '\\\(Character(Unicode.Scalar(c)!))' is not supported")
            }
            return .range(c, c)
        }
    }

    func property(_ name: String, negated: Bool) throws(TokenizerError) -> RegexAtom {
        func cls(_ c: UnicodeClass) -> RegexAtom { negated ? .notClasses(c.rawValue) : .classes(c.rawValue) }
        switch name {
        case "L", "Letter": return cls(.letter)
        case "N", "Number": return cls(.number)
        case "P", "Punctuation": return cls(.punctuation)
        case "M", "Mark": return cls(.mark)
        case "S", "Symbol": return cls(.symbol)
        case "Lu": return .generalCategory(.uppercaseLetter, negated: negated)
        case "Ll": return .generalCategory(.lowercaseLetter, negated: negated)
        case "Lt": return .generalCategory(.titlecaseLetter, negated: negated)
        case "Lm": return .generalCategory(.modifierLetter, negated: negated)
        case "Lo": return .generalCategory(.otherLetter, negated: negated)
        case "Nd": return .generalCategory(.decimalNumber, negated: negated)
        case "Mn": return .generalCategory(.nonspacingMark, negated: negated)
        default: throw fail("Unicode property '\(name)' is not supported")
        }
    }
}

private struct RegexMatcher {
    let v: UnsafeBufferPointer<UInt32>
    let c: UnsafeBufferPointer<UInt8>
    let start: Int
    let end: Int

    @inline(__always)
    func lower(_ x: UInt32) -> UInt32 { x >= 0x41 && x <= 0x5A ? x + 0x20 : x }

    func atomMatches(_ a: RegexAtom, _ x: UInt32, _ cl: UInt8, fold: Bool) -> Bool {
        switch a {
        case .range(let lo, let hi):
            if x >= lo && x <= hi { return true }
            if fold {
                let l = lower(x)
                let u = (x >= 0x61 && x <= 0x7A) ? x - 0x20 : x
                return (l >= lo && l <= hi) || (u >= lo && u <= hi)
            }
            return false
        case .classes(let m): return cl & m != 0
        case .notClasses(let m): return cl & m == 0
        case .decimalDigit(let neg):
            let d = (x >= 0x30 && x <= 0x39) || (x > 0x7F && Unicode.Scalar(x)?.properties.generalCategory == .decimalNumber)
            return d != neg
        case .generalCategory(let g, let neg):
            return (Unicode.Scalar(x)?.properties.generalCategory == g) != neg
        case .word(let neg):
            let w = cl & (UnicodeClass.letter.rawValue | UnicodeClass.number.rawValue | UnicodeClass.mark.rawValue) != 0
                || x == 0x5F
            return w != neg
        }
    }

    /// Whether the single-scalar node matches at position p.
    func single(_ n: RegexNode, _ p: Int) -> Bool? {
        switch n {
        case .char(let ch, let fold):
            guard p < end else { return false }
            return v[p] == ch || (fold && lower(v[p]) == lower(ch))
        case .set(let atoms, let negated, let fold):
            guard p < end else { return false }
            let x = v[p], cl = c[p]
            var hit = false
            for a in atoms where atomMatches(a, x, cl, fold: fold) {
                hit = true
                break
            }
            return hit != negated
        case .any:
            guard p < end else { return false }
            return v[p] != 0x0A
        default: return nil
        }
    }

    /// Matches `n` at `p`, calling `k` with each possible end in preference order until it returns true.
    func match(_ n: RegexNode, _ p: Int, _ k: (Int) -> Bool) -> Bool {
        if let s = single(n, p) { return s && k(p + 1) }
        switch n {
        case .empty: return k(p)
        case .lineStart: return (p == start || v[p - 1] == 0x0A) && k(p)
        case .lineEnd: return (p == end || v[p] == 0x0A) && k(p)
        case .sequence(let items): return seq(items, 0, p, k)
        case .alternation(let branches):
            for b in branches where match(b, p, k) { return true }
            return false
        case .lookahead(let inner, let negative):
            let found = match(inner, p) { _ in true }
            return found != negative && k(p)
        case .repetition(let inner, let lo, let hi, let greedy):
            if single(inner, p) != nil {
                // Count how far a one-scalar item repeats, then try the ends in order.
                var q = p
                while q - p < hi, single(inner, q) == true { q += 1 }
                if q - p < lo { return false }
                if greedy {
                    var e = q
                    while e >= p + lo {
                        if k(e) { return true }
                        e -= 1
                    }
                } else {
                    for e in (p + lo)...q where k(e) { return true }
                }
                return false
            }
            return rep(inner, lo, hi, greedy, 0, p, k)
        default: return false
        }
    }

    func seq(_ items: [RegexNode], _ idx: Int, _ p: Int, _ k: (Int) -> Bool) -> Bool {
        if idx == items.count { return k(p) }
        return match(items[idx], p) { e in seq(items, idx + 1, e, k) }
    }

    func rep(_ n: RegexNode, _ lo: Int, _ hi: Int, _ greedy: Bool, _ count: Int, _ p: Int, _ k: (Int) -> Bool) -> Bool {
        if count >= lo, !greedy, k(p) { return true }
        if count < hi {
            let more = match(n, p) { e in e > p && rep(n, lo, hi, greedy, count + 1, e, k) }
            if more { return true }
        }
        if count >= lo, greedy { return k(p) }
        return false
    }
}
