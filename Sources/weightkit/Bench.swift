// weightkit bench: forward-pass and decode timing of one model, loaded once.

import ArgumentParser
import WeightKit

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time forward passes (and decode steps with the KV cache) of a model.",
        discussion: """
            Loads MODEL once, widens its weights, runs one warm-up pass, then RUNS forward passes over \
            N deterministic tokens (ids i·7919 mod vocab) and M single-token decode steps after an \
            N-token prompt. Prints median and min seconds and tokens/s. Compare against a baseline \
            run on the same machine in the same session (Benchmarks/run.sh does this for PyTorch).

            Example: weightkit bench /tmp/gpt2-124m --tokens 128 --runs 5 --decode 16 --json
            """)

    @Argument(help: "A weight file or model directory.") var model: String
    @Option(help: "Tokens per forward pass.") var tokens = 128
    @Option(help: "Run on this text, encoded with the model's tokenizer, instead of --tokens synthetic ids.") var prompt: String?
    @Option(help: "Forward passes to time.") var runs = 5
    @Option(help: "Decode steps to time after the prompt (0 for none).") var decode = 0
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard tokens > 0, runs > 0, decode >= 0 else { throw ValidationError("--tokens and --runs must be positive, --decode non-negative") }
    }

    func run() throws {
        try guarded {
            let m = try LoadedModel.open(model)
            let promptIds = try prompt.map { try resolveInput(tokens: nil, prompt: $0, model: model, config: m.graph.config).ids }
            let (fwd, dec) = try Benchmark.run(model: m, tokens: tokens, runs: runs, decode: decode, threads: threads, ids: promptIds)
            func obj(_ t: Timing) -> JSONValue {
                .object([("median_s", .double(t.median)), ("min_s", .double(t.min)), ("tokens_per_s", .double(t.tokensPerSecond))])
            }
            if json {
                printJSON(.object([("model", .string(model)), ("tokens", .int(tokens)), ("runs", .int(runs)), ("forward", obj(fwd)), ("decode", dec.map(obj) ?? .null), ("blas_kernel", .string(BLASInfo.coreName))]))
                return
            }
            print("\(model): \(m.graph.config.architecture.displayName), \(m.graph.config.summary)")
            print("  OpenBLAS kernel \(BLASInfo.coreName)")
            print("  forward over \(tokens) tokens: median \(short(Float(fwd.median))) s, min \(short(Float(fwd.min))) s, \(short(Float(fwd.tokensPerSecond))) tokens/s (\(runs) runs)")
            if let dec {
                print("  decode after \(tokens) tokens: median \(short(Float(dec.median * 1000))) ms/token, \(short(Float(dec.tokensPerSecond))) tokens/s (\(decode) steps)")
            }
        }
    }
}
