// Which products round their activations to 8 bits (StoredKernels.swift): what verify's default tolerance
// must allow for (VerifyTolerance in WeightKit).

internal import CKernels
import Foundation
import TensorCore

/// Whether the executor, as configured by the environment, rounds a product's activation row to int8.
public enum ActivationRounding {
    /// True when a product over `rows` rows of a weight stored as `dtype` goes through the 8-bit kernels:
    /// a dtype they support (q8_0, q4_0, q4_1, q5_0, q5_1, q4_k, q5_k, q6_k); one row, or many where the CPU runs
    /// the 8-bit GEMM (AVX2) and WEIGHTKIT_INT8_PREFILL=0 is not set (or WEIGHTKIT_INT8_EVERY_ROW=1); and neither
    /// WEIGHTKIT_F32_ACTIVATIONS=1 nor WEIGHTKIT_WIDEN=1.
    public static func eightBit(_ dtype: DType, rows: Int) -> Bool {
        guard let code = StoredMatrix.code(dtype), StoredMatrix.int8ActivationsDefault, !StoredMatrix.widenAll else { return false }
        if rows == 1 || StoredMatrix.int8EveryRow { return wk_act8_supported(code) != 0 }
        return Kernels.int8Prefill && wk_act8_gemm_supported(code) != 0
    }
}
