#!/usr/bin/env python3
"""Train WeightKit's tokenizer fixtures here, on local text, and write the test strings.

    pip install -r Fixtures/tokenizers/requirements.txt && python Fixtures/tokenizers/generate.py

Writes, under Fixtures/tokenizers/:
  gpt2-bpe/    byte-level BPE built like GPT-2's: tokenizer.json, vocab.json + merges.txt (the same vocabulary),
               tokenizer_config.json, special_tokens_map.json. 512 ids, <|endoftext|> = 511 (last, as in GPT-2).
  llama3-bpe/  Llama-3 style: Split(Llama-3 regex) + ByteLevel(use_regex=false), BPE with ignore_merges,
               TemplateProcessing adding <|begin_of_text|>; tokenizer.json, tokenizer_config.json (chat template),
               generation_config.json. 590 BPE ids + 10 special ids = 600.
  llama-spm/   SentencePiece BPE with byte fallback, trained with the LLaMA-2 trainer settings: tokenizer.model;
               the tokenizer.json that transformers makes from it; tokenizer_config.json (chat template).
  strings.jsonl  the test strings, one JSON string per line.

Training text: a fixed list of Python 3.11.7 standard-library sources (their combined SHA-256 is checked, so a
different Python stops the script instead of silently training different tokenizers) and a multilingual text
composed below from phrases written for this script. Everything is seeded and single-threaded; two runs give
byte-identical files. The script checks its own output (see check_*) and stops on any failure.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import sys
import sysconfig
import tempfile
import unicodedata
from pathlib import Path

os.environ["TOKENIZERS_PARALLELISM"] = "false"  # before tokenizers is imported: one thread, fixed order

import sentencepiece as spm  # noqa: E402
import tokenizers  # noqa: E402
from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers,  # noqa: E402
                        processors, trainers)  # noqa: E402

ROOT = Path(__file__).resolve().parent

# ----------------------------------------------------------------------------------------------------------------
# training text
# ----------------------------------------------------------------------------------------------------------------

STDLIB_FILES = [
    "argparse.py", "ast.py", "base64.py", "calendar.py", "collections/__init__.py", "csv.py", "dataclasses.py",
    "datetime.py", "difflib.py", "email/message.py", "enum.py", "fractions.py", "functools.py", "gettext.py",
    "heapq.py", "html/parser.py", "json/decoder.py", "json/encoder.py", "locale.py", "random.py", "shlex.py",
    "statistics.py", "string.py", "textwrap.py", "tokenize.py", "urllib/parse.py", "zipfile.py",
]
# sha256 over (name, NUL, bytes, NUL) of the files above, in this order, as shipped with CPython 3.11.7
STDLIB_SHA256 = "4d00f1fec893190ee2c069fdd5f245f1d1f0526dd3f4b120621f52ece5ce27cf"

# Phrases written for this script, by script / language. Marks are written as escapes where they would be hard
# to see. They are combined with numbers and punctuation by a seeded generator (multilingual_lines).
PHRASES = {
    "latin": [
        "Ça va très bien, merci beaucoup !", "Où est la bibliothèque ? Elle est fermée le lundi.",
        "Über den Wolken scheint immer die Sonne.", "Grüße aus Köln, schöne Straße, große Füße.",
        "El niño comió paella en la playa de Málaga.", "¿Dónde está el baño? ¡Allí, señor!",
        "Łódź leży w środkowej Polsce, a Gdańsk nad morzem.", "Příliš žluťoučký kůň úpěl ďábelské ódy.",
        "Árvíztűrő tükörfúrógép a múzeumban.", "São Paulo é uma cidade enorme e agitada.",
        "Åsa köpte smör på måndag i Malmö.", "Þetta er íslenska og hún er falleg.",
        "Türkçe öğrenmek çok güzel, değil mi?", "Việt Nam có nhiều món ăn ngon và rẻ.",
        "Dziękuję bardzo za pomoc, przyjacielu.", "Le cœur a ses raisons; l'œuvre est finie.",
        "Jørgen og Søren bor i Ærøskøbing.", "Ein Maß Bier kostet zwölf Euro fünfzig.",
    ],
    "english": [
        "The quick brown fox jumps over the lazy dog.", "It's a truth universally acknowledged.",
        "We're sure they've gone, and I'm certain you'll see that he'd agree.", "DON'T SHOUT, IT'S LATE!",
        "Rock 'n' roll isn't dead; it's just sleeping.", "The year 1984 had 366 days? No, 366 is 2024's count.",
        "Call 555-0123 before 10:30 a.m. on 2024-02-29.", "Pi is about 3.14159265358979, e about 2.71828.",
    ],
    "cyrillic": [
        "Съешь же ещё этих мягких французских булок, да выпей чаю.", "Привет, как дела? Всё хорошо!",
        "Україна — це країна в Східній Європі.", "Здраво, како си? Добро сам, хвала.",
        "Москва, 12 апреля 1961 года: Гагарин в космосе.", "Ёжик в тумане искал лошадку.",
        "Беларуская мова мае літару ў.", "Қазақ тілі — түркі тілдерінің бірі.",
    ],
    "greek": [
        "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.", "Καλημέρα σας, τι κάνετε;", "Η Αθήνα είναι η πρωτεύουσα.",
        "ἐν ἀρχῇ ἦν ὁ λόγος", "Σίσυφος, Ὀδυσσεύς, Ἀχιλλεύς.",
    ],
    "arabic": [
        "مرحبا بالعالم", "اللغة العربية جميلة جدا", "بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ", "القاهرة ٢٠٢٤ — ١٢٣٤٥",
        "كيف حالك؟ أنا بخير، شكرا.", "فارسی: سلام، حال شما چطور است؟",
    ],
    "hebrew": ["שלום עולם", "עברית היא שפה שמית.", "שָׁלוֹם עֲלֵיכֶם", "ירושלים, תל אביב וחיפה."],
    "devanagari": [
        "नमस्ते दुनिया", "हिन्दी भारत की एक प्रमुख भाषा है।", "क्षत्रिय, ज्ञान, श्री, द्वार", "संस्कृतम् एका प्राचीना भाषा।",
        "मराठी: आपण कसे आहात?", "१२३४५ रुपये",
    ],
    "indic": ["বাংলা ভাষা খুব সুন্দর।", "தமிழ் ஒரு பழமையான மொழி.", "తెలుగు భాష", "ಕನ್ನಡ", "മലയാളം", "ગુજરાતી", "ਪੰਜਾਬੀ"],
    "thai": ["สวัสดีครับ ยินดีต้อนรับ", "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ", "กรุงเทพมหานคร", "ผู้ใหญ่ลีกับน้ำใจ"],
    "other": [
        "გამარჯობა, საქართველო", "Բարեւ աշխարհ", "ሰላም ለዓለም", "សួស្តី ពិភពលោក", "ສະບາຍດີ", "မင်္ဂလာပါ",
        "བཀྲ་ཤིས་བདེ་ལེགས།", "ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ", "ᚠᚢᚦᚨᚱᚲ", "Ⲙⲁⲣⲓⲁ", "ꦧꦱꦗꦮ",
    ],
    "cjk": [
        "你好，世界。", "我喜欢学习中文，也喜欢写代码。", "中华人民共和国成立于1949年。", "繁體中文與簡體中文",
        "日本語の文章を書きます。", "東京は大きな都市です。", "カタカナとひらがなと漢字", "ｶﾀｶﾅ（半角）とＡＢＣ（全角）",
        "今日は2024年5月6日です。", "𠀀𠀁𪚥 (CJK extension B)",
    ],
    "hangul": [
        "안녕하세요, 세계!", "한국어는 재미있어요.", "대한민국의 수도는 서울입니다.",
        "\u1112\u1161\u11ab\u1100\u1173\u11af (conjoining jamo)", "ㅋㅋㅋ ㅎㅎ",
    ],
    "emoji": [
        "👋🏽 hello", "👨\u200d👩\u200d👧\u200d👦 family", "🏳\ufe0f\u200d🌈 flag", "👩🏿\u200d💻 coder", "❤\ufe0f love",
        "🇯🇵🇫🇷🇧🇷 flags", "🧑\u200d🤝\u200d🧑", "1\ufe0f\u20e3 #\ufe0f\u20e3 keycaps", "👍🏻👍🏼👍🏽👍🏾👍🏿",
        "🙂🙃😀😂🤣", "🐍 Python and 🦀 Rust", "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
        "🫠🫶🏼🪿",
    ],
    "marks": [
        "cafe\u0301 nai\u0308ve n\u0303o\u0303", "Z\u0324\u0354\u0367\u0311a\u0308\u0356\u032dl\u036e\u0312g\u030c\u0317o\u0319\u0314",
        "a\u0300\u0301\u0302\u0303\u0304", "x\u20d7 y\u0332 z\u0336", "\u0915\u094d\u0937 \u0928\u093f \u0915\u0902",
        "e\u0301e\u0301e\u0301", "A\u030aA\u030a \u212b",
    ],
}


def stdlib_lines() -> tuple[list[str], str]:
    base = Path(sysconfig.get_paths()["stdlib"])
    h = hashlib.sha256()
    lines: list[str] = []
    for name in STDLIB_FILES:
        data = (base / name).read_bytes()
        h.update(name.encode() + b"\0" + data + b"\0")
        lines += data.decode("utf-8").splitlines(keepends=True)
    return lines, h.hexdigest()


def multilingual_lines(n: int, seed: int) -> list[str]:
    """n lines, each 1–4 phrases from random scripts, joined with spaces/punctuation, some with numbers."""
    rng = random.Random(seed)
    groups = sorted(PHRASES)
    joins = [" ", "  ", " — ", ", ", "; ", "\t", " / ", " ", " "]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 4)):
            parts.append(rng.choice(PHRASES[rng.choice(groups)]))
            if rng.random() < 0.25:
                parts.append(str(rng.randint(0, 10 ** rng.randint(1, 8))))
        line = parts[0]
        for p in parts[1:]:
            line += rng.choice(joins) + p
        out.append(line + "\n")
    return out


def training_lines() -> list[str]:
    lines, digest = stdlib_lines()
    if digest != STDLIB_SHA256:
        raise SystemExit(f"standard library sources differ from CPython 3.11.7's (sha256 {digest}); the tokenizers "
                         f"would be trained on other text. Run this with Python 3.11.7.")
    return lines + multilingual_lines(3000, seed=5151)


# ----------------------------------------------------------------------------------------------------------------
# GPT-2 style byte-level BPE
# ----------------------------------------------------------------------------------------------------------------

EOT = "<|endoftext|>"


def train_bpe(lines: list[str], pre_tokenizer, vocab_size: int) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Byte-level BPE: the 256 byte symbols (tokenizers orders them by code point, which is GPT-2's order) plus
    vocab_size - 256 merges. Returns (vocab, merges in rank order)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizer
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False, special_tokens=[],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(lines, trainer=trainer, length=len(lines))
    m = json.loads(tok.to_str())["model"]
    vocab = m["vocab"]
    merges = [tuple(x) if isinstance(x, list) else tuple(x.split(" ")) for x in m["merges"]]
    assert len(vocab) == vocab_size and len(merges) == vocab_size - 256, (len(vocab), len(merges))
    assert sorted(vocab.values()) == list(range(vocab_size))
    return vocab, merges


def special(content: str) -> AddedToken:
    return AddedToken(content, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)


def write_tokenizer_json(tok: Tokenizer, path: Path, legacy_merges: bool = False) -> None:
    """tokenizers' own serialization, re-indented by json (same content, stable bytes). legacy_merges writes
    merges as "left right" strings, as GPT-2's hub tokenizer.json has them (newer files use [left, right])."""
    obj = json.loads(tok.to_str())
    if legacy_merges:
        obj["model"]["merges"] = [" ".join(m) for m in obj["model"]["merges"]]
    text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    path.write_text(text, encoding="utf-8")
    back = Tokenizer.from_file(str(path))
    assert json.loads(back.to_str()) == json.loads(tok.to_str()), f"{path}: does not read back to the same tokenizer"


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def added_tokens_decoder(tok: Tokenizer) -> dict[str, dict]:
    return {str(i): {"content": t.content, "lstrip": t.lstrip, "normalized": t.normalized, "rstrip": t.rstrip,
                     "single_word": t.single_word, "special": t.special}
            for i, t in sorted(tok.get_added_tokens_decoder().items())}


