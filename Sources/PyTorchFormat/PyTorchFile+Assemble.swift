// From the unpickled object to named tensors: the object is walked (dict keys and list indices
// joined by dots), each tensor gets its bytes (a slice of the map, or a copy when it is a strided,
// unaligned or big-endian view), storages shared by several tensors are noted, and every other
// value is listed. The walk is bounded in depth, and visits each container once: a cycle, or a
// memo "billion laughs" (a list holding the same list twice, sixty levels deep), costs one visit
// per container built, not one per path through them.

import TensorCore

/// The walked object: tensors and other values.
struct Assembled {
    var tensors: [PyTorchTensor] = []
    var others: [PyTorchValue] = []
    var attributes = 0
    var storageCount = 0

    init(
        machine: PickleMachine, root: PickleValue, table: StorageTable, region: ByteRegion, bigEndian: Bool, path: String,
        limits: PickleLimits
    ) throws(PyTorchError) {
        var walker = Walker(machine: machine, limits: limits, path: path)
        try walker.walk(root, depth: 0)
        attributes = walker.attributes
        others = walker.others
        var names = Set<String>()
        for n in walker.tensors.map(\.name) + others.map(\.name) where !names.insert(n).inserted {
            throw PyTorchError(.pickle, path, "two entries are both named '\(n)' once their path is joined with dots; refused")
        }
        var byStorage = [Int: [Int]]()  // root slot → tensor indices
        var usedSlots = Set<Int>()
        for (name, components, t) in walker.tensors {
            let record = machine.tensors[t]
            let slot = table.slots[record.storage.index]
            usedSlots.insert(slot.parent ?? record.storage.index)
            let tensor = try Self.make(
                name: name, components: components, record: record, slot: slot, region: region, bigEndian: bigEndian, path: path)
            byStorage[slot.parent ?? record.storage.index, default: []].append(tensors.count)
            tensors.append(tensor)
        }
        storageCount = usedSlots.count
        for (_, group) in byStorage where group.count > 1 {
            for i in group {
                tensors[i].sharesStorageWith = group.filter { $0 != i }.map { tensors[$0].name }
                let a = tensors[i]
                if let first = group.first(where: { j in
                    j < i && tensors[j].storageOffset == a.storageOffset && tensors[j].shape == a.shape && tensors[j].strides == a.strides
                        && tensors[j].dtype == a.dtype
                }) {
                    tensors[i].sameAs = tensors[first].name
                }
            }
        }
    }

    /// Row-major strides (any stride on a size-1 dimension; anything when there are no elements).
    static func isContiguous(shape: [Int], strides: [Int]) -> Bool {
        if shape.contains(0) { return true }
        var expected = 1
        for (n, s) in zip(shape, strides).reversed() {
            if n != 1 && s != expected { return false }
            expected *= n
        }
        return true
    }

    /// A tensor over its storage's bytes.
    static func make(
        name: String, components: [String], record: TensorRecord, slot: StorageSlot, region: ByteRegion, bigEndian: Bool,
        path: String
    ) throws(PyTorchError) -> PyTorchTensor {
        let dtype = record.dtype
        let es = dtype.blockBytes
        let shape = record.shape
        let strides = record.strides
        let elements = shape.reduce(1, *)  // checked when the tensor was rebuilt
        let byteCount = elements * es
        let start = slot.fileOffset + record.offset * es
        let contiguous = Self.isContiguous(shape: shape, strides: strides)
        let access: PyTorchTensor.Access
        if elements == 0 {
            access = .mapped
        } else if bigEndian {
            access = .copiedByteSwapped
        } else if !contiguous {
            access = .copiedView
        } else if start % dtype.alignment != 0 {
            access = .copiedUnaligned
        } else {
            access = .mapped
        }
        // The whole span the view reaches, checked against the storage when it was rebuilt, and the
        // storage against the file when its entry or record was read.
        let span = elements == 0 ? 0 : zip(shape, strides).reduce(es) { $0 + ($1.0 - 1) * $1.1 * es }
        guard start >= 0, span <= region.count - start else {
            throw PyTorchError(.tensor, path, "tensor '\(name)' reaches past the end of the file; corrupt")
        }
        let entry: TensorEntry
        do {
            if access == .mapped {
                let data = TensorData(region: region, offset: elements == 0 ? 0 : start, count: byteCount)!
                entry = try TensorEntry(name: name, dtype: dtype, shape: shape) { data }
            } else {
                entry = try TensorEntry(name: name, dtype: dtype, shape: shape) {
                    let out = ByteRegion(count: byteCount) { dst in
                        region.withUnsafeBytes(offset: start, count: span) { src in
                            if contiguous {
                                dst.baseAddress!.copyMemory(from: src.baseAddress!, byteCount: byteCount)
                            } else {
                                StridedCopy.gather(src.baseAddress!, into: dst.baseAddress!, elementSize: es, shape: shape, strides: strides)
                            }
                        }
                        if bigEndian { StridedCopy.swapBytes(dst.baseAddress!, count: byteCount, elementSize: es) }
                    }
                    return TensorData(region: out, offset: 0, count: byteCount)!
                }
            }
        } catch {
            throw PyTorchError(.tensor, path, "tensor '\(name)': \(error)")
        }
        return PyTorchTensor(
            name: name, components: components, dtype: dtype, shape: shape, strides: strides, storageOffset: record.offset,
            storageKey: slot.key, access: access, entry: entry)
    }
}

