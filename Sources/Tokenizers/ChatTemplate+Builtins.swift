// Filters, tests, methods and global functions, each as Jinja 3.1 (and transformers, for `tojson`,
// `raise_exception` and `namespace`) define them. The parser has already refused names outside these sets;
// here arguments are bound by Python's rules and the receiving types checked.

extension ChatTemplate.Renderer {
    /// Binds `positional` and `keyword` to `parameters`; the first `required` must be given.
    func arguments(
        _ callee: String, _ positional: [Value], _ keyword: [(String, Value)], _ parameters: [String],
        required: Int = 0, _ line: Int
    ) throws(TokenizerError) -> [Value?] {
        if positional.count > parameters.count {
            throw fail("\(callee) takes at most \(parameters.count) arguments (\(positional.count) given)", line)
        }
        var bound: [Value?] = positional + Array(repeating: nil, count: parameters.count - positional.count)
        for (name, value) in keyword {
            guard let i = parameters.firstIndex(of: name) else {
                throw fail("unsupported argument '\(name)' of \(callee)", line)
            }
            if bound[i] != nil { throw fail("\(callee) got argument '\(name)' twice", line) }
            bound[i] = value
        }
        for i in 0..<required where bound[i] == nil {
            throw fail("\(callee) needs argument '\(parameters[i])'", line)
        }
        return bound
    }

    /// A string argument (`none` or absent gives nil).
    func stringArgument(_ v: Value?, _ what: String, _ line: Int) throws(TokenizerError) -> String? {
        switch v {
        case nil, .none?: return nil
        case .string(let s)?: return s
        case let other?:
            try defined(other, line)
            throw fail("\(what) must be a string, not '\(other.typeName)'", line)
        }
    }

    /// An integer argument (`none` or absent gives nil).
    func intArgument(_ v: Value?, _ what: String, _ line: Int) throws(TokenizerError) -> Int? {
        switch v {
        case nil, .none?: return nil
        case let other?:
            guard let i = other.asInt else {
                try defined(other, line)
                throw fail("\(what) must be an integer, not '\(other.typeName)'", line)
            }
            return i
        }
    }

    /// Python's `len()`.
    func length(_ v: Value, _ line: Int) throws(TokenizerError) -> Int {
        switch v {
        case .undefined: return 0
        case .string(let s): return s.unicodeScalars.count
        case .list(let l): return l.items.count
        case .dict(let d): return d.keys.count
        case .loop(let l): return l.length
        default: throw fail("object of type '\(v.typeName)' has no len()", line)
        }
    }

    // MARK: Filters

