#!/usr/bin/env python3
"""The gguf-py + numpy equivalent of `weightkit convert MODEL OUT.gguf --dtype {f16,q8_0}` for HF GPT-2.

    python3 Benchmarks/convert/gguf_py_convert.py MODEL_DIR OUT.gguf --dtype f16|q8_0|f32

Does what llama.cpp's convert_hf_to_gguf.py does for GPT2LMHeadModel, with the same choices WeightKit makes:
names mapped to llama.cpp's (token_embd, blk.N.attn_qkv, ...), Conv1D weights transposed to [out, in], mask
buffers dropped, 2-D `.weight` matrices cast/quantized (gguf.quants.quantize), 1-D tensors, norms and
position_embd kept float32, Q8_0 rows that are not whole blocks falling back to f16, gpt2.* keys,
general.file_type and quantization_version. Tensors are read through safetensors' safe_open one at a time,
as convert_hf_to_gguf reads them; gguf.GGUFWriter keeps them until write_tensors_to_file, as it does there.
"""

import argparse
import json
import re
from pathlib import Path

import gguf
import numpy as np
from safetensors import safe_open

FT = {"f32": 0, "f16": 1, "q8_0": 7}
QT = {"f32": gguf.GGMLQuantizationType.F32, "f16": gguf.GGMLQuantizationType.F16, "q8_0": gguf.GGMLQuantizationType.Q8_0}
BLOCK = {"ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output", "ln_2": "ffn_norm",
         "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down"}
TOP = {"wte": "token_embd", "wpe": "position_embd", "ln_f": "output_norm"}


def gguf_name(hf: str) -> str | None:
    n = hf.removeprefix("transformer.")
    if n.endswith((".attn.bias", ".attn.masked_bias")):
        return None
    m = re.fullmatch(r"h\.(\d+)\.(.+)\.(weight|bias)", n)
    if m:
        return f"blk.{m[1]}.{BLOCK[m[2]]}.{m[3]}"
    m = re.fullmatch(r"(\w+)\.(weight|bias)", n)
    return f"{TOP[m[1]]}.{m[2]}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--dtype", default="f16", choices=list(FT))
    a = ap.parse_args()
    cfg = json.loads((a.model / "config.json").read_text())
    w = gguf.GGUFWriter(str(a.out), "gpt2")
    w.add_name(a.model.name)
    d = cfg["n_embd"]
    w.add_context_length(cfg["n_positions"])
    w.add_embedding_length(d)
    w.add_block_count(cfg["n_layer"])
    w.add_feed_forward_length(cfg.get("n_inner") or 4 * d)
    w.add_head_count(cfg["n_head"])
    w.add_layer_norm_eps(cfg["layer_norm_epsilon"])
    w.add_vocab_size(cfg["vocab_size"])
    w.add_file_type(FT[a.dtype])
    if a.dtype == "q8_0":
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    with safe_open(a.model / "model.safetensors", framework="numpy") as f:
        for hf in f.keys():
            name = gguf_name(hf)
            if name is None:
                continue
            data = f.get_tensor(hf).astype(np.float32, copy=False)
            if re.search(r"\.(c_attn|c_proj|c_fc)\.weight$", hf):
                data = np.ascontiguousarray(data.T)
            qtype = QT[a.dtype]
            if data.ndim <= 1 or name.endswith("_norm.weight") or not name.endswith(".weight") or name == "position_embd.weight":
                qtype = gguf.GGMLQuantizationType.F32
            try:
                out = gguf.quants.quantize(data, qtype)
            except gguf.QuantError:
                qtype = gguf.GGMLQuantizationType.F16
                out = gguf.quants.quantize(data, qtype)
            w.add_tensor(name, out, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
