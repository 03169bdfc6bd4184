// Malformed torch.save files built in memory, each asserting the exact message it must produce;
// every truncation and every single-byte corruption of valid files read without a crash; the
// pickle bounds with lowered limits.

import Foundation
import Testing
import TestSupport
@testable import PyTorchFormat
@testable import TensorCore

@Suite("PyTorch hostile input")
struct HostileInputTests {
    static let f32x4: [UInt8] = [Float(1), 2, 3, 4].withUnsafeBytes { Array($0) }

    /// A valid one-tensor state dict, optionally with `body` spliced in before it.
    static func statePickle(_ before: (inout PickleBytes) -> Void = { _ in }) -> [UInt8] {
        var p = PickleBytes()
        p.proto()
        before(&p)
        p.stateDict([("w", { $0.tensor(key: "0", numel: 4, size: [2, 2], stride: [2, 1]) })])
        p.stop()
        return p.bytes
    }

    static func open(_ bytes: [UInt8], limits: PickleLimits = PickleLimits()) throws -> PyTorchFile {
        try PyTorchFile(region: ByteRegion(bytes), path: "x.pt", limits: limits)
    }

    static func message(_ pickle: [UInt8], storages: [(String, [UInt8])] = [("0", f32x4)], limits: PickleLimits = PickleLimits()) -> String {
        do {
            _ = try open(ZipBytes.torch(pickle: pickle, storages: storages), limits: limits)
            return "opened"
        } catch { return "\(error)" }
    }

    @Test("a valid file built here opens with its tensor")
    func valid() throws {
        let f = try Self.open(ZipBytes.torch(pickle: Self.statePickle(), storages: [("0", Self.f32x4)]))
        #expect(f.tensors.map(\.name) == ["w"])
        #expect(f["w"]?.access == .mapped)
        #expect(try f["w"]!.entry.load().floats() == [1, 2, 3, 4])
    }

    @Test("refused globals name themselves, the pickle and the byte")
    func globals() {
        var p = PickleBytes()
        p.proto()
        p.global("builtins", "eval")
        #expect(Self.message(p.bytes) == "x.pt: refusing to call builtins.eval in data.pkl (GLOBAL at byte 2): only tensors and plain containers are ever built")
        var q = PickleBytes()
        q.proto(4)
        q.string("os")
        q.string("system")
        q.op(0x93)
        #expect(Self.message(q.bytes) == "x.pt: refusing to call os.system in data.pkl (STACK_GLOBAL at byte 20): only tensors and plain containers are ever built")
        var r = PickleBytes()
        r.proto()
        r.string("a\u{1}b")
        r.string("c")
        r.op(0x93)
        #expect(Self.message(r.bytes) == "x.pt: refusing to call a\\x01b.c in data.pkl (STACK_GLOBAL at byte 16): only tensors and plain containers are ever built")
    }

    @Test("allowed globals are only called the way a state dict calls them")
    func allowedMisused() {
        var p = PickleBytes()
        p.proto()
        p.global("torch", "FloatStorage")
        p.tuple { $0.int(1 << 20) }
        p.op(0x52)
        #expect(Self.message(p.bytes) == "x.pt: refusing to call torch.FloatStorage in data.pkl: a storage type is valid only inside a persistent id (REDUCE at byte 29 of data.pkl)")
        var q = PickleBytes()
        q.proto()
        q.raw([0x30])
        #expect(Self.message(q.bytes) == "x.pt: refusing opcode 0x30 POP at byte 2 of data.pkl: the restricted unpickler runs only what a state dict needs")
    }

    @Test("stack, memo and container misuse")
    func machine() {
        var p = PickleBytes()
        p.proto()
        p.op(0x5D)
        p.string("k")
        p.string("v")
        p.op(0x73)
        #expect(Self.message(p.bytes) == "x.pt: SETITEM on a list, not a dict (SETITEM at byte 15 of data.pkl)")
        #expect(Self.message([0x80, 2, 0x68, 9]) == "x.pt: memo index 9 was never set (0 set) (BINGET at byte 2 of data.pkl)")
        #expect(Self.message([0x80, 2, 0x52]) == "x.pt: stack underflow (REDUCE at byte 2 of data.pkl)")
        #expect(Self.message([0x80, 2, 0x58, 0xFF, 0xFF, 0xFF, 0xFF, 0x61, 0x62, 0x63]) == "x.pt: declares a length of 4294967295 bytes but only 3 remain in data.pkl (BINUNICODE at byte 2 of data.pkl)")
        #expect(Self.message([0x80, 2, 0x4E]) == "x.pt: data.pkl ends at byte 3 without a STOP; truncated")
        #expect(Self.message(Self.statePickle() + [0]) == "x.pt: 1 bytes follow the STOP of data.pkl (byte \(Self.statePickle().count)); refused")
    }

