#!/usr/bin/env python3
"""HDF5 read throughput: WeightKit (`wk-bench hdf5-read`) against h5py, and its zstd path against `zstd -d`.

Creates ~500 MB of float32 tensors (seeded normal * 0.02, like initialised weights) as
  plain.h5  contiguous, uncompressed (h5py create_dataset)
  zstd.h5   chunked (~4 MiB chunks of whole rows, as WeightKit writes) with hdf5plugin.Zstd(clevel=3)
  raw.bin.zst  the same bytes concatenated, compressed by `zstd -3` (one frame)
then, with the page cache warm, times in the same run:
  h5py reading every dataset (`ds[()]`) of both files,
  `wk-bench hdf5-read` (release build) on both files,
  `zstd -d -c raw.bin.zst > /dev/null`,
and prints median seconds and ratios. Usage:
  python3 Benchmarks/hdf5/bench.py [--size-mb 500] [--runs 5] [--dir /tmp/wk-hdf5-bench] [--wk-bench PATH]
"""
import argparse, json, os, shutil, statistics, subprocess, sys, time

import h5py
import hdf5plugin
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ensure_zstd_cli():
    if shutil.which("zstd"):
        return
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(sudo + ["apt-get", "install", "-y", "zstd"], check=True)


def median_time(fn, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def h5py_read_all(path):
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                obj[()]
        f.visititems(visit)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default="/tmp/wk-hdf5-bench")
    ap.add_argument("--wk-bench", default=os.path.join(ROOT, ".build/release/wk-bench"))
    ap.add_argument("--level", type=int, default=3)
    a = ap.parse_args()
    ensure_zstd_cli()
    os.makedirs(a.dir, exist_ok=True)
    plain, zst, raw = (os.path.join(a.dir, n) for n in ("plain.h5", "zstd.h5", "raw.bin"))
    rows, cols = 2048, 3072
    count = max(1, a.size_mb * 1_000_000 // (rows * cols * 4))
    chunk_rows = max(1, (4 << 20) // (cols * 4))

    if not os.path.exists(zst) or os.path.getsize(raw) != count * rows * cols * 4:
        rng = np.random.default_rng(0)
        with h5py.File(plain, "w") as fp, h5py.File(zst, "w") as fz, open(raw, "wb") as fr:
            for i in range(count):
                w = (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float32)
                name = f"h.{i}/mlp/c_fc/weight"
                fp.create_dataset(name, data=w)
                fz.create_dataset(name, data=w, chunks=(chunk_rows, cols), **hdf5plugin.Zstd(clevel=a.level))
                fr.write(w.tobytes())
        subprocess.run(["zstd", "-q", "-f", f"-{a.level}", raw, "-o", raw + ".zst"], check=True)

    total = os.path.getsize(raw)
    for p in (plain, zst, raw + ".zst"):  # warm the page cache
        with open(p, "rb") as fh:
            while fh.read(1 << 24):
                pass

    def wk(path, *extra):
        out = subprocess.run([a.wk_bench, "hdf5-read", path, "--runs", str(a.runs), "--json", *extra],
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out)["median_s"]

    zstd_d = lambda: subprocess.run(["zstd", "-q", "-d", "-c", raw + ".zst"], check=True, stdout=subprocess.DEVNULL)
    res = {
        "h5py_plain": median_time(lambda: h5py_read_all(plain), a.runs),
        "wk_plain": wk(plain),
        "wk_plain_copy": wk(plain, "--copy"),
        "h5py_zstd": median_time(lambda: h5py_read_all(zst), a.runs),
        "wk_zstd": wk(zst),
        "zstd_d": median_time(zstd_d, a.runs),
    }
    gb = total / 1e9
    print(f"{count} float32 tensors [{rows}, {cols}], {total / 1e6:.0f} MB; zstd level {a.level}: "
          f"HDF5 {os.path.getsize(zst) / 1e6:.0f} MB, raw stream {os.path.getsize(raw + '.zst') / 1e6:.0f} MB; "
          f"median of {a.runs} runs, page cache warm")
    print(f"{'case':<40} {'seconds':>8} {'GB/s':>7}")
    names = {"h5py_plain": "h5py, uncompressed", "wk_plain": "WeightKit, uncompressed (mapped)",
             "wk_plain_copy": "WeightKit, uncompressed, copied out",
             "h5py_zstd": "h5py + hdf5plugin, zstd chunks", "wk_zstd": "WeightKit, zstd chunks",
             "zstd_d": "zstd -d (same bytes, one stream)"}
    for k, v in res.items():
        print(f"{names[k]:<40} {v:8.3f} {gb / v:7.2f}")
    print()
    print(f"WeightKit / h5py, uncompressed: {res['wk_plain'] / res['h5py_plain']:.2f}x the time mapped, "
          f"{res['wk_plain_copy'] / res['h5py_plain']:.2f}x copied out (target <= 1)")
    print(f"WeightKit / h5py, zstd:         {res['wk_zstd'] / res['h5py_zstd']:.2f}x the time (target <= 1)")
    print(f"WeightKit zstd / zstd -d:       {res['wk_zstd'] / res['zstd_d']:.2f}x the time (target <= 1.5)")
    print(json.dumps(res))


if __name__ == "__main__":
    sys.exit(main())