def build_gpt2(lines: list[str]) -> Tokenizer:
    pre = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    vocab, merges = train_bpe(lines, pre, 511)
    vocab = dict(vocab)
    vocab[EOT] = 511  # GPT-2 keeps <|endoftext|> in the model vocabulary, as its last id
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, dropout=None, unk_token=None, continuing_subword_prefix="",
                               end_of_word_suffix="", fuse_unk=False, byte_fallback=False, ignore_merges=False))
    tok.normalizer = None
    tok.pre_tokenizer = pre
    tok.post_processor = processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True)
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    tok.add_special_tokens([special(EOT)])
    assert tok.token_to_id(EOT) == 511 and tok.get_vocab_size() == 512
    return tok


def write_gpt2(tok: Tokenizer, d: Path) -> None:
    write_tokenizer_json(tok, d / "tokenizer.json", legacy_merges=True)
    obj = json.loads(tok.to_str())["model"]
    vocab = obj["vocab"]
    # vocab.json as GPT-2's: one line, ids in order; merges.txt with the "#version: 0.2" header
    (d / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    (d / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in obj["merges"]),
                                  encoding="utf-8")
    write_json(d / "tokenizer_config.json", {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added_tokens_decoder(tok),
        "bos_token": EOT,
        "clean_up_tokenization_spaces": False,
        "eos_token": EOT,
        "errors": "replace",
        "model_max_length": 1024,
        "pad_token": None,
        "tokenizer_class": "GPT2Tokenizer",
        "unk_token": EOT,
    })
    write_json(d / "special_tokens_map.json", {"bos_token": EOT, "eos_token": EOT, "unk_token": EOT})


