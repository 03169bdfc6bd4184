#!/usr/bin/env python3
"""Tokenizer speed: WeightKit (`wk-bench tokenize`) against the Python `tokenizers` package (Rust) and
`sentencepiece`, on the same 10 MB text and the same tokenizer files, in the same run.

    python3 Benchmarks/tokenizers/bench.py [--rounds 3] [--runs 3] [--work /tmp/wk-tokenizer-bench] [--no-build]

What it does:
  1. writes WORK/text.txt, 10,000,000 bytes or just under (cut at a line end), deterministically from local
     files: the Python standard library's .py sources (sorted, then shuffled with a fixed seed) with the strings
     of Fixtures/tokenizers/strings.jsonl (multilingual prose and edge cases) mixed in after each source file,
     so that about 15% of the bytes are those strings. Its SHA-256 is printed: the same Python install gives
     the same text.
  2. writes tokenizer files from llama.cpp's vocabulary GGUFs with gguf-py (tokens, merges, scores, types):
       gpt2/tokenizer.json     GPT-2 (50,257 tokens): BPE, ByteLevel pre-tokenizer (GPT-2 regex)
       llama3/tokenizer.json   Llama-3 (128,256 tokens, 280,147 merges): Split(Llama-3 regex) +
                               ByteLevel(use_regex=false), ignore_merges
       llama-spm/tokenizer.json  LLaMA's 32,000 SentencePiece pieces as a `tokenizers` BPE: Metaspace
                               (prepend_scheme first, split false: the whole text is one word), byte fallback,
                               fuse_unk; merges derived from the pieces (below)
       llama-spm/tokenizer.model  the same pieces as a SentencePiece BPE ModelProto (identity normalization,
                               byte fallback), for the `sentencepiece` package and WeightKit's own
                               SentencePiece encoder
     Both sides load the same file. WeightKit also loads the Llama-3 GGUF itself, for load time.
  3. runs ROUNDS alternating rounds (WeightKit, then Python); in each round each side loads the tokenizer RUNS
     times (timed) and encodes with a freshly loaded tokenizer RUNS times (timed), and reports the medians. The
     table keeps, per side, the best round's median. Single-threaded: TOKENIZERS_PARALLELISM=false and
     RAYON_NUM_THREADS=1 for Python; WeightKit's encoder is single-threaded.

Encoding is compared two ways:
  whole  the whole text in one `encode(text, add_special_tokens=False)` call (`tokenizers` builds an Encoding
         with ids, tokens, offsets and masks; WeightKit returns ids): the figure the target is about.
  lines  the text cut after each newline, encoded as one batch (`encode_batch` on one thread; WeightKit
         `encodeBatch`), for reference.
Ids are checked to be identical on both sides (a position-weighted 64-bit sum of the ids).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
VOCAB = ROOT.parent / "shared" / "peer-data" / "llama.cpp-vocab"  # beside the repository, as the tests read it
SIZE = 10_000_000
PROSE_SHARE = 0.15
MASK64 = (1 << 64) - 1
HASH_STEP = 0x9E3779B97F4A7C15


# ---------------------------------------------------------------------------------------------------------------
# the text
# ---------------------------------------------------------------------------------------------------------------

def make_text(path: Path, size: int = SIZE) -> str:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p.relative_to(stdlib).as_posix() for p in stdlib.rglob("*.py")
                   if "site-packages" not in p.parts and "dist-packages" not in p.parts)
    random.Random(20261203).shuffle(files)
    prose = []
    for line in (ROOT / "Fixtures/tokenizers/strings.jsonl").read_text(encoding="utf-8").splitlines():
        s = json.loads(line)
        try:
            b = s.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates
            continue
        if b.strip():
            prose.append(b + b"\n")
    out = bytearray()
    code_bytes = prose_bytes = 0
    k = 0
    for rel in files:
        try:
            data = (stdlib / rel).read_bytes()
            data.decode("utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        out += data
        if not data.endswith(b"\n"):
            out += b"\n"
        code_bytes += len(data)
        while prose_bytes < PROSE_SHARE / (1 - PROSE_SHARE) * code_bytes:
            out += prose[k % len(prose)]
            prose_bytes += len(prose[k % len(prose)])
            k += 1
        if len(out) >= size:
            break
    cut = out.rfind(b"\n", 0, size) + 1
    data = bytes(out[:cut])
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# tokenizer files from llama.cpp's vocabulary GGUFs
# ---------------------------------------------------------------------------------------------------------------

def gguf_vocab(path: Path) -> dict:
    import gguf
    r = gguf.GGUFReader(str(path))

    def strings(key):
        f = r.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    def values(key):
        f = r.fields.get(key)
        return None if f is None else [f.parts[i][0].item() for i in f.data]

    out = {"tokens": strings("tokenizer.ggml.tokens"), "types": values("tokenizer.ggml.token_type"),
           "scores": values("tokenizer.ggml.scores")}
    out["merges"] = strings("tokenizer.ggml.merges") if "tokenizer.ggml.merges" in r.fields else None
    return out


def added_tokens(tokens, types):
    # GGUF token types: 2 unknown, 3 control, 4 user-defined.
    return [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": ty != 4}
            for i, (t, ty) in enumerate(zip(tokens, types)) if ty in (2, 3, 4) and t]


def bpe_model(vocab, merges, **extra):
    m = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
         "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
         "vocab": vocab, "merges": merges}
    m.update(extra)
    return m


def vocab_object(tokens):
    vocab = {}
    for i, t in enumerate(tokens):
        if t in vocab:
            raise SystemExit(f"token {t!r} appears twice ({vocab[t]} and {i}); a tokenizer.json vocabulary cannot")
        vocab[t] = i
    return vocab


def write_json(path: Path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")


LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")


def write_byte_level(gguf_name: str, out: Path, llama3: bool):
    v = gguf_vocab(VOCAB / gguf_name)
    merges = [m.split(" ", 1) for m in v["merges"]]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": not llama3}
    if llama3:
        pre = {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
            byte_level]}
    else:
        pre = byte_level
    write_json(out, {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added_tokens(v["tokens"], v["types"]), "normalizer": None, "pre_tokenizer": pre,
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": bpe_model(vocab_object(v["tokens"]), merges, ignore_merges=llama3)})
    return len(v["tokens"]), len(merges)


def spm_merges(tokens, types, scores):
    """Merges for a `tokenizers` BPE from SentencePiece pieces: every split of a normal piece into two normal
    pieces, ranked by the merged piece's score (highest first), then by the ids of the two halves."""
    ids = {t: i for i, t in enumerate(tokens) if types[i] == 1}
    found = []
    for piece, i in ids.items():
        for k in range(1, len(piece)):
            a, b = piece[:k], piece[k:]
            if a in ids and b in ids:
                found.append((-scores[i], ids[a], ids[b], a, b))
    found.sort()
    return [[a, b] for _, _, _, a, b in found]


