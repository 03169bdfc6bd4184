#!/usr/bin/env python3
"""Writes the PyTorch conformance vectors (Formats/pytorch/vectors/) and vectors.json.

Valid files come from torch.save itself (zip and legacy layouts, pickle protocol 5) or are torch.save output
repacked by the small zip writer below (zip64 fields, no alignment, another archive name, big-endian byte order);
their expected tensors are what torch.load returns for them. Hostile files are hand-built bytes: a pickle assembler
and a zip writer that will write anything. Each entry of vectors.json names the file and the outcome WeightKit must
produce: "ok" with the tensors (dotted name, dtype, shape, SHA-256 of the row-major bytes) and other values it must
list, or "error" with the error kind and a phrase the one-line message must contain. Each hostile entry also records
what torch.load(path, weights_only=True) does with the file (run in a child process in a scratch directory), and
the ones whose pickle carries a payload name the file that payload creates ("payload_marker"): this script runs
each such pickle with Python's own unrestricted pickle module, in a child process, and checks that the marker file
does appear, so the test that finds no marker after WeightKit has read the file is testing a live payload.

Run: python3 Formats/pytorch/make_vectors.py   (needs torch 2.15.0 and numpy, pinned in Fixtures/requirements.txt)
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
import zlib
from collections import OrderedDict

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "Fixtures", "pytorch"))
from generate import legacy_save  # noqa: E402  (the fixtures' byte-stable legacy torch.save)
OUT = os.path.join(HERE, "vectors")
MARKER = "/tmp/weightkit-pickle-payload-ran"
os.makedirs(OUT, exist_ok=True)
for f in os.listdir(OUT):
    os.unlink(os.path.join(OUT, f))
vectors: list[dict] = []

DTYPE = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.float64: "f64", torch.int64: "i64",
         torch.int32: "i32", torch.int16: "i16", torch.int8: "i8", torch.uint8: "u8", torch.bool: "bool",
         torch.float8_e4m3fn: "f8_e4m3", torch.float8_e5m2: "f8_e5m2", torch.uint16: "u16", torch.uint32: "u32",
         torch.uint64: "u64"}


# --- a pickle assembler -------------------------------------------------------------------------------------------

def uni(s: str) -> bytes:
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def short_uni(s: str) -> bytes:
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def integer(v: int) -> bytes:
    if 0 <= v < 256:
        return b"K" + bytes([v])
    if 0 <= v < 65536:
        return b"M" + struct.pack("<H", v)
    if -2**31 <= v < 2**31:
        return b"J" + struct.pack("<i", v)
    n = (v.bit_length() + 8) // 8
    return b"\x8a" + bytes([n]) + v.to_bytes(n, "little", signed=True)


def tup(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


PROTO = b"\x80\x02"
STOP = b"."
EMPTY_DICT, EMPTY_LIST, EMPTY_TUPLE = b"}", b"]", b")"
MARK, SETITEMS, SETITEM, APPEND, REDUCE, BUILD, NEWOBJ = b"(", b"u", b"s", b"a", b"R", b"b", b"\x81"
BINPERSID, NEWFALSE, NONE = b"Q", b"\x89", b"N"
ODICT = glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE


def persid(key: str, typ: str = "FloatStorage", numel: int = 4, legacy: bool = False) -> bytes:
    items = [uni("storage"), glob("torch", typ), uni(key), uni("cpu"), integer(numel)]
    if legacy:
        items.append(NONE)
    return tup(*items) + BINPERSID


def rebuild(key: str, size, stride, offset: int = 0, typ: str = "FloatStorage", numel: int = 4, hooks: bytes = ODICT,
            legacy: bool = False, extra: bytes = b"") -> bytes:
    return (glob("torch._utils", "_rebuild_tensor_v2")
            + tup(persid(key, typ, numel, legacy), integer(offset), tup(*map(integer, size)), tup(*map(integer, stride)),
                  NEWFALSE, hooks, extra)
            + REDUCE)


def state_dict(*pairs: tuple[str, bytes]) -> bytes:
    return ODICT + MARK + b"".join(uni(k) + v for k, v in pairs) + SETITEMS


def pkl(body: bytes) -> bytes:
    return PROTO + body + STOP


F32x4 = struct.pack("<4f", 1.0, 2.0, 3.0, 4.0)
GOOD_PKL = pkl(state_dict(("w", rebuild("0", [2, 2], [2, 1]))))


def payload(module: str, name: str, *args: bytes) -> bytes:
    """A pickle that calls module.name(*args) and then goes on to look like a state dict."""
    return pkl(glob(module, name) + tup(*args) + REDUCE + b"0" + state_dict(("w", rebuild("0", [2, 2], [2, 1]))))


# --- a zip writer that will write anything --------------------------------------------------------------------------

def zip_bytes(entries: list[dict], align: int = 64, zip64: bool = False, saturate: bool = False,
              eocd_count: int | None = None, cd_trailing: bytes = b"", comment: bytes = b"") -> bytes:
    """entries: {name, data, method=0, usize=None, flags=0x0800, local_name=None, offset=None (reuse another local
    header's offset), crc=None}. Local headers are padded with an 'FB' extra field so data starts on `align`."""
    out = bytearray()
    central = bytearray()
    offsets = {}
    for e in entries:
        name = e["name"].encode() if isinstance(e["name"], str) else e["name"]
        data = e.get("data", b"")
        method = e.get("method", 0)
        stored = zlib.compress(data)[2:-4] if method == 8 and not e.get("raw") else data
        usize = e.get("usize", len(data))
        crc = e.get("crc", zlib.crc32(data))
        flags = e.get("flags", 0x0800)
        if e.get("offset") is not None:
            local_offset = offsets[e["offset"]]
        else:
            local_offset = len(out)
            offsets[e["name"]] = local_offset
            lname = e.get("local_name", name)
            lname = lname.encode() if isinstance(lname, str) else lname
            extra = b""
            if zip64:
                extra += struct.pack("<HHQQ", 1, 16, usize, len(stored))
            if align:
                pad = (-(len(out) + 30 + len(lname) + len(extra) + 4)) % align
                extra += b"FB" + struct.pack("<H", pad) + b"Z" * pad
            sizes = (0xFFFFFFFF, 0xFFFFFFFF) if zip64 else (len(stored), usize)
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 20, flags, method, 0, 0x21, crc, sizes[0], sizes[1],
                               len(lname), len(extra)) + lname + extra
            out += stored
        cextra = b""
        c_usize, c_csize, c_off = usize, len(stored), local_offset
        if zip64:
            cextra = struct.pack("<HHQQQ", 1, 24, usize, len(stored), local_offset)
            c_usize = c_csize = c_off = 0xFFFFFFFF
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x031E, 45 if zip64 else 20, flags, method, 0, 0x21, crc,
                               c_csize, c_usize, len(name), len(cextra), 0, 0, 0, 0, c_off) + name + cextra
    central += cd_trailing
    cd_offset = len(out)
    out += central
    n = len(entries) if eocd_count is None else eocd_count
    if zip64 or saturate:
        rec = len(out)
        out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(central), cd_offset)
        out += struct.pack("<IIQI", 0x07064B50, 0, rec, 1)
    if saturate:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, len(comment)) + comment
    else:
        out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central), cd_offset, len(comment)) + comment
    return bytes(out)


