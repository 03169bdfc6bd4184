#!/usr/bin/env python3
"""Writes the safetensors conformance vectors and vectors.json.

Valid files come from the reference `safetensors` package (plus a few hand-built files the
reference reader accepts: unaligned data, padded headers, rank 0, zero elements). Broken files
are hand-built bytes, one per validation rule of Formats/safetensors.md. Each entry of
vectors.json names the file and the outcome WeightKit must produce: "ok" with the tensors it must
list, or "error" with the kind and a phrase the one-line message must contain.

Run: python3 Formats/safetensors/make_vectors.py   (needs numpy and safetensors)
"""
import json, os, struct, hashlib
import numpy as np
from safetensors.numpy import save

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "vectors")
os.makedirs(OUT, exist_ok=True)
vectors = []


def raw(header_obj=None, data=b"", header_text=None, n=None, pad=True):
    text = header_text if header_text is not None else json.dumps(header_obj, separators=(",", ":"))
    h = text.encode("utf-8") if isinstance(text, str) else text
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    length = len(h) if n is None else n
    return struct.pack("<Q", length) + h + data


def write(name, blob):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(blob)


def ok(name, blob, tensors, note):
    write(name, blob)
    vectors.append({"file": name, "expect": "ok", "note": note, "tensors": tensors})


def err(name, blob, kind, contains, note):
    write(name, blob)
    vectors.append({"file": name, "expect": "error", "kind": kind, "contains": contains, "note": note})


def desc(arrs, dt_names):
    out = []
    for k in sorted(arrs):
        a = arrs[k]
        out.append({"name": k, "dtype": dt_names[k], "shape": list(a.shape),
                    "sha256": hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()})
    return out


rng = np.random.default_rng(20261122)
# --- valid files from the reference writer -------------------------------------------------
every = {
    "f64": rng.standard_normal((2, 3)).astype(np.float64),
    "f32": rng.standard_normal((3, 4)).astype(np.float32),
    "f16": rng.standard_normal((5,)).astype(np.float16),
    "i64": rng.integers(-2**62, 2**62, (2, 2), dtype=np.int64),
    "i32": rng.integers(-2**31, 2**31 - 1, (3,), dtype=np.int32),
    "i16": rng.integers(-2**15, 2**15 - 1, (2, 3), dtype=np.int16),
    "i8": rng.integers(-128, 127, (7,), dtype=np.int8),
    "u8": rng.integers(0, 255, (3, 3), dtype=np.uint8),
    "u16": rng.integers(0, 2**16 - 1, (2,), dtype=np.uint16),
    "u32": rng.integers(0, 2**32 - 1, (2,), dtype=np.uint32),
    "u64": rng.integers(0, 2**63, (2,), dtype=np.uint64),
    "bool": rng.integers(0, 2, (5,)).astype(bool),
}
names = {"f64": "F64", "f32": "F32", "f16": "F16", "i64": "I64", "i32": "I32", "i16": "I16", "i8": "I8",
         "u8": "U8", "u16": "U16", "u32": "U32", "u64": "U64", "bool": "BOOL"}
ok("every_numpy_dtype.safetensors", save(every, metadata={"format": "pt", "source": "make_vectors"}),
   desc(every, names), "every dtype numpy holds, written by the reference writer, with metadata")
ok("no_metadata.safetensors", save({"w": every["f32"]}), desc({"w": every["f32"]}, {"w": "F32"}),
   "no __metadata__ key")
ok("empty.safetensors", save({}), [], "an empty header {}")
scalar = {"s": np.array(3.5, dtype=np.float32)}
ok("rank0.safetensors", save(scalar), desc(scalar, {"s": "F32"}), "a rank-0 tensor: shape [], one element")
zero = {"z": np.zeros((2, 0), dtype=np.float32), "a": np.ones((1,), dtype=np.float32)}
ok("zero_elements.safetensors", save(zero), desc(zero, {"z": "F32", "a": "F32"}), "a zero-element tensor [2, 0] with offsets [0, 0]")

# bf16 and the f8 types: numpy has no such dtype; hand-build with bytes the reference reader accepts.
bf = np.array([0x3F80, 0xC000, 0x7F80, 0x0001], dtype=np.uint16)  # 1, -2, inf, smallest subnormal
e4 = np.array([0x38, 0xB8, 0x7E, 0x01], dtype=np.uint8)  # 1, -1, 448, smallest subnormal
e5 = np.array([0x3C, 0xBC, 0x7B, 0x01], dtype=np.uint8)  # 1, -1, 57344, smallest subnormal
hdr = {"bf": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]},
       "e4": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [8, 12]},
       "e5": {"dtype": "F8_E5M2", "shape": [2, 2], "data_offsets": [12, 16]}}
