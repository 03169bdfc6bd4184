#!/usr/bin/env python3
"""Fixtures for verify's dtype-derived tolerances (Formats/reference-activations.md, "Default tolerances"): one
LLaMA model stored in several dtypes, each with transformers' activations for exactly the weights it stores.

    python Fixtures/stored_dtypes.py      (pinned versions: Fixtures/requirements.txt; llama-quantize from the
                                           llama.cpp vendored by llama-cpp-python 0.3.36, found through LLAMA_BIN
                                           or ../llama/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin)

  llama-dtypes/  hidden 64, 2 layers, 4 heads, 2 KV heads, ffn 128, vocab 64, untied. Every parameter random
                 (Fixtures/generate.py's `randomize`), float32, then stored as:
      model.safetensors + config.json  bf16 (transformers' save_pretrained of the model cast to bfloat16)
        reference.safetensors          transformers in float32 on those bf16 values widened (metadata dtype float32)
        reference-bf16.safetensors     transformers computing in bfloat16 (metadata dtype bfloat16), as a reference
                                       for a model too large for float32 is made
      model-f16.gguf                   matrices f16, vectors f32 (gguf-py), + reference-f16.safetensors
      model-q8_0.gguf                  matrices Q8_0 (gguf-py's quantizer), + reference-q8_0.safetensors
      model-q4_0.gguf                  matrices Q4_0 (gguf-py's quantizer), + reference-q4_0.safetensors
  llama-kquant/  hidden 256 (a K-quant block per row), 2 layers, 4 heads, 2 KV heads, ffn 256, vocab 64, untied:
      model-q4_k_m.gguf                llama.cpp's llama-quantize Q4_K_M of an f32 GGUF written by gguf-py (Q4_K and
                                       Q6_K matrices), + reference.safetensors

Each GGUF reference: gguf-py's dequantize of the tensors as written, Q/K rows put back in transformers' order,
loaded into LlamaForCausalLM in float32, eager attention, one thread. Nothing here is produced by WeightKit.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate as G  # noqa: E402
from hf_reference import model_fingerprint  # noqa: E402  (generate puts scripts/ on the path)

DTYPES = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
              intermediate_size=128, vocab_size=64, tie_word_embeddings=False, rms_norm_eps=1e-5,
              max_position_embeddings=64, rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
KQUANT = dict(DTYPES, hidden_size=256, intermediate_size=256)

LLAMA_BIN = Path(os.environ.get("LLAMA_BIN", str(G.ROOT.parent.parent / "llama/llama_cpp_python-0.3.36/vendor/llama.cpp/build/bin")))


def hf_to_gguf(n: str) -> str:
    """transformers' LLaMA name -> llama.cpp's."""
    fixed = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
             "lm_head.weight": "output.weight"}
    if n in fixed:
        return fixed[n]
    parts = n.split(".")  # model.layers.{i}.{module}.{proj}.weight
    i, rest = parts[2], ".".join(parts[3:])
    table = {"input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
             "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
             "self_attn.o_proj.weight": "attn_output.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
             "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
             "mlp.down_proj.weight": "ffn_down.weight"}
    return f"blk.{i}.{table[rest]}"


def heads_of(n: str, cfg: dict) -> int | None:
    if n.endswith("q_proj.weight"):
        return cfg["num_attention_heads"]
    if n.endswith("k_proj.weight"):
        return cfg["num_key_value_heads"]
    return None


def write_gguf(path: Path, sd: dict[str, np.ndarray], cfg: dict, name: str, store) -> None:
    """A llama GGUF as llama.cpp's converter lays it out (Q/K rows interleaved); store(gguf_name, array) gives
    (data, raw_dtype or None) for each tensor."""
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(name)
    w.add_context_length(cfg["max_position_embeddings"])
    w.add_embedding_length(cfg["hidden_size"])
    w.add_block_count(cfg["num_hidden_layers"])
    w.add_feed_forward_length(cfg["intermediate_size"])
    w.add_rope_dimension_count(cfg["hidden_size"] // cfg["num_attention_heads"])
    w.add_head_count(cfg["num_attention_heads"])
    w.add_head_count_kv(cfg["num_key_value_heads"])
    w.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    w.add_rope_freq_base(cfg["rope_parameters"]["rope_theta"])
    w.add_vocab_size(cfg["vocab_size"])
    G.add_fake_tokenizer(w, "llama", cfg["vocab_size"])
    for n, a in sd.items():
        h = heads_of(n, cfg)
        a = G.llamacpp_permute(a, h) if h else a
        data, raw = store(hf_to_gguf(n), a)
        if raw is None:
            w.add_tensor(hf_to_gguf(n), data)
        else:
            w.add_tensor(hf_to_gguf(n), data, raw_dtype=raw)
    G.write_gguf(path, w)


def gguf_state_dict(path: Path, cfg: dict, names: list[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The weights a GGUF stores, dequantized by gguf-py, in transformers' names and Q/K order."""
    _, W, types = G.read_gguf(path)
    sd = {}
    for n in names:
        a = W[hf_to_gguf(n)]
        h = heads_of(n, cfg)
        sd[n] = G.hf_permute(a, h) if h else a
    return sd, types


