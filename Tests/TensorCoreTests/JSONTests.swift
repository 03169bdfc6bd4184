import Testing
@testable import TensorCore

@Suite("JSON reader")
struct JSONTests {
    @Test("keeps key order and exact integers")
    func orderAndIntegers() throws {
        let v = try JSONParser.parse(#"{"b": 9007199254740993, "a": [1, -2.5e3, true, null, "x\u00e9\n"]}"#)
        #expect(v.object?.map(\.0) == ["b", "a"])
        #expect(v["b"]?.int == 9_007_199_254_740_993)
        #expect(v["a"]?.array?[1].double == -2500)
        #expect(v["a"]?.array?[4].string == "xé\n")
    }

    @Test("rejects duplicates, bad escapes, trailing text and deep nesting", arguments: [
        #"{"a":1,"a":2}"#, #"{"a":"\x"}"#, #"{"a":1} x"#, String(repeating: "[", count: 500) + String(repeating: "]", count: 500),
        #"{"a":01}"#, #"{"a":1,}"#, #"{"a":"\ud800"}"#, "", #"{"a":"unterminated}"#,
    ])
    func rejects(text: String) {
        #expect(throws: JSONError.self) { try JSONParser.parse(text) }
    }

    @Test("round-trips through the writer")
    func roundTrip() throws {
        let text = #"{"k":[1,2.5,"q\"\\\t",{"z":false}],"e":{}}"#
        let v = try JSONParser.parse(text)
        #expect(v.serialized() == text)
        #expect(try JSONParser.parse(v.serialized(indent: 2)) == v)
    }
}
