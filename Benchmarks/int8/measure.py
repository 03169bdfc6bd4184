#!/usr/bin/env python3
"""The error of 8-bit activations in one-token products, measured on the repository's fixtures.

    python3 Benchmarks/int8/measure.py WEIGHTKIT [--work DIR] [--fixtures gpt2-trained,llama3-text,...]
                                       [--dtypes q8_0,q4_0,q4_1,q5_0,q5_1] [--gguf FILE ...]

For each fixture and dtype: weightkit convert writes the quantized GGUF; then the fixture's reference tokens run
twice through the same file, the weights as stored both times:
  A  WEIGHTKIT_INT8_EVERY_ROW=1   every row of every product through the one-token kernel with the activation
                                  row quantized to 8 bits per block of 32 (what decoding the tokens one by one
                                  computes)
  B  WEIGHTKIT_F32_ACTIVATIONS=1  float32 activations (the reference: dequantized weights, float32 arithmetic)
and the dumps are compared: per tensor, max |A − B| and that over the RMS of B, the worst hidden state and the
logits; and the share of positions whose top-1 logit agrees. For scale, the last column is what quantizing the
weights costs: the logits of B against the fixture's own float32 weights run as they are (max |Δ| / RMS).
Each --gguf FILE (a quantized GGUF, say the benchmark's 124M models) is measured the same way on 32 token ids
drawn with a fixed seed, without the last column. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], env: dict[str, str] | None = None) -> None:
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))}: exit {p.returncode}\n{p.stderr[-2000:]}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("weightkit")
    ap.add_argument("--work", default=None)
    ap.add_argument("--fixtures", default="gpt2-trained,llama3-text,qwen2-text,mistral-text")
    ap.add_argument("--dtypes", default="q8_0,q4_0,q4_1,q5_0,q5_1")
    ap.add_argument("--gguf", action="append", default=[])
    a = ap.parse_args()
    work = Path(a.work or tempfile.mkdtemp(prefix="int8-"))
    work.mkdir(parents=True, exist_ok=True)
    print("| fixture | dtype | hidden_states max abs | / RMS | logits max abs | / RMS | top-1 agree | weights' own: logits / RMS |")
    print("|---|---|---|---|---|---|---|---|")
    cases = []
    for fx in a.fixtures.split(",") if a.fixtures else []:
        ids = load_file(str(ROOT / "Fixtures" / fx / "reference.safetensors"))["input_ids"].ravel().tolist()
        for dt in a.dtypes.split(","):
            cases.append((fx, dt, ids, work / f"{fx}-{dt}.gguf"))
    for path in a.gguf:
        import gguf

        vocab = next(int(t.shape[-1]) for t in gguf.GGUFReader(path).tensors if t.name == "token_embd.weight")
        ids = np.random.default_rng(17).integers(0, vocab, 32).tolist()
        cases.append((Path(path).stem, "as stored", ids, Path(path)))
    reference_logits = {}
    for fx, dt, ids, g in cases:
            tokens = ",".join(str(int(i)) for i in ids)
            F = None
            if dt != "as stored":
                if fx not in reference_logits:
                    f32 = work / f"{fx}-f32.safetensors"
                    run([a.weightkit, "run", ROOT / "Fixtures" / fx, "--tokens", tokens, "--dump", f32])
                    reference_logits[fx] = load_file(str(f32))["logits"].astype(np.float64)
                F = reference_logits[fx]
            if not g.exists():
                run([a.weightkit, "convert", ROOT / "Fixtures" / fx, g, "--dtype", dt, "--force"])
            dumps = []
            for name, var in [("a", "WEIGHTKIT_INT8_EVERY_ROW"), ("b", "WEIGHTKIT_F32_ACTIVATIONS")]:
                env = dict(os.environ)
                env.pop("WEIGHTKIT_INT8_EVERY_ROW", None)
                env.pop("WEIGHTKIT_F32_ACTIVATIONS", None)
                env[var] = "1"
                out = work / f"{fx}-{dt}-{name}.safetensors"
                run([a.weightkit, "run", g, "--tokens", tokens, "--dump", out], env)
                dumps.append(load_file(str(out)))
            A, B = dumps

            def err(k: str) -> tuple[float, float]:
                d = np.abs(A[k].astype(np.float64) - B[k].astype(np.float64)).max()
                rms = np.sqrt(np.mean(B[k].astype(np.float64) ** 2))
                return float(d), float(d / rms)

            hs = [err(k) for k in B if k.startswith("hidden_states.")]
            h = max(hs, key=lambda t: t[1])
            lg = err("logits")
            la, lb = A["logits"].reshape(-1, A["logits"].shape[-1]), B["logits"].reshape(-1, B["logits"].shape[-1])
            agree = float(np.mean(la.argmax(-1) == lb.argmax(-1)))
            wq = f"{float(np.abs(B['logits'] - F).max() / np.sqrt(np.mean(F**2))):.3g}" if F is not None else ""
            print(f"| {fx} | {dt} | {h[0]:.3g} | {h[1]:.3g} | {lg[0]:.3g} | {lg[1]:.3g} | {agree:.3f} ({len(ids)} positions) | {wq} |", flush=True)


if __name__ == "__main__":
    main()
