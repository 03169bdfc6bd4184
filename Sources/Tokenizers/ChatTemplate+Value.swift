// The values a template computes with, mirroring the Python objects Jinja hands around: str, int, float,
// bool, None, list, tuple, dict (insertion-ordered), jinja2's Namespace and LoopContext, and Undefined.
//
// Lists and dicts carry their nesting depth so that a template cannot build a value deep enough to exhaust
// the stack when it is printed, compared or released. A namespace may not hold another namespace, so
// namespaces form no cycles and their depth stays bounded by `Limits.valueDepth` plus one list level.

extension ChatTemplate {
    struct ListValue {
        var items: [Value]
        /// A tuple prints as `(a, b)`, compares unequal to a list, and `+` joins only tuples.
        var isTuple: Bool
        let depth: Int
        let holdsNamespace: Bool

        init(_ items: [Value], tuple: Bool = false) {
            self.items = items
            self.isTuple = tuple
            var depth = 0
            var holds = false
            for v in items {
                depth = max(depth, v.depth)
                holds = holds || v.holdsNamespace
            }
            self.depth = depth + 1
            self.holdsNamespace = holds
        }
    }

    /// A Python dict: keys in insertion order, compared with Python's `==` (so `1` and `true` are one key).
    struct DictValue {
        var keys: [Value]
        var values: [Value]
        let depth: Int
        let holdsNamespace: Bool

        init(keys: [Value], values: [Value]) {
            self.keys = keys
            self.values = values
            var depth = 0
            var holds = false
            for v in keys + values {
                depth = max(depth, v.depth)
                holds = holds || v.holdsNamespace
            }
            self.depth = depth + 1
            self.holdsNamespace = holds
        }

        /// The value under a string key (keys written in templates and message fields are strings).
        subscript(key: String) -> Value? {
            for (k, v) in zip(keys, values) { if case .string(key) = k { return v } }
            return nil
        }
    }

    /// `namespace(...)`: the one mutable object, assigned with `{% set ns.x = ... %}` from any scope.
    final class Namespace {
        var names: [String] = []
        var values: [String: Value] = [:]

        func set(_ name: String, _ value: Value) {
            if values.updateValue(value, forKey: name) == nil { names.append(name) }
        }
    }

    /// The `loop` variable of a `for` body.
    struct LoopState {
        let index0: Int
        let length: Int
    }

    enum Value {
        /// Jinja's default Undefined: renders as '', is false, iterates as empty; `why` is the message
        /// of the error raised when it is used in arithmetic, attribute access or calls.
        case undefined(String)
        case none
        case bool(Bool)
        case int(Int)
        case float(Double)
        case string(String)
        case list(ListValue)
        case dict(DictValue)
        case namespace(Namespace)
        case loop(LoopState)
        /// A global function (`range`, `namespace`, `raise_exception`).
        case function(String)

        static func list(_ items: [Value], tuple: Bool = false) -> Value { .list(ListValue(items, tuple: tuple)) }

        var depth: Int {
            switch self {
            case .list(let l): l.depth
            case .dict(let d): d.depth
            case .namespace(let n): 1 + (n.values.values.map(\.depth).max() ?? 0)
            case .loop: 1
            default: 0
            }
        }

        var holdsNamespace: Bool {
            switch self {
            case .list(let l): l.holdsNamespace
            case .dict(let d): d.holdsNamespace
            case .namespace: true
            default: false
            }
        }

        var isUndefined: Bool {
            if case .undefined = self { return true }
            return false
        }

        /// Python's `type(x).__name__`.
        var typeName: String {
            switch self {
            case .undefined: "Undefined"
            case .none: "NoneType"
            case .bool: "bool"
            case .int: "int"
            case .float: "float"
            case .string: "str"
            case .list(let l): l.isTuple ? "tuple" : "list"
            case .dict: "dict"
            case .namespace: "Namespace"
            case .loop: "LoopContext"
            case .function: "function"
            }
        }