def torch_zip(data_pkl: bytes, storages: dict[str, bytes], archive: str = "archive", byteorder: bytes | None = b"little",
              version: bytes = b"3\n", extra: list[dict] | None = None, **kw) -> bytes:
    entries = [{"name": f"{archive}/data.pkl", "data": data_pkl}]
    if byteorder is not None:
        entries.append({"name": f"{archive}/byteorder", "data": byteorder})
    entries += [{"name": f"{archive}/data/{k}", "data": v} for k, v in storages.items()]
    entries.append({"name": f"{archive}/version", "data": version})
    entries += extra or []
    return zip_bytes(entries, **kw)


def repack(path_bytes: bytes, rename=lambda n: n, **kw) -> bytes:
    """torch.save output rewritten entry by entry with this writer."""
    z = zipfile.ZipFile(io.BytesIO(path_bytes))
    return zip_bytes([{"name": rename(i.filename), "data": z.read(i.filename)} for i in z.infolist()], **kw)


# --- outcomes -------------------------------------------------------------------------------------------------------

def legacy_bytes(obj, check: bool = True) -> bytes:
    """torch.save's legacy layout, storage keys made byte-stable (torch names them by memory address)."""
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "legacy.pt"
        legacy_save(obj, p, check=check)
        return p.read_bytes()


def tensor_bytes(t: torch.Tensor) -> bytes:
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


TORCH_CHILD = """
import json, sys, torch, warnings
warnings.simplefilter("ignore")
out = {}
for path in sys.argv[1:]:
    try:
        torch.load(path, weights_only=True)
        out[path] = "loaded"
    except BaseException as e:
        text = str(e)
        if "WeightsUnpickler error: " in text:
            text = text.split("WeightsUnpickler error: ", 1)[1]
        lines = [l.strip() for l in text.splitlines() if l.strip()]
        why = lines[0] if lines else ""
        out[path] = "refused: " + type(e).__name__ + (": " + why[:200] if why else "")
print(json.dumps(out))
"""


def torch_outcomes(names: list[str]) -> dict[str, str]:
    """What torch.load(weights_only=True) does with each file: one child process in a scratch directory."""
    paths = [os.path.join(OUT, n) for n in names]
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([sys.executable, "-c", TORCH_CHILD] + paths, cwd=d, capture_output=True, text=True, timeout=600)
    if os.path.exists(MARKER):
        raise SystemExit("torch.load(weights_only=True) ran a payload")
    got = json.loads(r.stdout.strip().splitlines()[-1])
    return {os.path.basename(k): v for k, v in got.items()}


def write(name: str, blob: bytes) -> None:
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(blob)


def ok(name: str, blob: bytes, note: str, weights_only: bool = True) -> None:
    write(name, blob)
    obj = torch.load(os.path.join(OUT, name), weights_only=weights_only)
    tensors = []
    for k, v in obj.items():
        tensors.append({"name": k, "dtype": DTYPE[v.dtype], "shape": list(v.shape),
                        "sha256": hashlib.sha256(tensor_bytes(v)).hexdigest()})
    vectors.append({"file": name, "expect": "ok", "note": note, "tensors": tensors})


def ok_as(name: str, blob: bytes, tensors: list[dict], note: str) -> None:
    """A valid file torch's weights_only loader may not return as a dict; its tensors are given."""
    write(name, blob)
    vectors.append({"file": name, "expect": "ok", "note": note, "tensors": tensors})


def err(name: str, blob: bytes, kind: str, contains: str, note: str, marker: bool = False, pickle_bytes: bytes | None = None) -> None:
    write(name, blob)
    v = {"file": name, "expect": "error", "kind": kind, "contains": contains, "note": note}
    if marker:
        prove_payload(name, pickle_bytes if pickle_bytes is not None else blob)
        v["payload_marker"] = MARKER
    vectors.append(v)