def reference(model_f32, sd: dict[str, np.ndarray], what: str) -> dict[str, np.ndarray]:
    """transformers in float32 with exactly these weights."""
    with torch.no_grad():
        for n, p in model_f32.named_parameters():
            p.copy_(torch.from_numpy(np.ascontiguousarray(sd[n], dtype=np.float32)))
    return G.run_hf(model_f32, G.token_ids(model_f32.config.vocab_size))


def report(name: str, ref: dict, base: dict) -> None:
    """How far these weights' activations are from another set's, in units of each tensor's RMS."""
    worst = max(float(np.abs(ref[k].astype(np.float64) - base[k]).max() / np.sqrt(np.mean(base[k].astype(np.float64) ** 2)))
                for k in ref if k != "input_ids")
    G.note(f"{name}: largest |difference| from the float32 weights' activations: {worst:.3g} of the tensor's RMS")


def main() -> None:
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, gguf {gguf.__version__ if hasattr(gguf, '__version__') else '?'}, numpy {np.__version__}")

    # ---- llama-dtypes ---------------------------------------------------------------------------------------
    name = "llama-dtypes"
    d = G.fresh_dir(name)
    model = G.build_llama(DTYPES, seed=4101)
    names = [n for n, _ in model.named_parameters()]
    sd32 = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    ids = G.token_ids(DTYPES["vocab_size"])
    base = G.run_hf(model, ids)
    fp = model_fingerprint(model)

    # bf16 safetensors directory
    mb = G.build_llama(DTYPES, seed=4101).to(torch.bfloat16)
    with torch.no_grad():
        for n, p in mb.named_parameters():
            p.copy_(torch.from_numpy(sd32[n]).to(torch.bfloat16))
    G.save_hf(mb, d)
    sd_bf16 = {n: p.detach().float().numpy().copy() for n, p in mb.named_parameters()}
    ref = reference(model, sd_bf16, "bf16")
    G.save_reference(d / "reference.safetensors", ref, name, dtype="float32", weights="model.safetensors (bf16, widened)", **fp)
    m = G.reload_check(type(model), d, ref, f"{name} bf16 reload in float32")
    assert next(m.parameters()).dtype == torch.float32
    report(f"{name}/model.safetensors (bf16)", ref, base)
    ref16 = G.run_hf(mb, ids)  # transformers computing in bfloat16
    G.save_reference(d / "reference-bf16.safetensors", ref16, name, dtype="bfloat16", weights="model.safetensors (bf16)", **fp)
    for k in ref16:
        if k != "input_ids":
            e = np.abs(ref16[k].astype(np.float64) - ref[k]).max() / np.sqrt(np.mean(ref[k].astype(np.float64) ** 2))
            print(f"  bf16 compute vs float32 compute, {k}: max |diff| / rms {e:.3g}")

    # GGUF copies
    def f16(n, a):
        return (a.astype(np.float16), None) if a.ndim == 2 else (a, None)

    def quant(t):
        def store(n, a):
            if a.ndim == 2:
                return gguf.quants.quantize(a, t), t
            return a, None
        return store

    for dtype, store in [("f16", f16), ("q8_0", quant(gguf.GGMLQuantizationType.Q8_0)),
                         ("q4_0", quant(gguf.GGMLQuantizationType.Q4_0))]:
        path = d / f"model-{dtype}.gguf"
        write_gguf(path, sd32, DTYPES, name, store)
        sd, types = gguf_state_dict(path, DTYPES, names)
        want = {"f16": "F16", "q8_0": "Q8_0", "q4_0": "Q4_0"}[dtype]
        assert {types[hf_to_gguf(n)] for n in names if sd32[n].ndim == 2} == {want}, types
        r = reference(model, sd, dtype)
        G.save_reference(d / f"reference-{dtype}.safetensors", r, name, dtype="float32",
                         weights=f"model-{dtype}.gguf (gguf.quants.dequantize)", **fp)
        report(f"{name}/model-{dtype}.gguf", r, base)

    # ---- llama-kquant ---------------------------------------------------------------------------------------
    name = "llama-kquant"
    d = G.fresh_dir(name)
    model = G.build_llama(KQUANT, seed=4102)
    names = [n for n, _ in model.named_parameters()]
    sd32 = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    base = G.run_hf(model, G.token_ids(KQUANT["vocab_size"]))
    f32 = d / "f32.gguf"
    write_gguf(f32, sd32, KQUANT, name, lambda n, a: (a, None))
    path = d / "model-q4_k_m.gguf"
    subprocess.run([str(LLAMA_BIN / "llama-quantize"), str(f32), str(path), "Q4_K_M", "1"], check=True,
                   stdout=subprocess.DEVNULL)
    f32.unlink()
    sd, types = gguf_state_dict(path, KQUANT, names)
    kinds = sorted({types[hf_to_gguf(n)] for n in names if sd32[n].ndim == 2})
    assert "Q4_K" in kinds, kinds
    r = reference(model, sd, "q4_k_m")
    G.save_reference(d / "reference.safetensors", r, name, dtype="float32",
                     weights="model-q4_k_m.gguf (llama-quantize Q4_K_M; gguf.quants.dequantize)", **model_fingerprint(model))
    G.note(f"{name}/model-q4_k_m.gguf: matrix types {kinds}")
    report(f"{name}/model-q4_k_m.gguf", r, base)
    G.print_summary()


if __name__ == "__main__":
    main()