# ----------------------------------------------------------------------------------------------------------------
# Llama-3 style
# ----------------------------------------------------------------------------------------------------------------

# Llama-3's pre-tokenizer pattern (tiktoken's cl100k-style split used by Meta Llama 3).
LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)
LLAMA3_BASE = 590
# As in Llama 3: special tokens right after the BPE vocabulary, with reserved ones in between.
LLAMA3_SPECIALS = [
    "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
    "<|reserved_special_token_2|>", "<|reserved_special_token_3|>", "<|start_header_id|>", "<|end_header_id|>",
    "<|reserved_special_token_4|>", "<|eot_id|>",
]

# A Llama-3-instruct style chat template, written for these fixtures.
LLAMA3_CHAT_TEMPLATE = (
    "{{- bos_token }}\n"
    "{%- for message in messages %}\n"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim"
    " + '<|eot_id|>' }}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n"
    "{%- endif %}\n"
)


def llama3_pre_tokenizer():
    return pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])


def build_llama3(lines: list[str]) -> Tokenizer:
    vocab, merges = train_bpe(lines, llama3_pre_tokenizer(), LLAMA3_BASE)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, dropout=None, unk_token=None, continuing_subword_prefix="",
                               end_of_word_suffix="", fuse_unk=False, byte_fallback=False, ignore_merges=True))
    tok.normalizer = None
    tok.pre_tokenizer = llama3_pre_tokenizer()
    tok.add_special_tokens([special(s) for s in LLAMA3_SPECIALS])
    bos = "<|begin_of_text|>"
    bos_id = tok.token_to_id(bos)
    # like Meta's tokenizer.json: ByteLevel (offsets only) followed by the template that adds BOS
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(add_prefix_space=True, trim_offsets=False, use_regex=True),
        processors.TemplateProcessing(single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1",
                                      special_tokens=[(bos, bos_id)]),
    ])
    tok.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    assert [tok.token_to_id(s) for s in LLAMA3_SPECIALS] == list(range(LLAMA3_BASE, LLAMA3_BASE + 10))
    assert tok.get_vocab_size() == 600
    return tok