    mutating func filter(_ name: String, _ v: Value, _ positional: [Value], _ keyword: [(String, Value)], _ line: Int)
        throws(TokenizerError) -> Value
    {
        let callee = "filter '\(name)'"
        func none() throws(TokenizerError) { _ = try arguments(callee, positional, keyword, [], line) }
        switch name {
        case "trim":
            let a = try arguments(callee, positional, keyword, ["chars"], line)
            let chars = try stringArgument(a[0], "trim's chars", line)
            return .string(ChatTemplate.strip(try str(v, line), chars, leading: true, trailing: true))
        case "upper":
            try none()
            return try sized(try str(v, line).uppercased(), line)
        case "lower":
            try none()
            return try sized(ChatTemplate.lower(try str(v, line)), line)
        case "capitalize":
            try none()
            return try sized(ChatTemplate.capitalize(try str(v, line)), line)
        case "string":
            try none()
            return .string(try str(v, line))
        case "length":
            try none()
            return .int(try length(v, line))
        case "tojson":
            let a = try arguments(callee, positional, keyword, ["indent", "sort_keys"], line)
            let indent = try intArgument(a[0], "tojson's indent", line)
            var out = ""
            try json(v, indent: indent, sortKeys: a[1]?.truthy ?? false, level: 0, into: &out, line)
            return .string(out)
        case "default", "d":
            let a = try arguments(callee, positional, keyword, ["default_value", "boolean"], line)
            let replace = v.isUndefined || ((a[1]?.truthy ?? false) && !v.truthy)
            return replace ? (a[0] ?? .string("")) : v
        case "first", "last":
            try none()
            let items = try iterate(v, line)
            return (name == "first" ? items.first : items.last)
                ?? .undefined("No \(name) item, sequence was empty.")
        case "join":
            let a = try arguments(callee, positional, keyword, ["d", "attribute"], line)
            if let attribute = a[1], !(attribute.isUndefined) { throw fail("unsupported argument 'attribute' of \(callee)", line) }
            let separator = try a[0].map { (s: Value) throws(TokenizerError) in try str(s, line) } ?? ""
            var out = ""
            for (i, item) in try iterate(v, line).enumerated() {
                if i > 0 { out += separator }
                out += try str(item, line)
                if out.utf8.count > limits.bytes { throw fail("string is larger than \(limits.bytes >> 20) MiB", line) }
            }
            return .string(out)
        case "list":
            try none()
            return .list(try iterate(v, line))
        case "items":
            try none()
            switch v {
            case .undefined: return .list([])
            case .dict(let d): return try checked(.list(zip(d.keys, d.values).map { .list([$0, $1], tuple: true) }), line)
            default: throw fail("filter 'items' takes a dict, not '\(v.typeName)'", line)
            }
        case "select", "reject", "selectattr", "rejectattr":
            // select(test, args…) / selectattr(attribute, test, args…); without a test, the truth value.
            if !keyword.isEmpty { throw fail("\(callee) takes no keyword arguments", line) }
            let byAttribute = name.hasSuffix("attr")
            var rest = positional[...]
            var path: [Value] = []
            if byAttribute {
                guard case .string(let attribute)? = rest.popFirst() else {
                    throw fail("\(callee) needs an attribute name", line)
                }
                path = attribute.split(separator: ".", omittingEmptySubsequences: false).map {
                    Int($0).map(Value.int) ?? .string(String($0))
                }
            }
            var testName: String?
            if let first = rest.popFirst() {
                guard case .string(let t) = first else { throw fail("\(callee) needs a test name", line) }
                testName = t
            }
            let keep = name.hasPrefix("select")
            var kept: [Value] = []
            for element in try iterate(v, line) {
                var subject = element
                for key in path { subject = try item(subject, key, line) }
                let passes = try testName.map { (t: String) throws(TokenizerError) in
                    try test(t, subject, Array(rest), [], line)
                } ?? subject.truthy
                if passes == keep { kept.append(element) }
            }
            return .list(kept)
        case "replace":
            let a = try arguments(callee, positional, keyword, ["old", "new", "count"], required: 2, line)
            let old = try str(a[0]!, line)
            let new = try str(a[1]!, line)
            let count = try intArgument(a[2], "replace's count", line) ?? -1
            return .string(try replace(try str(v, line), old, new, count, line))
        default:
            throw fail("unsupported filter '\(name)'", line)
        }
    }

    // MARK: Tests

