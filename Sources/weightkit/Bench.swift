// weightkit bench: forward-pass and decode timing of one model, loaded once.

import ArgumentParser
import WeightKit

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time forward passes (and decode steps with the KV cache) of a model.",
        discussion: """
            Loads MODEL once (weights as stored, memory-mapped), runs one warm-up pass, then RUNS forward passes over \
            N deterministic tokens (ids i·7919 mod vocab) and M single-token decode steps after an \
            N-token prompt. Prints median and min seconds and tokens/s. Compare against a baseline \
            run on the same machine in the same session (Benchmarks/run.sh does this for PyTorch).

            Example:
              weightkit bench /tmp/gpt2-124m --tokens 128 --runs 5 --decode 16 --json
            """)

    @Argument(help: "A weight file or model directory.") var model: String
    @Option(help: "Tokens per forward pass.") var tokens = 128
    @Option(help: "Run on this text, encoded with the model's tokenizer, instead of --tokens synthetic ids.") var prompt: String?
    @Option(help: "Forward passes to time.") var runs = 5
    @Option(help: "Decode steps to time after the prompt (0 for none).") var decode = 0
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Logits computed in forward passes: all (every position) or last (the last position only, as llama-bench).") var logits: LogitsMode = .all
    @Option(help: "KV cache element type: f32 or f16 (half the memory).") var kv: KVCacheType = .f32
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard tokens > 0, runs > 0, decode >= 0 else { throw ValidationError("--tokens and --runs must be positive, --decode non-negative") }
    }

    @OptionGroup var limits: InputLimits

    func run() throws {
        limits.apply()
        try guarded {
            let m = try LoadedModel.open(model)
            let promptIds = try prompt.map { try resolveInput(tokens: nil, prompt: $0, model: model, config: m.graph.config).ids }
            let plan = try Executor.memoryPlan(m.graph, kv: kv)
            let (fwd, dec) = try Benchmark.run(
                model: m, tokens: tokens, runs: runs, decode: decode, threads: threads, ids: promptIds, lastLogits: logits == .last, kv: kv)
            let rss = ProcessMemory.read()
            func obj(_ t: Timing) -> JSONValue {
                .object([("median_s", .double(t.median)), ("min_s", .double(t.min)), ("tokens_per_s", .double(t.tokensPerSecond))])
            }
            if json {
                printJSON(.object([
                    ("model", .string(model)), ("tokens", .int(tokens)), ("runs", .int(runs)), ("logits", .string(logits.rawValue)),
                    ("kv", .string(kv.rawValue)), ("forward", obj(fwd)), ("decode", dec.map(obj) ?? .null),
                    ("blas_kernel", .string(BLASInfo.coreName)),
                    ("memory", .object([
                        ("mapped_weight_bytes", .int(plan.mappedBytes)), ("owned_weight_bytes", .int(plan.ownedBytes)),
                        ("kv_bytes_per_token", .int(plan.kvBytesPerToken)),
                        ("peak_rss_bytes", rss.peak.map { .int($0) } ?? .null), ("rss_anon_bytes", rss.anonymous.map { .int($0) } ?? .null),
                    ])),
                ]))
                return
            }
            print("\(model): \(m.graph.config.architecture.displayName), \(m.graph.config.summary)")
            print("  OpenBLAS kernel \(BLASInfo.coreName)")
            print("  memory        \(memoryLine(plan))")
            if let peak = rss.peak { print("  measured      peak RSS \(MemoryPlan.format(peak))\(rss.anonymous.map { ", anonymous RSS at the end \(MemoryPlan.format($0))" } ?? "")") }
            print("  forward over \(tokens) tokens (logits \(logits == .last ? "of the last position" : "of every position")): median \(short(Float(fwd.median))) s, min \(short(Float(fwd.min))) s, \(short(Float(fwd.tokensPerSecond))) tokens/s (\(runs) runs)")
            if let dec {
                print("  decode after \(tokens) tokens: median \(short(Float(dec.median * 1000))) ms/token, \(short(Float(dec.tokensPerSecond))) tokens/s (\(decode) steps)")
            }
        }
    }
}
