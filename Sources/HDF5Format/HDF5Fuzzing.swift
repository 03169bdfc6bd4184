// The entry the fuzzing harness (`wk-fuzz`, target hdf5-structure) calls: the parent's decoder of
// the helper's answer, which must refuse anything malformed without crashing or over-allocating.

public enum HDF5Fuzzing {
    /// Decodes `bytes` as a helper answer for a file of `fileSize` bytes; errors are discarded.
    public static func decodeStructure(_ bytes: [UInt8], fileSize: Int) {
        _ = try? HDF5Structure.decode(bytes, path: "fuzz.h5", fileSize: fileSize)
    }
}
