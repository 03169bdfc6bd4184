// weightkit: inspect, run, verify and convert transformer weight files.

import ArgumentParser

@main
struct WeightKitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weightkit",
        abstract: "Read, map, run and verify transformer weight files (safetensors, GGUF, HDF5, PyTorch).",
        discussion: """
            MODEL is a .safetensors, .gguf, .h5/.hdf5 or torch.save .bin/.pt/.pth file (optionally \
            .zst-compressed) or a model directory (config.json + model.safetensors or pytorch_model.bin, \
            a sharded model.safetensors.index.json or pytorch_model.bin.index.json, or Meta's \
            consolidated.*.pth + params.json). A file that carries no config itself takes config.json \
            from its own directory. PyTorch files are read without Python and nothing in them is ever \
            run: their pickles may only build tensors and plain containers.

            Examples:
              weightkit inspect Fixtures/gpt2-tiny
              weightkit graph Fixtures/llama-gqa
              weightkit verify Fixtures/gpt2-tiny \\
                  --reference Fixtures/gpt2-tiny/reference.safetensors
              weightkit run Fixtures/gpt2-tiny --tokens 1,2,3 --top 5
            """,
        version: BuildInfo.versionLine,
        subcommands: [
            Inspect.self, Graph.self, Run.self, Tokenize.self, Generate.self, Verify.self, Bench.self, Analyze.self,
            Convert.self, Diff.self, Compare.self,
        ])

    /// argument-parser's entry point with WeightKit's exit codes (CommandLineEntry).
    static func main() { CommandLineEntry.main() }
}
