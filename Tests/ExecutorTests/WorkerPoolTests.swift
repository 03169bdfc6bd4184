// The executor's pool (CKernels pool.c behind WorkerPool.run): every task of every job runs exactly once,
// on more than one thread when the pool is free, with nested and concurrent callers run inline rather
// than deadlocking, across jobs that follow each other within the workers' spin and after they sleep.

import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Executor

final class Counter: Sendable { let value = Atomic<Int>(0) }

@Suite("executor: the worker pool", .serialized)
struct WorkerPoolTests {
    /// Runs `n` tasks and returns how often each ran and how many distinct threads ran them.
    static func job(_ n: Int, work: Int = 2_000) -> (counts: [Int], threads: Int) {
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
            for i in 0..<work { s += Double(i).squareRoot() }
            if s < 0 { print(s) }
        }
        return ((0..<n).map { counts[$0].load(ordering: .relaxed) }, threadIDs.withLock { $0.count })
    }

    /// Two workers, and four on this machine's two cores (workers spinning beside each other). 100,000
    /// jobs of 2–64 tiny tasks, run on a thread of their own under a deadline, so a lost task or a lost
    /// wake-up fails the test instead of hanging it (a stuck job holds the pool, and later callers then run
    /// inline). The first version of the pool read a job's task count and function before claiming a
    /// task; a worker waking late could then run a task of the next job twice: in a C harness of this
    /// loop it hung after 11,627–59,457 jobs with four threads, and this test (2,000 jobs then) missed it.
    @Test(arguments: [2, 4]) func everyTaskOnceAcrossManyJobs(threads: Int) throws {
        let saved = WorkerPool.threads
        defer { WorkerPool.setThreads(saved) }
        WorkerPool.setThreads(threads)
        let jobs = 100_000
        let done = DispatchSemaphore(value: 0)
        let report = Mutex<(finished: Int, bad: [String], twoThreads: Bool)>((0, [], false))
        let thread = Thread {
            for round in 0..<jobs {
                let n = 2 + round % 63
                let (counts, threadsSeen) = Self.job(n, work: round % 100 == 0 ? 2_000 : 20)
                report.withLock { r in
                    if counts != Array(repeating: 1, count: n), r.bad.count < 5 { r.bad.append("job \(round), \(n) tasks: \(counts)") }
                    r.finished = round + 1
                    r.twoThreads = r.twoThreads || threadsSeen > 1
                }
                // Now and then let the workers stop spinning and sleep, so waking them is tested too.
                if round % 5_000 == 4_999 { usleep(1_000) }
            }
            done.signal()
        }
        thread.start()
        let finishedInTime = done.wait(timeout: .now() + 60) == .success
        let r = report.withLock { $0 }
        #expect(finishedInTime, "the pool stopped after \(r.finished) of \(jobs) jobs")
        #expect(r.bad.isEmpty, "\(r.bad)")
        #expect(r.twoThreads, "the pool never ran a task off the calling thread")
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
