#!/usr/bin/env python3
"""Write WeightKit's PyTorch interop fixtures: files made by torch.save itself, and what torch makes of them.

    pip install -r Fixtures/requirements.txt && python Fixtures/pytorch/generate.py

Pinned versions are the fixtures' own (Fixtures/requirements.txt): torch 2.15.0, transformers 5.23.0,
safetensors 0.8.0, numpy 2.4.6. The weights come from the existing safetensors fixtures (../gpt2-tiny, ../gpt1-tiny,
../llama-gqa, ../llama-meta), so every model file here verifies against those fixtures' reference activations.

Written here (see README.md):
  gpt2-tiny/pytorch_model.bin        zip layout; GPT2LMHeadModel.state_dict(): lm_head.weight and
                                     transformer.wte.weight are one tensor (tied); config.json
  gpt2-tiny/checkpoint.pt            a training snapshot {"model": state_dict, "optimizer": AdamW state, "step": 3, ...}
  gpt1-tiny/pytorch_model.bin        legacy layout (_use_new_zipfile_serialization=False); config.json
  llama-gqa/pytorch_model-0000{1,2}-of-00002.bin + pytorch_model.bin.index.json   sharded; config.json
  llama-meta/consolidated.00.pth + params.json                Meta's release layout, Meta names
  llama-meta-mp2/consolidated.0{0,1}.pth + params.json        the same split as two model-parallel slices
  tensors/dtypes.pt, dtypes-legacy.pt     f32/f16/bf16/f64/i64/i32/i16/i8/u8/bool, both layouts
  tensors/views.pt, views-legacy.pt       views with a storage offset, transposed, strided, expanded, rank 0, empty
  tensors/shared.pt                       several names over one storage (an alias, a row, a tail)
  expected.json                           per file: what torch.load(weights_only=True) returns (tensor names as
                                          dotted paths, dtype, shape, stride, storage offset, SHA-256 of the
                                          contiguous bytes; the non-tensor values), and for the files a conversion
                                          applies to, the tensors safetensors' conversion recipe writes (torch.load,
                                          then safetensors.torch._remove_duplicate_names with the architecture's
                                          tied keys discarded, .contiguous(), save_file: bindings/python/convert.py)

Deterministic: two runs give byte-identical files. torch.save's zip layout already is; the legacy layout names
storages by memory address, so the script renames them to ordinals of the same length (the bytes around them do
not move) and checks that torch.load still returns the same tensors.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import shutil
import struct
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import safetensors
import safetensors.torch
import torch
import transformers
from safetensors.torch import load_file

HERE = Path(__file__).resolve().parent
FIX = HERE.parent
torch.manual_seed(0)
transformers.logging.set_verbosity_error()

DTYPE = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.float64: "f64", torch.int64: "i64",
         torch.int32: "i32", torch.int16: "i16", torch.int8: "i8", torch.uint8: "u8", torch.bool: "bool"}
EXPECTED: list[dict] = []


def tensor_bytes(t: torch.Tensor) -> bytes:
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def flatten(obj, prefix=()):
    """Yield (path, value) for every tensor and every other leaf, as WeightKit names them (dotted paths; a list or
    tuple of plain scalars is one value)."""
    if isinstance(obj, torch.Tensor):
        yield prefix or ("tensor",), obj
    elif isinstance(obj, dict):
        if not obj:
            yield prefix, obj
        for k, v in obj.items():
            yield from flatten(v, prefix + (str(k),))
    elif isinstance(obj, (list, tuple)) and any(isinstance(v, (dict, list, tuple, torch.Tensor)) for v in obj):
        for i, v in enumerate(obj):
            yield from flatten(v, prefix + (str(i),))
    else:
        yield prefix, obj


def describe(path: Path) -> dict:
    """What torch.load(weights_only=True) returns for the file."""
    obj = torch.load(path, weights_only=True, map_location="cpu")
    tensors, others = [], []
    for p, v in flatten(obj):
        name = ".".join(p)
        if isinstance(v, torch.Tensor):
            tensors.append({"name": name, "dtype": DTYPE[v.dtype], "shape": list(v.shape), "stride": list(v.stride()),
                            "offset": v.storage_offset(), "sha256": sha(tensor_bytes(v))})
        else:
            others.append({"name": name or "(root)", "type": type(v).__name__})
    return {"tensors": tensors, "others": others}


def safetensors_manifest(path: Path) -> list[dict]:
    """Every tensor of a safetensors file, straight from its bytes."""
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = []
    for name, info in sorted(header.items()):
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out.append({"name": name, "dtype": info["dtype"], "shape": info["shape"], "sha256": sha(raw[8 + n + b:8 + n + e])})
    return out


def python_conversion(paths: list[Path], architecture: str | None) -> list[dict]:
    """safetensors' conversion recipe (bindings/python/convert.py), shard by shard, into a temporary file."""
    discard = []
    if architecture:
        keys = getattr(getattr(transformers, architecture), "_tied_weights_keys", None) or []
        discard = list(keys.keys()) if isinstance(keys, dict) else list(keys)
    out = []
    for p in paths:
        loaded = torch.load(p, map_location="cpu", weights_only=True)
        if "state_dict" in loaded:
            loaded = loaded["state_dict"]
        to_removes = safetensors.torch._remove_duplicate_names(loaded, discard_names=discard)
        metadata = {"format": "pt"}
        for kept, group in to_removes.items():
            for name in group:
                metadata.setdefault(name, kept)
                del loaded[name]
        loaded = {k: v.contiguous() for k, v in loaded.items()}
        tmp = HERE / ".conversion.safetensors"
        safetensors.torch.save_file(loaded, str(tmp), metadata=metadata)
        reloaded = load_file(str(tmp))
        for k in loaded:
            if not torch.equal(loaded[k], reloaded[k]):
                raise SystemExit(f"{p}: conversion changed {k}")
        out += safetensors_manifest(tmp)
        tmp.unlink()
    return sorted(out, key=lambda e: e["name"])