def prove_payload(name: str, pickle_bytes: bytes) -> None:
    """Runs the pickle with Python's unrestricted pickle module, in a child process: the marker must appear."""
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    code = ("import pickle, sys\n"
            "class U(pickle.Unpickler):\n    def persistent_load(self, pid): return None\n"
            "try:\n    U(open(sys.argv[1], 'rb')).load()\nexcept Exception:\n    pass\n")
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "payload.pkl")
        with open(p, "wb") as f:
            f.write(pickle_bytes)
        subprocess.run([sys.executable, "-c", code, p], cwd=d, capture_output=True, timeout=60)
    if not os.path.exists(MARKER):
        raise SystemExit(f"{name}: the payload does not create {MARKER} under plain pickle; the vector proves nothing")
    os.unlink(MARKER)


# --- valid files ----------------------------------------------------------------------------------------------------

g = torch.Generator().manual_seed(2026)
sd = OrderedDict()
sd["f32"] = torch.randn(3, 4, generator=g)
sd["f16"] = torch.randn(6, generator=g).half()
sd["bf16"] = torch.randn(2, 3, generator=g).bfloat16()
sd["i64"] = torch.tensor([-3, 2**40, 7], dtype=torch.int64)
sd["bool"] = torch.tensor([True, False, True])
sd["t"] = sd["f32"].t()

buf = io.BytesIO()
torch.save(sd, buf)
torch_file = buf.getvalue()
ok("valid_torch_zip.pt", torch_file, "torch.save, zip layout: f32, f16, bf16, i64, bool and a transposed view sharing f32's storage")
ok("valid_torch_legacy.pt", legacy_bytes(sd), "torch.save, legacy layout (_use_new_zipfile_serialization=False)")
buf = io.BytesIO()
torch.save(sd, buf, pickle_protocol=5)
ok("valid_protocol5.pt", buf.getvalue(),
   "torch.save with pickle_protocol=5: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL (torch's own weights_only "
   "unpickler refuses these opcodes; it loads with weights_only=False)", weights_only=False)
ok("valid_zip64.pt", repack(torch_file, zip64=True, saturate=True),
   "repacked with zip64 extra fields in every local and central header and a saturated end record (0xFFFF, 0xFFFFFFFF)")
ok("valid_unaligned.pt", repack(torch_file, align=0), "repacked without alignment padding: storages start at odd offsets and are copied")
ok("valid_archive_name.pt", repack(torch_file, rename=lambda n: n.replace("archive/", "model-ä1/")),
   "the archive folder is not the file's name ('model-ä1'): it is taken from the entries")
# Big-endian: byteorder 'big' and every storage byte-swapped per element, as torch.save writes on such a machine.
z = zipfile.ZipFile(io.BytesIO(torch_file))
sizes = {}
for k, v in sd.items():
    sizes[v.untyped_storage().data_ptr()] = v.element_size()
big_entries = []
elem = {"0": 4, "1": 2, "2": 2, "3": 8, "4": 1}
for i in z.infolist():
    data = z.read(i.filename)
    if i.filename.endswith("/byteorder"):
        data = b"big"
    elif "/data/" in i.filename:
        es = elem[i.filename.rsplit("/", 1)[1]]
        data = b"".join(data[j:j + es][::-1] for j in range(0, len(data), es))
    big_entries.append({"name": i.filename, "data": data})
ok("valid_big_endian.pt", zip_bytes(big_entries), "byteorder 'big' with every element byte-swapped: read as copies, swapped back")
v3 = OrderedDict()
v3["f8_e4m3"] = torch.tensor([1.0, -2.0, 448.0, 0.015625]).to(torch.float8_e4m3fn)
v3["f8_e5m2"] = torch.tensor([1.0, -0.5, 57344.0]).to(torch.float8_e5m2)
v3["u16"] = torch.tensor([0, 65535, 7], dtype=torch.uint16)
v3["u32"] = torch.tensor([2**32 - 1, 1], dtype=torch.uint32)
v3["u64"] = torch.tensor([2**63, 3], dtype=torch.uint64)
v3["u16_t"] = torch.arange(6, dtype=torch.int32).to(torch.uint16).reshape(2, 3).t()
buf = io.BytesIO()
torch.save(v3, buf)
ok("valid_untyped_v3.pt", buf.getvalue(),
   "dtypes without a typed storage (float8 e4m3fn/e5m2, uint16/32/64): _rebuild_tensor_v3 over torch.storage.UntypedStorage "
   "with the dtype as an argument; offsets and strides in elements of that dtype")
legacy_v3 = OrderedDict([("u16", v3["u16"]), ("f8_e5m2", v3["f8_e5m2"])])
write("valid_untyped_v3_legacy.pt", legacy_bytes(legacy_v3, check=False))
vectors.append({"file": "valid_untyped_v3_legacy.pt", "expect": "ok", "tensors": [
    {"name": k, "dtype": DTYPE[v.dtype], "shape": list(v.shape), "sha256": hashlib.sha256(tensor_bytes(v)).hexdigest()}
    for k, v in legacy_v3.items()],
    "note": "the same in the legacy layout, as torch.save writes it (torch 2.15's own legacy loader fails on it: "
            "'UntypedStorage has no attribute dtype'); the expected tensors are the ones saved"})
ok("valid_no_byteorder.pt", torch_zip(GOOD_PKL, {"0": F32x4}, byteorder=None),
   "no byteorder record (files before torch 1.10): little-endian")

# --- hostile pickles (zip layout unless said) -------------------------------------------------------------------

def zp(body_pkl: bytes, storages=None, **kw) -> bytes:
    return torch_zip(body_pkl, {"0": F32x4} if storages is None else storages, **kw)


