#!/usr/bin/env python3
"""Conformance vectors for WeightKit's HDF5 reader (Formats/hdf5.md).

Writes small files into Formats/hdf5/vectors/ with h5py (+ hdf5plugin for zstd and blosc) and
vectors.json, which lists for each file the outcome a reader must produce:
  {"file": "...", "outcome": "ok", "tensors": [{"name", "dtype", "shape", "hex"}], "metadata": {key: [type, value]},
   "keras_order": [...]}                                 (keras_order only for Keras files)
  {"file": "...", "outcome": "open_error" | "read_error", "error_contains": "...", "tensor": "..."}
`hex` is the tensor's bytes in little-endian row-major order. Metadata types are WeightKit's
names (str, i64, f64, bool, arr, ...); arrays are [“arr”, [[type, value], ...]].
Run from anywhere: python3 Formats/hdf5/generate.py. Needs h5py, hdf5plugin, numpy.
"""
import json, os

import h5py
import hdf5plugin
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "vectors")
NAMES = {"float16": "f16", "float32": "f32", "float64": "f64", "int8": "i8", "int16": "i16", "int32": "i32",
         "int64": "i64", "uint8": "u8", "uint16": "u16", "uint32": "u32", "uint64": "u64", "bool": "bool"}
rng = np.random.default_rng(20260522)
vectors = []


def path(name):
    return os.path.join(OUT, name)


def tensor(name, a, dtype=None):
    le = a.astype(a.dtype.newbyteorder("<"))
    return {"name": name, "dtype": dtype or NAMES[a.dtype.name], "shape": list(a.shape), "hex": le.tobytes().hex()}


def small_arrays():
    return {
        "f16": rng.standard_normal((2, 3)).astype(np.float16),
        "f32": rng.standard_normal((3, 4)).astype(np.float32),
        "f64": rng.standard_normal((2,)),
        "i8": rng.integers(-128, 127, (4,), dtype=np.int8),
        "i16": rng.integers(-30000, 30000, (3,), dtype=np.int16),
        "i32": rng.integers(-2**31, 2**31 - 1, (2, 2), dtype=np.int32),
        "i64": rng.integers(-2**62, 2**62, (3,), dtype=np.int64),
        "u8": rng.integers(0, 255, (5,), dtype=np.uint8),
        "u16": rng.integers(0, 65535, (2,), dtype=np.uint16),
        "u32": rng.integers(0, 2**32 - 1, (2,), dtype=np.uint32),
        "u64": rng.integers(0, 2**63, (2,), dtype=np.uint64),
        "bool": rng.random((2, 2)) > 0.5,
    }


