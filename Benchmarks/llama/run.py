#!/usr/bin/env python3
"""WeightKit beside llama.cpp on the same GGUF files: prefill and decode, 2 threads, interleaved rounds.

    python3 Benchmarks/llama/run.py LLAMA_BUILD_BIN [--work DIR] [--rounds 3] [--models gpt2,llama]
                                    [--dtypes f32,f16,q8_0,q4_0,q4_k_m] [--threads 2]
                                    [--variant NAME:VAR=VALUE ...]

LLAMA_BUILD_BIN holds llama-bench and llama-quantize from a llama.cpp build (not part of this repository).
Models (random weights, made once in --work):
  gpt2   GPT-2 124M shape (Benchmarks/python/make_gpt2_124m.py) with the repository's 50257-token GPT-2
         tokenizer, written to f32 GGUF by weightkit convert
  llama  LLaMA 125M shape (make_llama_bench.py: 768 hidden, 12 layers, 12 heads / 4 KV, 2048 MLP, 32000
         vocab), f32 GGUF by weightkit convert plus a placeholder vocabulary (add_vocab.py)
The other dtypes are made from the f32 file by llama-quantize, so both programs read llama.cpp's bytes.

Per round and file, one after the other: llama-bench -p 128,512 -n 0 (prefill, logits of the last position),
weightkit bench --logits last at 128 and 512 tokens, llama-bench -p 0 -n 32 -d 128 (32 tokens decoded after
128 in the cache), weightkit bench --tokens 128 --decode 32. The table keeps each case's best round (the
machine is shared: the least-disturbed run); the load average of each round is printed. Each --variant runs
weightkit bench once more per case with an environment variable set (say, WEIGHTKIT_F32_ACTIVATIONS=1 for the
float32-activation decode, WEIGHTKIT_BLAS_POOL=openblas for OpenBLAS's own threads) and adds a column: a
before/after comparison in the same run. The decode limit is
the bytes of weights read per token (every matrix; one row of the embedding table unless it is also the
head) over this machine's read bandwidth, measured in the same run with bandwidth.c and --threads threads.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def sh(args: list[str], **kw) -> str:
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))}: exit {p.returncode}\n{p.stderr[-2000:]}")
    return p.stdout


def prepare(work: Path, bin_dir: Path, wk: Path, models: list[str], dtypes: list[str]) -> None:
    work.mkdir(parents=True, exist_ok=True)
    if "gpt2" in models and not (work / "gpt2-f32.gguf").exists():
        d = work / "gpt2-124m"
        if not (d / "model.safetensors").exists():
            sh([sys.executable, ROOT / "Benchmarks/python/make_gpt2_124m.py", d])
        for f in ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]:
            shutil.copy(ROOT / "Fixtures/tokenizers/gpt2-bpe" / f, d / f)
        sh([wk, "convert", d, work / "gpt2-f32.gguf"])
    if "llama" in models and not (work / "llama-f32.gguf").exists():
        d = work / "llama-125m"
        if not (d / "model.safetensors").exists():
            sh([sys.executable, ROOT / "Benchmarks/python/make_llama_bench.py", d])
        sh([wk, "convert", d, work / "llama-raw.gguf"])
        sh([sys.executable, ROOT / "Benchmarks/llama/add_vocab.py", work / "llama-raw.gguf", work / "llama-f32.gguf"])
        (work / "llama-raw.gguf").unlink()
    for m in models:
        for q in dtypes:
            out = work / f"{m}-{q}.gguf"
            if q != "f32" and not out.exists():
                sh([bin_dir / "llama-quantize", work / f"{m}-f32.gguf", out, q.upper(), "2"])


def bytes_per_token(path: Path) -> int:
    import gguf

    r = gguf.GGUFReader(str(path))
    names = {t.name for t in r.tensors}
    total = 0
    for t in r.tensors:
        if t.name in ("token_embd.weight", "position_embd.weight") and not (t.name == "token_embd.weight" and "output.weight" not in names):
            total += int(t.n_bytes) // int(t.shape[1])  # one row
        else:
            total += int(t.n_bytes)
    return total


def llama_bench(bin_dir: Path, model: Path, threads: int, args: list[str]) -> dict[tuple[int, int], float]:
    out = sh([bin_dir / "llama-bench", "-m", model, "-t", str(threads), "-r", "3", "-o", "json"] + args)
    res = {}
    for row in json.loads(out):
        res[(row["n_prompt"], row["n_gen"])] = min(row["samples_ns"]) / 1e9
    return res


def wk_bench(wk: Path, model: Path, threads: int, args: list[str], env: dict[str, str] | None = None) -> dict:
    return json.loads(sh([wk, "bench", model, "--threads", str(threads), "--json"] + args, env=env))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("--work", default="/tmp/weightkit-llama")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--models", default="gpt2,llama")
    ap.add_argument("--dtypes", default="f32,f16,q8_0,q4_0,q4_k_m")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", help="also write the raw results here")
    ap.add_argument("--variant", action="append", default=[], help="NAME:VAR=VALUE, an extra WeightKit column run with VAR=VALUE")
    ap.add_argument("--table-from", help="print the table of a saved --json file and stop")
    a = ap.parse_args()
    if a.table_from:
        j = json.loads(Path(a.table_from).read_text())
        best = {tuple(k.split("|")): v for k, v in j["best"].items()}
        extra = {tuple(k.split("|")): v for k, v in j["memory"].items()}
        print_table(Path(a.work), best, extra, j["bandwidth_gbs"], j["rounds"], j["threads"], j["openblas_coretype"], j.get("variants", []))
        return
    bin_dir, work = Path(a.bin), Path(a.work)
    variants = []
    for v in a.variant:
        name, _, assign = v.partition(":")
        var, _, value = assign.partition("=")
        variants.append((name, var, value))
    runs_of = [("wk", None)] + [(f"wk {name}", dict(os.environ) | {var: value}) for name, var, value in variants]
    models, dtypes = a.models.split(","), a.dtypes.split(",")
    wk = ROOT / ".build/release/weightkit"
    if not wk.exists():
        sh(["swift", "build", "-c", "release", "--product", "weightkit"], cwd=ROOT)
    prepare(work, bin_dir, wk, models, dtypes)
    bw_bin = work / "bandwidth"
    sh(["cc", "-O2", "-march=native", "-pthread", ROOT / "Benchmarks/llama/bandwidth.c", "-o", bw_bin])

    best: dict[tuple[str, str, str], dict[str, float]] = {}
    extra: dict[tuple[str, str], dict] = {}
    bandwidth = 0.0

    def keep(key, who, v):
        d = best.setdefault(key, {})
        d[who] = min(d.get(who, float("inf")), v)

    for rnd in range(a.rounds):
        bandwidth = max(bandwidth, float(sh([bw_bin, str(a.threads)])))
        print(f"round {rnd + 1}: load average {os.getloadavg()[0]:.1f}, read bandwidth {bandwidth:.2f} GB/s", file=sys.stderr, flush=True)
        for m in models:
            for q in dtypes:
                f = work / f"{m}-{q}.gguf"
                lp = llama_bench(bin_dir, f, a.threads, ["-p", "128,512", "-n", "0"])
                keep((m, q, "prefill 128"), "llama", lp[(128, 0)])
                keep((m, q, "prefill 512"), "llama", lp[(512, 0)])
                for who, env in runs_of:
                    for n, runs in [(128, 3), (512, 2)]:
                        r = wk_bench(wk, f, a.threads, ["--tokens", str(n), "--runs", str(runs), "--logits", "last"], env)
                        keep((m, q, f"prefill {n}"), who, r["forward"]["min_s"])
                ld = llama_bench(bin_dir, f, a.threads, ["-p", "0", "-n", "32", "-d", "128"])
                keep((m, q, "decode 32 @128"), "llama", ld[(0, 32)] / 32)
                for who, env in runs_of:
                    r = wk_bench(wk, f, a.threads, ["--tokens", "128", "--runs", "1", "--decode", "32"], env)
                    keep((m, q, "decode 32 @128"), who, r["decode"]["median_s"])
                    if env is None:
                        extra[(m, q)] = r["memory"] | {"blas_kernel": r["blas_kernel"]}
                save(a.json, best, extra, bandwidth, rnd + 1, a.threads, variants)
                print(f"  {m} {q} done (load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)

    save(a.json, best, extra, bandwidth, a.rounds, a.threads, variants)
    print_table(work, best, extra, bandwidth, a.rounds, a.threads, variants=variants)


def save(path, best, extra, bandwidth, rounds, threads, variants=()) -> None:
    if path:
        Path(path).write_text(json.dumps({"best": {"|".join(k): v for k, v in best.items()}, "memory": {"|".join(k): v for k, v in extra.items()},
                                          "bandwidth_gbs": bandwidth, "rounds": rounds, "threads": threads, "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE", "unset"),
                                          "variants": [list(v) for v in variants]}, indent=1))


def print_table(work: Path, best, extra, bandwidth, rounds, threads, coretype=os.environ.get("OPENBLAS_CORETYPE", "unset"), variants=()) -> None:
    vh = "".join(f" WeightKit {n} ({var}={val}) |" for n, var, val in variants)
    print(f"| model | dtype | case | llama.cpp | WeightKit | WeightKit ÷ llama.cpp | bandwidth limit |{vh}")
    print("|---|---|---|---|---|---|---|" + "---|" * len(variants))
    for (m, q, case), d in best.items():
        if "llama" not in d or "wk" not in d:
            continue
        unit = 1000
        limit = ""
        if case.startswith("decode"):
            bpt = bytes_per_token(work / f"{m}-{q}.gguf")
            limit = f"{bpt / (bandwidth * 1e9) * unit:.1f} ms ({bpt / 2**20:.0f} MiB/token)"
        vc = "".join(f" {d[f'wk {n}'] * unit:.1f} ms |" if f"wk {n}" in d else " |" for n, _, _ in variants)
        print(f"| {m} | {q} | {case} | {d['llama'] * unit:.1f} ms | {d['wk'] * unit:.1f} ms | {d['wk'] / d['llama']:.2f}× | {limit} |{vc}")
    print()
    print(f"read bandwidth {bandwidth:.2f} GB/s ({threads} threads); {rounds} interleaved rounds, best of each; "
          f"OPENBLAS_CORETYPE {coretype}; OpenBLAS kernel "
          f"{next(iter(extra.values()))['blas_kernel'] if extra else '?'}")
    print()
    print("| model | dtype | mapped weights | owned (widened) | KV per token | peak RSS (decode run) | anonymous RSS |")
    print("|---|---|---|---|---|---|---|")
    for (m, q), e in extra.items():
        mib = lambda b: f"{b / 2**20:.0f} MiB" if b is not None else "?"
        print(f"| {m} | {q} | {mib(e['mapped_weight_bytes'])} | {mib(e['owned_weight_bytes'])} | {e['kv_bytes_per_token'] / 1024:.0f} KiB | {mib(e['peak_rss_bytes'])} | {mib(e['rss_anon_bytes'])} |")


if __name__ == "__main__":
    main()
