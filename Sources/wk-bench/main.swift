// wk-bench: format-layer benchmarks driven by the scripts in Benchmarks/, which time the
// same work in the reference Python tools in the same run and print ratios.
//   wk-bench dequant FILE.gguf [--runs R]   dequantization throughput per tensor type
//   wk-bench hdf5-read FILE.h5 [--runs R]   read every dataset of an HDF5 file
//   wk-bench tokenize TOKENIZER --text F    tokenizer load time and encode throughput
//   wk-bench quantize FILE.f32 [--runs R]   single-threaded K-quant encode throughput
//   wk-bench pytorch-read FILE [--runs R]   open a torch.save file and read every tensor

import TensorCore
#if canImport(Glibc)
    import Glibc
#endif

let args = Array(CommandLine.arguments.dropFirst())
guard let verb = args.first else {
    writeStandardError("usage: wk-bench dequant|hdf5-read|tokenize|quantize|pytorch-read FILE [--runs R]\n")
    exit(2)
}
do {
    switch verb {
    case "dequant": try benchDequant(Array(args.dropFirst()))
    case "hdf5-read": try benchHDF5Read(Array(args.dropFirst()))
    case "tokenize": try benchTokenize(Array(args.dropFirst()))
    case "quantize": try benchQuantize(Array(args.dropFirst()))
    case "pytorch-read": try benchPyTorchRead(Array(args.dropFirst()))
    default:
        writeStandardError("wk-bench: unknown benchmark '\(verb)'\n")
        exit(2)
    }
} catch {
    writeStandardError("wk-bench: \(error)\n")
    exit(1)
}
