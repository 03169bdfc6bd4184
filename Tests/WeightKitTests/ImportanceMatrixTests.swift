// Importance matrices in both of llama.cpp's formats, written by gguf-py and by Python's struct (not by
// WeightKit), normalised as llama-quantize normalises them (numpy computes the expected values).
import Foundation
import TestSupport
import Testing
import WeightKit

@Suite struct ImportanceMatrixTests {
    /// Writes imatrix.gguf and imatrix.dat into `dir` and prints the expected importances as JSON.
    static let writer = """
        import json, struct, sys
        import numpy as np, gguf
        d = sys.argv[1]
        rng = np.random.default_rng(7)
        entries = {'blk.0.attn_q.weight': (rng.random((1, 64)) * 10, np.array([[12.4]])),
                   'blk.0.ffn_down.weight': (rng.random((2, 32)) * 3, np.array([[0.0], [5.0]]))}
        w = gguf.GGUFWriter(d + '/imatrix.gguf', 'llama')
        w.add_string('general.type', 'imatrix')
        w.add_array('imatrix.datasets', ['calibration.txt'])
        w.add_uint32('imatrix.chunk_count', 17)
        w.add_uint32('imatrix.chunk_size', 512)
        expected = {}
        for name, (s, c) in entries.items():
            w.add_tensor(name + '.in_sum2', s.astype(np.float32))
            w.add_tensor(name + '.counts', c.astype(np.float32).reshape(-1, 1))
            s32 = s.astype(np.float32); cnt = np.array([round(float(x)) for x in c.reshape(-1)], dtype=np.float32)
            expected[name] = [float(s32[m, i] / cnt[m]) if cnt[m] > 0 else 1.0 for m in range(s32.shape[0]) for i in range(s32.shape[1])]
        w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
        legacy = {'blk.1.attn_v.weight': (rng.random(48).astype(np.float32) * 4, 6)}
        with open(d + '/imatrix.dat', 'wb') as f:
            f.write(struct.pack('<i', len(legacy)))
            for name, (v, ncall) in legacy.items():
                b = name.encode(); f.write(struct.pack('<i', len(b)) + b + struct.pack('<ii', ncall, len(v))); f.write(v.tobytes())
                expected['legacy:' + name] = [float(x) for x in (v / np.float32(ncall)).astype(np.float32)]
            f.write(struct.pack('<i', 9)); ds = b'wiki.train'; f.write(struct.pack('<i', len(ds)) + ds)
        print(json.dumps(expected))
        """

    @Test func bothFormatsAsLlamaQuantizeReadsThem() throws {
        let dir = RepoPaths.temporaryDirectory("imatrix")
        let expected = try JSONParser.parse(try Python.check(Self.writer, [dir]))
        let g = try ImportanceMatrix.load(dir + "/imatrix.gguf")
        #expect(!g.isLegacy && g.datasets == ["calibration.txt"] && g.chunkCount == 17 && g.entries.count == 2)
        for name in ["blk.0.attn_q.weight", "blk.0.ffn_down.weight"] {
            let want = expected[name]?.array?.compactMap(\.double).map(Float.init) ?? []
            #expect(g.entries[name] == want, "\(name)")
        }
        // A count of 0 gives importance 1, as llama-quantize does.
        #expect(g.entries["blk.0.ffn_down.weight"]?.prefix(32).allSatisfy { $0 == 1 } == true)
        let l = try ImportanceMatrix.load(dir + "/imatrix.dat")
        #expect(l.isLegacy && l.datasets == ["wiki.train"] && l.chunkCount == 9)
        #expect(l.entries["blk.1.attn_v.weight"] == expected["legacy:blk.1.attn_v.weight"]?.array?.compactMap(\.double).map(Float.init))
        #expect(l.provenance.map(\.key) == ["quantize.imatrix.file", "quantize.imatrix.dataset", "quantize.imatrix.entries_count", "quantize.imatrix.chunks_count"])
        #expect(try g.weights(for: "blk.0.attn_q.weight", columns: 64)?.count == 64)
        #expect(try g.weights(for: "blk.9.attn_q.weight", columns: 64) == nil)
        #expect(throws: WeightKitError.self) { try g.weights(for: "blk.0.attn_q.weight", columns: 128) }
    }

    @Test("an imatrix for another model stops the conversion, nothing written")
    func otherModel() throws {
        let dir = RepoPaths.temporaryDirectory("imatrix")
        _ = try Python.check(Self.writer, [dir])
        // gpt2-tiny's tensors are named blk.N.attn_qkv …; the imatrix names attn_q, ffn_down, attn_v of LLaMA.
        #expect(throws: WeightKitError.self) {
            var o = ConvertOptions()
            o.mixture = .q4_k_m
            o.imatrix = dir + "/imatrix.gguf"
            _ = try Converter.convert(Fixtures.path("gpt2-untied"), to: dir + "/out.gguf", options: o)
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.gguf"))
    }

    @Test("malformed legacy files are refused with the byte where they go wrong", arguments: [
        ([0, 0, 0, 0], "entry count 0 at byte 4"),
        ([0xFF, 0xFF, 0xFF, 0x7F, 1, 0, 0, 0], "entry count 2147483647 is more than the file can hold at byte 4"),
        ([1, 0, 0, 0, 0xF0, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "entry 1: name length 2147483632 at byte 8"),
        ([1, 0, 0, 0, 1, 0, 0, 0, 0x61, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x0F, 0, 0, 0, 0], "entry 1 ('a'): 268435455 values at byte 17"),
        ([1, 0, 0, 0, 1, 0, 0, 0, 0x61, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0xC0, 0x7F], "the importance of 'a' holds a non-finite value"),
    ] as [([UInt8], String)])
    func hostileLegacy(_ bytes: [UInt8], _ message: String) throws {
        let path = RepoPaths.temporaryDirectory("imatrix") + "/bad.dat"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let e = #expect(throws: WeightKitError.self) { try ImportanceMatrix.load(path) }
        #expect(e?.description.contains(message) == true, "\(e?.description ?? "")")
        #expect(e?.description.hasPrefix(path + ": ") == true)
    }
}
