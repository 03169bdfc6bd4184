// The restricted unpickler: a pickle virtual machine that runs only the opcodes a state dict needs
// and calls nothing. Its "calls" are a closed list: an empty OrderedDict, torch.Size of integers,
// and the two tensor rebuilders, which here only check numbers and record a view of a storage.
// Every other global is refused by name when it is named, before anything else happens.
//
// Bounds, checked before allocating: every length against the bytes that remain; at most
// `maxValues` values pushed in all (a memo fetch counts); at most `maxDepth` open MARKs; tensor
// ranks of at most 64; sizes, strides and offsets multiplied out with overflow checks and held
// inside their storage.

import TensorCore

/// Bounds on what one pickle may build.
public struct PickleLimits: Sendable {
    /// Values pushed in all (each opcode pushes at most one).
    public var maxValues = 4_000_000
    /// Open MARKs at once, and container nesting in the result.
    public var maxDepth = 200
    /// A view larger than its storage (stride 0 or overlapping) is materialised only up to this
    /// many bytes.
    public var maxExpandedBytes = 64 << 20
    public init() {}
}

/// What a persistent id asks for: `('storage', <type>, key, location, numel[, view])`.
struct StorageRequest {
    let key: String
    let dtype: DType
    let typeName: String
    let location: String
    let numel: Int
    /// Legacy storage views: (view key, element offset into the root, element count).
    let view: (key: String, offset: Int, numel: Int)?
    /// Byte of the BINPERSID.
    let pickleOffset: Int
}

/// Runs one pickle over bytes that stay valid for the machine's life.
struct PickleMachine {
    typealias PersistentLoad = (StorageRequest) throws(PyTorchError) -> StorageInfo

    let bytes: UnsafeRawBufferPointer
    /// How messages name the pickle: "data.pkl", "the main pickle", ….
    let pickleName: String
    let path: String
    let limits: PickleLimits
    let persistentLoad: PersistentLoad?

    private(set) var tuples: [[PickleValue]] = []
    private(set) var lists: [[PickleValue]] = []
    private(set) var dicts: [PickleDict] = []
    private(set) var tensors: [TensorRecord] = []
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [UInt32: PickleValue] = [:]
    private var pushed = 0
    private var pos = 0
    private var opStart = 0
    private var opName = ""

    init(bytes: UnsafeRawBufferPointer, pickleName: String, path: String, limits: PickleLimits, persistentLoad: PersistentLoad?) {
        self.bytes = bytes
        self.pickleName = pickleName
        self.path = path
        self.limits = limits
        self.persistentLoad = persistentLoad
    }

    // MARK: Errors

    private func fail(_ kind: PyTorchError.Kind, _ what: String) -> PyTorchError {
        PyTorchError(kind, path, "\(what) (\(opName) at byte \(opStart) of \(pickleName))")
    }

