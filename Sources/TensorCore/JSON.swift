// A small, strict JSON reader and writer for file headers and configs. It keeps object key
// order, keeps numbers as their source text (so 2^53+1 stays exact), reports duplicate keys
// by name, and bounds nesting depth so a hostile header cannot exhaust the stack.

/// A parsed JSON value. Objects keep their keys in file order.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number as written in the source (e.g. `"1e-05"`, `"9007199254740993"`).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y || (Double(x) != nil && Double(x) == Double(y))
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The member named `key` of an object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members.first { $0.0 == key }?.1 }
        return nil
    }

    /// An integer number written without fraction or exponent, exactly; nil otherwise.
    public var int: Int? {
        if case .number(let s) = self { return Int(s) }
        return nil
    }

    /// Any number as a Double.
    public var double: Double? {
        if case .number(let s) = self { return Double(s) }
        return nil
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var array: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var object: [(String, JSONValue)]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public var isNull: Bool { if case .null = self { return true } else { return false } }
}

/// Why JSON text was rejected, with the byte offset.
public struct JSONError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let offset: Int
    public var description: String { "\(message) at byte \(offset)" }
}

/// Parses JSON text (RFC 8259) strictly.
public struct JSONParser {
    /// Deepest nesting accepted.
    public static let maxDepth = 128

    private let bytes: UnsafeRawBufferPointer
    private var i = 0
    private let rejectDuplicateKeys: Bool

    /// Parses one JSON value surrounded only by whitespace.
    public static func parse(_ text: UnsafeRawBufferPointer, rejectDuplicateKeys: Bool = true) throws(JSONError)
        -> JSONValue
    {
        var p = JSONParser(bytes: text, rejectDuplicateKeys: rejectDuplicateKeys)
        p.skipWhitespace()
        let v = try p.value(depth: 0)
        p.skipWhitespace()
        if p.i != text.count { throw JSONError(message: "unexpected text after the JSON value", offset: p.i) }
        return v
    }

    /// Parses one JSON value from a string.
    public static func parse(_ text: String, rejectDuplicateKeys: Bool = true) throws(JSONError) -> JSONValue {
        let utf8 = Array(text.utf8)
        do {
            return try utf8.withUnsafeBytes { buf in try parse(buf, rejectDuplicateKeys: rejectDuplicateKeys) }
        } catch let e as JSONError { throw e } catch { throw JSONError(message: "\(error)", offset: 0) }
    }

    private init(bytes: UnsafeRawBufferPointer, rejectDuplicateKeys: Bool) {
        self.bytes = bytes
        self.rejectDuplicateKeys = rejectDuplicateKeys
    }

    private var atEnd: Bool { i >= bytes.count }
    private var peek: UInt8 { bytes[i] }

    private mutating func skipWhitespace() {
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
    }

    private func fail(_ m: String) -> JSONError { JSONError(message: m, offset: i) }

    private mutating func value(depth: Int) throws(JSONError) -> JSONValue {
        guard depth < JSONParser.maxDepth else { throw fail("JSON nested deeper than \(JSONParser.maxDepth) levels") }
        guard !atEnd else { throw fail("unexpected end of JSON") }
        switch peek {
        case UInt8(ascii: "{"): return try object(depth: depth)
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw fail("unexpected character '\(Character(Unicode.Scalar(peek)))'")
        }
    }

    private mutating func literal(_ word: String) throws(JSONError) {
        for c in word.utf8 {
            guard !atEnd, peek == c else { throw fail("invalid literal, expected '\(word)'") }
            i += 1
        }
    }