        /// Python's truth value.
        var truthy: Bool {
            switch self {
            case .undefined, .none: false
            case .bool(let b): b
            case .int(let i): i != 0
            case .float(let f): f != 0
            case .string(let s): !s.isEmpty
            case .list(let l): !l.items.isEmpty
            case .dict(let d): !d.keys.isEmpty
            case .namespace, .loop, .function: true
            }
        }

        /// The value as an integer when Python treats it as one (`bool` is an `int`).
        var asInt: Int? {
            switch self {
            case .int(let i): i
            case .bool(let b): b ? 1 : 0
            default: nil
            }
        }

        /// The value as a float when it is a number.
        var asDouble: Double? {
            switch self {
            case .float(let f): f
            case .int(let i): Double(i)
            case .bool(let b): b ? 1 : 0
            default: nil
            }
        }

        /// Whether Python can use it as a dict key.
        var isHashable: Bool {
            switch self {
            case .list(let l): l.isTuple && l.items.allSatisfy(\.isHashable)
            case .dict, .undefined: false
            default: true
            }
        }
    }

    /// Python's `repr()` of a string: single quotes unless it holds a single quote and no double quote;
    /// backslash, the quote, \n, \r, \t and unprintable characters escaped.
    static func pythonRepr(_ s: String) -> String {
        let useDouble = s.contains("'") && !s.contains("\"")
        let quote: Unicode.Scalar = useDouble ? "\"" : "'"
        var out = String.UnicodeScalarView()
        out.append(quote)
        for c in s.unicodeScalars {
            switch c {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case quote:
                out.append("\\")
                out.append(c)
            default:
                if isPrintable(c) {
                    out.append(c)
                } else {
                    let (prefix, width) = c.value < 0x100 ? ("x", 2) : c.value < 0x10000 ? ("u", 4) : ("U", 8)
                    let h = String(c.value, radix: 16)
                    out.append(contentsOf: ("\\" + prefix + String(repeating: "0", count: width - h.count) + h)
                        .unicodeScalars)
                }
            }
        }
        out.append(quote)
        return String(out)
    }

    /// Python's `str.isprintable()` for one character.
    static func isPrintable(_ c: Unicode.Scalar) -> Bool {
        if c == " " { return true }
        switch c.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .spaceSeparator, .lineSeparator,
            .paragraphSeparator:
            return false
        default:
            return true
        }
    }

    /// Python's `repr()` of a float: the shortest digits that read back exactly, in positional notation
    /// for exponents -4 ≤ e < 16 (always with a fractional part) and as `1.5e-05` / `1e+16` otherwise.
    static func pythonFloat(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        // Swift's description has the same shortest digits; only the layout differs.
        var text = Substring(x.description)
        let negative = text.hasPrefix("-")
        if negative { text = text.dropFirst() }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = text[..<e]
        }
        var digits: [Character]
        var point: Int
        if let dot = text.firstIndex(of: ".") {
            point = text.distance(from: text.startIndex, to: dot)
            digits = Array(text[..<dot]) + Array(text[text.index(after: dot)...])
        } else {
            point = text.count
            digits = Array(text)
        }
        while digits.first == "0" {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        let sign = negative ? "-" : ""
        if digits.isEmpty { return sign + "0.0" }
        let decimalPoint = point + exponent  // x = 0.d1d2… × 10^decimalPoint
        let e = decimalPoint - 1
        if e < -4 || e >= 16 {
            var out = sign + String(digits[0])
            if digits.count > 1 { out += "." + String(digits[1...]) }
            return out + "e" + (e < 0 ? "-" : "+") + (abs(e) < 10 ? "0" : "") + String(abs(e))
        }
        if decimalPoint <= 0 { return sign + "0." + String(repeating: "0", count: -decimalPoint) + String(digits) }
        if decimalPoint >= digits.count {
            return sign + String(digits) + String(repeating: "0", count: decimalPoint - digits.count) + ".0"
        }
        return sign + String(digits[..<decimalPoint]) + "." + String(digits[decimalPoint...])
    }
}
