// Mixture rules against what llama-quantize itself chose for four small models (GPT-2, LLaMA with
// GQA 4, tied LLaMA, and a LLaMA whose rows are not multiples of 256), recorded by
// Fixtures/kquants/record_mixtures.py: every tensor's type and general.file_type, per mixture.
import Foundation
import TensorCore
import TestSupport
import Testing
import WeightKit

@Suite struct QuantMixtureTests {
    static let recorded: JSONValue = {
        let text = try! String(contentsOfFile: RepoPaths.fixtures("kquants/mixtures.json"), encoding: .utf8)
        return try! JSONParser.parse(text)
    }()

    @Test(arguments: QuantMixture.allCases)
    func sameTypesAsLlamaQuantize(_ mixture: QuantMixture) throws {
        let models = try #require(Self.recorded["models"]?.array)
        #expect(models.count == 4)
        for m in models {
            let name = m["name"]?.string ?? "?"
            let rec = try #require(m["mixtures"]?[mixture.rawValue], "\(name) has no \(mixture.rawValue)")
            let tensors = (m["tensors"]?.array ?? []).map { t in
                (name: t["name"]!.string!, shape: t["shape"]!.array!.compactMap(\.int), unquantized: DType.f32)
            }
            let planner = MixturePlanner(
                mixture: mixture, architecture: m["arch"]!.string!, heads: m["heads"]!.int!, kvHeads: m["kv_heads"]!.int!,
                layers: m["layers"]!.int!)
            let got = planner.types(tensors).map(\.rawValue)
            let expected = rec["types"]?.array?.compactMap(\.string) ?? []
            let differing = zip(tensors, zip(got, expected)).filter { $1.0 != $1.1 }.map { "\($0.name): \($1.0) vs llama-quantize \($1.1)" }
            #expect(got.count == expected.count && differing.isEmpty, "\(name) \(mixture.rawValue): \(differing.prefix(6))")
            #expect(rec["file_type"]?.int == Int(mixture.fileType), "\(name) \(mixture.rawValue) file_type")
        }
    }

    @Test func overridesReplaceTheRulesButNotTheFallback() {
        let t: [(name: String, shape: [Int], unquantized: DType)] = [
            ("blk.0.attn_v.weight", [256, 256], .f32), ("blk.0.ffn_down.weight", [96, 96], .f32), ("blk.0.attn_norm.weight", [256], .f32),
        ]
        let p = MixturePlanner(mixture: .q4_k_m, architecture: "llama", heads: 4, kvHeads: 4, layers: 1,
                               overrides: [(#"attn_v"#, .q8_0), ("ffn_down", .q6_k)])
        #expect(p.types(t) == [.q8_0, .q8_0, .f32])
    }
}