pl = payload("builtins", "eval", uni("__import__('os').system('touch " + MARKER + "')"))
err("global_builtins_eval.pt", zp(pl), "refused", "refusing to call builtins.eval in data.pkl",
    "the issue's example: builtins.eval on a string of Python", marker=True, pickle_bytes=pl)
pl = payload("os", "system", uni("touch " + MARKER))
err("global_os_system.pt", zp(pl), "refused", "refusing to call os.system in data.pkl", "os.system('touch …')", marker=True, pickle_bytes=pl)
pl = payload("posix", "system", uni("touch " + MARKER))
err("global_posix_system.pt", zp(pl), "refused", "refusing to call posix.system", "posix.system: how pickle itself spells os.system on Linux", marker=True, pickle_bytes=pl)
pl = payload("builtins", "exec", uni("open('" + MARKER + "', 'w').close()"))
err("global_builtins_exec.pt", zp(pl), "refused", "refusing to call builtins.exec", "builtins.exec of a statement", marker=True, pickle_bytes=pl)
pl = payload("builtins", "open", uni(MARKER), uni("w"))
err("global_builtins_open.pt", zp(pl), "refused", "refusing to call builtins.open", "builtins.open(path, 'w'): a payload that creates a file", marker=True, pickle_bytes=pl)
pl = payload("subprocess", "check_call", glob("builtins", "list") + tup(tup(uni("touch"), uni(MARKER))) + REDUCE)
err("global_subprocess.pt", zp(pl), "refused", "refusing to call subprocess.check_call", "subprocess.check_call(['touch', …])", marker=True, pickle_bytes=pl)
pl = pkl(uni("os") + uni("system") + b"\x93" + tup(uni("touch " + MARKER)) + REDUCE + b"0" + state_dict(("w", rebuild("0", [2, 2], [2, 1]))))
pl = b"\x80\x04" + pl[2:]
err("stack_global_os_system.pt", zp(pl), "refused", "refusing to call os.system", "os.system named through STACK_GLOBAL (protocol 4) instead of GLOBAL", marker=True, pickle_bytes=pl)
pl = pkl(MARK + uni("touch " + MARKER) + b"ios\nsystem\n" + b"0" + state_dict(("w", rebuild("0", [2, 2], [2, 1]))))
err("opcode_inst.pt", zp(pl), "refused", "INST", "INST: protocol 0's call-a-class-by-name opcode, calling os.system", marker=True, pickle_bytes=pl)
err("global_builtin_py2.pt", zp(payload("__builtin__", "eval", uni("1"))), "refused", "refusing to call __builtin__.eval", "Python 2's module name for builtins")
err("global_getattr.pt", zp(payload("builtins", "getattr", glob("collections", "OrderedDict"), uni("fromkeys"))), "refused",
    "refusing to call builtins.getattr", "getattr: the gadget that turns an allowed object into any of its attributes")
# __reduce__ gadgets behind allowed-looking names
err("gadget_storage_from_file.pt", zp(payload("torch", "FloatStorage.from_file", uni("/etc/passwd"), NEWFALSE, integer(4))),
    "refused", "refusing to call torch.FloatStorage.from_file", "a dotted name under an allowed class: FloatStorage.from_file maps any file")
err("gadget_load_from_bytes.pt", zp(payload("torch.storage", "_load_from_bytes", b"C\x00")), "refused",
    "refusing to call torch.storage._load_from_bytes", "torch.storage._load_from_bytes: a nested, unrestricted torch.load of embedded bytes")
err("gadget_torch_load.pt", zp(payload("torch.serialization", "load", uni("/tmp/x.pt"))), "refused",
    "refusing to call torch.serialization.load", "a re-entrant torch.load")
err("gadget_rebuild_from_type.pt", zp(payload("torch._tensor", "_rebuild_from_type_v2", NONE, NONE, EMPTY_TUPLE, NONE)),
    "refused", "refusing to call torch._tensor._rebuild_from_type_v2", "torch's own allowlist has it; it calls a function taken from the pickle")
err("gadget_rebuild_v1.pt", zp(payload("torch._utils", "_rebuild_tensor", NONE)), "refused", "refusing to call torch._utils._rebuild_tensor",
    "a near-miss of an allowed name")
err("gadget_trailing_space.pt", zp(payload("torch._utils", "_rebuild_tensor_v2 ", NONE)), "refused", "refusing to call torch._utils._rebuild_tensor_v2 ",
    "an allowed name with a trailing space")
err("gadget_numpy_reconstruct.pt", zp(payload("numpy.core.multiarray", "_reconstruct", NONE)), "refused",
    "refusing to call numpy.core.multiarray._reconstruct", "numpy's array rebuilder (other loaders allow it)")
err("gadget_call_storage_type.pt", zp(pkl(glob("torch", "FloatStorage") + tup(integer(2**20)) + REDUCE)), "refused",
    "refusing to call torch.FloatStorage", "an allowed storage type called as a function (it would allocate)")
err("gadget_newobj_storage.pt", zp(pkl(glob("torch", "FloatStorage") + EMPTY_TUPLE + NEWOBJ)), "refused",
    "refusing to instantiate torch.FloatStorage", "NEWOBJ on an allowed storage type")
err("gadget_call_dtype.pt", zp(pkl(glob("torch", "float32") + EMPTY_TUPLE + REDUCE)), "refused", "refusing to call torch.float32",
    "a dtype object called")
err("gadget_ordereddict_args.pt", zp(pkl(glob("collections", "OrderedDict") + tup(EMPTY_LIST + MARK + tup(uni("a"), integer(1)) + b"e") + REDUCE)),
    "refused", "refusing collections.OrderedDict with 1 arguments", "OrderedDict called with an argument: only the empty one is made")