    mutating func test(_ name: String, _ v: Value, _ positional: [Value], _ keyword: [(String, Value)], _ line: Int)
        throws(TokenizerError) -> Bool
    {
        let callee = "test '\(name)'"
        let takesOther = ["divisibleby", "in", "eq", "equalto", "ne", "lt", "le", "gt", "ge"].contains(name)
        let a = try arguments(callee, positional, keyword, takesOther ? ["other"] : [], required: takesOther ? 1 : 0, line)
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": if case .none = v { return true } else { return false }
        case "string": if case .string = v { return true } else { return false }
        case "boolean": if case .bool = v { return true } else { return false }
        case "integer": if case .int = v { return true } else { return false }
        case "float": if case .float = v { return true } else { return false }
        case "number": return v.asDouble != nil
        case "true": if case .bool(true) = v { return true } else { return false }
        case "false": if case .bool(false) = v { return true } else { return false }
        case "mapping": if case .dict = v { return true } else { return false }
        case "sequence", "iterable":
            switch v {
            case .string, .list, .dict, .undefined: return true
            case .loop: return name == "iterable"
            default: return false
            }
        case "odd", "even":
            let r = try binary(.mod, v, .int(2), line)
            return try equals(r, .int(name == "odd" ? 1 : 0), line)
        case "divisibleby":
            return try equals(try binary(.mod, v, a[0]!, line), .int(0), line)
        case "in": return try contains(a[0]!, v, line)
        case "eq", "equalto": return try compare(.eq, v, a[0]!, line)
        case "ne": return try compare(.ne, v, a[0]!, line)
        case "lt": return try compare(.lt, v, a[0]!, line)
        case "le": return try compare(.le, v, a[0]!, line)
        case "gt": return try compare(.gt, v, a[0]!, line)
        case "ge": return try compare(.ge, v, a[0]!, line)
        default: throw fail("unsupported test '\(name)'", line)
        }
    }

    // MARK: Methods

    mutating func method(
        _ receiver: Value, _ name: String, _ positional: [Value], _ keyword: [(String, Value)], _ line: Int
    ) throws(TokenizerError) -> Value {
        let callee = "\(receiver.typeName).\(name)()"
        switch receiver {
        case .undefined(let why):
            throw fail(why, line)
        case .string(let s):
            switch name {
            case "strip", "lstrip", "rstrip":
                let a = try arguments(callee, positional, keyword, ["chars"], line)
                let chars = try stringArgument(a[0], "\(name)'s chars", line)
                return .string(ChatTemplate.strip(s, chars, leading: name != "rstrip", trailing: name != "lstrip"))
            case "startswith", "endswith":
                let a = try arguments(callee, positional, keyword, ["prefix"], required: 1, line)
                var candidates: [String] = []
                switch a[0]! {
                case .string(let p): candidates = [p]
                case .list(let l) where l.isTuple:
                    for item in l.items {
                        guard case .string(let p) = item else { throw fail("\(callee) takes strings", line) }
                        candidates.append(p)
                    }
                default: throw fail("\(callee) takes a string or a tuple of strings", line)
                }
                let bytes = Array(s.utf8)
                return .bool(candidates.contains { p in
                    let pb = Array(p.utf8)
                    return name == "startswith" ? bytes.starts(with: pb) : bytes.reversed().starts(with: pb.reversed())
                })
            case "split":
                let a = try arguments(callee, positional, keyword, ["sep", "maxsplit"], line)
                let sep = try stringArgument(a[0], "split's sep", line)
                let maxsplit = try intArgument(a[1], "split's maxsplit", line) ?? -1
                if sep == "" { throw fail("empty separator", line) }
                let parts = ChatTemplate.split(s, sep, maxsplit)
                return try checked(.list(parts.map { .string($0) }), line)
            case "upper", "lower":
                _ = try arguments(callee, positional, keyword, [], line)
                return try sized(name == "upper" ? s.uppercased() : ChatTemplate.lower(s), line)
            case "replace":
                let a = try arguments(callee, positional, keyword, ["old", "new", "count"], required: 2, line)
                guard let old = try stringArgument(a[0], "replace's old", line),
                    let new = try stringArgument(a[1], "replace's new", line)
                else { throw fail("\(callee) takes strings", line) }
                return .string(try replace(s, old, new, try intArgument(a[2], "replace's count", line) ?? -1, line))
            default:
                break
            }
        case .dict(let d):
            switch name {
            case "get":
                let a = try arguments(callee, positional, keyword, ["key", "default"], required: 1, line)
                if let i = try index(of: a[0]!, in: d.keys, line) { return d.values[i] }
                return a[1] ?? .none
            case "items":
                _ = try arguments(callee, positional, keyword, [], line)
                return try checked(.list(zip(d.keys, d.values).map { .list([$0, $1], tuple: true) }), line)
            case "keys", "values":
                _ = try arguments(callee, positional, keyword, [], line)
                return .list(name == "keys" ? d.keys : d.values)
            default:
                break
            }
        default:
            break
        }
        throw fail("unsupported method '\(name)' of a \(receiver.typeName)", line)
    }

    // MARK: Functions

    mutating func call(_ name: String, _ positional: [Value], _ keyword: [(String, Value)], _ line: Int)
        throws(TokenizerError) -> Value
    {
        guard case .function(let f) = lookup(name) else {
            if case .undefined = lookup(name) { throw fail("unsupported function '\(name)'", line) }
            throw fail("'\(lookup(name).typeName)' object is not callable", line)
        }
        switch f {
        case "range":
            if !keyword.isEmpty { throw fail("range() takes no keyword arguments", line) }
            var ints: [Int] = []
            for v in positional {
                guard let i = v.asInt else {
                    try defined(v, line)
                    throw fail("range() takes integers, not '\(v.typeName)'", line)
                }
                ints.append(i)
            }
            let (start, stop, step): (Int, Int, Int)
            switch ints.count {
            case 1: (start, stop, step) = (0, ints[0], 1)
            case 2: (start, stop, step) = (ints[0], ints[1], 1)
            case 3: (start, stop, step) = (ints[0], ints[1], ints[2])
            default: throw fail("range() takes 1 to 3 arguments (\(ints.count) given)", line)
            }
            if step == 0 { throw fail("range() step must not be zero", line) }
            let (span, overflow) = (step > 0 ? stop : start).subtractingReportingOverflow(step > 0 ? start : stop)
            let magnitude = step.magnitude
            let count = overflow ? UInt.max : span <= 0 ? 0 : (UInt(span) + magnitude - 1) / magnitude
            if count > UInt(limits.range) {
                throw fail("range() of \(overflow ? "too many" : String(count)) items is larger than \(limits.range)", line)
            }
            return .list(Array(stride(from: start, to: stop, by: step)).map { .int($0) })
        case "namespace":
            if positional.count > 1 { throw fail("namespace() takes at most one dict", line) }
            let ns = ChatTemplate.Namespace()
            if let first = positional.first {
                guard case .dict(let d) = first else { throw fail("namespace() takes a dict, not '\(first.typeName)'", line) }
                for (k, v) in zip(d.keys, d.values) {
                    guard case .string(let key) = k else { throw fail("namespace() keys must be strings", line) }
                    try store(key, v, in: ns, line)
                }
            }
            for (k, v) in keyword { try store(k, v, in: ns, line) }
            return .namespace(ns)
        case "raise_exception":
            let a = try arguments("raise_exception()", positional, keyword, ["message"], required: 1, line)
            throw fail("raise_exception: \(try str(a[0]!, line))", line)
        default:
            throw fail("unsupported function '\(name)'", line)
        }
    }

    // MARK: String helpers that can grow

    /// Python's `str.replace(old, new, count)`; an empty `old` inserts `new` around every character.
    func replace(_ s: String, _ old: String, _ new: String, _ count: Int, _ line: Int) throws(TokenizerError) -> String {
        let limit = count < 0 ? Int.max : count
        var out: [UInt8] = []
        let newBytes = Array(new.utf8)
        func grow(_ bytes: some Collection<UInt8>) throws(TokenizerError) {
            out.append(contentsOf: bytes)
            if out.count > limits.bytes { throw fail("string is larger than \(limits.bytes >> 20) MiB", line) }
        }
        var done = 0
        if old.isEmpty {
            for c in s.unicodeScalars {
                if done < limit {
                    try grow(newBytes)
                    done += 1
                }
                try grow(String(Character(c)).utf8)
            }
            if done < limit { try grow(newBytes) }
            return String(decoding: out, as: UTF8.self)
        }
        let hay = Array(s.utf8)
        let needle = Array(old.utf8)
        var i = 0
        while done < limit, let j = ChatTemplate.find(needle, in: hay, from: i) {
            try grow(hay[i..<j])
            try grow(newBytes)
            i = j + needle.count
            done += 1
        }
        try grow(hay[i...])
        return String(decoding: out, as: UTF8.self)
    }
}

