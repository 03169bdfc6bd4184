import TensorCore
#if canImport(Glibc)
    import Glibc
#endif
// Dequantization throughput per ggml type (owned by the GGUF work).
func benchDequant(_ args: [String]) throws { writeStandardError("dequant benchmark not written yet\n") }
