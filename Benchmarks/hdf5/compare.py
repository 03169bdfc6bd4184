#!/usr/bin/env python3
"""Open + list and full reads of the HDF5 benchmark file, for several builds of wk-bench side by side.

    python3 Benchmarks/hdf5/compare.py NAME=DIR [NAME=DIR ...] [--rounds 3] [--dir /tmp/wk-hdf5-bench]

Each DIR holds a release `wk-bench` (and, for builds that read HDF5 through the helper, the
`wk-hdf5-probe` beside it). The files are bench.py's (run it once first). The builds take turns in
every round, so a busy moment of the shared machine falls on all of them alike; h5py (with hdf5plugin)
is timed in the same rounds. Cases:
  list    a whole `wk-bench hdf5-read FILE --list` process (open the file, list datasets and attributes),
          median of 20 processes; h5py: open + visit every object and its attributes, in this process
          (row `list`), and as a whole `python3` process that imports h5py and does the same (`list-process`)
  mapped  open + every dataset's bytes from the map, one page touched per 4 KiB (`--runs 5`, median)
  copy    the same, each tensor also copied into a fresh buffer (`--copy`)
  zstd    open + every dataset of the zstd-chunked copy decoded (`--runs 3`)
  *-process  the last three as whole processes that open the file once (`--runs 1`; median of 10, zstd 5),
          what one command reading the file costs, start-up included
Prints, per case and build, the median over the rounds' medians (and their range), and each build's
ratio to the first one named.
"""
import argparse, json, os, statistics, subprocess, sys, time

import h5py
import hdf5plugin  # noqa: F401  (registers the zstd filter for h5py)


def wall(cmd, times):
    out = []
    for _ in range(times):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def wk_json(cmd):
    r = subprocess.run(cmd + ["--json"], check=True, capture_output=True, text=True)
    return json.loads(r.stdout)["median_s"]


# visititems stops at the first callback that returns something other than None.
def h5py_list(path):
    def visit(name, obj):
        dict(obj.attrs)

    def once():
        with h5py.File(path, "r") as f:
            dict(f.attrs)
            f.visititems(visit)
    times = []
    for _ in range(20):
        t = time.perf_counter()
        once()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def h5py_read(path, runs):
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            obj[()]

    def once():
        with h5py.File(path, "r") as f:
            f.visititems(visit)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        once()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("builds", nargs="+", help="NAME=DIR")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/tmp/wk-hdf5-bench")
    a = ap.parse_args()
    builds = [b.split("=", 1) for b in a.builds]
    plain, zst = os.path.join(a.dir, "plain.h5"), os.path.join(a.dir, "zstd.h5")
    for p in (plain, zst):
        if not os.path.exists(p):
            sys.exit(f"{p} is missing: run Benchmarks/hdf5/bench.py once")
        with open(p, "rb") as fh:  # page cache warm
            while fh.read(1 << 24):
                pass
    cases = ["list", "list-process", "mapped", "copy", "zstd", "mapped-process", "copy-process", "zstd-process"]
    res = {c: {n: [] for n, _ in builds + [("h5py", None)]} for c in cases}
    for r in range(a.rounds):
        for name, d in builds:
            exe = [os.path.join(d, "wk-bench"), "hdf5-read"]
            res["list"][name].append(wall(exe + [plain, "--list"], 20))
            res["list-process"][name].append(res["list"][name][-1])
            res["mapped"][name].append(wk_json(exe + [plain, "--runs", "5"]))
            res["copy"][name].append(wk_json(exe + [plain, "--runs", "5", "--copy"]))
            res["zstd"][name].append(wk_json(exe + [zst, "--runs", "3"]))
            res["mapped-process"][name].append(wall(exe + [plain, "--runs", "1"], 10))
            res["copy-process"][name].append(wall(exe + [plain, "--runs", "1", "--copy"], 10))
            res["zstd-process"][name].append(wall(exe + [zst, "--runs", "1"], 5))
        res["list"]["h5py"].append(h5py_list(plain))
        script = "import sys, h5py\nwith h5py.File(sys.argv[1], 'r') as f:\n    dict(f.attrs)\n    f.visititems(lambda n, o: dict(o.attrs) and None)\n"
        res["list-process"]["h5py"].append(wall([sys.executable, "-c", script, plain], 5))
        res["mapped"]["h5py"].append(float("nan"))
        res["copy"]["h5py"].append(h5py_read(plain, 5))
        res["zstd"]["h5py"].append(h5py_read(zst, 3))
        for c in ("mapped-process", "copy-process", "zstd-process"):
            res[c]["h5py"].append(float("nan"))
        print(f"round {r + 1} of {a.rounds} done, load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    first = builds[0][0]
    print(f"| case | {' | '.join(n for n, _ in builds)} | h5py | " + " | ".join(f"{n} / {first}" for n, _ in builds[1:]) + " |")
    print("|---|" + "---:|" * (len(builds) + 1 + len(builds) - 1))
    for c in cases:
        cells, med = [], {}
        for n in [n for n, _ in builds] + ["h5py"]:
            v = res[c][n]
            med[n] = statistics.median(v)
            cells.append("—" if med[n] != med[n] else f"{med[n]:.3f} ({min(v):.3f}–{max(v):.3f})")
        ratios = [f"{med[n] / med[first]:.2f}×" for n, _ in builds[1:]]
        print(f"| {c} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    print(f"\nseconds: median of {a.rounds} rounds (range of the rounds' medians); load average now "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}")


if __name__ == "__main__":
    main()
