// A llama-quantize mixture applied to a GGUF conversion plan: each tensor's type from the mixture's
// rules (QuantMixture.swift), importance weights from an imatrix, general.file_type and the imatrix's
// provenance keys as llama-quantize writes them, and a note for every tensor whose row length made it
// take another type than the rules chose.

import Foundation
import TensorCore

extension ConvertPlan {
    mutating func applyMixture(_ mixture: QuantMixture, options: ConvertOptions, format: ConvertOutputFormat, path: String) throws {
        let arch = metadata["general.architecture"]?.string ?? ""
        let heads = metadata["\(arch).attention.head_count"]?.int ?? 1
        let kvHeads = metadata["\(arch).attention.head_count_kv"]?.int ?? heads
        let layers = metadata["\(arch).block_count"]?.int ?? recipes.filter { $0.name.hasSuffix("ffn_down.weight") }.count
        let imatrix = try options.imatrix.map(ImportanceMatrix.load)
        let planner = MixturePlanner(
            mixture: mixture, architecture: arch, heads: heads, kvHeads: kvHeads, layers: layers, overrides: options.tensorTypes,
            hasImatrix: imatrix != nil)
        // Tensors that are not quantized keep their float type (a quantized source is dequantized).
        let castable = recipes.map { $0.source.dtype.isFloat || $0.source.dtype.isQuantized }
        let unquantized = recipes.map { $0.source.dtype.isQuantized ? DType.f32 : $0.source.dtype }
        let types = planner.types(recipes.indices.map { (recipes[$0].name, recipes[$0].shape, unquantized[$0]) })
        // The same choice with every row a whole number of 256-element blocks: where it differs, the
        // row length decided (a fallback, or the Q8_0 output rule).
        let padded = planner.types(recipes.indices.map { i in
            var s = recipes[i].shape
            if let last = s.last { s[s.count - 1] = (last + 255) / 256 * 256 }
            return (recipes[i].name, s, unquantized[i])
        })
        for i in recipes.indices where castable[i] {
            recipes[i].dtype = types[i]
            // Vectors (norms, biases) are f32, as convert_hf_to_gguf writes them and --dtype q8_0 does here:
            // ggml's CPU ops take no bf16 norm weight (llama-bench aborted on a q4_k_m made from bf16
            // safetensors: "binary_op: unsupported types: dst: f32, src0: f32, src1: bf16").
            if !types[i].isQuantized, recipes[i].shape.count < 2 { recipes[i].dtype = .f32 }
            if types[i] != padded[i] {
                notes.append("\(recipes[i].name): rows of \(recipes[i].shape.last ?? 0) are not whole \(padded[i].rawValue) blocks; \(types[i].rawValue) instead")
            }
            guard let imatrix, types[i].isQuantized,
                let w = try imatrix.weights(for: recipes[i].name, columns: recipes[i].shape.last ?? 0)
            else { continue }
            if types[i].codec?.takesImportance == true {
                recipes[i].importance = w
            } else {
                // llama.cpp also weighs the legacy types' rounding; WeightKit does not (yet), so these bytes differ.
                notes.append("\(recipes[i].name): \(types[i].rawValue) is quantized without the importance matrix (WeightKit weighs only the K-quants)")
            }
        }
        metadata["general.file_type"] = .uint32(mixture.fileType)
        metadata["general.quantization_version"] = .uint32(2)
        if let imatrix {
            for e in imatrix.provenance { metadata[e.key] = e.value }
            let named = recipes.filter { $0.dtype.isQuantized && imatrix.entries[$0.name] != nil }.count
            if named == 0 {
                throw WeightKitError("\(imatrix.path): the importance matrix names none of the tensors of \(path) (\(imatrix.entries.keys.sorted().prefix(3).joined(separator: ", ")), …): an imatrix for another model?")
            }
        }
    }
}
