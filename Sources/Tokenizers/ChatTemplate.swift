// Chat templates: the Jinja subset that Hugging Face `chat_template` strings use, rendered as transformers
// renders them (`ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)` with the loop-controls
// extension, `raise_exception`, and a `tojson` that is `json.dumps(ensure_ascii=False)`).
//
// The pipeline, one file each:
//   ChatTemplate+Lexer.swift        source → tokens: text between tags, tag delimiters, expression tokens;
//                                   whitespace control, trim_blocks, lstrip_blocks
//   ChatTemplate+Syntax.swift       the statement and expression trees
//   ChatTemplate+Parser.swift       tokens → statements; unsupported tags refused with their line
//   ChatTemplate+Expressions.swift  expressions by Jinja's precedence; unsupported filters, tests, methods refused
//   ChatTemplate+Value.swift        the values a template computes with; Python's repr of strings and floats
//   ChatTemplate+Eval.swift         statements and expressions evaluated against scopes, with work bounds
//   ChatTemplate+Operators.swift    Python's str(), ==, ordering, `in` and arithmetic
//   ChatTemplate+Builtins.swift     filters, tests, methods and global functions
//   ChatTemplate+JSON.swift         `tojson`

/// One message of a conversation, as a template sees it: a dict `{'role': role, 'content': content}`.
public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// A parsed chat template (a Hugging Face `chat_template` string, a small Jinja subset).
///
/// Parsing refuses what this implementation does not support, naming the construct and its line
/// (`chat template: unsupported filter 'xmlattr' at line 3`); rendering fails on what can only be
/// known at run time (an unknown function actually called, `raise_exception`, a type error, a bound).
public struct ChatTemplate: Sendable {
    /// The file the template came from, for error messages.
    public let path: String
    let body: [Stmt]

    /// Parses the template; unsupported constructs are refused here, naming the construct and its line.
    public init(_ source: String, path: String) throws(TokenizerError) {
        self.path = path
        var lexer = Lexer(source, path: path)
        let tokens = try lexer.tokenize()
        var parser = Parser(tokens, path: path)
        self.body = try parser.parseTemplate()
    }

    /// Renders with `messages`, `add_generation_prompt`, `bos_token`, `eos_token` (and any extra string variables).
    ///
    /// As in transformers, `tools` and `documents` are defined and `none`; `extra` cannot replace the four
    /// named variables.
    public func render(
        messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String,
        extra: [String: String] = [:]
    ) throws(TokenizerError) -> String {
        try render(messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken,
                   eosToken: eosToken, extra: extra, limits: Limits())
    }

    /// `render` within other bounds (tests lower them).
    func render(
        messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String,
        extra: [String: String], limits: Limits
    ) throws(TokenizerError) -> String {
        var context: [String: Value] = ["tools": .none, "documents": .none]
        for (name, value) in extra { context[name] = .string(value) }
        var list: [Value] = []
        for m in messages {
            list.append(.dict(DictValue(keys: [.string("role"), .string("content")],
                                        values: [.string(m.role), .string(m.content)])))
        }
        context["messages"] = .list(list)
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        context["bos_token"] = .string(bosToken)
        context["eos_token"] = .string(eosToken)
        var renderer = Renderer(path: path, context: context, limits: limits)
        return try renderer.render(body)
    }

    /// The constructs this implementation supports, for --help and docs.
    public static let supported: String = """
        Chat templates: a Jinja subset, rendered as Hugging Face transformers does \
        (trim_blocks and lstrip_blocks on, a single trailing newline dropped).
          tags         {{ expr }}  {% stmt %}  {# comment #}; whitespace control {%- -%} {{- -}} {#- -#} {%+ +%}
          statements   if / elif / else / endif; for x in xs [if cond] / else / endfor, with tuple targets \
        (for k, v in d.items()); break, continue; set x = expr; set a, b = expr; set ns.attr = expr
          loop         loop.index, index0, revindex, revindex0, first, last, length
          literals     strings ('…', "…", Python escapes), integers, floats, true/false/none (any case), \
        lists, tuples, dicts
          operators    + - * / // % ** ~  == != < > <= >=  and or not  in, not in  x if c else y; \
        attribute, subscript and slice access (m.role, m['role'], messages[0], messages[1:], s[::-1])
          tests        is [not] defined, undefined, none, string, number, integer, float, boolean, true, false, \
        mapping, sequence, iterable, odd, even, divisibleby, in, eq/equalto, ne, lt, le, gt, ge
          filters      trim, upper, lower, capitalize, length, string, tojson (indent=, sort_keys=), \
        default (d), first, last, join, replace, list, items, select, reject, selectattr, rejectattr
          methods      str: strip, lstrip, rstrip, startswith, endswith, split, upper, lower, replace; \
        dict: get, items, keys, values
          functions    range, namespace(x=…), raise_exception('message')
          variables    messages (dicts with role and content), add_generation_prompt, bos_token, eos_token, \
        tools and documents (none), extra strings; an undefined variable renders as ''
        Refused when parsing, with the line: macro, call, filter blocks, include, import, from, extends, block, \
        raw, with, autoescape, do, set … endset, recursive loops, any other filter, test or method. \
        Refused when rendering: calling any other function (so `strftime_now is defined` still works), \
        ranges over 100000 items, more than 1000000 loop iterations, output over 16 MiB.
        """
}

extension ChatTemplate {
    /// Work bounds: a template is code from a model repository and must not hang or exhaust memory.
    struct Limits: Sendable {
        /// Total loop iterations in one render.
        var iterations = 1_000_000
        /// Items in one `range()`, as Jinja's sandbox (`MAX_RANGE`).
        var range = 100_000
        /// Bytes (UTF-8) of the output and of any one string value.
        var bytes = 16 << 20
        /// Items of any one list, tuple or dict.
        var items = 1_000_000
        /// Nesting of lists, dicts and namespaces in values.
        var valueDepth = 64
        /// Evaluation steps (expression nodes, values visited) in one render: about a second.
        var steps = 20_000_000
        /// Expression and statement nesting in the source, checked when parsing.
        static let syntaxDepth = 64
    }

    /// An error at `line` of the template.
    static func error(_ path: String, _ message: String, line: Int) -> TokenizerError {
        TokenizerError(path, "chat template: \(message) at line \(line)")
    }
}