def write_llama3(tok: Tokenizer, d: Path) -> None:
    write_tokenizer_json(tok, d / "tokenizer.json")
    ids = {s: tok.token_to_id(s) for s in LLAMA3_SPECIALS}
    write_json(d / "tokenizer_config.json", {
        "added_tokens_decoder": added_tokens_decoder(tok),
        "bos_token": "<|begin_of_text|>",
        "chat_template": LLAMA3_CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": True,
        "eos_token": "<|eot_id|>",
        "model_input_names": ["input_ids", "attention_mask"],
        "model_max_length": 131072,
        "tokenizer_class": "PreTrainedTokenizerFast",
    })
    write_json(d / "generation_config.json", {
        "bos_token_id": ids["<|begin_of_text|>"],
        "do_sample": True,
        "eos_token_id": [ids["<|end_of_text|>"], ids["<|eot_id|>"]],
        "temperature": 0.6,
        "top_p": 0.9,
        "transformers_version": "5.23.0",
    })


# ----------------------------------------------------------------------------------------------------------------
# LLaMA(-2) style SentencePiece
# ----------------------------------------------------------------------------------------------------------------

# A LLaMA-2-chat style template, written for these fixtures: [INST] … [/INST], an optional <<SYS>> block folded
# into the first user turn, <s>/</s> around every exchange.
LLAMA2_CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{%- set system = '<<SYS>>\\n' + messages[0]['content'] | trim + '\\n<</SYS>>\\n\\n' %}"
    "{%- set messages = messages[1:] %}"
    "{%- else %}{%- set system = '' %}{%- endif %}"
    "{%- for message in messages %}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{- raise_exception('roles must alternate user/assistant/user/...') }}"
    "{%- endif %}"
    "{%- if message['role'] == 'user' %}"
    "{%- set text = (system if loop.first else '') + message['content'] | trim %}"
    "{{- bos_token + '[INST] ' + text + ' [/INST]' }}"
    "{%- else %}"
    "{{- ' ' + message['content'] | trim + ' ' + eos_token }}"
    "{%- endif %}"
    "{%- endfor %}"
)

SPM_MULTILINGUAL = 800
SPM_ARGS = dict(
    model_type="bpe", vocab_size=512, byte_fallback=True, split_digits=True, add_dummy_prefix=True,
    remove_extra_whitespaces=False, normalization_rule_name="identity", allow_whitespace_only_pieces=True,
    split_by_unicode_script=True, split_by_whitespace=True, split_by_number=True, treat_whitespace_as_suffix=False,
    unk_id=0, bos_id=1, eos_id=2, pad_id=-1, character_coverage=0.98,
    required_chars="".join(chr(c) for c in range(0x21, 0x7F)), max_sentence_length=16384,
    input_sentence_size=0, shuffle_input_sentence=False, num_threads=1, vocabulary_output_piece_score=True,
    hard_vocab_limit=True, minloglevel=2,
)


def train_spm(lines: list[str]) -> bytes:
    """sentencepiece insists on character_coverage >= 0.98; at 512 pieces (259 of them unk/bos/eos and the 256 byte
    pieces) that leaves room for the printable ASCII characters (required_chars), the most frequent others and
    about a hundred merges only if the multilingual part is small, so this trains on the first SPM_MULTILINGUAL of
    its lines. Every other character is encoded by byte fallback."""
    lines = lines[:-3000] + lines[-3000:][:SPM_MULTILINGUAL]
    sentences = [ln.rstrip("\r\n") for ln in lines]
    sentences = [s for s in sentences if s.strip()]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(sentences), model_writer=buf, **SPM_ARGS)
    return buf.getvalue()


def convert_spm(model_path: Path, d: Path) -> None:
    """tokenizer.json as transformers 5.23 makes it from a LLaMA tokenizer.model (LlamaTokenizer, the class that
    replaced LlamaTokenizerFast), then our tokenizer_config.json."""
    import transformers
    from transformers import LlamaTokenizer

    transformers.logging.set_verbosity_error()
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(model_path, Path(tmp) / "tokenizer.model")
        write_json(Path(tmp) / "tokenizer_config.json", {"tokenizer_class": "LlamaTokenizer", "add_bos_token": True,
                                                          "add_eos_token": False, "legacy": False})
        hf = LlamaTokenizer.from_pretrained(tmp)
        out = Path(tmp) / "out"
        hf.save_pretrained(str(out))
        tok = Tokenizer.from_file(str(out / "tokenizer.json"))
        cfg = json.loads((out / "tokenizer_config.json").read_text())
    write_tokenizer_json(tok, d / "tokenizer.json")
    write_json(d / "tokenizer_config.json", {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": added_tokens_decoder(tok),
        "bos_token": "<s>",
        "chat_template": LLAMA2_CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "</s>",
        "legacy": False,
        "model_max_length": 4096,
        "pad_token": None,
        "padding_side": "left",
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizer",
        "unk_token": "<unk>",
        "use_default_system_prompt": False,
    })
    print(f"  transformers {transformers.__version__} saved tokenizer_config keys: {sorted(cfg)}")


