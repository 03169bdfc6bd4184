// Python's semantics for what templates print and compute: `str()` and `repr()`, `==` (1 == 1.0 == true,
// strings by code point, tuples never equal to lists), ordering, `in`, and the arithmetic operators with
// Python's floor division and modulo. Every walk over a value is counted against the step bound.

import Foundation

extension ChatTemplate.Renderer {
    typealias Value = ChatTemplate.Value
    typealias Limits = ChatTemplate.Limits

    // MARK: Printing

    /// Python's `str()`; an undefined value prints as ''.
    mutating func str(_ v: Value, _ line: Int) throws(TokenizerError) -> String {
        switch v {
        case .undefined: return ""
        case .string(let s): return s
        default:
            var out = ""
            try write(v, repr: false, depth: 0, into: &out, line)
            return out
        }
    }

    mutating func write(_ v: Value, repr: Bool, depth: Int, into out: inout String, _ line: Int)
        throws(TokenizerError)
    {
        try tick(line)
        if out.utf8.count > limits.bytes { throw fail("value is larger than \(limits.bytes >> 20) MiB", line) }
        switch v {
        case .undefined: out += repr ? "Undefined" : ""
        case .none: out += "None"
        case .bool(let b): out += b ? "True" : "False"
        case .int(let i): out += String(i)
        case .float(let f): out += ChatTemplate.pythonFloat(f)
        case .string(let s): out += repr ? ChatTemplate.pythonRepr(s) : s
        case .list(let l):
            out += l.isTuple ? "(" : "["
            for (i, item) in l.items.enumerated() {
                if i > 0 { out += ", " }
                try write(item, repr: true, depth: depth + 1, into: &out, line)
            }
            out += l.isTuple ? (l.items.count == 1 ? ",)" : ")") : "]"
        case .dict(let d):
            out += "{"
            for i in d.keys.indices {
                if i > 0 { out += ", " }
                try write(d.keys[i], repr: true, depth: depth + 1, into: &out, line)
                out += ": "
                try write(d.values[i], repr: true, depth: depth + 1, into: &out, line)
            }
            out += "}"
        case .namespace(let ns):
            out += "<Namespace {"
            for (i, name) in ns.names.enumerated() {
                if i > 0 { out += ", " }
                out += ChatTemplate.pythonRepr(name) + ": "
                try write(ns.values[name] ?? .none, repr: true, depth: depth + 1, into: &out, line)
            }
            out += "}>"
        case .loop(let l): out += "<LoopContext \(l.index0 + 1)/\(l.length)>"
        case .function(let name): out += "<function \(name)>"
        }
    }

    // MARK: Comparison

