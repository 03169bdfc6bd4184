// h5py (+ hdf5plugin) writes; WeightKit reads bit-exactly.
import Foundation
import HDF5Format
import TensorCore
import TestSupport
import Testing

/// Writes every dtype with one compression setting and prints {name: {dtype, shape, hex}}.
let writeAllDTypes = pyConvert + """
import h5py, hdf5plugin
path, comp = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(7)
kw = {'none': {}, 'gzip': dict(compression='gzip', compression_opts=4),
      'shuffle_gzip': dict(compression='gzip', shuffle=True), 'zstd': dict(hdf5plugin.Zstd(clevel=5))}[comp]
names = {'float16': 'f16', 'float32': 'f32', 'float64': 'f64', 'int8': 'i8', 'int16': 'i16', 'int32': 'i32',
         'int64': 'i64', 'uint8': 'u8', 'uint16': 'u16', 'uint32': 'u32', 'uint64': 'u64', 'bool': 'bool'}
arrays = {
  'f16': rng.standard_normal((3, 5)).astype(np.float16),
  'f32': rng.standard_normal((70, 100)).astype(np.float32),  # chunks of 16 rows: the last holds 6
  'f64': rng.standard_normal((2, 3, 4)),
  'i8': rng.integers(-128, 127, (7,), dtype=np.int8),
  'i16': rng.integers(-30000, 30000, (4, 4), dtype=np.int16),
  'i32': rng.integers(-2**31, 2**31 - 1, (9,), dtype=np.int32),
  'i64': rng.integers(-2**62, 2**62, (3, 2), dtype=np.int64),
  'u8': rng.integers(0, 255, (5, 5), dtype=np.uint8),
  'u16': rng.integers(0, 65535, (6,), dtype=np.uint16),
  'u32': rng.integers(0, 2**32 - 1, (2, 2), dtype=np.uint32),
  'u64': rng.integers(0, 2**63, (3,), dtype=np.uint64),
  'bool': rng.random((2, 3)) > 0.5,
  'big_endian/f32': rng.standard_normal((4, 3)).astype('>f4'),
  'big_endian/i64': rng.integers(-1000, 1000, (5,)).astype('>i8'),
  'model/layer.0/dense/kernel:0': rng.standard_normal((8, 4)).astype(np.float32),
}
out = {}
with h5py.File(path, 'w') as f:
    for name, a in arrays.items():
        if comp == 'none':
            f.create_dataset(name, data=a)
        else:
            chunks = (16,) + a.shape[1:] if name == 'f32' else True
            f.create_dataset(name, data=a, chunks=chunks, **kw)
        out[name] = {'dtype': names[a.dtype.name], 'shape': list(a.shape), 'hex': a.astype(a.dtype.newbyteorder('<')).tobytes().hex()}
    bits = (rng.standard_normal((4, 6)).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    d = f.create_dataset('bf16', data=bits, **({} if comp == 'none' else dict(chunks=True, **kw)))
    d.attrs['dtype'] = 'bfloat16'
    out['bf16'] = {'dtype': 'bf16', 'shape': [4, 6], 'hex': bits.tobytes().hex()}
    s = f.create_dataset('scalar', data=np.float32(3.5))
    out['scalar'] = {'dtype': 'f32', 'shape': [], 'hex': np.float32(3.5).tobytes().hex()}
    f.create_dataset('empty', data=np.zeros((0, 3), np.float32))
    out['empty'] = {'dtype': 'f32', 'shape': [0, 3], 'hex': ''}
print(json.dumps(out))
"""

