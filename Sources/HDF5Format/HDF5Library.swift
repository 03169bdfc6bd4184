// One-time set-up of libhdf5 for this process and the walk of its error stack.
//
// All calls into CHDF5 for reading and writing go through this module's internal files. libhdf5
// (Debian's build is thread-safe, with one global lock) keeps an error stack and an automatic
// printer per thread: `enter()` switches the printer off on the calling thread before each public
// operation, and `reason()` turns the stack into a short phrase for `HDF5Error`.

internal import CHDF5
#if canImport(Glibc)
    import Glibc
#endif

enum HDF5Library {
    /// `H5open`, then the in-process zstd filter (id 32015). Runs once (a lazy global).
    private static let ready: Bool = {
        _ = wk_H5open()
        ZstdFilter.register()
        return true
    }()

    /// Call at the start of every public operation: the library is set up and this thread's
    /// automatic error printing (`H5Eset_auto2`) is off.
    static func enter() {
        _ = ready
        H5Eset_auto2(wk_H5E_DEFAULT(), nil, nil)
    }

    /// The descriptions on this thread's error stack, innermost first.
    static func errorStack() -> [String] {
        final class Box { var items: [String] = [] }
        let box = Box()
        let walker: H5E_walk2_t = { _, err, data in
            guard let err, let data else { return 0 }
            let box = Unmanaged<Box>.fromOpaque(data).takeUnretainedValue()
            if let d = err.pointee.desc { box.items.append(String(cString: d)) }
            return 0
        }
        withExtendedLifetime(box) {
            _ = H5Ewalk2(wk_H5E_DEFAULT(), H5E_WALK_UPWARD, walker, Unmanaged.passUnretained(box).toOpaque())
        }
        H5Eclear2(wk_H5E_DEFAULT())
        return box.items
    }

    /// A short reason for the last failure: libhdf5's innermost description, with the filter
    /// or file-signature message preferred when there is one; plus the zstd filter's own error.
    static func reason() -> String? {
        let stack = errorStack()
        var parts: [String] = []
        if let f = stack.first(where: { $0.contains("filter") && !$0.contains("filter returned failure") }) {
            parts.append(f)
        } else if let first = stack.first {
            parts.append(first)
        }
        if let z = ZstdFilter.takeLastError() { parts.append(z) }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }
}