/// Walks the unpickled object. A container reached a second time (shared through the memo, or a
/// cycle) is not walked again: it is listed as a reference to where it was first seen, so the walk
/// visits each container once and its cost is bounded by what the pickle built.
private struct Walker {
    let machine: PickleMachine
    let limits: PickleLimits
    let path: String
    var components: [String] = []
    var seen: [String: String] = [:]  // "list 3" → the dotted name where it was first reached
    var tensors: [(name: String, components: [String], index: Int)] = []
    var others: [PyTorchValue] = []
    var attributes = 0

    init(machine: PickleMachine, limits: PickleLimits, path: String) {
        self.machine = machine
        self.limits = limits
        self.path = path
    }

    mutating func walk(_ v: PickleValue, depth: Int) throws(PyTorchError) {
        guard depth <= limits.maxDepth else {
            throw PyTorchError(.limit, path, "the saved object nests deeper than \(limits.maxDepth) levels at '\(Self.join(components).prefix(80))…'; refused")
        }
        let id: String?
        switch v {
        case .dict(let i): id = "dict \(i)"
        case .list(let i): id = "list \(i)"
        case .tuple(let i): id = "tuple \(i)"
        default: id = nil
        }
        if let id {
            if let first = seen[id] {
                return other(v.typeName, "the same \(v.typeName) as '\(first)'")
            }
            seen[id] = components.isEmpty ? "(root)" : Self.join(components)
        }
        switch v {
        case .dict(let d):
            let dict = machine.dicts[d]
            attributes += dict.attributes
            if dict.keys.isEmpty { return other("dict", "{}") }
            for (k, value) in zip(dict.keys, dict.values) {
                components.append(try keyText(k))
                try walk(value, depth: depth + 1)
                components.removeLast()
            }
        case .list(let l):
            try sequence(machine.lists[l], depth: depth, open: "[", close: "]", type: "list")
        case .tuple(let t):
            try sequence(machine.tuples[t], depth: depth, open: "(", close: ")", type: "tuple")
        case .tensor(let t):
            let name = components.isEmpty ? "tensor" : Self.join(components)
            tensors.append((name, components.isEmpty ? ["tensor"] : components, t))
        default:
            other(v.typeName, scalarText(v))
        }
    }

    /// A list or tuple of plain scalars is one value; anything else is walked item by item.
    mutating func sequence(_ items: [PickleValue], depth: Int, open: String, close: String, type: String) throws(PyTorchError) {
        let plain = items.allSatisfy { v in
            switch v {
            case .dict, .list, .tuple, .tensor, .storage: return false
            default: return true
            }
        }
        if plain {
            let shown = items.prefix(8).map(scalarText).joined(separator: ", ")
            let more = items.count > 8 ? ", … (\(items.count) items)" : (type == "tuple" && items.count == 1 ? "," : "")
            return other(type, open + shown + more + close)
        }
        for (i, item) in items.enumerated() {
            components.append(String(i))
            try walk(item, depth: depth + 1)
            components.removeLast()
        }
    }

    mutating func other(_ type: String, _ text: String) {
        others.append(PyTorchValue(name: components.isEmpty ? "(root)" : Self.join(components), components: components, type: type, text: text))
    }

    static func join(_ c: [String]) -> String { c.joined(separator: ".") }

    func keyText(_ k: PickleValue) throws(PyTorchError) -> String {
        let s: String
        switch k {
        case .string(let v): s = v
        case .tuple(let t): s = "(" + machine.tuples[t].map(scalarText).joined(separator: ", ") + ")"
        default: s = scalarText(k)
        }
        if s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw PyTorchError(.pickle, path, "a dict key holds control characters (\(PickleMachine.printable(s).prefix(60))); refused")
        }
        return s
    }

    func scalarText(_ v: PickleValue) -> String {
        switch v {
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .bigInt(let b): return "<\(b.count)-byte integer>"
        case .float(let d): return "\(d)"
        case .string(let s):
            let short = s.count > 80 ? String(s.prefix(77)) + "..." : s
            return "'" + PickleMachine.printable(short) + "'"
        case .bytes(let b): return "<\(b.count) bytes>"
        case .global(let g): return g.qualifiedName
        case .storage(let s): return "<storage of \(s.numel) \(s.dtype.rawValue)>"
        case .tensor: return "<tensor>"
        case .dict: return "{…}"
        case .list: return "[…]"
        case .tuple: return "(…)"
        }
    }
}
