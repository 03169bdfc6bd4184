// The executor's one pool of workers. Every parallel part of a pass — the C kernels' GEMV rows, the
// sgemm and sgemv products split into column panels, the stored-dtype panels, attention heads, the
// activations — runs as `threads` workers of DispatchQueue.concurrentPerform, and OpenBLAS is kept at
// one thread, so its own pthreads never run beside them (two pools on two cores spin against each other:
// OpenBLAS's idle workers busy-wait after each call). WEIGHTKIT_BLAS_POOL=openblas restores the earlier
// arrangement (OpenBLAS threads its own calls; our workers run beside them), for comparison.

internal import COpenBLAS
import Dispatch
import Foundation
import Synchronization

enum WorkerPool {
    private static let count = Atomic<Int>(ProcessInfo.processInfo.activeProcessorCount)

    /// Whether WEIGHTKIT_BLAS_POOL=openblas asks for OpenBLAS's own threads (the earlier arrangement).
    static let openBLASThreads = ProcessInfo.processInfo.environment["WEIGHTKIT_BLAS_POOL"] == "openblas"

    /// Workers per parallel step.
    static var threads: Int { count.load(ordering: .relaxed) }

    /// Sets the number of workers (and OpenBLAS's thread count: 1, or `n` with WEIGHTKIT_BLAS_POOL=openblas).
    static func setThreads(_ n: Int) {
        let n = max(1, n)
        count.store(n, ordering: .relaxed)
        openblas_set_num_threads(openBLASThreads ? Int32(n) : 1)
    }

    /// body(0) … body(n − 1) on the pool (inline when n is 1).
    static func run(_ n: Int, _ body: @Sendable (Int) -> Void) {
        if n == 1 { return body(0) }
        DispatchQueue.concurrentPerform(iterations: n, execute: body)
    }

    /// Splits `0..<total` into at most `threads` ranges of whole `align`-sized pieces, each at least
    /// `minimum` long; (start, length) of range i.
    static func split(_ total: Int, align: Int = 16, minimum: Int = 64) -> (parts: Int, range: @Sendable (Int) -> (Int, Int)) {
        let parts = max(1, min(threads, total / max(minimum, 1)))
        let per = ((total + parts - 1) / parts + align - 1) / align * align
        return (parts, { i in
            let s = min(total, i * per)
            return (s, min(per, total - s))
        })
    }
}
