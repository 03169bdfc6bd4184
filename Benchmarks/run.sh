#!/usr/bin/env bash
# Side-by-side benchmarks of `weightkit bench` against PyTorch (transformers) on the same machine in
# the same run, printed as ratios (these machines are shared and noisy; a ratio measured back to back
# is what means something, never a time on its own).
#
#   bash Benchmarks/run.sh [WORKDIR]        (needs torch + transformers: pip install -r Fixtures/requirements.txt)
#
# Models are generated with random weights into WORKDIR (default /tmp/weightkit-bench, not committed):
# GPT-2 124M shapes and a LLaMA shape (hidden 768, 12 layers, 12 heads, 4 KV heads, 2048 ffn, 32000 vocab).
# Each WeightKit row runs twice when OPENBLAS_CORETYPE is set in the environment: once as the environment
# says, once with OpenBLAS detecting the CPU itself, so both figures are on record.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
work="${1:-/tmp/weightkit-bench}"
mkdir -p "$work"
swift build -c release --product weightkit >&2
wk=.build/release/weightkit
py=python3
[ -f "$work/gpt2-124m/model.safetensors" ] || $py Benchmarks/python/make_gpt2_124m.py "$work/gpt2-124m" >&2
[ -f "$work/llama-bench/model.safetensors" ] || $py Benchmarks/python/make_llama_bench.py "$work/llama-bench" >&2

row() {  # label weightkit.json torch.json section
  $py - "$@" <<'PY'
import json, sys
label, a, b, sec = sys.argv[1:5]
A, B = json.load(open(a)), json.load(open(b))
x, y = A[sec], B[sec]
kern = A.get("blas_kernel", "?")
print(f"| {label} | {kern} | {x['median_s']*1e3:.1f} ms | {y['median_s']*1e3:.1f} ms | {x['median_s']/y['median_s']:.2f}× |")
PY
}

kernels=("env")
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then kernels+=("detected"); fi
run_wk() {  # kernel-mode args...
  local mode="$1"; shift
  if [ "$mode" = detected ]; then env -u OPENBLAS_CORETYPE "$wk" bench "$@" --json; else "$wk" bench "$@" --json; fi
}

echo "| case | OpenBLAS kernel | WeightKit median | PyTorch median | WeightKit ÷ PyTorch |"
echo "|---|---|---|---|---|"
for tokens in 128 512; do
  $py Benchmarks/python/torch_forward.py "$work/gpt2-124m" --tokens $tokens --runs 5 --threads 2 --json > "$work/t.json"
  for k in "${kernels[@]}"; do
    run_wk "$k" "$work/gpt2-124m" --tokens $tokens --runs 5 > "$work/w.json"
    row "GPT-2 124M, forward over $tokens tokens" "$work/w.json" "$work/t.json" forward
  done
done
$py Benchmarks/python/torch_decode.py "$work/gpt2-124m" --tokens 128 --steps 8 --runs 3 --threads 2 --json > "$work/t.json"
for k in "${kernels[@]}"; do
  run_wk "$k" "$work/gpt2-124m" --tokens 128 --runs 1 --decode 24 > "$work/w.json"
  row "GPT-2 124M, one decode step after 128 tokens" "$work/w.json" "$work/t.json" decode
done
$py Benchmarks/python/torch_forward.py "$work/llama-bench" --tokens 128 --runs 5 --threads 2 --json > "$work/t.json"
for k in "${kernels[@]}"; do
  run_wk "$k" "$work/llama-bench" --tokens 128 --runs 5 > "$work/w.json"
  row "LLaMA (768/12L/12H/4KV/2048/32000), forward over 128 tokens" "$work/w.json" "$work/t.json" forward
done
echo
echo "PyTorch: torch $($py -c 'import torch; print(torch.__version__)'), transformers $($py -c 'import transformers; print(transformers.__version__)'), float32, 2 threads, sdpa attention; WeightKit: float32, OpenBLAS $(pkg-config --modversion openblas 2>/dev/null || echo '?')."
