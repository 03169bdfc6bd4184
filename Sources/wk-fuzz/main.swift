// wk-fuzz: one libFuzzer harness per reader, chosen by $WK_FUZZ_TARGET:
//   json              TensorCore's JSON parser (headers, configs, tokenizer files)
//   safetensors       SafetensorsFile over the bytes
//   gguf              GGUFFile over the bytes
//   hdf5-structure    the parent's decoder of what the HDF5 helper sends (HDF5Wire, DatasetPlan.decode)
//   zstd              one-shot and streamed zstd decompression, capped
//   pytorch           PyTorchFile over the bytes (zip or legacy torch.save, the restricted unpickler), every tensor's bytes
//   tokenizer-json    a tokenizer.json, then the tokenizer used on a fixed text
//   sentencepiece     a SentencePiece tokenizer.model (protobuf), then used on the text
//   chat-template     a chat template (Jinja subset), parsed and rendered with a short conversation
//   gguf-tokenizer    GGUF bytes whose tokenizer.ggml.* keys make a tokenizer, then used on the text
// Built for fuzzing with `swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
// --product wk-fuzz` (scripts/fuzz); in an ordinary build it replays the files named on the command
// line through the same target, which is how CI runs the committed corpus.

import GGUFFormat
import HDF5Format
import PyTorchFormat
import SafetensorsFormat
import TensorCore
import Tokenizers
import ZstdCodec
#if canImport(Glibc)
    import Glibc
#endif

let targets = [
    "json", "safetensors", "gguf", "hdf5-structure", "zstd", "pytorch", "tokenizer-json", "sentencepiece", "chat-template",
    "gguf-tokenizer",
]
let target: String = getenv("WK_FUZZ_TARGET").map { String(cString: $0) } ?? "json"

func fuzzOne(_ bytes: UnsafeRawBufferPointer) {
    switch target {
    case "json":
        _ = try? JSONParser.parse(bytes, rejectDuplicateKeys: true)
    case "safetensors":
        if let f = try? SafetensorsFile(region: ByteRegion(copying: bytes), path: "fuzz.safetensors") {
            for t in f.tensors { _ = try? TensorEntry(t).bytes() }
        }
    case "gguf":
        _ = try? GGUFFile.parse(region: ByteRegion(copying: bytes), path: "fuzz.gguf")
    case "hdf5-structure":
        HDF5Fuzzing.decodeStructure(Array(bytes), fileSize: 1 << 20)
    case "zstd":
        _ = try? Zstd.decompress(Array(bytes), maxOutput: 1 << 22)
    case "pytorch":
        if let f = try? PyTorchFile(region: ByteRegion(copying: bytes), path: "fuzz.pt") {
            for t in f.tensors { _ = try? t.entry.bytes() }
        }
    case "tokenizer-json":
        TokenizerFuzzing.tokenizerJSON(Array(bytes))
    case "sentencepiece":
        TokenizerFuzzing.sentencePieceModel(Array(bytes))
    case "chat-template":
        TokenizerFuzzing.chatTemplate(Array(bytes))
    case "gguf-tokenizer":
        if let f = try? GGUFFile.parse(region: ByteRegion(copying: bytes), path: "fuzz.gguf") {
            TokenizerFuzzing.ggufMetadata(f.metadata(arraysUpTo: 64), strings: f.packedStrings, numbers: f.numbers)
        }
    default:
        fatalError("WK_FUZZ_TARGET must be one of: \(targets.joined(separator: ", "))")
    }
}

#if FUZZING
    // SwiftPM gives an executable its own `main`, so libFuzzer's is not linked: start its driver here.
    @_silgen_name("LLVMFuzzerRunDriver")
    func LLVMFuzzerRunDriver(
        _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
    ) -> Int32
    @_cdecl("LLVMFuzzerTestOneInput")
    public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in LLVMFuzzerTestOneInput(data, size) })
#else
    // Replay: every file named on the command line (directories: every file in them) through the target.
    var count = 0
    for arg in CommandLine.arguments.dropFirst() {
        var files: [String] = [arg]
        if let d = opendir(arg) {
            files = []
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { files.append(arg + "/" + name) }
            }
            closedir(d)
        }
        for f in files.sorted() {
            guard let r = try? ByteRegion.map(path: f) else { continue }
            r.withUnsafeBytes { fuzzOne($0) }
            count += 1
        }
    }
    print("wk-fuzz \(target): \(count) inputs replayed, no crash")
#endif
