// A named tensor: dtype, row-major shape, and bytes reached lazily through shared storage.

/// A tensor as every reader produces it. `shape` is row-major (PyTorch order) for every
/// format; `data` holds exactly `dtype.byteCount(elements: elementCount)` bytes, checked
/// when the tensor is made.
public struct Tensor: Sendable {
    public let name: String
    public let dtype: DType
    /// Row-major dimensions; `[]` is a scalar.
    public let shape: [Int]
    public let data: TensorData

    /// Makes a tensor, checking that the shape's element count in `dtype` needs exactly
    /// `data.count` bytes (and that the last dimension is whole blocks for block types).
    public init(name: String, dtype: DType, shape: [Int], data: TensorData) throws {
        guard let n = Checked.product(shape) else {
            throw TensorCoreError("tensor '\(name)': shape \(shape) has a negative dimension or its element count overflows")
        }
        if dtype.isQuantized, let last = shape.last, last % dtype.blockSize != 0 {
            throw TensorCoreError("tensor '\(name)': rows of \(last) elements are not a multiple of the \(dtype.rawValue) block size \(dtype.blockSize)")
        }
        guard let bytes = dtype.byteCount(elements: n) else {
            throw TensorCoreError("tensor '\(name)': \(n) elements of \(dtype.rawValue) is not a whole number of blocks or overflows")
        }
        guard bytes == data.count else {
            throw TensorCoreError("tensor '\(name)': shape \(shape) of \(dtype.rawValue) needs \(bytes) bytes but \(data.count) are given")
        }
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    /// Makes a float32 tensor over a heap copy of `values`.
    public init(name: String, shape: [Int], floats values: [Float]) throws {
        let data = values.withUnsafeBytes { TensorData(region: ByteRegion(copying: $0), offset: 0, count: $0.count)! }
        try self.init(name: name, dtype: .f32, shape: shape, data: data)
    }

    /// Makes an int64 tensor over a heap copy of `values`.
    public init(name: String, shape: [Int], int64s values: [Int64]) throws {
        let data = values.withUnsafeBytes { TensorData(region: ByteRegion(copying: $0), offset: 0, count: $0.count)! }
        try self.init(name: name, dtype: .i64, shape: shape, data: data)
    }

    /// The same bytes under another name (used by layouts that rename).
    public func renamed(_ newName: String) -> Tensor {
        try! Tensor(name: newName, dtype: dtype, shape: shape, data: data)
    }

    /// The same bytes with another shape of the same element count.
    public func reshaped(_ newShape: [Int]) throws -> Tensor {
        try Tensor(name: name, dtype: dtype, shape: newShape, data: data)
    }

    /// Number of elements (1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }

    /// Number of bytes.
    public var byteCount: Int { data.count }

    /// Every element widened or dequantized to float32, in row-major order.
    public func floats() throws -> [Float] {
        let n = elementCount
        return try [Float](unsafeUninitializedCapacity: n) { buf, initialized in
            try data.withUnsafeBytes { src in
                try Widen.toFloat32(dtype, src, into: buf.baseAddress!, count: n, tensor: name)
            }
            initialized = n
        }
    }

    /// Calls `body` with float32 elements: the mapped bytes themselves when the tensor is
    /// f32 and 4-byte aligned, otherwise a widened copy.
    public func withFloats<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) throws -> R {
        if dtype == .f32 {
            let direct: R? = try data.withUnsafeBytes { raw in
                guard raw.count == 0 || Int(bitPattern: raw.baseAddress!) % MemoryLayout<Float>.alignment == 0 else { return nil }
                return try body(raw.bindMemory(to: Float.self))
            }
            if let direct { return direct }
        }
        let copy = try floats()
        return try copy.withUnsafeBufferPointer(body)
    }
}

/// Values of a tensor in the form `inspect --tensor` prints them: floats widened to float32,
/// integers exact, bool as 0/1.
public enum TensorValues: Sendable, Equatable {
    case floats([Float])
    case signed([Int64])
    case unsigned([UInt64])
}

extension Tensor {
    /// The values, exact for integer types.
    public func values() throws -> TensorValues {
        let n = elementCount
        switch dtype {
        case .i8, .i16, .i32, .i64:
            return .signed(data.withUnsafeBytes { raw in
                (0..<n).map { i -> Int64 in
                    switch dtype {
                    case .i8: return Int64(raw.load(fromByteOffset: i, as: Int8.self))
                    case .i16: return Int64(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                    case .i32: return Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                    default: return Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))
                    }
                }
            })
        case .u8, .bool, .u16, .u32, .u64:
            return .unsigned(data.withUnsafeBytes { raw in
                (0..<n).map { i -> UInt64 in
                    switch dtype {
                    case .u8: return UInt64(raw[i])
                    case .bool: return raw[i] == 0 ? 0 : 1
                    case .u16: return UInt64(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    case .u32: return UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    default: return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
                    }
                }
            })
        default:
            return .floats(try floats())
        }
    }
}
