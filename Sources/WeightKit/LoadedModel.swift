// Opening a model path end to end: checkpoint, family, config, bound graph.

@_exported import Checkpoints
@_exported import Executor
@_exported import Models
@_exported import TensorCore

/// A checkpoint and its canonical graph.
public struct LoadedModel: Sendable {
    public let checkpoint: Checkpoint
    public let graph: ModelGraph

    /// Opens `path` (file or model directory) and maps it onto the canonical graph.
    public static func open(_ path: String) throws -> LoadedModel {
        let c = try Checkpoint.open(path)
        return LoadedModel(checkpoint: c, graph: try ModelLayouts.graph(for: c))
    }
}
