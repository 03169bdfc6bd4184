#!/usr/bin/env python3
"""Write a random LLaMA-shaped checkpoint (numpy only) for benchmarks.

    python Benchmarks/python/make_llama_bench.py OUTDIR [--seed 0]

Shape: hidden 768, 12 layers, 12 heads, 4 KV heads (head_dim 64), intermediate 2048, vocab 32000, untied head
(~125 M parameters, ~500 MB float32). OUTDIR gets config.json (transformers LlamaForCausalLM, v5 style with
`rope_parameters`) and model.safetensors with HF names (`model.embed_tokens.weight`,
`model.layers.N.self_attn.q_proj.weight` [out, in], ..., `lm_head.weight`).
Weights ~ N(0, 0.02²), RMSNorm gains 1 + 0.02·N(0,1). Seeded.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from st_writer import write_safetensors

HIDDEN, LAYERS, HEADS, KV_HEADS, INTER, VOCAB = 768, 12, 12, 4, 2048, 32000
HEAD_DIM = HIDDEN // HEADS


def specs() -> list[tuple[str, tuple[int, ...]]]:
    d, q, kv = HIDDEN, HEADS * HEAD_DIM, KV_HEADS * HEAD_DIM
    out = [("model.embed_tokens.weight", (VOCAB, d))]
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        out += [
            (p + "input_layernorm.weight", (d,)),
            (p + "self_attn.q_proj.weight", (q, d)),
            (p + "self_attn.k_proj.weight", (kv, d)),
            (p + "self_attn.v_proj.weight", (kv, d)),
            (p + "self_attn.o_proj.weight", (d, q)),
            (p + "post_attention_layernorm.weight", (d,)),
            (p + "mlp.gate_proj.weight", (INTER, d)),
            (p + "mlp.up_proj.weight", (INTER, d)),
            (p + "mlp.down_proj.weight", (d, INTER)),
        ]
    out += [("model.norm.weight", (d,)), ("lm_head.weight", (VOCAB, d))]
    return out


def config() -> dict:
    return {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "head_dim": HEAD_DIM,
        "hidden_act": "silu",
        "hidden_size": HIDDEN,
        "initializer_range": 0.02,
        "intermediate_size": INTER,
        "max_position_embeddings": 2048,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": HEADS,
        "num_hidden_layers": LAYERS,
        "num_key_value_heads": KV_HEADS,
        "rms_norm_eps": 1e-05,
        "rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"},
        "tie_word_embeddings": False,
        "vocab_size": VOCAB,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    a.outdir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(a.seed)

    def make(name: str, shape: tuple[int, ...]) -> np.ndarray:
        z = rng.standard_normal(shape, dtype=np.float32)
        return 1.0 + 0.02 * z if name.endswith("norm.weight") else 0.02 * z

    size = write_safetensors(a.outdir / "model.safetensors", specs(), make)
    (a.outdir / "config.json").write_text(json.dumps(config(), indent=2, sort_keys=True) + "\n")
    n = sum(int(np.prod(s)) for _, s in specs())
    print(f"wrote {a.outdir}/model.safetensors ({size / 1e6:.1f} MB, {n / 1e6:.1f} M parameters) and config.json")


if __name__ == "__main__":
    main()
