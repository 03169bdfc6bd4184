#!/usr/bin/env python3
"""Side-by-side conversion benchmark: WeightKit vs gguf-py + numpy vs a plain copy, in one run.

    python3 Benchmarks/convert/bench.py [--model DIR] [--runs 3] [--py-runs 1] [--binary PATH]

Each command runs in turn on the same input (its pages stay cached after the first run); wall time is the
median over runs, peak RSS is the child's ru_maxrss and the peak RssAnon sampled from /proc/PID/status every
5 ms (anonymous memory: heap, not the memory-mapped input). Outputs go beside the input and are removed.
WeightKit's outputs are checked against gguf-py's with `weightkit diff` (atol 0) and tensor bytes.
"""

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def run(cmd: list[str]) -> tuple[float, float, float]:
    """Runs cmd; returns (seconds, peak RSS MB, peak RssAnon MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    peak_anon = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_anon
        path = f"/proc/{p.pid}/status"
        while not done.is_set():
            try:
                for line in open(path):
                    if line.startswith("RssAnon:"):
                        peak_anon = max(peak_anon, int(line.split()[1]))
            except OSError:
                pass
            time.sleep(0.005)

    th = threading.Thread(target=sample)
    th.start()
    _, status, usage = os.wait4(p.pid, 0)
    dt = time.perf_counter() - t0
    done.set()
    th.join()
    if status != 0:
        sys.exit(f"{cmd} failed with status {status}")
    return dt, usage.ru_maxrss / 1024, peak_anon / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=ROOT / "Benchmarks/convert/bench-out/gpt2-124m")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--py-runs", type=int, default=1)
    ap.add_argument("--binary", default=str(ROOT / ".build/release/weightkit"))
    a = ap.parse_args()
    src = a.model / "model.safetensors"
    if not src.exists():
        subprocess.check_call([sys.executable, str(ROOT / "Benchmarks/python/make_gpt2_124m.py"), str(a.model)])
    out = a.model.parent
    size = src.stat().st_size
    rows = []

    def bench(label: str, cmd: list[str], target: Path, runs: int) -> tuple[float, float, float]:
        res = []
        for _ in range(runs):
            if target.exists():
                target.unlink()
            res.append(run(cmd))
        t = statistics.median(r[0] for r in res)
        rss = max(r[1] for r in res)
        anon = max(r[2] for r in res)
        rows.append((label, t, rss, anon, target.stat().st_size))
        return t, rss, anon

    bench("cp (same input bytes)", ["cp", str(src), str(out / "copy.bin")], out / "copy.bin", a.runs)
    # WeightKit fsyncs before renaming (atomic output); this is the copy that does the same.
    bench("cp + fsync (dd conv=fsync)", ["dd", f"if={src}", f"of={out / 'copy.bin'}", "bs=4M", "conv=fsync", "status=none"], out / "copy.bin", a.runs)
    results = {}
    for dt in ["f16", "q8_0"]:
        wk = out / f"wk-{dt}.gguf"
        py = out / f"py-{dt}.gguf"
        results[dt] = (
            bench(f"weightkit convert --dtype {dt}", [a.binary, "convert", str(a.model), str(wk), "--dtype", dt, "--force"], wk, a.runs),
            bench(f"gguf-py + numpy --dtype {dt}", [sys.executable, str(HERE / "gguf_py_convert.py"), str(a.model), str(py), "--dtype", dt], py, a.py_runs),
        )
        d = subprocess.run([a.binary, "diff", str(wk), str(py)], capture_output=True, text=True)
        print(f"weightkit diff wk-{dt}.gguf py-{dt}.gguf: {d.stdout.strip().splitlines()[-1]}")
        check = subprocess.run([sys.executable, "-c", (
            "import gguf,sys,numpy as np\n"
            "a=gguf.GGUFReader(sys.argv[1]);b=gguf.GGUFReader(sys.argv[2])\n"
            "tb={t.name:t for t in b.tensors}\n"
            "assert sorted(tb)==sorted(t.name for t in a.tensors)\n"
            "assert all(x.tensor_type==tb[x.name].tensor_type and np.array_equal(x.data,tb[x.name].data) for x in a.tensors)\n"
            "print('tensor bytes identical')"), str(wk), str(py)], capture_output=True, text=True)
        print(f"gguf-py check wk-{dt} vs py-{dt}: {check.stdout.strip() or check.stderr.strip().splitlines()[-1]}")
    copy_t = rows[0][1]
    sync_t = rows[1][1]
    print(f"\ninput {src} ({size / 1e6:.0f} MB, f32), {os.cpu_count()} cores")
    print(f"| what | seconds (median) | peak RSS MB | peak RssAnon MB | output MB | vs cp |")
    print(f"|---|---:|---:|---:|---:|---:|")
    for label, t, rss, anon, osize in rows:
        print(f"| {label} | {t:.2f} | {rss:.0f} | {anon:.0f} | {osize / 1e6:.0f} | {t / copy_t:.2f}× |")
    for dt, ((wt, wr, wa), (pt, pr, pa)) in results.items():
        print(f"{dt}: WeightKit is {pt / wt:.1f}× faster than gguf-py (target ≥ 5×), {wt / copy_t:.2f}× cp's time, "
              f"{wt / sync_t:.2f}× cp+fsync's (target ≤ 2×); "
              f"peak RSS {wr:.0f} MB vs {pr:.0f} MB")
    for f in ["copy.bin", "wk-f16.gguf", "py-f16.gguf", "wk-q8_0.gguf", "py-q8_0.gguf"]:
        (out / f).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
