// A tensor known by its header facts, whose bytes come on demand: what a checkpoint lists
// (a memory-mapped slice, or an HDF5 dataset read when asked) and what a streaming writer
// takes (the header is written first, then each tensor's bytes one at a time).

/// A tensor's name, dtype and shape now; its bytes when `bytes()` or `load()` is called.
public struct TensorEntry: Sendable {
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

    /// The tensor itself, with its bytes.
    public func load() throws -> Tensor {
        try Tensor(name: name, dtype: dtype, shape: shape, data: bytes())
    }

    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }

    /// Produces the bytes and checks their count.
    public func bytes() throws -> TensorData {
        let d = try produce()
        guard d.count == byteCount else {
            throw TensorCoreError("tensor '\(name)': produced \(d.count) bytes, expected \(byteCount)")
        }
        return d
    }
}

extension TensorEntry {
    /// The same tensor under another name.
    public func renamed(_ newName: String) -> TensorEntry {
        TensorEntry(name: newName, dtype: dtype, shape: shape, byteCount: byteCount, produce: produce)
    }

    init(name: String, dtype: DType, shape: [Int], byteCount: Int, produce: @escaping @Sendable () throws -> TensorData) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.byteCount = byteCount
        self.produce = produce
    }
}
