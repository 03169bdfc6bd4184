// swift-tools-version: 6.0
// WeightKit: read, write, map, run and verify transformer weight files (safetensors, GGUF, HDF5).
import PackageDescription

let package = Package(
    name: "WeightKit",
    products: [
        .library(name: "WeightKit", targets: ["WeightKit"]),
        .executable(name: "weightkit", targets: ["weightkit"]),
        // The helper in which libhdf5 reads untrusted HDF5 files; installed beside weightkit.
        .executable(name: "wk-hdf5-probe", targets: ["wk-hdf5-probe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
    ],
    targets: [
        // System libraries, each wrapped by a one-header shim.
        // libhdf5 is linked from Debian's static archive (Sources/CHDF5/shim.h says why), so no pkg-config.
        .systemLibrary(name: "CHDF5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        // Two glibc calls Swift's Glibc module does not import (sync_file_range, mallopt), as C.
        .target(name: "CSystem"),
        // Tensors, dtypes, storage, JSON: links no library.
        .target(name: "TensorCore", dependencies: ["CSystem"]),
        // One folder per format.
        .target(name: "SafetensorsFormat", dependencies: ["TensorCore"]),
        .target(name: "GGUFFormat", dependencies: ["TensorCore"]),
        // torch.save files (zip and legacy layouts) through a restricted unpickler that calls nothing.
        .target(name: "PyTorchFormat", dependencies: ["TensorCore"]),
        // zstd frames: streamed decompression of `.zst` inputs, one-shot chunks for HDF5's filter.
        .target(name: "ZstdCodec", dependencies: ["TensorCore", "CZstd"]),
        // HDF5: libhdf5 parses files in the helper process `wk-hdf5-probe`; chunks are decoded here (zlib, zstd).
        .target(name: "HDF5Format", dependencies: ["TensorCore", "CHDF5", "CZlib", "ZstdCodec"]),
        // Linked with the Swift runtime inside it: one process is started per HDF5 file opened, and loading
        // the runtime's shared libraries cost it 5 of its 11 ms of CPU (Formats/security.md).
        .executableTarget(
            name: "wk-hdf5-probe", dependencies: ["HDF5Format"], linkerSettings: [.unsafeFlags(["-static-stdlib"])]),
        // libFuzzer harnesses, one per reader (scripts/fuzz); an ordinary build replays a corpus.
        .executableTarget(
            name: "wk-fuzz",
            dependencies: ["TensorCore", "SafetensorsFormat", "GGUFFormat", "HDF5Format", "ZstdCodec", "PyTorchFormat", "Tokenizers"]),
        // The Checkpoint type (named tensors, metadata, config) and its error: links no system library, so
        // that Models and the Executor never link libhdf5, libzstd or zlib (ModelsTests/DependencyTests).
        .target(name: "CheckpointCore", dependencies: ["TensorCore"]),
        // Format detection, model directories, shards, .zst inputs.
        .target(
            name: "Checkpoints",
            dependencies: [
                "TensorCore", "CheckpointCore", "SafetensorsFormat", "GGUFFormat", "HDF5Format", "PyTorchFormat",
                "ZstdCodec",
            ]),
        // Configs, layouts per architecture, the canonical graph.
        .target(name: "Models", dependencies: ["TensorCore", "CheckpointCore"]),
        // Exp-based elementwise kernels in C, built for AVX2+FMA and the baseline (target_clones).
        .target(name: "CKernels"),
        // Tokenizers: HF tokenizer.json, GPT-2 vocab.json + merges.txt, SentencePiece tokenizer.model, GGUF
        // tokenizer keys; encode, decode, chat templates. Links no library.
        .target(name: "Tokenizers", dependencies: ["TensorCore"]),
        // Kernels and the graph runner.
        .target(name: "Executor", dependencies: ["TensorCore", "Models", "COpenBLAS", "CKernels"]),
        // verify, convert, diff, analyze: the library API.
        .target(
            name: "WeightKit",
            dependencies: [
                "TensorCore", "SafetensorsFormat", "GGUFFormat", "HDF5Format", "Checkpoints", "Models",
                "Executor", "Tokenizers",
            ]),
        // The git commit the tool was built from (a weak default; scripts/stamp-build writes the real one).
        .target(name: "CBuildInfo"),
        // The command-line tool, one file per subcommand.
        .executableTarget(
            name: "weightkit",
            dependencies: ["WeightKit", "CSystem", "CBuildInfo", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // Side-by-side benchmarks of the format layers (dequantization, HDF5 reads), run by scripts in Benchmarks/.
        .executableTarget(name: "wk-bench", dependencies: ["TensorCore", "GGUFFormat", "HDF5Format", "ZstdCodec", "Tokenizers", "PyTorchFormat"]),

        // Byte builders for malformed files, fixture paths.
        .target(name: "TestSupport", dependencies: ["TensorCore"], path: "Sources/TestSupport"),
        .testTarget(name: "TensorCoreTests", dependencies: ["TensorCore", "TestSupport"]),
        .testTarget(name: "SafetensorsFormatTests", dependencies: ["SafetensorsFormat", "TestSupport"]),
        .testTarget(name: "GGUFFormatTests", dependencies: ["GGUFFormat", "TestSupport"]),
        .testTarget(name: "PyTorchFormatTests", dependencies: ["PyTorchFormat", "TestSupport"]),
        .testTarget(name: "HDF5FormatTests", dependencies: ["HDF5Format", "ZstdCodec", "TestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "TestSupport"]),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "CheckpointCore", "SafetensorsFormat", "TestSupport"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "GGUFFormat", "TestSupport"]),
        .testTarget(
            name: "ExecutorTests",
            dependencies: ["Executor", "Models", "CheckpointCore", "GGUFFormat", "SafetensorsFormat", "TestSupport"]),
        .testTarget(name: "WeightKitTests", dependencies: ["WeightKit", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["weightkit", "WeightKit", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
