import Foundation
import Testing
import TestSupport
@testable import WeightKit

/// The trained fixtures (Fixtures/train.py): their tokenizer, and the statements the README makes
/// about them, each pinned to what the committed models do.
@Suite("analysis: the trained GPT-1 and GPT-2 fixtures")
struct TrainedFixtureTests {
    static let models = ["gpt1-trained", "gpt2-trained"]

    static func summary() throws -> JSONValue {
        try JSONParser.parse(String(contentsOfFile: RepoPaths.fixtures("trained.json"), encoding: .utf8))
    }

    static func prompt() throws -> String { try summary()["prompt"]!.string! }

    @Test("WeightKit's tokenizer encodes the prompt to the reference's input_ids and decodes each piece as tokenizers did", arguments: models)
    func tokenizer(fixture: String) throws {
        let s = try Self.summary()
        let tok = try ModelTokenizer.require(for: Fixtures.path(fixture))
        let ids = tok.encode(try Self.prompt())
        #expect(ids == (try ReferenceFile.open(Fixtures.path(fixture, "reference.safetensors")).inputIDs[0]))
        #expect(ids == s["prompt_ids"]!.array!.map { $0.int! })
        #expect(ids.map { tok.decode([$0]) } == s["prompt_pieces"]!.array!.map { $0.string! })
        #expect(tok.decode(ids) == (try Self.prompt()))
        #expect(tok.vocabularySize == 1024)
    }

    /// README: "in layers 3–5 the post-norm model's mean σ_max is 0.10–0.20 above the pre-norm model's;
    /// both stay below 1.9, far from GPT-1's 2.05–2.25".
    @Test("spectra: post-norm above pre-norm by at least 0.1 in layers 3–5; every layer mean below 1.9")
    func spectra() throws {
        let batch = [try ModelTokenizer.require(for: Fixtures.path("gpt1-trained")).encode(try Self.prompt())]
        let (post, pre) = try (
            AttentionSpectrum.measure(LoadedModel.open(Fixtures.path("gpt1-trained")), name: "gpt1", batch: batch),
            AttentionSpectrum.measure(LoadedModel.open(Fixtures.path("gpt2-trained")), name: "gpt2", batch: batch))
        for l in 3...5 {
            #expect(post.layers[l].mean - pre.layers[l].mean >= 0.1, "layer \(l): post-norm \(post.layers[l].mean), pre-norm \(pre.layers[l].mean)")
        }
        for l in 0..<6 { #expect(post.layers[l].mean < 1.9 && pre.layers[l].mean < 1.9) }
    }

    /// README: "the share of positions whose top-1 already equals the final prediction grows with depth,
    /// earlier in the pre-norm model".
    @Test("logit lens: agreement with the final top-1 never falls with depth, and the pre-norm model's is at least the post-norm's from layer 1")
    func lens() throws {
        var agreement = [String: [Int]]()
        for f in Self.models {
            let m = try LoadedModel.open(Fixtures.path(f))
            let ids = try ModelTokenizer.require(for: Fixtures.path(f)).encode(try Self.prompt())
            let lens = try LogitLens.run(m, name: f, tokens: ids, top: 1)
            let last = lens.layers.last!.positions.map { $0.top[0].id }
            agreement[f] = lens.layers.map { l in zip(l.positions, last).filter { $0.0.top[0].id == $0.1 }.count }
            let a = agreement[f]!
            for l in 1..<a.count { #expect(a[l] >= a[l - 1], "\(f): \(a)") }
            // Layer 0 decodes (mostly) the input token itself: the head is tied to the embedding.
            let selfDecoded = zip(lens.layers[0].positions, ids).filter { $0.0.top[0].id == $0.1 }.count
            #expect(selfDecoded * 3 >= ids.count * 2, "\(f): layer 0 decodes \(selfDecoded) of \(ids.count) inputs to themselves")
        }
        for l in 1..<7 { #expect(agreement["gpt2-trained"]![l] >= agreement["gpt1-trained"]![l], "\(agreement)") }
    }

    /// README: "neither model's hidden states collapse: ‖X − 1·mean(X)‖_F ÷ ‖X‖_F stays between 0.85 and 0.95".
    @Test("rank collapse on the hidden states: the relative residual stays within 0.85…0.95 at every layer", arguments: models)
    func noCollapse(fixture: String) throws {
        let ids = try ModelTokenizer.require(for: Fixtures.path(fixture)).encode(try Self.prompt())
        let r = try RankCollapse.model(try LoadedModel.open(Fixtures.path(fixture)), name: fixture, tokens: ids)
        for v in r.series[0].relative { #expect(v > 0.85 && v < 0.95, "\(fixture): \(r.series[0].relative)") }
    }
}
