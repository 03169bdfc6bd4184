#!/bin/bash
# The executor's scale test on a LLaMA-3.1-8B-shaped checkpoint (by hand; needs ~45 GB of disk and 20 GB of RAM).
#   bash Benchmarks/scale/run.sh [DIR]        (DIR defaults to /tmp/llama8b; the GGUFs are written beside it)
# 1. make_llama8b.py writes the bf16 checkpoint and transformers' references (bf16, and float32 from the bf16 weights).
# 2. weightkit convert writes GGUF q8_0, q4_0 and q4_k_m from it.
# 3. For each of the four: load to first token (wall, peak anonymous and file-backed RSS, sampled from
#    /proc/PID/status every 0.1 s), the activations compared with both references (compare.py), and decode speed
#    (weightkit bench, 2 threads); llama-bench -t 2 on the same GGUFs when LLAMA_BIN names its build directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
dir=${1:-/tmp/llama8b}
wk=${WEIGHTKIT:-$root/.build/release/weightkit}
[ -x "$wk" ] || (cd "$root" && swift build -c release --product weightkit)
[ -f "$dir/reference-f32.safetensors" ] || python3 "$here/make_llama8b.py" "$dir" --f32-compute

peak() {  # peak RSS of a command: prints "anon MiB file MiB" on fd 3
    "$@" & local pid=$! pa=0 pf=0 a f
    while kill -0 $pid 2>/dev/null; do
        a=$(awk '/RssAnon/{print $2}' /proc/$pid/status 2>/dev/null || true)
        f=$(awk '/RssFile/{print $2}' /proc/$pid/status 2>/dev/null || true)
        [ -n "$a" ] && [ "$a" -gt "$pa" ] && pa=$a
        [ -n "$f" ] && [ "$f" -gt "$pf" ] && pf=$f
        sleep 0.1
    done
    wait $pid
    echo "$((pa / 1024)) $((pf / 1024))" >&3
}

# A GGUF older than tokenizer.json is made again: one converted before the tokenizer was there has no
# tokenizer.ggml.* keys (convert only notes that), and llama.cpp refuses to load it.
for q in q8_0 q4_0 q4_k_m; do
    out="$dir-$q.gguf"
    [ -f "$out" ] && [ "$out" -nt "$dir/tokenizer.json" ] || /usr/bin/time -f "convert to $q: %e s" "$wk" convert "$dir" "$out" --dtype $q --force
done
ids=$(python3 -c "from safetensors.numpy import load_file; print(','.join(map(str, load_file('$dir/reference.safetensors')['input_ids'][0])))")
for m in "$dir" "$dir-q8_0.gguf" "$dir-q4_0.gguf" "$dir-q4_k_m.gguf"; do
    echo "== $m"
    start=$(date +%s.%N)
    mem=$(peak "$wk" run "$m" --tokens 0 --top 1 3>&1 >/dev/null)
    echo "load to first token: $(echo "$(date +%s.%N) - $start" | bc) s; peak RSS anonymous / file-backed MiB: $mem"
    mem=$(peak "$wk" run "$m" --tokens "$ids" --dump /tmp/llama8b-dump.safetensors 3>&1 >/dev/null)
    echo "8-token forward: peak RSS anonymous / file-backed MiB: $mem"
    python3 "$here/compare.py" /tmp/llama8b-dump.safetensors "$dir/reference-f32.safetensors" "$dir/reference.safetensors"
    "$wk" bench "$m" --tokens 16 --runs 1 --decode 16 --threads 2
    if [ -n "${LLAMA_BIN:-}" ] && [[ "$m" == *.gguf ]]; then
        "$LLAMA_BIN/llama-bench" -m "$m" -t 2 -p 0 -n 16 -r 2 || true
    fi
done
