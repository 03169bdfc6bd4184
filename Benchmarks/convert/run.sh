#!/bin/sh
# Convert benchmark: WeightKit vs gguf-py + numpy vs cp on a GPT-2 124M-shaped f32 checkpoint (not committed;
# made by Benchmarks/python/make_gpt2_124m.py into Benchmarks/convert/bench-out/ on first use).
set -e
cd "$(dirname "$0")/../.."
[ "$1" = "--no-build" ] && shift || swift build -c release --product weightkit
python3 Benchmarks/convert/bench.py "$@"
