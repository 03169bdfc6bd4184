// Template source → tokens, as Jinja's lexer does with trim_blocks=True and lstrip_blocks=True:
//
//   - line endings \r\n and \r become \n, and one trailing newline of the source is dropped
//     (keep_trailing_newline=False);
//   - `{%-`, `{{-`, `{#-` strip all whitespace before the tag; `-%}`, `-}}`, `-#}` all whitespace after it;
//   - lstrip_blocks: spaces and tabs between the start of a line and `{%` or `{#` are dropped (not before `{{`),
//     unless the tag opens with `{%+`;
//   - trim_blocks: the first newline after `%}` or `#}` is dropped, unless the tag closes with `+%}`;
//   - inside a tag, `}}` and `%}` close it only outside brackets (`{{ {'a': {'b': 1}} }}` is one dict).
//
// Positions are Unicode scalars, as Python's are code points.

extension ChatTemplate {
    /// What a token is.
    enum TokenKind: Equatable, Sendable {
        /// Template text between tags, after whitespace control.
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        /// An operator or punctuation: `+ - * / // % ** ~ == != < > <= >= = . : | , ; ( ) [ ] { }`.
        case op(String)
        case end
    }

    /// A token and the line it starts on.
    struct Token: Sendable {
        let kind: TokenKind
        let line: Int
    }

    struct Lexer {
        let path: String
        let s: [Unicode.Scalar]
        var pos = 0
        var line = 1
        /// Whether the text about to be read starts a line (Jinja's `line_starting`).
        var lineStarting = true
        var tokens: [Token] = []

        init(_ source: String, path: String) {
            self.path = path
            var out: [Unicode.Scalar] = []
            out.reserveCapacity(source.unicodeScalars.count)
            var previousCR = false
            for c in source.unicodeScalars {
                if c == "\r" {
                    out.append("\n")
                    previousCR = true
                    continue
                }
                if c == "\n" && previousCR {
                    previousCR = false
                    continue
                }
                previousCR = false
                out.append(c)
            }
            if out.last == "\n" { out.removeLast() }
            self.s = out
        }

        func fail(_ message: String, line: Int? = nil) -> TokenizerError {
            ChatTemplate.error(path, message, line: line ?? self.line)
        }

        func at(_ i: Int) -> Unicode.Scalar? { i < s.count ? s[i] : nil }

        /// Moves to `newPos`, counting the newlines passed.
        mutating func advance(to newPos: Int) {
            while pos < newPos {
                if s[pos] == "\n" { line += 1 }
                pos += 1
            }
        }

        mutating func emit(_ kind: TokenKind, line: Int) { tokens.append(Token(kind: kind, line: line)) }

        mutating func tokenize() throws(TokenizerError) -> [Token] {
            while pos < s.count {
                guard let start = nextTagStart(from: pos) else {
                    emit(.text(ChatTemplate.string(s[pos...])), line: line)
                    advance(to: s.count)
                    break
                }
                let kind = s[start + 1]
                let sign = at(start + 2).flatMap { $0 == "-" || $0 == "+" ? $0 : nil }
                var textEnd = start
                if sign == "-" {
                    while textEnd > pos && s[textEnd - 1].isJinjaSpace { textEnd -= 1 }
                } else if sign != "+" && kind != "{" {
                    // lstrip_blocks: only whitespace between the line's start and the tag.
                    var lineStart = textEnd
                    while lineStart > pos && s[lineStart - 1] != "\n" { lineStart -= 1 }
                    if (lineStart > pos || lineStarting) && lineStart < textEnd
                        && s[lineStart..<textEnd].allSatisfy(\.isJinjaSpace)
                    {
                        textEnd = lineStart
                    }
                }
                if textEnd > pos { emit(.text(ChatTemplate.string(s[pos..<textEnd])), line: line) }
                advance(to: start)
                let tagLine = line
                advance(to: start + 2 + (sign == nil ? 0 : 1))
                switch kind {
                case "#": try comment(openedAt: tagLine)
                case "{":
                    emit(.variableBegin, line: tagLine)
                    try insideTag(block: false, openedAt: tagLine)
                default:
                    try refuseRaw()
                    emit(.blockBegin, line: tagLine)
                    try insideTag(block: true, openedAt: tagLine)
                }
            }
            emit(.end, line: line)
            return tokens
        }

        /// The next `{{`, `{%` or `{#` at or after `from`.
        func nextTagStart(from: Int) -> Int? {
            var i = from
            while i + 1 < s.count {
                if s[i] == "{" && (s[i + 1] == "{" || s[i + 1] == "%" || s[i + 1] == "#") { return i }
                i += 1
            }
            return nil
        }

