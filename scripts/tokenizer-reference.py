#!/usr/bin/env python3
"""Expected tokenizer outputs for WeightKit's tokenizer tests, from the reference libraries.

    python scripts/tokenizer-reference.py TOKENIZER STRINGS.jsonl > expected.jsonl

TOKENIZER is one of
  * a tokenizer.json (any file ending in .json): tokenizers.Tokenizer.from_file;
  * a directory holding vocab.json + merges.txt: a GPT-2 byte-level BPE built from them with tokenizers
    (ByteLevel pre-tokenizer without prefix space, GPT-2's regex, ByteLevel decoder), with <|endoftext|> as a special
    token when the vocabulary has it, as transformers' GPT2Tokenizer treats it;
  * a tokenizer.model (any file ending in .model): sentencepiece.SentencePieceProcessor.

STRINGS.jsonl holds one JSON string per line. For each, one JSON object is printed on its own line (ASCII, \\u
escapes), in input order:
  {"ids": [...], "ids_plain": [...], "decoded": "..."}
  ids        encode(text) with add_special_tokens=True (sentencepiece: encode(text, add_bos=True) when the model
             has a BOS piece, otherwise plain encode);
  ids_plain  encode(text) with add_special_tokens=False (sentencepiece: plain encode(text));
  decoded    decode(ids_plain) with skip_special_tokens=False (sentencepiece: decode(ids_plain)).

Needs only the `tokenizers` and `sentencepiece` packages (versions pinned in Fixtures/tokenizers/requirements.txt).
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def load_strings(path: str) -> list[str]:
    out = []
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    for n, line in enumerate(text.split("\n"), 1):
        if line == "":
            continue
        s = json.loads(line)
        if not isinstance(s, str):
            raise SystemExit(f"{path}:{n}: not a JSON string")
        out.append(s)
    return out


def hf_tokenizer(path: str):
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

    if os.path.isdir(path):
        vocab, merges = os.path.join(path, "vocab.json"), os.path.join(path, "merges.txt")
        for p in (vocab, merges):
            if not os.path.isfile(p):
                raise SystemExit(f"{path}: a directory must hold vocab.json and merges.txt ({p} is missing)")
        tok = Tokenizer(models.BPE.from_file(vocab, merges))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
        if tok.token_to_id("<|endoftext|>") is not None:
            tok.add_special_tokens([AddedToken("<|endoftext|>", normalized=False, special=True)])
        return tok
    return Tokenizer.from_file(path)


def run_hf(path: str, strings: list[str]):
    tok = hf_tokenizer(path)
    with_special = tok.encode_batch(strings, add_special_tokens=True)
    plain = tok.encode_batch(strings, add_special_tokens=False)
    for e, p in zip(with_special, plain):
        yield e.ids, p.ids, tok.decode(p.ids, skip_special_tokens=False)


def run_spm(path: str, strings: list[str]):
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=path)
    add_bos = sp.bos_id() >= 0
    for s in strings:
        plain = sp.encode(s)
        yield ([sp.bos_id()] + plain if add_bos else plain), plain, sp.decode(plain)


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    path, strings_path = argv[1], argv[2]
    if not os.path.exists(path):
        print(f"{path}: no such file or directory", file=sys.stderr)
        return 2
    strings = load_strings(strings_path)
    rows = run_spm(path, strings) if path.endswith(".model") else run_hf(path, strings)
    out = sys.stdout
    for ids, plain, decoded in rows:
        out.write(json.dumps({"ids": ids, "ids_plain": plain, "decoded": decoded}, ensure_ascii=True) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