ok("bf16_f8.safetensors", raw(hdr, bf.tobytes() + e4.tobytes() + e5.tobytes()),
   [{"name": "bf", "dtype": "BF16", "shape": [4], "values": [1.0, -2.0, "inf", 9.183549615799121e-41]},
    {"name": "e4", "dtype": "F8_E4M3", "shape": [4], "values": [1.0, -1.0, 448.0, 0.001953125]},
    {"name": "e5", "dtype": "F8_E5M2", "shape": [2, 2], "values": [1.0, -1.0, 57344.0, 1.52587890625e-05]}],
   "BF16 and the two F8 types, values chosen to hit normal, infinite and subnormal encodings")

# Unaligned data: an odd-length header and an odd-length U8 tensor first, then F32 at an odd offset.
f = np.array([1.5, -2.25, 3.0], dtype=np.float32)
hdr = {"a_u8": {"dtype": "U8", "shape": [3], "data_offsets": [0, 3]},
       "b_f32": {"dtype": "F32", "shape": [3], "data_offsets": [3, 15]}}
ok("unaligned.safetensors", raw(hdr, bytes([1, 2, 3]) + f.tobytes(), pad=False),
   [{"name": "a_u8", "dtype": "U8", "shape": [3], "values": [1, 2, 3]},
    {"name": "b_f32", "dtype": "F32", "shape": [3], "values": [1.5, -2.25, 3.0]}],
   "tensor data not aligned (header length odd, F32 starting at data byte 3): must be copied, not bound")
ok("whitespace_header.safetensors",
   raw(header_text="  \n" + json.dumps({"x": {"dtype": "I8", "shape": [2], "data_offsets": [0, 2]}}) + "\t ", data=b"\x01\xff"),
   [{"name": "x", "dtype": "I8", "shape": [2], "values": [1, -1]}],
   "leading and trailing whitespace around the JSON, accepted as the reference reader does")
ok("offsets_out_of_name_order.safetensors",
   raw({"b": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "a": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}}, b"\x07\x08\x09"),
   [{"name": "b", "dtype": "U8", "shape": [1], "values": [7]}, {"name": "a", "dtype": "U8", "shape": [2], "values": [8, 9]}],
   "header order differs from offset order; tiling is checked in offset order")

