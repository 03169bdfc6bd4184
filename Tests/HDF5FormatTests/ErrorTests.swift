// Broken and hostile inputs: each gives one line naming the file and the object, never a crash.
import Foundation
import HDF5Format
import TensorCore
import TestSupport
import Testing

@Suite struct ErrorTests {
    @Test func missingFile() {
        let path = scratch("nope.h5")
        expectOneLine(errorLine { _ = try HDF5File.open(path: path) }, path: path, contains: "cannot open: No such file")
    }

    @Test func notHDF5() throws {
        let path = scratch("text.h5")
        try "just some text, not HDF5\n".write(toFile: path, atomically: false, encoding: .utf8)
        expectOneLine(errorLine { _ = try HDF5File.open(path: path) }, path: path, contains: "not an HDF5 file")
        let empty = scratch("empty.h5")
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        expectOneLine(errorLine { _ = try HDF5File.open(path: empty) }, path: empty, contains: "not an HDF5 file")
    }

    @Test(arguments: [0.5, 0.9, 0.02])
    func truncated(fraction: Double) throws {
        let path = scratch("trunc-\(fraction).h5")
        try Python.check("""
            import h5py, numpy as np, sys, os
            with h5py.File(sys.argv[1], 'w') as f:
                f['a'] = np.arange(50000, dtype=np.float32)
                f['b'] = np.arange(50000, dtype=np.float32)
            size = os.path.getsize(sys.argv[1])
            os.truncate(sys.argv[1], int(size * float(sys.argv[2])))
            """, [path, "\(fraction)"])
        let message = errorLine {
            let f = try HDF5File.open(path: path)
            for e in f.entries { _ = try e.bytes() }
        }
        expectOneLine(message, path: path, contains: "truncated")
    }

    @Test func unknownFilter() throws {
        let path = scratch("blosc.h5")
        try Python.check("""
            import h5py, hdf5plugin, numpy as np, sys
            with h5py.File(sys.argv[1], 'w') as f:
                f.create_dataset('layer/w', data=np.arange(1000, dtype=np.float32), chunks=(100,), **hdf5plugin.Blosc())
                f['ok'] = np.ones(3, np.float32)
            """, [path])
        let file = try HDF5File.open(path: path)  // listing works
        #expect(file.entries.map(\.name) == ["layer/w", "ok"])
        let e = try #require(file.entry(named: "layer/w"))
        expectOneLine(errorLine { _ = try e.bytes() }, path: path, contains: "dataset 'layer/w': compressed with HDF5 filter 'blosc' (32001), which is not available")
        #expect(try file.entry(named: "ok")?.bytes().count == 12)
    }

    @Test func absurdDimensions() throws {
        let path = scratch("absurd.h5")
        try Python.check("""
            import h5py, sys
            with h5py.File(sys.argv[1], 'w') as f:
                f.create_dataset('huge', shape=(2**40, 2**40), dtype='f4', chunks=(1, 1))
            """, [path])
        expectOneLine(errorLine { _ = try HDF5File.open(path: path) }, path: path, contains: "dataset 'huge': shape [1099511627776, 1099511627776] of f32 overflows")
    }

    @Test func hugeButRepresentableDatasetIsRefusedBeforeAllocating() throws {
        let path = scratch("sparse.h5")
        try Python.check("""
            import h5py, sys
            with h5py.File(sys.argv[1], 'w') as f:
                f.create_dataset('sparse', shape=(2**40,), dtype='f8', chunks=(1024,))
            """, [path])
        let file = try HDF5File.open(path: path)
        let e = try #require(file.entry(named: "sparse"))
        #expect(e.byteCount == 1 << 43)
        expectOneLine(errorLine { _ = try e.bytes() }, path: path, contains: "more than this machine's memory")
    }

    @Test func corruptZstdChunk() throws {
        let path = scratch("badzstd.h5")
        try Python.check("""
            import h5py, hdf5plugin, numpy as np, sys
            with h5py.File(sys.argv[1], 'w') as f:
                d = f.create_dataset('w', data=np.random.default_rng(0).standard_normal(20000).astype(np.float32),
                                     chunks=(10000,), **hdf5plugin.Zstd())
                info = d.id.get_chunk_info(1)
            with open(sys.argv[1], 'r+b') as fh:
                fh.seek(info.byte_offset + 20)
                fh.write(b'\\xff' * 64)
            """, [path])
        let file = try HDF5File.open(path: path)
        expectOneLine(errorLine { _ = try file.entry(named: "w")!.bytes() }, path: path, contains: "dataset 'w': cannot read")
    }

    @Test func unsupportedDatasetType() throws {
        let path = scratch("strings.h5")
        try Python.check("""
            import h5py, sys
            with h5py.File(sys.argv[1], 'w') as f:
                f['vocab'] = ['a', 'b']
            """, [path])
        expectOneLine(errorLine { _ = try HDF5File.open(path: path) }, path: path, contains: "dataset 'vocab': HDF5 type class string is not a tensor element type")
    }
}
