#!/usr/bin/env python3
"""Qwen2 fixtures (Qwen2ForCausalLM), written with Fixtures/generate.py's helpers and pinned versions
(Fixtures/requirements.txt: torch 2.15.0, transformers 5.23.0, gguf 0.19.0, ...):

    python Fixtures/qwen2.py

  qwen2-tiny/   hidden 32, 2 layers, 4 heads, 2 KV heads, ffn 64, vocab 96, untied head, rope_theta 1e6,
                rms_norm_eps 1e-6; every parameter random (q/k/v biases included; Qwen2 has no o_proj or MLP
                biases). model.gguf: the same weights as llama.cpp's converter writes `qwen2` (its tensor names,
                Q/K rows NOT permuted, its keys), written with gguf-py and checked tensor by tensor.
  qwen2-tied/   hidden 48, 2 layers, 4 heads = 4 KV heads, ffn 80, vocab 80, tied head, rope_theta 1e6.
  qwen2-text/   hidden 64, 2 layers, 4 heads, 2 KV heads, ffn 160, vocab 600 with tokenizers/llama3-bpe's
                tokenizer (byte-level BPE, as Qwen2's), for greedy generation through transformers, WeightKit
                and llama.cpp (scripts/e2e-generate.py Fixtures/qwen2-text).

Reference activations come from transformers (eager attention, float32, one thread); every directory is
reloaded with from_pretrained and must reproduce them bit for bit. Nothing here is produced by WeightKit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import gguf
import numpy as np
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate as G  # noqa: E402

QWEN2_TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  intermediate_size=64, vocab_size=96, tie_word_embeddings=False, rms_norm_eps=1e-6,
                  max_position_embeddings=64, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})

QWEN2_TIED = dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                  intermediate_size=80, vocab_size=80, tie_word_embeddings=True, rms_norm_eps=1e-6,
                  max_position_embeddings=64, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0})

QWEN2_TEXT = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                  intermediate_size=160, vocab_size=600, tie_word_embeddings=False, rms_norm_eps=1e-6,
                  max_position_embeddings=128, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
                  bos_token_id=590, eos_token_id=591)


def build(ckw: dict, seed: int, head_gain: float = 1.0) -> Qwen2ForCausalLM:
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(Qwen2Config(attn_implementation="eager", **ckw))
    G.randomize(model, seed, conv1d=False, head_gain=head_gain)
    names = [n for n, _ in model.named_parameters()]
    assert any(n.endswith("q_proj.bias") for n in names) and not any(n.endswith("o_proj.bias") for n in names), names
    return model.eval()


def fixture(name: str, ckw: dict, seed: int) -> tuple[dict, dict]:
    d = G.fresh_dir(name)
    model = build(ckw, seed)
    ref = G.run_hf(model, G.token_ids(ckw["vocab_size"]))
    G.save_fixture(Qwen2ForCausalLM, model, d, ref, name)
    return ref, G.load_safetensors(d / "model.safetensors")


GGUF_NAMES = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.q_proj": "attn_q",
              "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
              "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}


def gguf_name(hf: str) -> str:
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    p = hf.split(".")
    assert p[0] == "model" and p[1] == "layers", hf
    return f"blk.{p[2]}.{GGUF_NAMES['.'.join(p[3:-1])]}.{p[-1]}"


def qwen2_gguf(path: Path, sd: dict, cfg: dict, name: str) -> None:
    """The keys and tensors llama.cpp's convert_hf_to_gguf.py writes for Qwen2ForCausalLM (Qwen2Model: TextModel's
    generic keys, no Q/K permutation), f32, with a placeholder tokenizer of the right size."""
    w = gguf.GGUFWriter(str(path), "qwen2")
    w.add_name(name)
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_rope_freq_base(cfg["rope_parameters"]["rope_theta"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    G.add_fake_tokenizer(w, "gpt2", cfg["vocab_size"])
    for n in sorted(sd):
        w.add_tensor(gguf_name(n), sd[n])
    G.write_gguf(path, w)
    meta, W, types = G.read_gguf(path)
    assert meta["general.architecture"] == "qwen2" and set(types.values()) == {"F32"}
    assert set(W) == {gguf_name(n) for n in sd}
    for n in sd:
        assert np.array_equal(W[gguf_name(n)], sd[n]), n


def fixture_text() -> None:
    # The first seed whose greedy choices are clear (G.check_greedy's conditions).
    G.seeded_text_fixture("qwen2-text", range(4101, 4141), lambda seed: build(QWEN2_TEXT, seed, head_gain=2.5),
                          Qwen2ForCausalLM, "llama3-bpe", ["tokenizer.json", "tokenizer_config.json"],
                          eos={591}, special=set(range(590, 600)))


def main() -> None:
    print(f"transformers {G.transformers.__version__}, torch {torch.__version__}, numpy {np.__version__}")
    ref, sd = fixture("qwen2-tiny", QWEN2_TINY, 4001)
    d = G.ROOT / "qwen2-tiny"
    qwen2_gguf(d / "model.gguf", sd, json.loads((d / "config.json").read_text()), "qwen2-tiny")
    theta4 = build({**QWEN2_TINY, "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0}}, 4001)
    G.knob_note("qwen2-tiny", "rope_theta 1e4 instead of 1e6", ref, G.run_hf(theta4, G.token_ids(96)))
    nobias = build(QWEN2_TINY, 4001)
    with torch.no_grad():
        for n, p in nobias.named_parameters():
            if n.endswith("_proj.bias"):
                p.zero_()
    G.knob_note("qwen2-tiny", "dropping the q/k/v biases", ref, G.run_hf(nobias, G.token_ids(96)))
    fixture("qwen2-tied", QWEN2_TIED, 4002)
    fixture_text()
    G.print_summary()


if __name__ == "__main__":
    main()
