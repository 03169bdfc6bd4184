// The executor's one pool of workers. Every parallel part of a pass — the C kernels' GEMV rows, the
// sgemm and sgemv products split into column panels, the stored-dtype panels, attention heads, the
// activations — runs as `threads` tasks on the calling thread and `threads − 1` persistent workers
// (CKernels pool.c: they spin for up to 0.2 ms after a job, then sleep on a futex), and OpenBLAS is kept
// at one thread, so its own pthreads never run beside them (two pools on two cores spin against each
// other: OpenBLAS's idle workers busy-wait after each call). WEIGHTKIT_BLAS_POOL=openblas restores
// OpenBLAS's own threads, WEIGHTKIT_POOL=dispatch libdispatch's concurrentPerform (which woke a thread
// through a futex for each of a decoded token's ~85 parallel steps), for comparison.

internal import CKernels
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

    /// Whether WEIGHTKIT_POOL=dispatch asks for libdispatch's concurrentPerform instead of the C pool
    /// (the earlier arrangement), for comparison.
    static let useDispatch = ProcessInfo.processInfo.environment["WEIGHTKIT_POOL"] == "dispatch"

    /// body(0) … body(n − 1) on the pool (inline when n is 1): the calling thread and `threads − 1`
    /// persistent workers (CKernels pool.c), which spin for a moment after each job before sleeping, so
    /// the ~85 short parallel steps of a decoded token do not each pay a futex wake and a context switch.
    static func run(_ n: Int, _ body: @Sendable (Int) -> Void) {
        if n <= 1 { if n == 1 { body(0) }; return }
        if useDispatch { return DispatchQueue.concurrentPerform(iterations: n, execute: body) }
        withoutActuallyEscaping(body) { escaping in
            var task = escaping
            withUnsafeMutablePointer(to: &task) { p in
                wk_pool_run(n, Int32(threads), { ctx, t in
                    ctx!.assumingMemoryBound(to: (@Sendable (Int) -> Void).self).pointee(t)
                }, UnsafeMutableRawPointer(p))
            }
        }
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
