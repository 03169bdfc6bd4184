// swift-tools-version: 6.0
// A program that uses WeightKit as a library: verify a checkpoint against reference activations.
// From this folder:
//   swift build
//   .build/debug/verify-checkpoint ../../Fixtures/gpt2-tiny ../../Fixtures/gpt2-tiny/reference.safetensors
// In your own package, point the dependency at your WeightKit checkout (or its git URL).
import PackageDescription

let package = Package(
    name: "VerifyCheckpoint",
    dependencies: [.package(name: "WeightKit", path: "../..")],
    targets: [
        .executableTarget(name: "verify-checkpoint", dependencies: [.product(name: "WeightKit", package: "WeightKit")])
    ]
)
