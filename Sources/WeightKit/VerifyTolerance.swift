// The tolerance verify compares with, chosen from the weights of the model under test and the dtype the
// reference was computed in (Formats/reference-activations.md, "Default tolerances", derives the numbers).
//
//   |got − ref| ≤ atol + rtol·|ref| + s·√depth·rms(ref)
//
// rms(ref) is the root mean square of the whole reference tensor; depth counts blocks from the input
// (hidden_states.i: i, attentions.i: i + 1, logits: layers + 1; at least 1).

import Foundation

/// What `verify` accepts as equal, and why.
public struct VerifyTolerance: Sendable, Equatable {
    /// Absolute part.
    public var atol: Float
    /// Relative part, times |ref| of the element.
    public var rtol: Float
    /// s: the scale part is s·√depth·rms(ref) per tensor; 0 for none.
    public var scale: Float
    /// The model's matrix dtypes, as the weights are stored ("f32", "bf16", "q4_k+q6_k").
    public var weights: String
    /// The dtype the reference was computed in ("float32" unless its metadata says otherwise).
    public var referenceCompute: String
    /// True when --atol/--rtol chose it instead of the defaults.
    public var overridden: Bool
    /// One phrase: why these numbers.
    public var reason: String

    /// float32's unit roundoff, 2⁻²⁴.
    static let u32: Float = 0x1p-24

    /// The scale allowed for a tensor: s·√depth·rms.
    public func scaleTerm(depth: Int, rms: Float) -> Float {
        scale == 0 ? 0 : scale * Float(max(depth, 1)).squareRoot() * rms
    }

    /// The tolerance given on the command line: exactly |got − ref| ≤ atol + rtol·|ref|, no scale part.
    public static func explicit(atol: Float, rtol: Float, weights: String = "", referenceCompute: String = "float32") -> VerifyTolerance {
        VerifyTolerance(atol: atol, rtol: rtol, scale: 0, weights: weights, referenceCompute: referenceCompute, overridden: true,
                        reason: "given by --atol/--rtol")
    }

    /// The default for a model whose matrices are stored in `weightDTypes`, against a reference computed in
    /// `referenceCompute`, with inner (dot-product) length up to `inner`.
    ///
    /// - float32 weights, float32 reference: atol = rtol = 1e-4, nothing else (as verify always did).
    /// - any other stored dtype (f16, bf16, q8_0 … q6_k), float32 reference made from the same weights
    ///   dequantized: both sides compute in float32 from the same values; only the order of the sums
    ///   differs. Adds s = 8·2⁻²⁴·√inner.
    /// - a reference computed in bfloat16 (float16): its own rounding, 2⁻⁸ (2⁻¹¹) per operation, compounding
    ///   with depth. Adds s = 32·u.
    /// - `eightBit`: dtypes whose products round their activations to int8 in this run (one-token
    ///   references of q8_0/q4_0/q4_1/q5_0/q5_1 weights; ``ActivationRounding``). Adds s = 48·2⁻⁸.
    public static func defaults(weightDTypes: Set<DType>, referenceCompute: String, inner: Int, eightBit: Set<DType> = []) -> VerifyTolerance {
        let names = weightDTypes.map(\.rawValue).sorted().joined(separator: "+")
        let float32Only = weightDTypes.allSatisfy { $0 == .f32 || $0 == .f64 }
        var t = VerifyTolerance(atol: 1e-4, rtol: 1e-4, scale: 0, weights: names.isEmpty ? "f32" : names,
                                referenceCompute: referenceCompute, overridden: false, reason: "")
        let reorder = 8 * u32 * Float(max(inner, 1)).squareRoot()
        switch referenceCompute {
        case "bfloat16", "float16":
            let u: Float = referenceCompute == "bfloat16" ? 0x1p-8 : 0x1p-11
            t.scale = 32 * u + reorder
            t.reason = "its own rounding (u = 2^\(referenceCompute == "bfloat16" ? -8 : -11)) compounds with depth"
        default:
            if float32Only {
                t.reason = "float32 weights and float32 reference: float32 arithmetic on both sides"
            } else {
                t.scale = reorder
                t.reason = "\(t.weights) weights run as stored: float32 arithmetic on the same decoded values as the reference, sums in another order"
            }
        }
        if !eightBit.isEmpty {
            let names = eightBit.map(\.rawValue).sorted().joined(separator: "+")
            t.scale += 48 * 0x1p-8
            t.reason += "; one-token products round activations to int8 per block of 32 (\(names); WEIGHTKIT_F32_ACTIVATIONS=1 keeps float32)"
        }
        return t
    }

    /// The compute dtype a reference records in its metadata (`dtype`), float32 when it says nothing.
    ///
    /// - Throws: when `dtype` names something else than float32, bfloat16 or float16.
    public static func referenceCompute(_ reference: ReferenceFile) throws -> String {
        guard let raw = reference.metadata["dtype"]?.string else { return "float32" }
        switch raw.lowercased() {
        case "float32", "f32", "torch.float32": return "float32"
        case "bfloat16", "bf16", "torch.bfloat16": return "bfloat16"
        case "float16", "f16", "half", "torch.float16": return "float16"
        default:
            throw WeightKitError("\(reference.path): metadata dtype '\(raw.prefix(40))' is not float32, bfloat16 or float16 (the dtype the reference was computed in)")
        }
    }

    /// The default for `model` against `reference`.
    public static func defaults(model: LoadedModel, reference: ReferenceFile) throws -> VerifyTolerance {
        let c = model.graph.config
        let dtypes = matrixDTypes(model)
        let rows = reference.inputIDs.map(\.count).max() ?? 0
        return defaults(weightDTypes: dtypes, referenceCompute: try referenceCompute(reference),
                        inner: max(c.hiddenSize, c.intermediateSize, c.heads * c.headDim),
                        eightBit: dtypes.filter { ActivationRounding.eightBit($0, rows: rows) })
    }

    /// The dtypes the model's matrices (2-D weights) are stored in.
    public static func matrixDTypes(_ model: LoadedModel) -> Set<DType> {
        Set(model.graph.weights.values.filter { $0.shape.count == 2 }.map(\.source.dtype))
    }

    /// Depth of a reference tensor: hidden_states.i → i, attentions.i → i + 1, logits → layers + 1.
    public static func depth(of name: String, layers: Int) -> Int {
        if name == "logits" { return layers + 1 }
        if name.hasPrefix("attentions."), let i = Int(name.dropFirst("attentions.".count)) { return i + 1 }
        if name.hasPrefix("hidden_states."), let i = Int(name.dropFirst("hidden_states.".count)) { return i }
        return layers + 1
    }

    /// One line for verify's header.
    public var summary: String {
        var s = "atol \(Self.short(atol)), rtol \(Self.short(rtol))"
        if scale > 0 { s += ", + \(Self.short(scale))·√depth·rms(ref)" }
        if overridden { return s + " (given by --atol/--rtol; overrides the default)" }
        return s + " (default for \(weights) weights, reference computed in \(referenceCompute): \(reason))"
    }

    static func short(_ x: Float) -> String { x == 0 ? "0" : String(format: "%.3g", x) }
}
