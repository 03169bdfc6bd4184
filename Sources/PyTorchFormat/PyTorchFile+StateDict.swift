// Where a file's state dict is. A plain state dict holds its tensors at the top level; a training
// snapshot (`{"model": state_dict, "optimizer": …, "step": 3}`) keeps it under a conventional key,
// and everything beside it (optimizer state, counters, settings) is not part of the model.

extension PyTorchFile {
    /// The keys training scripts keep a model's state dict under, in the order they are tried
    /// (`state_dict` first, as safetensors' conversion script does).
    public static let stateDictKeys = ["state_dict", "model_state_dict", "model", "module"]

    /// The top-level key holding the state dict, or nil when the tensors themselves are at the
    /// top level (or no conventional key holds any).
    public var stateDictKey: String? {
        if tensors.contains(where: { $0.components.count == 1 }) { return nil }
        return Self.stateDictKeys.first { key in tensors.contains { $0.components.count >= 2 && $0.components[0] == key } }
    }
}
