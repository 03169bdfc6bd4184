#!/usr/bin/env python3
"""Peak anonymous memory of `weightkit convert` on a ≥ 1 GB checkpoint: is it constant + one tensor?

    python3 Benchmarks/convert/memory.py [--dir Benchmarks/convert/bench-out] [--binary .build/release/weightkit]

Writes a GPT-2 *medium*-shaped f32 checkpoint (24 layers, n_embd 1024, vocab 50257: 355 M parameters, 1.42 GB;
largest tensor wte 206 MB) unless it exists, then converts it several ways while sampling RssAnon from
/proc/PID/status every 5 ms (the memory-mapped input is file-backed, RssFile, and reclaimable; RssAnon is what
the process itself allocates). Prints peak RssAnon next to the largest output tensor's size.
"""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "Benchmarks/python"))
sys.path.insert(0, str(HERE))
from bench import run  # noqa: E402
from st_writer import write_safetensors  # noqa: E402


def make(d: Path) -> None:
    D, L, V, P = 1024, 24, 50257, 1024
    specs = [("transformer.wte.weight", (V, D)), ("transformer.wpe.weight", (P, D))]
    for i in range(L):
        h = f"transformer.h.{i}."
        specs += [(h + "ln_1.weight", (D,)), (h + "ln_1.bias", (D,)), (h + "attn.c_attn.weight", (D, 3 * D)),
                  (h + "attn.c_attn.bias", (3 * D,)), (h + "attn.c_proj.weight", (D, D)), (h + "attn.c_proj.bias", (D,)),
                  (h + "ln_2.weight", (D,)), (h + "ln_2.bias", (D,)), (h + "mlp.c_fc.weight", (D, 4 * D)),
                  (h + "mlp.c_fc.bias", (4 * D,)), (h + "mlp.c_proj.weight", (4 * D, D)), (h + "mlp.c_proj.bias", (D,))]
    specs += [("transformer.ln_f.weight", (D,)), ("transformer.ln_f.bias", (D,))]
    rng = np.random.default_rng(0)
    d.mkdir(parents=True, exist_ok=True)
    write_safetensors(d / "model.safetensors", specs, lambda n, s: 0.02 * rng.standard_normal(s, dtype=np.float32))
    cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": D, "n_layer": L, "n_head": 16,
           "n_positions": P, "vocab_size": V, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"}
    (d / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path, default=HERE / "bench-out")
    ap.add_argument("--binary", default=str(ROOT / ".build/release/weightkit"))
    a = ap.parse_args()
    model = a.dir / "gpt2-medium"
    if not (model / "model.safetensors").exists():
        make(model)
    size = (model / "model.safetensors").stat().st_size
    wte = 50257 * 1024
    cases = [
        ("f32 → GGUF f32 (transposes only)", ["gguf32.gguf"], [], 1024 * 4096 * 4),
        ("f32 → GGUF f16", ["g16.gguf", "--dtype", "f16"], [], wte * 2),
        ("f32 → GGUF q8_0", ["q8.gguf", "--dtype", "q8_0"], [], wte * 34 // 32),
        ("f32 → HF dir bf16, 500MB shards", ["hfdir/", "--dtype", "bf16", "--shard-size", "500MB"], [], wte * 2),
        ("GGUF f16 → HF dir f32", ["back/", "--dtype", "f32"], ["g16.gguf"], wte * 4),
    ]
    print(f"input {model}/model.safetensors: {size / 1e9:.2f} GB f32; largest tensor wte {wte * 4 / 1e6:.0f} MB f32")
    print("| conversion | seconds | peak RssAnon MB | largest output tensor MB | peak RSS (incl. mapped input) MB |")
    print("|---|---:|---:|---:|---:|")
    for label, args, src, largest in cases:
        inp = str(a.dir / src[0]) if src else str(model)
        out = a.dir / args[0]
        t, rss, anon = run([a.binary, "convert", inp, str(out)] + args[1:] + ["--force"])
        print(f"| {label} | {t:.2f} | {anon:.0f} | {largest / 1e6:.0f} | {rss:.0f} |")
    for f in ["gguf32.gguf", "q8.gguf", "hfdir", "back", "g16.gguf"]:
        p = a.dir / f
        shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
