// OpenBLAS's DYNAMIC_ARCH build picks its kernel when the library loads. On AVX-512 machines
// whose CPU model it does not know, Debian's 0.3.21 falls back to the Haswell (AVX2) kernel, which
// runs sgemm at about half the speed of its SkylakeX kernel (measured: ~95 vs ~170 GFLOP/s at
// M = 128..2048 on this machine kind). The kernel can only be chosen through the
// OPENBLAS_CORETYPE environment variable before the library loads, so the command-line tool
// re-executes itself once with it set. A user's own OPENBLAS_CORETYPE is always left alone.

internal import COpenBLAS
import Foundation

@_silgen_name("openblas_get_corename") private func openblas_get_corename() -> UnsafeMutablePointer<CChar>?

public enum BLASTuning {
    /// The kernel OpenBLAS chose ("Haswell", "SkylakeX", …).
    public static var coreName: String {
        openblas_get_corename().map { String(cString: $0) } ?? "unknown"
    }

    /// The CPU supports the AVX-512 subsets OpenBLAS's SkylakeX kernel uses.
    public static var cpuHasAVX512: Bool {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        let set = Set(flags.split(separator: " ").map(String.init))
        return ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"].allSatisfy(set.contains)
    }

    /// The OPENBLAS_CORETYPE to run with, when the loaded kernel is a weaker fallback than the CPU
    /// supports and the user has not chosen one; nil otherwise.
    public static func preferredCoreType() -> String? {
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env["WEIGHTKIT_KEEP_BLAS_KERNEL"] == nil else { return nil }
        guard coreName == "Haswell", cpuHasAVX512 else { return nil }
        return "SkylakeX"
    }

    /// Re-executes the current process with the preferred OPENBLAS_CORETYPE when there is one.
    /// Returns only when no re-execution is needed or it failed.
    public static func reexecWithPreferredKernelIfNeeded() {
        guard let core = preferredCoreType() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // execv failed: carry on with the loaded kernel.
        unsetenv("OPENBLAS_CORETYPE")
    }
}
