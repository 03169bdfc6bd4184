#!/usr/bin/env python3
"""PyTorch checkpoint reading: WeightKit against torch.load, side by side in one run.

Makes (once, into --dir, not committed) a GPT-2 124M-shaped `pytorch_model.bin` with torch.save: the state dict
GPT2LMHeadModel has (lm_head.weight tied to transformer.wte.weight), float32, seeded N(0, 0.02²): 498 MB. Then, with
the page cache warm, in ROUNDS alternating rounds:

  read every tensor   torch.load(path, mmap=True, weights_only=True) and t.sum() of every tensor, in process,
                      against `wk-bench pytorch-read` (PyTorchFile.open, every tensor's bytes, a float sum);
                      also both with one element per 4 KiB page read instead of all (--pages), and open only
  inspect             `weightkit inspect` as a whole process (map, zip directory, unpickle, model recognition,
                      printing), wall time
  convert             `weightkit convert pytorch_model.bin model.safetensors` against `cp` of the same file and a
                      copy that fsyncs (`dd conv=fsync`, as WeightKit's atomic writer does), and safetensors'
                      own recipe (torch.load + save_file, bindings/python/convert.py) for reference

Each side reports its best round's median: the machine is shared, and other load only ever adds time.

    swift build -c release --product weightkit --product wk-bench
    python3 Benchmarks/pytorch/bench.py [--runs 5] [--rounds 3] [--dir /tmp/wk-pt-bench]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
N_EMBD, N_LAYER, N_HEAD, VOCAB, N_POS = 768, 12, 12, 50257, 1024


def make(path_dir: str) -> str:
    path = os.path.join(path_dir, "pytorch_model.bin")
    if os.path.exists(path):
        return path
    os.makedirs(path_dir, exist_ok=True)
    g = torch.Generator().manual_seed(124)
    d = N_EMBD
    sd = {"transformer.wte.weight": torch.randn(VOCAB, d, generator=g) * 0.02,
          "transformer.wpe.weight": torch.randn(N_POS, d, generator=g) * 0.02}
    for i in range(N_LAYER):
        h = f"transformer.h.{i}."
        for name, shape in [("ln_1.weight", (d,)), ("ln_1.bias", (d,)), ("attn.c_attn.weight", (d, 3 * d)),
                            ("attn.c_attn.bias", (3 * d,)), ("attn.c_proj.weight", (d, d)), ("attn.c_proj.bias", (d,)),
                            ("ln_2.weight", (d,)), ("ln_2.bias", (d,)), ("mlp.c_fc.weight", (d, 4 * d)),
                            ("mlp.c_fc.bias", (4 * d,)), ("mlp.c_proj.weight", (4 * d, d)), ("mlp.c_proj.bias", (d,))]:
            t = torch.randn(*shape, generator=g) * 0.02
            sd[h + name] = t + 1 if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") else t
    sd["transformer.ln_f.weight"] = torch.ones(d)
    sd["transformer.ln_f.bias"] = torch.zeros(d)
    sd["lm_head.weight"] = sd["transformer.wte.weight"]
    torch.save(sd, path)
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": d, "n_layer": N_LAYER,
              "n_head": N_HEAD, "vocab_size": VOCAB, "n_positions": N_POS, "n_ctx": N_POS,
              "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True}
    with open(os.path.join(path_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    return path


def timed(fn, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def torch_read(path, mode):
    sd = torch.load(path, mmap=True, weights_only=True)
    s = 0.0
    if mode == "all":
        for v in sd.values():
            s += float(v.sum())
    elif mode == "pages":
        for v in sd.values():
            s += float(v.reshape(-1)[::1024].sum())
    return s


def wk_bench(binary, path, runs, *flags):
    r = subprocess.run([binary, "pytorch-read", path, "--runs", str(runs), "--json", *flags], capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["median_s"]


def proc(args, runs, before=None):
    times = []
    for _ in range(runs):
        if before:
            before()
        t = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/wk-pt-bench")
    ap.add_argument("--bin", default=os.path.join(ROOT, ".build/release"))
    a = ap.parse_args()
    path = make(os.path.join(a.dir, "gpt2-124m"))
    size = os.path.getsize(path)
    wk, wkb = os.path.join(a.bin, "weightkit"), os.path.join(a.bin, "wk-bench")
    out_st = os.path.join(a.dir, "out.safetensors")
    out_cp = os.path.join(a.dir, "copy.bin")

    def rm(*ps):
        def f():
            for p in ps:
                if os.path.exists(p):
                    os.unlink(p)
        return f

    def recipe():
        from safetensors.torch import _remove_duplicate_names, save_file
        sd = torch.load(path, map_location="cpu", weights_only=True)
        for kept, group in _remove_duplicate_names(sd, discard_names=["lm_head.weight"]).items():
            for n in group:
                del sd[n]
        save_file({k: v.contiguous() for k, v in sd.items()}, out_st, metadata={"format": "pt"})

    with open(path, "rb") as f:  # warm the page cache
        while f.read(1 << 24):
            pass
    best = {}

    def keep(key, v):
        best[key] = min(best.get(key, float("inf")), v)

    for rnd in range(a.rounds):
        for mode, flag in [("all", []), ("pages", ["--pages"]), ("open", ["--open-only"])]:
            keep(f"torch {mode}", timed(lambda: torch_read(path, mode), a.runs))
            keep(f"wk {mode}", wk_bench(wkb, path, a.runs, *flag))
        keep("wk inspect", proc([wk, "inspect", path], 2 * a.runs + 1))
        keep("wk inspect --json", proc([wk, "inspect", path, "--json"], 2 * a.runs + 1))
        keep("cp", proc(["cp", path, out_cp], a.runs, rm(out_cp)))
        keep("cp + fsync", proc(["dd", f"if={path}", f"of={out_cp}", "bs=4M", "conv=fsync", "status=none"], a.runs, rm(out_cp)))
        keep("wk convert", proc([wk, "convert", path, out_st], a.runs, rm(out_st)))
        keep("safetensors recipe", timed(lambda: (rm(out_st)(), recipe()), max(1, a.runs // 2)))
        print(f"round {rnd + 1}: " + ", ".join(f"{k} {v:.4f}" for k, v in best.items()), file=sys.stderr)
    rm(out_st, out_cp)()
    rows = [
        ("read every tensor: torch.load(mmap=True, weights_only=True) + t.sum()", "torch all"),
        ("read every tensor: WeightKit (PyTorchFile + float sum)", "wk all"),
        ("one element per 4 KiB page: torch", "torch pages"),
        ("one element per 4 KiB page: WeightKit", "wk pages"),
        ("open only: torch.load(mmap=True, weights_only=True)", "torch open"),
        ("open only: PyTorchFile.open", "wk open"),
        ("`weightkit inspect` (whole process)", "wk inspect"),
        ("`weightkit inspect --json` (whole process)", "wk inspect --json"),
        ("`cp` of the same file", "cp"),
        ("copy with fsync (`dd conv=fsync`)", "cp + fsync"),
        ("`weightkit convert` → model.safetensors", "wk convert"),
        ("safetensors' recipe: torch.load + save_file", "safetensors recipe"),
    ]
    print(f"\nfile: {path} ({size / 1e6:.0f} MB), torch {torch.__version__}, {torch.get_num_threads()} torch threads, "
          f"{a.rounds} rounds × {a.runs} runs, best round's median\n")
    print("| what | seconds |\n|---|---:|")
    for label, key in rows:
        print(f"| {label} | {best[key]:.4f} |")
    print("\n| ratio | value | target |\n|---|---:|---|")
    print(f"| WeightKit / torch, read every tensor | {best['wk all'] / best['torch all']:.2f}× | ≤ 1 |")
    print(f"| WeightKit / torch, page per 4 KiB | {best['wk pages'] / best['torch pages']:.2f}× | |")
    print(f"| WeightKit / torch, open only | {best['wk open'] / best['torch open']:.3f}× | |")
    print(f"| `weightkit inspect` | {best['wk inspect'] * 1000:.1f} ms | < 20 ms |")
    print(f"| convert / cp | {best['wk convert'] / best['cp']:.2f}× | ≤ 1.5 |")
    print(f"| convert / cp + fsync | {best['wk convert'] / best['cp + fsync']:.2f}× | |")
    print(f"| convert / safetensors' recipe | {best['wk convert'] / best['safetensors recipe']:.2f}× | |")


if __name__ == "__main__":
    main()
