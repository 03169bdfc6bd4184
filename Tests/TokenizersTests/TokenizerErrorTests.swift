import Testing
@testable import Tokenizers

@Test func errorNamesTheFile() {
    #expect(TokenizerError("a/tokenizer.json", "no model").description == "a/tokenizer.json: no model")
}
