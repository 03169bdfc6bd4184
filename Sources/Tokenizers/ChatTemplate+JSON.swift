// `tojson` as transformers defines it: `json.dumps(x, ensure_ascii=False, indent=indent, sort_keys=sort_keys)`
// (Jinja's own `tojson` would also escape <, >, & and '; transformers replaces it). Separators are ", " and
// ": " without indent, "," and ": " with it; strings escape only ", \ and control characters; floats print as
// Python's repr (NaN, Infinity, -Infinity for the non-finite ones); dict keys become strings.

extension ChatTemplate.Renderer {
    mutating func json(_ v: Value, indent: Int?, sortKeys: Bool, level: Int, into out: inout String, _ line: Int)
        throws(TokenizerError)
    {
        try tick(line)
        if out.utf8.count > limits.bytes { throw fail("tojson output is larger than \(limits.bytes >> 20) MiB", line) }
        switch v {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .float(let f): out += ChatTemplate.jsonFloat(f)
        case .string(let s): out += ChatTemplate.jsonString(s)
        case .list(let l):
            try jsonContainer(open: "[", close: "]", count: l.items.count, indent: indent, level: level, into: &out) {
                (r: inout Self, i: Int, out: inout String) throws(TokenizerError) in
                try r.json(l.items[i], indent: indent, sortKeys: sortKeys, level: level + 1, into: &out, line)
            }
        case .dict(let d):
            var positions = Array(d.keys.indices)
            if sortKeys {
                // Insertion sort with Python's ordering, which throws for keys of mixed types.
                for i in positions.indices.dropFirst() {
                    var j = i
                    while j > 0, (try order(d.keys[positions[j]], d.keys[positions[j - 1]], "<", line) ?? 0) < 0 {
                        positions.swapAt(j, j - 1)
                        j -= 1
                    }
                }
            }
            var keys: [String] = []
            for k in d.keys {
                switch k {
                case .string(let s): keys.append(s)
                case .int(let i): keys.append(String(i))
                case .float(let f): keys.append(ChatTemplate.jsonFloat(f))
                case .bool(let b): keys.append(b ? "true" : "false")
                case .none: keys.append("null")
                default: throw fail("tojson: keys must be str, int, float, bool or None, not \(k.typeName)", line)
                }
            }
            try jsonContainer(open: "{", close: "}", count: positions.count, indent: indent, level: level, into: &out) {
                (r: inout Self, i: Int, out: inout String) throws(TokenizerError) in
                out += ChatTemplate.jsonString(keys[positions[i]]) + ": "
                try r.json(d.values[positions[i]], indent: indent, sortKeys: sortKeys, level: level + 1, into: &out, line)
            }
        case .undefined, .namespace, .loop, .function:
            throw fail("tojson: object of type \(v.typeName) is not JSON serializable", line)
        }
    }

    mutating func jsonContainer(
        open: String, close: String, count: Int, indent: Int?, level: Int, into out: inout String,
        _ item: (inout Self, Int, inout String) throws(TokenizerError) -> Void
    ) throws(TokenizerError) {
        out += open
        if count == 0 {
            out += close
            return
        }
        let step = String(repeating: " ", count: max(indent ?? 0, 0))
        for i in 0..<count {
            if let _ = indent {
                out += (i > 0 ? "," : "") + "\n" + String(repeating: step, count: level + 1)
            } else if i > 0 {
                out += ", "
            }
            try item(&self, i, &out)
        }
        if indent != nil { out += "\n" + String(repeating: step, count: level) }
        out += close
    }
}

extension ChatTemplate {
    static func jsonFloat(_ f: Double) -> String {
        if f.isNaN { return "NaN" }
        if f.isInfinite { return f < 0 ? "-Infinity" : "Infinity" }
        return pythonFloat(f)
    }

    /// A JSON string as Python's json module writes it with ensure_ascii=False.
    static func jsonString(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        out.append("\"")
        for c in s.unicodeScalars {
            switch c {
            case "\"": out.append(contentsOf: "\\\"".unicodeScalars)
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case "\u{08}": out.append(contentsOf: "\\b".unicodeScalars)
            case "\u{0C}": out.append(contentsOf: "\\f".unicodeScalars)
            default:
                if c.value < 0x20 {
                    let h = String(c.value, radix: 16)
                    out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - h.count) + h).unicodeScalars)
                } else {
                    out.append(c)
                }
            }
        }
        out.append("\"")
        return String(out)
    }
}
