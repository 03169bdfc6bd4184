import TensorCore
#if canImport(Glibc)
    import Glibc
#endif
// HDF5 read throughput (owned by the HDF5 work).
func benchHDF5Read(_ args: [String]) throws { writeStandardError("hdf5 read benchmark not written yet\n") }
