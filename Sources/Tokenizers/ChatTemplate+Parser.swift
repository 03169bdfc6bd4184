// Tokens → statements: text, `{{ expr }}`, and the tags if/elif/else/endif, for/else/endfor, set, break,
// continue. Jinja's other tags are refused by name with their line; so are unsupported filters, tests and
// methods (ChatTemplate+Expressions.swift). A call of an unknown global function is refused when it runs,
// so that `{% if strftime_now is defined %}` guards keep working.

extension ChatTemplate {
    static let filters: Set<String> = [
        "trim", "upper", "lower", "capitalize", "length", "string", "tojson", "default", "d", "first", "last",
        "join", "replace", "list", "items", "select", "reject", "selectattr", "rejectattr",
    ]
    static let tests: Set<String> = [
        "defined", "undefined", "none", "string", "number", "integer", "float", "boolean", "true", "false",
        "mapping", "sequence", "iterable", "odd", "even", "divisibleby", "in", "eq", "equalto", "ne", "lt", "le",
        "gt", "ge",
    ]
    static let methods: Set<String> = [
        "strip", "lstrip", "rstrip", "startswith", "endswith", "split", "upper", "lower", "replace", "get", "items",
        "keys", "values",
    ]
    /// Jinja's other tags (and transformers' `generation`), refused by name.
    static let refusedTags: Set<String> = [
        "macro", "endmacro", "call", "endcall", "filter", "endfilter", "include", "import", "from", "extends",
        "block", "endblock", "raw", "endraw", "with", "endwith", "autoescape", "endautoescape", "do", "endset",
        "trans", "pluralize", "endtrans", "generation", "endgeneration",
    ]

    struct Parser {
        let path: String
        let tokens: [Token]
        var i = 0
        /// Enclosing `for` bodies, for `break` and `continue`.
        var loops = 0
        /// Enclosing blocks and open expression levels, bounded by `Limits.syntaxDepth`.
        var nesting = 0

        init(_ tokens: [Token], path: String) {
            self.tokens = tokens
            self.path = path
        }

        var current: Token { tokens[i] }
        var peek: Token { tokens[min(i + 1, tokens.count - 1)] }

        @discardableResult
        mutating func next() -> Token {
            let t = tokens[i]
            if i < tokens.count - 1 { i += 1 }
            return t
        }

        func fail(_ message: String, line: Int? = nil) -> TokenizerError {
            ChatTemplate.error(path, message, line: line ?? current.line)
        }

        func describe(_ t: Token) -> String {
            switch t.kind {
            case .text: "template text"
            case .variableBegin: "'{{'"
            case .variableEnd: "'}}'"
            case .blockBegin: "'{%'"
            case .blockEnd: "'%}'"
            case .name(let n): "'\(n)'"
            case .string: "a string"
            case .integer(let v): "'\(v)'"
            case .float(let v): "'\(v)'"
            case .op(let o): "'\(o)'"
            case .end: "the end of the template"
            }
        }

        func isOp(_ o: String) -> Bool { current.kind == .op(o) }
        func isName(_ n: String) -> Bool { current.kind == .name(n) }

        mutating func expect(_ kind: TokenKind, _ what: String) throws(TokenizerError) {
            guard current.kind == kind else { throw fail("expected \(what), found \(describe(current))") }
            next()
        }

        mutating func expectName() throws(TokenizerError) -> String {
            guard case .name(let n) = current.kind else { throw fail("expected a name, found \(describe(current))") }
            next()
            return n
        }

        mutating func enter(line: Int) throws(TokenizerError) {
            nesting += 1
            if nesting > Limits.syntaxDepth {
                throw fail("template nested deeper than \(Limits.syntaxDepth) levels", line: line)
            }
        }

        func node(_ kind: ExprKind, _ line: Int, _ children: [Expr?]) throws(TokenizerError) -> Expr {
            var depth = 0
            for c in children { if let c { depth = max(depth, c.depth) } }
            if depth + 1 > Limits.syntaxDepth {
                throw fail("expression nested deeper than \(Limits.syntaxDepth) levels", line: line)
            }
            return Expr(kind: kind, line: line, depth: depth + 1)
        }

        // MARK: Statements

        mutating func parseTemplate() throws(TokenizerError) -> [Stmt] {
            try parseBody(until: [], opener: nil).body
        }

        /// Statements up to one of the tags in `ends` (consumed, with its name returned) or the end.
        mutating func parseBody(until ends: Set<String>, opener: (tag: String, line: Int)?)
            throws(TokenizerError) -> (body: [Stmt], end: String)
        {
            var out: [Stmt] = []
            while true {
                let t = current
                switch t.kind {
                case .text(let s):
                    next()
                    out.append(.text(s))
                case .variableBegin:
                    next()
                    let e = try parseTuple()
                    try expect(.variableEnd, "'}}'")
                    out.append(.output(e))
                case .blockBegin:
                    next()
                    let line = current.line
                    let tag = try expectName()
                    if ends.contains(tag) { return (out, tag) }
                    out.append(try parseStatement(tag, line: line, opener: opener))
                case .end:
                    if let opener {
                        let closer = ends.contains("endfor") ? "endfor" : "endif"
                        throw fail("'\(opener.tag)' is not closed with '\(closer)'", line: opener.line)
                    }
                    return (out, "")
                default:
                    throw fail("unexpected \(describe(t))")
                }
            }
        }