    private mutating func number() throws(JSONError) -> JSONValue {
        let start = i
        if peek == UInt8(ascii: "-") { i += 1 }
        func digits(_ p: inout JSONParser) -> Int {
            var n = 0
            while !p.atEnd, p.peek >= 0x30, p.peek <= 0x39 { p.i += 1; n += 1 }
            return n
        }
        guard !atEnd else { throw fail("unexpected end of number") }
        if peek == UInt8(ascii: "0") { i += 1 } else if digits(&self) == 0 { throw fail("invalid number") }
        if !atEnd, peek == UInt8(ascii: ".") {
            i += 1
            if digits(&self) == 0 { throw fail("invalid number: no digits after '.'") }
        }
        if !atEnd, peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            i += 1
            if !atEnd, peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
            if digits(&self) == 0 { throw fail("invalid number: no digits in exponent") }
        }
        return .number(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self))
    }

    private mutating func hex4() throws(JSONError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            guard !atEnd else { throw fail("unexpected end in \\u escape") }
            let c = peek
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("invalid \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private mutating func string() throws(JSONError) -> String {
        i += 1  // opening quote
        var out = [UInt8]()
        while true {
            guard !atEnd else { throw fail("unterminated string") }
            let c = peek
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw fail("control character in string") }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            i += 1
            guard !atEnd else { throw fail("unterminated escape") }
            let e = peek
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar) {
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw fail("invalid low surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw fail("unpaired surrogate in \\u escape")
                }
                guard let u = Unicode.Scalar(scalar) else { throw fail("invalid \\u escape") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default: throw fail("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
        return s
    }

    private mutating func array(depth: Int) throws(JSONError) -> JSONValue {
        i += 1
        var items = [JSONValue]()
        skipWhitespace()
        if !atEnd, peek == UInt8(ascii: "]") { i += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try value(depth: depth + 1))
            skipWhitespace()
            guard !atEnd else { throw fail("unterminated array") }
            if peek == UInt8(ascii: ",") { i += 1; continue }
            if peek == UInt8(ascii: "]") { i += 1; return .array(items) }
            throw fail("expected ',' or ']' in array")
        }
    }

    private mutating func object(depth: Int) throws(JSONError) -> JSONValue {
        i += 1
        var members = [(String, JSONValue)]()
        var seen = Set<String>()
        skipWhitespace()
        if !atEnd, peek == UInt8(ascii: "}") { i += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard !atEnd, peek == UInt8(ascii: "\"") else { throw fail("expected a string key in object") }
            let keyOffset = i
            let key = try string()
            if rejectDuplicateKeys, !seen.insert(key).inserted {
                throw JSONError(message: "duplicate key '\(key)'", offset: keyOffset)
            }
            skipWhitespace()
            guard !atEnd, peek == UInt8(ascii: ":") else { throw fail("expected ':' after key") }
            i += 1
            skipWhitespace()
            members.append((key, try value(depth: depth + 1)))
            skipWhitespace()
            guard !atEnd else { throw fail("unterminated object") }
            if peek == UInt8(ascii: ",") { i += 1; continue }
            if peek == UInt8(ascii: "}") { i += 1; return .object(members) }
            throw fail("expected ',' or '}' in object")
        }
    }
}

extension JSONValue {
    /// Compact JSON text; with `indent`, pretty-printed with that many spaces.
    public func serialized(indent: Int? = nil) -> String {
        var out = ""
        write(into: &out, indent: indent, level: 0)
        return out
    }

    /// JSON text of a string, escaped.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    private func write(into out: inout String, indent: Int?, level: Int) {
        let nl = indent == nil ? "" : "\n"
        let pad = { (l: Int) in indent.map { String(repeating: " ", count: $0 * l) } ?? "" }
        let sep = indent == nil ? ":" : ": "
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let s): out += s
        case .string(let s): out += JSONValue.quote(s)
        case .array(let a):
            if a.isEmpty { out += "[]"; return }
            out += "[" + nl
            for (k, v) in a.enumerated() {
                out += pad(level + 1)
                v.write(into: &out, indent: indent, level: level + 1)
                out += (k + 1 < a.count ? "," : "") + nl
            }
            out += pad(level) + "]"
        case .object(let o):
            if o.isEmpty { out += "{}"; return }
            out += "{" + nl
            for (k, (key, v)) in o.enumerated() {
                out += pad(level + 1) + JSONValue.quote(key) + sep
                v.write(into: &out, indent: indent, level: level + 1)
                out += (k + 1 < o.count ? "," : "") + nl
            }
            out += pad(level) + "}"
        }
    }

    /// A number value from an integer.
    public static func int(_ v: Int) -> JSONValue { .number(String(v)) }

    /// A number value from a float, written so it reads back to the same Float
    /// (non-finite values become null, as JSON has no NaN).
    public static func float(_ v: Float) -> JSONValue { v.isFinite ? .number("\(v)") : .null }

    /// A number value from a double (non-finite values become null).
    public static func double(_ v: Double) -> JSONValue { v.isFinite ? .number("\(v)") : .null }
}
