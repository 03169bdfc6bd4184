#!/usr/bin/env python3
"""Writes the GGUF conformance vectors in this folder and vectors.json.

Valid files come from gguf-py's GGUFWriter (every tensor type gguf-py can produce, every
metadata kind); broken files are packed by hand with struct, one per reader check of
Formats/gguf.md §6. Nothing here uses WeightKit. Run from anywhere:

    python3 Formats/gguf/make_vectors.py

Deterministic (seeded); needs numpy and gguf (gguf-py).
"""
import json
import os
import struct

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T, GGUFValueType as V
from gguf.quants import quantize

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20260822)
vectors = []


def ok(name, tensors, note):
    """tensors: list of (name, row-major shape)."""
    vectors.append({"file": name, "expect": "ok", "note": note,
                    "tensors": [{"name": n, "shape": list(s)} for n, s in tensors]})


def err(name, contains, note):
    vectors.append({"file": name, "expect": "error", "contains": contains, "note": note})


def put(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


# ---- raw packing helpers -------------------------------------------------------------

def s(x):
    b = x.encode() if isinstance(x, str) else x
    return struct.pack("<Q", len(b)) + b


def header(tensors, kvs, version=3, magic=b"GGUF"):
    return magic + struct.pack("<IQQ", version, tensors, kvs)


def kv_u32(k, v):
    return s(k) + struct.pack("<II", 4, v)


def info(name, ne, typ, off):
    return s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne) + struct.pack("<IQ", typ, off)


def pad(b, a=32):
    return b + b"\0" * ((a - len(b) % a) % a)


def one(ne=(4,), typ=0, off=0, data=16, name="t"):
    return pad(header(1, 0) + info(name, ne, typ, off)) + b"\0" * data


# ---- valid files written by gguf-py --------------------------------------------------

def writer(path, arch="gpt1"):
    return gguf.GGUFWriter(os.path.join(HERE, path), arch)


def finish(w):
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# every metadata kind
w = writer("valid_metadata.gguf")
for k, t, v in [("m.u8", V.UINT8, 255), ("m.i8", V.INT8, -128), ("m.u16", V.UINT16, 65535), ("m.i16", V.INT16, -32768),
                ("m.u32", V.UINT32, 2**32 - 1), ("m.i32", V.INT32, -2**31), ("m.f32", V.FLOAT32, 1.5),
                ("m.bool", V.BOOL, True), ("m.str", V.STRING, "GGUF ✓"), ("m.u64", V.UINT64, 2**64 - 1),
                ("m.i64", V.INT64, -2**63), ("m.f64", V.FLOAT64, -0.125)]:
    w.add_key_value(k, v, t)
w.add_key_value("m.arr_str", ["a", "bc", ""], V.ARRAY, sub_type=V.STRING)
w.add_key_value("m.arr_f32", [0.5, 1.5], V.ARRAY, sub_type=V.FLOAT32)
w.add_key_value("m.arr_bool", [True, False], V.ARRAY, sub_type=V.BOOL)
w.add_array("m.arr_nested", [[1, 2], [3]])
w.add_tensor("x", np.arange(8, dtype=np.float32).reshape(2, 4))
finish(w)
ok("valid_metadata.gguf", [("x", (2, 4))], "every metadata value type incl. string, bool, nested arrays (gguf-py)")

# every tensor type gguf-py writes from numpy or quantizes, plus raw-byte block types
w = writer("valid_types.gguf")
names = []
for dt, n in [(np.float32, "f32"), (np.float16, "f16"), (np.float64, "f64"), (np.int8, "i8"), (np.int16, "i16"),
              (np.int32, "i32"), (np.int64, "i64")]:
    w.add_tensor("p." + n, (rng.standard_normal((2, 3, 4)) * 20).astype(dt))
    names.append(("p." + n, (2, 3, 4)))
x = rng.standard_normal((2, 256)).astype(np.float32)
for t in [T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.TQ1_0, T.TQ2_0, T.MXFP4]:
    w.add_tensor("q." + t.name.lower(), quantize(x, t), raw_dtype=t)
    names.append(("q." + t.name.lower(), (2, 256)))
for t in [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K, T.Q8_K, T.IQ2_XXS, T.IQ2_XS, T.IQ3_XXS, T.IQ1_S, T.IQ4_NL, T.IQ3_S,
          T.IQ2_S, T.IQ4_XS, T.IQ1_M]:
    bs, ts = gguf.GGML_QUANT_SIZES[t]
    raw = np.zeros((1, ts), dtype=np.uint8)        # all-zero blocks: valid, value 0
    w.add_tensor("k." + t.name.lower(), raw, raw_dtype=t)
    names.append(("k." + t.name.lower(), (1, bs)))
