#!/usr/bin/env bash
# Quantization on the GPT-2 124M shape (random weights, Benchmarks/python/make_gpt2_124m.py), side by side:
#   time   weightkit convert f32.gguf → MIXTURE.gguf  vs  llama-quantize f32.gguf out.gguf MIXTURE 2,
#          alternating, new output files each time, `sync` outside the timing; peak RSS of each;
#   cost   weightkit compare f32.gguf MIXTURE.gguf --text-file TEXT: KL divergence, top-1 agreement,
#          perplexity and the last hidden state's relative error.
#
#   bash Benchmarks/quant/run.sh LLAMA_BUILD_BIN [WORKDIR]
#
# LLAMA_BUILD_BIN holds llama-quantize from a llama.cpp build (not part of this repository).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bin="$1"
work="${2:-/tmp/weightkit-quant}"
mkdir -p "$work"
wk=.build/release/weightkit
[ -x "$wk" ] || swift build -c release --product weightkit >&2
[ -f "$work/gpt2-124m/model.safetensors" ] || python3 Benchmarks/python/make_gpt2_124m.py "$work/gpt2-124m" >&2
# A tokenizer so that llama.cpp loads the GGUF and compare can read text (the trained 512-token one).
cp Fixtures/tokenizers/gpt2-bpe/{tokenizer.json,tokenizer_config.json,special_tokens_map.json} "$work/gpt2-124m/"
[ -f "$work/f32.gguf" ] || "$wk" convert "$work/gpt2-124m" "$work/f32.gguf" >&2
text="$work/text.txt"
python3 - "$text" <<'PY'
import json, sys
lines = [json.loads(l) for l in open("Fixtures/tokenizers/strings.jsonl", encoding="utf-8") if l.strip()]
open(sys.argv[1], "w", encoding="utf-8").write(" ".join(s for s in lines[200:1200] if s.isascii())[:6000])
PY
peak() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -n 1; }
printf "| mixture | weightkit s | llama-quantize s | ratio | weightkit peak RSS MiB | llama-quantize peak RSS MiB | KL mean | KL max | top-1 agreement | perplexity f32 → quantized | last hidden rel. error |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
for mix in q8_0 q6_k q5_k_m q4_k_m q3_k_m q2_k; do
  best_w=999 best_l=999 rss_w=0 rss_l=0
  for round in 1 2; do
    rm -f "$work/w.gguf" "$work/l.gguf"; sync
    read -r tw mw < <(peak "$wk" convert "$work/f32.gguf" "$work/w.gguf" --dtype "$mix")
    rm -f "$work/l.gguf"; sync
    read -r tl ml < <(peak "$bin/llama-quantize" "$work/f32.gguf" "$work/l.gguf" "${mix^^}" 2)
    best_w=$(python3 -c "print(min($best_w, $tw))"); best_l=$(python3 -c "print(min($best_l, $tl))")
    rss_w=$((mw / 1024)); rss_l=$((ml / 1024))
  done
  cmp=$("$wk" compare "$work/f32.gguf" "$work/w.gguf" --text-file "$text" --ctx 256 --json)
  python3 - "$mix" "$best_w" "$best_l" "$rss_w" "$rss_l" "$cmp" <<'PY'
import json, sys
mix, tw, tl, rw, rl, c = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], json.loads(sys.argv[6])
lg = c["logits"]; p = c["perplexity"]; last = c["layers"][-1]["rel_error"] if c["layers"] else float("nan")
print(f"| {mix} | {tw:.2f} | {tl:.2f} | {tw / tl:.2f}× | {rw} | {rl} | {lg['kl_mean']:.4g} | {lg['kl_max']:.4g} | {100 * lg['top1_agreement']:.1f}% | {p['a']:.1f} → {p['b']:.1f} | {last:.3g} |")
PY
done
