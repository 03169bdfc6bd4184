#!/usr/bin/env python3
"""Records which tensor type llama-quantize gives every tensor, per mixture, for small models.

    python Fixtures/kquants/record_mixtures.py --llama-quantize PATH/llama-quantize [-o Fixtures/kquants/mixtures.json]

Run by hand (CI reads the JSON only): it needs a llama.cpp build, which this repository does not contain
or build. For each model below, a GGUF with random f32 weights (and a stand-in vocabulary) is written with
gguf-py, quantized by llama-quantize to each mixture, and read back with gguf-py; the JSON keeps the
model's shape parameters, its tensors in file order (name, row-major shape, input type) and, per mixture,
the type of every tensor and `general.file_type`. WeightKit's mixture rules are tested against it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import gguf

MIXTURES = ["q2_k", "q3_k_s", "q3_k_m", "q3_k_l", "q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m", "q6_k",
            "q8_0", "q4_0", "q4_1", "q5_0", "q5_1"]

# name, arch, hidden, layers, heads, kv heads, ffn, vocab, tied
MODELS = [
    ("llama-gqa4-256", "llama", 256, 8, 8, 2, 512, 512, False),
    ("llama-tied-256", "llama", 256, 16, 4, 4, 768, 512, True),
    ("gpt2-256", "gpt2", 256, 8, 4, 4, 1024, 512, True),
    ("llama-96", "llama", 96, 4, 4, 4, 160, 256, False),
]


def fake_vocab(w: gguf.GGUFWriter, vocab: int) -> None:
    toks = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    toks += [f"t{i}" for i in range(vocab - len(toks))]
    toks = toks[:vocab]
    types = [2, 3, 3] + [6] * 256 + [1] * (vocab - 259)
    w.add_tokenizer_model("llama")
    w.add_token_list(toks)
    w.add_token_scores([-float(i) for i in range(vocab)])
    w.add_token_types(types[:vocab])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)


def tensors_for(arch, d, n, h, kv, ffn, vocab, tied):
    out = [("token_embd.weight", (vocab, d))]
    if arch == "gpt2":
        out.append(("position_embd.weight", (128, d)))
    for i in range(n):
        b = f"blk.{i}."
        if arch == "gpt2":
            out += [(b + "attn_norm.weight", (d,)), (b + "attn_norm.bias", (d,)),
                    (b + "attn_qkv.weight", (3 * d, d)), (b + "attn_qkv.bias", (3 * d,)),
                    (b + "attn_output.weight", (d, d)), (b + "attn_output.bias", (d,)),
                    (b + "ffn_norm.weight", (d,)), (b + "ffn_norm.bias", (d,)),
                    (b + "ffn_up.weight", (ffn, d)), (b + "ffn_up.bias", (ffn,)),
                    (b + "ffn_down.weight", (d, ffn)), (b + "ffn_down.bias", (d,))]
        else:
            hd = d // h
            out += [(b + "attn_norm.weight", (d,)), (b + "attn_q.weight", (d, d)), (b + "attn_k.weight", (kv * hd, d)),
                    (b + "attn_v.weight", (kv * hd, d)), (b + "attn_output.weight", (d, d)), (b + "ffn_norm.weight", (d,)),
                    (b + "ffn_gate.weight", (ffn, d)), (b + "ffn_up.weight", (ffn, d)), (b + "ffn_down.weight", (d, ffn))]
    out.append(("output_norm.weight", (d,)))
    if arch == "gpt2":
        out.append(("output_norm.bias", (d,)))
    if not tied:
        out.append(("output.weight", (vocab, d)))
    return out


def write_model(path, spec, rng):
    name, arch, d, n, h, kv, ffn, vocab, tied = spec
    w = gguf.GGUFWriter(path, arch)
    w.add_name(name)
    w.add_context_length(128)
    w.add_embedding_length(d)
    w.add_block_count(n)
    w.add_feed_forward_length(ffn)
    w.add_head_count(h)
    w.add_head_count_kv(kv)
    if arch == "gpt2":
        w.add_layer_norm_eps(1e-5)
    else:
        w.add_layer_norm_rms_eps(1e-5)
        w.add_rope_dimension_count(d // h)
        w.add_vocab_size(vocab)
    w.add_file_type(0)
    fake_vocab(w, vocab)
    tensors = tensors_for(arch, d, n, h, kv, ffn, vocab, tied)
    for tname, shape in tensors:
        w.add_tensor(tname, rng.standard_normal(shape).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return tensors


def read_types(path):
    r = gguf.GGUFReader(path)
    types = {t.name: t.tensor_type.name.lower() for t in r.tensors}
    ft = int(r.fields["general.file_type"].parts[-1][0])
    return types, ft


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-quantize", required=True)
    ap.add_argument("-o", "--output", default=os.path.join(os.path.dirname(__file__), "mixtures.json"))
    args = ap.parse_args()
    rng = np.random.default_rng(20261203)
    result = {"generated_with": "llama-quantize (llama.cpp from llama-cpp-python 0.3.36), gguf-py " + gguf.__version__ if hasattr(gguf, "__version__") else "llama-quantize", "models": []}
    with tempfile.TemporaryDirectory() as tmp:
        for spec in MODELS:
            name, arch, d, n, h, kv, ffn, vocab, tied = spec
            src = os.path.join(tmp, name + "-f32.gguf")
            tensors = write_model(src, spec, rng)
            entry = {"name": name, "arch": arch, "hidden": d, "layers": n, "heads": h, "kv_heads": kv, "ffn": ffn,
                     "vocab": vocab, "tied": tied,
                     "tensors": [{"name": t, "shape": list(s)} for t, s in tensors], "mixtures": {}}
            for mix in MIXTURES:
                out = os.path.join(tmp, f"{name}-{mix}.gguf")
                p = subprocess.run([args.llama_quantize, src, out, mix.upper(), "1"], capture_output=True, text=True)
                if p.returncode != 0:
                    print(p.stderr[-2000:], file=sys.stderr)
                    raise SystemExit(f"llama-quantize failed on {name} {mix}")
                types, ft = read_types(out)
                entry["mixtures"][mix] = {"file_type": ft, "types": [types[t] for t, _ in tensors]}
                os.remove(out)
            result["models"].append(entry)
    with open(args.output, "w") as f:
        json.dump(result, f, indent=1, sort_keys=False)
        f.write("\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
