// Runs the real Python packages (safetensors, gguf, h5py, hdf5plugin, numpy) for interop tests.
import Foundation

/// The outcome of a child process.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs `python3` with a script and arguments.
public enum Python {
    /// The interpreter: `$WEIGHTKIT_PYTHON` or `python3` on PATH.
    public static var executable: String { ProcessInfo.processInfo.environment["WEIGHTKIT_PYTHON"] ?? "python3" }

    /// Runs `script` (Python source) with `args`; `sys.argv[1:]` are the args.
    public static func run(_ script: String, _ args: [String] = []) throws -> ProcessResult {
        try Subprocess.run(["/usr/bin/env", executable, "-c", script] + args)
    }

    /// Runs `script` and throws with its stderr when it exits non-zero.
    @discardableResult
    public static func check(_ script: String, _ args: [String] = []) throws -> String {
        let r = try run(script, args)
        if r.status != 0 { throw SubprocessError(message: "python exited \(r.status): \(r.stderr)") }
        return r.stdout
    }
}

public struct SubprocessError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// Runs a child process and collects its output.
public enum Subprocess {
    public static func run(_ argv: [String], environment: [String: String]? = nil) throws -> ProcessResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        if let environment { p.environment = environment }
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes concurrently so a full pipe never blocks the child.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return ProcessResult(
            status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }
}

extension Subprocess {
    /// The size of the largest file process `pid` holds open under `directory` (named or not: an
    /// O_TMPFILE output shows in /proc/PID/fd as `<directory>/#<inode> (deleted)`), or 0. Tests
    /// use it to wait until a conversion is writing before they interrupt it.
    public static func bytesBeingWritten(pid: Int32, under directory: String) -> Int {
        let fds = "/proc/\(pid)/fd"
        let prefix = URL(fileURLWithPath: directory).standardizedFileURL.path + "/"
        var largest = 0
        for fd in (try? FileManager.default.contentsOfDirectory(atPath: fds)) ?? [] {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: fds + "/" + fd), target.hasPrefix(prefix) else { continue }
            var st = stat()
            if stat(fds + "/" + fd, &st) == 0 { largest = max(largest, Int(st.st_size)) }
        }
        return largest
    }
}