err("gadget_build_tensor.pt", zp(pkl(state_dict(("w", rebuild("0", [2, 2], [2, 1]) + tup(integer(1)) + BUILD)))), "refused",
    "refusing to set the state of a tensor", "BUILD on a tensor (torch's legacy set_() path)")
ok("gadget_build_class.pt", zp(pkl(ODICT + EMPTY_DICT + uni("__class__") + glob("collections", "OrderedDict") + SETITEM + BUILD)),
   "BUILD with {'__class__': OrderedDict} on an OrderedDict: torch updates the instance __dict__ (no class change); WeightKit "
   "counts it as an ignored attribute. An empty state dict")
err("gadget_hooks.pt", zp(pkl(state_dict(("w", rebuild("0", [2, 2], [2, 1], hooks=ODICT + integer(0) + glob("torch", "Size") + SETITEM))))),
    "refused", "refusing backward hooks", "a backward hook dict holding an allowed callable")
err("gadget_tensor_metadata.pt", zp(pkl(state_dict(("w", rebuild("0", [2, 2], [2, 1], extra=EMPTY_DICT + uni("neg") + b"\x88" + SETITEM))))),
    "refused", "refusing tensor metadata", "_rebuild_tensor_v2's seventh argument setting the negative bit")
err("gadget_module_persid.pt", zp(pkl(tup(uni("module"), glob("torch.nn", "Linear"), uni("src"), uni("")) + BINPERSID)),
    "refused", "refusing to call torch.nn.Linear", "a whole-module persistent id ('module', class, source)")
err("gadget_module_persid_plain.pt", zp(pkl(tup(uni("module"), NONE, uni("src"), uni("")) + BINPERSID)),
    "refused", "refusing persistent id 'module'", "a 'module' persistent id without a class")
err("opcode_ext1.pt", zp(pkl(b"\x82\x01")), "refused", "EXT1", "EXT1: the copyreg extension registry")
err("opcode_pop.pt", zp(pkl(NONE + b"0" + GOOD_PKL[2:-1])), "refused", "POP", "POP, outside the opcodes a state dict needs")
err("opcode_unknown.pt", zp(pkl(b"\xff")), "pickle", "not a pickle opcode", "byte 0xFF is no opcode")
err("protocol_6.pt", zp(b"\x80\x06" + GOOD_PKL[2:]), "pickle", "pickle protocol 6", "a protocol number past 5")
# CVE-2025-32434 shapes
ts = zip_bytes([{"name": "model/data.pkl", "data": GOOD_PKL}, {"name": "model/constants.pkl", "data": pkl(EMPTY_TUPLE)},
                {"name": "model/code/__torch__.py", "data": b"def forward(self):\n    return torch.ops.aten.from_file('/etc/passwd')\n"},
                {"name": "model/data/0", "data": F32x4}, {"name": "model/version", "data": b"3\n"}])
err("torchscript_archive.pt", ts, "notPyTorch", "is a TorchScript archive",
    "CVE-2025-32434: a TorchScript archive, which torch.load <= 2.5.1 handed to torch.jit.load even with weights_only=True")