    /// A string from the file, safe to print on one line.
    static func printable(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars.prefix(120) {
            if u.value < 0x20 || u.value == 0x7F {
                out += "\\x" + (u.value < 0x10 ? "0" : "") + String(u.value, radix: 16)
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return s.unicodeScalars.count > 120 ? out + "…" : out
    }

    // MARK: Reading

    private mutating func take(_ n: Int) throws(PyTorchError) -> Int {
        guard n >= 0, n <= bytes.count - pos else {
            throw fail(.pickle, "\(pickleName) ends inside the operand: \(n) bytes needed, \(bytes.count - pos) left; truncated")
        }
        defer { pos += n }
        return pos
    }

    private mutating func u8() throws(PyTorchError) -> UInt8 { bytes[try take(1)] }
    private mutating func u16() throws(PyTorchError) -> UInt16 {
        UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(2), as: UInt16.self))
    }
    private mutating func u32() throws(PyTorchError) -> UInt32 {
        UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(4), as: UInt32.self))
    }
    private mutating func u64() throws(PyTorchError) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(8), as: UInt64.self))
    }

    /// A length read from the file, checked against the bytes left before anything is allocated.
    private mutating func length(_ n: UInt64) throws(PyTorchError) -> Int {
        let left = bytes.count - pos
        guard n <= UInt64(left) else {
            throw fail(.limit, "declares a length of \(n) bytes but only \(left) remain in \(pickleName)")
        }
        return Int(n)
    }

    private mutating func utf8(_ n: Int) throws(PyTorchError) -> String {
        let start = try take(n)
        guard let s = String(validating: bytes[start..<(start + n)], as: UTF8.self) else {
            throw fail(.pickle, "string of \(n) bytes is not valid UTF-8")
        }
        return s
    }

    private mutating func line() throws(PyTorchError) -> String {
        let start = pos
        var end = start
        while end < bytes.count, bytes[end] != 0x0A {
            end += 1
            if end - start > 256 { throw fail(.limit, "a GLOBAL name longer than 256 bytes") }
        }
        guard end < bytes.count else { throw fail(.pickle, "\(pickleName) ends inside a GLOBAL name; truncated") }
        pos = end + 1
        guard let s = String(validating: bytes[start..<end], as: UTF8.self) else { throw fail(.pickle, "a GLOBAL name is not UTF-8") }
        return s
    }

    // MARK: Stack

    private mutating func push(_ v: PickleValue) throws(PyTorchError) {
        pushed += 1
        if pushed > limits.maxValues {
            throw fail(.limit, "more than \(limits.maxValues) values; refused as a pickle bomb")
        }
        stack.append(v)
    }

    private mutating func pop() throws(PyTorchError) -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw fail(.pickle, "stack underflow") }
        return stack.removeLast()
    }

    private func top() throws(PyTorchError) -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw fail(.pickle, "stack underflow") }
        return stack[stack.count - 1]
    }

    private mutating func replaceTop(_ v: PickleValue) { stack[stack.count - 1] = v }

    private mutating func popMark() throws(PyTorchError) -> [PickleValue] {
        guard let m = marks.popLast() else { throw fail(.pickle, "no MARK before it") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func newTuple(_ items: [PickleValue]) -> PickleValue {
        tuples.append(items)
        return .tuple(tuples.count - 1)
    }

    private mutating func newList(_ items: [PickleValue]) -> PickleValue {
        lists.append(items)
        return .list(lists.count - 1)
    }

    private mutating func newDict() -> PickleValue {
        dicts.append(PickleDict())
        return .dict(dicts.count - 1)
    }

    // MARK: Running

    /// Runs from byte `start` to STOP; returns the result and the byte after STOP.
    mutating func run(from start: Int = 0) throws(PyTorchError) -> (value: PickleValue, end: Int) {
        pos = start
        while true {
            opStart = pos
            opName = "opcode"
            guard pos < bytes.count else {
                throw PyTorchError(.pickle, path, "\(pickleName) ends at byte \(pos) without a STOP; truncated")
            }
            let byte = bytes[pos]
            pos += 1
            guard let op = PickleOpcode(rawValue: byte) else {
                let hex = "0x" + String(byte, radix: 16, uppercase: true)
                if let known = PickleOpcode.refused[byte] {
                    throw PyTorchError(.refused, path, "refusing opcode \(hex) \(known) at byte \(opStart) of \(pickleName): the restricted unpickler runs only what a state dict needs")
                }
                throw PyTorchError(.pickle, path, "byte \(opStart) of \(pickleName) is \(hex), not a pickle opcode; corrupt")
            }
            opName = op.name
            if op == .stop {
                let v = try pop()
                return (v, pos)
            }
            try step(op)
        }
    }

    private mutating func step(_ op: PickleOpcode) throws(PyTorchError) {
        switch op {
        case .proto:
            let v = try u8()
            guard (2...5).contains(v) else { throw fail(.pickle, "pickle protocol \(v); WeightKit reads protocols 2 to 5") }
        case .frame:
            _ = try length(try u64())
        case .stop:
            break
        case .global:
            let module = try line()
            let name = try line()
            try pushGlobal(module: module, name: name)
        case .stackGlobal:
            let name = try pop(), module = try pop()
            guard case .string(let m) = module, case .string(let n) = name else {
                throw fail(.pickle, "STACK_GLOBAL needs two strings, got \(module.typeName) and \(name.typeName)")
            }
            try pushGlobal(module: m, name: n)
        case .reduce:
            let args = try pop()
            let callable = try top()
            guard case .tuple(let a) = args else { throw fail(.pickle, "arguments are a \(args.typeName), not a tuple") }
            guard case .global(let g) = callable else { throw fail(.pickle, "calls a \(callable.typeName), not a callable") }
            replaceTop(try call(g, tuples[a]))
        case .newObj:
            let args = try pop()
            let cls = try pop()
            guard case .tuple(let a) = args else { throw fail(.pickle, "arguments are a \(args.typeName), not a tuple") }
            guard case .global(let g) = cls, g == .orderedDict || g == .size else {
                throw fail(.refused, "refusing to instantiate \(cls.typeName): only collections.OrderedDict and torch.Size are ever made")
            }
            try push(try call(g, tuples[a]))
        case .build:
            let state = try pop()
            let inst = try top()
            guard case .dict(let d) = inst else {
                throw fail(.refused, "refusing to set the state of a \(inst.typeName): only an OrderedDict's attributes are accepted (and ignored)")
            }
            var count = 0
            func attributes(_ v: PickleValue) -> Int? {
                switch v {
                case .dict(let i): return dicts[i].keys.count
                case .none: return 0
                default: return nil
                }
            }
            if let n = attributes(state) {
                count = n
            } else if case .tuple(let t) = state, tuples[t].count == 2, let a = attributes(tuples[t][0]), let b = attributes(tuples[t][1]) {
                count = a + b
            } else {
                throw fail(.refused, "refusing a \(state.typeName) as an OrderedDict's state: only a dict of attributes is accepted")
            }
            dicts[d].attributes += count
        case .binPersId:
            let pid = try pop()
            try push(.storage(try persistent(pid)))
        case .mark:
            guard marks.count < limits.maxDepth else { throw fail(.limit, "more than \(limits.maxDepth) nested MARKs; refused") }
            marks.append(stack.count)
        case .tuple:
            let items = try popMark()
            try push(newTuple(items))
        case .emptyTuple:
            try push(newTuple([]))
        case .tuple1, .tuple2, .tuple3:
            let n = op == .tuple1 ? 1 : op == .tuple2 ? 2 : 3
            var items = [PickleValue]()
            for _ in 0..<n { items.append(try pop()) }
            try push(newTuple(items.reversed()))
        case .emptyList:
            try push(newList([]))
        case .list:
            let items = try popMark()
            try push(newList(items))
        case .emptyDict:
            try push(newDict())
        case .dict:
            let items = try popMark()
            let d = newDict()
            try setItems(items, into: d)
            try push(d)
        case .append:
            let item = try pop()
            let target = try top()
            guard case .list(let l) = target else { throw fail(.pickle, "APPEND to a \(target.typeName), not a list") }
            lists[l].append(item)
        case .appends:
            let items = try popMark()
            let target = try top()
            guard case .list(let l) = target else { throw fail(.pickle, "APPENDS to a \(target.typeName), not a list") }
            lists[l].append(contentsOf: items)
        case .setItem:
            let value = try pop()
            let key = try pop()
            let target = try top()
            guard case .dict = target else { throw fail(.pickle, "SETITEM on a \(target.typeName), not a dict") }
            try setItems([key, value], into: target)
        case .setItems:
            let items = try popMark()
            let target = try top()
            guard case .dict = target else { throw fail(.pickle, "SETITEMS on a \(target.typeName), not a dict") }
            try setItems(items, into: target)
        case .binInt:
            try push(.int(Int64(Int32(bitPattern: try u32()))))
        case .binInt1:
            try push(.int(Int64(try u8())))
        case .binInt2:
            try push(.int(Int64(try u16())))
        case .long1:
            let n = Int(try u8())
            let start = try take(n)
            try push(Self.long(Array(bytes[start..<(start + n)])))
        case .binFloat:
            let at = try take(8)
            try push(.float(Double(bitPattern: UInt64(bigEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)))))
        case .binUnicode:
            try push(.string(try utf8(try length(UInt64(try u32())))))
        case .shortBinUnicode, .shortBinString:
            try push(.string(try utf8(Int(try u8()))))
        case .binUnicode8:
            try push(.string(try utf8(try length(try u64()))))
        case .binBytes, .shortBinBytes, .binBytes8:
            let n: Int
            switch op {
            case .binBytes: n = try length(UInt64(try u32()))
            case .shortBinBytes: n = Int(try u8())
            default: n = try length(try u64())
            }
            let start = try take(n)
            try push(.bytes(Array(bytes[start..<(start + n)])))
        case .binGet, .longBinGet:
            let i = op == .binGet ? UInt32(try u8()) : try u32()
            guard let v = memo[i] else { throw fail(.pickle, "memo index \(i) was never set (\(memo.count) set)") }
            try push(v)
        case .binPut, .longBinPut:
            let i = op == .binPut ? UInt32(try u8()) : try u32()
            memo[i] = try top()
        case .memoize:
            memo[UInt32(memo.count)] = try top()
        case .none:
            try push(.none)
        case .newTrue:
            try push(.bool(true))
        case .newFalse:
            try push(.bool(false))
        }
    }

    /// LONG1's little-endian two's complement, as an Int64 when it fits.
    static func long(_ b: [UInt8]) -> PickleValue {
        if b.isEmpty { return .int(0) }
        let negative = b[b.count - 1] & 0x80 != 0
        let fill: UInt8 = negative ? 0xFF : 0x00
        // Fits when every byte past the eighth repeats the sign of the eighth's top bit.
        if b.count <= 8 || (b[8...].allSatisfy { $0 == fill } && (b[7] & 0x80 != 0) == negative) {
            var v: UInt64 = negative ? ~0 : 0
            for i in 0..<min(8, b.count) {
                v &= ~(UInt64(0xFF) << (8 * UInt64(i)))
                v |= UInt64(b[i]) << (8 * UInt64(i))
            }
            return .int(Int64(bitPattern: v))
        }
        return .bigInt(b)
    }

    private mutating func pushGlobal(module: String, name: String) throws(PyTorchError) {
        if module == "torch", TorchGlobal.unreadStorageTypes.contains(name) {
            throw PyTorchError(.tensor, path, "storage type torch.\(name) in \(pickleName) (\(opName) at byte \(opStart)) is valid torch.save but WeightKit does not read complex or quantized tensors")
        }
        guard let g = TorchGlobal.lookup(module: module, name: name) else {
            let qualified = Self.printable(module) + "." + Self.printable(name)
            throw PyTorchError(.refused, path, "refusing to call \(qualified) in \(pickleName) (\(opName) at byte \(opStart)): only tensors and plain containers are ever built")
        }
        try push(.global(g))
    }

    // MARK: Dicts

    private func key(_ v: PickleValue, depth: Int = 0) throws(PyTorchError) -> DictKey {
        switch v {
        case .string(let s): return .string(s)
        case .int(let i): return .int(i)
        case .bool(let b): return .int(b ? 1 : 0)
        case .bigInt(let b): return .bigInt(b)
        case .none: return .none
        case .float(let d):
            if d == d.rounded(), abs(d) < 9.2e18 { return .int(Int64(d)) }
            return .float(d.bitPattern)
        case .bytes(let b): return .bigInt([0x62] + b)  // distinct from any int: ints never start their bigInt form this way
        case .tuple(let t):
            guard depth < 32 else { throw fail(.limit, "a dict key nested more than 32 tuples deep") }
            var parts = [DictKey]()
            for item in tuples[t] { parts.append(try key(item, depth: depth + 1)) }
            return .tuple(parts)
        default:
            throw fail(.pickle, "a \(v.typeName) as a dict key")
        }
    }

    private mutating func setItems(_ items: [PickleValue], into target: PickleValue) throws(PyTorchError) {
        guard case .dict(let d) = target else { return }
        guard items.count % 2 == 0 else { throw fail(.pickle, "an odd number of items (\(items.count)) for key/value pairs") }
        var i = 0
        while i < items.count {
            let k = try key(items[i])
            if let at = dicts[d].positions[k] {
                dicts[d].values[at] = items[i + 1]
            } else {
                dicts[d].positions[k] = dicts[d].keys.count
                dicts[d].keys.append(items[i])
                dicts[d].values.append(items[i + 1])
            }
            i += 2
        }
    }

    // MARK: The calls

    private mutating func call(_ g: TorchGlobal, _ args: [PickleValue]) throws(PyTorchError) -> PickleValue {
        switch g {
        case .orderedDict:
            guard args.isEmpty else { throw fail(.refused, "refusing collections.OrderedDict with \(args.count) arguments: only an empty one is made, then filled") }
            return newDict()
        case .size:
            guard args.count == 1, case .tuple(let t) = args[0], try ints(tuples[t], what: "torch.Size") != nil else {
                throw fail(.pickle, "torch.Size takes one tuple of integers")
            }
            return args[0]
        case .rebuildParameter:
            guard args.count == 3, case .tensor = args[0], case .bool = args[1] else {
                throw fail(.pickle, "_rebuild_parameter takes (tensor, requires_grad, hooks), got \(args.map(\.typeName).joined(separator: ", "))")
            }
            try checkNoHooks(args[2])
            return args[0]
        case .rebuildTensor:
            return try rebuildTensor(args, v3: false)
        case .rebuildTensorV3:
            return try rebuildTensor(args, v3: true)
        case .storageType(let n, _):
            throw fail(.refused, "refusing to call torch.\(n) in \(pickleName): a storage type is valid only inside a persistent id")
        case .dtype(let n):
            throw fail(.refused, "refusing to call torch.\(n) in \(pickleName): a dtype is a value, not a callable")
        }
    }

    private func checkNoHooks(_ v: PickleValue) throws(PyTorchError) {
        switch v {
        case .none: return
        case .dict(let d) where dicts[d].keys.isEmpty: return
        default: throw fail(.refused, "refusing backward hooks (\(v.typeName)): a saved tensor carries none")
        }
    }

    /// Integers that fit an Int, or nil when an item is not an integer.
    private func ints(_ items: [PickleValue], what: String) throws(PyTorchError) -> [Int]? {
        var out = [Int]()
        for v in items {
            switch v {
            case .int(let i): out.append(Int(i))
            case .bigInt: throw fail(.tensor, "\(what) holds an integer wider than 64 bits")
            default: return nil
            }
        }
        return out
    }

    private mutating func rebuildTensor(_ args: [PickleValue], v3: Bool) throws(PyTorchError) -> PickleValue {
        let types = args.map(\.typeName).joined(separator: ", ")
        let fixed = v3 ? 7 : 6
        guard args.count == fixed || args.count == fixed + 1, case .storage(let storage) = args[0], case .int(let offset64) = args[1],
            case .tuple(let s) = args[2], case .tuple(let st) = args[3], case .bool = args[4]
        else {
            let signature = v3 ? "_rebuild_tensor_v3 takes (storage, offset, size, stride, requires_grad, hooks, dtype[, metadata])"
                : "_rebuild_tensor_v2 takes (storage, offset, size, stride, requires_grad, hooks[, metadata])"
            throw fail(.pickle, "\(signature), got (\(types))")
        }
        try checkNoHooks(args[5])
        if args.count == fixed + 1 {
            switch args[fixed] {
            case .none: break
            case .dict(let d) where dicts[d].keys.isEmpty: break
            default: throw fail(.refused, "refusing tensor metadata (\(args[fixed].typeName)): conjugate or negative views are not read")
            }
        }
        // The element type, and how many such elements the storage's bytes hold.
        var dtype = storage.dtype
        var available = storage.numel
        if v3 {
            guard case .global(.dtype(let name)) = args[6] else {
                throw fail(.pickle, "_rebuild_tensor_v3's dtype is a \(args[6].typeName), not a torch dtype")
            }
            guard let d = TorchGlobal.dtypes[name] ?? nil else {
                throw fail(.tensor, "tensors of torch.\(name) are valid torch.save but WeightKit does not read them")
            }
            dtype = d
            available = storage.numel * storage.dtype.blockBytes / d.blockBytes
        }
        guard let shape = try ints(tuples[s], what: "a size"), let strides = try ints(tuples[st], what: "a stride") else {
            throw fail(.pickle, "size and stride must be tuples of integers")
        }
        guard shape.count == strides.count, shape.count <= 64 else {
            throw fail(.tensor, "size \(shape) and stride \(strides) differ in rank (or exceed rank 64)")
        }
        if let d = shape.first(where: { $0 < 0 }) { throw fail(.tensor, "size \(shape) has a negative dimension \(d)") }
        if let d = strides.first(where: { $0 < 0 }) { throw fail(.tensor, "stride \(strides) has a negative entry \(d)") }
        guard offset64 >= 0 else { throw fail(.tensor, "storage offset \(offset64) is negative") }
        let offset = Int(offset64)
        guard let elements = Checked.product(shape), let byteCount = dtype.byteCount(elements: elements) else {
            throw fail(.tensor, "size \(shape) overflows when multiplied out")
        }
        if elements > 0 {
            var last = offset
            for (n, stride) in zip(shape, strides) {
                guard let step = Checked.mul(n - 1, stride), let next = Checked.add(last, step) else {
                    throw fail(.tensor, "size \(shape) with stride \(strides) overflows")
                }
                last = next
            }
            guard last < available else {
                throw fail(.tensor, "a view (offset \(offset), size \(shape), stride \(strides)) reaches element \(last) of a storage of \(available) elements; out of bounds")
            }
        } else if offset > available {
            throw fail(.tensor, "storage offset \(offset) lies past the storage's \(available) elements")
        }
        let storageBytes = storage.numel * storage.dtype.blockBytes
        if byteCount > storageBytes, byteCount > limits.maxExpandedBytes {
            throw fail(.limit, "a view of \(byteCount) bytes over a storage of \(storageBytes) (stride 0 or overlapping) exceeds the \(limits.maxExpandedBytes)-byte bound for expanded views")
        }
        tensors.append(TensorRecord(storage: storage, dtype: dtype, offset: offset, shape: shape, strides: strides, pickleOffset: opStart))
        return .tensor(tensors.count - 1)
    }

    private func persistent(_ pid: PickleValue) throws(PyTorchError) -> StorageInfo {
        guard case .tuple(let t) = pid, let first = tuples[t].first else {
            throw fail(.pickle, "persistent id is a \(pid.typeName), not a tuple")
        }
        let items = tuples[t]
        guard case .string(let kind) = first, kind == "storage" else {
            if case .string(let k) = first {
                throw fail(.refused, "refusing persistent id '\(Self.printable(k))': only storages are loaded (a 'module' id belongs to a whole-model torch.save, which needs its Python source)")
            }
            throw fail(.pickle, "persistent id starts with a \(first.typeName), not 'storage'")
        }
        guard let load = persistentLoad else {
            throw fail(.pickle, "a persistent id in \(pickleName), where none belongs")
        }
        guard items.count == 5 || items.count == 6 else {
            throw fail(.pickle, "storage persistent id has \(items.count) items, not 5 (zip) or 6 (legacy)")
        }
        guard case .global(let g) = items[1], case .storageType(let typeName, let dtype) = g else {
            throw fail(.pickle, "storage persistent id names a \(items[1].typeName) as its storage type")
        }
        guard case .string(let key) = items[2], case .string(let location) = items[3], case .int(let n) = items[4], n >= 0 else {
            throw fail(.pickle, "storage persistent id must be ('storage', type, key, location, numel ≥ 0), got (\(items.map(\.typeName).joined(separator: ", ")))")
        }
        var view: (key: String, offset: Int, numel: Int)? = nil
        if items.count == 6 {
            switch items[5] {
            case .none: break
            case .tuple(let v):
                guard tuples[v].count == 3, case .string(let vk) = tuples[v][0], case .int(let vo) = tuples[v][1],
                    case .int(let vn) = tuples[v][2], vo >= 0, vn >= 0
                else { throw fail(.pickle, "storage view metadata must be (key, offset ≥ 0, size ≥ 0)") }
                view = (vk, Int(vo), Int(vn))
            default: throw fail(.pickle, "storage view metadata is a \(items[5].typeName)")
            }
        }
        return try load(StorageRequest(
            key: key, dtype: dtype, typeName: typeName, location: location, numel: Int(n), view: view, pickleOffset: opStart))
    }
}