finish(w)
ok("valid_types.gguf", names, "every tensor type except Q8_1 (gguf-py's Q8_1 size is stale)")

# version 2, no tensors
put("valid_v2_empty.gguf", header(0, 1, version=2) + kv_u32("general.alignment", 64))
ok("valid_v2_empty.gguf", [], "version 2, metadata only")

# alignment 64, scalar-like 1-dim, zero-size tensor
b = header(2, 1) + kv_u32("general.alignment", 64) + info("z", (0, 3), 0, 0) + info("v", (3,), 0, 0)
put("valid_align64.gguf", pad(b, 64) + b"\0" * 64)
ok("valid_align64.gguf", [("z", (3, 0)), ("v", (3,))], "general.alignment 64; a zero-element tensor")

# not packed in file order: accepted (warning)
b = header(2, 0) + info("a", (4,), 0, 32) + info("b", (4,), 0, 0)
put("valid_unpacked.gguf", pad(b) + b"\0" * 64)
ok("valid_unpacked.gguf", [("a", (4,)), ("b", (4,))], "offsets aligned and disjoint but not in file order: accepted with a warning")

# ---- broken files, one per check ---------------------------------------------------------

put("bad_magic.gguf", b"GGJT" + b"\0" * 20); err("bad_magic.gguf", "not a GGUF file", "wrong magic")
put("bad_truncated_header.gguf", b"GGUF\x03\0\0\0"); err("bad_truncated_header.gguf", "truncated", "header cut short")
put("bad_version0.gguf", header(0, 0, version=0)); err("bad_version0.gguf", "unsupported version 0", "version 0")
put("bad_version1.gguf", header(0, 0, version=1)); err("bad_version1.gguf", "unsupported version 1", "GGUF v1")
put("bad_version4.gguf", header(0, 0, version=4)); err("bad_version4.gguf", "unsupported version 4", "future version")
put("bad_big_endian.gguf", b"GGUF" + struct.pack(">IQQ", 3, 0, 0)); err("bad_big_endian.gguf", "big-endian", "byte-swapped file")
put("bad_kv_count.gguf", header(0, 2**63)); err("bad_kv_count.gguf", "metadata count 9223372036854775808 cannot fit", "kv count vs bytes left")
put("bad_tensor_count.gguf", header(2**62, 0) + b"\0" * 16); err("bad_tensor_count.gguf", "tensor count 4611686018427387904 cannot fit", "tensor count vs bytes left")
put("bad_array_2pow63.gguf", header(0, 1) + s("a") + struct.pack("<IIQ", 9, 0, 2**63))
err("bad_array_2pow63.gguf", "array of 9223372036854775808 u8 elements", "2^63 array count in a 49-byte file")
put("bad_array_bytes.gguf", header(0, 1) + s("a") + struct.pack("<IIQ", 9, 6, 1000) + b"\0" * 16)
err("bad_array_bytes.gguf", "array of 1000 f32 elements needs at least 4 bytes each", "count × element size vs bytes left")
put("bad_string_huge.gguf", header(0, 1) + s("k") + struct.pack("<IQ", 8, 2**64 - 1))
err("bad_string_huge.gguf", "string length 18446744073709551615 exceeds the limit", "huge string length")
put("bad_string_past_end.gguf", header(0, 1) + s("k") + struct.pack("<IQ", 8, 100) + b"abc")
err("bad_string_past_end.gguf", "string length 100 runs past the end of the file", "string length vs bytes left")
put("bad_key_huge.gguf", header(0, 1) + struct.pack("<Q", 2**62) + b"\0" * 20)
err("bad_key_huge.gguf", "key length 4611686018427387904 exceeds the limit of 65535", "huge key length")
put("bad_empty_key.gguf", header(0, 1) + s("") + struct.pack("<IB", 0, 0) + b"\0" * 4)
err("bad_empty_key.gguf", "empty key", "zero-length key")
put("bad_duplicate_key.gguf", header(0, 2) + kv_u32("k", 1) + kv_u32("k", 2))
err("bad_duplicate_key.gguf", "duplicate key", "same key twice")
put("bad_value_type.gguf", header(0, 1) + s("k") + struct.pack("<II", 13, 0))
err("bad_value_type.gguf", "unknown value type 13", "value type id out of range")
nest = header(0, 1) + s("n") + struct.pack("<I", 9) + struct.pack("<IQ", 9, 1) * 9 + struct.pack("<IQB", 0, 1, 7)
put("bad_nested_deep.gguf", nest); err("bad_nested_deep.gguf", "arrays nested deeper than 8 levels", "nesting beyond the cap")
put("bad_alignment_type.gguf", header(0, 1) + s("general.alignment") + struct.pack("<IQ", 10, 64))
err("bad_alignment_type.gguf", "has type u64, must be u32", "general.alignment of the wrong type")
put("bad_alignment_value.gguf", header(0, 1) + kv_u32("general.alignment", 48))
err("bad_alignment_value.gguf", "48 is not a non-zero power of two", "general.alignment not a power of two")
put("bad_alignment_zero.gguf", header(0, 1) + kv_u32("general.alignment", 0))
err("bad_alignment_zero.gguf", "0 is not a non-zero power of two", "general.alignment 0")
put("bad_name_64.gguf", one(name="n" * 64)); err("bad_name_64.gguf", "name is 64 bytes; ggml allows at most 63", "tensor name ≥ 64 bytes")
b = header(2, 0) + info("w", (4,), 0, 0) + info("w", (4,), 0, 32)
put("bad_duplicate_tensor.gguf", pad(b) + b"\0" * 64); err("bad_duplicate_tensor.gguf", "duplicate tensor name", "same tensor name twice")
put("bad_ndims.gguf", one(ne=(1, 1, 1, 1, 1))); err("bad_ndims.gguf", "n_dims is 5", "more than 4 dims")
put("bad_ne_product.gguf", one(ne=(2**62, 4))); err("bad_ne_product.gguf", "overflows int64", "ne product overflows int64")
put("bad_ne_negative.gguf", one(ne=(2**64 - 1,))); err("bad_ne_negative.gguf", "does not fit in int64", "ne read as negative int64")
put("bad_nbytes.gguf", one(ne=(2**62,), typ=28)); err("bad_nbytes.gguf", "need more than", "element count fits, byte size overflows")
put("bad_type_unknown.gguf", one(typ=99)); err("bad_type_unknown.gguf", "unknown ggml type 99", "type id past the table")
for rid in (4, 5, 31, 32, 33, 36, 37, 38):
    put(f"bad_type_removed_{rid}.gguf", one(typ=rid)); err(f"bad_type_removed_{rid}.gguf", f"ggml type {rid}", f"removed type id {rid}")
