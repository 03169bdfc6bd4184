#!/usr/bin/env python3
"""Time PyTorch (transformers) KV-cached decode steps, the baseline for `weightkit bench --decode`.

    python Benchmarks/python/torch_decode.py MODELDIR [--tokens 128] [--steps 8] [--runs 5] [--threads 2] [--json]

For each run: an untimed prefill over TOKENS deterministic ids (id_i = i·7919 mod vocab) with use_cache=True,
then STEPS timed single-token steps that reuse and extend the KV cache (the fed ids continue the same
sequence, not argmax, so every run does identical work). The median and min are over all timed steps of all
runs; tokens_per_s = 1 / median_s. --json prints {"decode": {"median_s", "min_s", "tokens_per_s"}, ...}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from torch_forward import environment, load, summary, token_ids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--tokens", type=int, default=128, help="prompt length before decoding")
    ap.add_argument("--steps", type=int, default=8, help="timed decode steps per run")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if min(args.tokens, args.steps, args.runs) < 1:
        sys.exit("torch_decode.py: --tokens, --steps and --runs must be >= 1")

    import torch

    model = load(args.model_dir, args.threads, args.attn)
    vocab = model.config.vocab_size
    prompt = torch.tensor([token_ids(args.tokens, vocab)], dtype=torch.long)
    nxt = token_ids(args.steps, vocab, start=args.tokens)
    times = []
    with torch.inference_mode():
        for run in range(args.runs + 1):  # run 0 is a warm-up
            out = model(prompt, use_cache=True)
            cache = out.past_key_values
            for j in range(args.steps):
                ids = torch.tensor([[nxt[j]]], dtype=torch.long)
                t0 = time.perf_counter()
                out = model(ids, past_key_values=cache, use_cache=True)
                dt = time.perf_counter() - t0
                cache = out.past_key_values
                if run > 0:
                    times.append(dt)
    res = {"decode": summary(times, 1), "environment": {**environment(args), "decode_steps": args.steps}}
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        d = res["decode"]
        print(f"decode after {args.tokens} tokens, {args.steps} steps x {args.runs} runs ({args.threads} threads): "
              f"median {d['median_s'] * 1e3:.2f} ms, min {d['min_s'] * 1e3:.2f} ms, {d['tokens_per_s']:.1f} tokens/s")


if __name__ == "__main__":
    main()
