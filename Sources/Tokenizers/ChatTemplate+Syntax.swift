// The parsed template: statements holding expressions, each with the line it starts on.

extension ChatTemplate {
    /// A constant written in the template.
    enum Literal: Sendable {
        case none
        case bool(Bool)
        case int(Int)
        case float(Double)
        case string(String)
    }

    enum BinaryOp: String, Sendable {
        case add = "+", sub = "-", mul = "*", div = "/", floorDiv = "//", mod = "%", pow = "**", concat = "~"
    }

    enum CompareOp: String, Sendable {
        case eq = "==", ne = "!=", lt = "<", gt = ">", le = "<=", ge = ">=", `in` = "in", notIn = "not in"
    }

    /// An argument list: positional arguments, then `name=value` ones.
    struct Arguments: Sendable {
        var positional: [Expr] = []
        var keyword: [(name: String, value: Expr)] = []
    }

    indirect enum ExprKind: Sendable {
        case literal(Literal)
        case name(String)
        case list([Expr])
        case tuple([Expr])
        case dict([(key: Expr, value: Expr)])
        /// `x.name`
        case attribute(Expr, String)
        /// `x[i]`
        case item(Expr, Expr)
        /// `x[a:b:c]`, each part optional.
        case slice(Expr, Expr?, Expr?, Expr?)
        /// `name(args)`: a global function, looked up when called.
        case call(String, Arguments)
        /// `x.name(args)`: a method of a string or dict.
        case method(Expr, String, Arguments)
        /// `x | name(args)`
        case filter(Expr, String, Arguments)
        /// `x is [not] name(args)`
        case test(Expr, String, Arguments, negated: Bool)
        case negate(Expr)
        case plus(Expr)
        case not(Expr)
        case binary(BinaryOp, Expr, Expr)
        case and(Expr, Expr)
        case or(Expr, Expr)
        /// `a < b <= c`: Python's chained comparison.
        case compare(Expr, [(op: CompareOp, operand: Expr)])
        /// `then if condition else otherwise`; without `else` the result is undefined.
        case conditional(condition: Expr, then: Expr, otherwise: Expr?)
    }

    /// An expression and the line it starts on. `depth` is the height of its tree, bounded so that
    /// evaluating it cannot exhaust the stack.
    struct Expr: Sendable {
        let kind: ExprKind
        let line: Int
        let depth: Int
    }

    /// What a `for` or `set` assigns to.
    enum Target: Sendable {
        case name(String)
        /// `a, b` or `(a, b)`: unpacks a sequence of exactly that many items.
        case names([String])
    }

    indirect enum Stmt: Sendable {
        case text(String)
        /// `{{ expr }}`
        case output(Expr)
        /// `if` / `elif` branches in order, then the `else` body.
        case ifBlock([(condition: Expr, body: [Stmt])], otherwise: [Stmt])
        case forLoop(ForLoop)
        /// `set target = value`
        case set(Target, Expr, line: Int)
        /// `set ns.attribute = value`
        case setAttribute(String, String, Expr, line: Int)
        case breakLoop
        case continueLoop
    }

    struct ForLoop: Sendable {
        let target: Target
        let iterable: Expr
        /// `for x in xs if condition`: items failing it are skipped and not counted in `loop`.
        let condition: Expr?
        let body: [Stmt]
        /// Rendered when no item passes.
        let otherwise: [Stmt]
        let line: Int
    }
}
