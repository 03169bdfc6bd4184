#!/usr/bin/env bash
# Side-by-side benchmarks of `weightkit bench` against PyTorch (transformers) on the same machine in
# the same run, printed as ratios. These machines are shared and noisy, so each case runs in ROUNDS
# alternating rounds (PyTorch, then WeightKit) and the table reports, per side, the best round's median
# and the overall minimum: background load only ever adds time, so the best figures are the fairest.
#
#   bash Benchmarks/run.sh [WORKDIR]      (needs torch + transformers: pip install -r Fixtures/requirements.txt)
#
# Models are generated with random weights into WORKDIR (default /tmp/weightkit-bench, not committed):
# GPT-2 124M shapes and a LLaMA shape (hidden 768, 12 layers, 12 heads, 4 KV heads, 2048 ffn, 32000 vocab).
# When OPENBLAS_CORETYPE is set in the environment, WeightKit runs both as the environment says and with
# OpenBLAS detecting the CPU itself, so both figures are on record.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
work="${1:-/tmp/weightkit-bench}"
rounds="${ROUNDS:-3}"
mkdir -p "$work"
swift build -c release --product weightkit >&2
wk=.build/release/weightkit
py=python3
[ -f "$work/gpt2-124m/model.safetensors" ] || $py Benchmarks/python/make_gpt2_124m.py "$work/gpt2-124m" >&2
[ -f "$work/llama-bench/model.safetensors" ] || $py Benchmarks/python/make_llama_bench.py "$work/llama-bench" >&2

modes=("env")
[ -n "${OPENBLAS_CORETYPE:-}" ] && modes+=("detected")

wk_bench() {  # mode out.json args...
  local mode="$1" out="$2"; shift 2
  if [ "$mode" = detected ]; then env -u OPENBLAS_CORETYPE "$wk" bench "$@" --json > "$out"; else "$wk" bench "$@" --json > "$out"; fi
}

summarise() {  # label section torch-jsons... -- wk-mode wk-jsons... (-- next mode ...)
  $py - "$@" <<'PY'
import json, sys
args = sys.argv[1:]
label, sec = args[0], args[1]
groups, cur = [], []
for a in args[2:]:
    if a == "--":
        groups.append(cur); cur = []
    else:
        cur.append(a)
groups.append(cur)
torch = [json.load(open(p))[sec] for p in groups[0]]
tb, tm = min(t["median_s"] for t in torch), min(t["min_s"] for t in torch)
for g in groups[1:]:
    runs = [json.load(open(p)) for p in g[1:]]
    kern = runs[0].get("blas_kernel", "?")
    wb, wm = min(r[sec]["median_s"] for r in runs), min(r[sec]["min_s"] for r in runs)
    print(f"| {label} | {kern} | {wb*1e3:.1f} ms | {tb*1e3:.1f} ms | {wb/tb:.2f}× | {wm/tm:.2f}× |")
PY
}

case_run() {  # label section torch-script torch-args -- wk-args
  local label="$1" sec="$2" script="$3"; shift 3
  local targs=() wargs=()
  while [ "$1" != "--" ]; do targs+=("$1"); shift; done; shift
  wargs=("$@")
  local tfiles=() ; declare -A wfiles=()
  for r in $(seq "$rounds"); do
    $py "Benchmarks/python/$script" "${targs[@]}" --threads 2 --json > "$work/t$r.json"; tfiles+=("$work/t$r.json")
    for m in "${modes[@]}"; do wk_bench "$m" "$work/w-$m-$r.json" "${wargs[@]}"; wfiles[$m]+="$work/w-$m-$r.json "; done
  done
  local groups=()
  for m in "${modes[@]}"; do groups+=(-- "$m" ${wfiles[$m]}); done
  summarise "$label" "$sec" "${tfiles[@]}" "${groups[@]}"
}

echo "| case | OpenBLAS kernel | WeightKit (best median) | PyTorch (best median) | ratio of medians | ratio of minimums |"
echo "|---|---|---|---|---|---|"
case_run "GPT-2 124M, forward over 128 tokens" forward torch_forward.py "$work/gpt2-124m" --tokens 128 --runs 5 -- "$work/gpt2-124m" --tokens 128 --runs 5
case_run "GPT-2 124M, forward over 512 tokens" forward torch_forward.py "$work/gpt2-124m" --tokens 512 --runs 3 -- "$work/gpt2-124m" --tokens 512 --runs 3
case_run "GPT-2 124M, one decode step after 128 tokens" decode torch_decode.py "$work/gpt2-124m" --tokens 128 --steps 8 --runs 3 -- "$work/gpt2-124m" --tokens 128 --runs 1 --decode 24
case_run "LLaMA 768/12L/12H/4KV/2048/32000, forward over 128 tokens" forward torch_forward.py "$work/llama-bench" --tokens 128 --runs 5 -- "$work/llama-bench" --tokens 128 --runs 5
echo
echo "Ratios are WeightKit ÷ PyTorch (below 1: WeightKit faster). PyTorch: torch $($py -c 'import torch; print(torch.__version__)'), transformers $($py -c 'import transformers; print(transformers.__version__)'), float32, 2 threads, sdpa attention. WeightKit: float32, OpenBLAS $(pkg-config --modversion openblas 2>/dev/null || echo '?'). $rounds alternating rounds per case."
