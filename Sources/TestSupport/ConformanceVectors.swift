// The conformance vector lists in Formats/<format>/vectors.json ({"vectors": [{"file", "expect", …}]}),
// read once per test suite, and the checks every refusal must pass.
import Foundation
import TensorCore

/// One entry of a `Formats/<format>/vectors.json` list: a file and what reading it must give.
public struct ConformanceVector: CustomStringConvertible, Sendable {
    /// The file name under `Formats/<format>/vectors/`.
    public let file: String
    /// The whole entry (`expect`, `tensors`, `kind`, `contains`, …).
    public let json: JSONValue
    /// The file's path in the checkout.
    public let path: String
    public var description: String { file }

    /// `expect` is `ok`: the file must open.
    public var mustOpen: Bool { json["expect"]?.string == "ok" }

    /// Every vector of `Formats/<format>/vectors.json`; empty when the list is missing or unreadable
    /// (each suite also checks the count, so a missing list fails).
    public static func load(_ format: String) -> [ConformanceVector] {
        guard let data = FileManager.default.contents(atPath: RepoPaths.formats("\(format)/vectors.json")),
            let root = try? data.withUnsafeBytes({ try JSONParser.parse($0) }), let list = root["vectors"]?.array
        else { return [] }
        return list.map { entry in
            let file = entry["file"]?.string ?? "?"
            return ConformanceVector(file: file, json: entry, path: RepoPaths.formats("\(format)/vectors/" + file))
        }
    }

    /// What is wrong with a refusal of this vector (empty when nothing): the error's kind must be the
    /// vector's `kind`, its message must contain `contains`, begin with the file's path and a colon,
    /// and be one line.
    public func refusalProblems(kind: String, message: String) -> [String] {
        var problems: [String] = []
        let wantKind = json["kind"]?.string ?? "?"
        let phrase = json["contains"]?.string ?? "?"
        if kind != wantKind { problems.append("\(file): kind \(kind), expected \(wantKind): \(message)") }
        if !message.contains(phrase) { problems.append("\(file): '\(message)' lacks '\(phrase)'") }
        if !message.hasPrefix(path + ": ") { problems.append("\(file): the message does not begin with the file's path: \(message)") }
        if message.contains("\n") { problems.append("\(file): more than one line: \(message)") }
        return problems
    }
}
