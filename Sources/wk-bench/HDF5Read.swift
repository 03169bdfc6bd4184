// wk-bench hdf5-read FILE.h5 [--runs R] [--json] [--copy] [--list]
// Opens the file and produces every dataset's bytes (zero-copy map for contiguous data, libhdf5
// reads with the in-process zstd filter otherwise), touching one byte per 4 KiB page so mapped data
// is really paged in. `--copy` also copies every tensor into a fresh buffer (new pages from the kernel),
// as h5py's `ds[()]` returns an owned array. Prints the median and minimum seconds over R runs and GB/s of tensor bytes.

import HDF5Format
import TensorCore
#if canImport(Glibc)
    import Glibc
#endif

func benchHDF5Read(_ args: [String]) throws {
    let parsed = try BenchArguments(args, allowed: ["--json", "--list", "--copy"], usage: "usage: wk-bench hdf5-read FILE.h5 [--runs R] [--json] [--list] [--copy]")
    let (path, runs) = (parsed.path, parsed.runs)
    let (json, list, copy) = (parsed.flags.contains("--json"), parsed.flags.contains("--list"), parsed.flags.contains("--copy"))

    if list {
        let f = try HDF5File.open(path: path)
        for e in f.entries { print("\(e.name)\t\(e.dtype.rawValue)\t\(e.shape)\t\(e.byteCount)") }
        for m in f.metadata.entries { print("@\(m.key) = \(m.value.summary())") }
        for s in f.skippedAttributes { print("skipped \(s)") }
        return
    }

    var times: [Double] = []
    var total = 0
    var sink: UInt64 = 0
    for _ in 0..<runs {
        let start = now()
        let f = try HDF5File.open(path: path)
        total = 0
        for e in f.entries {
            let d = try e.bytes()
            total += d.count
            d.withUnsafeBytes { raw in
                if copy, raw.count > 0 {
                    // Fresh pages from the kernel for every tensor (what a new array of this size costs when
                    // the allocator has none to reuse), so the figure does not depend on what the process
                    // happened to allocate and free before: with malloc, glibc reused its heap for some of
                    // these 25 MB buffers and not others, depending on the allocation history of the build.
                    guard let fresh = mmap(nil, raw.count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), fresh != MAP_FAILED
                    else { fatalError("mmap of \(raw.count) bytes failed") }
                    fresh.copyMemory(from: raw.baseAddress!, byteCount: raw.count)
                    sink &+= UInt64(fresh.load(fromByteOffset: raw.count / 2, as: UInt8.self))
                    munmap(fresh, raw.count)
                }
                var p = 0
                while p < raw.count {
                    sink &+= UInt64(raw[p])
                    p += 4096
                }
            }
        }
        times.append(now() - start)
    }
    times.sort()
    let median = times[times.count / 2]
    let gbps = Double(total) / median / 1e9
    if json {
        print("{\"file\": \"\(path)\", \"bytes\": \(total), \"runs\": \(runs), \"median_s\": \(median), \"min_s\": \(times[0]), \"gb_per_s\": \(gbps)}")
    } else {
        print("\(path): \(total) bytes, median \(String(format6(median))) s, min \(String(format6(times[0]))) s, \(String(format6(gbps))) GB/s")
    }
    if sink == 42 { writeStandardError("") }  // keeps the page touches
}

func format6(_ x: Double) -> String {
    let scaled = (x * 1e4).rounded() / 1e4
    return "\(scaled)"
}