def write_spm_legacy(d: Path) -> None:
    """tokenizer-legacy.json: the layout of the LLaMA-2 hub tokenizer.json files, made by transformers' older
    LlamaConverter with legacy=True (that converter no longer runs in 5.23): normalizer Prepend("▁") +
    Replace(" ", "▁"), no pre-tokenizer, unk_token "<unk>". Built here with tokenizers from the vocabulary and
    merges of the converted tokenizer.json; only those four parts differ from it."""
    obj = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))
    m = obj["model"]
    tok = Tokenizer(models.BPE(vocab=m["vocab"], merges=[tuple(x) for x in m["merges"]], dropout=None,
                               unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("\u2581"), normalizers.Replace(" ", "\u2581")])
    tok.pre_tokenizer = None
    tok.add_special_tokens([special(s) for s in ("<unk>", "<s>", "</s>")])
    tok.post_processor = processors.TemplateProcessing(single="<s>:0 $A:0", pair="<s>:0 $A:0 <s>:1 $B:1",
                                                       special_tokens=[("<s>", 1)])
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    write_tokenizer_json(tok, d / "tokenizer-legacy.json")


# ----------------------------------------------------------------------------------------------------------------
# test strings
# ----------------------------------------------------------------------------------------------------------------

SPECIAL_STRINGS = [
    "<|endoftext|>", "<s>", "</s>", "<unk>", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_0|>", "<pad>", "[INST]", "<<SYS>>",
]
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]
WHITESPACE = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", "\r", "\r\r\n", " \n", "\n ", " \t ", "\u00a0",
              "\u3000", "\u2009", "\u2003", "\u202f", "\u205f", "\u1680", "\x0b", "\x0c", "\x85", "\u2028", "\u2029",
              "\u200b", "\ufeff", " \u00a0 ", "\t \n"]
PUNCT = ["!", "!!!", "?!", "...", "…", ",", ";", ":", "-", "--", "---", "—", "–", "(", ")", "[]", "{}", "<>", "\"",
         "'", "''", "`", "``", "«", "»", "“", "”", "‘", "’", "¿", "¡", "#", "$", "%", "&", "*", "+", "=", "/", "\\",
         "|", "~", "^", "_", "@", "©", "®", "™", "°", "§", "¶", "•", "·", "。", "、", "，", "！", "？", "「」", "【】",
         "؟", "،", "।", "॥", "๏", "…!?"]
WORDS = ["hello", "world", "Hello", "HELLO", "tokenizer", "the", "The", "a", "I", "don", "it", "can", "rock", "x",
         "naïve", "façade", "Straße", "über", "año", "мир", "Привет", "κόσμος", "שלום", "مرحبا", "नमस्ते", "สวัสดี",
         "你好", "世界", "日本語", "カタカナ", "안녕", "한국어", "👋", "🙂", "👨\u200d💻", "🇺🇳", "ǅ", "ß", "ﬁ", "Ⅻ",
         "x\u0301", "e\u0301", "\u0301", "İstanbul", "ΣΑΣ", "ΌΣΟΣ", "ﷺ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝟘𝟙𝟚", "def", "return",
         "self", "__init__", "snake_case", "camelCase", "CONSTANT_NAME", "http", "www", "example", "com"]
NUMBERS = ["0", "7", "42", "123", "1234", "12345", "123456", "1234567", "12345678901234567890", "3.14", "-1", "+1",
           "1e10", "1,000,000", "0x1F", "0b1010", "2024-02-29", "10:30", "1/2", "½", "²", "³", "¹²³", "①②③",
           "Ⅷ", "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९", "໑໒໓", "１２３４", "𝟏𝟐𝟑", "1st", "2nd", "3rd", "v1.2.3", "99%",
           "$100", "€5", "£3.50", "¥1000", "007", "000000"]
CODE = [
    "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "if x == 1:\n\tprint('tab')\n", "let s = \"héllo\"; // comment", "#include <stdio.h>\nint main(void) { return 0; }",
    "const f = (a, b) => a ?? b;", "SELECT * FROM users WHERE id = 42;", "<html><body class=\"x\">Hi</body></html>",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}", "echo \"$HOME\" | grep -v '^#' > /dev/null 2>&1",
    "x += y**2 // 3 % 4", "a->b, c::d, e?.f, g!!", "fn main() {\n    println!(\"{}\", 1);\n}\n",
    "    \n    \n", "\n\n\n", "lambda: None", "    indented four", "\tindented tab", "x  =  1  ", "print(f'{x!r:>10}')",
    "# -*- coding: utf-8 -*-", "'''docstring'''", "\"\"\"triple\"\"\"", "$$ \\frac{a}{b} $$", "a\\nb\\tc",
    "https://example.com/path?q=1&r=2#frag", "user@example.com", "C:\\Windows\\System32", "~/.bashrc",
]


