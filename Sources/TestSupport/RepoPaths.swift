// Paths inside the repository, for tests that read Fixtures/ and Formats/.
import Foundation

/// Locations in the repository checkout.
public enum RepoPaths {
    /// The repository root (the folder holding Package.swift).
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    public static func fixtures(_ rest: String = "") -> String { root + "/Fixtures" + (rest.isEmpty ? "" : "/" + rest) }
    public static func formats(_ rest: String = "") -> String { root + "/Formats" + (rest.isEmpty ? "" : "/" + rest) }

    /// A fresh empty temporary directory, removed when the process exits normally.
    public static func temporaryDirectory(_ label: String = "wk") -> String {
        let dir = NSTemporaryDirectory() + "\(label)-\(getpid())-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }
}