def write_spm(gguf_name: str, out_json: Path, out_model: Path):
    v = gguf_vocab(VOCAB / gguf_name)
    tokens, types, scores = v["tokens"], v["types"], v["scores"]
    merges = spm_merges(tokens, types, scores)
    unk = tokens[types.index(2)]
    write_json(out_json, {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added_tokens(tokens, types), "normalizer": None,
        "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": False},
        "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": bpe_model(vocab_object(tokens), merges, unk_token=unk, fuse_unk=True, byte_fallback=True)})

    from sentencepiece import sentencepiece_model_pb2 as pb
    m = pb.ModelProto()
    m.trainer_spec.model_type = pb.TrainerSpec.BPE
    m.trainer_spec.vocab_size = len(tokens)
    m.trainer_spec.byte_fallback = True
    m.trainer_spec.unk_id = types.index(2)
    m.trainer_spec.bos_id = tokens.index("<s>")
    m.trainer_spec.eos_id = tokens.index("</s>")
    m.trainer_spec.pad_id = -1
    m.normalizer_spec.name = "identity"
    m.normalizer_spec.add_dummy_prefix = True
    m.normalizer_spec.remove_extra_whitespaces = False
    m.normalizer_spec.escape_whitespaces = True
    kind = {1: pb.ModelProto.SentencePiece.NORMAL, 2: pb.ModelProto.SentencePiece.UNKNOWN,
            3: pb.ModelProto.SentencePiece.CONTROL, 4: pb.ModelProto.SentencePiece.USER_DEFINED,
            5: pb.ModelProto.SentencePiece.UNUSED, 6: pb.ModelProto.SentencePiece.BYTE}
    for t, ty, s in zip(tokens, types, scores):
        p = m.pieces.add()
        p.piece, p.score, p.type = t, s, kind[ty]
    out_model.write_bytes(m.SerializeToString())
    return len(tokens), len(merges)


# ---------------------------------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------------------------------

def ids_hash(ids) -> int:
    import numpy as np
    a = np.asarray(ids, dtype=np.uint64)
    w = (np.arange(1, len(a) + 1, dtype=np.uint64) * np.uint64(HASH_STEP))
    with np.errstate(over="ignore"):
        return int(np.sum(a * w, dtype=np.uint64)) & MASK64


