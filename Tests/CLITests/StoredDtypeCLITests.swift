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
        // Eight tokens (panels of decoded rows into sgemm) and one token (fused decode-and-dot GEMV, with
        // float32 activations: WEIGHTKIT_F32_ACTIVATIONS=1; the 8-bit ones are checked in StoredKernelTests).
        // The order of the float32 sums differs from the widened run; logits are O(5), rows ≤ 1024 long:
        // float32 reordering stays near 1e-6 (1.4e-6 seen), 1e-5 is the bound used.
        var env = ProcessInfo.processInfo.environment
        env["WEIGHTKIT_F32_ACTIVATIONS"] = "1"
        for tokens in ["1,2,3,4,5,6,7,8", "5"] {
            var dumps = [String]()
            for (i, model) in [q, f].enumerated() {
                let out = dir + "/acts\(i).safetensors"
                let run = try Subprocess.run([CLITests.binary, "run", model, "--tokens", tokens, "--dump", out], environment: env)
                #expect(run.status == 0, "\(run.stderr)")
                dumps.append(out)
            }
            let d = try Subprocess.run([CLITests.binary, "diff", dumps[0], dumps[1], "--atol", "1e-5"])
            #expect(d.status == 0, "\(convertArgs) tokens \(tokens): \(d.stdout)")
        }
    }
}

@Suite("refusals before anything runs")
struct RunRefusalCLITests {
    @Test("a weight in a dtype the executor cannot read is refused by name, exit 2, nothing on stdout")
    func unsupportedDtype() throws {
        let dir = RepoPaths.temporaryDirectory("iq")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let f32 = dir + "/f32.gguf", iq = dir + "/iq.gguf"
        let r = try Subprocess.run([CLITests.binary, "convert", Fixtures.path("gpt2-trained"), f32])
        #expect(r.status == 0, "\(r.stderr)")
        // gguf-py rewrites the file with blk.0.ffn_down.weight ([64, 256]) as IQ2_XS bytes (74 per 256).
        _ = try Python.check("""
            import sys, numpy as np, gguf
            r = gguf.GGUFReader(sys.argv[1])
            w = gguf.GGUFWriter(sys.argv[2], r.fields['general.architecture'].contents())
            for name, f in r.fields.items():
                if name.startswith('GGUF.') or name == 'general.architecture': continue
                t = f.types[0]
                if t == gguf.GGUFValueType.ARRAY: w.add_key_value(name, f.contents(), t, sub_type=f.types[-1])
                else: w.add_key_value(name, f.contents(), t)
            for t in r.tensors:
                if t.name == 'blk.0.ffn_down.weight':
                    raw = np.random.default_rng(0).integers(0, 256, size=(64, 74), dtype=np.uint8)
                    w.add_tensor(t.name, raw, raw_dtype=gguf.GGMLQuantizationType.IQ2_XS)  # byte shape [64, 74]
                else:
                    w.add_tensor(t.name, np.asarray(t.data))
            w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
            """, [f32, iq])
        for args in [["run", iq, "--tokens", "1,2,3"], ["bench", iq, "--tokens", "4", "--runs", "1"]] {
            let p = try Subprocess.run([CLITests.binary] + args)
            #expect(p.status == 2, "\(args[0]): \(p.stderr)")
            #expect(p.stderr == "weightkit: IQ2_XS weights cannot be run yet: blk.0.ffn_down.weight\n", "\(args[0])")
            #expect(p.stdout.isEmpty, "\(args[0]): \(p.stdout)")
        }
        let i = try Subprocess.run([CLITests.binary, "inspect", iq])
        #expect(i.status == 0)
        #expect(i.stdout.contains("cannot run: IQ2_XS weights cannot be run yet: blk.0.ffn_down.weight"))
    }

    @Test("a working set larger than the available memory is refused up front with the numbers")
    func memory() throws {
        var env = ProcessInfo.processInfo.environment
        env["WEIGHTKIT_MEMORY_BYTES"] = "100000"
        env["WEIGHTKIT_WIDEN"] = "1"  // every Q8_0 matrix widened: owned memory
        let p = try Subprocess.run([CLITests.binary, "run", Fixtures.path("gpt2-tiny", "model-q8_0.gguf"), "--tokens", "1,2,3"], environment: env)
        #expect(p.status == 2, "\(p.stderr)")
        #expect(p.stdout.isEmpty)
        #expect(p.stderr.hasPrefix("weightkit: the model needs "), "\(p.stderr)")
        #expect(p.stderr.hasSuffix(" of KV cache per token), 97.7 KiB available\n"), "\(p.stderr)")
        env["WEIGHTKIT_MEMORY_BYTES"] = String(1 << 30)
        let ok = try Subprocess.run([CLITests.binary, "run", Fixtures.path("gpt2-tiny", "model-q8_0.gguf"), "--tokens", "1,2,3"], environment: env)
        #expect(ok.status == 0, "\(ok.stderr)")
    }
}
