#!/usr/bin/env python3
"""Quantizes the same f32 GGUF with llama-quantize and with `weightkit convert --dtype MIXTURE` and
compares every tensor: its type and its bytes.

    python Fixtures/kquants/compare_llama_quantize.py --llama-quantize PATH/llama-quantize \\
        [--weightkit .build/release/weightkit] [--mixtures q4_k_m,q6_k,...] [--imatrix]

Run by hand (it needs a llama.cpp build, which this repository does not contain or build). The models
are those of record_mixtures.py (random f32 weights written by gguf-py). With --imatrix, an importance
matrix with random positive values for every weight (written by gguf-py in llama.cpp's imatrix format)
is given to both tools. Prints one line per model and mixture and exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import gguf

sys.path.insert(0, os.path.dirname(__file__))
import record_mixtures as rm  # noqa: E402


def write_imatrix(path, tensors, rng):
    w = gguf.GGUFWriter(path, "llama")
    w.add_string("general.type", "imatrix")
    w.add_array("imatrix.datasets", ["random.txt"])
    w.add_uint32("imatrix.chunk_count", 3)
    w.add_uint32("imatrix.chunk_size", 512)
    for name, shape in tensors:
        if len(shape) != 2 or not name.endswith("weight") or "norm" in name or "embd" in name:
            continue
        w.add_tensor(name + ".in_sum2", (rng.random((1, shape[1])) * 100 + 0.01).astype(np.float32))
        w.add_tensor(name + ".counts", np.array([[50.0]], dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def tensors_of(path):
    r = gguf.GGUFReader(path)
    return {t.name: (t.tensor_type.name.lower(), bytes(t.data.tobytes())) for t in r.tensors}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-quantize", required=True)
    ap.add_argument("--weightkit", default=".build/release/weightkit")
    ap.add_argument("--mixtures", default="q2_k,q3_k_s,q3_k_m,q3_k_l,q4_k_s,q4_k_m,q5_k_s,q5_k_m,q6_k")
    ap.add_argument("--imatrix", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(5)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for spec in rm.MODELS:
            name = spec[0]
            src = os.path.join(tmp, name + "-f32.gguf")
            tensors = rm.write_model(src, spec, rng)
            imx = []
            if args.imatrix:
                path = os.path.join(tmp, name + ".imatrix.gguf")
                write_imatrix(path, tensors, rng)
                imx = ["--imatrix", path]
            for mix in args.mixtures.split(","):
                a = os.path.join(tmp, f"{name}-{mix}-llama.gguf")
                b = os.path.join(tmp, f"{name}-{mix}-wk.gguf")
                p = subprocess.run([args.llama_quantize] + imx + [src, a, mix.upper(), "2"], capture_output=True, text=True)
                if p.returncode != 0:
                    print(f"{name} {mix}: llama-quantize failed: {p.stderr[-300:]}")
                    bad += 1
                    continue
                q = subprocess.run([args.weightkit, "convert", src, b, "--dtype", mix, "--force"] + imx, capture_output=True, text=True)
                if q.returncode != 0:
                    print(f"{name} {mix}: weightkit failed: {q.stderr.strip()}")
                    bad += 1
                    continue
                ta, tb = tensors_of(a), tensors_of(b)
                types = sum(1 for n in ta if n in tb and ta[n][0] == tb[n][0])
                same = sum(1 for n in ta if n in tb and ta[n] == tb[n])
                missing = sorted(set(ta) ^ set(tb))
                ok = same == len(ta) and not missing
                bad += 0 if ok else 1
                diff = [n for n in ta if n in tb and ta[n] != tb[n]][:3]
                print(f"{name} {mix}{' imatrix' if imx else ''}: {len(ta)} tensors, types equal {types}, bytes equal {same}"
                      + (f"; differ: {diff}" if diff else "") + (f"; only in one: {missing[:3]}" if missing else ""))
                os.remove(a)
                os.remove(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
