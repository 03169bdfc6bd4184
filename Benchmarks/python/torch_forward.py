#!/usr/bin/env python3
"""Time PyTorch (transformers) forward passes over a model directory, the baseline for `weightkit bench`.

    python Benchmarks/python/torch_forward.py MODELDIR [--tokens 128] [--runs 5] [--threads 2] [--attn sdpa] [--json]

Loads MODELDIR once with transformers (AutoModelForCausalLM, float32, eval), sets torch.set_num_threads(THREADS),
runs one untimed warm-up, then RUNS timed forward passes (no KV cache) over TOKENS deterministic ids
(id_i = i·7919 mod vocab). Prints median and min seconds; with --json prints only
{"forward": {"median_s", "min_s", "tokens_per_s"}, ...} — the shape `weightkit bench --json` prints, so
compare.py can divide the two. tokens_per_s = TOKENS / median_s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path


def token_ids(n: int, vocab: int, start: int = 0) -> list[int]:
    return [(i * 7919) % vocab for i in range(start, start + n)]


def load(model_dir: Path, threads: int, attn: str):
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(threads)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32, attn_implementation=attn)
    return model.eval()


def summary(times: list[float], tokens: int) -> dict[str, float]:
    med = statistics.median(times)
    return {"median_s": med, "min_s": min(times), "tokens_per_s": tokens / med}


def environment(args: argparse.Namespace) -> dict:
    import torch
    import transformers

    return {"tool": "pytorch", "torch_version": torch.__version__, "transformers_version": transformers.__version__,
            "threads": args.threads, "attn_implementation": args.attn, "tokens": args.tokens, "runs": args.runs,
            "model": str(args.model_dir)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--attn", default="sdpa", choices=["sdpa", "eager"], help="attention implementation")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.tokens < 1 or args.runs < 1:
        sys.exit("torch_forward.py: --tokens and --runs must be >= 1")

    import torch

    model = load(args.model_dir, args.threads, args.attn)
    ids = torch.tensor([token_ids(args.tokens, model.config.vocab_size)], dtype=torch.long)
    times = []
    with torch.inference_mode():
        model(ids, use_cache=False)  # warm-up
        for _ in range(args.runs):
            t0 = time.perf_counter()
            out = model(ids, use_cache=False)
            times.append(time.perf_counter() - t0)
    if not torch.isfinite(out.logits).all():
        sys.exit("torch_forward.py: non-finite logits")
    res = {"forward": summary(times, args.tokens), "environment": environment(args)}
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        f = res["forward"]
        print(f"forward {args.tokens} tokens x {args.runs} runs ({args.threads} threads, {args.attn}): "
              f"median {f['median_s']:.4f} s, min {f['min_s']:.4f} s, {f['tokens_per_s']:.1f} tokens/s")


if __name__ == "__main__":
    main()