        mutating func parseStatement(_ tag: String, line: Int, opener: (tag: String, line: Int)?)
            throws(TokenizerError) -> Stmt
        {
            switch tag {
            case "if": return try parseIf(line: line)
            case "for": return try parseFor(line: line)
            case "set": return try parseSet(line: line)
            case "break", "continue":
                guard loops > 0 else { throw fail("'\(tag)' outside a for loop", line: line) }
                try expect(.blockEnd, "'%}'")
                return tag == "break" ? .breakLoop : .continueLoop
            case "elif", "else", "endif", "endfor":
                let context = opener.map { " inside '\($0.tag)' of line \($0.line)" } ?? ""
                throw fail("unexpected '\(tag)'\(context)", line: line)
            default:
                if ChatTemplate.refusedTags.contains(tag) { throw fail("unsupported tag '\(tag)'", line: line) }
                throw fail("unknown tag '\(tag)'", line: line)
            }
        }

        mutating func parseIf(line: Int) throws(TokenizerError) -> Stmt {
            try enter(line: line)
            defer { nesting -= 1 }
            var branches: [(condition: Expr, body: [Stmt])] = []
            var condition = try parseTuple(condexpr: false)
            while true {
                try expect(.blockEnd, "'%}'")
                let (body, end) = try parseBody(until: ["elif", "else", "endif"], opener: ("if", line))
                branches.append((condition, body))
                switch end {
                case "elif":
                    condition = try parseTuple(condexpr: false)
                case "else":
                    try expect(.blockEnd, "'%}'")
                    let (otherwise, _) = try parseBody(until: ["endif"], opener: ("if", line))
                    try expect(.blockEnd, "'%}'")
                    return .ifBlock(branches, otherwise: otherwise)
                default:
                    try expect(.blockEnd, "'%}'")
                    return .ifBlock(branches, otherwise: [])
                }
            }
        }

        mutating func parseFor(line: Int) throws(TokenizerError) -> Stmt {
            try enter(line: line)
            defer { nesting -= 1 }
            let target = try parseTarget()
            guard isName("in") else { throw fail("expected 'in', found \(describe(current))") }
            next()
            let iterable = try parseTuple(condexpr: false, extraEnd: ["recursive"])
            var condition: Expr?
            if isName("if") {
                next()
                condition = try parseExpression()
            }
            if isName("recursive") { throw fail("unsupported 'recursive' loop") }
            try expect(.blockEnd, "'%}'")
            loops += 1
            let (body, end) = try parseBody(until: ["else", "endfor"], opener: ("for", line))
            loops -= 1
            var otherwise: [Stmt] = []
            if end == "else" {
                try expect(.blockEnd, "'%}'")
                // The else body is outside this loop: `break` there belongs to an enclosing loop, if any.
                (otherwise, _) = try parseBody(until: ["endfor"], opener: ("for", line))
            }
            try expect(.blockEnd, "'%}'")
            return .forLoop(ForLoop(target: target, iterable: iterable, condition: condition, body: body,
                                    otherwise: otherwise, line: line))
        }

        /// `x`, `a, b` or `(a, b)`.
        mutating func parseTarget() throws(TokenizerError) -> Target {
            if isOp("(") {
                next()
                var names: [String] = []
                while !isOp(")") {
                    if !names.isEmpty { try expect(.op(","), "','") }
                    if isOp(")") { break }
                    names.append(try expectName())
                }
                next()
                return .names(names)
            }
            let first = try expectName()
            guard isOp(",") else { return .name(first) }
            var names = [first]
            while isOp(",") {
                next()
                guard case .name(let n) = current.kind, n != "in" else { break }
                next()
                names.append(n)
            }
            return .names(names)
        }

        mutating func parseSet(line: Int) throws(TokenizerError) -> Stmt {
            if case .name(let ns) = current.kind, peek.kind == .op(".") {
                next()
                next()
                let attribute = try expectName()
                try expect(.op("="), "'='")
                let value = try parseTuple()
                try expect(.blockEnd, "'%}'")
                return .setAttribute(ns, attribute, value, line: line)
            }
            let target = try parseTarget()
            guard isOp("=") else {
                if current.kind == .blockEnd || isOp("|") {
                    throw fail("unsupported block 'set' … 'endset'", line: line)
                }
                throw fail("expected '=', found \(describe(current))")
            }
            next()
            let value = try parseTuple()
            try expect(.blockEnd, "'%}'")
            return .set(target, value, line: line)
        }
    }
}
