#!/usr/bin/env python3
"""Divide two benchmark JSON files (e.g. `weightkit bench --json` and torch_forward.py --json).

    python Benchmarks/python/compare.py WEIGHTKIT.json TORCH.json [MORE_TORCH.json ...]

Each file holds sections such as {"forward": {"median_s", "min_s", "tokens_per_s"}, "decode": {...}}; later
files may add sections (e.g. torch_decode.py's "decode"). Prints, per section both sides have, the ratio
baseline_median / weightkit_median (> 1 means WeightKit is faster) and the same for min.
"""

from __future__ import annotations

import json
import sys

SECTIONS = ("forward", "decode")


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    ours = json.load(open(sys.argv[1]))
    base: dict = {}
    for p in sys.argv[2:]:
        base.update({k: v for k, v in json.load(open(p)).items() if k in SECTIONS})
    rows = 0
    for s in SECTIONS:
        if s in ours and s in base:
            a, b = ours[s], base[s]
            print(f"{s:8s} weightkit median {a['median_s']:.4f} s, baseline median {b['median_s']:.4f} s -> "
                  f"speed-up x{b['median_s'] / a['median_s']:.2f} (min: x{b['min_s'] / a['min_s']:.2f})")
            rows += 1
    if rows == 0:
        sys.exit("compare.py: no section (forward/decode) present in both inputs")


if __name__ == "__main__":
    main()
