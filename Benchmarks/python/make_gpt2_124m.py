#!/usr/bin/env python3
"""Write a random checkpoint with GPT-2 124M's shapes (numpy only) for benchmarks.

    python Benchmarks/python/make_gpt2_124m.py OUTDIR [--seed 0] [--hub-names]

OUTDIR gets config.json (transformers GPT2LMHeadModel) and model.safetensors (~500 MB, float32) with HF
GPT-2 names: `transformer.wte.weight`, `transformer.h.N.attn.c_attn.weight` [768, 2304] (Conv1D [in, out]), ...;
`--hub-names` drops the `transformer.` prefix as the hub `gpt2` file does. The head is tied (no lm_head.weight).
Weights ~ N(0, 0.02²), LayerNorm gains 1 + 0.02·N(0,1), biases 0.02·N(0,1): activations stay finite. Seeded.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from st_writer import write_safetensors

N_EMBD, N_LAYER, N_HEAD, VOCAB, N_POS = 768, 12, 12, 50257, 1024


def specs(prefix: str) -> list[tuple[str, tuple[int, ...]]]:
    d, inner = N_EMBD, 4 * N_EMBD
    out = [(prefix + "wte.weight", (VOCAB, d)), (prefix + "wpe.weight", (N_POS, d))]
    for i in range(N_LAYER):
        h = f"{prefix}h.{i}."
        out += [
            (h + "ln_1.weight", (d,)), (h + "ln_1.bias", (d,)),
            (h + "attn.c_attn.weight", (d, 3 * d)), (h + "attn.c_attn.bias", (3 * d,)),
            (h + "attn.c_proj.weight", (d, d)), (h + "attn.c_proj.bias", (d,)),
            (h + "ln_2.weight", (d,)), (h + "ln_2.bias", (d,)),
            (h + "mlp.c_fc.weight", (d, inner)), (h + "mlp.c_fc.bias", (inner,)),
            (h + "mlp.c_proj.weight", (inner, d)), (h + "mlp.c_proj.bias", (d,)),
        ]
    out += [(prefix + "ln_f.weight", (d,)), (prefix + "ln_f.bias", (d,))]
    return out


def config() -> dict:
    return {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": 50256,
        "embd_pdrop": 0.1,
        "eos_token_id": 50256,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_ctx": N_POS,
        "n_embd": N_EMBD,
        "n_head": N_HEAD,
        "n_inner": None,
        "n_layer": N_LAYER,
        "n_positions": N_POS,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "tie_word_embeddings": True,
        "vocab_size": VOCAB,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hub-names", action="store_true", help="no `transformer.` prefix (hub gpt2 style)")
    a = ap.parse_args()
    a.outdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(a.seed)

    def make(name: str, shape: tuple[int, ...]) -> np.ndarray:
        z = rng.standard_normal(shape, dtype=np.float32)
        if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            return 1.0 + 0.02 * z
        return 0.02 * z

    size = write_safetensors(a.outdir / "model.safetensors", specs("" if a.hub_names else "transformer."), make)
    (a.outdir / "config.json").write_text(json.dumps(config(), indent=2, sort_keys=True) + "\n")
    n = sum(int(np.prod(s)) for _, s in specs(""))
    print(f"wrote {a.outdir}/model.safetensors ({size / 1e6:.1f} MB, {n / 1e6:.1f} M parameters) and config.json")


if __name__ == "__main__":
    main()
