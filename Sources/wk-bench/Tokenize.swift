// wk-bench tokenize TOKENIZER --text FILE [--runs R] [--lines] [--plain] [--load-only] [--json]: load time
// and single-threaded encode throughput of one tokenizer over one text, for Benchmarks/tokenizers/bench.py.
// TOKENIZER is a .gguf file or anything `Tokenizer.load` reads. Each run encodes the whole text in one
// `encode` call (no BOS/EOS), or with --lines the text cut after each newline as one `encodeBatch`; --plain
// leaves special tokens in the text as text (as sentencepiece does); --ids writes the last run's ids as
// little-endian u32. `ids_hash` is the sum over positions
// i = 1… of id × i × 0x9E3779B97F4A7C15 modulo 2^64, which bench.py computes for the other side.

import Dispatch
import GGUFFormat
import TensorCore
import Tokenizers

#if canImport(Glibc)
    import Glibc
#endif

func benchTokenize(_ raw: [String]) throws {
    let usage = "usage: wk-bench tokenize TOKENIZER --text FILE [--runs R] [--lines] [--plain] [--load-only] [--ids OUT] [--json]"
    var args = raw
    guard let t = args.firstIndex(of: "--text"), t + 1 < args.count else { throw TensorCoreError(usage) }
    let textPath = args[t + 1]
    args.removeSubrange(t...(t + 1))
    var idsPath: String? = nil
    if let k = args.firstIndex(of: "--ids"), k + 1 < args.count {
        idsPath = args[k + 1]
        args.removeSubrange(k...(k + 1))
    }
    let a = try BenchArguments(args, allowed: ["--json", "--lines", "--plain", "--load-only"], usage: usage)
    func load() throws -> Tokenizer {
        if a.path.hasSuffix(".gguf") {
            let f = try GGUFFile.open(path: a.path)
            guard let tok = try Tokenizer.fromGGUF(f.metadata(arraysUpTo: 64), path: a.path, strings: f.packedStrings, numbers: f.numbers)
            else { throw TensorCoreError("\(a.path): no tokenizer") }
            return tok
        }
        return try Tokenizer.load(path: a.path)
    }
    func seconds(since t0: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 }
    // CPU time of the process (one thread here), beside the wall time: on a shared machine it moves less
    // with the load.
    func cpuNow() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
    func median(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
    var loads: [Double] = []
    var loadsCPU: [Double] = []
    var tok = try load()
    for _ in 0..<a.runs {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let c0 = cpuNow()
        tok = try load()
        loads.append(seconds(since: t0))
        loadsCPU.append(cpuNow() - c0)
    }
    if a.flags.contains("--load-only") {
        if a.flags.contains("--json") {
            print("{\"load_s\": \(median(loads)), \"load_min_s\": \(loads.min()!), \"load_cpu_s\": \(median(loadsCPU))}")
        } else {
            print("load \(median(loads) * 1000) ms (min \(loads.min()! * 1000) ms, CPU \(median(loadsCPU) * 1000) ms)")
        }
        return
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
    var lines: [String] = []
    if a.flags.contains("--lines") {
        var start = 0
        for (i, b) in bytes.enumerated() where b == 0x0A {
            lines.append(String(decoding: bytes[start...i], as: UTF8.self))
            start = i + 1
        }
        if start < bytes.count { lines.append(String(decoding: bytes[start...], as: UTF8.self)) }
    }
    let parseSpecial = !a.flags.contains("--plain")
    var encodes: [Double] = []
    var encodesCPU: [Double] = []
    var ids: [Int] = []
    for r in 0..<a.runs {
        if r > 0 { tok = try load() }  // every run starts from a freshly loaded tokenizer, as bench.py's other side
        let t0 = DispatchTime.now().uptimeNanoseconds
        let c0 = cpuNow()
        if a.flags.contains("--lines") {
            let batch = tok.encodeBatch(lines, addSpecialTokens: false, parseSpecial: parseSpecial)
            encodes.append(seconds(since: t0))
            encodesCPU.append(cpuNow() - c0)
            ids = batch.flatMap { $0 }
        } else {
            ids = tok.encode(text, addSpecialTokens: false, parseSpecial: parseSpecial)
            encodes.append(seconds(since: t0))
            encodesCPU.append(cpuNow() - c0)
        }
    }
    var hash: UInt64 = 0
    for (i, id) in ids.enumerated() { hash &+= UInt64(truncatingIfNeeded: id) &* (UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15) }
    if let idsPath {
        guard let out = fopen(idsPath, "wb") else { throw TensorCoreError("\(idsPath): cannot create") }
        let words = ids.map { UInt32(truncatingIfNeeded: $0).littleEndian }
        _ = words.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, out) }
        fclose(out)
    }
    let mbps = Double(bytes.count) / 1e6 / median(encodes)
    if a.flags.contains("--json") {
        print(
            "{\"load_s\": \(median(loads)), \"encode_s\": \(median(encodes)), \"encode_min_s\": \(encodes.min()!), \"encode_cpu_s\": \(median(encodesCPU)), \"load_cpu_s\": \(median(loadsCPU)), \"bytes\": \(bytes.count), \"tokens\": \(ids.count), \"ids_hash\": \(hash), \"mb_per_s\": \(mbps)}"
        )
    } else {
        print("load \(median(loads) * 1000) ms (CPU \(median(loadsCPU) * 1000) ms), encode \(median(encodes)) s (\(mbps) MB/s; CPU \(median(encodesCPU)) s, \(Double(bytes.count) / 1e6 / median(encodesCPU)) MB/s), \(ids.count) tokens")
    }
}
