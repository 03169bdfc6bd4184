// Planning a conversion: which tensors the output holds, under which names, with which
// transform (transpose, Q/K row order, dtype) and which metadata. Nothing is read here beyond
// headers (and GGUF rope_freqs); every tensor's bytes are produced lazily when the writer asks.

import Foundation
import Models
import TensorCore

/// How one output tensor is made from one source tensor.
struct TensorRecipe: Sendable {
    var name: String
    var source: TensorEntry
    /// Output shape (row-major).
    var shape: [Int]
    /// Source is 2-D and is transposed.
    var transpose: Bool
    /// Destination row i = row `rowMap[i]` of the (transposed) source.
    var rowMap: [Int]?
    var dtype: DType
    /// Importance weights per column (an imatrix entry), for the K-quant encoders.
    var importance: [Float]? = nil

    /// The output entry; bytes are produced on demand.
    func entry() throws -> TensorEntry {
        let r = self
        return try TensorEntry(name: name, dtype: dtype, shape: shape) { try r.produce() }
    }

    func produce() throws -> TensorData {
        let data = try source.bytes()
        data.region.adviseWillNeed(offset: data.offset, count: data.count)
        if !transpose && rowMap == nil && source.dtype == dtype { return data }
        var cur = data
        var curType = source.dtype
        let elements = source.elementCount
        if transpose {
            let rows = source.shape[0]
            let cols = elements / max(rows, 1)
            if curType.isQuantized {
                cur = try Self.toF32(cur, curType, elements, name)
                curType = .f32
            }
            let size = curType.blockBytes
            let src = cur
            if curType == .f32 && (dtype == .f16 || dtype == .f32) && rowMap == nil {
                // Fused: transpose (and narrow to f16) in one pass.
                let outBytes = elements * dtype.blockBytes
                return TensorData(region: ByteRegion(count: outBytes) { out in
                    src.withUnsafeBytes { s in
                        ConvertKernels.transposeF32(s.baseAddress!, out.baseAddress!, rows: rows, cols: cols, half: dtype == .f16)
                    }
                }, offset: 0, count: outBytes)!
            }
            if curType == .f32 && rowMap == nil && importance == nil, let codec = dtype.codec, codec.canEncode, rows % codec.blockSize == 0 {
                // Fused: transpose and quantize each block-tall tile column as one block.
                let outBytes = (elements / codec.blockSize) * codec.blockBytes
                return TensorData(region: try ByteRegion(count: outBytes) { out in
                    try src.withUnsafeBytes { s in
                        try ConvertKernels.transposeQuantized(s.baseAddress!, out.baseAddress!, rows: rows, cols: cols, codec: codec, tensor: name)
                    }
                }, offset: 0, count: outBytes)!
            }
            cur = TensorData(region: ByteRegion(count: elements * size) { out in
                src.withUnsafeBytes { s in
                    if size == 4 {
                        ConvertKernels.transposeF32(s.baseAddress!, out.baseAddress!, rows: rows, cols: cols, half: false)
                    } else {
                        ConvertKernels.transpose(s.baseAddress!, out.baseAddress!, rows: rows, cols: cols, size: size)
                    }
                }
            }, offset: 0, count: elements * size)!
        }
        if let rowMap, !rowMap.isEmpty {
            let rowBytes = cur.count / rowMap.count
            let src = cur
            cur = TensorData(region: ByteRegion(count: src.count) { out in
                src.withUnsafeBytes { s in ConvertKernels.permuteRows(s.baseAddress!, out.baseAddress!, map: rowMap, rowBytes: rowBytes) }
            }, offset: 0, count: src.count)!
        }
        if curType == dtype { return cur }
        // Cast through float32: read the f32 bytes in place when aligned, else widen a copy.
        if curType == .f32 {
            let direct: TensorData? = try cur.withUnsafeBytes { raw in
                guard Int(bitPattern: raw.baseAddress) % 4 == 0 else { return nil }
                return try ConvertKernels.narrow(raw.bindMemory(to: Float.self), to: dtype, rowLength: shape.last, importance: importance, tensor: name)
            }
            if let direct { return direct }
        }
        let wide = try Self.toF32(cur, curType, elements, name)
        if dtype == .f32 { return wide }
        return try wide.withUnsafeBytes {
            try ConvertKernels.narrow($0.bindMemory(to: Float.self), to: dtype, rowLength: shape.last, importance: importance, tensor: name)
        }
    }

