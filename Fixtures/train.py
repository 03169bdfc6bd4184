#!/usr/bin/env python3
"""Train the two small models of Fixtures/gpt1-trained and Fixtures/gpt2-trained, here, on CPU, in a few minutes.

    pip install -r Fixtures/requirements.txt && python Fixtures/train.py

A GPT-1-style model (transformers' OpenAIGPTLMHeadModel: post-norm, no final norm) and a GPT-2-style model
(GPT2LMHeadModel: pre-norm, final ln_f) of the same size (width 64, 6 layers, 4 heads, MLP 256, 128 positions,
tied head) are trained on the same batches of the same text with the same optimiser, so that the place of the
LayerNorm is the difference between them. The text is Python 3.11.7's top-level standard-library sources (their
SHA-256 is checked, so a different Python stops the script instead of silently training on other text); a
byte-level BPE tokenizer of 1024 ids (GPT-2's construction, <|endoftext|> last) is trained on the same files.

Writes, for each model directory:
  config.json, model.safetensors      save_pretrained (float32)
  tokenizer.json, tokenizer_config.json, special_tokens_map.json   the shared tokenizer
  reference.safetensors               transformers' activations on PROMPT (input_ids, logits, hidden_states.*,
                                      attentions.*), eager attention, float32, one thread
  stream.safetensors                  the raw residual stream stream.0 … stream.L on PROMPT: HF's hidden states,
                                      except that GPT-2's last one is taken before ln_f (a forward pre-hook);
                                      for the depth-mixing tests
and Fixtures/trained.json: the settings, loss curves, validation losses, CPU seconds and the prompt's tokens.

Everything is seeded, single-threaded and deterministic (torch.use_deterministic_algorithms); the script checks
that from_pretrained on each written directory reproduces every recorded tensor bit for bit.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sys
import sysconfig
import time
from pathlib import Path

os.environ["TOKENIZERS_PARALLELISM"] = "false"  # before tokenizers is imported: one thread, fixed order

import numpy as np  # noqa: E402
import safetensors.numpy  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors, trainers  # noqa: E402
from transformers import GPT2Config, GPT2LMHeadModel, OpenAIGPTConfig, OpenAIGPTLMHeadModel  # noqa: E402

ROOT = Path(__file__).resolve().parent

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

# The model and training settings. Both models get exactly these.
VOCAB = 1024
WIDTH, LAYERS, HEADS, POSITIONS = 64, 6, 4, 128
CONTEXT, BATCH, STEPS, WARMUP = 128, 16, 500, 50
LR, LR_FINAL, WEIGHT_DECAY, CLIP = 1e-3, 1e-4, 0.05, 1.0
SEED = 1234
EOT = "<|endoftext|>"

# The sentence every reference is recorded on: a line as the standard library writes them (not taken from a file).
PROMPT = "    def __init__(self, name, value=None):\n        self.name = name\n        self.value = value\n"

# sha256 over (name, NUL, bytes, NUL) of every top-level .py file of CPython 3.11.7's standard library, sorted
STDLIB_SHA256 = "110b1c1c3a8284452cac64add7fef201708f4d6a8a4ef27f25bb8056542e277d"


def note(msg: str) -> None:
    print(msg, flush=True)


# ----------------------------------------------------------------------------------------------------------------
# text and tokenizer
# ----------------------------------------------------------------------------------------------------------------


def stdlib_sources() -> tuple[list[str], list[str]]:
    """(training texts, validation texts): every top-level .py file of the standard library, sorted by name;
    every 16th file (names 7, 23, 39, … in that order) is held out for validation."""
    root = Path(sysconfig.get_paths()["stdlib"])
    names = sorted(p.name for p in root.glob("*.py"))
    h = hashlib.sha256()
    texts = []
    for n in names:
        b = (root / n).read_bytes()
        h.update(n.encode() + b"\0" + b + b"\0")
        texts.append(b.decode("utf-8"))
    if h.hexdigest() != STDLIB_SHA256:
        raise SystemExit(f"the standard library under {root} is not CPython 3.11.7's (sha256 {h.hexdigest()}): the "
                         f"models would be trained on other text. Run this with Python 3.11.7.")
    train = [t for i, t in enumerate(texts) if i % 16 != 7]
    valid = [t for i, t in enumerate(texts) if i % 16 == 7]
    return train, valid


def build_tokenizer(texts: list[str]) -> Tokenizer:
    """Byte-level BPE built as GPT-2's: the 256 byte symbols, VOCAB - 257 merges, <|endoftext|> as the last id."""
    pre = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    t = Tokenizer(models.BPE())
    t.pre_tokenizer = pre
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - 1, min_frequency=2, show_progress=False, special_tokens=[],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    t.train_from_iterator(texts, trainer=trainer, length=len(texts))
    m = json.loads(t.to_str())["model"]
    vocab = dict(m["vocab"])
    merges = [tuple(x) if isinstance(x, list) else tuple(x.split(" ")) for x in m["merges"]]
    assert len(vocab) == VOCAB - 1 and sorted(vocab.values()) == list(range(VOCAB - 1))
    vocab[EOT] = VOCAB - 1
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, dropout=None, unk_token=None, continuing_subword_prefix="",
                               end_of_word_suffix="", fuse_unk=False, byte_fallback=False, ignore_merges=False))
    tok.normalizer = None
    tok.pre_tokenizer = pre
    tok.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True)
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tok.add_special_tokens([AddedToken(EOT, single_word=False, lstrip=False, rstrip=False, normalized=False,
                                       special=True)])
    assert tok.token_to_id(EOT) == VOCAB - 1 and tok.get_vocab_size() == VOCAB
    return tok


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_tokenizer(tok: Tokenizer, d: Path) -> None:
    obj = json.loads(tok.to_str())
    (d / "tokenizer.json").write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    back = Tokenizer.from_file(str(d / "tokenizer.json"))
    assert json.loads(back.to_str()) == obj
    added = {str(i): {"content": a.content, "lstrip": a.lstrip, "normalized": a.normalized, "rstrip": a.rstrip,
                      "single_word": a.single_word, "special": a.special}
             for i, a in sorted(tok.get_added_tokens_decoder().items())}
    write_json(d / "tokenizer_config.json", {
        "add_bos_token": False, "add_prefix_space": False, "added_tokens_decoder": added, "bos_token": EOT,
        "clean_up_tokenization_spaces": False, "eos_token": EOT, "model_max_length": POSITIONS,
        "pad_token": None, "tokenizer_class": "PreTrainedTokenizerFast", "unk_token": EOT,
    })
    write_json(d / "special_tokens_map.json", {"bos_token": EOT, "eos_token": EOT, "unk_token": EOT})


