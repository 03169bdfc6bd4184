#!/usr/bin/env python3
"""Mistral fixtures (MistralForCausalLM), written with Fixtures/generate.py's helpers and pinned versions
(Fixtures/requirements.txt: torch 2.15.0, transformers 5.23.0, gguf 0.19.0, ...):

    python Fixtures/mistral.py

  mistral-tiny/  hidden 32, 2 layers, 4 heads, 2 KV heads, head_dim 8, ffn 64, vocab 96, untied, rope_theta 1e4,
                 **sliding_window 3** with T = 8 inputs, so the window changes every attention row t >= 3. Every
                 parameter random. model.gguf: what llama.cpp's converter writes for MistralForCausalLM
                 (architecture `llama`, Q/K rows permuted, its llama keys, no window key), with gguf-py.
                 greedy.json: transformers' generate (its sliding-window KV cache) from the 8 reference ids,
                 20 new tokens, checked against a greedy loop without cache.
  mistral-text/  hidden 64, 2 layers, 4 heads, 2 KV heads, ffn 160, vocab 512 with tokenizers/llama-spm's tokenizer,
                 sliding_window 4096 (Mistral 7B's), for greedy generation through transformers, WeightKit and
                 llama.cpp (scripts/e2e-generate.py Fixtures/mistral-text). llama.cpp has no sliding window for
                 `llama`, so this one keeps every sequence inside the window.

Reference activations come from transformers (eager attention, float32, one thread); every directory is
reloaded with from_pretrained and must reproduce them bit for bit. Nothing here is produced by WeightKit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
from transformers import MistralConfig, MistralForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate as G  # noqa: E402

MISTRAL_TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=8,
                    intermediate_size=64, vocab_size=96, tie_word_embeddings=False, rms_norm_eps=1e-5,
                    max_position_embeddings=64, sliding_window=3,
                    rope_parameters={"rope_type": "default", "rope_theta": 10000.0})

MISTRAL_TEXT = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                    intermediate_size=160, vocab_size=512, tie_word_embeddings=False, rms_norm_eps=1e-5,
                    max_position_embeddings=128, sliding_window=4096,
                    rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, bos_token_id=1, eos_token_id=2)

NEW_TOKENS = 20


def build(ckw: dict, seed: int, head_gain: float = 1.0) -> MistralForCausalLM:
    torch.manual_seed(seed)
    model = MistralForCausalLM(MistralConfig(attn_implementation="eager", **ckw))
    G.randomize(model, seed, conv1d=False, head_gain=head_gain)
    return model.eval()


def greedy_record(model: MistralForCausalLM, ids: list[int]) -> dict:
    loop, margins = G.greedy_steps(model, ids, NEW_TOKENS)  # full forwards, no cache
    x = torch.tensor([ids])
    with torch.no_grad():
        out = model.generate(x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=NEW_TOKENS,
                             min_new_tokens=NEW_TOKENS, use_cache=True, pad_token_id=0)
    gen = [int(t) for t in out[0, len(ids):]]
    if gen != loop:
        raise SystemExit(f"mistral-tiny: generate() with its cache gives {gen}, the greedy loop {loop}")
    return {"prompt_ids": ids, "greedy_ids": gen, "min_top1_margin": round(min(margins), 4),
            "generated_with": f"model.generate(input_ids, do_sample=False, max_new_tokens={NEW_TOKENS}, use_cache=True), "
                              f"transformers {G.transformers.__version__}, torch {torch.__version__}, float32, eager"}


def fixture_tiny() -> None:
    name = "mistral-tiny"
    ids = G.token_ids(MISTRAL_TINY["vocab_size"])
    for seed in range(5001, 5041):  # the first seed whose 20 greedy choices all lead by >= 0.05
        model = build(MISTRAL_TINY, seed)
        rec = greedy_record(model, ids)
        if rec["min_top1_margin"] >= 0.05:
            break
    else:
        raise SystemExit(f"{name}: no seed gives clear greedy choices")
    d = G.fresh_dir(name)
    ref = G.run_hf(model, ids)
    a = ref["attentions.0"][0, 0]
    assert (a[7, :5] == 0).all() and (a[7, 5:] > 0).all(), "the window is not 3 keys"
    G.save_fixture(MistralForCausalLM, model, d, ref, name)
    full = build({**MISTRAL_TINY, "sliding_window": None}, seed)
    G.knob_note(name, "ignoring the sliding window", ref, G.run_hf(full, ids))
    cfg = json.loads((d / "config.json").read_text())
    G.llama_gguf(d / "model.gguf", G.load_safetensors(d / "model.safetensors"), cfg, name, None)
    e = G.check_llama_gguf(d / "model.gguf", G.load_safetensors(d / "model.safetensors"), cfg, G.run_hf(full, ids), None)
    G.note(f"{name}/model.gguf (no window, as llama.cpp runs it): float64 forward vs transformers without the window, "
           f"max abs diff {e:.2g}")
    G.write_json(d / "greedy.json", {**rec, "seed": seed})
    G.note(f"{name}: seed {seed}; greedy {rec['greedy_ids']} (min top-1 margin {rec['min_top1_margin']})")


def fixture_text() -> None:
    # The first seed whose greedy choices are clear (G.check_greedy's conditions).
    G.seeded_text_fixture("mistral-text", range(5101, 5141), lambda seed: build(MISTRAL_TEXT, seed, head_gain=2.5),
                          MistralForCausalLM, "llama-spm", ["tokenizer.model", "tokenizer.json", "tokenizer_config.json"],
                          eos={2}, special={0, 1, 2})


def main() -> None:
    print(f"transformers {G.transformers.__version__}, torch {torch.__version__}, numpy {np.__version__}")
    fixture_tiny()
    fixture_text()
    G.print_summary()


if __name__ == "__main__":
    main()
