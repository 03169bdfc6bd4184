// The storages a pickle's persistent ids name, as the file holds them.

import TensorCore

/// A storage as the file holds it.
struct StorageSlot {
    let key: String
    let dtype: DType
    let typeName: String
    /// Elements.
    let numel: Int
    /// Byte of element 0 in the file (-1 until the legacy layout's storage records are read).
    var fileOffset: Int
    /// Legacy storage views: the root slot and the element offset into it.
    var parent: Int?
    var parentOffset = 0

    var byteCount: Int { numel * dtype.blockBytes }
}

/// The storages a pickle names, shared between the persistent-id callback and the assembly.
final class StorageTable {
    var slots: [StorageSlot] = []
    var byKey: [String: Int] = [:]
}