        /// `{% raw %}` would change how the text after it is read: refuse it before reading on.
        func refuseRaw() throws(TokenizerError) {
            var i = pos
            while let c = at(i), c.isJinjaSpace { i += 1 }
            if at(i) == "r" && at(i + 1) == "a" && at(i + 2) == "w" && !(at(i + 3)?.isJinjaNamePart ?? false) {
                throw fail("unsupported tag 'raw'")
            }
        }

        /// After a tag's closing delimiter: `-` strips all whitespace, `+` nothing, otherwise one newline
        /// (trim_blocks, blocks and comments only).
        mutating func afterTagEnd(sign: Unicode.Scalar?, trimNewline: Bool) {
            var i = pos
            if sign == "-" {
                while let c = at(i), c.isJinjaSpace { i += 1 }
            } else if sign == nil && trimNewline && at(i) == "\n" {
                i += 1
            }
            lineStarting = i > 0 && s[i - 1] == "\n"
            advance(to: i)
        }

        mutating func comment(openedAt: Int) throws(TokenizerError) {
            var i = pos
            while i + 1 < s.count && !(s[i] == "#" && s[i + 1] == "}") { i += 1 }
            guard i + 1 < s.count else { throw fail("comment is not closed with '#}'", line: openedAt) }
            let sign: Unicode.Scalar? = i > pos && (s[i - 1] == "-" || s[i - 1] == "+") ? s[i - 1] : nil
            advance(to: i + 2)
            afterTagEnd(sign: sign, trimNewline: true)
        }

