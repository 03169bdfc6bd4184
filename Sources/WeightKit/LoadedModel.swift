// Opening a model path end to end: checkpoint, family, config, bound graph.

@_exported import Checkpoints
@_exported import Executor
@_exported import Models
@_exported import TensorCore

/// A checkpoint and its canonical graph: what ``Verifier``, ``Generator``, ``Benchmark`` and the
/// analyses run.
///
/// ```swift
/// let model = try LoadedModel.open("Fixtures/gpt2-tiny")
/// print(model.graph.config.architecture, model.graph.config.layers)
/// ```
public struct LoadedModel: Sendable {
    /// The tensors and metadata as read (memory-mapped; nothing is widened yet).
    public let checkpoint: Checkpoint
    /// The canonical graph: the resolved config, the ops, and each canonical weight bound to its
    /// source tensor with the transform it needs.
    public let graph: ModelGraph

    /// Opens a model and maps it onto the canonical graph.
    ///
    /// - Parameter path: a `.safetensors`, `.gguf` or `.h5`/`.hdf5` file (optionally `.zst`), or a
    ///   model directory (`config.json` + `model.safetensors`, or a sharded index). A file that
    ///   carries no config of its own takes `config.json` from its directory.
    /// - Returns: the checkpoint with its graph; weights stay in the file until an executor runs.
    /// - Throws: one error whose description is a single line naming the file and what is wrong:
    ///   unreadable or malformed file, unrecognised architecture, a weight missing or of the wrong
    ///   shape, a tensor left unused.
    public static func open(_ path: String) throws -> LoadedModel {
        let c = try Checkpoint.open(path)
        let graph = try ModelLayouts.graph(for: c)
        for w in graph.warnings { writeStandardError("weightkit: warning: \(path): \(w)\n") }
        return LoadedModel(checkpoint: c, graph: graph)
    }
}