def token_stream(tok: Tokenizer, texts: list[str]) -> np.ndarray:
    ids: list[int] = []
    for enc in tok.encode_batch(texts, add_special_tokens=False):
        ids += enc.ids + [VOCAB - 1]
    return np.array(ids, dtype=np.int64)


# ----------------------------------------------------------------------------------------------------------------
# models and training
# ----------------------------------------------------------------------------------------------------------------


def make_model(kind: str) -> torch.nn.Module:
    torch.manual_seed(SEED)
    common = dict(vocab_size=VOCAB, n_positions=POSITIONS, n_embd=WIDTH, n_layer=LAYERS, n_head=HEADS,
                  resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=VOCAB - 1, eos_token_id=VOCAB - 1)
    if kind == "gpt1":
        return OpenAIGPTLMHeadModel(OpenAIGPTConfig(afn="gelu", **common))
    return GPT2LMHeadModel(GPT2Config(n_inner=4 * WIDTH, activation_function="gelu_new", **common))


def batches(stream: np.ndarray) -> list[np.ndarray]:
    """STEPS batches of BATCH random windows of CONTEXT tokens, drawn once and shared by both models."""
    g = np.random.default_rng(SEED)
    starts = g.integers(0, len(stream) - CONTEXT, size=(STEPS, BATCH))
    return [np.stack([stream[s:s + CONTEXT] for s in row]) for row in starts]


