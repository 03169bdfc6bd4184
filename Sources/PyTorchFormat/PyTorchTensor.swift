// A tensor of a torch.save file, named by its place in the saved object, with its view facts.

import TensorCore

/// One tensor of a `torch.save` file.
public struct PyTorchTensor: Sendable {
    /// How the bytes reach a caller.
    public enum Access: String, Sendable {
        /// A slice of the memory map: contiguous, aligned, little-endian. No copy.
        case mapped
        /// A strided view (transposed, sliced with a step, expanded): gathered into a row-major copy.
        case copiedView = "copied: strided view"
        /// Contiguous but not aligned to its element size in the file: copied.
        case copiedUnaligned = "copied: unaligned in the file"
        /// Written on a big-endian machine: copied with every element byte-swapped.
        case copiedByteSwapped = "copied: byte-swapped from big-endian"
    }

    /// Dotted path of the tensor in the saved object (`model.transformer.h.0.attn.c_attn.weight`).
    public let name: String
    /// The same path, one component per container level.
    public let components: [String]
    public let dtype: DType
    /// Row-major sizes.
    public let shape: [Int]
    /// Strides in elements, as saved.
    public let strides: [Int]
    /// Offset into the storage, in elements.
    public let storageOffset: Int
    /// The storage's key (`archive/data/<key>` in the zip layout).
    public let storageKey: String
    public let access: Access
    /// Names of the other tensors that view the same storage, in file order.
    public internal(set) var sharesStorageWith: [String] = []
    /// The first earlier tensor that is the very same view (a tied weight saved twice).
    public internal(set) var sameAs: String?
    /// The bytes, produced on demand (a slice of the map, or a copy as `access` says).
    public let entry: TensorEntry
}

/// A value of a torch.save file that is not a tensor: an int, a string, an optimizer setting.
public struct PyTorchValue: Sendable, Equatable {
    /// Dotted path in the saved object.
    public let name: String
    public let components: [String]
    /// Python type name (`int`, `str`, `torch.float32`, `dict`, …).
    public let type: String
    /// A short rendering of the value.
    public let text: String
}
