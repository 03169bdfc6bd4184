// A small backtracking regular-expression engine for pre-tokenizer patterns, over Unicode scalars.
// It supports what tokenizer definitions use: literals and escapes (`\r \n \t \s \S \d \D \w \W`,
// `\p{L} \p{N} \p{P} \p{M} \p{S} \p{Lu} \p{Ll} \p{Lt} \p{Lm} \p{Lo} \p{Nd}` and their `\P{…}`
// negations), bracket sets with ranges and negation, `.`, `^`, `$`, groups `(…)`, `(?:…)`,
// `(?i:…)`, look-ahead `(?=…)` `(?!…)`, alternation, and the quantifiers `? * + {m} {m,} {m,n}`
// (greedy, or lazy with a trailing `?`). Anything else (back-references, look-behind, possessive
// quantifiers, named groups, script names) is refused with the construct named. Case-insensitive
// matching folds ASCII letters only.
//
// Bounds, so that a hostile pattern or text cannot hang, exhaust the stack or allocate without limit:
//
// - At load time a pattern is refused when it is longer than `maxSourceScalars`, nests groups more than
//   64 deep, repeats a group more than `maxGroupIterations` times by an explicit count, or repeats a
//   group that can match the same text in more than one way: a quantifier inside a repeated group over
//   characters the repetition can also go on with (`(a+)+`, `(?:\s*\S*)*`), or alternatives inside a
//   repeated group that can begin with the same character (`(a|a)*`, `(?:ab|a)+`). Those are the
//   patterns on which backtracking takes exponential time; none of the tokenizer patterns in use has one.
// - A pattern that begins with a greedy unbounded repetition of one character or set (`\s+$`, `a*b`) skips
//   the starts inside a run that just failed to match: each would try a subset of the same ends with the
//   same continuation. That keeps the common quadratic case linear.
// - While matching, a repeated group (not a single character or set, which is counted in a loop) repeats
//   at most `maxGroupIterations` times in one match, and stops repeating at half of `maxDepth`, so a longer
//   run becomes several matches. One `split` call may take at most `baseSteps + stepsPerScalar × length`
//   steps (a step is one node tried at one position, or one scalar counted by a repetition; the patterns
//   in use take at most about 20 per scalar) and recurse at most `maxDepth` levels. When either runs out
//   (polynomial backtracking on an adversarial text, or a pattern built past the load-time checks), the
//   attempt that ran out counts as no match and the rest of the text is left as one piece; `split`
//   returns false.

/// A compiled pattern.
struct PatternRegex: Sendable, Equatable {
    let source: String
    let root: RegexNode

    /// Longest pattern accepted, in Unicode scalars (the longest in llama.cpp's table is about 700).
    static let maxSourceScalars = 16_384
    /// Most times a group (anything but one character or set) repeats in one match, and the largest
    /// explicit count `{m,n}` on a group.
    static let maxGroupIterations = 500
    /// The step budget of one `split` call: `baseSteps + stepsPerScalar × scalars`.
    static let baseSteps = 100_000
    static let stepsPerScalar = 64
    /// Deepest recursion of the matcher, in nested node visits (each costs up to about 2.5 KB of stack in a
    /// debug build, a fraction of that optimised). A pattern whose structure alone nests deeper than a third
    /// of this is refused; a repeated group stops repeating at half of it.
    static let maxDepth = 1_500

    static func == (a: PatternRegex, b: PatternRegex) -> Bool { a.source == b.source }

    /// The one-scalar node X when the pattern is `X+ REST`, `X* REST` or `X{m,} REST` (greedy, no upper bound).
    var leadingRun: RegexNode? {
        var first = root
        if case .sequence(let items) = root, let f = items.first { first = f }
        if case .repetition(let inner, _, .max, true) = first { return inner.singleScalar }
        return nil
    }

    /// A pattern from a tree built by hand, without the load-time checks (for tests of the runtime bounds).
    init(source: String, unchecked root: RegexNode) {
        self.source = source
        self.root = root
    }

