// The bundled fixtures: tiny models with reference activations from Hugging Face transformers.
import Foundation

public enum Fixtures {
    /// Fixture directories that hold a model.safetensors and a reference.safetensors.
    public static var modelDirectories: [String] {
        let root = RepoPaths.fixtures()
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root))?.sorted() ?? []
        return names.filter {
            FileManager.default.fileExists(atPath: "\(root)/\($0)/model.safetensors")
                && FileManager.default.fileExists(atPath: "\(root)/\($0)/reference.safetensors")
        }
    }

    public static func path(_ name: String, _ file: String = "") -> String {
        RepoPaths.fixtures(name) + (file.isEmpty ? "" : "/" + file)
    }

    /// Copies a fixture directory to a fresh temporary directory.
    public static func copy(_ name: String) throws -> String {
        let dir = RepoPaths.temporaryDirectory(name)
        for f in try FileManager.default.contentsOfDirectory(atPath: path(name)) {
            try FileManager.default.copyItem(atPath: path(name, f), toPath: dir + "/" + f)
        }
        return dir
    }
}