    /// The elements widened or dequantized to float32, in a fresh aligned region.
    static func toF32(_ data: TensorData, _ dtype: DType, _ count: Int, _ name: String) throws -> TensorData {
        let region = try ByteRegion(count: count * 4) { out in
            try data.withUnsafeBytes { src in
                try ConvertKernels.widen(dtype, src, into: out.baseAddress!.assumingMemoryBound(to: Float.self), count: count, tensor: name)
            }
        }
        return TensorData(region: region, offset: 0, count: count * 4)!
    }
}

/// Everything a conversion will write.
struct ConvertPlan {
    var naming: ConvertNaming
    var recipes: [TensorRecipe]
    /// GGUF keys / HDF5 attributes (typed).
    var metadata: Metadata
    /// safetensors `__metadata__`.
    var stringMetadata: [(String, String)]
    /// config.json to write with HF-named output (nil: none).
    var config: JSONValue?
    var notes: [String] = []
    /// The resolved config of a mapped (hf or gguf) output; nil with `keep`.
    var modelConfig: ModelConfig? = nil

    /// The dtype a tensor gets. Integers and bools are never cast. With no `--dtype`, tensors
    /// keep theirs, except ggml block types written outside GGUF (dequantized to f32). Into GGUF,
    /// llama.cpp's convert_hf_to_gguf choices: only 2-D `.weight` matrices take the requested
    /// type; 1-D tensors, norms (`*_norm.weight`), biases, `position_embd` and `rope_freqs` stay
    /// f32; a matrix whose rows are not whole 32-element blocks falls back to f16.
    static func dtype(name: String, shape: [Int], source: DType, requested: DType?, format: ConvertOutputFormat) -> DType {
        guard source.isFloat || source.isQuantized else { return source }
        guard let r = requested else { return source.isQuantized && format != .gguf ? .f32 : source }
        guard format == .gguf else { return r }
        let matrix = shape.count == 2 && name.hasSuffix(".weight") && !name.hasSuffix("_norm.weight") && name != "position_embd.weight"
        if r == .f32 || !matrix { return .f32 }
        if r.isQuantized && shape[1] % r.blockSize != 0 { return .f16 }
        return r
    }

