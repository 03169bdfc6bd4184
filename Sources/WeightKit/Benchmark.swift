// bench: load once, time R forward passes over N deterministic tokens and M decode steps.

import Foundation

/// Timing of repeated runs.
public struct Timing: Sendable {
    public let seconds: [Double]
    public let tokensPerRun: Int
    public var median: Double {
        let s = seconds.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
    public var min: Double { seconds.min() ?? 0 }
    public var tokensPerSecond: Double { median > 0 ? Double(tokensPerRun) / median : 0 }
}

public enum Benchmark {
    /// The deterministic token ids benchmarks use: i·7919 mod vocab (the PyTorch script uses the same).
    public static func tokens(count: Int, vocab: Int) -> [Int] { (0..<count).map { ($0 * 7919) % vocab } }

    /// Times `runs` forward passes over `tokens` tokens, then `decode` single-token steps after a
    /// prompt of `tokens` tokens (median per step), recording only the logits.
    /// `ids`, when given, replaces the synthetic tokens (and `n` is their count).
    /// `lastLogits`: the head over the last position only (as llama-bench times prefill); `kv`: the KV
    /// cache's element type.
    public static func run(
        model: LoadedModel, tokens count: Int, runs: Int, decode: Int, threads: Int? = nil, ids given: [Int]? = nil,
        lastLogits: Bool = false, kv: KVCacheType = .f32
    ) throws -> (forward: Timing, decode: Timing?) {
        let executor = Executor(graph: model.graph, threads: threads, kv: kv)
        try executor.preload()
        let ids = given ?? tokens(count: count, vocab: model.graph.config.vocabSize)
        let n = ids.count
        let record: Set<String> = ["logits"]
        _ = try executor.run(tokens: ids, session: executor.makeSession(), record: record, lastLogits: lastLogits)  // warm-up
        var times = [Double]()
        for _ in 0..<runs {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = try executor.run(tokens: ids, session: executor.makeSession(), record: record, lastLogits: lastLogits)
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        if Executor.profiling { Executor.printProfile() }
        var decodeTiming: Timing?
        if decode > 0 {
            let session = executor.makeSession()
            _ = try executor.run(tokens: ids, session: session, record: [])
            var steps = [Double]()
            for s in 0..<decode {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try executor.run(tokens: [(n + s) * 7919 % model.graph.config.vocabSize], session: session, record: record)
                steps.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            decodeTiming = Timing(seconds: steps, tokensPerRun: 1)
        }
        return (Timing(seconds: times, tokensPerRun: n), decodeTiming)
    }
}
