// wk-bench: format-layer benchmarks driven by the scripts in Benchmarks/, which time the
// same work in the reference Python tools in the same run and print ratios.
//   wk-bench dequant FILE.gguf [--runs R]   dequantization throughput per tensor type
//   wk-bench hdf5-read FILE.h5 [--runs R]   read every dataset of an HDF5 file

#if canImport(Glibc)
    import Glibc
#endif

let args = Array(CommandLine.arguments.dropFirst())
guard let verb = args.first else {
    fputs("usage: wk-bench dequant|hdf5-read FILE [--runs R]\n", stderr)
    exit(2)
}
do {
    switch verb {
    case "dequant": try benchDequant(Array(args.dropFirst()))
    case "hdf5-read": try benchHDF5Read(Array(args.dropFirst()))
    default:
        fputs("wk-bench: unknown benchmark '\(verb)'\n", stderr)
        exit(2)
    }
} catch {
    fputs("wk-bench: \(error)\n", stderr)
    exit(1)
}
