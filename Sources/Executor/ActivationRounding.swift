// Which products round their activations to 8 bits (StoredKernels.swift): what verify's default tolerance
// must allow for (VerifyTolerance in WeightKit).

internal import CKernels
import Foundation
import TensorCore

/// Whether the executor, as configured by the environment, rounds a product's activation row to int8.
public enum ActivationRounding {
    /// True when a product over `rows` rows of a weight stored as `dtype` goes through the 8-bit kernels in an
    /// executor made with `int8Prefill: false` (verify's and compare's): one row (or WEIGHTKIT_INT8_EVERY_ROW=1),
    /// a dtype they support (q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k), and neither
    /// WEIGHTKIT_F32_ACTIVATIONS=1 nor WEIGHTKIT_WIDEN=1. (Executors for run, generate and bench also take the
    /// 8-bit GEMM for many rows: `Kernels.int8PrefillRuns`.)
    public static func eightBit(_ dtype: DType, rows: Int) -> Bool {
        guard let code = StoredMatrix.code(dtype), StoredMatrix.int8ActivationsDefault, !StoredMatrix.widenAll else { return false }
        guard rows == 1 || StoredMatrix.int8EveryRow else { return false }
        return wk_act8_supported(code) != 0
    }
}
