// Errors raised by HDF5Format: one line naming the file, the object, what failed and, when
// libhdf5 said why, its innermost reason.

/// An HDF5 read or write failure, printed as one line, e.g.
/// `model.h5: dataset 'dense/kernel:0': cannot read: required filter 'blosc' (32001) is not available`.
public struct HDF5Error: Error, CustomStringConvertible, Sendable, Equatable {
    /// The whole line.
    public let message: String

    public init(_ message: String) { self.message = message }

    /// `path: object: what` plus libhdf5's reason when it gave one.
    init(path: String, object: String? = nil, _ what: String, detail: String? = nil) {
        var m = path + ": "
        if let object { m += object + ": " }
        m += what
        if let detail, !detail.isEmpty { m += " (" + detail + ")" }
        message = m
    }

    public var description: String { message }
}
