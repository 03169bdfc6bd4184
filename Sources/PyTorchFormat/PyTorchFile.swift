// torch.save files, both layouts, read without running anything.
//
// Zip layout (torch ≥ 1.6, the default): a zip archive (see ZipArchive) whose entries all sit
// in one folder, named after the file when it was saved, so read from the entries:
//
//   <archive>/data.pkl          the saved object, pickled (protocol 2); tensors appear as
//                               _rebuild_tensor_v2(<persistent id>, offset, size, stride, …)
//                               with persistent id ('storage', torch.FloatStorage, key, location, numel)
//   <archive>/data/<key>        each storage's raw bytes, stored, 64-byte aligned by torch
//   <archive>/byteorder         "little" or "big" (absent in old files: little)
//   <archive>/version           the format version ("3"); also .format_version, .storage_alignment,
//                               .data/serialization_id, which are not needed
//
// Legacy layout (_use_new_zipfile_serialization=False), five pickles back to back, then the
// storages:
//
//   pickle 1   the magic number 0x1950a86a20f9469cfc6c
//   pickle 2   the protocol version, 1001
//   pickle 3   sys_info: {'protocol_version', 'little_endian', 'type_sizes'}
//   pickle 4   the saved object; persistent ids ('storage', type, key, location, numel, view)
//   pickle 5   the storage keys, in the order their bytes follow
//   then, per key: numel as a signed 64-bit integer in the file's byte order, numel × element bytes
//
// Every pickle runs on the restricted machine (PickleMachine). Storages are checked against the
// bytes that hold them; tensors are checked against their storages; nothing is copied except
// views that need it (strided, unaligned, big-endian), and those only when their bytes are asked for.

import TensorCore

/// An opened `torch.save` file: its tensors (by their dotted path in the saved object), the other
/// values it holds, and how it was laid out.
public struct PyTorchFile: Sendable {
    public enum Layout: String, Sendable {
        case zip
        case legacy
    }

    public let path: String
    public let layout: Layout
    /// The zip layout's folder (`pytorch_model` for `pytorch_model/data.pkl`); nil for legacy.
    public let archiveName: String?
    /// The zip layout's `version` record, or the legacy protocol version.
    public let version: String?
    /// Saved on a big-endian machine (every tensor is then byte-swapped when read).
    public let bigEndian: Bool
    /// The zip carries a zip64 end record (torch writes one on every file).
    public let zip64: Bool
    /// Number of distinct storages the tensors use.
    public let storageCount: Int
    /// Tensors in the order the pickle holds them.
    public let tensors: [PyTorchTensor]
    /// Every value that is not a tensor (an int, a string, a list of numbers, an empty dict).
    public let others: [PyTorchValue]
    /// Attributes set on dicts by BUILD (a state dict's `_metadata`), ignored.
    public let ignoredAttributes: Int

    /// Maps and reads `path`.
    public static func open(path: String, limits: PickleLimits = PickleLimits()) throws -> PyTorchFile {
        let region: ByteRegion
        do { region = try ByteRegion.map(path: path) } catch {
            throw PyTorchError(.io, path, "\(error)".removingPrefix("\(path): "))
        }
        return try PyTorchFile(region: region, path: path, limits: limits)
    }

    /// Reads a whole file held in `region`.
    public init(region: ByteRegion, path: String, limits: PickleLimits = PickleLimits()) throws {
        let kind = region.withUnsafeBytes { FileKind.sniff(UnsafeRawBufferPointer(rebasing: $0.prefix(64))) }
        switch kind {
        case .zip: self = try Self.readZip(region, path: path, limits: limits)
        case .pickle: self = try Self.readLegacy(region, path: path, limits: limits)
        case .unknown where Self.isTar(region):
            throw PyTorchError(.notPyTorch, path, "is a tar archive: PyTorch's oldest checkpoint layout, which WeightKit does not read (torch.load refuses it with weights_only=True since 2.6)")
        default:
            throw PyTorchError(.notPyTorch, path, "is \(kind.phrase), not a torch.save file (a zip archive or a pickle)")
        }
    }

    init(
        path: String, layout: Layout, archiveName: String?, version: String?, bigEndian: Bool, zip64: Bool,
        assembled: Assembled
    ) {
        self.path = path
        self.layout = layout
        self.archiveName = archiveName
        self.version = version
        self.bigEndian = bigEndian
        self.zip64 = zip64
        self.storageCount = assembled.storageCount
        self.tensors = assembled.tensors
        self.others = assembled.others
        self.ignoredAttributes = assembled.attributes
    }

    /// A POSIX tar header: "ustar" at byte 257.
    static func isTar(_ region: ByteRegion) -> Bool {
        guard region.count >= 512 else { return false }
        return region.withUnsafeBytes { raw in Array(raw[257..<262]) == Array("ustar".utf8) }
    }

    /// The tensor named `name`.
    public subscript(name: String) -> PyTorchTensor? { tensors.first { $0.name == name } }
}