def _line_samples(lines: list[str], step: int, offset: int) -> list[str]:
    out = []
    for i in range(offset, len(lines), step):
        s = lines[i]
        if s.strip():
            out.append(s)
    return out


def make_strings(stdlib: list[str]) -> list[str]:
    out: list[str] = []

    def add(*xs: str) -> None:
        out.extend(xs)

    # edge cases, single characters
    add("", " ", "  ", "\t", "\n", "\r", "\r\n", "\n\r", "a", "A", "z", "0", "9", ".", "'", "\x00", "\x01", "\x1b",
        "\x7f", "\u00ad", "\ufffd", "\U0010fffd", "\ue000")
    add(*[chr(c) for c in range(0x20, 0x7F)])
    add(*[chr(c) for c in range(0xA0, 0x180, 3)])
    for w in WORDS + NUMBERS + PUNCT:
        add(w, " " + w, w + " ", "  " + w, w + "  ", " " + w + " ", "\t" + w, w + "\n")
    # whitespace runs between, before and after text: the \s+(?!\S) lookahead cases
    for ws in WHITESPACE:
        add(ws, ws * 3, "a" + ws + "b", "a" + ws, ws + "a", "a" + ws * 2 + "b", ws + ws + "a" + ws + ws,
            "word" + ws + "!", "!" + ws + "word", "1" + ws + "2", "你好" + ws + "世界", ws + "'s")
    for n in range(1, 17):
        add(" " * n + "x", "x" + " " * n, "x" + " " * n + "y", "\t" * n + "x", "x" + "\n" * n + "y",
            "x" + " " * n + "\n" + " " * n + "y", "x" + "\r\n" * n)
    add("a \n b", "a\n \nb", "a  \n\n  b", "a \t\n\t b", " \n ", "\n \n", "a\r\n\r\nb", "a \r\n b", "a\r b",
        "end.   ", "   start", "  both  ", "a\u00a0\u00a0b", "a\u3000\u3000b", "a \u00a0b", "a\u00a0 b")
    # contractions, lower/upper/mixed, and near misses
    for c in CONTRACTIONS:
        for form in (c, c.upper(), c[:2].upper() + c[2:], c.title()):
            add(form, "it" + form, "IT" + form, "it" + form + " is", " " + form, "x" + form + form, "1" + form,
                "🙂" + form, form + "x", "'" + form, form.replace("'", "’"), "don" + form + "t")
    add("don't", "DON'T", "Don'T", "we're", "WE'RE", "they've", "I'm", "I'M", "you'll", "YOU'LL", "he'd", "HE'D",
        "rock 'n' roll", "'''", "' s", "'S", "'Ll", "'lL", "o'clock", "l'homme", "aujourd'hui", "''s", "'ss", "'sss",
        "'", "''", "' ", " '", "it' s", "'re'", "'d've")
    # digits: 1–3 groups, long numbers, other digit scripts, digits next to letters
    for n in range(1, 26):
        add(("1234567890" * 3)[:n])
        add("x" + ("9" * n), ("9" * n) + "x", " " + ("5" * n))
    for nb in NUMBERS:
        add("abc" + nb + "def", nb + " " + nb, "(" + nb + ")", "v" + nb, nb + "km", nb + "'s")
    add("a1b2c3", "abc123def456", "3.14159265358979323846", "1,234,567.89", "-0.000001", "1e-10", "1E+10",
        "0001", "१२३abc", "١٢٣ ٤٥٦", "x²+y²=z²", "H₂O", "10⁻³")
    # letters followed by marks, marks in odd places
    for base in ("e", "E", "a", "n", "o", "z", "ы", "α", "ب", "ש", "क", "ก", "字", "한", "1", "!", " ", "'", "😀"):
        for mark in ("\u0301", "\u0308", "\u0303", "\u0327", "\u0332", "\u064e", "\u05b8", "\u093e", "\u0e34",
                     "\u20dd", "\u0301\u0302\u0303"):
            add(base + mark, base + mark + "x", "x" + base + mark, base + mark + base + mark + " " + base)
    add("\u0301", "\u0301\u0301", " \u0301", "\u0301a", "a\u0301\u0301\u0301b", "caf\u00e9 vs cafe\u0301")
    add(*PHRASES["marks"])
    # special-token strings inside text
    for s in SPECIAL_STRINGS:
        add(s, "a" + s, s + "a", "a " + s + " b", "a" + s + "b", s + s, " " + s, s + " ", s + "\n", "\n" + s + "\n",
            "hello" + s + "world", "<" + s + ">", s[:-1], s[1:], s.upper(), s.replace("|", ""), s + " " + s,
            "x" + s + "'s", "123" + s + "456", "👋" + s + "👋", "  " + s + "  ")
    add("<|endoftext|><|endoftext|>", "<s><s></s></s>", "<|begin_of_text|><|start_header_id|>user<|end_header_id|>"
        "\n\nHi<|eot_id|>", "[INST] hello [/INST] hi </s><s>[INST] again [/INST]", "<|endoftext", "endoftext|>",
        "<|", "|>", "<|>", "<||>", "< s>", "<s >", "</ s>", "<S>", "<unk><unk>")
    # punctuation runs
    for p in PUNCT:
        add(p * 3, "a" + p * 2 + "b", " " + p * 4, p * 2 + "\n\n", "word" + p, p + "word", p + " " + p, "1" + p + "2")
    add("!!!???...", "?!?!?!?!", ".....", "-----", "=====", "*****", "#####", "~~~~~", "''''''", "\"\"\"\"",
        "()()()", "[[[]]]", "{{{}}}", "<<<>>>", "\\\\\\\\", "////", "...\n\n...", "!!!\r\n", " ... ", "—–-")
    # emoji, ZWJ sequences, skin tones, flags, keycaps, variation selectors
    tones = ["", "\U0001f3fb", "\U0001f3fc", "\U0001f3fd", "\U0001f3fe", "\U0001f3ff"]
    for e in ("👋", "👍", "🧑", "👩", "🤝", "🙏"):
        for t in tones:
            add(e + t, e + t + " ok", "x" + e + t + "y")
    add(*PHRASES["emoji"])
    add("👨\u200d👩\u200d👧", "👩\u200d❤\ufe0f\u200d💋\u200d👨", "🧑🏽\u200d🚀", "🐻\u200d❄\ufe0f", "🏃\u200d♀\ufe0f",
        "❤", "❤\ufe0f", "❤\ufe0e", "☺", "☺\ufe0f", "🇩🇪🇯🇵", "🇩", "🇩🇪🇩", "0\ufe0f\u20e3", "*\u20e3", "\u200d",
        "a\u200db", "👋\u200d", "\u200d👋", "😀" * 10, "😀 " * 10, "🙂🙂\n🙂", "🐍🐍🐍abc", "abc🐍", "🐍's")
    # the multilingual phrases, plain and combined
    for group in sorted(PHRASES):
        for p in PHRASES[group]:
            add(p, " " + p, p.upper(), p.lower(), p + " " + p, p.replace(" ", "  "), p.replace(" ", "\t"),
                p.replace(" ", "\n"))
    # long inputs
    add("a" * 1000, "ab" * 600, "supercalifragilisticexpialidocious" * 30, "1" * 500, " " * 500, "\n" * 200,
        "\t" * 100, "😀" * 300, "字" * 400, "ภาษาไทย" * 100, "e\u0301" * 200, "!" * 300, "-" * 256,
        "Pneumonoultramicroscopicsilicovolcanoconiosis", "Donaudampfschifffahrtsgesellschaftskapitän",
        "x" * 4096, ("word " * 400).strip(), "A" * 777 + "b" * 333)
    # code
    for c in CODE:
        add(c, c.replace("    ", "\t"), c.replace("\n", "\r\n"), "  " + c + "  ")
    # lines of the training text (stdlib sources), sampled
    add(*_line_samples(stdlib, 97, 11)[:400])
    # a multilingual text paragraph that is not in training
    add(*multilingual_lines(150, seed=777))

    # random mixes of all of the above pieces
    rng = random.Random(20240506)
    pools = [WORDS, NUMBERS, PUNCT, WHITESPACE, SPECIAL_STRINGS, CONTRACTIONS,
             [p for g in sorted(PHRASES) for p in PHRASES[g]], ["\u0301", "\u0308", "\u200d", "\ufe0f", "\U0001f3fd"]]
    weights = [6, 3, 3, 4, 1, 2, 2, 1]
    seen = set()
    uniq = []
    for s in out:
        if s not in seen:
            seen.add(s)
            uniq.append(s)
    while len(uniq) < 3600:
        n = rng.randint(1, 12)
        s = "".join(rng.choice(rng.choices(pools, weights)[0]) for _ in range(n))
        if s not in seen:
            seen.add(s)
            uniq.append(s)
    return uniq


