// Keras legacy `.h5` weights: weights-only files and full saves (`/model_weights`).
import Foundation
import HDF5Format
import TensorCore
import TestSupport
import Testing

/// A Keras 2 style file built with h5py alone (no TensorFlow here): `layer_names` (split in two
/// when argv[2] is "split"), per-layer `weight_names` with `:0` names, kernel listed before bias.
let writeKerasFile = """
import h5py, numpy as np, sys, json
path, kind, split = sys.argv[1], sys.argv[2], sys.argv[3] == 'split'
rng = np.random.default_rng(3)
layers = [('dense', ['dense/kernel:0', 'dense/bias:0']), ('dropout', []),
          ('tf_gpt2lm_head_model', ['tf_gpt2lm_head_model/transformer/h_._0/attn/c_attn/weight:0',
                                    'tf_gpt2lm_head_model/transformer/h_._0/attn/c_attn/bias:0']),
          ('dense_1', ['dense_1/kernel:0', 'dense_1/bias:0'])]
with h5py.File(path, 'w') as f:
    root = f
    if kind == 'full':
        f.attrs['model_config'] = json.dumps({'class_name': 'Sequential'}).encode()
        f.attrs['training_config'] = b'{}'
        root = f.create_group('model_weights')
        f.create_group('optimizer_weights')
    names = np.array([n.encode() for n, _ in layers])
    if split:
        root.attrs['layer_names0'] = names[:2]
        root.attrs['layer_names1'] = names[2:]
    else:
        root.attrs['layer_names'] = names
    root.attrs['backend'] = b'tensorflow'
    root.attrs['keras_version'] = b'2.15.0'
    for layer, weights in layers:
        g = root.create_group(layer)
        g.attrs['weight_names'] = np.array([w.encode() for w in weights]) if weights else np.array([])
        for w in weights:
            shape = (1, 6) if w.endswith('bias:0') else (4, 6)
            g.create_dataset(w, data=rng.standard_normal(shape).astype(np.float32))
"""

@Suite struct KerasTests {
    @Test(arguments: [("weights", "plain"), ("weights", "split"), ("full", "plain"), ("full", "split")])
    func weightOrderFollowsLayerAndWeightNames(kind: String, split: String) throws {
        let path = scratch("keras-\(kind)-\(split).h5")
        try Python.check(writeKerasFile, [path, kind, split])
        let file = try HDF5File.open(path: path)
        let p = kind == "full" ? "model_weights/" : ""
        #expect(file.kerasWeightsGroup == (kind == "full" ? "model_weights" : ""))
        let order = try file.kerasWeightOrder()
        #expect(order == [
            "dense/dense/kernel:0", "dense/dense/bias:0",
            "tf_gpt2lm_head_model/tf_gpt2lm_head_model/transformer/h_._0/attn/c_attn/weight:0",
            "tf_gpt2lm_head_model/tf_gpt2lm_head_model/transformer/h_._0/attn/c_attn/bias:0",
            "dense_1/dense_1/kernel:0", "dense_1/dense_1/bias:0",
        ].map { p + $0 })
        // Every listed weight is a dataset, with the shape h5py wrote.
        #expect(file.entry(named: p + "dense/dense/bias:0")?.shape == [1, 6])
        if kind == "full" {
            #expect(file.metadata["model_config"] == .string("{\"class_name\": \"Sequential\"}"))
            #expect(file.metadata["model_weights@keras_version"] == .string("2.15.0"))
        } else {
            #expect(file.metadata["backend"] == .string("tensorflow"))
        }
    }

    @Test func notKerasIsAnError() throws {
        let path = scratch("plain.h5")
        try HDF5Writer.write(to: path, metadata: Metadata(), tensors: [try entry("w", .f32, [2])])
        let file = try HDF5File.open(path: path)
        expectOneLine(errorLine { _ = try file.kerasWeightOrder() }, path: path, contains: "not a Keras")
    }
}