def python_side(kind: str, path: str, text_path: str, runs: int, mode: str) -> dict:
    """Runs in a child process with one thread (the environment is set before tokenizers is imported)."""
    text = Path(text_path).read_bytes().decode("utf-8")  # not read_text: it would turn \r\n into \n
    parts = text.split("\n")  # cut after each \n only, as wk-bench does (splitlines also cuts at \r, \x1c, …)
    lines = [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    if kind == "sentencepiece":
        import sentencepiece as spm

        def load():
            return spm.SentencePieceProcessor(model_file=path)

        def encode(t):
            return t.encode(text) if mode == "whole" else [i for ids in t.encode(lines) for i in ids]
    else:
        from tokenizers import Tokenizer

        def load():
            return Tokenizer.from_file(path)

        def encode(t):
            if mode == "whole":
                return t.encode(text, add_special_tokens=False).ids
            return [i for e in t.encode_batch(lines, add_special_tokens=False) for i in e.ids]
    loads, loads_cpu, encodes, encodes_cpu, ids = [], [], [], [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        tok = load()
        loads.append(time.perf_counter() - t0)
        loads_cpu.append(time.process_time() - c0)
        if mode == "load":
            continue
        t0, c0 = time.perf_counter(), time.process_time()
        ids = encode(tok)
        encodes.append(time.perf_counter() - t0)
        encodes_cpu.append(time.process_time() - c0)
    out = {"load_s": statistics.median(loads), "load_cpu_s": statistics.median(loads_cpu)}
    if mode != "load":
        n = len(text.encode("utf-8"))
        out.update(encode_s=statistics.median(encodes), encode_cpu_s=statistics.median(encodes_cpu), bytes=n,
                   tokens=len(ids), ids_hash=ids_hash(ids), mb_per_s=n / 1e6 / statistics.median(encodes))
    return out


def run_python(kind, path, text, runs, mode):
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", RAYON_NUM_THREADS="1", OMP_NUM_THREADS="1")
    r = subprocess.run([sys.executable, __file__, "--python-side", kind, path, text, str(runs), mode],
                       env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"python side failed ({kind} {path}):\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def run_swift(wk, path, text, runs, mode, plain=False):
    args = [wk, "tokenize", path, "--text", text, "--runs", str(runs), "--json"]
    if mode == "lines":
        args.append("--lines")
    if mode == "load":
        args.append("--load-only")
    if plain:
        args.append("--plain")
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"wk-bench failed ({path}):\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--python-side":
        kind, path, text, runs, mode = sys.argv[2:7]
        print(json.dumps(python_side(kind, path, text, int(runs), mode)))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default="/tmp/wk-tokenizer-bench")
    ap.add_argument("--wk-bench", default=str(ROOT / ".build/release/wk-bench"))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated case names (gpt2, llama3, spm-json, spm-model, load)")
    ap.add_argument("--no-lines", action="store_true", help="skip the line-by-line batch variant")
    a = ap.parse_args()
    if not a.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "wk-bench"], cwd=ROOT, check=True,
                       stdout=sys.stderr)
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    text = work / "text.txt"
    digest = make_text(text)
    print(f"text: {text} ({text.stat().st_size:,} bytes, sha256 {digest[:16]}…)", file=sys.stderr)
    files = {
        "gpt2": work / "gpt2/tokenizer.json", "llama3": work / "llama3/tokenizer.json",
        "spm-json": work / "llama-spm/tokenizer.json", "spm-model": work / "llama-spm/tokenizer.model"}
    n, m = write_byte_level("ggml-vocab-gpt-2.gguf", files["gpt2"], llama3=False)
    print(f"gpt2: {n} tokens, {m} merges", file=sys.stderr)
    n, m = write_byte_level("ggml-vocab-llama-bpe.gguf", files["llama3"], llama3=True)
    print(f"llama3: {n} tokens, {m} merges", file=sys.stderr)
    n, m = write_spm("ggml-vocab-llama-spm.gguf", files["spm-json"], files["spm-model"])
    print(f"llama-spm: {n} pieces, {m} merges derived", file=sys.stderr)

    # (name, label, WeightKit's file, Python package, its file, WeightKit leaves special tokens as text)
    cases = [
        ("gpt2", "GPT-2 byte-level BPE (50,257)", files["gpt2"], "tokenizers", files["gpt2"], False),
        ("llama3", "Llama-3 BPE (128,256)", files["llama3"], "tokenizers", files["llama3"], False),
        ("spm-json", "LLaMA pieces as BPE + Metaspace + byte fallback (32,000)", files["spm-json"], "tokenizers",
         files["spm-json"], False),
        ("spm-model", "LLaMA SentencePiece tokenizer.model (32,000), vs sentencepiece", files["spm-model"],
         "sentencepiece", files["spm-model"], True),
    ]
    only = set(filter(None, a.only.split(",")))
    modes = ["whole"] + ([] if a.no_lines else ["lines"])
    results = []
    for name, label, wfile, pkind, pfile, plain in cases:
        if only and name not in only:
            continue
        for mode in modes:
            best_w = best_p = None
            for rnd in range(a.rounds):
                w = run_swift(a.wk_bench, str(wfile), str(text), a.runs, mode, plain)
                p = run_python(pkind, str(pfile), str(text), a.runs, mode)
                print(f"  {name} {mode} round {rnd + 1}: WeightKit {w['mb_per_s']:.2f} MB/s "
                      f"(CPU {w['bytes'] / 1e6 / w['encode_cpu_s']:.2f}), {pkind} {p['mb_per_s']:.2f} MB/s "
                      f"(CPU {p['bytes'] / 1e6 / p['encode_cpu_s']:.2f})", file=sys.stderr)
                # Per side, the round with the best median: background load only ever adds time.
                best_w = w if best_w is None or w["encode_s"] < best_w["encode_s"] else best_w
                best_p = p if best_p is None or p["encode_s"] < best_p["encode_s"] else best_p
            same = best_w["tokens"] == best_p["tokens"] and best_w["ids_hash"] == best_p["ids_hash"]
            results.append({"case": name, "label": label, "mode": mode, "weightkit": best_w, "python": best_p,
                            "python_package": pkind, "same_ids": same})

    # Load time of the 128k Llama-3 vocabulary: GGUF and tokenizer.json.
    loads = {}
    if not only or "load" in only:
        gguf_path = VOCAB / "ggml-vocab-llama-bpe.gguf"
        for rnd in range(a.rounds):
            for key, fn in (("weightkit gguf", lambda: run_swift(a.wk_bench, str(gguf_path), str(text), 9, "load")),
                            ("weightkit json", lambda: run_swift(a.wk_bench, str(files["llama3"]), str(text), 9, "load")),
                            ("tokenizers json", lambda: run_python("tokenizers", str(files["llama3"]), str(text), 9, "load"))):
                r = fn()
                if key not in loads or r["load_s"] < loads[key]["load_s"]:
                    loads[key] = r
            print(f"  load round {rnd + 1}: " + ", ".join(f"{k} {v['load_s'] * 1e3:.1f} ms" for k, v in loads.items()),
                  file=sys.stderr)

    def mbps(r, key):
        return r["bytes"] / 1e6 / r[key]

    print()
    print("| tokenizer | encode | WeightKit MB/s | Python MB/s | WeightKit ÷ Python | WeightKit MB/s (CPU) | "
          "Python MB/s (CPU) | ÷ (CPU) | tokens | same ids |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        w, p = r["weightkit"], r["python"]
        print(f"| {r['label']} | {r['mode']} | {mbps(w, 'encode_s'):.2f} | {mbps(p, 'encode_s'):.2f} | "
              f"{mbps(w, 'encode_s') / mbps(p, 'encode_s'):.1f}× | {mbps(w, 'encode_cpu_s'):.2f} | "
              f"{mbps(p, 'encode_cpu_s'):.2f} | {mbps(w, 'encode_cpu_s') / mbps(p, 'encode_cpu_s'):.1f}× | "
              f"{w['tokens']:,} | {'yes' if r['same_ids'] else 'NO'} |")
    if results:
        print()
        print("| tokenizer file | WeightKit load | Python load |")
        print("|---|---:|---:|")
        for r in results:
            if r["mode"] == "whole":
                w, p = r["weightkit"], r["python"]
                print(f"| {r['label']} | {w['load_s'] * 1e3:.1f} ms (CPU {w['load_cpu_s'] * 1e3:.1f}) | "
                      f"{p['load_s'] * 1e3:.1f} ms (CPU {p['load_cpu_s'] * 1e3:.1f}) |")
    if loads:
        print()
        print("| Llama-3 vocabulary (128,256 tokens, 280,147 merges), median of 9 loads, best round | wall | CPU |")
        print("|---|---:|---:|")
        for key, what in (("weightkit gguf", "WeightKit, `ggml-vocab-llama-bpe.gguf` (open, parse, tokenizer)"),
                          ("weightkit json", "WeightKit, tokenizer.json"),
                          ("tokenizers json", "tokenizers, `Tokenizer.from_file(tokenizer.json)`")):
            print(f"| {what} | {loads[key]['load_s'] * 1e3:.1f} ms | {loads[key]['load_cpu_s'] * 1e3:.1f} ms |")
    print()
    print(f"text: {text.stat().st_size:,} bytes, sha256 {digest}; Python {sys.version.split()[0]}, tokenizers "
          f"{package_version('tokenizers')}, sentencepiece {package_version('sentencepiece')}; rounds {a.rounds}, "
          f"runs {a.runs}; {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}")
    (work / "results.json").write_text(json.dumps({"results": results, "loads": loads, "sha256": digest}, indent=1))


def package_version(name):
    from importlib.metadata import version
    return version(name)


if __name__ == "__main__":
    main()