        mutating func insideTag(block: Bool, openedAt: Int) throws(TokenizerError) {
            let close: Unicode.Scalar = block ? "%" : "}"
            var brackets: [Unicode.Scalar] = []
            while true {
                guard let c = at(pos) else {
                    throw fail("tag is not closed with '\(block ? "%}" : "}}")'", line: openedAt)
                }
                if brackets.isEmpty {
                    if c == "-" && at(pos + 1) == close && at(pos + 2) == "}" {
                        emit(block ? .blockEnd : .variableEnd, line: line)
                        advance(to: pos + 3)
                        afterTagEnd(sign: "-", trimNewline: block)
                        return
                    }
                    if block && c == "+" && at(pos + 1) == close && at(pos + 2) == "}" {
                        emit(.blockEnd, line: line)
                        advance(to: pos + 3)
                        afterTagEnd(sign: "+", trimNewline: true)
                        return
                    }
                    if c == close && at(pos + 1) == "}" {
                        emit(block ? .blockEnd : .variableEnd, line: line)
                        advance(to: pos + 2)
                        afterTagEnd(sign: nil, trimNewline: block)
                        return
                    }
                }
                if c.isJinjaSpace {
                    advance(to: pos + 1)
                } else if c.isJinjaNameStart {
                    var i = pos
                    while let d = at(i), d.isJinjaNamePart { i += 1 }
                    emit(.name(ChatTemplate.string(s[pos..<i])), line: line)
                    advance(to: i)
                } else if c.isJinjaDigit {
                    try number()
                } else if c == "'" || c == "\"" {
                    try string(quote: c)
                } else {
                    try op(&brackets)
                }
            }
        }

        mutating func op(_ brackets: inout [Unicode.Scalar]) throws(TokenizerError) {
            let c = s[pos]
            if let d = at(pos + 1) {
                let two = String(Character(c)) + String(Character(d))
                if ["//", "**", "==", "!=", "<=", ">="].contains(two) {
                    emit(.op(two), line: line)
                    advance(to: pos + 2)
                    return
                }
            }
            switch c {
            case "(": brackets.append(")")
            case "[": brackets.append("]")
            case "{": brackets.append("}")
            case ")", "]", "}":
                guard let expected = brackets.popLast() else { throw fail("unexpected '\(c)'") }
                if expected != c { throw fail("unexpected '\(c)', expected '\(expected)'") }
            case "+", "-", "*", "/", "%", "~", "<", ">", "=", ".", ":", "|", ",", ";": break
            default: throw fail("unexpected character '\(c)'")
            }
            emit(.op(String(Character(c))), line: line)
            advance(to: pos + 1)
        }

        /// Digits with single underscores between them, at `i`; returns the end.
        func digits(from i: Int) -> Int {
            var j = i
            while let c = at(j) {
                if c.isJinjaDigit {
                    j += 1
                } else if c == "_", at(j + 1)?.isJinjaDigit == true, j > i {
                    j += 1
                } else {
                    break
                }
            }
            return j
        }

        mutating func number() throws(TokenizerError) {
            let start = pos
            var end = digits(from: start)
            var isFloat = false
            // After a dot (`messages.0`) a number is an integer index, as Jinja's float rule has `(?<!\.)`.
            let afterDot = start > 0 && s[start - 1] == "."
            if !afterDot {
                if at(end) == ".", at(end + 1)?.isJinjaDigit == true {
                    end = digits(from: end + 1)
                    isFloat = true
                }
                if at(end) == "e" || at(end) == "E" {
                    var e = end + 1
                    if at(e) == "+" || at(e) == "-" { e += 1 }
                    if at(e)?.isJinjaDigit == true {
                        end = digits(from: e)
                        isFloat = true
                    }
                }
            }
            let text = ChatTemplate.string(s[start..<end].filter { $0 != "_" })
            if isFloat {
                guard let v = Double(text) else { throw fail("invalid number '\(text)'") }
                emit(.float(v), line: line)
            } else {
                if text.count > 1 && text.first == "0" && text.contains(where: { $0 != "0" }) {
                    throw fail("invalid number '\(text)' (leading zeros)")
                }
                guard let v = Int(text) else { throw fail("integer '\(text)' is too large") }
                emit(.integer(v), line: line)
            }
            advance(to: end)
        }

        mutating func string(quote: Unicode.Scalar) throws(TokenizerError) {
            let startLine = line
            var i = pos + 1
            while let c = at(i), c != quote { i += c == "\\" ? 2 : 1 }
            guard i < s.count else { throw fail("string is not closed", line: startLine) }
            let value = try unescape(s[(pos + 1)..<i], line: startLine)
            emit(.string(value), line: startLine)
            advance(to: i + 1)
        }

        /// Python's `unicode-escape` decoding of a string literal's body, as Jinja applies it.
        func unescape(_ body: ArraySlice<Unicode.Scalar>, line: Int) throws(TokenizerError) -> String {
            var out = String.UnicodeScalarView()
            var i = body.startIndex
            func hex(_ count: Int) throws(TokenizerError) -> Unicode.Scalar {
                guard i + count <= body.endIndex else { throw fail("truncated escape in string", line: line) }
                var v: UInt32 = 0
                for k in 0..<count {
                    guard let d = hexDigit(body[i + k]) else {
                        throw fail("truncated escape in string", line: line)
                    }
                    v = v * 16 + d
                }
                guard let scalar = Unicode.Scalar(v) else {
                    throw fail("escape \\u\(String(v, radix: 16)) is not a character", line: line)
                }
                i += count
                return scalar
            }
            while i < body.endIndex {
                let c = body[i]
                i += 1
                guard c == "\\", i < body.endIndex else {
                    out.append(c)
                    continue
                }
                let e = body[i]
                i += 1
                switch e {
                case "\n": break
                case "\\": out.append("\\")
                case "'": out.append("'")
                case "\"": out.append("\"")
                case "a": out.append("\u{07}")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "n": out.append("\n")
                case "r": out.append("\r")
                case "t": out.append("\t")
                case "v": out.append("\u{0B}")
                case "x": out.append(try hex(2))
                case "u": out.append(try hex(4))
                case "U": out.append(try hex(8))
                case "0"..."7":
                    var v = e.value - 48
                    var n = 1
                    while n < 3, i < body.endIndex, ("0"..."7").contains(body[i]) {
                        v = v * 8 + body[i].value - 48
                        i += 1
                        n += 1
                    }
                    out.append(Unicode.Scalar(v)!)  // at most 0o777
                case "N": throw fail("unsupported escape '\\N{…}' in string", line: line)
                default:
                    // Unknown escapes stay as written; a non-ASCII character after a backslash reads as
                    // its own escape text, as Jinja's encode-then-decode does.
                    out.append("\\")
                    if e.isASCII {
                        out.append(e)
                    } else {
                        let digits = e.value < 0x100 ? 2 : e.value < 0x10000 ? 4 : 8
                        let prefix = digits == 2 ? "x" : digits == 4 ? "u" : "U"
                        let h = String(e.value, radix: 16)
                        out.append(contentsOf: (prefix + String(repeating: "0", count: digits - h.count) + h)
                            .unicodeScalars)
                    }
                }
            }
            return String(out)
        }
    }
}

private func hexDigit(_ c: Unicode.Scalar) -> UInt32? {
    switch c {
    case "0"..."9": c.value - 48
    case "a"..."f": c.value - 87
    case "A"..."F": c.value - 55
    default: nil
    }
}

extension ChatTemplate {
    /// Python's `str.isspace()`: Unicode White_Space plus the separators U+001C…U+001F.
    static func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace || (0x1C...0x1F).contains(c.value) }

    static func string(_ scalars: some Sequence<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}

extension Unicode.Scalar {
    fileprivate var isJinjaSpace: Bool { ChatTemplate.isSpace(self) }
    fileprivate var isJinjaDigit: Bool { ("0"..."9").contains(self) }
    fileprivate var isJinjaNameStart: Bool { ("a"..."z").contains(self) || ("A"..."Z").contains(self) || self == "_" }
    fileprivate var isJinjaNamePart: Bool { isJinjaNameStart || isJinjaDigit }
}