extension ChatTemplate {
    /// Python's `str.strip(chars)` (`lstrip`, `rstrip`); nil `chars` strips whitespace.
    static func strip(_ s: String, _ chars: String?, leading: Bool, trailing: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        func strips(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? isSpace(c) }
        let scalars = Array(s.unicodeScalars)
        var a = 0
        var b = scalars.count
        if leading { while a < b && strips(scalars[a]) { a += 1 } }
        if trailing { while b > a && strips(scalars[b - 1]) { b -= 1 } }
        return string(scalars[a..<b])
    }

    /// Python's `str.split(sep, maxsplit)`; nil `sep` splits on runs of whitespace and drops empty parts.
    static func split(_ s: String, _ sep: String?, _ maxsplit: Int) -> [String] {
        var remaining = maxsplit < 0 ? Int.max : maxsplit
        var parts: [String] = []
        guard let sep else {
            let c = Array(s.unicodeScalars)
            var i = 0
            while remaining > 0 {
                while i < c.count && isSpace(c[i]) { i += 1 }
                if i == c.count { break }
                let j = i
                while i < c.count && !isSpace(c[i]) { i += 1 }
                parts.append(string(c[j..<i]))
                remaining -= 1
            }
            while i < c.count && isSpace(c[i]) { i += 1 }
            if i < c.count { parts.append(string(c[i...])) }
            return parts
        }
        let hay = Array(s.utf8)
        let needle = Array(sep.utf8)
        var i = 0
        while remaining > 0, let j = find(needle, in: hay, from: i) {
            parts.append(String(decoding: hay[i..<j], as: UTF8.self))
            i = j + needle.count
            remaining -= 1
        }
        parts.append(String(decoding: hay[i...], as: UTF8.self))
        return parts
    }

    /// Python's `str.capitalize()`: the first character in title case, the rest in lower case.
    static func capitalize(_ s: String) -> String {
        guard let first = s.unicodeScalars.first else { return s }
        return first.properties.titlecaseMapping + lower(s, from: 1)
    }

    /// Python's `str.lower()`: full lower-case mappings, with capital sigma becoming final sigma (ς) when
    /// a cased letter precedes it and none follows (case-ignorable characters skipped), as Unicode's
    /// Final_Sigma condition says. Swift's `lowercased()` has no such context.
    static func lower(_ s: String, from start: Int = 0) -> String {
        let c = Array(s.unicodeScalars)
        var out = ""
        for i in start..<max(start, c.count) {
            guard c[i] == "\u{03A3}" else {
                out += c[i].properties.lowercaseMapping
                continue
            }
            var j = i - 1
            while j >= 0 && c[j].properties.isCaseIgnorable { j -= 1 }
            var final = j >= 0 && c[j].properties.isCased
            if final {
                j = i + 1
                while j < c.count && c[j].properties.isCaseIgnorable { j += 1 }
                final = j == c.count || !c[j].properties.isCased
            }
            out += final ? "\u{03C2}" : "\u{03C3}"
        }
        return out
    }
}