def validation_windows(stream: np.ndarray) -> np.ndarray:
    n = (len(stream) // CONTEXT)
    return stream[: n * CONTEXT].reshape(n, CONTEXT)


def learning_rate(step: int) -> float:
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    f = (step - WARMUP) / max(1, STEPS - WARMUP)
    return LR_FINAL + 0.5 * (LR - LR_FINAL) * (1 + math.cos(math.pi * f))


def mean_loss(model: torch.nn.Module, windows: np.ndarray) -> float:
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(windows), 32):
            x = torch.from_numpy(windows[i:i + 32])
            n = x.shape[0] * (x.shape[1] - 1)
            total += float(model(input_ids=x, labels=x).loss) * n
            count += n
    return total / count


def train(kind: str, data: list[np.ndarray], valid: np.ndarray) -> tuple[torch.nn.Module, dict]:
    model = make_model(kind)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": rest, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.95), eps=1e-8)
    curve = []
    cpu0 = time.process_time()
    model.train()
    for step, b in enumerate(data):
        for g in opt.param_groups:
            g["lr"] = learning_rate(step)
        x = torch.from_numpy(b)
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        if step % 20 == 0 or step == STEPS - 1:
            curve.append([step, round(float(loss.detach()), 4)])
            note(f"  {kind} step {step:4d}  loss {float(loss.detach()):.3f}  ({time.process_time() - cpu0:.0f} CPU s)")
    cpu = time.process_time() - cpu0
    v = mean_loss(model, valid)
    note(f"{kind}: {STEPS} steps in {cpu:.0f} CPU s; validation loss {v:.3f} nats/token")
    return model, {"train_loss": curve, "validation_loss": round(v, 4), "cpu_seconds": round(cpu, 1)}


# ----------------------------------------------------------------------------------------------------------------
# references
# ----------------------------------------------------------------------------------------------------------------


