// weightkit convert: any checkpoint to safetensors, GGUF, HDF5 or a Hugging Face directory.

import ArgumentParser
internal import CSystem
import Foundation
import WeightKit

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a checkpoint to another format, naming or dtype (streaming, atomic).",
        discussion: """
            OUT's extension picks the format: .safetensors, .gguf, .h5/.hdf5; a directory (a trailing \
            slash, an existing directory or a name without an extension) is a Hugging Face model \
            directory: config.json + model.safetensors, or model-0000i-of-0000N.safetensors shards and \
            model.safetensors.index.json past --shard-size.

            Naming: gguf (llama.cpp's names, Conv1D weights transposed to [out, in], LLaMA Q/K rows \
            interleaved, architecture keys) is the default for .gguf; hf for everything else; keep \
            copies names and layout as they are and is used for checkpoints that are not a model \
            WeightKit recognises.

            --dtype casts floating-point tensors (f32, f16, bf16: numpy's rounding). Quantized types \
            (q8_0, q4_0, q4_1, q5_0, q5_1) go only into GGUF and, as llama.cpp's converter does, only \
            to 2-D weight matrices; 1-D tensors, norms, biases, position embeddings and rope_freqs \
            stay f32, and matrices whose rows are not whole 32-element blocks become f16.

            A llama-quantize mixture (--dtype q4_k_m, q5_k_m, q6_k, q3_k_m, q2_k, …) gives each tensor the \
            type llama.cpp's rules give it: more bits for attn_v and ffn_down on some layers and for the \
            output/tied embedding, 1-D tensors and norms unquantized, and a fallback where a row is not \
            a whole 256-element block (say which with --json); general.file_type as llama-quantize \
            sets it. --tensor-type PATTERN=TYPE overrides the rules; --imatrix FILE weighs the K-quant \
            rounding by an importance matrix and records its provenance. GGUF inputs are dequantized \
            first (re-quantization).

            --set key=value sets metadata (repeatable). GGUF and HDF5 values are typed: true/false → \
            bool, integers → u32 (i32, u64 or i64 when they do not fit), other numbers → f32, else a \
            string; key:TYPE=value forces a type (u8 i8 u16 i16 u32 i32 u64 i64 f32 f64 bool str). \
            safetensors metadata is text.

            The tokenizer comes along. Into GGUF it becomes llama.cpp's tokenizer.ggml.* keys (model \
            gpt2 for byte-level BPE with merges, llama for SentencePiece with scores and token types, \
            BOS/EOS/UNK/PAD ids, add_bos/add_eos, the chat template); the BPE pre-tokenizer name is \
            found from the tokenizer's own definition (its regexes and options), and one llama.cpp \
            does not know is an error unless --pre names an equivalent. Into a Hugging Face \
            directory (or beside an HF-named single file) the input's tokenizer files are copied, or \
            for a GGUF input tokenizer.json and tokenizer_config.json (and tokenizer.model for \
            SentencePiece) are written from its keys. --no-tokenizer leaves it out.

            A torch.save input (.bin, .pt, .pth, a pytorch_model.bin.index.json, Meta's \
            consolidated.*.pth) is read without running its pickle: views are written contiguous, a \
            training snapshot's state dict is taken from under its key ("state_dict", "model", …) and \
            the rest is left out, and under hf naming a tied head (lm_head over the embedding's \
            storage) is left out as save_pretrained leaves it out; keep writes every name it holds.

            The input is never overwritten; an existing OUT is replaced only with --force. Output is \
            written without a name beside OUT and linked into place when complete (an .h5, or on a \
            file system without O_TMPFILE, a temporary .NAME.wk-tmp-PID-N renamed into place); on an \
            error, SIGINT or SIGTERM OUT is untouched and the temporaries are removed, and those a \
            killed run left are removed by the next convert into that directory.

            Examples:
              weightkit convert Fixtures/gpt2-tiny gpt2.gguf --dtype q8_0
              weightkit convert Fixtures/llama-gqa/model.gguf llama-hf/
              weightkit convert Fixtures/pytorch/gpt2-tiny/pytorch_model.bin \\
                  model.safetensors
              weightkit convert big-model/ out/ --dtype bf16 --shard-size 2GB
            """)

    @Argument(help: "Input: a weight file or model directory.") var input: String
    @Argument(help: "Output: .safetensors, .gguf, .h5/.hdf5, or a directory.") var output: String
    @Option(help: "f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, or a llama-quantize mixture: q2_k, q3_k_s, q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k (default: keep each tensor's dtype).") var dtype: String?
    @Option(name: .customLong("tensor-type"), help: "With a mixture: PATTERN=TYPE gives tensors whose name matches the regex PATTERN that type (repeatable; first match wins).") var tensorTypes: [String] = []
    @Option(help: "With a K-quant mixture: an importance matrix (llama.cpp imatrix .gguf or .dat).") var imatrix: String?
    @Option(help: "hf, gguf or keep.") var naming: String?
    @Option(name: .customLong("shard-size"), help: "Largest shard of a model directory (e.g. 500MB, 2GB; default 5GB).") var shardSize: String?
    @Option(name: .customLong("set"), help: "Metadata key=value (repeatable).") var settings: [String] = []
    @Option(help: "Force llama.cpp's tokenizer.ggml.pre NAME for a BPE tokenizer whose pre-tokenizer is not recognised.") var pre: String?
    @Flag(name: .customLong("no-tokenizer"), help: "Leave the tokenizer out.") var noTokenizer = false
    @Flag(help: "Replace an existing OUT.") var force = false
    @Flag(help: "Print a JSON summary.") var json = false

    func convert(_ bar: ProgressBar) throws -> ConvertSummary {
        var o = ConvertOptions(force: force)
        if let dtype, let m = QuantMixture(rawValue: dtype), ConvertOptions.mixtures.contains(m) {
            o.mixture = m
        } else {
            o.dtype = dtype.flatMap { DType(rawValue: $0) }
        }
        o.tensorTypes = tensorTypes.compactMap { t in
            guard let eq = t.lastIndex(of: "="), let type = DType(rawValue: String(t[t.index(after: eq)...]).lowercased()) else { return nil }
            return (String(t[..<eq]), type)
        }
        o.imatrix = imatrix
        o.naming = naming.flatMap { ConvertNaming(rawValue: $0) }
        o.pre = pre
        o.tokenizer = !noTokenizer
        o.settings = settings
        if let shardSize { o.shardSize = try ConvertOptions.parseSize(shardSize) }
        for s in settings { _ = try ConvertOptions.parseSetting(s) }
        defer { bar.finish() }
        var report: (@Sendable (ConvertProgress) -> Void)?
        if bar.enabled { report = { @Sendable p in bar.update(p) } }
        return try Converter.convert(input, to: output, options: o, hashes: json, progress: report)
    }

    func validate() throws {
        if let dtype, DType(rawValue: dtype).map({ ConvertOptions.dtypes.contains($0) }) != true,
            QuantMixture(rawValue: dtype).map({ ConvertOptions.mixtures.contains($0) }) != true
        {
            throw ValidationError(
                "--dtype must be one of \((ConvertOptions.dtypes.map(\.rawValue) + ConvertOptions.mixtures.map(\.rawValue)).joined(separator: ", "))")
        }
        let mixture = dtype.flatMap { QuantMixture(rawValue: $0) }.flatMap { ConvertOptions.mixtures.contains($0) ? $0 : nil }
        if (!tensorTypes.isEmpty || imatrix != nil) && mixture == nil {
            throw ValidationError("--tensor-type and --imatrix go with a mixture: --dtype q4_k_m, q6_k, …")
        }
        let encodable = DType.allCases.filter { $0.codec?.canEncode == true || $0 == .f16 || $0 == .f32 || $0 == .bf16 }
        for t in tensorTypes {
            guard let eq = t.lastIndex(of: "="), eq != t.startIndex,
                let type = DType(rawValue: String(t[t.index(after: eq)...]).lowercased()), encodable.contains(type)
            else {
                throw ValidationError("--tensor-type takes PATTERN=TYPE with TYPE one of \(encodable.map(\.rawValue).joined(separator: ", ")); got '\(t)'")
            }
            if (try? NSRegularExpression(pattern: String(t[..<eq]))) == nil {
                throw ValidationError("--tensor-type: '\(t[..<eq])' is not a regular expression")
            }
        }
        if let naming, ConvertNaming(rawValue: naming) == nil { throw ValidationError("--naming must be hf, gguf or keep") }
    }

    @OptionGroup var limits: InputLimits

    func run() throws {
        limits.apply()
        // Buffers of 1 MiB and more come from mmap and go back to the system when freed: glibc's
        // adaptive threshold would otherwise keep freed tensor buffers in per-thread arenas.
        _ = wk_set_mmap_threshold(1 << 20)
        let bar = ProgressBar()
        let summary = try guarded { try convert(bar) }
        // Notes go to stderr, or into the JSON summary with --json.
        if !json { for n in summary.notes { writeStandardError("weightkit: note: \(n)\n") } }
        if json {
            printJSON(summary.json)
        } else {
            print("wrote \(summary.output) (\(summary.format.rawValue), \(summary.naming.rawValue) names, dtype \(summary.dtype)): \(summary.tensors) tensors, \(ProgressBar.bytes(summary.bytes)) in \(String(format: "%.2f", summary.seconds)) s")
        }
    }
}