tbuf = io.BytesIO()
with tarfile.open(fileobj=tbuf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
    for member, data in [("sys_info", pkl(EMPTY_DICT)), ("pickle", GOOD_PKL), ("storages", pkl(integer(0))), ("tensors", pkl(integer(0)))]:
        ti = tarfile.TarInfo(member)
        ti.size, ti.mtime = len(data), 0
        tf.addfile(ti, io.BytesIO(data))
err("legacy_tar.pt", tbuf.getvalue(), "notPyTorch", "is a tar archive",
    "the oldest (tar) layout, read by torch's legacy_load outside the weights_only path before 2.6")
# numbers that do not fit
err("tensor_oob_view.pt", zp(pkl(state_dict(("w", rebuild("0", [10], [1]))))), "tensor", "out of bounds",
    "a tensor of 10 elements over a storage of 4")
err("tensor_oob_offset.pt", zp(pkl(state_dict(("w", rebuild("0", [2], [1], offset=3))))), "tensor", "out of bounds",
    "offset 3 + 2 elements over a storage of 4")
err("storage_entry_short.pt", zp(pkl(state_dict(("w", rebuild("0", [2, 2], [2, 1], numel=100))))), "tensor", "holds 16 bytes but data.pkl",
    "the persistent id claims 100 elements; the entry holds 4")
err("storage_entry_missing.pt", zp(pkl(state_dict(("w", rebuild("7", [2, 2], [2, 1])))), {"0": F32x4}), "zip", "no entry 'archive/data/7'",
    "a persistent id naming a storage the archive lacks")
err("storage_key_traversal.pt", zp(pkl(state_dict(("w", rebuild("../../etc/passwd", [2, 2], [2, 1]))))), "zip", "no entry",
    "a storage key with ../ segments (looked up among the checked entry names only)")
err("storage_type_mismatch.pt", zp(pkl(state_dict(("a", rebuild("0", [4], [1])), ("b", rebuild("0", [8], [1], typ="HalfStorage", numel=8))))),
    "tensor", "is named as FloatStorage of 4 elements and as HalfStorage of 8", "one storage named with two types")
err("size_negative.pt", zp(pkl(state_dict(("w", rebuild("0", [-1, 2], [2, 1]))))), "tensor", "negative dimension", "a size of -1")
err("stride_negative.pt", zp(pkl(state_dict(("w", rebuild("0", [2, 2], [-2, 1]))))), "tensor", "negative entry", "a stride of -2")
err("size_overflow.pt", zp(pkl(state_dict(("w", rebuild("0", [2**40, 2**40], [0, 0]))))), "tensor", "overflows",
    "sizes whose product overflows 64 bits")
err("stride_overflow.pt", zp(pkl(state_dict(("w", rebuild("0", [4], [2**62]))))), "tensor", "overflows", "a stride whose extent overflows")
err("size_bigint.pt", zp(pkl(state_dict(("w", rebuild("0", [2**70], [1]))))), "tensor", "wider than 64 bits", "a size of 2^70 (LONG1)")
err("expand_bomb.pt", zp(pkl(state_dict(("w", rebuild("0", [2**30, 4], [0, 1]))))), "limit", "bound for expanded views",
    "a stride-0 view of 2^32 elements over 16 bytes: 16 GiB if materialised")
buf = io.BytesIO()
torch.save({"c": torch.zeros(2, dtype=torch.complex64)}, buf)
err("complex64.pt", buf.getvalue(), "tensor", "does not read complex",
    "a complex64 tensor written by torch.save (ComplexFloatStorage): valid, not read")
UNTYPED = glob("torch.storage", "UntypedStorage")
def rebuild_v3(size, stride, dtype: bytes, offset=0, numel=16):
    pid = tup(uni("storage"), UNTYPED, uni("0"), uni("cpu"), integer(numel)) + BINPERSID
    return (glob("torch._utils", "_rebuild_tensor_v3")
            + tup(pid, integer(offset), tup(*map(integer, size)), tup(*map(integer, stride)), NEWFALSE, ODICT, dtype) + REDUCE)
err("v3_oob.pt", zp(pkl(state_dict(("w", rebuild_v3([5], [1], glob("torch", "float32")))))), "tensor", "out of bounds",
    "_rebuild_tensor_v3: five float32 elements over 16 untyped bytes")
err("v3_unread_dtype.pt", zp(pkl(state_dict(("w", rebuild_v3([4], [1], glob("torch", "float8_e4m3fnuz")))))), "tensor",
    "tensors of torch.float8_e4m3fnuz are valid torch.save but WeightKit does not read them", "_rebuild_tensor_v3 with a dtype not read")
err("v3_dtype_string.pt", zp(pkl(state_dict(("w", rebuild_v3([4], [1], uni("float32")))))), "pickle", "not a torch dtype",
    "_rebuild_tensor_v3 with a string where the dtype belongs")
err("rank_65.pt", zp(pkl(state_dict(("w", rebuild("0", [1] * 65, [1] * 65))))), "tensor", "rank 64", "65 dimensions")
err("size_not_tuple.pt", zp(pkl(state_dict(("w", glob("torch._utils", "_rebuild_tensor_v2")
                                              + tup(persid("0"), integer(0), uni("2,2"), tup(integer(2), integer(1)), NEWFALSE, ODICT) + REDUCE)))),
    "pickle", "_rebuild_tensor_v2 takes", "a string where the size tuple belongs")
# the machine's own bounds
err("memo_get_unset.pt", zp(pkl(b"h\x09")), "pickle", "memo index 9 was never set", "BINGET of an index never put")
err("memo_long_get_unset.pt", zp(pkl(NONE + b"q\x00" + b"j\xff\xff\xff\xff")), "pickle", "memo index 4294967295 was never set",
    "LONG_BINGET of 2^32-1")
err("deep_marks.pt", zp(pkl(MARK * 1000)), "limit", "nested MARKs", "1000 nested MARKs")
err("deep_tuples.pt", zp(pkl(NONE + b"\x85" * 5000)), "limit", "nests deeper than 200 levels",
    "5,000 tuples, each inside the next (TUPLE1 needs no MARK)")
err("deep_lists.pt", zp(pkl(EMPTY_LIST * 300 + APPEND * 299)),
    "limit", "nests deeper than 200 levels", "300 lists, each inside the next")
ok_as("cycle.pt", zp(pkl(EMPTY_LIST + b"q\x00" + b"h\x00" + APPEND)), [],
      "a list that contains itself: the second time the walk reaches it, it is listed as 'the same list as (root)'")
laughs = EMPTY_LIST + NONE + APPEND + b"q\x00"  # memo 0: [None]
for i in range(1, 64):
    laughs += EMPTY_LIST + b"h" + bytes([i - 1]) + APPEND + b"h" + bytes([i - 1]) + APPEND + b"q" + bytes([i])
ok_as("memo_laughs.pt", zp(pkl(laughs)), [],
      "a list holding the previous list twice, 63 levels (2^63 paths): each list is walked once, repeats are listed as references")
err("unicode_huge.pt", zp(pkl(b"X\xf0\xff\xff\xff" + b"abc")), "limit", "declares a length of 4294967280 bytes",
    "BINUNICODE declaring 4 GB in a 20-byte pickle")
err("unicode8_huge.pt", zp(pkl(b"\x8d" + struct.pack("<Q", 2**63 + 5) + b"abc")), "limit", "declares a length of 9223372036854775813",
    "BINUNICODE8 declaring 2^63 + 5 bytes")
err("bytes8_huge.pt", zp(pkl(b"\x8e" + struct.pack("<Q", 2**40))), "limit", "declares a length of 1099511627776", "BINBYTES8 declaring 1 TB")
err("frame_huge.pt", zp(b"\x80\x04\x95" + struct.pack("<Q", 2**50) + GOOD_PKL[2:]), "limit", "declares a length", "FRAME declaring 2^50 bytes")
err("unicode_bad_utf8.pt", zp(pkl(b"X\x02\x00\x00\x00\xc3\x28")), "pickle", "not valid UTF-8", "BINUNICODE holding invalid UTF-8")
err("global_too_long.pt", zp(pkl(b"c" + b"a" * 300 + b"\nb\n")), "limit", "longer than 256 bytes", "a 300-byte module name")
err("setitem_on_list.pt", zp(pkl(EMPTY_LIST + uni("k") + uni("v") + SETITEM)), "pickle", "SETITEM on a list, not a dict",
    "SETITEM on a list (CVE-2026-24747: torch's checks here corrupted memory before 2.10)")
err("setitems_on_tuple.pt", zp(pkl(EMPTY_TUPLE + MARK + uni("k") + uni("v") + SETITEMS)), "pickle", "SETITEMS on a tuple, not a dict",
    "SETITEMS on a tuple")
err("setitems_odd.pt", zp(pkl(EMPTY_DICT + MARK + uni("k") + SETITEMS)), "pickle", "an odd number of items", "SETITEMS with a key and no value")
err("append_on_dict.pt", zp(pkl(EMPTY_DICT + NONE + APPEND)), "pickle", "APPEND to a dict, not a list", "APPEND on a dict")
err("dict_key_list.pt", zp(pkl(EMPTY_DICT + EMPTY_LIST + NONE + SETITEM)), "pickle", "a list as a dict key", "an unhashable key")
err("stack_underflow.pt", zp(pkl(REDUCE)), "pickle", "stack underflow", "REDUCE on an empty stack")
err("underflow_past_mark.pt", zp(pkl(NONE + MARK + b"\x85")), "pickle", "stack underflow", "TUPLE1 reaching below a MARK")
err("no_stop.pt", zp(PROTO + state_dict(("w", rebuild("0", [2, 2], [2, 1])))), "pickle", "without a STOP", "data.pkl cut before STOP")
err("trailing_after_stop.pt", zp(GOOD_PKL + b"junk"), "pickle", "4 bytes follow the STOP", "bytes after STOP (a second pickle, a polyglot)")
err("duplicate_flat_names.pt", zp(pkl(state_dict(("a.b", rebuild("0", [4], [1])), ("a", EMPTY_DICT + uni("b") + rebuild("0", [4], [1]) + SETITEM)))),
    "pickle", "both named 'a.b'", "two entries that join to one dotted name")
err("key_control_chars.pt", zp(pkl(state_dict(("w\nx", rebuild("0", [4], [1]))))), "pickle", "control characters", "a key with a newline")
# the zip container
good = zp(GOOD_PKL)
err("zip_truncated.pt", good[: len(good) // 2], "zip", "no zip end-of-central-directory record", "the first half of a valid file")
err("zip_truncated_cd.pt", good[:-30], "zip", "no zip end-of-central-directory record", "the end record cut off")
err("zip_empty_archive.pt", zip_bytes([]), "notPyTorch", "not a torch.save file", "a zip with no entries (it starts with the end record)")
err("zip_no_data_pkl.pt", zip_bytes([{"name": "a/readme.txt", "data": b"hi"}]), "notPyTorch", "no '<archive>/data.pkl' entry", "a zip of something else")
err("zip_dotdot_name.pt", torch_zip(GOOD_PKL, {"0": F32x4}, extra=[{"name": "archive/../../evil.sh", "data": b"x"}]), "zip",
    "has a '.' or '..' segment", "an entry named archive/../../evil.sh")
err("zip_absolute_name.pt", torch_zip(GOOD_PKL, {"0": F32x4}, extra=[{"name": "/etc/cron.d/x", "data": b"x"}]), "zip",
    "is an absolute path", "an entry named /etc/cron.d/x")
err("zip_backslash_name.pt", torch_zip(GOOD_PKL, {"0": F32x4}, extra=[{"name": "archive\\..\\evil", "data": b"x"}]), "zip",
    "holds a NUL or backslash", "an entry named with backslashes")
err("zip_outside_archive.pt", torch_zip(GOOD_PKL, {"0": F32x4}, extra=[{"name": "other/x", "data": b"x"}]), "zip",
    "lies outside the archive folder", "an entry outside the archive's folder")
err("zip_duplicate_name.pt", torch_zip(GOOD_PKL, {"0": F32x4}, extra=[{"name": "archive/data/0", "data": F32x4}]), "zip",
    "appears twice", "two entries named archive/data/0")
err("zip_two_pickles.pt", torch_zip(GOOD_PKL, {"0": F32x4}, extra=[{"name": "other/data.pkl", "data": GOOD_PKL}]), "zip",
    "holds several pickles", "two folders each with a data.pkl")
err("zip_deflated_storage.pt", torch_zip(GOOD_PKL, {}, extra=[{"name": "archive/data/0", "data": F32x4, "method": 8}]), "compressed",
    "is deflate-compressed", "a storage entry compressed with deflate")
bomb = zlib.compress(b"\0" * (1 << 20), 9)[2:-4]
err("zip_bomb.pt", torch_zip(GOOD_PKL, {}, extra=[{"name": "archive/data/0", "data": bomb, "raw": True, "method": 8,
                                                   "usize": 0xFFFFFFF0}]), "compressed", "would expand to 4294967280",
    "a deflated entry claiming 4 GB uncompressed: refused before anything is inflated")
entries = [{"name": "archive/data.pkl", "data": GOOD_PKL}, {"name": "archive/data/0", "data": F32x4}]
entries += [{"name": f"archive/data/{i}", "offset": "archive/data/0", "data": F32x4} for i in range(1, 50)]
err("zip_bomb_overlap.pt", zip_bytes(entries), "zip", "names another entry",
    "50 central entries sharing one local header (the overlapping-file zip bomb)")
e2 = zip_bytes([{"name": "archive/data.pkl", "data": GOOD_PKL}, {"name": "archive/data/0", "data": F32x4 * 4}, {"name": "archive/version", "data": b"3\n"}])
# Make data/0's central size reach into the next entry's local header.
idx = [i for i in range(len(e2)) if e2[i:i + 4] == b"PK\x01\x02"][1]
e2 = bytearray(e2)
struct.pack_into("<II", e2, idx + 20, 80, 80)
err("zip_overlap.pt", bytes(e2), "zip", "overlap", "an entry whose size reaches into the next entry")
e3 = bytearray(good)
idx = [i for i in range(len(e3)) if e3[i:i + 4] == b"PK\x01\x02"][2]
struct.pack_into("<I", e3, idx + 42, 10**9)
err("zip_offset_outside.pt", bytes(e3), "zip", "local header offset 1000000000", "a local header offset past the end of the file")
e4 = bytearray(good)
struct.pack_into("<II", e4, idx + 20, 2**31, 2**31)
err("zip_size_outside.pt", bytes(e4), "zip", "run past the start of the central directory", "an entry size of 2 GB in a small file")
err("zip_count_huge.pt", zip_bytes([{"name": "archive/data.pkl", "data": GOOD_PKL}], eocd_count=65000), "zip",
    "claims 65000 entries", "an end record claiming 65,000 entries in a one-entry directory")
err("zip_cd_trailing.pt", zip_bytes([{"name": "archive/data.pkl", "data": GOOD_PKL}], cd_trailing=b"\0" * 10), "zip",
    "bytes after its 1 entries", "ten stray bytes in the central directory")
e5 = bytearray(zip_bytes([{"name": "archive/data.pkl", "data": GOOD_PKL}, {"name": "archive/data/0", "data": F32x4}], zip64=True))
rec = e5.rfind(b"PK\x06\x06")
struct.pack_into("<Q", e5, rec + 32, 3)
struct.pack_into("<Q", e5, rec + 24, 3)
err("zip64_disagree.pt", bytes(e5), "zip", "disagree", "the zip64 end record counts 3 entries, the classic one 2")
err("zip_encrypted.pt", torch_zip(GOOD_PKL, {}, extra=[{"name": "archive/data/0", "data": F32x4, "flags": 0x0801}]), "compressed",
    "is encrypted", "an entry with the encryption flag")
err("zip_crc_data_pkl.pt", zip_bytes([{"name": "archive/data.pkl", "data": GOOD_PKL, "crc": 1}, {"name": "archive/data/0", "data": F32x4}]),
    "zip", "fails its CRC-32 check", "data.pkl whose CRC-32 does not match")
err("zip_byteorder_bad.pt", torch_zip(GOOD_PKL, {"0": F32x4}, byteorder=b"middle"), "zip", "not 'little' or 'big'", "byteorder 'middle'")
err("zip_local_name_mismatch.pt", zip_bytes([{"name": "archive/data.pkl", "data": GOOD_PKL, "local_name": "archive/data.pkx"}]), "zip",
    "names another entry", "a local header naming a different entry than the central directory")
# the legacy layout
leg = legacy_bytes({"w": torch.ones(2, 2)})
err("legacy_truncated.pt", leg[:-5], "legacy", "truncated", "the last storage cut short")
err("legacy_truncated_pickle.pt", leg[:120], "pickle", "truncated", "cut inside the main pickle")
err("legacy_trailing.pt", leg + b"\0" * 7, "legacy", "7 bytes follow the last storage", "bytes after the last storage")
err("legacy_bad_magic.pt", b"\x80\x02\x8a\x0a" + b"\0" * 10 + leg[14:], "notPyTorch", "not torch's magic number", "a wrong magic number")
err("plain_pickle.pt", pkl(EMPTY_DICT), "notPyTorch", "not a torch.save file", "an ordinary pickle of a dict")
pl = PROTO + glob("os", "system") + tup(uni("touch " + MARKER)) + REDUCE + STOP
err("plain_pickle_payload.pt", pl, "refused", "refusing to call os.system in the first pickle",
    "a plain pickle whose first opcode calls os.system", marker=True, pickle_bytes=pl)
parts = io.BytesIO(leg)
for _ in range(3):  # magic number, protocol version, sys_info
    pickle.load(parts)
head = leg[:parts.tell()]
pl = PROTO + glob("os", "system") + tup(uni("touch " + MARKER)) + REDUCE + STOP
err("legacy_payload.pt", head + pl + pkl(EMPTY_LIST), "refused", "refusing to call os.system in the main pickle",
    "the legacy layout with os.system in its main pickle", marker=True, pickle_bytes=pl)
err("legacy_protocol_version.pt", leg[:15] + pkl(integer(1000)) + leg[21:], "legacy", "legacy protocol version is 1000, not 1001",
    "protocol version 1000")
err("empty.pt", b"", "notPyTorch", "an empty file", "zero bytes")

outcomes = torch_outcomes([v["file"] for v in vectors if v["expect"] == "error"])
for v in vectors:
    if v["expect"] == "error":
        v["torch_weights_only"] = outcomes[v["file"]]
with open(os.path.join(HERE, "vectors.json"), "w") as f:
    json.dump({"generator": "Formats/pytorch/make_vectors.py", "torch": torch.__version__, "vectors": vectors}, f, indent=1)
    f.write("\n")
print(f"{len(vectors)} vectors ({sum(v['expect'] == 'ok' for v in vectors)} ok, "
      f"{sum(v['expect'] == 'error' for v in vectors)} errors, {sum('payload_marker' in v for v in vectors)} live payloads)")
