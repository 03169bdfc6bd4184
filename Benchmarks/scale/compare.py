#!/usr/bin/env python3
"""Compare activations WeightKit dumped (`weightkit run … --dump`) with a reference file, tensor by tensor:
the largest absolute error relative to the tensor's largest reference value, and top-1 agreement of the logits.

    python3 Benchmarks/scale/compare.py DUMP.safetensors REFERENCE.safetensors [...more references]
"""
import sys

import numpy as np
from safetensors.numpy import load_file


def main() -> None:
    got = load_file(sys.argv[1])
    for path in sys.argv[2:]:
        ref = load_file(path)
        worst_h = worst_a = 0.0
        print(path)
        for name in sorted(k for k in ref if k != "input_ids"):
            r, g = ref[name].astype(np.float64), got[name].astype(np.float64)
            rel = np.abs(r - g).max() / max(np.abs(r).max(), 1e-30)
            if name.startswith("hidden"):
                worst_h = max(worst_h, rel)
            elif name.startswith("attentions"):
                worst_a = max(worst_a, rel)
        rl, gl = ref["logits"][0], got["logits"][0]
        agree = int((rl.argmax(-1) == gl.argmax(-1)).sum())
        lrel = np.abs(rl - gl).max() / np.abs(rl).max()
        top5 = sum(int(gl[t].argmax() in np.argsort(-rl[t])[:5]) for t in range(len(rl)))
        print(f"  max |err| / max |ref|: hidden states {worst_h:.2e}, attentions {worst_a:.2e}, logits {lrel:.2e}")
        print(f"  logits: top-1 agrees at {agree} of {len(rl)} positions; WeightKit's top-1 in the reference's top 5 "
              f"at {top5}")


if __name__ == "__main__":
    main()
