// Shared CLI plumbing: one-line errors with a distinct exit code, JSON output, number formatting.

import ArgumentParser
import Foundation
import WeightKit

/// Exit code for bad input (unreadable file, unknown model, bad arguments found late).
let badInputExitCode: Int32 = 2

/// Runs `body`; any error is printed as one line on stderr and ends the process with code 2.
func guarded<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ExitCode { throw e } catch let e as CleanExit { throw e } catch {
        writeStandardError("weightkit: \(error)\n")
        throw ExitCode(badInputExitCode)
    }
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
func parseTokens(_ s: String) throws -> [Int] {
    let parts = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    let ids = parts.compactMap { Int($0) }
    guard !parts.isEmpty, ids.count == parts.count else {
        throw ValidationError("--tokens takes comma-separated integers, e.g. --tokens 1,2,3")
    }
    return ids
}

/// Whether stdout/stderr is a terminal.
func isTerminal(_ fd: Int32) -> Bool { isatty(fd) != 0 }