# --- broken files: one per rule -------------------------------------------------------------
good = {"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}
err("rule1_too_small.safetensors", b"\x08\x00\x00", "headerTooSmall", "too short", "rule 1: fewer than 8 bytes")
err("rule1_empty.safetensors", b"", "headerTooSmall", "too short", "rule 1: an empty file")
err("rule2_header_too_large.safetensors", struct.pack("<Q", 100_000_001) + b"{}", "headerTooLarge", "exceeds the limit",
    "rule 2: N = 100,000,001 > 100 MB cap")
err("rule2_huge_n.safetensors", struct.pack("<Q", 2**64 - 1) + b"{}      ", "headerTooLarge", "exceeds the limit",
    "rule 2: N = 2^64-1 (does not fit a signed size)")
err("rule2_lfs_pointer.safetensors",
    b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 548105171\n",
    "notSafetensors", "Git LFS pointer", "rule 2: a Git LFS pointer, which naive readers report as 'header too large'")
err("rule3_header_past_end.safetensors", struct.pack("<Q", 64) + b'{"t":{}}', "invalidHeaderLength", "runs past the end",
    "rule 3: N + 8 past the end of the file")
err("rule4_not_utf8.safetensors", raw(header_text=b'{"\xff\xfe":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}'),
    "invalidHeader", "not valid UTF-8", "rule 4: header bytes are not UTF-8")
err("rule5_not_json.safetensors", raw(header_text='{"t": [1, 2,}'), "invalidHeaderDeserialization", "not valid JSON",
    "rule 5: header is not JSON")
err("rule5_bad_dtype.safetensors", raw({"t": {"dtype": "F33", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
    "invalidHeaderDeserialization", "unknown dtype", "rule 5: unknown dtype string")
err("rule5_negative_shape.safetensors", raw({"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4),
    "invalidHeaderDeserialization", "non-negative integer", "rule 5: negative dimension")
err("rule5_float_shape.safetensors", raw({"t": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}, b"\0" * 4),
    "invalidHeaderDeserialization", "non-negative integer", "rule 5: non-integer dimension")
err("rule5_metadata_not_string.safetensors", raw({"__metadata__": {"x": 0}, **good}, b"\0" * 8),
    "invalidHeaderDeserialization", "not a string", "rule 5: a __metadata__ value that is not a string (safetensors #278)")
err("rule5_extra_field.safetensors", raw({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], "x": 1}}, b"\0" * 8),
    "invalidHeaderDeserialization", "unknown field", "rule 5: extra property in a tensor entry")
err("rule5_not_object.safetensors", raw(header_text="[1,2,3]"), "invalidHeaderDeserialization", "not a JSON object",
    "rule 5: header is an array")
err("rule5_deep_nesting.safetensors", raw(header_text="{\"__metadata__\":" + "[" * 5000 + "]" * 5000 + "}"),
    "invalidHeaderDeserialization", "nested deeper", "rule 5: deeply nested JSON must not exhaust the stack")
err("rule6_gap.safetensors", raw({"a": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}, "b": {"dtype": "U8", "shape": [1], "data_offsets": [2, 3]}}, b"\0" * 3),
    "invalidOffset", "gap", "rule 6: a gap between tensors")
err("rule6_overlap.safetensors", raw({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}, "b": {"dtype": "U8", "shape": [2], "data_offsets": [1, 3]}}, b"\0" * 3),
    "invalidOffset", "overlaps", "rule 6: overlapping tensors")
err("rule6_not_from_zero.safetensors", raw({"a": {"dtype": "U8", "shape": [1], "data_offsets": [1, 2]}}, b"\0" * 2),
    "invalidOffset", "gap", "rule 6: first tensor does not start at 0")
err("rule6_aliased.safetensors", raw({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),
    "invalidOffset", "overlaps", "rule 6: two names over the same bytes (tied weights are rejected by design)")
err("rule6_end_before_begin.safetensors", raw({"a": {"dtype": "U8", "shape": [0], "data_offsets": [4, 0]}}, b"\0" * 4),
    "tensorInvalidInfo", "data_offsets", "rule 6/9: END < BEGIN")
err("rule7_overflow.safetensors", raw({"t": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 8]}}, b"\0" * 8),
    "validationOverflow", "overflows", "rule 7: the shape product overflows")
err("rule7_bytes_overflow.safetensors", raw({"t": {"dtype": "F64", "shape": [2**61], "data_offsets": [0, 8]}}, b"\0" * 8),
    "validationOverflow", "overflows", "rule 7: elements fit but elements × 8 bytes overflows")
err("rule9_size_mismatch.safetensors", raw({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
    "tensorInvalidInfo", "needs 12", "rule 9: END − BEGIN disagrees with shape × dtype")
err("rule10_trailing_bytes.safetensors", raw(good, b"\0" * 8 + b"polyglot"), "metadataIncompleteBuffer", "trailing bytes",
    "rule 10: bytes after the last tensor (polyglot prevention)")
err("rule10_truncated.safetensors", raw(good, b"\0" * 5), "metadataIncompleteBuffer", "truncated",
    "rule 10: the file ends before the last tensor does")
err("rule10_offsets_past_end.safetensors", raw({"t": {"dtype": "U8", "shape": [2**40], "data_offsets": [0, 2**40]}}, b"\0" * 8),
    "metadataIncompleteBuffer", "past the end", "rule 10: a tensor that points far outside the file")
err("dup_names.safetensors", raw(header_text='{"t":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"t":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', data=b"\0\0"),
    "duplicateName", "duplicate key 't'", "duplicate tensor names, rejected explicitly (the reference reader lets the last win)")
err("unsupported_dtype.safetensors", raw({"t": {"dtype": "F4", "shape": [2], "data_offsets": [0, 1]}}, b"\0"),
    "unsupportedDType", "WeightKit does not read", "a valid safetensors dtype WeightKit does not decode (F4)")
err("is_gguf.safetensors", b"GGUF\x03\x00\x00\x00" + b"\0" * 16, "notSafetensors", "GGUF", "a GGUF file handed in as safetensors")

with open(os.path.join(HERE, "vectors.json"), "w") as f:
    json.dump({"vectors": vectors}, f, indent=1)
print(f"wrote {len(vectors)} vectors to {OUT}")
