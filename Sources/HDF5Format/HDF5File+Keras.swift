// Keras legacy `.h5` weights (Formats/hdf5.md §2), as saved by `model.save_weights("x.h5")`, by
// `model.save("x.h5")` (the same tree under the group `model_weights`) and by Hugging Face
// (`tf_model.h5`): the root (or `model_weights`) attribute `layer_names` lists the layers in model
// order; each layer group's attribute `weight_names` lists its weights in order; weight `w` of layer
// `l` is the dataset `l/w` (names such as `dense/kernel:0` hold '/', so they nest groups).

import TensorCore

extension HDF5File {
    /// The group holding Keras's `layer_names`: "" (the root) for weights-only files,
    /// "model_weights" for full saves; nil when the file has no `layer_names`.
    public var kerasWeightsGroup: String? {
        if metadata["model_weights@layer_names"] != nil { return "model_weights" }
        if metadata["layer_names"] != nil { return "" }
        return nil
    }

    /// The weight datasets (entry names) in Keras order: layers in `layer_names` order, each
    /// layer's weights in `weight_names` order, then a Keras 3 `top_level_model_weights` group when
    /// it is not listed. Split attributes (`layer_names0`, `layer_names1`, …) are already joined.
    ///
    /// Fails when the file has no `layer_names` (not a Keras legacy weights file) or a listed
    /// weight has no dataset.
    public func kerasWeightOrder() throws -> [String] {
        guard let group = kerasWeightsGroup else {
            throw HDF5Error(path: path, "no 'layer_names' attribute at the root or in 'model_weights': not a Keras .h5 weights file")
        }
        let prefix = group.isEmpty ? "" : group + "/"
        let layerKey = prefix.isEmpty ? "layer_names" : group + "@layer_names"
        var layers = try strings(metadata[layerKey], key: layerKey)
        if !layers.contains("top_level_model_weights"), metadata[prefix + "top_level_model_weights@weight_names"] != nil {
            layers.append("top_level_model_weights")
        }
        let names = Set(entries.map(\.name))
        var order: [String] = []
        for layer in layers {
            let key = prefix + layer + "@weight_names"
            guard let value = metadata[key] else { continue }  // a layer without weights
            for w in try strings(value, key: key) {
                let name = prefix + layer + "/" + w
                guard names.contains(name) else {
                    throw HDF5Error(path: path, object: "layer '\(layer)'", "lists weight '\(w)' but the file has no dataset '\(name)'")
                }
                order.append(name)
            }
        }
        return order
    }

    private func strings(_ value: MetadataValue?, key: String) throws -> [String] {
        switch value {
        case .string(let s)?: return [s]
        case .array(_, let items)?:
            return try items.map { item in
                guard let s = item.string else { throw HDF5Error(path: path, object: "attribute '\(key)'", "is not an array of strings") }
                return s
            }
        default: throw HDF5Error(path: path, object: "attribute '\(key)'", "is missing or not an array of strings")
        }
    }
}