    /// Python's `a == b`.
    mutating func equals(_ a: Value, _ b: Value, _ line: Int) throws(TokenizerError) -> Bool {
        try tick(line)
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
        case (.list(let x), .list(let y)):
            guard x.isTuple == y.isTuple, x.items.count == y.items.count else { return false }
            for (p, q) in zip(x.items, y.items) where !(try equals(p, q, line)) { return false }
            return true
        case (.dict(let x), .dict(let y)):
            guard x.keys.count == y.keys.count else { return false }
            for (k, v) in zip(x.keys, x.values) {
                guard let j = try index(of: k, in: y.keys, line), try equals(v, y.values[j], line) else { return false }
            }
            return true
        case (.namespace(let x), .namespace(let y)): return x === y
        case (.function(let x), .function(let y)): return x == y
        default:
            if let x = a.asInt, let y = b.asInt { return x == y }
            if let x = a.asDouble, let y = b.asDouble { return x == y }
            return false
        }
    }

    /// The position of `key` among `keys` by Python's `==`.
    mutating func index(of key: Value, in keys: [Value], _ line: Int) throws(TokenizerError) -> Int? {
        for (i, k) in keys.enumerated() where try equals(k, key, line) { return i }
        return nil
    }

    /// Python's ordering of two values: -1, 0 or 1; nil when either is NaN. Other types are a TypeError.
    mutating func order(_ a: Value, _ b: Value, _ op: String, _ line: Int) throws(TokenizerError) -> Int? {
        try tick(line)
        switch (a, b) {
        case (.string(let x), .string(let y)):
            if x.unicodeScalars.elementsEqual(y.unicodeScalars) { return 0 }
            return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) ? -1 : 1
        case (.list(let x), .list(let y)) where x.isTuple == y.isTuple:
            for (p, q) in zip(x.items, y.items) where !(try equals(p, q, line)) { return try order(p, q, op, line) }
            return x.items.count == y.items.count ? 0 : x.items.count < y.items.count ? -1 : 1
        default:
            if let x = a.asInt, let y = b.asInt { return x == y ? 0 : x < y ? -1 : 1 }
            if let x = a.asDouble, let y = b.asDouble {
                if x.isNaN || y.isNaN { return nil }
                return x == y ? 0 : x < y ? -1 : 1
            }
            try defined(a, line)
            try defined(b, line)
            throw fail("'\(op)' not supported between instances of '\(a.typeName)' and '\(b.typeName)'", line)
        }
    }

    mutating func compare(_ op: ChatTemplate.CompareOp, _ a: Value, _ b: Value, _ line: Int)
        throws(TokenizerError) -> Bool
    {
        switch op {
        case .eq: return try equals(a, b, line)
        case .ne: return !(try equals(a, b, line))
        case .in: return try contains(b, a, line)
        case .notIn: return !(try contains(b, a, line))
        case .lt: return try order(a, b, "<", line).map { $0 < 0 } ?? false
        case .le: return try order(a, b, "<=", line).map { $0 <= 0 } ?? false
        case .gt: return try order(a, b, ">", line).map { $0 > 0 } ?? false
        case .ge: return try order(a, b, ">=", line).map { $0 >= 0 } ?? false
        }
    }

    /// Python's `item in container`.
    mutating func contains(_ container: Value, _ item: Value, _ line: Int) throws(TokenizerError) -> Bool {
        switch container {
        case .undefined: return false
        case .string(let s):
            guard case .string(let needle) = item else {
                try defined(item, line)
                throw fail("'in <string>' requires string as left operand, not \(item.typeName)", line)
            }
            return ChatTemplate.find(Array(needle.utf8), in: Array(s.utf8), from: 0) != nil
        case .list(let l):
            for x in l.items where try equals(x, item, line) { return true }
            return false
        case .dict(let d):
            return try index(of: item, in: d.keys, line) != nil
        default:
            throw fail("argument of type '\(container.typeName)' is not iterable", line)
        }
    }

    // MARK: Arithmetic

    mutating func binary(_ op: ChatTemplate.BinaryOp, _ a: Value, _ b: Value, _ line: Int)
        throws(TokenizerError) -> Value
    {
        if op == .concat {
            let s = try str(a, line) + str(b, line)
            return try sized(s, line)
        }
        if let x = a.asInt, let y = b.asInt { return try integer(op, x, y, line) }
        if let x = a.asDouble, let y = b.asDouble { return try float(op, x, y, line) }
        switch (op, a, b) {
        case (.add, .string(let x), .string(let y)):
            return try sized(x + y, line)
        case (.add, .list(let x), .list(let y)) where x.isTuple == y.isTuple:
            return try checked(.list(x.items + y.items, tuple: x.isTuple), line)
        case (.mul, .string(let s), _), (.mul, _, .string(let s)):
            guard let n = (a.asInt ?? b.asInt) else { break }
            let (bytes, overflow) = s.utf8.count.multipliedReportingOverflow(by: max(n, 0))
            if overflow || bytes > limits.bytes {
                throw fail("string is larger than \(limits.bytes >> 20) MiB", line)
            }
            return .string(String(repeating: s, count: max(n, 0)))
        case (.mul, .list(let l), _), (.mul, _, .list(let l)):
            guard let n = (a.asInt ?? b.asInt) else { break }
            let (count, overflow) = l.items.count.multipliedReportingOverflow(by: max(n, 0))
            if overflow || count > limits.items {
                throw fail("list is longer than \(limits.items) items", line)
            }
            var items: [Value] = []
            for _ in 0..<max(n, 0) { items += l.items }
            return .list(items, tuple: l.isTuple)
        case (.mod, .string, _):
            throw fail("unsupported string formatting with '%'", line)
        default:
            break
        }
        throw try operandError(op.rawValue, a, b, line)
    }

    func sized(_ s: String, _ line: Int) throws(TokenizerError) -> Value {
        if s.utf8.count > limits.bytes { throw fail("string is larger than \(limits.bytes >> 20) MiB", line) }
        return .string(s)
    }

    func integer(_ op: ChatTemplate.BinaryOp, _ x: Int, _ y: Int, _ line: Int) throws(TokenizerError) -> Value {
        let result: (partialValue: Int, overflow: Bool)
        switch op {
        case .add: result = x.addingReportingOverflow(y)
        case .sub: result = x.subtractingReportingOverflow(y)
        case .mul: result = x.multipliedReportingOverflow(by: y)
        case .div: return try float(op, Double(x), Double(y), line)
        case .floorDiv, .mod:
            if y == 0 { throw fail("integer division or modulo by zero", line) }
            let (q, overflow) = x.dividedReportingOverflow(by: y)
            if overflow { throw fail("integer overflow", line) }
            let r = x - q * y
            let adjust = r != 0 && ((r < 0) != (y < 0))
            return .int(op == .floorDiv ? (adjust ? q - 1 : q) : (adjust ? r + y : r))
        case .pow:
            if y < 0 { return try float(op, Double(x), Double(y), line) }
            var (base, e, acc) = (x, y, 1)
            while e > 0 {
                if e & 1 == 1 {
                    let (p, o) = acc.multipliedReportingOverflow(by: base)
                    if o { throw fail("integer overflow", line) }
                    acc = p
                }
                e >>= 1
                if e > 0 {
                    let (p, o) = base.multipliedReportingOverflow(by: base)
                    if o { throw fail("integer overflow", line) }
                    base = p
                }
            }
            return .int(acc)
        case .concat: preconditionFailure("'~' is not arithmetic")
        }
        if result.overflow { throw fail("integer overflow", line) }
        return .int(result.partialValue)
    }

    func float(_ op: ChatTemplate.BinaryOp, _ x: Double, _ y: Double, _ line: Int) throws(TokenizerError) -> Value {
        switch op {
        case .add: return .float(x + y)
        case .sub: return .float(x - y)
        case .mul: return .float(x * y)
        case .div:
            if y == 0 { throw fail("division by zero", line) }
            return .float(x / y)
        case .floorDiv, .mod:
            if y == 0 { throw fail("float division by zero", line) }
            // CPython's float_divmod.
            var mod = x.truncatingRemainder(dividingBy: y)
            var div = (x - mod) / y
            if mod != 0 {
                if (y < 0) != (mod < 0) {
                    mod += y
                    div -= 1
                }
            } else {
                mod = Double(signOf: y, magnitudeOf: 0)
            }
            if op == .mod { return .float(mod) }
            if div == 0 { return .float(Double(signOf: x / y, magnitudeOf: 0)) }
            var floored = div.rounded(.down)
            if div - floored > 0.5 { floored += 1 }
            return .float(floored)
        case .pow:
            if x == 0 && y < 0 { throw fail("0.0 cannot be raised to a negative power", line) }
            if x < 0 && y != y.rounded() { throw fail("negative number raised to a fractional power", line) }
            return .float(Foundation.pow(x, y))
        case .concat: preconditionFailure("'~' is not arithmetic")
        }
    }
}

extension ChatTemplate {
    /// The first occurrence of `needle` in `haystack` at or after `from` (Knuth–Morris–Pratt, linear time).
    /// On UTF-8 bytes this is the same as searching code points.
    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        if needle.isEmpty { return from <= haystack.count ? from : nil }
        var fallback = [Int](repeating: 0, count: needle.count)
        var k = 0
        for i in 1..<needle.count {
            while k > 0 && needle[i] != needle[k] { k = fallback[k - 1] }
            if needle[i] == needle[k] { k += 1 }
            fallback[i] = k
        }
        k = 0
        var i = from
        while i < haystack.count {
            while k > 0 && haystack[i] != needle[k] { k = fallback[k - 1] }
            if haystack[i] == needle[k] { k += 1 }
            if k == needle.count { return i - needle.count + 1 }
            i += 1
        }
        return nil
    }
}
