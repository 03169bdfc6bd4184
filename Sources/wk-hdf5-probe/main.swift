// wk-hdf5-probe: the process in which libhdf5 reads untrusted HDF5 files for WeightKit (HDF5Probe.swift).
// Installed beside `weightkit`; not meant to be run by hand.

import HDF5Format
#if canImport(Glibc)
    import Glibc
#endif

exit(HDF5Probe.main(CommandLine.arguments))
