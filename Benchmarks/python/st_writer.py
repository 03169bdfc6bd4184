"""Minimal streaming safetensors writer (numpy only), shared by the make_*.py scripts.

Tensors are produced one at a time by a callback, so a 500 MB checkpoint never sits in memory twice.
Layout (huggingface/safetensors): u64 little-endian header length, JSON header padded with spaces to a
multiple of 8, then the tensors' bytes back to back in header order.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

_DTYPES = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16"}


def write_safetensors(
    path: Path,
    specs: Sequence[tuple[str, tuple[int, ...]]],
    make: Callable[[str, tuple[int, ...]], np.ndarray],
    dtype: np.dtype = np.dtype(np.float32),
    metadata: dict[str, str] | None = None,
) -> int:
    """Write tensors named and shaped by `specs` (in that order); make(name, shape) returns each array.
    Writes to a temporary file and renames it into place. Returns the file size."""
    dtype = np.dtype(dtype)
    header: dict[str, object] = {"__metadata__": dict(metadata or {"format": "pt"})}
    offset = 0
    for name, shape in specs:
        n = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        header[name] = {"dtype": _DTYPES[dtype], "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = Path(str(path) + ".tmp")
    with open(tmp, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for name, shape in specs:
            a = np.ascontiguousarray(make(name, shape), dtype=dtype)
            if a.shape != tuple(shape):
                raise ValueError(f"{name}: made shape {a.shape}, declared {shape}")
            a.tofile(f)
    os.replace(tmp, path)
    return path.stat().st_size
