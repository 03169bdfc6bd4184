// Rendering: statements executed and expressions evaluated with Jinja's semantics, which are Python's.
//
// Scopes as Jinja has them: `set` at the top level or inside `if` assigns in the enclosing scope; each
// iteration of a `for` body gets a fresh scope (holding the target and `loop`) that is dropped after it,
// so only a namespace (`ns.x = …`) carries state out of a loop.
//
// Every render is bounded (`Limits`): loop iterations, evaluation steps, output and string sizes, list
// lengths and value nesting; exceeding one is an error naming the bound, never a hang or a crash.

import Foundation

extension ChatTemplate {
    struct Renderer {
        let path: String
        let limits: Limits
        var scopes: [[String: Value]]
        var output = ""
        var iterations = 0
        var steps = 0
        /// The line being rendered, for errors raised outside an expression (output size).
        var line = 1

        static let functions: Set<String> = ["range", "namespace", "raise_exception"]

        init(path: String, context: [String: Value], limits: Limits) {
            self.path = path
            self.limits = limits
            self.scopes = [context]
        }

        enum Flow { case normal, breakLoop, continueLoop }

        func fail(_ message: String, _ line: Int) -> TokenizerError { ChatTemplate.error(path, message, line: line) }

        mutating func render(_ body: [Stmt]) throws(TokenizerError) -> String {
            _ = try exec(body)
            return output
        }

        mutating func tick(_ line: Int, _ count: Int = 1) throws(TokenizerError) {
            steps += count
            if steps > limits.steps { throw fail("rendering takes more than \(limits.steps) steps", line) }
        }

        mutating func emit(_ s: String) throws(TokenizerError) {
            if output.utf8.count + s.utf8.count > limits.bytes {
                throw fail("output is larger than \(limits.bytes >> 20) MiB", line)
            }
            output += s
        }

        // MARK: Statements

        mutating func exec(_ body: [Stmt]) throws(TokenizerError) -> Flow {
            for stmt in body {
                switch stmt {
                case .text(let s):
                    try emit(s)
                case .output(let e):
                    line = e.line
                    try emit(try str(try eval(e), e.line))
                case .ifBlock(let branches, let otherwise):
                    var chosen = otherwise
                    for b in branches {
                        if try eval(b.condition).truthy {
                            chosen = b.body
                            break
                        }
                    }
                    let flow = try exec(chosen)
                    if flow != .normal { return flow }
                case .forLoop(let loop):
                    let flow = try execFor(loop)
                    if flow != .normal { return flow }
                case .set(let target, let e, let line):
                    self.line = line
                    let value = try eval(e)
                    var scope = scopes.removeLast()
                    defer { scopes.append(scope) }
                    try bind(target, value, into: &scope, line)
                case .setAttribute(let name, let attribute, let e, let line):
                    self.line = line
                    let value = try eval(e)
                    guard case .namespace(let ns) = lookup(name) else {
                        throw fail("cannot assign attribute on non-namespace object '\(name)'", line)
                    }
                    try store(attribute, value, in: ns, line)
                case .breakLoop: return .breakLoop
                case .continueLoop: return .continueLoop
                }
            }
            return .normal
        }

        mutating func execFor(_ loop: ForLoop) throws(TokenizerError) -> Flow {
            line = loop.line
            var items = try iterate(try eval(loop.iterable), loop.iterable.line)
            if let condition = loop.condition {
                var kept: [Value] = []
                for item in items {
                    try countIteration(loop.line)
                    var scope: [String: Value] = [:]
                    try bind(loop.target, item, into: &scope, loop.line)
                    scopes.append(scope)
                    let keep = try eval(condition).truthy
                    scopes.removeLast()
                    if keep { kept.append(item) }
                }
                items = kept
            }
            if items.isEmpty { return try exec(loop.otherwise) }
            for (index, item) in items.enumerated() {
                try countIteration(loop.line)
                var scope: [String: Value] = ["loop": .loop(LoopState(index0: index, length: items.count))]
                try bind(loop.target, item, into: &scope, loop.line)
                scopes.append(scope)
                let flow = try exec(loop.body)
                scopes.removeLast()
                if flow == .breakLoop { break }
            }
            return .normal
        }

        mutating func countIteration(_ line: Int) throws(TokenizerError) {
            iterations += 1
            if iterations > limits.iterations {
                throw fail("loops run more than \(limits.iterations) iterations", line)
            }
        }

        func bind(_ target: Target, _ value: Value, into scope: inout [String: Value], _ line: Int)
            throws(TokenizerError)
        {
            switch target {
            case .name(let n):
                scope[n] = value
            case .names(let names):
                let items = try iterate(value, line)
                guard items.count == names.count else {
                    throw fail("cannot unpack \(items.count) values into \(names.count) names", line)
                }
                for (n, v) in zip(names, items) { scope[n] = v }
            }
        }