    init(_ source: String, path: String) throws(TokenizerError) {
        self.source = source
        let scalars = Array(source.unicodeScalars.map(\.value))
        guard scalars.count <= Self.maxSourceScalars else {
            throw TokenizerError(
                path, "pre-tokenizer pattern \(excerpt(source)) is \(scalars.count) characters long, more than the \(Self.maxSourceScalars) supported")
        }
        var p = RegexParser(scalars: scalars, path: path, source: source)
        root = try p.parseAll()
        let depth = root.nesting
        guard depth <= Self.maxDepth / 3 else {
            throw TokenizerError(
                path, "pre-tokenizer pattern \(excerpt(source)) has too many parts in a row: matching it nests \(depth) levels, more than the \(Self.maxDepth / 3) supported")
        }
    }

    /// Cuts scalars `start..<end` into matches and the text between them. Returns false when the step or
    /// depth budget ran out, in which case everything from the attempt that ran out on is one piece.
    @discardableResult
    func split(_ t: borrowing ScalarBuffer, _ start: Int, _ end: Int, into out: inout [Range<Int>]) -> Bool {
        splitCountingSteps(t, start, end, into: &out).finished
    }

    /// `split`, also saying how many steps it took.
    func splitCountingSteps(
        _ t: borrowing ScalarBuffer, _ start: Int, _ end: Int, into out: inout [Range<Int>]
    ) -> (finished: Bool, steps: Int) {
        let allowed = Self.baseSteps + Self.stepsPerScalar * max(0, end - start)
        let run = leadingRun
        var budget = RegexBudget(steps: allowed)
        withUnsafeMutablePointer(to: &budget) { budget in
            t.values.withUnsafeBufferPointer { v in
                t.classes.withUnsafeBufferPointer { c in
                    let m = RegexMatcher(v: v, c: c, start: start, end: end, budget: budget)
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
                        } else if budget.pointee.exhausted {
                            break
                        } else if let run, m.single(run, i) == true {
                            // Every later start inside this run would try a subset of the ends just tried, with
                            // the same continuation: none can match, so skip them (`\s+$` on a long run of
                            // spaces is linear, not quadratic).
                            i = max(i + 1, m.scan(run, i, .max))
                        } else {
                            i += 1
                        }
                    }
                    if gap < end { out.append(gap..<end) }
                }
            }
        }
        return (!budget.exhausted, allowed - budget.steps)
    }
}

/// The steps left and the recursion depth of one `split` call, which the matcher reaches through a pointer
/// (cheaper than a class's checked accesses on a path taken once per node).
struct RegexBudget {
    var steps: Int
    var depth = 0
    var exhausted = false
}

