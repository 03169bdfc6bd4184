// Which OpenBLAS kernel is running. OpenBLAS's DYNAMIC_ARCH build picks its kernel when the
// library loads, from the CPU or from the OPENBLAS_CORETYPE environment variable; benchmarks
// print it because it changes sgemm speed by about 2× on AVX-512 machines (measured here:
// ~95 GFLOP/s with the Haswell kernel, ~190 with the detected Cooperlake kernel).

internal import COpenBLAS

public enum BLASInfo {
    /// The kernel OpenBLAS chose ("Haswell", "Cooperlake", …).
    public static var coreName: String {
        openblas_get_corename().map { String(cString: $0) } ?? "unknown"
    }
}