@Suite struct ReadTests {
    @Test(arguments: ["none", "gzip", "shuffle_gzip", "zstd"])
    func everyDTypeBitExact(compression: String) throws {
        let path = scratch("all-\(compression).h5")
        let expected = try pythonJSON(writeAllDTypes, [path, compression])
        let file = try HDF5File.open(path: path)
        let want = expected.object ?? []
        #expect(Set(file.entries.map(\.name)) == Set(want.map(\.0)))
        // Depth-first, each group's members in name order.
        #expect(file.entries.map(\.name) == ["bf16", "big_endian/f32", "big_endian/i64", "bool", "empty", "f16", "f32", "f64",
            "i16", "i32", "i64", "i8", "model/layer.0/dense/kernel:0", "scalar", "u16", "u32", "u64", "u8"])
        for (name, spec) in want {
            guard let e = file.entry(named: name) else {
                Issue.record("missing \(name)")
                continue
            }
            #expect(e.dtype.rawValue == spec["dtype"]?.string, "\(name)")
            #expect(e.shape == (spec["shape"]?.array ?? []).compactMap(\.int), "\(name)")
            #expect(hex(try e.bytes().bytes) == spec["hex"]?.string, "\(name) bytes differ")
        }
        // The bf16 marker is consumed, not metadata.
        #expect(file.metadata["bf16@dtype"] == nil)
    }

    @Test func contiguousDataIsMappedZeroCopy() throws {
        let path = scratch("mapped.h5")
        _ = try pythonJSON(writeAllDTypes, [path, "none"])
        let file = try HDF5File.open(path: path)
        let f32 = try #require(file.entry(named: "f32"))
        #expect(try f32.bytes().region.path == path)
        let be = try #require(file.entry(named: "big_endian/f32"))
        #expect(try be.bytes().region.path == nil)  // converted, so read into the heap
    }

    @Test func userblockOffsetsAreHonoured() throws {
        let path = scratch("userblock.h5")
        let out = try Python.check("""
            import h5py, numpy as np, sys
            with h5py.File(sys.argv[1], 'w', userblock_size=1024) as f:
                f['w'] = np.arange(300, dtype=np.float32)
            print(np.arange(300, dtype=np.float32).tobytes().hex())
            """, [path])
        let file = try HDF5File.open(path: path)
        let data = try #require(file.entry(named: "w")).bytes()
        #expect(data.region.path == path)
        #expect(hex(data.bytes) == out.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func attributesOfEveryKind() throws {
        let path = scratch("attrs.h5")
        try Python.check("""
            import h5py, numpy as np, sys
            with h5py.File(sys.argv[1], 'w') as f:
                f.attrs['vlen_ascii'] = b'bytes here'
                f.attrs['vlen_utf8'] = 'h\\u00e9llo \\u2713'
                f.attrs['fixed_ascii'] = np.bytes_(b'fixed')
                f.attrs.create('fixed_utf8', data='na\\u00efve'.encode(), dtype=h5py.string_dtype('utf-8', 12))
                f.attrs['str_list'] = ['a', 'b\\u00e9', 'c']
                f.attrs['fixed_list'] = np.array([b'ab', b'c'])
                f.attrs['i64'] = np.int64(-5)
                f.attrs['u8'] = np.uint8(200)
                f.attrs['f32'] = np.float32(1.5)
                f.attrs['f64'] = 2.25
                f.attrs['ints'] = np.arange(4, dtype=np.int32)
                f.attrs['floats'] = np.array([0.5, 1.5])
                f.attrs['flag'] = True
                f.attrs['flags'] = np.array([True, False])
                f.attrs['layer_names0'] = np.array([b'l0', b'l1'])
                f.attrs['layer_names1'] = np.array([b'l2'])
                f.attrs['compound'] = np.array([(1, 2.0)], dtype=[('a', 'i4'), ('b', 'f8')])
                f['d'] = np.zeros(2, np.float32)
                f['d'].attrs['note'] = 'on a dataset'
                f.create_group('g/h').attrs['x'] = np.int16(7)
            """, [path])
        let m = try HDF5File.open(path: path)
        let md = m.metadata
        #expect(md["vlen_ascii"] == .string("bytes here"))
        #expect(md["vlen_utf8"] == .string("héllo ✓"))
        #expect(md["fixed_ascii"] == .string("fixed"))
        #expect(md["fixed_utf8"] == .string("naïve"))
        #expect(md["str_list"] == .array(.string, [.string("a"), .string("bé"), .string("c")]))
        #expect(md["fixed_list"] == .array(.string, [.string("ab"), .string("c")]))
        #expect(md["i64"] == .int64(-5))
        #expect(md["u8"] == .uint8(200))
        #expect(md["f32"] == .float32(1.5))
        #expect(md["f64"] == .float64(2.25))
        #expect(md["ints"] == .array(.int32, [.int32(0), .int32(1), .int32(2), .int32(3)]))
        #expect(md["floats"] == .array(.float64, [.float64(0.5), .float64(1.5)]))
        #expect(md["flag"] == .bool(true))
        #expect(md["flags"] == .array(.bool, [.bool(true), .bool(false)]))
        #expect(md["layer_names"] == .array(.string, [.string("l0"), .string("l1"), .string("l2")]))
        #expect(md["layer_names0"] == nil)
        #expect(md["d@note"] == .string("on a dataset"))
        #expect(md["g/h@x"] == .int16(7))
        #expect(md["compound"] == nil)
        #expect(m.skippedAttributes.count == 1 && m.skippedAttributes[0].hasPrefix("compound: "))
        #expect(m.groups == ["g", "g/h"])
    }
}
