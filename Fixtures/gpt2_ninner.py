#!/usr/bin/env python3
"""gpt2-ninner: a GPT-2 whose MLP width (n_inner 48) is not 4·n_embd (128), and llama.cpp's own GGUF of it.

    python Fixtures/gpt2_ninner.py --llama-cpp-src LLAMA_SRC

llama.cpp's GPT-2 converter writes gpt2.feed_forward_length = 4·n_embd whatever n_inner says, so its GGUF's
metadata disagrees with its ffn_up/ffn_down tensors (and llama.cpp's loader refuses the file). WeightKit takes the
tensors' width and warns. The HF directory is written with transformers (pinned versions, Fixtures/requirements.txt;
every parameter random; reference activations from transformers, checked by a from_pretrained reload), with the
gpt2-bpe tokenizer from Fixtures/tokenizers so that the converter accepts it. llamacpp.gguf is the output of
LLAMA_SRC/convert_hf_to_gguf.py --outtype f32, run through scripts/e2e-generate.py's wrapper (the converter does
not know this tokenizer's pre-tokenizer hash; it is labelled gpt-2, the regex it was trained with). The script
checks the two facts the tests rely on: the key says 128 and the tensors have width 48.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate as G  # noqa: E402
from transformers import GPT2LMHeadModel  # noqa: E402

CFG = dict(n_embd=32, n_layer=2, n_head=4, n_inner=48, vocab_size=512, n_positions=64, activation_function="gelu_new",
           bos_token_id=511, eos_token_id=511)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-cpp-src", type=Path, required=True)
    args = ap.parse_args()
    name = "gpt2-ninner"
    d = G.fresh_dir(name)
    model = G.build_gpt2(CFG, 6001)
    G.save_hf(model, d)
    G.copy_tokenizer("gpt2-bpe", d, ["tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json",
                                     "special_tokens_map.json"])
    ref = G.run_hf(model, G.token_ids(CFG["vocab_size"]))
    G.save_reference(d / "reference.safetensors", ref, name)
    G.reload_check(GPT2LMHeadModel, d, ref, name)
    G.stats(name, ref)

    spec = importlib.util.spec_from_file_location("e2e", G.ROOT.parent / "scripts" / "e2e-generate.py")
    e2e = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(e2e)
    work = G.ROOT / ".scratch-ninner"
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(d, work)
    cfg = json.loads((work / "config.json").read_text())
    cfg["n_ctx"] = cfg["n_positions"]  # the GPT-2 converter reads n_ctx, which transformers no longer writes
    (work / "config.json").write_text(json.dumps(cfg))
    wrapper = work / "wrapper.py"
    wrapper.write_text(e2e.CONVERTER_WRAPPER)
    out = d / "llamacpp.gguf"
    try:
        subprocess.run([sys.executable, str(wrapper), str(args.llama_cpp_src), "gpt-2", str(work), "--outfile", str(out),
                        "--outtype", "f32"], check=True, capture_output=True)
    finally:
        shutil.rmtree(work)
    meta, W, _ = G.read_gguf(out)
    assert int(meta["gpt2.feed_forward_length"]) == 4 * CFG["n_embd"], meta["gpt2.feed_forward_length"]
    assert W["blk.0.ffn_up.weight"].shape == (CFG["n_inner"], CFG["n_embd"]), W["blk.0.ffn_up.weight"].shape
    G.note(f"{name}/llamacpp.gguf: gpt2.feed_forward_length = {meta['gpt2.feed_forward_length']}, "
           f"ffn_up {W['blk.0.ffn_up.weight'].shape}")
    G.print_summary()


if __name__ == "__main__":
    main()
