// The executor on K-quant GGUFs, weights kept as stored, against the reference computation: the same
// model with every weight dequantized to float32 (by weightkit convert --dtype f32, whose values are
// checked here against gguf-py's dequantizer, bit for bit) and run in float32.
import Foundation
import TestSupport
import Testing
import WeightKit

@Suite("run K-quant GGUFs as stored")
struct StoredDtypeCLITests {
    /// gpt2-trained's ffn_down rows are 256 wide (one K-quant block); the other matrices fall back to
    /// 32-blocks, so each case also mixes K-quant and legacy kernels in one model.
    @Test(arguments: [
        (["--dtype", "q4_k_m"], ["Q4_K", "Q6_K"]),
        (["--dtype", "q5_k_m"], ["Q5_K", "Q6_K"]),
        (["--dtype", "q2_k"], ["Q3_K"]),
        (["--dtype", "q2_k", "--tensor-type", "ffn_down=q2_k"], ["Q2_K"]),
    ])
    func matchesDequantized(_ convertArgs: [String], _ kinds: [String]) throws {
        let dir = RepoPaths.temporaryDirectory("kq")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let q = dir + "/q.gguf", f = dir + "/f32.gguf"
        var r = try Subprocess.run([CLITests.binary, "convert", Fixtures.path("gpt2-trained"), q] + convertArgs)
        #expect(r.status == 0, "\(r.stderr)")
        r = try Subprocess.run([CLITests.binary, "convert", q, f, "--dtype", "f32"])
        #expect(r.status == 0, "\(r.stderr)")
        let check = try Python.check("""
            import sys, json, numpy as np, gguf
            q, f = gguf.GGUFReader(sys.argv[1]), gguf.GGUFReader(sys.argv[2])
            ft = {t.name: t for t in f.tensors}
            bad = [t.name for t in q.tensors
                   if not np.array_equal(gguf.quants.dequantize(t.data, t.tensor_type).ravel().view(np.uint32),
                                         np.asarray(ft[t.name].data, dtype=np.float32).ravel().view(np.uint32))]
            print(json.dumps({'kinds': sorted({t.tensor_type.name for t in q.tensors}), 'bad': bad}))
            """, [q, f])
        let j = try JSONParser.parse(check)
        let found = j["kinds"]?.array?.compactMap(\.string) ?? []
        for k in kinds { #expect(found.contains(k), "\(convertArgs): no \(k) tensor in \(found)") }
        #expect(j["bad"]?.array?.isEmpty == true, "dequantized values differ from gguf-py's: \(check)")
        // Eight tokens (panels of decoded rows into sgemm) and one token (fused decode-and-dot GEMV). The
        // order of the float32 sums differs from the widened run; logits are O(5), rows ≤ 1024 long:
        // float32 reordering stays near 1e-6 (1.4e-6 seen), 1e-5 is the bound used.
        for tokens in ["1,2,3,4,5,6,7,8", "5"] {
            var dumps = [String]()
            for (i, model) in [q, f].enumerated() {
                let out = dir + "/acts\(i).safetensors"
                let run = try Subprocess.run([CLITests.binary, "run", model, "--tokens", tokens, "--dump", out])
                #expect(run.status == 0, "\(run.stderr)")
                dumps.append(out)
            }
            let d = try Subprocess.run([CLITests.binary, "diff", dumps[0], dumps[1], "--atol", "1e-5"])
            #expect(d.status == 0, "\(convertArgs) tokens \(tokens): \(d.stdout)")
        }
    }
}