ESCAPE_RAW = {"\u0085", "\u2028", "\u2029", "\ufeff"}


def dump_line(s: str) -> str:
    """One JSON string on one line: UTF-8 as is, except control characters (json escapes those) and characters that
    some line readers treat as line breaks or drop (NEL, LS, PS, BOM), which are written as \\u escapes."""
    text = json.dumps(s, ensure_ascii=False)
    return "".join(f"\\u{ord(ch):04x}" if ch in ESCAPE_RAW else ch for ch in text)


# ----------------------------------------------------------------------------------------------------------------
# checks
# ----------------------------------------------------------------------------------------------------------------


def check_gpt2_pair(d: Path, strings: list[str]) -> None:
    """vocab.json + merges.txt built into a GPT-2 tokenizer must encode every string as tokenizer.json does."""
    a = Tokenizer.from_file(str(d / "tokenizer.json"))
    b = Tokenizer(models.BPE.from_file(str(d / "vocab.json"), str(d / "merges.txt")))
    b.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    b.decoder = decoders.ByteLevel()
    b.add_special_tokens([special(EOT)])
    for s in strings:
        ia, ib = a.encode(s).ids, b.encode(s).ids
        if ia != ib:
            raise SystemExit(f"gpt2-bpe: vocab.json+merges.txt encodes {s!r} as {ib}, tokenizer.json as {ia}")
        if a.decode(ia, skip_special_tokens=False) != s:
            raise SystemExit(f"gpt2-bpe: decode(encode({s!r})) differs")