def record(rel: str, layout: str, conversion: list[dict] | None = None, naming: str | None = None, files=None) -> None:
    entry = {"file": rel, "layout": layout}
    if files is None:
        entry.update(describe(HERE / rel))
    if conversion is not None:
        entry["conversion"] = {"naming": naming, "tensors": conversion}
    EXPECTED.append(entry)


def legacy_save(obj, path: Path, check: bool = True) -> None:
    """torch.save in the legacy layout, made byte-stable: torch names storages by memory address and writes them in
    address order, so the script renames them to ordinals of the same length in order of first use (the bytes
    around them do not move), re-pickles the key list with pickle protocol 2 as torch does, and moves the storage
    records into that order. torch.load must return the same tensors afterwards (`check`; torch 2.15 cannot load its
    own legacy files that hold untyped storages)."""
    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=False)
    raw = buf.getvalue()
    f = io.BytesIO(raw)
    for _ in range(3):  # magic number, protocol version, sys_info
        pickle.load(f)
    main_start = f.tell()
    storages = _StorageLister(f)
    storages.load()
    main_end = f.tell()
    keys = pickle.load(f)
    sizes = {"FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "DoubleStorage": 8, "LongStorage": 8,
             "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1, "UntypedStorage": 1}
    records = {}
    pos = f.tell()
    for key in keys:
        numel = struct.unpack("<q", raw[pos:pos + 8])[0]
        n = 8 + numel * sizes[storages.keys[key]]
        records[key] = raw[pos:pos + n]
        pos += n
    if pos != len(raw) or set(keys) != set(storages.keys):
        raise SystemExit(f"{path}: unexpected legacy layout")
    rename = {k: str(i).zfill(len(k)) for i, k in enumerate(storages.keys)}
    if len({len(k) for k in keys}) != 1:
        raise SystemExit(f"{path}: storage keys of different lengths")
    head = raw[:main_end]
    for old, new in rename.items():
        o, n = old.encode(), new.encode()
        head = head[:main_start] + head[main_start:].replace(b"X" + struct.pack("<I", len(o)) + o, b"X" + struct.pack("<I", len(n)) + n)
    order = sorted(keys, key=lambda k: rename[k])
    path.write_bytes(head + pickle.dumps([rename[k] for k in order], protocol=2) + b"".join(records[k] for k in order))
    if not check:
        return
    a, b = torch.load(io.BytesIO(raw), weights_only=True), torch.load(path, weights_only=True)
    for (pa, va), (pb, vb) in zip(flatten(a), flatten(b)):
        if pa != pb or (isinstance(va, torch.Tensor) and not torch.equal(va, vb)):
            raise SystemExit(f"{path}: renaming the storage keys changed {pa}")


class _StorageLister(pickle.Unpickler):
    """Steps over torch's object pickle, noting each storage key and type in order of first use (the file is the
    one just written here; its tensor rebuilders are replaced by a stub)."""

    def __init__(self, f):
        super().__init__(f)
        self.keys: dict[str, str] = {}

    def find_class(self, module, name):
        if module in ("torch", "torch.storage") and name.endswith("Storage"):
            return name
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        return lambda *args: None

    def persistent_load(self, pid):
        self.keys.setdefault(pid[2], pid[1])
        return None


def copy_config(src: str, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(FIX / src / "config.json", dst / "config.json")


def main() -> None:
    if sys.argv[1:]:
        raise SystemExit("usage: python Fixtures/pytorch/generate.py")
    for d in ["gpt2-tiny", "gpt1-tiny", "llama-gqa", "llama-meta", "llama-meta-mp2", "tensors"]:
        shutil.rmtree(HERE / d, ignore_errors=True)
        (HERE / d).mkdir(parents=True)

    # GPT-2, tied: the state dict as the model gives it (lm_head.weight is transformer.wte.weight).
    copy_config("gpt2-tiny", HERE / "gpt2-tiny")
    cfg = transformers.AutoConfig.from_pretrained(FIX / "gpt2-tiny")
    gpt2 = transformers.GPT2LMHeadModel(cfg)
    missing, unexpected = gpt2.load_state_dict(load_file(str(FIX / "gpt2-tiny" / "model.safetensors")), strict=False)
    if unexpected or [m for m in missing if m != "lm_head.weight"]:
        raise SystemExit(f"gpt2-tiny: missing {missing}, unexpected {unexpected}")
    gpt2.tie_weights()
    sd = gpt2.state_dict()
    if sd["lm_head.weight"].data_ptr() != sd["transformer.wte.weight"].data_ptr():
        raise SystemExit("gpt2-tiny: lm_head is not tied")
    torch.save(sd, HERE / "gpt2-tiny" / "pytorch_model.bin")
    record("gpt2-tiny/pytorch_model.bin", "zip", python_conversion([HERE / "gpt2-tiny" / "pytorch_model.bin"], "GPT2LMHeadModel"), "hf")

    # A training snapshot: the model's state dict under "model", fine-tuning state beside it.
    opt = torch.optim.AdamW([gpt2.transformer.ln_f.weight, gpt2.transformer.ln_f.bias], lr=1e-3)
    opt.state[gpt2.transformer.ln_f.weight] = {"step": torch.tensor(3.0), "exp_avg": torch.full((32,), 0.5),
                                               "exp_avg_sq": torch.full((32,), 0.25)}
    snapshot = {"model": sd, "optimizer": opt.state_dict(), "step": 3, "epoch": 0.75, "run": "fixture",
                "losses": [4.5, 4.25, 4.0], "done": False, "note": None}
    torch.save(snapshot, HERE / "gpt2-tiny" / "checkpoint.pt")
    record("gpt2-tiny/checkpoint.pt", "zip")

    # GPT-1 in the legacy layout.
    copy_config("gpt1-tiny", HERE / "gpt1-tiny")
    cfg = transformers.AutoConfig.from_pretrained(FIX / "gpt1-tiny")
    gpt1 = transformers.OpenAIGPTLMHeadModel(cfg)
    missing, unexpected = gpt1.load_state_dict(load_file(str(FIX / "gpt1-tiny" / "model.safetensors")), strict=False)
    if unexpected or [m for m in missing if m != "lm_head.weight"]:
        raise SystemExit(f"gpt1-tiny: missing {missing}, unexpected {unexpected}")
    gpt1.tie_weights()
    legacy_save(gpt1.state_dict(), HERE / "gpt1-tiny" / "pytorch_model.bin")
    record("gpt1-tiny/pytorch_model.bin", "legacy",
           python_conversion([HERE / "gpt1-tiny" / "pytorch_model.bin"], "OpenAIGPTLMHeadModel"), "hf")

    # LLaMA, sharded as save_pretrained shards: two files and an index.
    copy_config("llama-gqa", HERE / "llama-gqa")
    weights = load_file(str(FIX / "llama-gqa" / "model.safetensors"))
    names = list(weights)
    half = len(names) // 2
    shards = {"pytorch_model-00001-of-00002.bin": names[:half], "pytorch_model-00002-of-00002.bin": names[half:]}
    weight_map = {}
    for file, part in shards.items():
        torch.save({k: weights[k] for k in part}, HERE / "llama-gqa" / file)
        weight_map.update({k: file for k in part})
    total = sum(t.numel() * t.element_size() for t in weights.values())
    (HERE / "llama-gqa" / "pytorch_model.bin.index.json").write_text(
        json.dumps({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, indent=2) + "\n")
    for file in shards:
        record(f"llama-gqa/{file}", "zip")
    EXPECTED.append({"file": "llama-gqa", "layout": "zip", "conversion": {
        "naming": "hf", "tensors": python_conversion([HERE / "llama-gqa" / f for f in shards], "LlamaForCausalLM")}})

    # Meta's layout: llama-meta's tensors (Meta names, interleaved Q/K) in consolidated.00.pth, with params.json.
    # ffn_dim_multiplier 0.75 with multiple_of 32 gives Meta's formula the fixture's MLP width of 64.
    meta = load_file(str(FIX / "llama-meta" / "model.safetensors"))
    params = {"dim": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "vocab_size": 96, "multiple_of": 32,
              "ffn_dim_multiplier": 0.75, "norm_eps": 1e-05, "rope_theta": 10000.0, "max_seq_len": 64}
    hidden = 2 * (4 * params["dim"]) // 3
    hidden = int(params["ffn_dim_multiplier"] * hidden)
    hidden = params["multiple_of"] * ((hidden + params["multiple_of"] - 1) // params["multiple_of"])
    if hidden != meta["layers.0.feed_forward.w1.weight"].shape[0]:
        raise SystemExit(f"params.json gives an MLP width of {hidden}")
    torch.save(meta, HERE / "llama-meta" / "consolidated.00.pth")
    (HERE / "llama-meta" / "params.json").write_text(json.dumps(params) + "\n")
    record("llama-meta/consolidated.00.pth", "zip", python_conversion([HERE / "llama-meta" / "consolidated.00.pth"], None), "keep")

    # Two model-parallel slices, split as Meta's ColumnParallelLinear / RowParallelLinear / ParallelEmbedding do
    # (LLaMA 2: the embedding split along the model dimension); vocab_size -1 as in LLaMA 1's params.json.
    slices = [{}, {}]
    for k, v in meta.items():
        if v.dim() == 1:
            parts = [v.clone(), v.clone()]
        elif k.endswith(("attention.wo.weight", "feed_forward.w2.weight")) or k == "tok_embeddings.weight":
            parts = [p.clone() for p in v.chunk(2, dim=1)]
        else:
            parts = [p.clone() for p in v.chunk(2, dim=0)]
        for s, p in zip(slices, parts):
            s[k] = p
    for i, s in enumerate(slices):
        torch.save(s, HERE / "llama-meta-mp2" / f"consolidated.0{i}.pth")
        record(f"llama-meta-mp2/consolidated.0{i}.pth", "zip")
    (HERE / "llama-meta-mp2" / "params.json").write_text(json.dumps({**params, "vocab_size": -1}) + "\n")

    # Plain tensors: every dtype torch.save names a typed storage for, in both layouts.
    g = torch.Generator().manual_seed(1405)
    dtypes = OrderedDict()
    dtypes["f32"] = torch.randn(3, 4, generator=g)
    dtypes["f16"] = torch.randn(5, generator=g).half()
    dtypes["bf16"] = torch.tensor([1.0, -2.0, float("inf"), 3.0e38, 1.0e-39, 0.1]).bfloat16()
    dtypes["f64"] = torch.randn(2, 3, generator=g).double()
    dtypes["i64"] = torch.tensor([[-(2**62), 2**62 - 1], [0, -1]], dtype=torch.int64)
    dtypes["i32"] = torch.tensor([-(2**31), 2**31 - 1, 7], dtype=torch.int32)
    dtypes["i16"] = torch.tensor([-32768, 32767], dtype=torch.int16)
    dtypes["i8"] = torch.tensor([-128, 127, 0], dtype=torch.int8)
    dtypes["u8"] = torch.tensor([0, 255, 9], dtype=torch.uint8)
    dtypes["bool"] = torch.tensor([True, False, True, True])
    torch.save(dtypes, HERE / "tensors" / "dtypes.pt")
    record("tensors/dtypes.pt", "zip", python_conversion([HERE / "tensors" / "dtypes.pt"], None), "keep")
    legacy_save(dtypes, HERE / "tensors" / "dtypes-legacy.pt")
    record("tensors/dtypes-legacy.pt", "legacy")

    # Views: each over its own storage (the base is not saved, so the whole storage is written).
    base = torch.arange(10, dtype=torch.float32)
    m = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    x = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    y = torch.arange(20, dtype=torch.float32).reshape(5, 4)
    h = torch.arange(6, dtype=torch.float32).reshape(2, 3).half()
    views = OrderedDict()
    views["offset"] = base[3:7]                       # storage offset 3
    views["transposed"] = m.t()                       # stride (1, 4)
    views["strided"] = x[:, ::2]                      # stride (6, 2)
    views["rows"] = y[1:3]                            # offset 4, contiguous
    views["expanded"] = torch.arange(3, dtype=torch.float32).expand(2, 3)  # stride (0, 1)
    views["scalar"] = torch.tensor(2.5)
    views["empty"] = torch.zeros(0, 3)
    views["half_t"] = h.t()
    views["bf16_tail"] = torch.arange(8, dtype=torch.float32).bfloat16()[5:]
    views["permuted"] = torch.arange(24, dtype=torch.int64).reshape(2, 3, 4).permute(2, 0, 1)
    torch.save(views, HERE / "tensors" / "views.pt")
    # safetensors' recipe refuses views that do not cover their storage ("None is covering the entire storage"), so
    # the expected conversion of this file is torch.load's tensors made contiguous, as that recipe would write them.
    try:
        python_conversion([HERE / "tensors" / "views.pt"], None)
        raise SystemExit("safetensors' recipe was expected to refuse partial views")
    except RuntimeError as e:
        refusal = str(e).split(".")[0]
    st_names = {"f32": "F32", "f16": "F16", "bf16": "BF16", "f64": "F64", "i64": "I64", "i32": "I32", "i16": "I16",
                "i8": "I8", "u8": "U8", "bool": "BOOL"}
    contiguous = [{"name": t["name"], "dtype": st_names[t["dtype"]], "shape": t["shape"], "sha256": t["sha256"]}
                  for t in describe(HERE / "tensors" / "views.pt")["tensors"]]
    record("tensors/views.pt", "zip", sorted(contiguous, key=lambda e: e["name"]), "keep")
    EXPECTED[-1]["conversion"]["python_recipe"] = "refused: " + refusal
    legacy_save(views, HERE / "tensors" / "views-legacy.pt")
    record("tensors/views-legacy.pt", "legacy")

    # Several names over one storage.
    w = torch.arange(16, dtype=torch.float32).reshape(4, 4)
    shared = OrderedDict([("w", w), ("w_alias", w), ("row1", w[1]), ("tail", w.view(-1)[12:]), ("wt", w.t())])
    torch.save(shared, HERE / "tensors" / "shared.pt")
    record("tensors/shared.pt", "zip")

    out = {"generator": "Fixtures/pytorch/generate.py", "torch": torch.__version__, "safetensors": safetensors.__version__,
           "transformers": transformers.__version__, "files": EXPECTED}
    (HERE / "expected.json").write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {len(EXPECTED)} entries to expected.json")


if __name__ == "__main__":
    main()
