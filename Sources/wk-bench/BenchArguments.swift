import TensorCore

/// The arguments every wk-bench verb takes: one FILE, `--runs R`, and boolean flags.
struct BenchArguments {
    var path: String
    var runs = 5
    var flags = Set<String>()

    /// Parses `args`; `allowed` lists the verb's flags (e.g. "--json"), `usage` is printed when FILE is missing.
    init(_ args: [String], allowed: Set<String>, usage: String) throws {
        var path: String?
        var i = 0
        while i < args.count {
            let a = args[i]
            if a == "--runs" {
                i += 1
                guard i < args.count, let r = Int(args[i]), r > 0 else { throw TensorCoreError("--runs needs a positive integer") }
                runs = r
            } else if allowed.contains(a) {
                flags.insert(a)
            } else if a.hasPrefix("--") || path != nil {
                throw TensorCoreError("unexpected argument '\(a)'; \(usage)")
            } else {
                path = a
            }
            i += 1
        }
        guard let path else { throw TensorCoreError(usage) }
        self.path = path
    }
}