def plain_file(fname, **kw):
    arrays = small_arrays()
    with h5py.File(path(fname), "w") as f:
        for n, a in arrays.items():
            f.create_dataset(n, data=a, **({} if not kw else dict(chunks=True, **kw)))
    vectors.append({"file": fname, "outcome": "ok", "tensors": [tensor(n, a) for n, a in sorted(arrays.items())],
                    "metadata": {}})


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))

    plain_file("dtypes_contiguous.h5")
    plain_file("dtypes_gzip.h5", compression="gzip", compression_opts=4)
    plain_file("dtypes_shuffle_gzip.h5", compression="gzip", shuffle=True)
    plain_file("dtypes_zstd.h5", **hdf5plugin.Zstd(clevel=3))

    # bf16 as uint16 + dtype="bfloat16" (Keras 3), big-endian data, a scalar, an empty tensor.
    bits = (rng.standard_normal((2, 3)).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    be = rng.standard_normal((3,)).astype(">f4")
    with h5py.File(path("bf16_bigendian_scalar.h5"), "w") as f:
        f.create_dataset("layers/dense/vars/0", data=bits).attrs["dtype"] = "bfloat16"
        f["big_endian"] = be
        f["scalar"] = np.int64(-7)
        f["empty"] = np.zeros((0, 2), np.float32)
    vectors.append({"file": "bf16_bigendian_scalar.h5", "outcome": "ok", "metadata": {}, "tensors": [
        tensor("big_endian", be), tensor("empty", np.zeros((0, 2), np.float32)),
        tensor("layers/dense/vars/0", bits, "bf16"), tensor("scalar", np.array(np.int64(-7)))]})

    # Attributes of every kind.
    with h5py.File(path("attributes.h5"), "w") as f:
        f.attrs["vlen_ascii"] = b"ascii bytes"
        f.attrs["vlen_utf8"] = "h\u00e9llo"
        f.attrs["fixed_ascii"] = np.bytes_(b"fixed")
        f.attrs["str_list"] = ["a", "b\u00e9"]
        f.attrs["fixed_list"] = np.array([b"ab", b"c"])
        f.attrs["i64"] = np.int64(-5)
        f.attrs["f64"] = 2.25
        f.attrs["ints"] = np.arange(3, dtype=np.int32)
        f.attrs["flag"] = True
        f.attrs["weight_names0"] = np.array([b"w0"])
        f.attrs["weight_names1"] = np.array([b"w1", b"w2"])
        f["d"] = np.ones(1, np.float32)
        f["d"].attrs["note"] = "on a dataset"
    vectors.append({"file": "attributes.h5", "outcome": "ok",
                    "tensors": [tensor("d", np.ones(1, np.float32))],
                    "metadata": {"vlen_ascii": ["str", "ascii bytes"], "vlen_utf8": ["str", "h\u00e9llo"],
                                 "fixed_ascii": ["str", "fixed"],
                                 "str_list": ["arr", [["str", "a"], ["str", "b\u00e9"]]],
                                 "fixed_list": ["arr", [["str", "ab"], ["str", "c"]]],
                                 "i64": ["i64", -5], "f64": ["f64", 2.25],
                                 "ints": ["arr", [["i32", 0], ["i32", 1], ["i32", 2]]], "flag": ["bool", True],
                                 "weight_names": ["arr", [["str", "w0"], ["str", "w1"], ["str", "w2"]]],
                                 "d@note": ["str", "on a dataset"]}})

    # Keras legacy weights (weights only, split layer_names) and a full save (/model_weights).
    for fname, full in (("keras_weights.h5", False), ("keras_full_save.h5", True)):
        layers = [("dense", ["dense/kernel:0", "dense/bias:0"]), ("dropout", []),
                  ("tf_gpt2_model", ["tf_gpt2_model/transformer/h_._0/ln_1/gamma:0",
                                     "tf_gpt2_model/transformer/h_._0/ln_1/beta:0"])]
        tensors, order = [], []
        with h5py.File(path(fname), "w") as f:
            root = f
            p = ""
            if full:
                f.attrs["model_config"] = b'{"class_name": "Functional"}'
                root = f.create_group("model_weights")
                p = "model_weights/"
            names = np.array([n.encode() for n, _ in layers])
            root.attrs["layer_names0"] = names[:1]
            root.attrs["layer_names1"] = names[1:]
            root.attrs["backend"] = b"tensorflow"
            root.attrs["keras_version"] = b"2.15.0"
            for layer, weights in layers:
                g = root.create_group(layer)
                g.attrs["weight_names"] = np.array([w.encode() for w in weights]) if weights else np.array([])
                for w in weights:
                    a = rng.standard_normal((1, 4) if "bias" in w or "beta" in w or "gamma" in w else (3, 4)).astype(np.float32)
                    g.create_dataset(w, data=a)
                    tensors.append(tensor(p + layer + "/" + w, a))
                    order.append(p + layer + "/" + w)
        md = {p.rstrip("/") + "@keras_version" if full else "keras_version": ["str", "2.15.0"]}
        if full:
            md["model_config"] = ["str", '{"class_name": "Functional"}']
        vectors.append({"file": fname, "outcome": "ok", "tensors": sorted(tensors, key=lambda t: t["name"]),
                        "metadata": md, "keras_order": order})

    # Broken and hostile files.
    with open(path("not_hdf5.h5"), "wb") as fh:
        fh.write(b"PK\x03\x04 this is a zip, not HDF5\n")
    vectors.append({"file": "not_hdf5.h5", "outcome": "open_error", "error_contains": "not an HDF5 file"})

    with h5py.File(path("truncated.h5"), "w") as f:
        f["w"] = np.arange(2000, dtype=np.float32)
    size = os.path.getsize(path("truncated.h5"))
    os.truncate(path("truncated.h5"), size // 2)
    vectors.append({"file": "truncated.h5", "outcome": "open_error", "error_contains": "truncated"})

    with h5py.File(path("blosc_filter.h5"), "w") as f:
        f.create_dataset("w", data=np.arange(64, dtype=np.float32), chunks=(32,), **hdf5plugin.Blosc())
    vectors.append({"file": "blosc_filter.h5", "outcome": "read_error", "tensor": "w",
                    "error_contains": "dataset 'w': compressed with HDF5 filter 'blosc' (32001), which is not available"})

    with h5py.File(path("absurd_dims.h5"), "w") as f:
        f.create_dataset("huge", shape=(2**40, 2**40), dtype="f4", chunks=(1, 1))
    vectors.append({"file": "absurd_dims.h5", "outcome": "open_error",
                    "error_contains": "dataset 'huge': shape [1099511627776, 1099511627776] of f32 overflows"})

    with h5py.File(path("string_dataset.h5"), "w") as f:
        f["vocab"] = ["a", "b"]
    vectors.append({"file": "string_dataset.h5", "outcome": "open_error",
                    "error_contains": "dataset 'vocab': HDF5 type class string is not a tensor element type"})

    with h5py.File(path("corrupt_zstd.h5"), "w") as f:
        d = f.create_dataset("w", data=rng.standard_normal(4096).astype(np.float32), chunks=(2048,),
                             **hdf5plugin.Zstd())
        info = d.id.get_chunk_info(1)
    with open(path("corrupt_zstd.h5"), "r+b") as fh:
        fh.seek(info.byte_offset + 4)
        fh.write(b"\xff" * 32)
    vectors.append({"file": "corrupt_zstd.h5", "outcome": "read_error", "tensor": "w",
                    "error_contains": "dataset 'w': cannot read"})

    with open(os.path.join(HERE, "vectors.json"), "w") as fh:
        json.dump(vectors, fh, indent=1, ensure_ascii=False)
        fh.write("\n")


if __name__ == "__main__":
    main()