    @Test("tensors must fit their storages")
    func tensors() {
        func one(size: [Int], stride: [Int], offset: Int = 0, numel: Int = 4) -> String {
            var p = PickleBytes()
            p.proto()
            p.stateDict([("w", { $0.tensor(key: "0", numel: numel, offset: offset, size: size, stride: stride) })])
            p.stop()
            return Self.message(p.bytes)
        }
        #expect(one(size: [5], stride: [1]) == "x.pt: a view (offset 0, size [5], stride [1]) reaches element 4 of a storage of 4 elements; out of bounds (REDUCE at byte 160 of data.pkl)")
        #expect(one(size: [2], stride: [1], offset: 3) == "x.pt: a view (offset 3, size [2], stride [1]) reaches element 4 of a storage of 4 elements; out of bounds (REDUCE at byte 160 of data.pkl)")
        #expect(one(size: [-1], stride: [1]).hasPrefix("x.pt: size [-1] has a negative dimension -1 (REDUCE at byte"))
        #expect(one(size: [2, 2], stride: [2, 1], numel: 5) == "x.pt: entry 'archive/data/0' holds 16 bytes but data.pkl (byte 120) says 5 × FloatStorage = 20")
        #expect(one(size: [1 << 40, 1 << 40], stride: [0, 0]).hasPrefix("x.pt: size [1099511627776, 1099511627776] overflows when multiplied out"))
        #expect(one(size: [4], stride: [1 << 62]).hasPrefix("x.pt: size [4] with stride [4611686018427387904] overflows"))
    }

    @Test("the zip container's own checks")
    func zipContainer() {
        let good = ZipBytes.torch(pickle: Self.statePickle(), storages: [("0", Self.f32x4)])
        func msg(_ b: [UInt8]) -> String { (try? Self.open(b)).map { _ in "opened" } ?? { do { _ = try Self.open(b); return "" } catch { return "\(error)" } }() }
        #expect(msg(Array(good.prefix(100))) == "x.pt: no zip end-of-central-directory record at the end of the file; truncated?")
        var evil = ZipBytes.make([("archive/data.pkl", Self.statePickle()), ("archive/../x", [1])])
        #expect(msg(evil) == "x.pt: entry name 'archive/../x' has a '.' or '..' segment; refused")
        evil = ZipBytes.make([("archive/data.pkl", Self.statePickle()), ("archive/data/0", Self.f32x4), ("elsewhere/x", [1])])
        #expect(msg(evil) == "x.pt: entry 'elsewhere/x' lies outside the archive folder 'archive/'; refused")
        // Set the deflate method on archive/data/0 in both headers.
        var deflated = good
        var i = 0
        while i + 4 <= deflated.count {
            if deflated[i..<(i + 4)] == [0x50, 0x4B, 0x03, 0x04] || deflated[i..<(i + 4)] == [0x50, 0x4B, 0x01, 0x02] {
                let nameAt = deflated[i + 1] == 0x4B && deflated[i + 2] == 0x03 ? i + 30 : i + 46
                if Array(deflated[nameAt..<min(nameAt + 14, deflated.count)]) == Array("archive/data/0".utf8) {
                    let methodAt = deflated[i + 2] == 0x03 ? i + 8 : i + 10
                    deflated[methodAt] = 8
                }
            }
            i += 1
        }
        #expect(msg(deflated) == "x.pt: entry 'archive/data/0' is deflate-compressed: 16 bytes that would expand to 16; torch.save stores every entry uncompressed and WeightKit maps them, so compressed entries are refused")
        let script = ZipBytes.make([("m/data.pkl", Self.statePickle()), ("m/constants.pkl", [0x80, 2, 0x29, 0x2E])])
        #expect(msg(script).hasPrefix("x.pt: is a TorchScript archive (it holds 'm/constants.pkl')"))
    }

