// Text generation: KV-cached decoding with greedy or sampled next tokens.
//
// Temperature 0 is greedy (the highest logit; the lowest id among equals), which is what
// transformers' `generate(do_sample=False)` and llama.cpp's greedy sampler pick. Otherwise the
// logits are divided by the temperature, cut to the top K, softmaxed, cut to the smallest set whose
// probability reaches top-p, and sampled with the seeded generator the analyses use (SplitMix64), so a
// seed repeats a run.

import Foundation

/// How to pick tokens.
public struct GenerationOptions: Sendable {
    /// New tokens at most.
    public var maxTokens = 64
    /// 0: greedy.
    public var temperature: Float = 0
    /// 0: no top-K cut.
    public var topK = 0
    /// 1: no top-p cut.
    public var topP: Float = 1
    public var seed: UInt64 = 0
    /// Stop at an end-of-generation token (EOS, EOT); it is included in the result.
    public var stopAtEndOfGeneration = true
    public init() {}
}

/// What a generation produced.
public struct Generation: Sendable {
    public var promptIds: [Int]
    public var ids: [Int]
    /// Seconds for the prompt (prefill) and for the decoded tokens.
    public var prefillSeconds: Double
    public var decodeSeconds: Double
}

/// Generates tokens from a loaded model.
public final class Generator {
    public let model: LoadedModel
    public let tokenizer: Tokenizer
    let executor: Executor

    public init(model: LoadedModel, tokenizer: Tokenizer, kv: KVCacheType = .f32) {
        self.model = model
        self.tokenizer = tokenizer
        executor = Executor(graph: model.graph, kv: kv)
    }

    /// Runs the prompt, then decodes up to `options.maxTokens` tokens, calling `onToken` after each.
    public func generate(
        promptIds: [Int], options: GenerationOptions, onToken: (Int) throws -> Void = { _ in }
    ) throws -> Generation {
        let c = model.graph.config
        guard !promptIds.isEmpty else { throw TokenizerError(model.checkpoint.path, "the prompt has no tokens") }
        guard options.maxTokens >= 0 else { throw TokenizerError("", "the number of new tokens must not be negative") }
        if promptIds.count + options.maxTokens > c.maxPositions {
            throw TokenizerError(
                model.checkpoint.path,
                "the prompt's \(promptIds.count) tokens plus \(options.maxTokens) new ones exceed the model's context of \(c.maxPositions) positions")
        }
        let session = executor.makeSession()
        var rng = SeededGenerator(seed: options.seed)
        let v = c.vocabSize
        let t0 = DispatchTime.now().uptimeNanoseconds
        var acts = try executor.run(tokens: promptIds, session: session, record: ["logits"])
        let t1 = DispatchTime.now().uptimeNanoseconds
        var out: [Int] = []
        let stops = Set(tokenizer.specials.endOfGeneration)
        while out.count < options.maxTokens {
            let logits = acts["logits"]!.values
            let rows = logits.count / v
            let last = logits[((rows - 1) * v)..<(rows * v)]
            let next = Sampler.pick(Array(last), options: options, rng: &rng)
            out.append(next)
            try onToken(next)
            if options.stopAtEndOfGeneration, stops.contains(next) { break }
            if out.count == options.maxTokens { break }
            acts = try executor.run(tokens: [next], session: session, record: ["logits"])
        }
        let t2 = DispatchTime.now().uptimeNanoseconds
        return Generation(
            promptIds: promptIds, ids: out, prefillSeconds: Double(t1 - t0) / 1e9, decodeSeconds: Double(t2 - t1) / 1e9)
    }
}

/// Choosing the next token from logits.
public enum Sampler {
    public static func pick(_ logits: [Float], options: GenerationOptions, rng: inout SeededGenerator) -> Int {
        if options.temperature <= 0 { return argmax(logits) }
        var order = Array(logits.indices)
        order.sort { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
        if options.topK > 0, options.topK < order.count { order.removeLast(order.count - options.topK) }
        let scaled = order.map { Double(logits[$0]) / Double(options.temperature) }
        let top = scaled[0]
        var p = scaled.map { exp($0 - top) }
        let sum = p.reduce(0, +)
        for i in p.indices { p[i] /= sum }
        var keep = p.count
        if options.topP < 1 {
            var acc = 0.0
            for i in p.indices {
                acc += p[i]
                if acc >= Double(options.topP) {
                    keep = i + 1
                    break
                }
            }
        }
        let total = p[0..<keep].reduce(0, +)
        let r = rng.uniform() * total
        var acc = 0.0
        for i in 0..<keep {
            acc += p[i]
            if r < acc { return order[i] }
        }
        return order[keep - 1]
    }

    /// The index of the largest value; the lowest index among equals.
    public static func argmax(_ x: [Float]) -> Int {
        var best = 0
        for i in 1..<x.count where x[i] > x[best] { best = i }
        return best
    }
}

/// Turns a growing list of ids into text chunks that are always whole UTF-8: a chunk is released only
/// when the decoded text no longer ends in an incomplete character.
public struct TextStream {
    let tokenizer: Tokenizer
    let prefixIds: [Int]
    var ids: [Int] = []
    var emitted = 0
    let prefixCount: Int

    /// Text is decoded after `prefixIds` (the prompt), so spacing at the join is what the whole text has.
    public init(tokenizer: Tokenizer, prefixIds: [Int]) {
        self.tokenizer = tokenizer
        self.prefixIds = prefixIds
        prefixCount = tokenizer.decode(prefixIds, skipSpecialTokens: true).utf8.count
    }

    /// Adds a token; returns the text that became complete.
    public mutating func add(_ id: Int) -> String {
        ids.append(id)
        let full = Array(tokenizer.decode(prefixIds + ids, skipSpecialTokens: true).utf8)
        var end = full.count
        // Hold back a trailing replacement character: it may be half of a byte sequence still to come.
        if end >= 3, full[(end - 3)..<end].elementsEqual([0xEF, 0xBF, 0xBD]) { end -= 3 }
        let start = max(prefixCount, emitted)
        guard end > start else { return "" }
        emitted = end
        return String(decoding: full[start..<end], as: UTF8.self)
    }

    /// Whatever is still held back.
    public mutating func finish() -> String {
        let full = Array(tokenizer.decode(prefixIds + ids, skipSpecialTokens: true).utf8)
        let start = max(prefixCount, emitted)
        guard full.count > start else { return "" }
        emitted = full.count
        return String(decoding: full[start...], as: UTF8.self)
    }
}
