import Foundation
import Testing
import TestSupport
@testable import Checkpoints
@testable import TensorCore

/// Model directories and sharded indexes, with shards written by the Python safetensors package.
@Suite("model directories and sharded checkpoints")
struct DirectoryAndShardTests {
    /// Splits gpt2-tiny's model.safetensors into two shards plus an index, as transformers names them.
    func sharded(mutateIndex: String = "") throws -> String {
        let dir = RepoPaths.temporaryDirectory("shards")
        try FileManager.default.copyItem(atPath: Fixtures.path("gpt2-tiny", "config.json"), toPath: dir + "/config.json")
        try Python.check("""
            import sys, json
            from safetensors.numpy import load_file, save_file
            d = load_file(sys.argv[1]); out = sys.argv[2]
            names = sorted(d); half = len(names) // 2
            parts = {"model-00001-of-00002.safetensors": names[:half], "model-00002-of-00002.safetensors": names[half:]}
            wm = {}
            for f, ns in parts.items():
                save_file({n: d[n] for n in ns}, out + "/" + f, metadata={"format": "pt"})
                wm.update({n: f for n in ns})
            index = {"metadata": {"total_size": sum(v.nbytes for v in d.values())}, "weight_map": wm}
            exec(sys.argv[3])  # lets a test corrupt the index
            json.dump(index, open(out + "/model.safetensors.index.json", "w"), indent=2, sort_keys=True)
            """, [Fixtures.path("gpt2-tiny", "model.safetensors"), dir, mutateIndex])
        return dir
    }

    @Test("a sharded directory opens as one checkpoint with every tensor and the config")
    func shardsOpen() throws {
        let whole = try Checkpoint.open(Fixtures.path("gpt2-tiny"))
        let c = try Checkpoint.open(try sharded())
        #expect(c.files.count == 2)
        #expect(Set(c.entries.map(\.name)) == Set(whole.entries.map(\.name)))
        for e in whole.entries { #expect(try c[e.name]?.bytes().bytes == e.bytes().bytes, "\(e.name)") }
        #expect(c.config?["model_type"]?.string == "gpt2")
        #expect(c.metadata["format"] == .string("pt"))
    }

    @Test("weight_map entries outside the directory are refused", arguments: [
        "index['weight_map']['transformer.wte.weight'] = '../model-00001-of-00002.safetensors'",
        "index['weight_map']['transformer.wte.weight'] = '/etc/passwd'",
        "index['weight_map']['transformer.wte.weight'] = 'sub/../../x.safetensors'",
    ])
    func traversal(mutation: String) throws {
        let e = try #require(throws: CheckpointError.self) { try Checkpoint.open(try sharded(mutateIndex: mutation)) }
        #expect(e.description.contains("outside the index's directory; refused"), "\(e)")
    }

    @Test("a missing shard, a tensor mapped to the wrong shard, and a map naming an absent tensor are errors", arguments: [
        ("index['weight_map']['transformer.wte.weight'] = 'model-00009-of-00009.safetensors'", "does not exist"),
        ("k = sorted(index['weight_map'])[0]; index['weight_map'][k] = 'model-00002-of-00002.safetensors' if index['weight_map'][k].startswith('model-00001') else 'model-00001-of-00002.safetensors'", "but found in"),
        ("index['weight_map']['ghost.weight'] = 'model-00001-of-00002.safetensors'", "does not hold it"),
    ])
    func inconsistentIndex(mutation: String, phrase: String) throws {
        let e = try #require(throws: CheckpointError.self) { try Checkpoint.open(try sharded(mutateIndex: mutation)) }
        #expect(e.description.contains(phrase), "\(e)")
    }

    @Test("a directory with several weight files and no model.safetensors asks which one")
    func ambiguousDirectory() throws {
        let dir = RepoPaths.temporaryDirectory("amb")
        for f in ["model.gguf", "model-q8_0.gguf"] {
            try FileManager.default.copyItem(atPath: Fixtures.path("gpt2-tiny", f), toPath: dir + "/" + f)
        }
        let e = try #require(throws: CheckpointError.self) { try Checkpoint.open(dir) }
        #expect(e.description.contains("several weight files"))
    }

    @Test("files are recognised by their first bytes, not their names")
    func sniffing() throws {
        let dir = RepoPaths.temporaryDirectory("sniff")
        try FileManager.default.copyItem(atPath: Fixtures.path("gpt2-tiny", "model.gguf"), toPath: dir + "/weights.bin")
        #expect(try Checkpoint.open(dir + "/weights.bin").format == .gguf)
        try Data("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n".utf8).write(to: URL(fileURLWithPath: dir + "/model.safetensors"))
        let e = try #require(throws: (any Error).self) { try Checkpoint.open(dir + "/model.safetensors") }
        #expect("\(e)".contains("Git LFS pointer"))
        #expect(throws: CheckpointError.self) { try Checkpoint.open(dir + "/nope") }
    }
}
