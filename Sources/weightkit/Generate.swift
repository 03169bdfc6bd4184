// weightkit generate: text in, text out, with a KV cache; tokens streamed as they are decoded.

import ArgumentParser
import Foundation
import WeightKit

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate text from a prompt, streaming tokens as they are decoded.",
        discussion: """
            The prompt is encoded with the model's tokenizer (BOS added as its configuration says) and \
            run once; then each new token is fed back through the KV cache. Output is printed as it \
            becomes whole UTF-8 text and generation stops at an end-of-generation token (EOS, or the ids \
            generation_config.json lists) or after -n tokens.

            --temperature 0 (the default) is greedy: the highest logit, the lowest id among equals, as \
            transformers' generate(do_sample=False) and llama.cpp's greedy sampler choose. Above 0 the \
            logits are divided by T, cut to --top-k and --top-p, and sampled with --seed (the same seed \
            gives the same text).

            --chat renders the prompt as a user message with the tokenizer's chat template (a Jinja \
            subset; `weightkit generate --help` on a template that uses more says what is missing) and \
            encodes the result without adding BOS again, as transformers' apply_chat_template does.

            --json prints {"prompt_ids": [...], "ids": [...], "text": "..."}: prompt_ids as \
            `weightkit tokenize` gives them, ids the new tokens (exactly N with -n N when no \
            end-of-generation token comes), text the new tokens decoded without special tokens.

            Examples:
              weightkit generate Fixtures/gpt2-text --prompt "The meaning of" -n 16
              weightkit generate model.gguf --prompt "Hi" --chat --temperature 0.8 \\
                  --top-p 0.9 --seed 7
              weightkit generate Fixtures/llama-spm --prompt "Hello" -n 16 --json
            """)

    @Argument(help: "A weight file or model directory with a tokenizer.") var model: String
    @Option(help: "The prompt text.") var prompt: String
    @Option(name: .short, help: "New tokens at most.") var n = 64
    @Option(help: "0 is greedy; above 0 samples.") var temperature: Float = 0
    @Option(name: .customLong("top-k"), help: "Sample from the K most likely tokens only (0: all).") var topK = 0
    @Option(name: .customLong("top-p"), help: "Sample from the smallest set of tokens whose probability reaches P.") var topP: Float = 1
    @Option(help: "Seed for sampling.") var seed: UInt64 = 0
    @Option(help: "KV cache element type: f32 or f16 (half the memory).") var kv: KVCacheType = .f32
    @Flag(help: "Apply the tokenizer's chat template to the prompt (as one user message).") var chat = false
    @Option(help: "With --chat: a system message before the user's.") var system: String?
    @Flag(name: .customLong("ignore-eos"), help: "Do not stop at end-of-generation tokens.") var ignoreEos = false
    @Flag(help: "Print JSON instead of streaming text.") var json = false

    func validate() throws {
        guard n >= 0 else { throw ValidationError("-n must not be negative") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be 0 or more") }
        guard topK >= 0 else { throw ValidationError("--top-k must not be negative") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        if system != nil && !chat { throw ValidationError("--system needs --chat") }
    }

    @OptionGroup var limits: InputLimits

    func run() throws {
        limits.apply()
        try guarded {
            try checkArgumentsAreUTF8()
            let m = try LoadedModel.open(model)
            let tok = try ModelTokenizer.require(for: model)
            try ModelTokenizer.check(tok, against: m.graph.config, path: model)
            let promptIds: [Int]
            if chat {
                guard let source = tok.chatTemplate else {
                    throw TokenizerError(model, "--chat: the tokenizer has no chat template")
                }
                let template = try ChatTemplate(source, path: model + " (chat template)")
                var messages: [ChatMessage] = []
                if let system { messages.append(ChatMessage(role: "system", content: system)) }
                messages.append(ChatMessage(role: "user", content: prompt))
                let text = try template.render(
                    messages: messages, addGenerationPrompt: true,
                    bosToken: tok.specials.bos.map { tok.vocabulary[$0] } ?? "",
                    eosToken: tok.specials.eos.map { tok.vocabulary[$0] } ?? "")
                promptIds = tok.encode(text, addSpecialTokens: false)
            } else {
                promptIds = tok.encode(prompt)
            }
            guard !promptIds.isEmpty else { throw ValidationError("the prompt encodes to no tokens") }
            var options = GenerationOptions()
            options.maxTokens = n
            options.temperature = temperature
            options.topK = topK
            options.topP = topP
            options.seed = seed
            options.stopAtEndOfGeneration = !ignoreEos
            let generator = Generator(model: m, tokenizer: tok, kv: kv)
            var stream = TextStream(tokenizer: tok, prefixIds: promptIds)
            let result = try generator.generate(promptIds: promptIds, options: options) { id in
                guard !json else { return }
                let piece = stream.add(id)
                if !piece.isEmpty {
                    FileHandle.standardOutput.write(Data(piece.utf8))
                }
            }
            if json {
                printJSON(.object([
                    ("prompt_ids", .array(result.promptIds.map { .int($0) })),
                    ("ids", .array(result.ids.map { .int($0) })),
                    ("text", .string(tok.decode(result.ids, skipSpecialTokens: true))),
                ]))
                return
            }
            let rest = stream.finish()
            FileHandle.standardOutput.write(Data((rest + "\n").utf8))
            let tps = result.decodeSeconds > 0 ? Double(max(result.ids.count - 1, 0)) / result.decodeSeconds : 0
            writeStandardError(String(
                format: "generate: %d prompt tokens in %.3f s, %d new tokens, %.1f tokens/s\n", result.promptIds.count,
                result.prefillSeconds, result.ids.count, tps))
        }
    }
}