        func store(_ attribute: String, _ value: Value, in ns: Namespace, _ line: Int) throws(TokenizerError) {
            if attribute.hasPrefix("_") {
                throw fail("namespace attribute '\(attribute)' starts with an underscore", line)
            }
            if value.holdsNamespace { throw fail("a namespace cannot hold another namespace", line) }
            if value.depth >= limits.valueDepth {
                throw fail("value nested deeper than \(limits.valueDepth) levels", line)
            }
            ns.set(attribute, value)
        }

        func lookup(_ name: String) -> Value {
            for scope in scopes.reversed() { if let v = scope[name] { return v } }
            if Renderer.functions.contains(name) { return .function(name) }
            return .undefined("'\(name)' is undefined")
        }

        // MARK: Expressions

        mutating func eval(_ e: Expr) throws(TokenizerError) -> Value {
            try tick(e.line)
            switch e.kind {
            case .literal(let l):
                switch l {
                case .none: return .none
                case .bool(let b): return .bool(b)
                case .int(let i): return .int(i)
                case .float(let f): return .float(f)
                case .string(let s): return .string(s)
                }
            case .name(let n):
                return lookup(n)
            case .list(let items), .tuple(let items):
                var values: [Value] = []
                for item in items { values.append(try eval(item)) }
                if case .tuple = e.kind { return try checked(.list(values, tuple: true), e.line) }
                return try checked(.list(values), e.line)
            case .dict(let pairs):
                var d = DictValue(keys: [], values: [])
                for p in pairs {
                    let k = try eval(p.key)
                    let v = try eval(p.value)
                    guard k.isHashable else { throw fail("unhashable type: '\(k.typeName)'", e.line) }
                    if let i = try index(of: k, in: d.keys, e.line) { d.values[i] = v } else {
                        d.keys.append(k)
                        d.values.append(v)
                    }
                }
                return try checked(.dict(DictValue(keys: d.keys, values: d.values)), e.line)
            case .attribute(let x, let name):
                return try attribute(try eval(x), name, e.line)
            case .item(let x, let i):
                return try item(try eval(x), try eval(i), e.line)
            case .slice(let x, let a, let b, let c):
                let v = try eval(x)
                var bounds: [Int?] = []
                for part in [a, b, c] {
                    guard let part else {
                        bounds.append(nil)
                        continue
                    }
                    let p = try eval(part)
                    if case .none = p { bounds.append(nil); continue }
                    guard let i = p.asInt else { throw fail("slice indices must be integers or none", e.line) }
                    bounds.append(i)
                }
                return try slice(v, bounds[0], bounds[1], bounds[2], e.line)
            case .call(let name, let args):
                let (positional, keyword) = try evalArguments(args)
                return try call(name, positional, keyword, e.line)
            case .method(let x, let name, let args):
                let receiver = try eval(x)
                let (positional, keyword) = try evalArguments(args)
                return try method(receiver, name, positional, keyword, e.line)
            case .filter(let x, let name, let args):
                let value = try eval(x)
                let (positional, keyword) = try evalArguments(args)
                return try filter(name, value, positional, keyword, e.line)
            case .test(let x, let name, let args, let negated):
                let value = try eval(x)
                let (positional, keyword) = try evalArguments(args)
                let result = try test(name, value, positional, keyword, e.line)
                return .bool(result != negated)
            case .negate(let x):
                let v = try eval(x)
                if let i = v.asInt {
                    guard i != Int.min else { throw fail("integer overflow", e.line) }
                    return .int(-i)
                }
                if case .float(let f) = v { return .float(-f) }
                throw try operandError("unary -", v, nil, e.line)
            case .plus(let x):
                let v = try eval(x)
                if let i = v.asInt { return .int(i) }
                if case .float = v { return v }
                throw try operandError("unary +", v, nil, e.line)
            case .not(let x):
                return .bool(!(try eval(x).truthy))
            case .and(let a, let b):
                let left = try eval(a)
                return left.truthy ? try eval(b) : left
            case .or(let a, let b):
                let left = try eval(a)
                return left.truthy ? left : try eval(b)
            case .binary(let op, let a, let b):
                return try binary(op, try eval(a), try eval(b), e.line)
            case .compare(let first, let rest):
                var left = try eval(first)
                for (op, operand) in rest {
                    let right = try eval(operand)
                    if !(try compare(op, left, right, e.line)) { return .bool(false) }
                    left = right
                }
                return .bool(true)
            case .conditional(let condition, let then, let otherwise):
                if try eval(condition).truthy { return try eval(then) }
                if let otherwise { return try eval(otherwise) }
                return .undefined("the inline if-expression on line \(e.line) evaluated to false and has no else")
            }
        }

        mutating func evalArguments(_ args: Arguments) throws(TokenizerError) -> ([Value], [(String, Value)]) {
            var positional: [Value] = []
            for a in args.positional { positional.append(try eval(a)) }
            var keyword: [(String, Value)] = []
            for (n, a) in args.keyword { keyword.append((n, try eval(a))) }
            return (positional, keyword)
        }

