// ggml block quantization: dequantizers for every common block type (formats.md §2.4).
// Filled in by the GGUF work; until then block types are listed but not decoded.

/// Dequantization and quantization of ggml block types.
public enum GGMLQuants {
    /// Dequantizes `count` elements of block type `dtype` from `src` into `dst`.
    public static func dequantize(
        _ dtype: DType, _ src: UnsafeRawBufferPointer, into dst: UnsafeMutablePointer<Float>, count: Int,
        tensor: String
    ) throws {
        throw TensorCoreError("tensor '\(tensor)': values of type \(dtype.rawValue) cannot be decoded yet")
    }
}
