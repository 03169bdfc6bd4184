import Foundation
import Testing
import TestSupport
@testable import WeightKit

@Suite("convert: safety")
struct ConvertSafetyTests {
    typealias S = ConvertTestSupport

    /// The input is never the output, even with force: same path, a hard link, a symlink, or a
    /// directory that holds the input.
    @Test func refusesToOverwriteInput() throws {
        let dir = try Fixtures.copy("gpt2-tiny")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/model.safetensors"
        let before = S.bytes(input)
        try FileManager.default.linkItem(atPath: input, toPath: dir + "/hard.safetensors")
        try FileManager.default.createSymbolicLink(atPath: dir + "/sym.safetensors", withDestinationPath: input)
        for target in [input, dir + "/hard.safetensors", dir + "/sym.safetensors"] {
            for force in [false, true] {
                #expect(throws: WeightKitError.self) { try S.convert(input, target, naming: .keep, force: force) }
            }
        }
        #expect(throws: WeightKitError.self) { try S.convert(input, dir, force: true) }
        #expect(throws: WeightKitError.self) { try S.convert(dir, dir + "/", force: true) }
        #expect(throws: WeightKitError.self) { try S.convert(input, (dir as NSString).deletingLastPathComponent, force: true) }
        #expect(S.bytes(input) == before)
        #expect(!S.listing(dir).contains { $0.contains("wk-tmp") })
    }

    /// An existing output is replaced only with force; a refused conversion leaves it as it was.
    @Test func forceSemantics() throws {
        let dir = RepoPaths.temporaryDirectory("force")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for out in [dir + "/o.gguf", dir + "/o.safetensors", dir + "/o.h5"] {
            try Data("precious".utf8).write(to: URL(fileURLWithPath: out))
            #expect(throws: WeightKitError.self) { try S.convert(Fixtures.path("gpt2-tiny"), out) }
            #expect(S.bytes(out) == Data("precious".utf8))
            try S.convert(Fixtures.path("gpt2-tiny"), out, force: true)
            #expect(try Differ.diff(Fixtures.path("gpt2-tiny"), out).equal)
        }
        // Directories: refused without force, replaced whole with it.
        try FileManager.default.createDirectory(atPath: dir + "/d", withIntermediateDirectories: true)
        try Data("old".utf8).write(to: URL(fileURLWithPath: dir + "/d/stale.txt"))
        #expect(throws: WeightKitError.self) { try S.convert(Fixtures.path("llama-gqa"), dir + "/d") }
        #expect(S.listing(dir + "/d") == ["stale.txt"])
        try S.convert(Fixtures.path("llama-gqa"), dir + "/d", force: true)
        #expect(S.listing(dir + "/d") == ["config.json", "model.safetensors"])
        // A file where a directory is asked for, and the reverse.
        #expect(throws: WeightKitError.self) { try S.convert(Fixtures.path("llama-gqa"), dir + "/o.gguf/", force: true) }
        #expect(S.listing(dir).allSatisfy { !$0.contains("wk-tmp") })
    }

    /// Broken files of every kind fail with one line naming the file, and nothing is written.
    @Test(arguments: hostileInputs())
    func hostileInputFailsCleanly(input: String) throws {
        let dir = RepoPaths.temporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for out in ["o.gguf", "o.safetensors", "o.h5", "od/"] {
            do {
                try S.convert(input, dir + "/" + out, naming: .keep)
                Issue.record("\(input) → \(out) converted")
            } catch {
                let text = "\(error)"
                #expect(!text.contains("\n"), "\(text)")
                #expect(text.contains((input as NSString).lastPathComponent) || text.contains(input), "\(input): \(text)")
            }
            #expect(S.listing(dir).isEmpty, "\(input) → \(out) left \(S.listing(dir))")
        }
    }

    static func hostileInputs() -> [String] {
        let fm = FileManager.default
        let st = RepoPaths.formats("safetensors/vectors")
        let gg = RepoPaths.formats("gguf")
        let a = ((try? fm.contentsOfDirectory(atPath: st)) ?? []).filter { $0.hasPrefix("rule") && $0.hasSuffix(".safetensors") }.sorted().map { st + "/" + $0 }
        // bad_safetensors.gguf is a valid safetensors file under a .gguf name: bad for the GGUF
        // reader, fine for convert, which goes by the magic bytes.
        let b = ((try? fm.contentsOfDirectory(atPath: gg)) ?? []).filter { $0.hasPrefix("bad_") && $0.hasSuffix(".gguf") && $0 != "bad_safetensors.gguf" }.sorted().map { gg + "/" + $0 }
        return a + b
    }

    @Test func quantizedOnlyIntoGGUF() throws {
        let dir = RepoPaths.temporaryDirectory("qonly")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for out in ["o.safetensors", "o.h5", "od/"] {
            #expect(throws: WeightKitError.self) { try S.convert(Fixtures.path("gpt2-tiny"), dir + "/" + out, .q8_0) }
        }
        #expect(S.listing(dir).isEmpty)
    }

    /// Names: keep works on anything; hf/gguf need a recognised model and fail otherwise.
    @Test func namingOfUnrecognisedCheckpoints() throws {
        let dir = RepoPaths.temporaryDirectory("naming")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Activations, not a model (copied away from gpt2-tiny's config.json, which would make
        // it a GPT-2 checkpoint that fails to bind).
        let ref = dir + "/reference.safetensors"
        try FileManager.default.copyItem(atPath: Fixtures.path("gpt2-tiny", "reference.safetensors"), toPath: ref)
        let s = try S.convert(ref, dir + "/r.gguf")
        #expect(s.naming == .keep)
        let h = try S.convert(dir + "/r.gguf", dir + "/r.h5")
        #expect(h.naming == .keep)
        try S.convert(dir + "/r.h5", dir + "/r.safetensors")
        #expect(try Differ.diff(ref, dir + "/r.safetensors").equal)
        #expect(try Differ.diff(ref, dir + "/r.safetensors").mode == "names")
        #expect(throws: (any Error).self) { try S.convert(ref, dir + "/x.gguf", naming: .gguf) }
        #expect(throws: (any Error).self) { try S.convert(ref, dir + "/x.safetensors", naming: .hf) }
        // Beside a config.json it claims to be GPT-2 but does not bind: an error, not a silent keep.
        #expect(throws: (any Error).self) { try S.convert(Fixtures.path("gpt2-tiny", "reference.safetensors"), dir + "/y.gguf") }
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.gguf") && !FileManager.default.fileExists(atPath: dir + "/y.gguf"))
    }

    /// Unknown output extensions are refused before anything is read.
    @Test func unknownExtension() throws {
        #expect(throws: WeightKitError.self) { try S.convert(Fixtures.path("gpt2-tiny"), "/tmp/wk-never.bin") }
        #expect(!FileManager.default.fileExists(atPath: "/tmp/wk-never.bin"))
    }
}