/// `s` quoted for a message, cut to its first 60 scalars.
func excerpt(_ s: String) -> String {
    let u = s.unicodeScalars
    guard u.count > 60 else { return quoted(s) }
    return quoted(String(String.UnicodeScalarView(u.prefix(60)))) + "…"
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
    /// Two or more characters in a row.
    case literal([UInt32], fold: Bool)
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

    func fail(_ m: String, at position: Int? = nil) -> TokenizerError {
        TokenizerError(path, "pre-tokenizer pattern \(excerpt(source)): \(m) at character \(position ?? i)")
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
        if depth > 64 { throw fail("groups nested more than 64 deep") }
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
            let atomStart = i
            var atom = try parseAtom()
            atom = try parseQuantifier(atom)
            try checkRepetition(atom, from: atomStart)
            // Characters in a row become one literal: the matcher then needs one level, not one per character.
            if case .char(let b, let fb) = atom, let last = items.last {
                if case .char(let a, let fa) = last, fa == fb {
                    items[items.count - 1] = .literal([a, b], fold: fb)
                    continue
                }
                if case .literal(let s, let fa) = last, fa == fb {
                    items[items.count - 1] = .literal(s + [b], fold: fb)
                    continue
                }
            }
            items.append(atom)
        }
        return items.count == 1 ? items[0] : (items.isEmpty ? .empty : .sequence(items))
    }

    /// Refuses a repeated group that backtracks exponentially or repeats too often (see the file's opening).
    func checkRepetition(_ node: RegexNode, from atomStart: Int) throws(TokenizerError) {
        guard case .repetition(let body, let lo, let hi, _) = node, hi > 1, body.singleScalar == nil else { return }
        let text = String(String.UnicodeScalarView(scalars[atomStart..<i].compactMap(Unicode.Scalar.init)))
        func refuse(_ why: String) -> TokenizerError {
            TokenizerError(path, "pre-tokenizer pattern \(excerpt(source)): \(excerpt(text)) at character \(atomStart) \(why)")
        }
        if lo > PatternRegex.maxGroupIterations || (hi != Int.max && hi > PatternRegex.maxGroupIterations) {
            throw refuse("repeats a group more than \(PatternRegex.maxGroupIterations) times; not supported")
        }
        switch RegexAmbiguity.find(in: body, follow: body.firstSet) {
        case .none: return
        case .nestedQuantifier:
            throw refuse("nests a quantifier inside a repetition over the same characters, which backtracks exponentially; not supported")
        case .overlappingAlternatives:
            throw refuse("repeats alternatives that can begin with the same character, which backtracks exponentially; not supported")
        }
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
                case 0x3C:
                    let next = i + 1 < scalars.count ? scalars[i + 1] : 0
                    if next == 0x3D || next == 0x21 { throw fail("look-behind '(?<\(next == 0x3D ? "=" : "!")' is not supported", at: i - 2) }
                    throw fail("named groups '(?<name>…)' are not supported", at: i - 2)
                case 0x50: throw fail("named groups '(?P<name>…)' are not supported", at: i - 2)
                case 0x3E: throw fail("atomic groups '(?>…)' are not supported", at: i - 2)
                default: throw fail("unsupported group syntax '(?\(Character(Unicode.Scalar(peek) ?? "?"))'", at: i - 2)
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
            let at = i - 2
            guard !atEnd, peek == 0x7B else { throw fail("\\p needs {Name}") }
            i += 1
            var name = ""
            while !atEnd, peek != 0x7D, name.count < 32 {
                name.unicodeScalars.append(Unicode.Scalar(peek) ?? "?")
                i += 1
            }
            guard !atEnd else { throw fail("unterminated \\p{") }
            i += 1
            return try property(name, negated: negated, at: at)
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
        case 0x31...0x39: throw fail("back-reference '\\\(Character(Unicode.Scalar(c)!))' is not supported", at: i - 2)
        case 0x6B: throw fail("back-reference '\\k' is not supported", at: i - 2)
        case 0x30, 0x62, 0x42, 0x41, 0x7A, 0x5A, 0x47:
            throw fail("escape '\\\(Character(Unicode.Scalar(c)!))' is not supported", at: i - 2)
        default:
            if (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) {
                throw fail("escape '\\\(Character(Unicode.Scalar(c)!))' is not supported")
            }
            return .range(c, c)
        }
    }

    func property(_ name: String, negated: Bool, at: Int) throws(TokenizerError) -> RegexAtom {
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
        default: throw fail("Unicode property '\(name)' is not supported", at: at)
        }
    }
}

struct RegexMatcher {
    let v: UnsafeBufferPointer<UInt32>
    let c: UnsafeBufferPointer<UInt8>
    let start: Int
    let end: Int
    let budget: UnsafeMutablePointer<RegexBudget>

    @inline(__always)
    func lower(_ x: UInt32) -> UInt32 { Self.lowerASCII(x) }

    @inline(__always)
    static func lowerASCII(_ x: UInt32) -> UInt32 { x >= 0x41 && x <= 0x5A ? x + 0x20 : x }

    @inline(__always)
    func atomMatches(_ a: RegexAtom, _ x: UInt32, _ cl: UInt8, fold: Bool) -> Bool { Self.atomMatches(a, x, cl, fold: fold) }

