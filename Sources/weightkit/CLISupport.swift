// Shared CLI plumbing: one-line errors with a distinct exit code, JSON output, number formatting.

import ArgumentParser
import Foundation
import WeightKit

/// Exit code for bad input (unreadable file, unknown model, bad arguments found late).
let badInputExitCode: Int32 = 2

/// Runs `body`; any error is printed as one line on stderr and ends the process with code 2.
func guarded<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ExitCode { throw e } catch let e as CleanExit { throw e } catch {
        writeStandardError("weightkit: \(oneLine("\(error)"))\n")
        throw ExitCode(badInputExitCode)
    }
}

/// An error message as one line: names from a file may hold line breaks and other control
/// characters, which are written as escapes (`\n`, `\u{1B}`).
func oneLine(_ text: String) -> String {
    guard text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return text }
    var out = ""
    for u in text.unicodeScalars {
        switch u {
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default: out += u.value < 0x20 || u.value == 0x7F ? "\\u{\(String(u.value, radix: 16))}" : String(u)
        }
    }
    return out
}

/// Prints a JSON value on stdout.
func printJSON(_ v: JSONValue) { print(v.serialized(indent: 2)) }

/// "12,345,678".
func grouped(_ n: Int) -> String {
    let s = String(n)
    var out = ""
    for (i, c) in s.reversed().enumerated() {
        if i > 0 && i % 3 == 0 && c != "-" { out.append(",") }
        out.append(c)
    }
    return String(out.reversed())
}

/// A float in short scientific or plain form.
func short(_ x: Float) -> String {
    if x.isNaN { return "nan" }
    if x == 0 { return "0" }
    if abs(x) >= 1e-3 && abs(x) < 1e5 { return String(format: "%.4g", Double(x)) }
    return String(format: "%.2e", Double(x))
}

/// Left-pads or right-pads to a width.
extension String {
    func padded(_ w: Int) -> String { count >= w ? self : self + String(repeating: " ", count: w - count) }
    func leftPadded(_ w: Int) -> String { count >= w ? self : String(repeating: " ", count: w - count) + self }
}

/// Parses "1,2,3".
func parseTokens(_ s: String, option: String = "--tokens") throws -> [Int] {
    let parts = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    let ids = parts.compactMap { Int($0) }
    guard !parts.isEmpty, ids.count == parts.count else {
        throw ValidationError("\(option) takes comma-separated integers, e.g. \(option) 1,2,3")
    }
    return ids
}

/// Refuses command-line arguments that are not valid UTF-8 (Swift would silently repair them).
func checkArgumentsAreUTF8() throws {
    for i in 1..<Int(CommandLine.argc) {
        guard let p = CommandLine.unsafeArgv[i] else { continue }
        if String(validatingCString: p) == nil {
            throw TokenizerError("", "argument \(i) is not valid UTF-8 text")
        }
    }
}

/// The token ids a command runs on: `--tokens` as given, or `--prompt` encoded with the model's
/// tokenizer (BOS added as its configuration says). Exactly one of the two must be given.
func resolveInput(tokens: String?, prompt: String?, model: String, config: ModelConfig? = nil) throws -> (ids: [Int], tokenizer: Tokenizer?) {
    switch (tokens, prompt) {
    case (let t?, nil): return (try parseTokens(t), try? ModelTokenizer.load(for: model))
    case (nil, let p?):
        try checkArgumentsAreUTF8()
        let tok = try ModelTokenizer.require(for: model)
        if let config { try ModelTokenizer.check(tok, against: config, path: model) }
        let ids = tok.encode(p)
        guard !ids.isEmpty else { throw ValidationError("--prompt encodes to no tokens") }
        return (ids, tok)
    case (nil, nil): throw ValidationError("give --tokens IDS or --prompt TEXT")
    default: throw ValidationError("give either --tokens or --prompt, not both")
    }
}

/// Whether stdout/stderr is a terminal.
func isTerminal(_ fd: Int32) -> Bool { isatty(fd) != 0 }