    @Test("pickle bounds: values, MARK depth, result depth, memo laughs")
    func bounds() {
        var limits = PickleLimits()
        limits.maxValues = 1000
        var p = PickleBytes()
        p.proto()
        p.op(0x5D)
        for _ in 0..<1200 {
            p.op(0x4E)
            p.op(0x61)
        }
        p.stop()
        #expect(Self.message(p.bytes, limits: limits) == "x.pt: more than 1000 values; refused as a pickle bomb (NONE at byte 2001 of data.pkl)")
        limits = PickleLimits()
        limits.maxDepth = 10
        #expect(Self.message([0x80, 2] + [UInt8](repeating: 0x28, count: 11), limits: limits) == "x.pt: more than 10 nested MARKs; refused (MARK at byte 12 of data.pkl)")
        #expect(Self.message([0x80, 2, 0x4E] + [UInt8](repeating: 0x85, count: 12) + [0x2E], limits: limits)
            == "x.pt: the saved object nests deeper than 10 levels at '0.0.0.0.0.0.0.0.0.0.0…'; refused")
    }

    @Test("containers shared through the memo are walked once: cycles and memo laughs cost one visit each")
    func sharing() throws {
        // [None] put in memo 0, then list i holds list i-1 twice, 40 levels: 2^40 paths to None.
        var laughs: [UInt8] = [0x80, 2, 0x5D, 0x4E, 0x61, 0x71, 0]
        for i in 1...40 { laughs += [0x5D, 0x68, UInt8(i - 1), 0x61, 0x68, UInt8(i - 1), 0x61, 0x71, UInt8(i)] }
        laughs.append(0x2E)
        let f = try Self.open(ZipBytes.torch(pickle: laughs, storages: []))
        #expect(f.others.count == 41)
        #expect(f.others.first { $0.name == "1" }?.text == "the same list as '0'")
        let cycle = try Self.open(ZipBytes.torch(pickle: [0x80, 2, 0x5D, 0x71, 0, 0x68, 0, 0x61, 0x2E], storages: []))
        #expect(cycle.others == [PyTorchValue(name: "0", components: ["0"], type: "list", text: "the same list as '(root)'")])
    }

    @Test("every truncation of valid files, in both layouts, is an error, never a crash")
    func truncations() throws {
        // A cut zip loses its end record, whatever the length: a sample of lengths, and every one near the end.
        // A cut legacy file stops somewhere in its pickles or storages: every length.
        for name in ["tensors/dtypes.pt", "tensors/dtypes-legacy.pt", "tensors/views-legacy.pt"] {
            let full = try [UInt8](Data(contentsOf: URL(fileURLWithPath: RepoPaths.fixtures("pytorch/" + name))))
            _ = try Self.open(full)
            let zip = name.hasSuffix("dtypes.pt")
            for n in 0..<full.count where !zip || n % 16 == 0 || n > full.count - 200 {
                #expect(throws: PyTorchError.self, "\(name) cut at \(n)") { _ = try Self.open(Array(full.prefix(n))) }
            }
        }
    }

    @Test("every single-byte corruption of valid files reads or fails cleanly")
    func corruptions() throws {
        let zip = ZipBytes.torch(pickle: Self.statePickle(), storages: [("0", Self.f32x4)])
        let legacy = try [UInt8](Data(contentsOf: URL(fileURLWithPath: RepoPaths.fixtures("pytorch/tensors/views-legacy.pt"))))
        for (name, full, flips) in [("zip", zip, [UInt8(0xFF), 0x01]), ("views-legacy.pt", legacy, [0xFF])] {
            for i in 0..<full.count {
                for flip in flips {
                    var b = full
                    b[i] ^= flip
                    do {
                        let f = try Self.open(b)
                        for t in f.tensors { _ = try t.entry.bytes() }
                    } catch is PyTorchError {
                    } catch {
                        Issue.record("\(name) byte \(i) ^ \(flip): \(type(of: error)) \(error)")
                    }
                }
            }
        }
    }

    @Test("the strided gather agrees with index arithmetic", arguments: [
        ([3, 4], [1, 3]), ([2, 3, 4], [12, 1, 3]), ([4, 3], [0, 1]), ([2, 2, 2, 2], [1, 2, 4, 8]), ([5], [3]), ([], []),
        ([3, 1, 2], [2, 7, 1]),
    ])
    func gather(shape: [Int], strides: [Int]) {
        let n = shape.reduce(1, *)
        let source = (0..<64).map { Int32($0 * 7 + 1) }
        var got = [Int32](repeating: -1, count: n)
        source.withUnsafeBytes { s in
            got.withUnsafeMutableBytes { d in
                StridedCopy.gather(s.baseAddress!, into: d.baseAddress!, elementSize: 4, shape: shape, strides: strides)
            }
        }
        var want = [Int32]()
        for flat in 0..<n {
            var rest = flat, at = 0
            for (dim, stride) in zip(shape, strides).reversed() {
                at += (rest % dim) * stride
                rest /= dim
            }
            want.append(source[at])
        }
        #expect(got == want)
    }
}
