#!/usr/bin/env python3
"""End-to-end greedy generation: transformers, WeightKit and llama.cpp must produce the same 16 token ids.

Run by hand (not part of scripts/test): it needs torch + transformers, a built `weightkit`, and a llama.cpp
build and source tree that the caller provides. This repository contains no llama.cpp code and no recipe to
build it.

    python scripts/e2e-generate.py --llama-cpp LLAMA_BUILD/bin --llama-cpp-src LLAMA_SRC \\
        [--weightkit .build/release/weightkit] [MODEL_DIR ...]

MODEL_DIR defaults to Fixtures/gpt2-text, Fixtures/llama-spm and Fixtures/llama3-text: Hugging Face model
directories with a tokenizer and a generation.json that records the prompt text, its ids and transformers'
greedy ids. For every prompt it compares, against transformers run here and now:

  transformers generate             AutoModelForCausalLM.generate(do_sample=False, max_new_tokens=16); also
                                    checked against the ids recorded in generation.json
  weightkit generate DIR            `weightkit generate DIR --prompt TEXT -n 16 --json`
  weightkit convert f32|f16 → weightkit generate
                                    `weightkit convert DIR out.gguf --dtype f32|f16`, then generate from it
  weightkit convert f32|f16 → llama.cpp
                                    the same GGUFs through llama-greedy (scripts/llama-greedy.c, compiled here
                                    against the given build: libllama's public API, CPU, argmax, no EOG stop)
  llama.cpp convert → llama.cpp     llama.cpp's convert_hf_to_gguf.py (--outtype f32), then llama-greedy
  llama.cpp convert → weightkit generate
  llama.cpp convert → weightkit convert → HF dir → transformers
                                    `weightkit convert that.gguf hf-dir/` and transformers' generate from it
                                    (for llama3 RoPE scaling the factors are passed with --set from DIR's
                                    config.json: llama.cpp's GGUF keeps only the rope_freqs tensor; when the
                                    HF dir has no tokenizer, generation starts from DIR's prompt ids)

and prints a markdown table (model, path, prompt ids equal?, 16 ids equal?, note). Exit status: 0 when every
row matches, 1 on any mismatch or failed step, 2 on bad arguments.

Two things stop llama.cpp's converter on our fixtures, and the script works around both without touching
the llama.cpp tree:

* The converter identifies a BPE pre-tokenizer by hashing the ids its tokenizer gives for a fixed text and
  looking the hash up in a list of known models. Any newly trained vocabulary has a new hash, even when its
  pre-tokenizer is exactly GPT-2's or Llama-3's, and the converter raises NotImplementedError ("BPE
  pre-tokenizer was not recognized"). The converter is therefore run through a small wrapper written to the
  work directory, which imports it from --llama-cpp-src, replaces get_vocab_base_pre by a version that falls
  back to a label when the hash is unknown, and then runs convert_hf_to_gguf.py as __main__. The label is
  `gpt-2` for a GPT-2 byte-level tokenizer (ByteLevel pre-tokenizer with its own regex) and `llama-bpe` for
  the Llama-3 style one (Split on the Llama-3 pattern + ByteLevel without regex); --pre-label overrides it.
  Those labels select exactly the pre-tokenizer regexes these tokenizers were trained with.
* Its GPT-2 class reads the context length from config.json's `n_ctx`, which current transformers no longer
  writes (it writes `n_positions`); without it the converter stops with KeyError. The converter is therefore
  given a temporary copy of the model directory whose config.json has `n_ctx` = `n_positions` added.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_MODELS = ["Fixtures/gpt2-text", "Fixtures/llama-spm", "Fixtures/llama3-text"]
GROUPS = ("hf", "wk", "wk-gguf", "llama", "reverse")

# Runs llama.cpp's converter with get_vocab_base_pre falling back to a label for an unknown hash (see the
# module docstring). argv: SRC LABEL converter-arguments...
CONVERTER_WRAPPER = '''\
import runpy
import sys

src, label = sys.argv[1], sys.argv[2]
sys.path.insert(0, src + "/gguf-py")
sys.path.insert(0, src)
import conversion.base as base

original = base.TextModel.get_vocab_base_pre


def get_vocab_base_pre(self, tokenizer):
    try:
        return original(self, tokenizer)
    except NotImplementedError:
        print(f"e2e-generate: pre-tokenizer hash not known to this converter; labelling it {label!r}",
              file=sys.stderr)
        return label


base.TextModel.get_vocab_base_pre = get_vocab_base_pre
sys.argv = [src + "/convert_hf_to_gguf.py"] + sys.argv[3:]
runpy.run_path(sys.argv[0], run_name="__main__")
'''


class StepError(Exception):
    pass


def run(cmd: list[str], what: str, timeout: float = 1800) -> str:
    try:
        p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError as e:
        raise StepError(f"{what}: {e}") from None
    except subprocess.TimeoutExpired:
        raise StepError(f"{what}: timed out after {timeout:.0f} s") from None
    if p.returncode != 0:
        tail = (p.stderr.strip() or p.stdout.strip()).splitlines()[-3:]
        raise StepError(f"{what} exited {p.returncode}: " + " | ".join(tail))
    return p.stdout


def last_json(stdout: str, what: str) -> dict:
    """The output as one JSON document (weightkit prints it indented), else its last JSON line."""
    try:
        whole = json.loads(stdout)
        if isinstance(whole, dict):
            return whole
    except json.JSONDecodeError:
        pass
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    raise StepError(f"{what}: no JSON line in its output")


def ids_of(obj: dict, key: str, what: str) -> list[int]:
    v = obj.get(key)
    if not isinstance(v, list) or not all(isinstance(x, int) for x in v):
        raise StepError(f"{what}: JSON has no integer list {key!r}")
    return v


# ----------------------------------------------------------------------------------------------------------------
# inputs
# ----------------------------------------------------------------------------------------------------------------

def load_cases(model_dir: Path, prompt: str | None) -> list[dict]:
    """Prompts of a model: generation.json (an object or a list of them, or {"cases": [...]}) or --prompt."""
    if prompt is not None:
        return [{"prompt": prompt}]
    path = model_dir / "generation.json"
    if not path.is_file():
        raise StepError(f"{path} is missing (or pass --prompt)")
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and isinstance(data.get("cases"), list):
        data = data["cases"]
    if isinstance(data, dict):
        data = [data]
    cases = []
    for entry in data:
        text = next((entry[k] for k in ("prompt", "prompt_text", "text") if isinstance(entry.get(k), str)), None)
        if text is None:
            raise StepError(f"{path}: an entry has no prompt text")
        case = {"prompt": text}
        for key in ("prompt_ids", "input_ids"):
            if isinstance(entry.get(key), list):
                case["recorded_prompt_ids"] = entry[key]
                break
        for key in ("ids", "greedy_ids", "generated_ids", "new_ids", "output_ids"):
            if isinstance(entry.get(key), list):
                ids = entry[key]
                rp = case.get("recorded_prompt_ids")
                if rp and len(ids) > len(rp) and ids[:len(rp)] == rp:
                    ids = ids[len(rp):]  # recorded as prompt + continuation
                case["recorded_ids"] = ids
                break
        cases.append(case)
    return cases


def pre_label(model_dir: Path) -> str:
    """llama.cpp's name for the pre-tokenizer of a model directory's tokenizer.json."""
    cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    tj = model_dir / "tokenizer.json"
    if tj.is_file():
        pre = json.loads(tj.read_text(encoding="utf-8")).get("pre_tokenizer") or {}
        parts = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
        types = [p.get("type") for p in parts]
        if types == ["ByteLevel"] and parts[0].get("use_regex", True):
            return "gpt-2"
        if "Split" in types and "ByteLevel" in types:
            split = parts[types.index("Split")].get("pattern", {})
            if "\\p{N}{1,3}" in (split.get("Regex") or ""):
                return "llama-bpe"
    return {"gpt2": "gpt-2", "llama": "llama-bpe"}.get(cfg.get("model_type"), "gpt-2")


def llama3_rope_sets(model_dir: Path) -> list[str]:
    """--set values for llama3 RoPE scaling, taken from DIR's config.json.

    llama.cpp's converter stores llama3 scaling only as the precomputed rope_freqs tensor, so a GGUF it wrote
    does not say which factors produced it; converting that GGUF back to a Hugging Face directory needs them."""
    cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    rope = cfg.get("rope_parameters") or cfg.get("rope_scaling") or {}
    if rope.get("rope_type", rope.get("type")) != "llama3":
        return []
    keys = {"factor": "factor", "low_freq_factor": "low_freq_factor", "high_freq_factor": "high_freq_factor",
            "original_context_length": "original_max_position_embeddings"}
    return [f"llama.rope.llama3.{k}={rope[v]}" for k, v in keys.items() if v in rope]


# ----------------------------------------------------------------------------------------------------------------
# the engines
# ----------------------------------------------------------------------------------------------------------------

class Transformers:
    def __init__(self) -> None:
        import torch
        import transformers
        torch.manual_seed(0)
        self.torch = torch
        self.tf = transformers

    def tokenize(self, model_dir: Path, text: str) -> list[int]:
        tok = self.tf.AutoTokenizer.from_pretrained(str(model_dir))
        return list(tok(text)["input_ids"])

    def has_tokenizer(self, model_dir: Path) -> bool:
        return any((model_dir / f).is_file() for f in ("tokenizer.json", "tokenizer.model", "vocab.json"))

    def generate(self, model_dir: Path, prompt_ids: list[int], n: int) -> list[int]:
        torch = self.torch
        model = self.tf.AutoModelForCausalLM.from_pretrained(
            str(model_dir), dtype=torch.float32, attn_implementation="eager")
        model.eval()
        gc = model.generation_config
        # Greedy for exactly n tokens: no end-of-sequence stop (llama-greedy and weightkit do not stop either).
        gc.eos_token_id = None
        if gc.pad_token_id is None:
            gc.pad_token_id = 0
        x = torch.tensor([prompt_ids], dtype=torch.long)
        with torch.no_grad():
            out = model.generate(x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=n,
                                 num_beams=1)
        ids = out[0, len(prompt_ids):].tolist()
        if len(ids) != n:
            raise StepError(f"transformers generate returned {len(ids)} tokens, not {n}")
        return ids


class LlamaCpp:
    def __init__(self, bin_dir: Path, src_dir: Path, work: Path) -> None:
        self.bin_dir, self.src_dir, self.work = bin_dir, src_dir, work
        self._greedy: Path | None = None

    def greedy_binary(self) -> Path:
        if self._greedy is None:
            candidates = [self.bin_dir, self.bin_dir.parent / "src", self.bin_dir.parent / "lib",
                          self.bin_dir.parent / "ggml" / "src"]
            lib_dirs = []
            for d in candidates:
                if any((d / f"lib{n}.so").exists() for n in ("llama", "ggml", "ggml-base")):
                    lib_dirs.append(d.resolve())
            if not any((d / "libllama.so").exists() for d in lib_dirs):
                raise StepError(f"no libllama.so in {self.bin_dir} (or ../src, ../lib): is it a shared build?")
            out = self.work / "llama-greedy"
            cc = os.environ.get("CC", "cc")
            cmd = [cc, "-O2", "-std=c11", str(REPO / "scripts" / "llama-greedy.c"),
                   "-I", str(self.src_dir / "include"), "-I", str(self.src_dir / "ggml" / "include")]
            for d in lib_dirs:
                cmd += ["-L", str(d), f"-Wl,-rpath,{d}"]
            cmd += ["-lllama", "-lggml", "-lggml-base", "-o", str(out)]
            run(cmd, "compiling scripts/llama-greedy.c")
            self._greedy = out
        return self._greedy

    def generate(self, gguf: Path, prompt: str, n: int) -> tuple[list[int], list[int]]:
        obj = last_json(run([self.greedy_binary(), gguf, prompt, str(n)], "llama-greedy"), "llama-greedy")
        return ids_of(obj, "prompt_ids", "llama-greedy"), ids_of(obj, "ids", "llama-greedy")

    def convert(self, model_dir: Path, out: Path, label: str) -> None:
        if not (self.src_dir / "convert_hf_to_gguf.py").is_file():
            raise StepError(f"no convert_hf_to_gguf.py in {self.src_dir}")
        # a temporary copy of the model directory, with n_ctx for the GPT-2 converter
        copy = self.work / f"{model_dir.name}-for-llama-convert"
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(model_dir, copy)
        cfg_path = copy / "config.json"
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        if cfg.get("model_type") == "gpt2" and "n_ctx" not in cfg and "n_positions" in cfg:
            cfg["n_ctx"] = cfg["n_positions"]
            cfg_path.write_text(json.dumps(cfg, indent=2), encoding="utf-8")
        wrapper = self.work / "convert-wrapper.py"
        wrapper.write_text(CONVERTER_WRAPPER, encoding="utf-8")
        run([sys.executable, wrapper, self.src_dir, label, copy, "--outfile", out, "--outtype", "f32"],
            "llama.cpp convert_hf_to_gguf.py")


class WeightKit:
    def __init__(self, binary: Path) -> None:
        self.binary = binary

    def check(self) -> None:
        if not self.binary.exists():
            raise StepError(f"weightkit binary {self.binary} not found (swift build -c release, or --weightkit)")

    def generate(self, model: Path, prompt: str, n: int) -> tuple[list[int], list[int]]:
        self.check()
        obj = last_json(run([self.binary, "generate", model, "--prompt", prompt, "-n", str(n), "--json"],
                            "weightkit generate"), "weightkit generate")
        return ids_of(obj, "prompt_ids", "weightkit generate"), ids_of(obj, "ids", "weightkit generate")

    def convert(self, src: Path, out: Path, dtype: str | None = None, sets: list[str] = ()) -> None:
        self.check()
        cmd = [self.binary, "convert", src, out] + (["--dtype", dtype] if dtype else [])
        for kv in sets:
            cmd += ["--set", kv]
        run(cmd, "weightkit convert")


# ----------------------------------------------------------------------------------------------------------------
# the comparison
# ----------------------------------------------------------------------------------------------------------------

def first_difference(a: list[int], b: list[int]) -> str:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"first difference at {i}: {x} vs {y}"
    return f"lengths {len(a)} vs {len(b)}"


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str]] = []
        self.details: list[str] = []
        self.failed = False

    def add(self, model: str, path: str, ref_prompt: list[int] | None, ref_ids: list[int] | None,
            prompt: list[int] | None, ids: list[int] | None, note: str = "") -> None:
        def cmp(ref, got, what):
            if got is None or ref is None:
                return "—"
            if ref == got:
                return "yes"
            self.failed = True
            self.details.append(f"- {model} / {path}: {what} differ ({first_difference(ref, got)})\n"
                                f"    expected {ref}\n    got      {got}")
            return "**NO**"
        self.rows.append((model, path, cmp(ref_prompt, prompt, "prompt ids"), cmp(ref_ids, ids, "ids"), note))

    def error(self, model: str, path: str, err: BaseException) -> None:
        self.failed = True
        msg = str(err).replace("|", "\\|").replace("\n", " ")
        if len(msg) > 300:
            msg = msg[:300] + "…"
        self.rows.append((model, path, "error", "error", msg))

    def print(self, n: int) -> None:
        print(f"| model | path | prompt ids equal? | {n} ids equal? | note |")
        print("|---|---|---|---|---|")
        for r in self.rows:
            print("| " + " | ".join(r) + " |")
        if self.details:
            print()
            print("\n".join(self.details))


def check_model(model_dir: Path, args, hf: Transformers, wk: WeightKit, lc: LlamaCpp | None, work: Path,
                report: Report) -> None:
    name = model_dir.name
    try:
        cases = load_cases(model_dir, args.prompt)
    except (StepError, OSError, json.JSONDecodeError) as e:
        report.error(name, "generation.json", e)
        return
    n = args.n
    mwork = work / name
    mwork.mkdir(parents=True, exist_ok=True)
    artefacts: dict[str, Path | BaseException] = {}

    def artefact(key: str, make) -> Path:
        """Build a converted file once per model; remember a failure so later rows report it too."""
        if key not in artefacts:
            try:
                artefacts[key] = make()
            except Exception as e:  # noqa: BLE001 - reported in the table
                artefacts[key] = e
        v = artefacts[key]
        if isinstance(v, BaseException):
            raise StepError(f"{key}: {v}")
        return v

    def wk_gguf(dtype: str) -> Path:
        out = mwork / f"weightkit-{dtype}.gguf"
        wk.convert(model_dir, out, dtype)
        return out

    def lc_gguf() -> Path:
        assert lc is not None
        out = mwork / "llama-cpp-f32.gguf"
        lc.convert(model_dir, out, args.pre_label or pre_label(model_dir))
        return out

    def lc_hf_dir() -> Path:
        out = mwork / "hf-from-llama-cpp-gguf"
        if out.exists():
            shutil.rmtree(out)
        wk.convert(artefact("llama.cpp convert", lc_gguf), out, sets=llama3_rope_sets(model_dir))
        return out

    for ci, case in enumerate(cases):
        model = name if len(cases) == 1 else f"{name} #{ci + 1}"
        text = case["prompt"]
        # the reference: transformers, run now
        try:
            ref_prompt = hf.tokenize(model_dir, text)
            ref_ids = hf.generate(model_dir, ref_prompt, n)
        except Exception as e:  # noqa: BLE001
            report.error(model, "transformers generate", e)
            continue
        if "recorded_ids" in case or "recorded_prompt_ids" in case:
            report.add(model, "transformers generate vs generation.json", ref_prompt, ref_ids,
                       case.get("recorded_prompt_ids"), case.get("recorded_ids")[:n] if "recorded_ids" in case
                       else None, "reference = transformers run by this script")
        else:
            report.add(model, "transformers generate", ref_prompt, ref_ids, ref_prompt, ref_ids,
                       "reference (no generation.json record)")

        def row(path: str, group: str, fn, note: str = "") -> None:
            if group not in args.groups:
                return
            try:
                result = fn()
                prompt_ids, ids = result[0], result[1]
                report.add(model, path, ref_prompt, ref_ids, prompt_ids, ids, result[2] if len(result) > 2 else note)
            except Exception as e:  # noqa: BLE001
                if args.verbose:
                    traceback.print_exc()
                report.error(model, path, e)

        def need_lc() -> LlamaCpp:
            if lc is None:
                raise StepError("--llama-cpp and --llama-cpp-src are required for this path")
            return lc

        row("weightkit generate DIR", "wk", lambda: wk.generate(model_dir, text, n))
        for dtype in ("f32", "f16"):
            row(f"weightkit convert {dtype} → weightkit generate", "wk-gguf",
                lambda d=dtype: wk.generate(artefact(f"weightkit convert {d}", lambda: wk_gguf(d)), text, n))
        for dtype in ("f32", "f16"):
            row(f"weightkit convert {dtype} → llama.cpp", "llama",
                lambda d=dtype: need_lc().generate(artefact(f"weightkit convert {d}", lambda: wk_gguf(d)), text, n))
        row("llama.cpp convert → llama.cpp", "reverse",
            lambda: need_lc().generate(artefact("llama.cpp convert", lc_gguf), text, n))
        row("llama.cpp convert → weightkit generate", "reverse",
            lambda: wk.generate(artefact("llama.cpp convert", lc_gguf), text, n))

        def reverse_hf():
            need_lc()
            d = artefact("weightkit convert of llama.cpp's GGUF", lc_hf_dir)
            if hf.has_tokenizer(d):
                prompt_ids = hf.tokenize(d, text)
                return prompt_ids, hf.generate(d, prompt_ids, n)
            # no tokenizer files written: generate from the reference prompt ids
            note = "HF dir has no tokenizer: prompt ids from DIR"
            if llama3_rope_sets(model_dir):
                note += "; llama3 RoPE factors given with --set from DIR/config.json"
            return None, hf.generate(d, ref_prompt, n), note

        row("llama.cpp convert → weightkit convert → HF dir → transformers", "reverse", reverse_hf,
            "llama3 RoPE factors given with --set from DIR/config.json" if llama3_rope_sets(model_dir) else "")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("models", nargs="*", type=Path, help=f"model directories (default: {' '.join(DEFAULT_MODELS)})")
    ap.add_argument("--llama-cpp", type=Path, help="llama.cpp build's bin directory (libllama.so, llama-* tools)")
    ap.add_argument("--llama-cpp-src", type=Path, help="llama.cpp source tree (include/, convert_hf_to_gguf.py)")
    ap.add_argument("--weightkit", type=Path, default=REPO / ".build" / "release" / "weightkit",
                    help="weightkit binary (default: .build/release/weightkit)")
    ap.add_argument("-n", type=int, default=16, help="tokens to generate (default 16)")
    ap.add_argument("--prompt", help="use this prompt instead of generation.json's")
    ap.add_argument("--pre-label", help="tokenizer.ggml.pre for an unknown pre-tokenizer hash "
                                        "(default: gpt-2 or llama-bpe, from tokenizer.json)")
    ap.add_argument("--only", action="append", choices=GROUPS,
                    help="run only these path groups (repeatable): hf = transformers only, wk = weightkit generate "
                         "DIR, wk-gguf = weightkit convert → weightkit, llama = weightkit convert → llama.cpp, "
                         "reverse = llama.cpp's converter → llama.cpp / weightkit / transformers")
    ap.add_argument("--work", type=Path, help="keep intermediate files here (default: a temporary directory)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print tracebacks of failed steps")
    args = ap.parse_args()
    args.groups = set(args.only or GROUPS)
    if args.n <= 0:
        ap.error("-n must be positive")
    if (args.llama_cpp is None) != (args.llama_cpp_src is None):
        ap.error("--llama-cpp and --llama-cpp-src go together")
    if args.llama_cpp is None and args.groups & {"llama", "reverse"}:
        ap.error("--llama-cpp and --llama-cpp-src are required (or --only hf/wk/wk-gguf)")
    models = args.models or [REPO / m for m in DEFAULT_MODELS]
    missing = [str(m) for m in models if not (m / "config.json").is_file()]
    if missing:
        ap.error("not a model directory (no config.json): " + ", ".join(missing))

    hf = Transformers()
    wk = WeightKit(args.weightkit.resolve() if args.weightkit.exists() else args.weightkit)
    report = Report()
    tmp = None
    if args.work:
        work = args.work.resolve()
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="e2e-generate-")
        work = Path(tmp.name)
    try:
        lc = LlamaCpp(args.llama_cpp.resolve(), args.llama_cpp_src.resolve(), work) if args.llama_cpp else None
        for m in models:
            check_model(m.resolve(), args, hf, wk, lc, work, report)
    finally:
        report.print(args.n)
        if tmp is not None:
            tmp.cleanup()
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
