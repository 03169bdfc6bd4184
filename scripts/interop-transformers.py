#!/usr/bin/env python3
"""Does Hugging Face transformers load what `weightkit convert` writes, and reproduce the reference logits?

    python3 scripts/interop-transformers.py [--binary .build/debug/weightkit] [--keep DIR]

Needs torch and transformers (Fixtures/requirements.txt); not run in CI (torch is too big). For each GPT-2 and
LLaMA fixture it makes, with WeightKit:
  - an HF model directory from the fixture's safetensors (hf → hf),
  - an HF model directory from a GGUF (the fixture's own model.gguf where there is one, written by gguf-py,
    else WeightKit's GGUF): Q/K un-permuted, Conv1D transposed back, config.json generated,
  - a GGUF (llama.cpp names, Q/K interleaved, Conv1D transposed),
then loads the directories with from_pretrained(dir) and the GGUF with from_pretrained(dir, gguf_file=...),
runs the fixture's input_ids (float32, eager attention, no grad) and prints max |Δ logits| against
reference.safetensors. Exit status 1 if a directory load misses 1e-4.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "Fixtures"
LLAMA3 = ["--set", "llama.rope.llama3.factor=8", "--set", "llama.rope.llama3.low_freq_factor=1",
          "--set", "llama.rope.llama3.high_freq_factor=4", "--set", "llama.rope.llama3.original_context_length=16"]


def wk(binary: str, *args: str) -> None:
    r = subprocess.run([binary, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"weightkit {' '.join(args)}: {r.stderr.strip()}")


def logits(model, ids) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(input_ids=ids).logits.float()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=str(ROOT / ".build/debug/weightkit"))
    ap.add_argument("--keep", type=Path, help="write the converted files here and keep them")
    a = ap.parse_args()
    torch.set_num_threads(1)
    work = a.keep or Path(tempfile.mkdtemp(prefix="wk-interop-"))
    work.mkdir(parents=True, exist_ok=True)
    worst_dir = 0.0
    rows = []
    for fx in ["gpt2-tiny", "gpt2-untied", "gpt2-hub", "llama-gqa", "llama-tied", "llama3-rope", "llama-meta"]:
        ref = load_file(FIX / fx / "reference.safetensors")
        ids, want = ref["input_ids"], ref["logits"]
        d = work / fx
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir()
        wk(a.binary, "convert", str(FIX / fx), str(d / "from-hf") + "/")
        wk(a.binary, "convert", str(FIX / fx), str(d / "model.gguf"))
        src_gguf = FIX / fx / "model.gguf"
        if not src_gguf.exists():
            src_gguf = d / "model.gguf"
        extra = LLAMA3 if fx == "llama3-rope" and src_gguf == FIX / fx / "model.gguf" else []
        wk(a.binary, "convert", str(src_gguf), str(d / "from-gguf") + "/", *extra)
        cases = [("HF dir from safetensors", d / "from-hf", None),
                 (f"HF dir from {'gguf-py' if src_gguf.parent == FIX / fx else 'WeightKit'} GGUF", d / "from-gguf", None),
                 ("WeightKit GGUF (gguf_file=)", d, "model.gguf")]
        if (FIX / fx / "model.gguf").exists():  # the same loader on gguf-py's file, for comparison
            cases.append(("gguf-py GGUF (gguf_file=), for comparison", FIX / fx, "model.gguf"))
        for label, path, gguf_file in cases:
            # gpt2-untied's gguf-py GGUF holds f16 matrices: its HF copy is checked against the
            # reference recorded from those f16 weights widened back to f32.
            target = want
            if fx == "gpt2-untied" and (path == d / "from-gguf" or path == FIX / fx):
                target = load_file(FIX / fx / "reference-f16.safetensors")["logits"]
                label += " (f16 matrices; vs reference-f16)"
            try:
                kw = {"gguf_file": gguf_file} if gguf_file else {}
                m = AutoModelForCausalLM.from_pretrained(str(path), attn_implementation="eager", dtype=torch.float32, **kw)
                delta = (logits(m, ids) - target).abs().max().item()
                rows.append((fx, label, f"{delta:.2e}"))
                if gguf_file is None:
                    worst_dir = max(worst_dir, delta)
            except Exception as e:  # report, do not stop: transformers' GGUF support has gaps
                rows.append((fx, label, f"load failed: {type(e).__name__}: {str(e).splitlines()[0][:120]}"))
                if gguf_file is None:
                    worst_dir = float("inf")
    print("| fixture | what transformers loaded | max abs Δ logits vs reference |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} |")
    print(f"\nworst over HF directories: {worst_dir:.2e}")
    if not a.keep:
        shutil.rmtree(work)
    sys.exit(0 if worst_dir <= 1e-4 else 1)


if __name__ == "__main__":
    main()