def check_llama3(d: Path, strings: list[str]) -> None:
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    bos = tok.token_to_id("<|begin_of_text|>")
    for s in strings:
        e, p = tok.encode(s).ids, tok.encode(s, add_special_tokens=False).ids
        assert e == [bos] + p, s
        assert tok.decode(p, skip_special_tokens=False) == s, s


def check_transformers(d: Path, strings: list[str], what: str) -> None:
    """transformers (AutoTokenizer from the directory) must give the same ids as the tokenizers library."""
    import transformers
    from transformers import AutoTokenizer

    transformers.logging.set_verbosity_error()
    hf = AutoTokenizer.from_pretrained(str(d))
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    for s in strings:
        want = tok.encode(s).ids
        got = hf(s)["input_ids"]
        if got != want:
            raise SystemExit(f"{what}: transformers encodes {s!r} as {got}, tokenizers as {want}")
    print(f"  {what}: transformers {type(hf).__name__} agrees with tokenizers on {len(strings)} strings")


def compare_spm(d: Path, name: str, strings: list[str]) -> tuple[int, int]:
    """How often a tokenizer.json differs from sentencepiece itself. Returns (differences on strings containing
    <s>, </s> or <unk>, which tokenizers matches as special tokens and sentencepiece does not; other differences)."""
    sp = spm.SentencePieceProcessor(model_file=str(d / "tokenizer.model"))
    tok = Tokenizer.from_file(str(d / name))
    diff_special, diff_other, examples = 0, 0, []
    for s in strings:
        a = sp.encode(s)
        b = tok.encode(s, add_special_tokens=False).ids
        if a != b:
            if any(t in s for t in ("<s>", "</s>", "<unk>")):
                diff_special += 1
            else:
                diff_other += 1
                if len(examples) < 5:
                    examples.append((s, a, b))
    print(f"  llama-spm: {name} vs tokenizer.model differ on {diff_special} strings containing <s>/</s>/<unk> "
          f"(special tokens in text) and on {diff_other} others")
    for s, a, b in examples:
        print(f"    {s!r}: sentencepiece {a} tokenizers {b}")
    return diff_special, diff_other


CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "How are you?"}]
CHAT_EXPECTED = {
    "llama3-bpe": "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "llama-spm": "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi there [/INST] Hello! </s><s>[INST] How are you? [/INST]",
}


def check_chat_templates() -> None:
    """transformers renders both chat templates to the intended text."""
    from transformers import AutoTokenizer

    for name, want in CHAT_EXPECTED.items():
        hf = AutoTokenizer.from_pretrained(str(ROOT / name))
        got = hf.apply_chat_template(CHAT, tokenize=False, add_generation_prompt=True)
        if got != want:
            raise SystemExit(f"{name}: chat template renders {got!r}, expected {want!r}")
    print("  chat templates render as intended (transformers apply_chat_template)")


# ----------------------------------------------------------------------------------------------------------------


def fresh(name: str) -> Path:
    d = ROOT / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    return d


def main() -> None:
    import transformers

    print(f"tokenizers {tokenizers.__version__}, sentencepiece {spm.__version__}, transformers "
          f"{transformers.__version__}, python {sys.version.split()[0]}")
    stdlib, _ = stdlib_lines()
    lines = training_lines()
    print(f"training text: {len(lines)} lines, {sum(len(x) for x in lines)} characters")
    strings = make_strings(stdlib)
    (ROOT / "strings.jsonl").write_text("".join(dump_line(s) + "\n" for s in strings), encoding="utf-8")
    back = [json.loads(x) for x in (ROOT / "strings.jsonl").read_text(encoding="utf-8").split("\n")[:-1]]
    assert back == strings
    print(f"strings.jsonl: {len(strings)} strings")

    d = fresh("gpt2-bpe")
    gpt2 = build_gpt2(lines)
    write_gpt2(gpt2, d)
    check_gpt2_pair(d, strings)
    check_transformers(d, strings, "gpt2-bpe")

    d = fresh("llama3-bpe")
    l3 = build_llama3(lines)
    write_llama3(l3, d)
    check_llama3(d, strings)
    check_transformers(d, strings, "llama3-bpe")

    d = fresh("llama-spm")
    (d / "tokenizer.model").write_bytes(train_spm(lines))
    sp = spm.SentencePieceProcessor(model_file=str(d / "tokenizer.model"))
    assert sp.get_piece_size() == 512 and (sp.unk_id(), sp.bos_id(), sp.eos_id()) == (0, 1, 2)
    assert [sp.id_to_piece(i) for i in (3, 4, 258)] == ["<0x00>", "<0x01>", "<0xFF>"]
    convert_spm(d / "tokenizer.model", d)
    check_transformers(d, strings, "llama-spm")
    _, other = compare_spm(d, "tokenizer.json", strings)
    # transformers 5.23's Metaspace(prepend_scheme="first") does not add the dummy "▁" when the text already starts
    # with a space; sentencepiece does. Every other string must agree.
    lead = sum(1 for s in strings if s.startswith(" ") and not any(t in s for t in ("<s>", "</s>", "<unk>")))
    assert other <= lead, (other, lead)
    write_spm_legacy(d)
    _, other = compare_spm(d, "tokenizer-legacy.json", strings)
    assert other == 0, "the legacy layout must encode like sentencepiece"
    check_chat_templates()


if __name__ == "__main__":
    main()
