// convert --dtype MIXTURE end to end: the small models of Fixtures/kquants/record_mixtures.py are
// written here by gguf-py (random f32 weights), converted by weightkit, read back by gguf-py, and every
// tensor's type must be the one llama-quantize chose (recorded in Fixtures/kquants/mixtures.json).
// The K-quant bytes themselves are checked block by block against llama.cpp's in the TensorCore tests.
import Foundation
import TestSupport
import Testing
import WeightKit

@Suite("convert with llama-quantize mixtures")
struct MixtureCLITests {
    /// Two of the recorded models (GPT-2's fused QKV with the tied-embedding rule; a LLaMA whose rows
    /// are not whole 256-blocks, so every fallback) keep the debug build's K-quant encoding short; the
    /// rules for all four models and all mixtures are checked in QuantMixtureTests.
    @Test(arguments: [("q4_k_m", "gpt2-256,llama-96"), ("q2_k", "llama-96"), ("q6_k", "llama-96")])
    func typesAsLlamaQuantize(_ mixture: String, _ models: String) throws {
        let dir = RepoPaths.temporaryDirectory("mix")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = try Python.check("""
            import json, sys, subprocess
            import numpy as np, gguf
            sys.path.insert(0, sys.argv[1])
            import record_mixtures as rm
            rec = {m['name']: m for m in json.load(open(sys.argv[1] + '/mixtures.json'))['models']}
            rng = np.random.default_rng(11)
            bad = []
            for spec in [m for m in rm.MODELS if m[0] in sys.argv[5].split(',')]:
                src = sys.argv[2] + '/' + spec[0] + '.gguf'
                rm.write_model(src, spec, rng)
                dst = sys.argv[2] + '/' + spec[0] + '-q.gguf'
                p = subprocess.run([sys.argv[3], 'convert', src, dst, '--dtype', sys.argv[4], '--json'], capture_output=True, text=True)
                if p.returncode != 0:
                    bad.append(spec[0] + ': ' + p.stderr.strip()); continue
                r = gguf.GGUFReader(dst)
                got = {t.name: t.tensor_type.name.lower() for t in r.tensors}
                want = dict(zip([t['name'] for t in rec[spec[0]]['tensors']], rec[spec[0]]['mixtures'][sys.argv[4]]['types']))
                diff = [f'{n}: {got.get(n)} vs {w}' for n, w in want.items() if got.get(n) != w]
                if diff or set(got) != set(want): bad.append(spec[0] + ': ' + '; '.join(diff[:4]))
                ft = int(r.fields['general.file_type'].parts[-1][0])
                if ft != rec[spec[0]]['mixtures'][sys.argv[4]]['file_type']: bad.append(spec[0] + f': file_type {ft}')
            print(json.dumps(bad))
            """, [RepoPaths.fixtures("kquants"), dir, CLITests.binary, mixture, models])
        let bad = try JSONParser.parse(out).array?.compactMap(\.string) ?? ["unreadable output"]
        #expect(bad.isEmpty, "\(mixture): \(bad)")
    }

    @Test func badArguments() throws {
        let m = Fixtures.path("llama-gqa")
        let dir = RepoPaths.temporaryDirectory("mix")
        for (args, message) in [
            (["--dtype", "q4_k_x"], "--dtype must be one of"),
            (["--dtype", "q4_k_m", "--tensor-type", "attn_v=q9_9"], "--tensor-type takes PATTERN=TYPE"),
            (["--dtype", "q8_0", "--imatrix", "x.dat"], "--tensor-type and --imatrix go with a mixture"),
        ] {
            let r = try Subprocess.run([CLITests.binary, "convert", m, dir + "/o.gguf"] + args)
            #expect(r.status != 0, "\(args)")
            #expect(r.stderr.contains(message), "\(args): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/o.gguf"))
        }
    }
}
