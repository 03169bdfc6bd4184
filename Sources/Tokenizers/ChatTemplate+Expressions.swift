// Expressions by Jinja's grammar and precedence (lowest first):
//
//   tuple      a, b                      (only where Jinja allows a bare tuple: {{ }}, set, for, parentheses)
//   condexpr   x if c else y
//   or, and, not
//   compare    == != < > <= >= in, not in (chained: a < b < c)
//   math1      + -
//   concat     ~
//   math2      * / // %
//   pow        **
//   unary      -x +x, then postfix (.attr [i] [a:b] (args)) and filters/tests (| f(args), is [not] t args)
//
// Each node records the height of its tree; past `Limits.syntaxDepth` the template is refused, so that
// evaluating it cannot exhaust the stack.

extension ChatTemplate.Parser {
    typealias Expr = ChatTemplate.Expr
    typealias ExprKind = ChatTemplate.ExprKind
    typealias Arguments = ChatTemplate.Arguments
    typealias BinaryOp = ChatTemplate.BinaryOp
    typealias CompareOp = ChatTemplate.CompareOp

    /// Expressions separated by commas: one expression, or a tuple when there is a comma.
    mutating func parseTuple(condexpr: Bool = true, parenthesized: Bool = false, extraEnd: Set<String> = [])
        throws(TokenizerError) -> Expr
    {
        let line = current.line
        var items: [Expr] = []
        var isTuple = false
        while true {
            if !items.isEmpty { try expect(.op(","), "','") }
            if atTupleEnd(extraEnd) { break }
            items.append(condexpr ? try parseExpression() : try parseOr())
            if !isOp(",") { break }
            isTuple = true
        }
        if !isTuple {
            if let only = items.first { return only }
            if !parenthesized { throw fail("expected an expression, found \(describe(current))") }
        }
        return try node(.tuple(items), line, items)
    }

