#!/usr/bin/env python3
"""A LLaMA-3.1-8B-shaped checkpoint with random weights, for the executor's scale test (not committed: 16 GB).

    python3 Benchmarks/scale/make_llama8b.py OUT_DIR [--tokens 8] [--no-reference]

Writes OUT_DIR/config.json, tokenizer.json (Llama 3's vocabulary, from llama.cpp's test vocabulary GGUF in
../shared/peer-data), (hidden 4096, 32 layers, 32 heads, 8 KV heads, FFN 14336, vocabulary 128256,
rope_theta 500000 with Llama 3.1's rope scaling), the weights in bf16 as four safetensors shards with
model.safetensors.index.json, and OUT_DIR/reference.safetensors: transformers' activations for 8 tokens with the
model held in bf16, in the reference format (DESIGN: input_ids, logits, hidden_states.*, attentions.*), made by
the same `run_hf`/`save_reference` as the fixtures. Every parameter is random: matrices N(0, 0.02²) (the
initializer_range transformers uses), norm gains 1 + N(0, 0.1²); tensor i is drawn from torch.Generator seed i, one
tensor at a time, so at most one shard (~4 GB) is in memory while writing. The reference needs the whole model in
memory (16 GB) for a minute. `--f32-compute` also
records reference-f32.safetensors from the same bf16 weights with every operation in float32. Needs torch 2.15.0, transformers 5.23.0, safetensors 0.8.0 (Fixtures/requirements.txt).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from safetensors.torch import save_file
from transformers import LlamaConfig, LlamaForCausalLM

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT / "Fixtures"))
from generate import run_hf, save_reference  # noqa: E402  (one implementation of the reference format)
sys.path.insert(0, str(ROOT / "Benchmarks" / "tokenizers"))
import bench as tokenizer_bench  # noqa: E402  (writes tokenizer.json from llama.cpp's vocabulary GGUFs)

SHARD_BYTES = 4 << 30


def config() -> LlamaConfig:
    return LlamaConfig(
        vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=131072, rms_norm_eps=1e-5,
        rope_theta=500000.0,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 8192},
        tie_word_embeddings=False, bos_token_id=128000, eos_token_id=128001, torch_dtype="bfloat16",
    )


def write_weights(cfg: LlamaConfig, out: Path) -> None:
    with torch.device("meta"):
        shapes = [(n, tuple(p.shape)) for n, p in LlamaForCausalLM(cfg).state_dict().items()]
    shard: dict[str, torch.Tensor] = {}
    size = 0
    shards: list[dict[str, torch.Tensor]] = []
    names: list[list[str]] = []

    def flush() -> None:
        nonlocal shard, size
        if shard:
            k = len(names) + 1
            fn = f"model-{k:05d}.safetensors"
            save_file(shard, str(out / fn), metadata={"format": "pt"})
            names.append(list(shard))
            print(f"  {fn}: {len(shard)} tensors, {size / 2**30:.2f} GiB", flush=True)
            shard, size = {}, 0

    for i, (name, shape) in enumerate(shapes):
        g = torch.Generator().manual_seed(i)
        if name.endswith("norm.weight"):
            t = 1 + 0.1 * torch.randn(shape, generator=g)
        else:
            t = 0.02 * torch.randn(shape, generator=g)
        t = t.to(torch.bfloat16)
        nbytes = t.numel() * 2
        if size + nbytes > SHARD_BYTES:
            flush()
        shard[name] = t
        size += nbytes
    flush()
    total = len(names)
    weight_map = {}
    for k, ns in enumerate(names, 1):
        src = out / f"model-{k:05d}.safetensors"
        dst = out / f"model-{k:05d}-of-{total:05d}.safetensors"
        src.rename(dst)
        weight_map.update({n: dst.name for n in ns})
    total_size = sum(2 * int(torch.tensor(s).prod()) for _, s in shapes)
    (out / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": total_size}, "weight_map": weight_map}, indent=2, sort_keys=True) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--tokens", type=int, default=8)
    ap.add_argument("--no-reference", action="store_true")
    ap.add_argument("--f32-compute", action="store_true",
                    help="also record reference-f32.safetensors: the same bf16 weights, every operation in float32 "
                         "(each weight widened as it is used), the reference a float32 executor should match")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    cfg = config()
    t0 = time.time()
    if not (args.out / "model.safetensors.index.json").exists():
        write_weights(cfg, args.out)
        cfg.save_pretrained(args.out)
        print(f"weights written in {time.time() - t0:.0f} s", flush=True)
    if not (args.out / "tokenizer.json").exists():
        # Llama 3's vocabulary (128,256 tokens, as the config says) from llama.cpp's test vocabulary beside the
        # repository, so that the GGUFs carry a tokenizer (llama.cpp loads no model without one) and generate runs.
        tokenizer_bench.write_byte_level("ggml-vocab-llama-bpe.gguf", args.out / "tokenizer.json", llama3=True)
    if args.no_reference:
        return
    torch.set_num_threads(2)
    t0 = time.time()
    model = LlamaForCausalLM.from_pretrained(args.out, dtype=torch.bfloat16, attn_implementation="eager")
    print(f"transformers loaded the model in {time.time() - t0:.0f} s", flush=True)
    # 8 ids spread over the vocabulary: 0, V-1, then (7 + 29·997·i) mod V, as the fixtures pick theirs
    v = cfg.vocab_size
    ids = [0, v - 1] + [(7 + 28913 * i) % v for i in range(args.tokens - 2)]
    t0 = time.time()
    ref = run_hf(model, ids)
    print(f"forward over {len(ids)} tokens in bf16: {time.time() - t0:.0f} s", flush=True)
    save_reference(args.out / "reference.safetensors", ref, "llama8b-random", dtype="bfloat16")
    if args.f32_compute:
        # Weights stay bf16 in memory (the model needs 16 GB); activations are float32 from the embedding on
        # (its table widened: 2 GB), and every linear layer widens its weight for the call. RMSNorm, RoPE and
        # eager attention then compute in float32, since their inputs are.
        model.model.embed_tokens.weight.data = model.model.embed_tokens.weight.data.float()
        linear = torch.nn.functional.linear
        torch.nn.functional.linear = lambda x, w, b=None: linear(x, w.float(), None if b is None else b.float())
        t0 = time.time()
        ref32 = run_hf(model, ids)
        torch.nn.functional.linear = linear
        print(f"forward over {len(ids)} tokens in float32 from the bf16 weights: {time.time() - t0:.0f} s", flush=True)
        save_reference(args.out / "reference-f32.safetensors", ref32, "llama8b-random", dtype="float32",
                       weights="bfloat16")


if __name__ == "__main__":
    main()