    static func atomMatches(_ a: RegexAtom, _ x: UInt32, _ cl: UInt8, fold: Bool) -> Bool {
        switch a {
        case .range(let lo, let hi):
            if x >= lo && x <= hi { return true }
            if fold {
                let l = lowerASCII(x)
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
    /// Every case is a small function of its own: the matcher recurses once per node it enters, and small
    /// frames keep that cheap in stack.
    func match(_ n: RegexNode, _ p: Int, _ k: (Int) -> Bool) -> Bool {
        guard budget.pointee.steps > 0, budget.pointee.depth < PatternRegex.maxDepth else { return giveUp() }
        budget.pointee.steps -= 1
        budget.pointee.depth += 1
        let r: Bool
        switch n {
        case .char, .set, .any: r = single(n, p) == true && k(p + 1)
        case .empty: r = k(p)
        case .literal(let s, let fold): r = literal(s, fold, p, k)
        case .lineStart: r = (p == start || v[p - 1] == 0x0A) && k(p)
        case .lineEnd: r = (p == end || v[p] == 0x0A) && k(p)
        case .sequence(let items): r = seq(items, 0, p, k)
        case .alternation(let branches): r = alternation(branches, p, k)
        case .lookahead(let inner, let negative): r = lookahead(inner, negative, p, k)
        case .repetition(let inner, let lo, let hi, let greedy):
            r = inner.singleScalar != nil ? repeatSingle(inner, lo, hi, greedy, p, k) : rep(inner, lo, hi, greedy, 0, p, k)
        }
        budget.pointee.depth -= 1
        return r
    }

    /// The budget ran out: this and every later attempt fails at once.
    func giveUp() -> Bool {
        budget.pointee.exhausted = true
        budget.pointee.steps = 0
        return false
    }

    func literal(_ s: [UInt32], _ fold: Bool, _ p: Int, _ k: (Int) -> Bool) -> Bool {
        guard end - p >= s.count else { return false }
        for (j, ch) in s.enumerated() where v[p + j] != ch && !(fold && lower(v[p + j]) == lower(ch)) { return false }
        return k(p + s.count)
    }

    func alternation(_ branches: [RegexNode], _ p: Int, _ k: (Int) -> Bool) -> Bool {
        for b in branches where match(b, p, k) { return true }
        return false
    }

    func lookahead(_ inner: RegexNode, _ negative: Bool, _ p: Int, _ k: (Int) -> Bool) -> Bool {
        let found = match(inner, p) { _ in true }
        return found != negative && !budget.pointee.exhausted && k(p)
    }

    /// A one-scalar item repeated: count how far it repeats, then try the ends in order.
    func repeatSingle(_ inner: RegexNode, _ lo: Int, _ hi: Int, _ greedy: Bool, _ p: Int, _ k: (Int) -> Bool) -> Bool {
        let q = scan(inner, p, hi)
        budget.pointee.steps -= q - p
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

    /// How far from p a one-scalar node repeats, at most `hi` times (the node taken apart once, not per scalar).
    func scan(_ n: RegexNode, _ p: Int, _ hi: Int) -> Int {
        let stop = hi >= end - p ? end : p + hi
        var q = p
        switch n {
        case .char(let ch, let fold):
            while q < stop, v[q] == ch || (fold && lower(v[q]) == lower(ch)) { q += 1 }
        case .set(let atoms, let negated, let fold):
            atoms.withUnsafeBufferPointer { atoms in
                while q < stop {
                    let x = v[q], cl = c[q]
                    var hit = false
                    for a in atoms where atomMatches(a, x, cl, fold: fold) {
                        hit = true
                        break
                    }
                    if hit == negated { break }
                    q += 1
                }
            }
        case .any:
            while q < stop, v[q] != 0x0A { q += 1 }
        default: break
        }
        return q
    }

    func seq(_ items: [RegexNode], _ idx: Int, _ p: Int, _ k: (Int) -> Bool) -> Bool {
        if idx == items.count { return k(p) }
        return match(items[idx], p) { e in seq(items, idx + 1, e, k) }
    }

    /// A group repeated: one level of recursion per iteration, so iterations stop at `maxGroupIterations`
    /// or when half the depth budget is used, as if the group's maximum were reached there.
    func rep(_ n: RegexNode, _ lo: Int, _ hi: Int, _ greedy: Bool, _ count: Int, _ p: Int, _ k: (Int) -> Bool) -> Bool {
        if count >= lo, !greedy, k(p) { return true }
        if count < hi, count < PatternRegex.maxGroupIterations, budget.pointee.depth < PatternRegex.maxDepth / 2 {
            let more = match(n, p) { e in e > p && rep(n, lo, hi, greedy, count + 1, e, k) }
            if more { return true }
        }
        if count >= lo, greedy { return k(p) }
        return false
    }
}

// MARK: Load-time analysis of repeated groups

extension RegexNode {
    /// The node itself when it matches exactly one scalar (a character, a set or `.`).
    var singleScalar: RegexNode? {
        switch self {
        case .char, .set, .any: return self
        default: return nil
        }
    }

    /// How many levels the matcher nests to match the node once (a repeated group counted once).
    var nesting: Int {
        switch self {
        case .char, .literal, .set, .any, .empty, .lineStart, .lineEnd: return 1
        case .sequence(let items): return 1 + items.reduce(0) { $0 + $1.nesting }
        case .alternation(let branches): return 1 + (branches.map(\.nesting).max() ?? 0)
        case .lookahead(let inner, _): return 1 + inner.nesting
        case .repetition(let inner, _, _, _): return inner.singleScalar != nil ? 1 : 1 + inner.nesting
        }
    }

    /// Whether the node can match the empty string.
    var nullable: Bool {
        switch self {
        case .char, .literal, .set, .any: return false
        case .empty, .lineStart, .lineEnd, .lookahead: return true
        case .sequence(let items): return items.allSatisfy(\.nullable)
        case .alternation(let branches): return branches.contains(where: \.nullable)
        case .repetition(let inner, let lo, _, _): return lo == 0 || inner.nullable
        }
    }

    /// The one-scalar nodes a non-empty match can begin with.
    var firstSet: [RegexNode] {
        switch self {
        case .char, .set, .any: return [self]
        case .literal(let s, let fold): return [.char(s[0], fold: fold)]
        case .empty, .lineStart, .lineEnd, .lookahead: return []
        case .sequence(let items):
            var out: [RegexNode] = []
            for item in items {
                out += item.firstSet
                if !item.nullable { break }
            }
            return out
        case .alternation(let branches): return branches.flatMap(\.firstSet)
        case .repetition(let inner, _, _, _): return inner.firstSet
        }
    }
}

/// Finds what makes a repeated group ambiguous: a part of it that can match the same text in more than one
/// way, so that backtracking over n characters tries exponentially many ways before it fails.
enum RegexAmbiguity {
    case none, nestedQuantifier, overlappingAlternatives

    /// Walks `node` (the body of a repetition, or a part of it) knowing `follow`, what may come right after it
    /// while the repetition goes on (the body's own first characters, for its next iteration).
    static func find(in node: RegexNode, follow: [RegexNode]) -> RegexAmbiguity {
        switch node {
        case .sequence(let items):
            var after = follow
            for item in items.reversed() {
                let r = find(in: item, follow: after)
                if r != .none { return r }
                after = item.nullable ? item.firstSet + after : item.firstSet
            }
            return .none
        case .alternation(let branches):
            for (x, a) in branches.enumerated() {
                for b in branches[(x + 1)...] where overlap(a.firstSet, b.firstSet) { return .overlappingAlternatives }
            }
            for b in branches {
                let r = find(in: b, follow: follow)
                if r != .none { return r }
            }
            return .none
        case .repetition(let inner, _, let hi, _):
            if hi > 1, overlap(inner.firstSet, follow) { return .nestedQuantifier }
            return find(in: inner, follow: hi > 1 ? inner.firstSet + follow : follow)
        default:
            return .none
        }
    }

    /// Whether some scalar begins both a match of a node of `a` and of a node of `b`.
    static func overlap(_ a: [RegexNode], _ b: [RegexNode]) -> Bool {
        for x in a {
            for y in b where overlap(x, y) { return true }
        }
        return false
    }

    static func overlap(_ x: RegexNode, _ y: RegexNode) -> Bool {
        // A character is tested directly (with its other case when folding).
        for (a, b) in [(x, y), (y, x)] {
            if case .char(let ch, let fold) = a {
                var candidates = [ch]
                if fold, (0x41...0x5A).contains(ch) { candidates.append(ch + 0x20) }
                if fold, (0x61...0x7A).contains(ch) { candidates.append(ch - 0x20) }
                return candidates.contains { matches(b, $0) }
            }
        }
        // ASCII one by one (case folding, \r \n and '_' only matter there).
        for v in UInt32(0)..<0x80 where matches(x, v) && matches(y, v) { return true }
        // Above ASCII a scalar's membership depends only on the explicit ranges it falls in, its general
        // category and whether it is White_Space. Cut the scalars at every range end; a stretch of at most
        // 65,536 is tested scalar by scalar, a longer one (where every category occurs) by category.
        var cuts: Set<UInt32> = [0x80, 0x110000]
        for n in [x, y] {
            guard case .set(let atoms, _, _) = n else { continue }
            for case .range(let lo, let hi) in atoms {
                cuts.insert(min(max(lo, 0x80), 0x110000))
                cuts.insert(min(max(hi, 0x7F) + 1, 0x110000))
            }
        }
        let points = cuts.sorted()
        for (lo, hi) in zip(points, points.dropFirst()) {
            if hi - lo <= 0x10000 {
                for v in lo..<hi where !(0xD800...0xDFFF).contains(v) && matches(x, v) && matches(y, v) { return true }
            } else {
                for (gc, whitespace) in categories {
                    let cl = classBits(gc, whitespace: whitespace)
                    if member(x, lo, cl, gc), member(y, lo, cl, gc) { return true }
                }
            }
        }
        return false
    }

    /// Every general category, with and without White_Space where a scalar of that category can be one.
    static let categories: [(Unicode.GeneralCategory, Bool)] = {
        let all: [Unicode.GeneralCategory] = [
            .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .nonspacingMark,
            .spacingMark, .enclosingMark, .decimalNumber, .letterNumber, .otherNumber, .connectorPunctuation,
            .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation, .finalPunctuation,
            .otherPunctuation, .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol, .spaceSeparator,
            .lineSeparator, .paragraphSeparator, .control, .format, .surrogate, .privateUse, .unassigned,
        ]
        let spaces: [Unicode.GeneralCategory] = [.spaceSeparator, .lineSeparator, .paragraphSeparator, .control]
        return all.map { ($0, false) } + spaces.map { ($0, true) }
    }()

    /// The `UnicodeClass` bits of a scalar above ASCII with this category.
    static func classBits(_ gc: Unicode.GeneralCategory, whitespace: Bool) -> UInt8 {
        var c: UnicodeClass = []
        switch gc {
        case .uppercaseLetter, .titlecaseLetter: c = [.letter, .upper]
        case .lowercaseLetter, .modifierLetter, .otherLetter: c = .letter
        case .decimalNumber, .letterNumber, .otherNumber: c = .number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            c = .punctuation
        case .nonspacingMark, .spacingMark, .enclosingMark: c = .mark
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: c = .symbol
        default: break
        }
        if whitespace { c.insert(.whitespace) }
        return c.rawValue
    }

    /// Whether the one-scalar node matches a scalar above ASCII at `x` with class bits `cl` and category `gc`.
    static func member(_ n: RegexNode, _ x: UInt32, _ cl: UInt8, _ gc: Unicode.GeneralCategory) -> Bool {
        switch n {
        case .char(let ch, _): return x == ch
        case .any: return true
        case .set(let atoms, let negated, _):
            let hit = atoms.contains { a in
                switch a {
                case .range(let lo, let hi): return x >= lo && x <= hi
                case .classes(let m): return cl & m != 0
                case .notClasses(let m): return cl & m == 0
                case .decimalDigit(let neg): return (gc == .decimalNumber) != neg
                case .generalCategory(let g, let neg): return (gc == g) != neg
                case .word(let neg):
                    return (cl & (UnicodeClass.letter.rawValue | UnicodeClass.number.rawValue | UnicodeClass.mark.rawValue) != 0) != neg
                }
            }
            return hit != negated
        default: return false
        }
    }

    /// Whether the one-scalar node matches the scalar `x`.
    static func matches(_ n: RegexNode, _ x: UInt32) -> Bool {
        let cl = UnicodeClass.of(x).rawValue
        switch n {
        case .char(let ch, let fold):
            return x == ch || (fold && RegexMatcher.lowerASCII(x) == RegexMatcher.lowerASCII(ch))
        case .set(let atoms, let negated, let fold):
            return atoms.contains { RegexMatcher.atomMatches($0, x, cl, fold: fold) } != negated
        case .any: return x != 0x0A
        default: return false
        }
    }
}