    func atTupleEnd(_ extraEnd: Set<String>) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .op(")"): true
        case .name(let n): extraEnd.contains(n)
        default: false
        }
    }

    mutating func parseExpression() throws(TokenizerError) -> Expr {
        let line = current.line
        try enter(line: line)
        defer { nesting -= 1 }
        var e = try parseOr()
        while isName("if") {
            next()
            let condition = try parseOr()
            var otherwise: Expr?
            if isName("else") {
                next()
                otherwise = try parseExpression()
            }
            e = try node(.conditional(condition: condition, then: e, otherwise: otherwise), line,
                         [condition, e, otherwise])
        }
        return e
    }

    mutating func parseOr() throws(TokenizerError) -> Expr {
        var left = try parseAnd()
        while isName("or") {
            let line = next().line
            let right = try parseAnd()
            left = try node(.or(left, right), line, [left, right])
        }
        return left
    }

    mutating func parseAnd() throws(TokenizerError) -> Expr {
        var left = try parseNot()
        while isName("and") {
            let line = next().line
            let right = try parseNot()
            left = try node(.and(left, right), line, [left, right])
        }
        return left
    }

    mutating func parseNot() throws(TokenizerError) -> Expr {
        guard isName("not") else { return try parseCompare() }
        let line = next().line
        try enter(line: line)
        defer { nesting -= 1 }
        let operand = try parseNot()
        return try node(.not(operand), line, [operand])
    }

    mutating func parseCompare() throws(TokenizerError) -> Expr {
        let line = current.line
        let left = try parseMath1()
        var rest: [(op: CompareOp, operand: Expr)] = []
        while true {
            let op: CompareOp
            if case .op(let o) = current.kind, let c = CompareOp(rawValue: o), c != .in, c != .notIn {
                op = c
            } else if isName("in") {
                op = .in
            } else if isName("not") && peek.kind == .name("in") {
                next()
                op = .notIn
            } else {
                break
            }
            next()
            rest.append((op, try parseMath1()))
        }
        if rest.isEmpty { return left }
        return try node(.compare(left, rest), line, [left] + rest.map(\.operand))
    }

    mutating func parseBinary(_ ops: [BinaryOp], _ operand: (inout Self) throws(TokenizerError) -> Expr)
        throws(TokenizerError) -> Expr
    {
        var left = try operand(&self)
        while case .op(let o) = current.kind, let op = BinaryOp(rawValue: o), ops.contains(op) {
            let line = next().line
            let right = try operand(&self)
            left = try node(.binary(op, left, right), line, [left, right])
        }
        return left
    }

    mutating func parseMath1() throws(TokenizerError) -> Expr {
        try parseBinary([.add, .sub]) { (p: inout Self) throws(TokenizerError) in try p.parseConcat() }
    }

    mutating func parseConcat() throws(TokenizerError) -> Expr {
        try parseBinary([.concat]) { (p: inout Self) throws(TokenizerError) in try p.parseMath2() }
    }

    mutating func parseMath2() throws(TokenizerError) -> Expr {
        try parseBinary([.mul, .div, .floorDiv, .mod]) { (p: inout Self) throws(TokenizerError) in
            try p.parsePow()
        }
    }

    mutating func parsePow() throws(TokenizerError) -> Expr {
        try parseBinary([.pow]) { (p: inout Self) throws(TokenizerError) in try p.parseUnary(filters: true) }
    }

    mutating func parseUnary(filters: Bool) throws(TokenizerError) -> Expr {
        let line = current.line
        try enter(line: line)
        defer { nesting -= 1 }
        var e: Expr
        if isOp("-") || isOp("+") {
            let negate = isOp("-")
            next()
            let operand = try parseUnary(filters: false)
            e = try node(negate ? .negate(operand) : .plus(operand), line, [operand])
        } else {
            e = try parsePostfix(try parsePrimary())
        }
        return filters ? try parseFiltersAndTests(e) : e
    }

    mutating func parsePrimary() throws(TokenizerError) -> Expr {
        let t = current
        switch t.kind {
        case .name(let n):
            next()
            switch n {
            case "true", "True": return try node(.literal(.bool(true)), t.line, [])
            case "false", "False": return try node(.literal(.bool(false)), t.line, [])
            case "none", "None": return try node(.literal(.none), t.line, [])
            default: return try node(.name(n), t.line, [])
            }
        case .string(var s):
            next()
            while case .string(let more) = current.kind {
                s += more
                next()
            }
            return try node(.literal(.string(s)), t.line, [])
        case .integer(let v):
            next()
            return try node(.literal(.int(v)), t.line, [])
        case .float(let v):
            next()
            return try node(.literal(.float(v)), t.line, [])
        case .op("("):
            next()
            let e = try parseTuple(parenthesized: true)
            try expect(.op(")"), "')'")
            return e
        case .op("["):
            next()
            var items: [Expr] = []
            while !isOp("]") {
                if !items.isEmpty { try expect(.op(","), "','") }
                if isOp("]") { break }
                items.append(try parseExpression())
            }
            next()
            return try node(.list(items), t.line, items)
        case .op("{"):
            next()
            var pairs: [(key: Expr, value: Expr)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expect(.op(","), "','") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expect(.op(":"), "':'")
                pairs.append((key, try parseExpression()))
            }
            next()
            return try node(.dict(pairs), t.line, pairs.flatMap { [$0.key, $0.value] })
        default:
            throw fail("unexpected \(describe(t))")
        }
    }

    mutating func parsePostfix(_ start: Expr) throws(TokenizerError) -> Expr {
        var e = start
        while true {
            let line = current.line
            if isOp(".") {
                next()
                switch current.kind {
                case .name(let n):
                    next()
                    e = try node(.attribute(e, n), line, [e])
                case .integer(let v):
                    next()
                    let index = try node(.literal(.int(v)), line, [])
                    e = try node(.item(e, index), line, [e])
                default:
                    throw fail("expected an attribute name, found \(describe(current))")
                }
            } else if isOp("[") {
                next()
                e = try parseSubscript(e, line: line)
            } else if isOp("(") {
                e = try parseCall(e, line: line)
            } else {
                return e
            }
        }
    }

    mutating func parseSubscript(_ e: Expr, line: Int) throws(TokenizerError) -> Expr {
        var parts: [Expr?] = [nil]
        var colons = 0
        while !isOp("]") {
            if isOp(":") {
                colons += 1
                if colons > 2 { throw fail("unexpected ':'") }
                parts.append(nil)
                next()
            } else if parts[colons] == nil {
                parts[colons] = try parseExpression()
            } else if isOp(",") {
                throw fail("unsupported subscript with several indices")
            } else {
                throw fail("expected ']', found \(describe(current))")
            }
        }
        next()
        if colons == 0 {
            guard let index = parts[0] else { throw fail("expected an index", line: line) }
            return try node(.item(e, index), line, [e, index])
        }
        while parts.count < 3 { parts.append(nil) }
        return try node(.slice(e, parts[0], parts[1], parts[2]), line, [e] + parts)
    }

    mutating func parseArguments() throws(TokenizerError) -> Arguments {
        try expect(.op("("), "'('")
        var args = Arguments()
        while !isOp(")") {
            if !args.positional.isEmpty || !args.keyword.isEmpty { try expect(.op(","), "','") }
            if isOp(")") { break }
            if isOp("*") || isOp("**") { throw fail("unsupported argument unpacking") }
            if case .name(let n) = current.kind, peek.kind == .op("=") {
                next()
                next()
                args.keyword.append((n, try parseExpression()))
            } else {
                if !args.keyword.isEmpty { throw fail("positional argument after a keyword argument") }
                args.positional.append(try parseExpression())
            }
        }
        next()
        return args
    }

    func children(_ args: Arguments) -> [Expr?] { args.positional + args.keyword.map(\.value) }

    mutating func parseCall(_ callee: Expr, line: Int) throws(TokenizerError) -> Expr {
        switch callee.kind {
        case .name(let n):
            let args = try parseArguments()
            return try node(.call(n, args), line, children(args))
        case .attribute(let receiver, let n):
            guard ChatTemplate.methods.contains(n) else { throw fail("unsupported method '\(n)'", line: line) }
            let args = try parseArguments()
            return try node(.method(receiver, n, args), line, [receiver] + children(args))
        default:
            throw fail("unsupported call of an expression", line: line)
        }
    }

    mutating func parseFiltersAndTests(_ start: Expr) throws(TokenizerError) -> Expr {
        var e = start
        while true {
            let line = current.line
            if isOp("|") {
                next()
                let name = try expectName()
                guard ChatTemplate.filters.contains(name) else {
                    throw fail("unsupported filter '\(name)'", line: line)
                }
                let args = isOp("(") ? try parseArguments() : Arguments()
                // select('equalto', …), selectattr('role', 'equalto', …): a test named by a literal is
                // checked now.
                let testArgument = ["select": 0, "reject": 0, "selectattr": 1, "rejectattr": 1][name]
                if let k = testArgument, k < args.positional.count,
                    case .literal(.string(let test)) = args.positional[k].kind, !ChatTemplate.tests.contains(test)
                {
                    throw fail("unsupported test '\(test)'", line: line)
                }
                e = try node(.filter(e, name, args), line, [e] + children(args))
            } else if isName("is") {
                next()
                let negated = isName("not")
                if negated { next() }
                let name = try expectName()
                guard ChatTemplate.tests.contains(name) else {
                    throw fail("unsupported test '\(name)'", line: line)
                }
                var args = Arguments()
                if isOp("(") {
                    args = try parseArguments()
                } else if startsBareTestArgument() {
                    args.positional = [try parsePostfix(try parsePrimary())]
                }
                e = try node(.test(e, name, args, negated: negated), line, [e] + children(args))
            } else if isOp("(") {
                e = try parseCall(e, line: line)
            } else {
                return e
            }
        }
    }

    /// `x is divisibleby 3`: Jinja takes one primary expression as the argument when one follows.
    func startsBareTestArgument() -> Bool {
        switch current.kind {
        case .name(let n): return !["else", "or", "and", "is"].contains(n)
        case .string, .integer, .float, .op("["), .op("{"): return true
        default: return false
        }
    }
}