        /// A list, tuple or dict just built: within the item and nesting bounds.
        func checked(_ v: Value, _ line: Int) throws(TokenizerError) -> Value {
            if v.depth > limits.valueDepth { throw fail("value nested deeper than \(limits.valueDepth) levels", line) }
            let count: Int
            switch v {
            case .list(let l): count = l.items.count
            case .dict(let d): count = d.keys.count
            default: count = 0
            }
            if count > limits.items { throw fail("list is longer than \(limits.items) items", line) }
            return v
        }

        /// Throws the undefined value's error when `v` is undefined.
        func defined(_ v: Value, _ line: Int) throws(TokenizerError) {
            if case .undefined(let why) = v { throw fail(why, line) }
        }

        /// The error for operands an operator does not take (an undefined operand's own error first).
        func operandError(_ op: String, _ a: Value, _ b: Value?, _ line: Int) throws(TokenizerError) -> TokenizerError {
            try defined(a, line)
            guard let b else { return fail("bad operand type for \(op): '\(a.typeName)'", line) }
            try defined(b, line)
            return fail("unsupported operand types for \(op): '\(a.typeName)' and '\(b.typeName)'", line)
        }

        // MARK: Access

        mutating func attribute(_ v: Value, _ name: String, _ line: Int) throws(TokenizerError) -> Value {
            switch v {
            case .undefined(let why):
                throw fail(why, line)
            case .dict(let d):
                return d[name] ?? .undefined("'dict object' has no attribute '\(name)'")
            case .namespace(let ns):
                return ns.values[name] ?? .undefined("'Namespace object' has no attribute '\(name)'")
            case .loop(let l):
                switch name {
                case "index": return .int(l.index0 + 1)
                case "index0": return .int(l.index0)
                case "revindex": return .int(l.length - l.index0)
                case "revindex0": return .int(l.length - l.index0 - 1)
                case "first": return .bool(l.index0 == 0)
                case "last": return .bool(l.index0 == l.length - 1)
                case "length": return .int(l.length)
                case "cycle", "depth", "depth0", "previtem", "nextitem", "changed":
                    throw fail("unsupported loop attribute '\(name)'", line)
                default: return .undefined("'LoopContext object' has no attribute '\(name)'")
                }
            default:
                return .undefined("'\(v.typeName) object' has no attribute '\(name)'")
            }
        }

        mutating func item(_ v: Value, _ key: Value, _ line: Int) throws(TokenizerError) -> Value {
            switch v {
            case .undefined(let why):
                throw fail(why, line)
            case .list(let l):
                guard let i = key.asInt else { break }
                let j = i < 0 ? i + l.items.count : i
                guard j >= 0 && j < l.items.count else {
                    return .undefined("\(v.typeName) object has no element \(i)")
                }
                return l.items[j]
            case .string(let s):
                guard let i = key.asInt else { break }
                let scalars = Array(s.unicodeScalars)
                let j = i < 0 ? i + scalars.count : i
                guard j >= 0 && j < scalars.count else { return .undefined("str object has no element \(i)") }
                return .string(String(Character(scalars[j])))
            case .dict(let d):
                if let i = try index(of: key, in: d.keys, line) { return d.values[i] }
            default:
                break
            }
            if case .string(let name) = key { return try attribute(v, name, line) }
            return .undefined("'\(v.typeName) object' has no element of type '\(key.typeName)'")
        }

        func slice(_ v: Value, _ start: Int?, _ stop: Int?, _ step: Int?, _ line: Int) throws(TokenizerError) -> Value {
            let step = step ?? 1
            if step == 0 { throw fail("slice step cannot be zero", line) }
            func indices(_ count: Int) -> StrideTo<Int> {
                let (lower, upper) = step > 0 ? (0, count) : (-1, count - 1)
                func adjust(_ i: Int?, _ otherwise: Int) -> Int {
                    guard let i else { return otherwise }
                    if i < 0 { return max(i + count, lower) }
                    return min(i, upper)
                }
                let a = adjust(start, step > 0 ? lower : upper)
                let b = adjust(stop, step > 0 ? upper : lower)
                return stride(from: a, to: b, by: step)
            }
            switch v {
            case .undefined(let why):
                throw fail(why, line)
            case .list(let l):
                return .list(indices(l.items.count).map { l.items[$0] }, tuple: l.isTuple)
            case .string(let s):
                let scalars = Array(s.unicodeScalars)
                return .string(ChatTemplate.string(indices(scalars.count).map { scalars[$0] }))
            default:
                return .undefined("'\(v.typeName) object' cannot be sliced")
            }
        }

        /// Items of a for loop, `join`, unpacking: a list's items, a dict's keys, a string's characters.
        func iterate(_ v: Value, _ line: Int) throws(TokenizerError) -> [Value] {
            switch v {
            case .undefined: return []
            case .list(let l): return l.items
            case .dict(let d): return d.keys
            case .string(let s): return s.unicodeScalars.map { .string(String(Character($0))) }
            default: throw fail("'\(v.typeName)' object is not iterable", line)
            }
        }
    }
}