    /// llama.cpp's `general.file_type` for the dtype most matrix elements have.
    static func fileType(_ recipes: [TensorRecipe]) -> UInt32? {
        var weight = [DType: Int]()
        for r in recipes where r.shape.count == 2 { weight[r.dtype, default: 0] += r.source.elementCount }
        guard let main = weight.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key.rawValue > $1.key.rawValue) })?.key else { return nil }
        let ids: [DType: UInt32] = [.f32: 0, .f16: 1, .q4_0: 2, .q4_1: 3, .q8_0: 7, .q5_0: 8, .q5_1: 9, .q2_k: 10, .q3_k: 12,
                                    .q4_k: 15, .q5_k: 17, .q6_k: 18, .bf16: 32]
        return ids[main]
    }

    /// Plans `checkpoint` → `format` under `options`.
    static func make(_ input: Checkpoint, format: ConvertOutputFormat, options: ConvertOptions) throws -> ConvertPlan {
        // Settings also reach the input's metadata, so they can supply what a GGUF lacks (e.g. the
        // llama3 RoPE parameters config.json needs).
        var c = input
        for s in options.settings {
            let (key, value, _) = try ConvertOptions.parseSetting(s)
            c.metadata[key] = value
        }
        if let m = options.mixture, format != .gguf {
            throw WeightKitError("--dtype \(m.rawValue): quantization mixtures go only into .gguf outputs")
        }
        if let d = options.dtype, d.isQuantized, format != .gguf {
            throw WeightKitError("--dtype \(d.rawValue): quantized types go only into .gguf outputs (\(format.rawValue) holds f32, f16, bf16)")
        }
        // Recognise the model unless asked to keep names.
        var graph: ModelGraph?
        if options.naming != .keep {
            if ModelLayouts.detect(c) != nil || options.naming != nil {
                graph = try ModelLayouts.graph(for: c)
            } else {
                do { graph = try ModelLayouts.graph(for: c) } catch { graph = nil }
            }
        }
        for w in graph?.warnings ?? [] { writeStandardError("weightkit: warning: \(c.path): \(w)\n") }
        let naming = options.naming ?? (graph == nil ? .keep : (format == .gguf ? .gguf : .hf))
        var plan: ConvertPlan
        if let graph, naming != .keep {
            plan = try mapped(c, graph: graph, naming: naming, format: format, options: options)
        } else {
            plan = try kept(c, format: format, options: options)
        }
        if let mixture = options.mixture { try plan.applyMixture(mixture, options: options, format: format, path: c.path) }
        for s in options.settings {
            let (key, value, raw) = try ConvertOptions.parseSetting(s)
            plan.metadata[key] = value
            if let i = plan.stringMetadata.firstIndex(where: { $0.0 == key }) { plan.stringMetadata[i].1 = raw } else { plan.stringMetadata.append((key, raw)) }
        }
        return plan
    }

    /// `--naming keep`: every tensor as it is, input metadata carried over.
    static func kept(_ c: Checkpoint, format: ConvertOutputFormat, options: ConvertOptions) throws -> ConvertPlan {
        let recipes = c.entries.map { e in
            TensorRecipe(name: e.name, source: e, shape: e.shape, transpose: false, rowMap: nil,
                         dtype: dtype(name: e.name, shape: e.shape, source: e.dtype, requested: options.dtype, format: format))
        }
        var metadata = c.metadata
        if format == .gguf, recipes.contains(where: { $0.dtype.isQuantized }), metadata["general.quantization_version"] == nil {
            metadata["general.quantization_version"] = .uint32(2)
        }
        return ConvertPlan(naming: .keep, recipes: recipes, metadata: metadata, stringMetadata: stringPairs(c.metadata), config: c.config)
    }

    /// Scalar metadata as strings (safetensors holds only strings; arrays are left out).
    static func stringPairs(_ m: Metadata) -> [(String, String)] {
        m.entries.compactMap { e in
            switch e.value {
            case .array: return nil
            case .string(let s): return (e.key, s)
            default: return (e.key, e.value.json.serialized())
            }
        }
    }

    /// HF or GGUF naming from the canonical graph.
    static func mapped(_ c: Checkpoint, graph: ModelGraph, naming: ConvertNaming, format: ConvertOutputFormat, options: ConvertOptions) throws
        -> ConvertPlan
    {
        let cfg = graph.config
        let layout = ModelLayouts.layout(for: cfg.architecture)
        let toGGUF = naming == .gguf
        let table = layout.writeNaming(toGGUF ? .gguf : .hf)
        var recipes = [TensorRecipe]()
        for (canonical, shape) in GraphBuilder.requiredWeights(for: cfg) {
            if canonical == "head.weight" && cfg.tiedHead { continue }
            guard let bound = graph.weights[canonical] else { throw WeightKitError("\(c.path): canonical weight \(canonical) is not bound") }
            guard let target = table.source(canonical, config: cfg) else {
                throw WeightKitError("\(c.path): \(canonical) has no \(toGGUF ? "GGUF" : "HF") name")
            }
            func interleaved(_ t: WeightTransform) -> Int? { if case .interleavedRows(let h) = t { return h } else { return nil } }
            let heads = interleaved(bound.transform) ?? interleaved(target.transform)
            if let heads, (interleaved(bound.transform) == nil) != (interleaved(target.transform) == nil) {
                if let rope = cfg.rope, rope.rotaryDim != cfg.headDim {
                    throw WeightKitError("\(c.path): partial rotary (\(rope.rotaryDim) of \(cfg.headDim) dims) Q/K rows cannot be reordered between half-split and interleaved")
                }
                guard QKOrder.permutable(rows: shape[0], heads: heads) else {
                    throw WeightKitError("\(c.path): \(canonical) has \(shape[0]) rows, not \(heads) heads of an even size")
                }
            }
            let steps = try Canonicalization.steps(from: bound.transform, to: target.transform, shape: shape)
            let outShape = target.transposed ? [shape[1], shape[0]] : shape
            // TF biases stored [1, n] bind to [n]: the bytes are the same.
            let dt = dtype(name: target.name, shape: outShape, source: bound.source.dtype, requested: options.dtype, format: format)
            recipes.append(TensorRecipe(name: target.name, source: bound.source, shape: outShape, transpose: steps.transpose, rowMap: steps.rowMap, dtype: dt))
        }

        var metadata = Metadata()
        var config: JSONValue?
        var stringMetadata: [(String, String)] = []
        if toGGUF {
            // Extra tensors (rope_freqs) first, as convert_hf_to_gguf's generate_extra_tensors emits them.
            for t in try layout.extraGGUFTensors(cfg).reversed() {
                recipes.insert(TensorRecipe(name: t.name, source: TensorEntry(t), shape: t.shape, transpose: false, rowMap: nil, dtype: .f32), at: 0)
            }
            let arch = layout.ggufArchitecture(cfg)
            metadata["general.architecture"] = .string(arch)
            metadata["general.name"] = .string(modelName(c))
            for e in try ConvertConfig.ggufKeys(cfg, metadata: c.metadata, source: c.path) { metadata[e.key] = e.value }
            if let ft = fileType(recipes) { metadata["general.file_type"] = .uint32(ft) }
            if recipes.contains(where: { $0.dtype.isQuantized }) { metadata["general.quantization_version"] = .uint32(2) }
            // From a GGUF input: the rest of its keys (tokenizer, general.*) carried over.
            if c.format == .gguf {
                let regenerated: Set<String> = ["general.alignment", "general.file_type", "general.quantization_version"]
                for e in c.metadata.entries where metadata[e.key] == nil && !regenerated.contains(e.key) {
                    if e.key.hasPrefix(arch + ".") && !e.key.hasPrefix("llama.rope.llama3.") { continue }
                    metadata[e.key] = e.value
                }
            }
        } else {
            stringMetadata = [("format", "pt")]
            let dtypes = Set(recipes.filter { $0.shape.count == 2 }.map(\.dtype))
            let label = dtypes.count == 1 ? torchName(dtypes.first!) : "float32"
            if let json = c.config, c.format != .gguf {
                config = json
            } else {
                config = try ConvertConfig.hfConfig(cfg, metadata: c.metadata, dtype: label, source: c.path)
            }
            // The file carries its resolved config too (Checkpoint.configMetadataKey), written from
            // the resolved config alone (no tokenizer ids), so the same model gives the same bytes
            // whichever format it came from. A config that config.json cannot spell goes in as given.
            // A directory's model.safetensors carries it as well, so it is the same file as a single
            // output and still knows its model when copied out (the directory's config.json governs).
            let own = (try? ConvertConfig.hfConfig(cfg, metadata: ConvertConfig.ropeSubset(c.metadata), dtype: label, source: c.path)) ?? config
            if let own {
                stringMetadata.append((Checkpoint.configMetadataKey, own.serialized()))
                metadata[Checkpoint.configMetadataKey] = .string(own.serialized())
            }
        }
        var plan = ConvertPlan(naming: naming, recipes: recipes, metadata: metadata, stringMetadata: stringMetadata, config: config)
        plan.modelConfig = cfg
        return plan
    }

    /// torch's name for a dtype in config.json.
    static func torchName(_ d: DType) -> String {
        switch d {
        case .f16: return "float16"
        case .bf16: return "bfloat16"
        default: return "float32"
        }
    }

    /// `general.name`: the input GGUF's, else config.json's `_name_or_path`, else the model's
    /// directory (or file) name.
    static func modelName(_ c: Checkpoint) -> String {
        if let n = c.metadata["general.name"]?.string, !n.isEmpty { return n }
        if let n = c.config?["_name_or_path"]?.string, !n.isEmpty { return n }
        let url = URL(fileURLWithPath: c.path)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: c.path, isDirectory: &isDir), isDir.boolValue { return url.lastPathComponent }
        let parent = url.deletingLastPathComponent().lastPathComponent
        return parent.isEmpty || parent == "." ? url.deletingPathExtension().lastPathComponent : parent
    }
}
