"""Reference activations recorded with Hugging Face transformers, in the format `weightkit verify` reads
(Formats/reference-activations.md).

This is the one implementation: scripts/make-reference.py uses it for your model, Fixtures/generate.py for the
bundled fixtures.

    run_hf(model, ids)           -> {"input_ids", "logits", "hidden_states.{i}", "attentions.{i}"} as numpy
    reference_metadata(**extra)  -> __metadata__: producer and versions, plus what the caller adds
    compute_dtype(model)         -> "float32", "bfloat16" or "float16": the `dtype` metadata key, which picks
                                    verify's default tolerance (absent means float32)
    save_safetensors(t, path, m) -> a safetensors file whose bytes do not change from run to run
    model_fingerprint(model)     -> the architecture and shapes `weightkit verify` compares with the model

The model must be loaded with attn_implementation="eager" (the other attention kernels return no attention
probabilities) and in float32; run_hf puts it in eval mode and runs without gradients or a KV cache.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import safetensors
import safetensors.numpy
import torch
import transformers

# HF model_type -> WeightKit's architecture name (what `weightkit inspect` prints).
ARCHITECTURES = {"gpt2": "gpt2", "openai-gpt": "gpt1", "llama": "llama", "qwen2": "qwen2", "mistral": "mistral"}


def run_hf(model: torch.nn.Module, ids: list[int]) -> dict[str, np.ndarray]:
    """One forward pass over one sequence; every tensor the reference format names, as float32 (ids as int64)."""
    model.eval()
    with torch.no_grad():
        out = model(
            torch.tensor([ids], dtype=torch.long),
            output_hidden_states=True,
            output_attentions=True,
            use_cache=False,
        )
    ref = {"input_ids": np.array([ids], dtype=np.int64), "logits": out.logits.float().numpy().copy()}
    for i, h in enumerate(out.hidden_states):
        ref[f"hidden_states.{i}"] = h.float().numpy().copy()
    for i, a in enumerate(out.attentions):
        ref[f"attentions.{i}"] = a.float().numpy().copy()
    return ref


def reference_metadata(**extra: str) -> dict[str, str]:
    """producer, transformers_version and torch_version, plus `extra` (all values strings)."""
    md = {
        "producer": "transformers",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
    }
    md.update(extra)
    return md


def compute_dtype(model: torch.nn.Module) -> str:
    """The dtype the model computes in, as the reference's `dtype` metadata records it."""
    dt = next(model.parameters()).dtype
    return {torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16"}[dt]


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    return safetensors.numpy.load_file(str(path))


def save_safetensors(tensors: dict[str, np.ndarray], path: Path, metadata: dict[str, str]) -> None:
    """safetensors.numpy.save_file, then the header rewritten with __metadata__ keys sorted.

    The Rust writer keeps __metadata__ in a HashMap, so with more than one key their order (and so the file's
    bytes) changes from run to run. The rewritten header has the same length and the data is untouched."""
    blob = safetensors.numpy.save(tensors, metadata=metadata)
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8 : 8 + n], object_pairs_hook=dict)
    if "__metadata__" in header:
        header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":")).encode()
    assert len(text) <= n, (len(text), n)
    text += b" " * (n - len(text))
    Path(path).write_bytes(blob[:8] + text + blob[8 + n :])
    assert all(np.array_equal(v, tensors[k]) for k, v in load_safetensors(path).items())


def _number(x) -> str | None:
    """A float as `weightkit verify` prints it for the comparison ("%.6g"), or None."""
    return None if x is None else "%.6g" % float(x)


def model_fingerprint(model: torch.nn.Module) -> dict[str, str]:
    """__metadata__ keys that say which model a reference came from, so `weightkit verify` can warn when it is
    run against another one:

      architecture   WeightKit's name (gpt1, gpt2, llama, qwen2, mistral), else transformers' model_type
      model_type     transformers' model_type
      config         compact JSON, keys sorted: architecture, vocab_size, hidden_size, layers, heads, kv_heads,
                     head_dim, intermediate_size (integers), norm_eps and rope_theta ("%.6g" strings, or null)
      config_sha256  SHA-256 of that JSON text

    The fields are the ones every format keeps (a GGUF or a converted directory of the same model gives the same
    values), so the hash is comparable across formats, unlike a hash of config.json's bytes."""
    c = model.config
    mt = c.model_type
    vocab, hidden = (int(x) for x in model.get_input_embeddings().weight.shape)
    heads = int(c.num_attention_heads)
    kv = int(getattr(c, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(c, "head_dim", None) or hidden // heads)
    if mt == "gpt2":
        inter, eps = c.n_inner or 4 * hidden, c.layer_norm_epsilon
    elif mt == "openai-gpt":
        inter, eps = 4 * hidden, c.layer_norm_epsilon
    else:
        inter = getattr(c, "intermediate_size", None)
        eps = getattr(c, "rms_norm_eps", None) or getattr(c, "layer_norm_eps", None)
    theta = None
    if mt not in ("gpt2", "openai-gpt"):
        rp = getattr(c, "rope_parameters", None) or {}
        theta = rp.get("rope_theta") if isinstance(rp, dict) else None
        theta = theta if theta is not None else getattr(c, "rope_theta", None)
    fields = {
        "architecture": ARCHITECTURES.get(mt, mt),
        "vocab_size": vocab,
        "hidden_size": hidden,
        "layers": int(c.num_hidden_layers),
        "heads": heads,
        "kv_heads": kv,
        "head_dim": head_dim,
        "intermediate_size": None if inter is None else int(inter),
        "norm_eps": _number(eps),
        "rope_theta": _number(theta),
    }
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return {
        "architecture": fields["architecture"],
        "model_type": mt,
        "config": text,
        "config_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
