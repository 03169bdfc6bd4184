#!/usr/bin/env python3
"""Copy a LLaMA GGUF and give it a placeholder tokenizer as long as its embedding, so llama.cpp loads it.

    python Benchmarks/llama/add_vocab.py IN.gguf OUT.gguf

The LLaMA benchmark checkpoint (Benchmarks/python/make_llama_bench.py) has random weights and no
tokenizer; llama.cpp refuses a model whose vocabulary is not the embedding's row count. llama-bench feeds
token ids, never text, so the token strings do not matter: a SentencePiece vocabulary (<unk>, <s>, </s>,
256 byte tokens, then "▁tokN"). Every other key and every tensor is copied unchanged. (The GPT-2 one gets
the repository's GPT-2 byte-level tokenizer instead, which has 50257 tokens.) Needs gguf-py.
"""

import sys

import gguf
import numpy as np


def main() -> None:
    src, dst = sys.argv[1], sys.argv[2]
    r = gguf.GGUFReader(src)
    arch = r.fields["general.architecture"].contents()
    if arch != "llama":
        sys.exit(f"{src}: {arch}, not llama")
    emb = next(t for t in r.tensors if t.name == "token_embd.weight")
    vocab = int(emb.shape[1])
    w = gguf.GGUFWriter(dst, arch)
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name.startswith("tokenizer.") or name == "general.architecture":
            continue
        vt = f.types[0]
        if vt == gguf.GGUFValueType.ARRAY:
            w.add_key_value(name, f.contents(), vt, sub_type=f.types[-1])
        else:
            w.add_key_value(name, f.contents(), vt)
    toks = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    toks += [f"\u2581tok{i}" for i in range(vocab - len(toks))]
    types += [1] * (vocab - len(types))
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(toks)
    w.add_token_scores([-float(i) for i in range(vocab)])
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    for t in r.tensors:
        data = np.asarray(t.data)
        w.add_tensor(t.name, data, raw_dtype=t.tensor_type)  # quantized data comes as [rows, bytes], as add_tensor wants
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
