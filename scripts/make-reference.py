#!/usr/bin/env python3
"""Record reference activations of a Hugging Face model for `weightkit verify`.

    pip install -r scripts/requirements-reference.txt
    python3 scripts/make-reference.py MODEL_DIR (--tokens 1,2,3 | --prompt TEXT) -o REF.safetensors

MODEL_DIR is a directory transformers loads with AutoModelForCausalLM (config.json and the weights; with
--prompt also its tokenizer files). The model runs once, in float32 with eager attention, on CPU, and REF gets
input_ids, logits, every hidden state and every attention matrix, in the format of
Formats/reference-activations.md. Its __metadata__ records the transformers and torch versions and the
model's architecture and shapes with their hash (config, config_sha256), which `weightkit verify` compares with
the model it runs, and `dtype` = float32, the dtype it was computed in (verify's default tolerance follows it).

The recording code is scripts/hf_reference.py, the same that makes the fixtures' references
(Fixtures/generate.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def fail(message: str) -> None:
    """Bad input: one line on stderr and exit status 2, as weightkit does; nothing is written."""
    print(f"make-reference.py: {message}", file=sys.stderr)
    sys.exit(2)


def parse_tokens(text: str) -> list[int]:
    try:
        ids = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError("--tokens takes comma-separated integers, e.g. --tokens 1,2,3") from None
    if not ids or any(i < 0 for i in ids):
        raise argparse.ArgumentTypeError("--tokens takes non-negative token ids")
    return ids


def main() -> None:
    ap = argparse.ArgumentParser(
        prog="make-reference.py",
        description="Record reference activations of a Hugging Face model for `weightkit verify`.")
    ap.add_argument("model", metavar="MODEL_DIR", help="a directory transformers loads (config.json + weights)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--tokens", type=parse_tokens, help="comma-separated token ids")
    src.add_argument("--prompt", help="text, encoded with the model's own tokenizer (special tokens added)")
    ap.add_argument("-o", "--output", required=True, metavar="REF", help="the .safetensors file to write")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args()

    if not Path(args.model, "config.json").is_file():
        fail(f"{args.model}: no config.json (a Hugging Face model directory is needed)")
    if not args.output.endswith(".safetensors"):
        fail(f"{args.output}: the reference is a .safetensors file")

    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    from hf_reference import compute_dtype, model_fingerprint, reference_metadata, run_hf, save_safetensors

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = AutoModelForCausalLM.from_pretrained(args.model, attn_implementation="eager", dtype=torch.float32)
    vocab = model.get_input_embeddings().weight.shape[0]
    extra = {"model": Path(args.model).resolve().name}
    if args.prompt is not None:
        from transformers import AutoTokenizer

        ids = AutoTokenizer.from_pretrained(args.model)(args.prompt)["input_ids"]
        extra["prompt"] = args.prompt
    else:
        ids = args.tokens
    if not ids:
        fail("the prompt encodes to no tokens")
    if max(ids) >= vocab:
        fail(f"token id {max(ids)} is outside the embedding ({vocab} rows)")
    limit = getattr(model.config, "max_position_embeddings", None) or getattr(model.config, "n_positions", None)
    if limit and len(ids) > limit:
        fail(f"{len(ids)} tokens, but the model has {limit} positions")

    ref = run_hf(model, ids)
    metadata = reference_metadata(**model_fingerprint(model), dtype=compute_dtype(model), **extra)
    out = Path(args.output)
    tmp = out.with_name(f".{out.name}.tmp")
    save_safetensors(ref, tmp, metadata)
    tmp.replace(out)
    layers = len([k for k in ref if k.startswith("attentions.")])
    print(f"wrote {out}: {len(ids)} tokens, {layers} layers, logits {list(ref['logits'].shape)} "
          f"({metadata['architecture']}, transformers {transformers.__version__}, torch {torch.__version__})")


if __name__ == "__main__":
    main()
