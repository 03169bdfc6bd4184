// `weightkit --version`: the version and the commit the binary was built from.

internal import CBuildInfo

enum BuildInfo {
    static let version = "0.1.0"

    /// "0.1.0 (commit 3f2c1a9b7d10)", with what is known when the commit is not.
    static var versionLine: String {
        guard let p = wk_build_commit() else {
            return "\(version) (commit not recorded: built without scripts/install, scripts/test or scripts/stamp-build)"
        }
        let commit = String(cString: p)
        if commit.isEmpty { return "\(version) (commit unknown: not built from a git checkout)" }
        if commit.hasSuffix("-modified") {
            return "\(version) (commit \(commit.dropLast("-modified".count)), with uncommitted changes)"
        }
        return "\(version) (commit \(commit))"
    }
}
