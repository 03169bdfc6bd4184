// Overlapping compute and I/O: while the writer writes tensor i, tensor i+1 is produced (read
// from the map, transformed, cast) on another thread, but only when the two together are no
// larger than the largest output tensor, so the bytes in flight never exceed that one tensor
// (peak memory stays a constant plus the largest tensor, with its float32 copy when a cast needs one).

import Dispatch
import Foundation
import TensorCore

final class Prefetcher: @unchecked Sendable {
    private let order: [TensorEntry]
    private let index: [String: Int]
    private let lock = NSCondition()
    private var results: [Int: Result<TensorData, Error>] = [:]
    private var started = Set<Int>()
    private let largest: Int

    /// `order` is the order the writer will ask for the tensors in.
    init(order: [TensorEntry]) {
        self.order = order
        self.index = Dictionary(order.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.largest = order.map(\.byteCount).max() ?? 0
    }

    /// The entries, in `order`, whose bytes come through the prefetcher.
    func entries() throws -> [TensorEntry] {
        try order.map { e in
            try TensorEntry(name: e.name, dtype: e.dtype, shape: e.shape) { [self] in try take(e.name) }
        }
    }

    private func start(_ i: Int) {
        guard i < order.count, !started.contains(i) else { return }
        started.insert(i)
        let e = order[i]
        DispatchQueue.global().async { [self] in
            let r = Result { try e.bytes() }
            lock.lock()
            results[i] = r
            lock.broadcast()
            lock.unlock()
        }
    }

    private func take(_ name: String) throws -> TensorData {
        guard let i = index[name] else { throw WeightKitError("tensor '\(name)' was not planned") }
        lock.lock()
        start(i)
        if i + 1 < order.count, order[i].byteCount + order[i + 1].byteCount <= largest { start(i + 1) }
        while results[i] == nil { lock.wait() }
        let r = results.removeValue(forKey: i)!
        started.remove(i)
        lock.unlock()
        return try r.get()
    }
}
