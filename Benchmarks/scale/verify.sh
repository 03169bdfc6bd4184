#!/bin/bash
# verify's default tolerances on the 8B scale model (by hand, after run.sh or make_llama8b.py --f32-compute):
#   bash Benchmarks/scale/verify.sh [DIR] [MODEL...]     (DIR defaults to /tmp/llama8b; MODELs to DIR and DIR-q8_0.gguf)
# Each model against reference.safetensors (transformers in bfloat16) and reference-f32.safetensors (float32 from
# the same bf16 weights), with verify's defaults; prints verify's table and a per-tensor line of error / RMS.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
dir=${1:-/tmp/llama8b}; shift || true
wk=${WEIGHTKIT:-$root/.build/release/weightkit}
models=("$@"); [ ${#models[@]} -gt 0 ] || models=("$dir" "$dir-q8_0.gguf")
for m in "${models[@]}"; do
    for ref in reference.safetensors reference-f32.safetensors; do
        [ -f "$dir/$ref" ] || continue
        echo "== $m against $ref"
        /usr/bin/time -f "(%e s, peak RSS %M KiB)" "$wk" verify "$m" --reference "$dir/$ref" --json > /tmp/llama8b-verify.json
        echo "exit status $?"
        python3 - /tmp/llama8b-verify.json <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
t = j["tolerance"]
print(f"tolerance: atol {t['atol']:.3g}, rtol {t['rtol']:.3g}, s {t['scale']:.3g} ({t['weights']} weights, reference "
      f"computed in {t['reference_compute']}); passed {j['passed']}, first failure {j['first_failure']}, "
      f"top-1 {j['top1_agreement']}")
for r in j["tensors"]:
    allowed = (t["atol"] + r["scale_term"]) / r["rms"] if r["rms"] else float("nan")
    print(f"  {r['name']:17s} rms {r['rms']:9.3g}  max err {r['max_abs_error']:9.3g}  err/rms {r['max_error_over_rms']:9.3g}"
          f"  allowed/rms {allowed:9.3g}  {'ok' if r['passed'] else 'FAIL (%d)' % r['failures']}")
PY
    done
done
