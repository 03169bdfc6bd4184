// What a streaming writer takes: a tensor's name, dtype and shape known up front (so the
// header can be written first), and its bytes produced one tensor at a time.

/// A tensor to be written: header facts now, bytes on demand.
public struct PlannedTensor: Sendable {
    public let name: String
    public let dtype: DType
    /// Row-major shape.
    public let shape: [Int]
    /// Exactly the bytes `produce` returns.
    public let byteCount: Int
    /// Produces the bytes (a slice of a memory map, or a freshly cast/quantized buffer).
    public let produce: @Sendable () throws -> TensorData

    /// Plans a tensor whose bytes come from `produce`; checks shape and byte count agree.
    public init(name: String, dtype: DType, shape: [Int], produce: @escaping @Sendable () throws -> TensorData) throws {
        guard let n = Checked.product(shape), let bytes = dtype.byteCount(elements: n) else {
            throw TensorCoreError("tensor '\(name)': shape \(shape) of \(dtype.rawValue) has no valid byte size")
        }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteCount = bytes
        self.produce = produce
    }

    /// Plans an existing tensor as it is.
    public init(_ tensor: Tensor, name: String? = nil) {
        self.name = name ?? tensor.name
        self.dtype = tensor.dtype
        self.shape = tensor.shape
        self.byteCount = tensor.byteCount
        let data = tensor.data
        self.produce = { data }
    }

    /// Produces the bytes and checks their count.
    public func bytes() throws -> TensorData {
        let d = try produce()
        guard d.count == byteCount else {
            throw TensorCoreError("tensor '\(name)': produced \(d.count) bytes, expected \(byteCount)")
        }
        return d
    }
}
