// wk-bench tokenize TOKENIZER --text FILE [--runs R] [--json]: load time and single-threaded encode
// throughput of one tokenizer over one text, for Benchmarks/tokenizers/bench.py.

import Dispatch
import GGUFFormat
import TensorCore
import Tokenizers

#if canImport(Glibc)
    import Glibc
#endif

func benchTokenize(_ raw: [String]) throws {
    var args = raw
    guard let t = args.firstIndex(of: "--text"), t + 1 < args.count else {
        throw TensorCoreError("usage: wk-bench tokenize TOKENIZER --text FILE [--runs R] [--json]")
    }
    let textPath = args[t + 1]
    args.removeSubrange(t...(t + 1))
    let a = try BenchArguments(args, allowed: ["--json"], usage: "usage: wk-bench tokenize TOKENIZER --text FILE [--runs R] [--json]")
    func load() throws -> Tokenizer {
        if a.path.hasSuffix(".gguf") {
            let f = try GGUFFile.open(path: a.path)
            guard let tok = try Tokenizer.fromGGUF(f.metadata, path: a.path) else { throw TensorCoreError("\(a.path): no tokenizer") }
            return tok
        }
        return try Tokenizer.load(path: a.path)
    }
    var loads: [Double] = []
    var tok = try load()
    for _ in 0..<a.runs {
        let t0 = DispatchTime.now().uptimeNanoseconds
        tok = try load()
        loads.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    guard let f = fopen(textPath, "rb") else { throw TensorCoreError("\(textPath): cannot open") }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
        let n = fread(&chunk, 1, chunk.count, f)
        if n == 0 { break }
        bytes += chunk[0..<n]
    }
    fclose(f)
    let text = String(decoding: bytes, as: UTF8.self)
    var encodes: [Double] = []
    var count = 0
    for _ in 0..<a.runs {
        let t0 = DispatchTime.now().uptimeNanoseconds
        count = tok.encode(text, addSpecialTokens: false).count
        encodes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    func median(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
    let mbps = Double(bytes.count) / 1e6 / median(encodes)
    if a.flags.contains("--json") {
        print("{\"load_s\": \(median(loads)), \"encode_s\": \(median(encodes)), \"encode_min_s\": \(encodes.min()!), \"bytes\": \(bytes.count), \"tokens\": \(count), \"mb_per_s\": \(mbps)}")
    } else {
        print("load \(median(loads) * 1000) ms, encode \(median(encodes)) s (\(mbps) MB/s), \(count) tokens")
    }
}
