// An owning libhdf5 identifier: closed in `deinit` with the call that matches its kind; a child
// (dataset, group, attribute) holds its parent so the file outlives everything opened in it.

internal import CHDF5

/// An open libhdf5 object (`hid_t`) closed when the last reference goes.
///
/// `@unchecked Sendable`: the identifier never changes after `init`, and libhdf5 (thread-safe
/// build) serialises every call on it behind its global lock.
final class HDF5Handle: @unchecked Sendable {
    enum Kind { case file, group, dataset, attribute, datatype, dataspace, propertyList, object }

    let id: hid_t
    let kind: Kind
    /// Kept alive while this handle is.
    let parent: HDF5Handle?

    /// Takes ownership of `id`; nil when it is negative (the call that made it failed).
    init?(_ id: hid_t, _ kind: Kind, parent: HDF5Handle? = nil) {
        guard id >= 0 else { return nil }
        self.id = id
        self.kind = kind
        self.parent = parent
    }

    private var isOpen = true

    /// Closes now and reports whether libhdf5 succeeded (a file's close flushes it).
    func close() -> Bool {
        guard isOpen else { return true }
        isOpen = false
        return Self.close(id, kind) >= 0
    }

    deinit { if isOpen { _ = Self.close(id, kind) } }

    private static func close(_ id: hid_t, _ kind: Kind) -> herr_t {
        switch kind {
        case .file: return H5Fclose(id)
        case .group: return H5Gclose(id)
        case .dataset: return H5Dclose(id)
        case .attribute: return H5Aclose(id)
        case .datatype: return H5Tclose(id)
        case .dataspace: return H5Sclose(id)
        case .propertyList: return H5Pclose(id)
        case .object: return H5Oclose(id)
        }
    }
}