put("bad_block_rows.gguf", one(ne=(33,), typ=2)); err("bad_block_rows.gguf", "not a multiple of the Q4_0 block size 32", "row length not whole blocks")
put("bad_offset_unaligned.gguf", one(off=8)); err("bad_offset_unaligned.gguf", "offset 8 is not a multiple of the alignment 32", "offset not aligned")
put("bad_offset_wrap.gguf", one(off=2**64 - 32)); err("bad_offset_wrap.gguf", "runs past the end of the file", "offset + size wraps around 2^64")
put("bad_data_past_end.gguf", one(ne=(100,))); err("bad_data_past_end.gguf", "offset 0 + 400 bytes runs past the end of the file", "tensor data beyond the file")
put("bad_data_start.gguf", header(1, 0) + info("t", (4,), 0, 0)); err("bad_data_start.gguf", "tensor data would start at byte 64", "data section starts past the end")
b = header(2, 0) + info("a", (16,), 0, 0) + info("b", (4,), 0, 32)
put("bad_overlap.gguf", pad(b) + b"\0" * 128); err("bad_overlap.gguf", "overlaps tensor 'a'", "two tensors share bytes")
put("bad_truncated_info.gguf", header(1, 0) + s("t") + struct.pack("<IQI", 1, 4, 0) + b"\0\0\0")
err("bad_truncated_info.gguf", "offset needs 8 bytes but the file ends 3 bytes later", "file ends inside a tensor info")
put("bad_lfs_pointer.gguf", b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 4096\n")
err("bad_lfs_pointer.gguf", "Git LFS pointer", "a Git LFS pointer instead of the file")
h = b'{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
put("bad_safetensors.gguf", struct.pack("<Q", len(h)) + h + b"\0" * 4)
err("bad_safetensors.gguf", "is a safetensors file", "a safetensors file named .gguf")
put("bad_empty.gguf", b""); err("bad_empty.gguf", "is empty", "zero bytes")

with open(os.path.join(HERE, "vectors.json"), "w") as f:
    json.dump({"about": "GGUF conformance vectors: each file and the outcome a reader must produce; made by make_vectors.py",
               "vectors": vectors}, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(f"{len(vectors)} vectors, {sum(os.path.getsize(os.path.join(HERE, v['file'])) for v in vectors)} bytes")
