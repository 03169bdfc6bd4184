// How weightkit ends: argument-parser's parsing and help, with three differences.
//   - A usage error (an unknown option, a missing argument, a ValidationError) exits 2, as every
//     other bad input does, instead of argument-parser's 64 (EX_USAGE).
//   - A ValidationError thrown while a subcommand runs is shown with that subcommand's usage line
//     (argument-parser would show the root command's).
//   - An unknown subcommand gets the nearest known name as a suggestion.
// Help, --version and completion scripts go through argument-parser unchanged (exit 0).

import ArgumentParser
internal import CSystem
import Foundation
import WeightKit

enum CommandLineEntry {
    static func main() -> Never {
        let arguments = Array(CommandLine.arguments.dropFirst())
        var command: ParsableCommand
        do {
            command = try WeightKitCommand.parseAsRoot(arguments)
        } catch {
            exit(for: error, arguments: arguments, running: nil)
        }
        // SIGINT, SIGTERM and SIGHUP remove the pending temporaries (convert's outputs, a named .zst
        // copy where O_TMPFILE is refused) and end the process with the signal. The handler is C
        // (CSystem signals.c): Swift code in a handler can deadlock, because the runtime instantiates
        // type metadata lazily under a mutex — a SIGTERM that landed while the interrupted thread held
        // that lock (writing a GGUF header, opening an HDF5 file) hung in a Swift handler forever.
        wk_signals_install()
        do {
            try command.run()
        } catch {
            exit(for: error, arguments: arguments, running: type(of: command))
        }
        Foundation.exit(0)
    }

    static func exit(for error: Error, arguments: [String], running: ParsableCommand.Type?) -> Never {
        if let code = error as? ExitCode { Foundation.exit(code.rawValue) }
        let code = WeightKitCommand.exitCode(for: error)
        if code == .success { WeightKitCommand.exit(withError: error) }  // help, --version, completions
        var text: String
        if code == .validationFailure {
            if let running, let v = error as? ValidationError {
                text = "Error: \(v.message)\n" + usage(of: running)
            } else if let hint = unknownSubcommand(arguments) {
                text = hint
            } else {
                text = WeightKitCommand.fullMessage(for: error)
            }
        } else {
            // Anything else that escaped a command: one line, like every other error.
            text = "weightkit: \(WeightKitCommand.message(for: error))"
        }
        writeStandardError(text.hasSuffix("\n") ? text : text + "\n")
        Foundation.exit(badInputExitCode)
    }

    /// "Usage: weightkit verify <model> …" and where to read more, for a subcommand.
    static func usage(of command: ParsableCommand.Type) -> String {
        let path = commandPath(to: command) ?? [command._commandName]
        let usage = WeightKitCommand.usageString(for: command)
        return "Usage: \(usage)\n  See '\((["weightkit"] + path).joined(separator: " ")) --help' for more information."
    }

    /// The subcommand names from the root down to `command`.
    static func commandPath(to command: ParsableCommand.Type, from root: ParsableCommand.Type = WeightKitCommand.self) -> [String]? {
        for sub in root.configuration.subcommands {
            if ObjectIdentifier(sub) == ObjectIdentifier(command) { return [sub._commandName] }
            if let rest = commandPath(to: command, from: sub) { return [sub._commandName] + rest }
        }
        return nil
    }

    /// When the arguments name a subcommand that does not exist (`weightkit verfy …`, `weightkit
    /// analyze spectrum …`), the error with the nearest name, else nil.
    static func unknownSubcommand(_ arguments: [String]) -> String? {
        var command: ParsableCommand.Type = WeightKitCommand.self
        var path = ["weightkit"]
        for a in arguments {
            let subs = command.configuration.subcommands
            // Options, positional arguments of a leaf command, and argument-parser's own `help`.
            if a.hasPrefix("-") || subs.isEmpty || a == "help" { return nil }
            if let s = subs.first(where: { $0._commandName == a || $0.configuration.aliases.contains(a) }) {
                command = s
                path.append(s._commandName)
                continue
            }
            let names = subs.map { $0._commandName }
            let scored = names.map { ($0, editDistance($0, a)) }.sorted { $0.1 < $1.1 }
            var text = "Error: '\(a)' is not a \(path.joined(separator: " ")) command."
            if let best = scored.first, best.1 <= max(2, best.0.count / 3) || best.0.hasPrefix(a) {
                text += " Did you mean '\(best.0)'?"
            }
            text += "\n" + wrapped("Commands: " + names.joined(separator: ", "), indent: 2, continuation: 12)
            text += "\n  See '\(path.joined(separator: " ")) --help' for more information."
            return text
        }
        return nil
    }

    /// `text` cut at spaces into lines of at most 80 columns.
    static func wrapped(_ text: String, indent: Int, continuation: Int) -> String {
        var lines = [String(repeating: " ", count: indent)]
        for word in text.split(separator: " ") {
            if lines[lines.count - 1].count + word.count + 1 > 80 { lines.append(String(repeating: " ", count: continuation)) }
            let last = lines[lines.count - 1]
            lines[lines.count - 1] = last + (last.allSatisfy { $0 == " " } ? "" : " ") + word
        }
        return lines.joined(separator: "\n")
    }

    /// Levenshtein distance over characters.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty || y.isEmpty { return max(x.count, y.count) }
        var row = Array(0...y.count)
        for i in 1...x.count {
            var previous = row[0]
            row[0] = i
            for j in 1...y.count {
                let keep = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (x[i - 1] == y[j - 1] ? 0 : 1))
                previous = keep
            }
        }
        return row[y.count]
    }
}
