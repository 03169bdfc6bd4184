// A progress bar on stderr for long operations: tensors done/total, bytes, rate, ETA. Drawn
// only when stderr is a terminal, at most ten times a second, and erased at the end. A signal
// that ends the run while the bar is showing (Ctrl-C) leaves it on screen with "interrupted"
// after it and a newline (written by the C handler, told by `wk_signals_set_line_open`), so the
// shell's prompt starts on a line of its own.

internal import CSystem
import Foundation
import WeightKit

final class ProgressBar: @unchecked Sendable {
    private let lock = NSLock()
    private var lastDraw = -1.0  // the first update draws at once
    private var drawn = false
    let enabled: Bool

    init(enabled: Bool = isTerminal(2)) { self.enabled = enabled }

    /// Redraws the bar for `p` (throttled; the last tensor is always drawn).
    func update(_ p: ConvertProgress) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        guard p.seconds - lastDraw >= 0.1 || p.tensorsDone == p.tensorsTotal else { return }
        lastDraw = p.seconds
        let frac = p.bytesTotal > 0 ? Double(p.bytesDone) / Double(p.bytesTotal) : Double(p.tensorsDone) / Double(max(p.tensorsTotal, 1))
        let width = 24
        let filled = min(width, Int(frac * Double(width)))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let rate = p.seconds > 0 ? Double(p.bytesDone) / p.seconds : 0
        let eta = rate > 0 ? Double(p.bytesTotal - p.bytesDone) / rate : 0
        let line = "[\(bar)] \(p.tensorsDone)/\(p.tensorsTotal) tensors  \(Self.bytes(p.bytesDone))/\(Self.bytes(p.bytesTotal))  \(Self.bytes(Int(rate)))/s  ETA \(Int(eta.rounded()))s"
        writeStandardError("\r" + line + "\u{1B}[K")
        drawn = true
        wk_signals_set_line_open(1)
    }

    /// Erases the bar.
    func finish() {
        guard enabled, drawn else { return }
        wk_signals_set_line_open(0)
        writeStandardError("\r\u{1B}[K")
    }

    static func bytes(_ n: Int) -> String {
        let d = Double(n)
        if d >= 1e9 { return String(format: "%.2f GB", d / 1e9) }
        if d >= 1e6 { return String(format: "%.1f MB", d / 1e6) }
        if d >= 1e3 { return String(format: "%.1f KB", d / 1e3) }
        return "\(n) B"
    }
}
