// A tensor's bytes: a checked slice of a ByteRegion.

/// A slice `offset ..< offset+count` of a region, checked to lie inside it when made.
public struct TensorData: Sendable {
    public let region: ByteRegion
    public let offset: Int
    public let count: Int

    /// A slice of `region`; nil when the range does not lie inside it.
    public init?(region: ByteRegion, offset: Int, count: Int) {
        guard offset >= 0, count >= 0, offset <= region.count, count <= region.count - offset else { return nil }
        self.region = region
        self.offset = offset
        self.count = count
    }

    /// Heap bytes.
    public init(bytes: [UInt8]) {
        self.region = ByteRegion(bytes)
        self.offset = 0
        self.count = bytes.count
    }

    /// Lends the bytes; they must not escape `body`.
    @inlinable public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try region.withUnsafeBytes(offset: offset, count: count, body)
    }

    /// A copy of the bytes.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }
}
