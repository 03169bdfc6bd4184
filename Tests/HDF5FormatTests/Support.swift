// Shared helpers: run h5py scripts, parse their JSON, make tensors, check one-line errors.
import Foundation
import HDF5Format
import TensorCore
import TestSupport
import Testing

/// Runs a Python script and parses the JSON it prints.
func pythonJSON(_ script: String, _ args: [String]) throws -> JSONValue {
    let out = try Python.check(script, args)
    return try JSONParser.parse(out)
}

/// Lower-case hex of bytes.
func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    var s = ""
    s.reserveCapacity(bytes.count * 2)
    for b in bytes {
        s.append(digits[Int(b >> 4)])
        s.append(digits[Int(b & 15)])
    }
    return s
}

/// Deterministic bytes for a tensor of `dtype` with `count` elements (bool elements are 0 or 1).
func sampleBytes(_ dtype: DType, count: Int, seed: Int = 0) -> [UInt8] {
    let n = count * dtype.blockBytes
    if dtype == .bool { return (0..<n).map { UInt8(($0 * 7 + seed) % 3 == 0 ? 1 : 0) } }
    return (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11 &+ seed &* 101 &+ ($0 >> 8)) }
}

/// A tensor entry over heap bytes.
func entry(_ name: String, _ dtype: DType, _ shape: [Int], seed: Int = 0) throws -> TensorEntry {
    let count = shape.reduce(1, *)
    let t = try Tensor(name: name, dtype: dtype, shape: shape, data: TensorData(bytes: sampleBytes(dtype, count: count, seed: seed)))
    return TensorEntry(t)
}

/// The error thrown by `body`, as its printed line; records an issue when nothing is thrown.
func errorLine(_ body: () throws -> Void) -> String {
    do {
        try body()
        Issue.record("expected an error")
        return ""
    } catch {
        return "\(error)"
    }
}

/// Checks a message is one line that starts with `path` and contains `fragment`.
func expectOneLine(_ message: String, path: String, contains fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!message.contains("\n"), "multi-line: \(message)", sourceLocation: sourceLocation)
    #expect(message.hasPrefix(path + ":"), "does not name the file: \(message)", sourceLocation: sourceLocation)
    #expect(message.contains(fragment), "expected '\(fragment)' in: \(message)", sourceLocation: sourceLocation)
}

/// Files in a scratch directory.
func scratch(_ name: String) -> String { RepoPaths.temporaryDirectory("wk-hdf5") + "/" + name }

/// Python helper that turns h5py values into JSON.
let pyConvert = """
import json, sys
import numpy as np
def conv(v):
    if isinstance(v, bytes): return v.decode('utf-8', 'replace')
    if isinstance(v, np.ndarray): return [conv(x) for x in v.tolist()] if v.dtype.kind in 'SOU' else v.tolist()
    if isinstance(v, list): return [conv(x) for x in v]
    if isinstance(v, np.generic): return v.item()
    return v
def kind(v):
    return np.asarray(v).dtype.str if not isinstance(v, (str, bytes)) else type(v).__name__

"""
