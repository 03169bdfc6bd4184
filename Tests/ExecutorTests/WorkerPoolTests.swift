// The executor's pool (CKernels pool.c behind WorkerPool.run): every task of every job runs exactly once,
// on more than one thread when the pool is free, with nested and concurrent callers run inline rather
// than deadlocking, across jobs that follow each other within the workers' spin and after they sleep.

import Foundation
import Synchronization
import Testing
@testable import Executor

final class Counter: Sendable { let value = Atomic<Int>(0) }

@Suite("executor: the worker pool", .serialized)
struct WorkerPoolTests {
    /// Runs `n` tasks and returns how often each ran and how many distinct threads ran them.
    static func job(_ n: Int) -> (counts: [Int], threads: Int) {
        let counts = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: n)
        for i in 0..<n { (counts + i).initialize(to: Atomic(0)) }
        defer { counts.deallocate() }
        let threadIDs = Mutex<Set<UInt64>>([])
        let address = Int(bitPattern: counts)
        WorkerPool.run(n) { t in
            UnsafeMutablePointer<Atomic<Int>>(bitPattern: address)![t].add(1, ordering: .relaxed)
            threadIDs.withLock { _ = $0.insert(UInt64(pthread_self())) }
            // Enough work that a second thread gets a share.
            var s = 0.0
            for i in 0..<2_000 { s += Double(i).squareRoot() }
            if s < 0 { print(s) }
        }
        return ((0..<n).map { counts[$0].load(ordering: .relaxed) }, threadIDs.withLock { $0.count })
    }

    /// Two workers, and four on this machine's two cores (workers spinning beside each other).
    @Test(arguments: [2, 4]) func everyTaskOnceAcrossManyJobs(threads: Int) {
        let saved = WorkerPool.threads
        defer { WorkerPool.setThreads(saved) }
        WorkerPool.setThreads(threads)
        var sawTwoThreads = false
        for round in 0..<2_000 {
            let n = 2 + round % 63
            let (counts, threads) = Self.job(n)
            #expect(counts == Array(repeating: 1, count: n), "round \(round), \(n) tasks")
            sawTwoThreads = sawTwoThreads || threads > 1
            // Now and then let the workers stop spinning and sleep, so waking them is tested too.
            if round % 500 == 499 { usleep(2_000) }
        }
        #expect(sawTwoThreads, "the pool never ran a task off the calling thread")
    }

    @Test func nestedAndConcurrentCallersRunInline() async {
        let saved = WorkerPool.threads
        defer { WorkerPool.setThreads(saved) }
        WorkerPool.setThreads(2)
        let total = Counter()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<200 {
                        WorkerPool.run(3) { _ in
                            WorkerPool.run(5) { _ in total.value.add(1, ordering: .relaxed) }
                        }
                    }
                }
            }
        }
        #expect(total.value.load(ordering: .relaxed) == 4 * 200 * 3 * 5)
    }
}
