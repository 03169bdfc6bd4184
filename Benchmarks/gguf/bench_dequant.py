#!/usr/bin/env python3
"""Dequantization throughput: WeightKit (wk-bench dequant, release build) vs gguf-py's numpy
`gguf.quants.dequantize`, on the same bytes, in the same run. Prints a markdown table.

    python3 Benchmarks/gguf/bench_dequant.py [--rows 4096] [--runs 5] [--no-build]

Writes bench-out/dequant.gguf (one 4096×1024 tensor per type by default): Q8_0 Q4_0 Q4_1
Q5_0 Q5_1 quantized from random normal data by gguf-py; K-quants as random bytes with
sane float16 scales (valid blocks); F16 and BF16 for reference.
"""
import argparse, json, os, statistics, subprocess, sys, time
import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize, dequantize

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ap = argparse.ArgumentParser()
ap.add_argument("--rows", type=int, default=4096)
ap.add_argument("--cols", type=int, default=1024)
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--no-build", action="store_true")
a = ap.parse_args()

out_dir = os.path.join(ROOT, "bench-out")
os.makedirs(out_dir, exist_ok=True)
path = os.path.join(out_dir, "dequant.gguf")
rng = np.random.default_rng(0)
x = rng.standard_normal((a.rows, a.cols)).astype(np.float32)
K_SCALES = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}
w = gguf.GGUFWriter(path, "bench")
data = {}
for t in [T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.BF16]:
    data[t] = quantize(x, t)
for t, offs in K_SCALES.items():
    bs, ts = gguf.GGML_QUANT_SIZES[t]
    raw = rng.integers(0, 256, (a.rows * a.cols // bs, ts), dtype=np.uint8)
    for o in offs:
        raw[:, o:o + 2] = (rng.standard_normal((raw.shape[0], 1)) * 0.01).astype(np.float16).view(np.uint8)
    data[t] = raw.reshape(a.rows, -1)
data[T.F16] = x.astype(np.float16)
for t, arr in data.items():
    if t == T.F16:
        w.add_tensor(t.name.lower(), arr)
    else:
        w.add_tensor(t.name.lower(), arr, raw_dtype=t)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()

# gguf-py
py = {}
for t, arr in data.items():
    dequantize(arr, t)  # warm-up
    times = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        dequantize(arr, t)
        times.append(time.perf_counter() - t0)
    py[t.name.lower()] = a.rows * a.cols * 4 / statistics.median(times) / 1e9

# WeightKit
if not a.no_build:
    subprocess.run(["swift", "build", "-c", "release", "--product", "wk-bench"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
exe = os.path.join(ROOT, ".build", "release", "wk-bench")
wk = json.loads(subprocess.run([exe, "dequant", path, "--runs", str(a.runs), "--json"], check=True,
                               capture_output=True, text=True).stdout)

print(f"{a.rows}×{a.cols} elements per type, median of {a.runs} runs, GB/s of float32 output\n")
print("| type | gguf-py (numpy) GB/s | WeightKit GB/s | ratio |")
print("|---|---:|---:|---:|")
for name in py:
    g = wk.get(name, {}).get("gb_per_s")
    print(f"| {name} | {py[name]:.2f} | {g:.2f} | {g / py[name]:.1f}× |" if g else f"| {name} | {py[name]:.2f} | – | – |")