def run_hf(model: torch.nn.Module, ids: list[int]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The reference tensors and the raw residual stream on ids."""
    model.eval()
    captured = {}
    hook = None
    if isinstance(model, GPT2LMHeadModel):
        hook = model.transformer.ln_f.register_forward_pre_hook(lambda m, args: captured.__setitem__("pre_ln_f", args[0]))
    with torch.no_grad():
        out = model(torch.tensor([ids], dtype=torch.long), output_hidden_states=True, output_attentions=True,
                    use_cache=False)
    if hook is not None:
        hook.remove()
    ref = {"input_ids": np.array([ids], dtype=np.int64), "logits": out.logits.float().numpy().copy()}
    for i, h in enumerate(out.hidden_states):
        ref[f"hidden_states.{i}"] = h.float().numpy().copy()
    for i, a in enumerate(out.attentions):
        ref[f"attentions.{i}"] = a.float().numpy().copy()
    stream = {f"stream.{i}": ref[f"hidden_states.{i}"] for i in range(LAYERS + 1)}
    if "pre_ln_f" in captured:
        stream[f"stream.{LAYERS}"] = captured["pre_ln_f"].float().numpy().copy()
    return ref, stream


def save_safetensors(tensors: dict[str, np.ndarray], path: Path, metadata: dict[str, str]) -> None:
    """safetensors.numpy.save_file with the __metadata__ keys sorted in the header (the Rust writer's HashMap
    order changes from run to run; the rewritten header has the same length)."""
    blob = safetensors.numpy.save(tensors, metadata=metadata)
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    header["__metadata__"] = dict(sorted(header["__metadata__"].items()))
    text = json.dumps(header, separators=(",", ":")).encode()
    assert len(text) <= n
    path.write_bytes(blob[:8] + text + b" " * (n - len(text)) + blob[8 + n:])
    back = safetensors.numpy.load_file(str(path))
    assert set(back) == set(tensors) and all(np.array_equal(back[k], tensors[k]) for k in tensors)


def assert_same(a: dict[str, np.ndarray], b: dict[str, np.ndarray], what: str) -> None:
    if set(a) != set(b) or any(not np.array_equal(a[k], b[k]) for k in a):
        raise SystemExit(f"{what}: the reloaded model does not reproduce the recorded tensors bit for bit")


def write_model(kind: str, model: torch.nn.Module, tok: Tokenizer, ids: list[int]) -> dict:
    name = f"{kind}-trained"
    d = ROOT / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    model.save_pretrained(str(d), safe_serialization=True)
    (d / "generation_config.json").unlink(missing_ok=True)
    write_tokenizer(tok, d)
    # The references come from the saved directory, loaded with eager attention (training used the default
    # attention implementation, whose last bits differ), and a second load must reproduce them.
    cls = OpenAIGPTLMHeadModel if kind == "gpt1" else GPT2LMHeadModel
    ref, stream = run_hf(cls.from_pretrained(str(d), attn_implementation="eager", dtype=torch.float32), ids)
    meta = {"producer": "transformers", "transformers_version": transformers.__version__,
            "torch_version": torch.__version__, "fixture": name}
    save_safetensors(ref, d / "reference.safetensors", meta)
    save_safetensors(stream, d / "stream.safetensors", meta)
    again = cls.from_pretrained(str(d), attn_implementation="eager", dtype=torch.float32)
    ref2, stream2 = run_hf(again, ids)
    assert_same(ref, ref2, f"{name}: from_pretrained reload")
    assert_same(stream, stream2, f"{name}: from_pretrained reload (stream)")
    logits = ref["logits"][0]
    top1 = logits.argmax(-1)
    hits = int((top1[:-1] == np.array(ids[1:])).sum())
    note(f"{name}: top-1 on the prompt equals the next token at {hits} of {len(ids) - 1} positions")
    size = sum(f.stat().st_size for f in d.iterdir())
    return {"prompt_top1_hits": hits, "directory_bytes": size}


def main() -> None:
    if transformers.__version__ != "5.23.0" or not torch.__version__.startswith("2.15.0"):
        note(f"note: transformers {transformers.__version__}, torch {torch.__version__}; the fixtures were made with "
             f"5.23.0 and 2.15.0, and other versions may give other bits")
    train_texts, valid_texts = stdlib_sources()
    tok = build_tokenizer(train_texts)
    stream = token_stream(tok, train_texts)
    valid = validation_windows(token_stream(tok, valid_texts))
    ids = tok.encode(PROMPT, add_special_tokens=False).ids
    note(f"text: {len(train_texts)} training files ({len(stream):,} tokens), {len(valid_texts)} validation files "
         f"({valid.size:,} tokens in {len(valid)} windows); prompt: {len(ids)} tokens")
    data = batches(stream)
    summary = {
        "settings": {"vocab": VOCAB, "width": WIDTH, "layers": LAYERS, "heads": HEADS, "positions": POSITIONS,
                     "context": CONTEXT, "batch": BATCH, "steps": STEPS, "warmup": WARMUP, "lr": LR,
                     "lr_final": LR_FINAL, "weight_decay": WEIGHT_DECAY, "clip": CLIP, "seed": SEED,
                     "training_tokens": len(stream), "validation_tokens": int(valid.size),
                     "tokens_seen": STEPS * BATCH * CONTEXT},
        "prompt": PROMPT, "prompt_ids": ids, "prompt_pieces": [tok.decode([i]) for i in ids],
        "uniform_loss": round(math.log(VOCAB), 4),
    }
    for kind in ("gpt1", "gpt2"):
        model, info = train(kind, data, valid)
        info.update(write_model(kind, model, tok, ids))
        summary[f"{kind}-trained"] = info
    write_json(ROOT / "trained.json", summary)
    note("wrote " + ", ".join(f"Fixtures/{k}-trained ({summary[f'{k}-trained']['directory_bytes'] / 1e6:.2f} MB)"
                              for k in ("gpt1", "gpt2")) + " and Fixtures/trained.json")


if __name__ == "__main__":
    sys.exit(main())
