#!/usr/bin/env python3
"""Writes the malformed tokenizer inputs under vectors/ and vectors.json.

Each vector is a small valid tokenizer with one thing wrong (or, for the `ok` entries, nothing wrong: the
bases the broken files are made from, so a refusal is known to come from the one change). vectors.json
lists every file, its kind and the exact line WeightKit must give:

    <path of the file the message names>: <message>

`names` is that file relative to vectors/ (for a directory it is the file in it that is wrong; for a
chat template it is the directory followed by " (chat template)", as `weightkit generate --chat` says).
Tests/TokenizersTests/TokenizerVectorTests.swift walks the list through the loaders and
Tests/CLITests/TokenizerBadInputCLITests.swift through `weightkit tokenize`.

Kinds and how they are read:
    tokenizer.json   vectors/json/NAME.json                Tokenizer.load(path:) on the file
    tokenizer.model  vectors/model/NAME.model              Tokenizer.load(path:) on the file
    gguf             vectors/gguf/NAME.gguf                the GGUF reader, then Tokenizer.fromGGUF
    vocab+merges     vectors/dirs/NAME/{vocab.json,merges.txt}   Tokenizer.load(path:) on the directory
    directory        vectors/dirs/NAME/ (tokenizer.json + configuration files)   likewise
    chat template    vectors/chat/NAME/ (a tokenizer whose template is refused)  load, then parse the template

Two cases are too big to keep in the repository and are built by the Swift test instead: a tokenizer.json
with a 10 MB vocabulary entry (reads, and encodes quickly) and a file one byte over the 1 GiB read limit
(a sparse file, refused before anything is read).

Run: python3 Formats/tokenizers/make_vectors.py   (stdlib, gguf and sentencepiece; deterministic)
"""
import json
import os
import shutil
import struct

import logging

import gguf
from sentencepiece import sentencepiece_model_pb2 as spm_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "vectors")
vectors = []


def put(rel, data):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode("utf-8"))


def dumps(obj):
    return json.dumps(obj, indent=1, ensure_ascii=False) + "\n"


def entry(file, kind, message, note, names=None):
    v = {"file": file, "kind": kind}
    if message is None:
        v["expect"] = "ok"
    else:
        v["expect"] = "error"
        v["names"] = names or file
        v["message"] = message
    v["note"] = note
    vectors.append(v)


# ---- tokenizer.json ------------------------------------------------------------------------------
# A small BPE tokenizer that the `tokenizers` package loads: six model tokens, one merge, one added
# special token, a Split pre-tokenizer.

def base():
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [{"id": 6, "content": "<s>", "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "Split", "pattern": {"Regex": " ?[a-c]+"}, "behavior": "Isolated", "invert": False},
        "post_processor": None,
        "decoder": None,
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {"<unk>": 0, "a": 1, "b": 2, "ab": 3, "c": 4, " ": 5, "<s>": 6},
                  "merges": ["a b"]},
    }


def tj(name, message, note, doc=None, text=None, change=None):
    """A tokenizer.json vector: `doc` as JSON, or `text` as it is, or the base with `change` applied."""
    if text is None:
        if doc is None:
            doc = base()
            change(doc)
        text = dumps(doc)
    put("json/" + name, text)
    entry("json/" + name, "tokenizer.json", message, note)


def model(**kv):
    def f(d):
        d["model"].update(kv)
    return f


def vocab(**kv):
    def f(d):
        d["model"]["vocab"].update(kv)
    return f


def merges(*m):
    def f(d):
        d["model"]["merges"] = list(m)
    return f


def split(pattern, **kv):
    def f(d):
        d["pre_tokenizer"] = {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}
        d["pre_tokenizer"].update(kv)
    return f


def part(key, value):
    def f(d):
        d[key] = value
    return f


def added(*tokens):
    def f(d):
        d["added_tokens"] = [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
                              "normalized": False, "special": True} for i, c in tokens]
    return f


tj("base.json", None, "the base every tokenizer.json vector changes in one place", change=lambda d: None)

# The file itself.
tj("not_json.json", "not valid JSON: invalid literal, expected 'true' at byte 1",
   "plain text", text="this is not JSON\n")
BASE_TEXT = dumps(base())
tj("truncated.json",
   "not valid JSON: unterminated string at byte 694",
   "the base cut off in the middle of the vocabulary",
   text=BASE_TEXT[:BASE_TEXT.index('"ab": 3') + 3])
tj("empty.json", "the file is empty, not JSON", "an empty file", text="")
tj("lfs_pointer.json",
   "this is a Git LFS pointer, not the file itself (run `git lfs pull` to fetch it)",
   "a Git LFS pointer where the file should be",
   text="version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 9085698\n")
tj("html.json",
   "this is an HTML page (a failed download?), not JSON",
   "an HTML error page saved as tokenizer.json",
   text="<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body>Not Found</body></html>\n")
tj("top_level_array.json", "the top level is not a JSON object", "a JSON array", text="[1, 2, 3]\n")
tj("top_level_string.json", "the top level is not a JSON object", "a JSON string", text='"tokenizer"\n')
tj("no_model.json",
   'no "model" object',
   "an object without a model", doc={"version": "1.0", "added_tokens": []})
raw = dumps(base()).encode()
put("json/invalid_utf8.json", raw.replace(b'"ab": 3', b'"a\xffb": 3'))
entry("json/invalid_utf8.json",
      "tokenizer.json",
      "not valid JSON: string is not valid UTF-8 at byte 696",
      "a byte 0xFF inside a vocabulary string")
tj("nested_deep.json",
   "not valid JSON: JSON nested deeper than 128 levels at byte 137",
   "arrays nested 10,000 deep (the JSON reader stops at its depth limit)",
   text='{"model": ' + "[" * 10_000 + "]" * 10_000 + "}\n")
tj("syntax_error_after_vocab.json",
   "not valid JSON: invalid literal, expected 'true' at byte 781",
   "a bad literal after the vocabulary: the byte offset is the file's, not that of the text WeightKit parses "
   "with the vocabulary set aside",
   text=BASE_TEXT.replace('"merges": [\n   "a b"\n  ]', '"merges": [\n   "a b"\n  ],\n  "extra": tru'))
tj("duplicate_key_model.json",
   "key 'model' appears twice in the top-level object; JSON readers disagree on which one counts",
   "two \"model\" members: JSON readers disagree on which one counts (Python takes the last, serde refuses)",
   text=dumps(base())[:-2] + ',\n "model": {"type": "BPE", "vocab": {}, "merges": []}\n}\n')
tj("duplicate_key_type.json",
   "key 'type' appears twice in model; JSON readers disagree on which one counts",
   "the model's \"type\" given twice",
   text=dumps(base()).replace('"type": "BPE"', '"type": "BPE", "type": "WordPiece"'))
tj("duplicate_key_vocab.json",
   "vocab has 'a' twice, as ids 1 and 7",
   "the token \"a\" listed twice in the vocabulary, with two ids",
   text=dumps(base()).replace('"a": 1', '"a": 1, "a": 7'))

# The model.
tj("model_wordpiece.json",
   "model type 'WordPiece' is not supported (BPE is; WordPiece, Unigram and WordLevel are not)",
   "a WordPiece model (BERT)",
   change=part("model", {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                         "max_input_chars_per_word": 100, "vocab": {"[UNK]": 0, "a": 1, "##b": 2}}))
tj("model_unigram.json",
   "model type 'Unigram' is not supported (BPE is; WordPiece, Unigram and WordLevel are not)",
   "a Unigram model (T5, ALBERT)",
   change=part("model", {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["a", -1.0], ["b", -2.0]]}))
tj("model_wordlevel.json",
   "model type 'WordLevel' is not supported (BPE is; WordPiece, Unigram and WordLevel are not)",
   "a WordLevel model",
   change=part("model", {"type": "WordLevel", "vocab": {"<unk>": 0, "a": 1}, "unk_token": "<unk>"}))
tj("model_no_type.json",
   "the model has no \"type\" (only BPE is supported)",
   "a model with neither type nor merges",
   change=part("model", {"vocab": {"a": 0}}))
tj("model_dropout.json",
   "BPE dropout 0.1 is not supported (encoding would be random)",
   "BPE dropout makes encoding random", change=model(dropout=0.1))
tj("vocab_not_object.json",
   "the model has no \"vocab\" object of token → id",
   "the vocabulary as a list", change=model(vocab=["a", "b"]))

# Vocabulary ids.
tj("vocab_duplicate_id.json",
   "vocab id 1 is given to both 'a' and 'b'",
   "two tokens with id 1", change=vocab(b=1))
tj("vocab_id_out_of_range.json",
   "vocab id of 'c' is 99; the 7 ids must be the integers 0..<7, each once",
   "an id past the end (ids must be 0..<count)", change=vocab(c=99))
tj("vocab_id_negative.json",
   "vocab id of 'c' is -1; the 7 ids must be the integers 0..<7, each once",
   "a negative id", change=vocab(c=-1))
tj("vocab_id_fraction.json",
   "vocab id of 'c' is 4.5; the 7 ids must be the integers 0..<7, each once",
   "an id with a fraction", change=vocab(c=4.5))
tj("vocab_id_string.json",
   "vocab id of 'c' is \"4\"; the 7 ids must be the integers 0..<7, each once",
   "an id written as a string", change=vocab(c="4"))
tj("vocab_id_huge.json",
   "vocab id of 'c' is 18446744073709551616; the 7 ids must be the integers 0..<7, each once",
   "an id past 2^64", change=vocab(c=18446744073709551616))

# Merges.
tj("merge_unknown_token.json",
   "merge 1 ('a' 'x') names 'x', which is not in the vocabulary",
   "a merge naming a token the vocabulary lacks", change=merges("a b", "a x"))
tj("merge_result_missing.json",
   "merge 1 ('b' 'c') makes 'bc', which is not in the vocabulary",
   "a merge whose result 'bc' is not in the vocabulary",
   change=merges("a b", "b c"))
tj("merge_no_space.json",
   "merge 1 'ab' is not two tokens separated by one space",
   "a merge string without a space", change=merges("a b", "ab"))
tj("merge_three_parts.json",
   "merge 0 'a b c' is not two tokens separated by one space",
   "a merge string of three tokens", change=merges("a b c"))
tj("merge_leading_space.json",
   "merge 0 ' ab' is not two tokens separated by one space",
   "a merge string beginning with its space", change=merges(" ab"))
tj("merge_bad_pair.json",
   "merge 0 is [\"a\"], neither \"a b\" nor [\"a\", \"b\"]",
   "a merge as a list of one token", change=merges(["a"]))
tj("merge_number.json",
   "merge 0 is 7, neither \"a b\" nor [\"a\", \"b\"]",
   "a merge that is a number", change=merges(7))

# Added tokens.
tj("added_id_out_of_range.json",
   "added token '<big>' has id 16777215, too far past the 7 vocabulary tokens (added ids here must be below 1035)",
   "an added token id far past the vocabulary",
   change=added((6, "<s>"), (16777215, "<big>")))
tj("added_id_negative.json",
   "added token '<neg>' has id -1; ids cannot be negative",
   "a negative added token id", change=added((-1, "<neg>")))
tj("added_id_clash.json",
   "added token '<pad>' has id 1, which the vocabulary gives to 'a'",
   "an added token given the id of the vocabulary's 'a'",
   change=added((1, "<pad>")))
tj("added_id_twice.json",
   "added token id 7 appears twice",
   "two added tokens with one id", change=added((7, "<x>"), (7, "<y>")))
tj("added_not_list.json", "added_tokens is not a list", "added_tokens as an object",
   change=part("added_tokens", {"<s>": 6}))
tj("added_no_id.json", "added token 0 has no integer id or no content", "an added token without an id",
   change=part("added_tokens", [{"content": "<s>", "special": True}]))

# Components WeightKit does not implement: refused by name, never ignored.
tj("normalizer_bert.json", "normalizer type 'BertNormalizer' is not supported", "BertNormalizer",
   change=part("normalizer", {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                              "strip_accents": None, "lowercase": True}))
tj("normalizer_precompiled.json",
   "normalizer type 'Precompiled' is not supported",
   "SentencePiece's precompiled normalizer",
   change=part("normalizer", {"type": "Precompiled", "precompiled_charsmap": "AAAA"}))
tj("normalizer_no_type.json", "a normalizer has no \"type\"", "a normalizer object without a type",
   change=part("normalizer", {"lowercase": True}))
tj("pretokenizer_whitespace.json",
   "pre-tokenizer type 'Whitespace' is not supported",
   "the Whitespace pre-tokenizer",
   change=part("pre_tokenizer", {"type": "Whitespace"}))
tj("pretokenizer_not_object.json",
   "the pre-tokenizer is \"ByteLevel\", not an object with a \"type\"",
   "a pre-tokenizer given as a string",
   change=part("pre_tokenizer", "ByteLevel"))
tj("pretokenizer_sequence_unsupported.json",
   "pre-tokenizer type 'Punctuation' is not supported",
   "an unsupported pre-tokenizer inside a Sequence",
   change=part("pre_tokenizer", {"type": "Sequence", "pretokenizers": [
       {"type": "Digits", "individual_digits": True}, {"type": "Punctuation", "behavior": "Isolated"}]}))
tj("decoder_wordpiece.json", "decoder type 'WordPiece' is not supported", "the WordPiece decoder",
   change=part("decoder", {"type": "WordPiece", "prefix": "##", "cleanup": True}))
tj("postprocessor_bert_missing_ids.json",
   "BertProcessing has no cls/sep ids",
   "BertProcessing without its ids",
   change=part("post_processor", {"type": "BertProcessing"}))
tj("postprocessor_bert_ids_out_of_range.json",
   "BertProcessing cls id 4096 is outside the vocabulary (0..<7)",
   "BertProcessing whose cls id is past the vocabulary",
   change=part("post_processor", {"type": "BertProcessing", "cls": ["<s>", 4096], "sep": ["<s>", 6]}))
tj("normalizer_replace_bomb.json",
   "Replace normalizer content is 100000 bytes long, more than the 1024 supported",
   "a Replace normalizer putting 100,000 characters in place of each space (the text would grow without bound)",
   change=part("normalizer", {"type": "Replace", "pattern": {"String": " "}, "content": "x" * 100_000}))
tj("postprocessor_unknown.json",
   "post-processor type 'SpecialTokensAppender' is not supported",
   "an unknown post-processor type",
   change=part("post_processor", {"type": "SpecialTokensAppender"}))
tj("postprocessor_template_id.json",
   "TemplateProcessing token '<s>' has id 70, outside the vocabulary (0..<7)",
   "a template whose special token id is past the vocabulary",
   change=part("post_processor", {"type": "TemplateProcessing", "single": [
       {"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
       "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [70], "tokens": ["<s>"]}}}))

# Split pre-tokenizers and their regular expressions.
tj("split_invert.json",
   "Split pre-tokenizer with invert: true is not supported",
   "Split with invert: true", change=split(" ?[a-c]+", invert=True))
tj("split_behavior.json",
   "Split pre-tokenizer behavior 'MergedWithPrevious' is not supported (Isolated and Removed are)",
   "Split with behavior MergedWithPrevious",
   change=split(" ?[a-c]+", behavior="MergedWithPrevious"))
tj("split_no_pattern.json", "Split pre-tokenizer has no pattern", "Split without a pattern",
   change=part("pre_tokenizer", {"type": "Split", "behavior": "Isolated", "invert": False}))
tj("regex_backreference.json",
   "pre-tokenizer pattern '(a)\\1': back-reference '\\1' is not supported at character 3",
   "a back-reference", change=split(r"(a)\1"))
tj("regex_lookbehind.json",
   "pre-tokenizer pattern '(?<=a)b': look-behind '(?<=' is not supported at character 0",
   "a look-behind", change=split(r"(?<=a)b"))
tj("regex_named_group.json",
   "pre-tokenizer pattern '(?P<w>a+)': named groups '(?P<name>…)' are not supported at character 0",
   "a named group", change=split(r"(?P<w>a+)"))
tj("regex_possessive.json",
   "pre-tokenizer pattern 'a++': possessive quantifiers are not supported at character 2",
   "a possessive quantifier", change=split(r"a++"))
tj("regex_unbalanced.json",
   "pre-tokenizer pattern '(ab': unterminated group at character 3",
   "a group that is never closed", change=split(r"(ab"))
tj("regex_property.json",
   "pre-tokenizer pattern '\\p{Greek}+': Unicode property 'Greek' is not supported at character 0",
   "a Unicode script name", change=split(r"\p{Greek}+"))
tj("regex_nested_quantifier.json",
   "pre-tokenizer pattern '(a+)+b': '(a+)+' at character 0 nests a quantifier inside a repetition over the same characters, which backtracks exponentially; not supported",
   "(a+)+b: nested quantifiers over the same characters, exponential on a long run of a",
   change=split(r"(a+)+b"))
tj("regex_overlapping_alternation.json",
   "pre-tokenizer pattern '(a|a)*c': '(a|a)*' at character 0 repeats alternatives that can begin with the same character, which backtracks exponentially; not supported",
   "(a|a)*c: a repeated alternation whose branches match the same character, exponential",
   change=split(r"(a|a)*c"))
tj("regex_nested_star.json",
   "pre-tokenizer pattern '(?:\\s*\\S*)*x': '(?:\\s*\\S*)*' at character 0 nests a quantifier inside a repetition over the same characters, which backtracks exponentially; not supported",
   "(?:a*b*)*: nested stars over overlapping characters",
   change=split(r"(?:\s*\S*)*x"))
tj("regex_group_count.json",
   "pre-tokenizer pattern '(?:ab){100000}': '(?:ab){100000}' at character 0 repeats a group more than 500 times; not supported",
   "a group repeated more times than a match may repeat a group",
   change=split(r"(?:ab){100000}"))
tj("regex_too_long.json",
   "pre-tokenizer pattern 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'… is 20000 characters long, more than the 16384 supported",
   "a pattern of 20,000 characters", change=split("a" * 20_000))
tj("regex_deep_groups.json",
   "pre-tokenizer pattern '(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((('…: groups nested more than 64 deep at character 64",
   "groups nested 100 deep", change=split("(" * 100 + "a" + ")" * 100))
tj("regex_linear_group.json", None,
   "(?:ab)+ and (a|b)+: a repeated group over characters that cannot be confused reads (and is linear)",
   change=split(r"(?:ab)+|(?:c|b)+| "))

# ---- vocab.json + merges.txt ---------------------------------------------------------------------

VOCAB = {"a": 0, "b": 1, "ab": 2, "c": 3, "Ġ": 4, "<|endoftext|>": 5}


def vm(name, message, note, vocab_text=None, merges_text="#version: 0.2\na b\n", names=None):
    put(f"dirs/{name}/vocab.json", vocab_text if vocab_text is not None else dumps(VOCAB))
    put(f"dirs/{name}/merges.txt", merges_text)
    entry(f"dirs/{name}", "vocab+merges", message, note, names=names and f"dirs/{name}/{names}")


vm("vm_base", None, "the base vocab.json + merges.txt")
vm("vm_merge_unknown",
   "line 3: 'a x' names 'x', which is not in vocab.json",
   "merges.txt line 3 names 'x', which vocab.json lacks",
   merges_text="#version: 0.2\na b\na x\n", names="merges.txt")
vm("vm_merge_result_missing",
   "line 3: 'b c' makes 'bc', which is not in vocab.json",
   "merges.txt line 3 makes 'bc', which vocab.json lacks",
   merges_text="#version: 0.2\na b\nb c\n", names="merges.txt")
vm("vm_merge_no_space",
   "line 2: 'ab' is not two tokens separated by one space",
   "merges.txt line 2 has no space",
   merges_text="#version: 0.2\nab\n", names="merges.txt")
vm("vm_vocab_array",
   "the top level is not a JSON object of token → id",
   "vocab.json is a list", vocab_text='["a", "b"]\n', names="vocab.json")
vm("vm_vocab_not_json",
   "not valid JSON: unterminated string at byte 11",
   "vocab.json is cut off", vocab_text='{"a": 0, "b', names="vocab.json")

# ---- model directories: tokenizer.json with configuration files -----------------------------------


def tdir(name, files, message, note, names, kind="directory"):
    put(f"dirs/{name}/tokenizer.json", dumps(base()))
    for fname, content in files.items():
        put(f"dirs/{name}/{fname}", content if isinstance(content, str) else dumps(content))
    if kind == "chat template":
        names = f"dirs/{name} (chat template)"
    elif names:
        names = f"dirs/{name}/{names}"
    entry(f"dirs/{name}", kind, message, note, names=names)


tdir("cfg_base", {"tokenizer_config.json": {"bos_token": "<s>", "add_bos_token": True, "eos_token": "<s>"},
                  "generation_config.json": {"eos_token_id": [6, 3]}},
     None, "the base directory: tokenizer.json, tokenizer_config.json, generation_config.json", None)
tdir("cfg_bos_not_in_vocab", {"tokenizer_config.json": {"bos_token": "<bos>", "add_bos_token": True}},
     "bos_token '<bos>' is not in the vocabulary",
     "tokenizer_config.json names a BOS token the vocabulary lacks",
     "tokenizer_config.json")
tdir("cfg_map_eos_not_in_vocab", {"special_tokens_map.json": {"eos_token": {"content": "</s>", "special": True}}},
     "eos_token '</s>' is not in the vocabulary",
     "special_tokens_map.json names an EOS token the vocabulary lacks (the message names that file)",
     "special_tokens_map.json")
tdir("cfg_bos_not_string", {"tokenizer_config.json": {"bos_token": 6}},
     "bos_token is 6, neither a string nor an object with \"content\"",
     "bos_token given as a number",
     "tokenizer_config.json")
tdir("cfg_added_decoder_clash",
     {"tokenizer_config.json": {"added_tokens_decoder": {"2": {"content": "<pad>", "special": True}}}},
     "added token '<pad>' has id 2, which the vocabulary gives to 'b'",
     "added_tokens_decoder gives the vocabulary's id 2 ('b') to another token",
     "tokenizer_config.json")
tdir("cfg_added_decoder_far",
     {"tokenizer_config.json": {"added_tokens_decoder": {"9999999": {"content": "<far>", "special": True}}}},
     "added_tokens_decoder gives '<far>' the id 9999999, too far past the 7 vocabulary tokens (added ids here must be below 1033)",
     "added_tokens_decoder id far past the vocabulary",
     "tokenizer_config.json")
tdir("cfg_not_json", {"tokenizer_config.json": "{\"bos_token\": \"<s>\",\n"},
     "not valid JSON: expected a string key in object at byte 21",
     "tokenizer_config.json cut off",
     "tokenizer_config.json")
tdir("cfg_duplicate_key", {"tokenizer_config.json": '{"bos_token": "<s>", "bos_token": "<unk>"}\n'},
     "key 'bos_token' appears twice in the top-level object; JSON readers disagree on which one counts",
     "bos_token given twice",
     "tokenizer_config.json")
tdir("gen_eos_out_of_range", {"generation_config.json": {"eos_token_id": [6, 4096]}},
     "eos_token_id 4096 is outside the vocabulary (0..<7)",
     "generation_config.json's eos_token_id past the vocabulary",
     "generation_config.json")
tdir("gen_eos_negative", {"generation_config.json": {"eos_token_id": -1}},
     "eos_token_id -1 is outside the vocabulary (0..<7)", "a negative eos_token_id", "generation_config.json")
tdir("gen_eos_not_integer", {"generation_config.json": {"eos_token_id": "6"}},
     "eos_token_id holds \"6\", not an integer id",
     "eos_token_id written as a string",
     "generation_config.json")

# ---- chat templates (read with the tokenizer, refused when `generate --chat` parses them) -----------

tdir("chat_macro", {"tokenizer_config.json": {
    "chat_template": "{% macro turn(m) %}{{ m.role }}: {{ m.content }}\n{% endmacro %}"
                     "{% for m in messages %}{{ turn(m) }}{% endfor %}"}},
     "chat template: unsupported tag 'macro' at line 1",
     "a template that defines a macro",
     "chat_macro (chat template)", kind="chat template")
tdir("chat_include", {"chat_template.jinja": "{% include 'other.jinja' %}\n"},
     "chat template: unsupported tag 'include' at line 1",
     "a template in chat_template.jinja that includes another file",
     "chat_include (chat template)",
     kind="chat template")
tdir("chat_unclosed", {"tokenizer_config.json": {"chat_template": "{% for m in messages %}{{ m.content }}"}},
     "chat template: 'for' is not closed with 'endfor' at line 1",
     "a for loop never closed",
     "chat_unclosed (chat template)", kind="chat template")

# ---- SentencePiece tokenizer.model (SentencePieceTests holds the full set; three representatives) ----


def spm_model():
    m = spm_pb2.ModelProto()
    for piece, score, typ in [("<unk>", 0, 2), ("<s>", 0, 3), ("</s>", 0, 3), ("\u2581a", -1, 1), ("a", -2, 1),
                              ("b", -3, 1), ("\u2581", -4, 1)]:
        p = m.pieces.add()
        p.piece, p.score, p.type = piece, score, typ
    m.trainer_spec.model_type = spm_pb2.TrainerSpec.BPE
    m.trainer_spec.vocab_size = 7
    m.trainer_spec.byte_fallback = False
    m.normalizer_spec.name = "identity"
    m.normalizer_spec.add_dummy_prefix = True
    m.normalizer_spec.remove_extra_whitespaces = True
    m.normalizer_spec.escape_whitespaces = True
    return m.SerializeToString(deterministic=True)


spm = spm_model()
put("model/base.model", spm)
entry("model/base.model", "tokenizer.model", None, "the base tokenizer.model (7 BPE pieces)")
put("model/truncated.model", spm[:len(spm) // 2])
entry("model/truncated.model",
      "tokenizer.model",
      "ModelProto: pieces: length 10 runs past the end of its file (0 bytes left) at byte 61",
      "the base cut in half")
# The first record is pieces (field 1, length-delimited); its length byte follows the key 0x0A.
assert spm[0] == 0x0A and spm[1] < 0x80
put("model/lying_length.model", bytes([0x0A, 0x7F]) + spm[2:])
entry("model/lying_length.model",
      "tokenizer.model",
      "ModelProto: pieces: length 127 runs past the end of its file (123 bytes left) at byte 1",
      "the first piece's record claims 127 bytes, running into the next records")
put("model/not_protobuf.model", dumps(base()))
entry("model/not_protobuf.model",
      "tokenizer.model",
      "this is a JSON text file (a tokenizer.json?), not a SentencePiece model",
      "a tokenizer.json saved as tokenizer.model")

# ---- GGUF tokenizer.ggml.* keys (gguf-py's writer, no tensors) -----------------------------------------

GPT2_TOKENS = ["a", "b", "ab", "c", "Ġ", "<|endoftext|>"]
LLAMA_TOKENS = ["<unk>", "<s>", "</s>", "\u2581a", "a", "b", "\u2581"]


def gg(name, message, note, model="gpt2", tokens=None, types=None, scores=None, merges=None, pre="gpt-2",
       extra=None, omit=()):
    path = os.path.join(OUT, "gguf", name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    w = gguf.GGUFWriter(path, "gpt2" if model != "llama" else "llama")
    w.add_tokenizer_model(model)
    toks = tokens if tokens is not None else (GPT2_TOKENS if model != "llama" else LLAMA_TOKENS)
    if "tokens" not in omit:
        if toks == []:
            w.add_token_list([EMPTY_SENTINEL])  # gguf-py writes no empty array; emptied below
        elif isinstance(toks, list) and all(isinstance(t, str) for t in toks):
            w.add_token_list(toks)
        else:
            w.add_key_value("tokenizer.ggml.tokens", toks[0], toks[1], toks[2] if len(toks) > 2 else None)
    n = len(toks) if isinstance(toks, list) else 0
    if model == "llama":
        w.add_token_scores(scores if scores is not None else [0.0] + [-float(i) for i in range(1, n)])
        w.add_token_types(types if types is not None else [2, 3, 3] + [1] * (n - 3))
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
    else:
        if pre is not None:
            w.add_tokenizer_pre(pre)
        if "types" not in omit:
            w.add_token_types(types if types is not None else [1] * (n - 1) + [3] if n else [])
        if "merges" not in omit:
            w.add_token_merges(merges if merges is not None else ["a b"])
        w.add_bos_token_id(n - 1 if n else 0)
        w.add_eos_token_id(n - 1 if n else 0)
    for k, (v, t) in (extra or {}).items():
        w.add_key_value(k, v, t)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    if toks == []:
        empty_array(path, "tokenizer.ggml.tokens", EMPTY_SENTINEL)
    entry("gguf/" + name, "gguf", message, note)


EMPTY_SENTINEL = "<empty>"


def empty_array(path, key, element):
    """Rewrites the one-string array `key` of a file with no tensors as an empty array."""
    k = key.encode()
    e = element.encode()
    one = struct.pack("<Q", len(k)) + k + struct.pack("<IIQ", 9, 8, 1) + struct.pack("<Q", len(e)) + e
    none = struct.pack("<Q", len(k)) + k + struct.pack("<IIQ", 9, 8, 0)
    with open(path, "rb") as f:
        data = f.read()
    assert data.count(one) == 1
    data = data.replace(one, none)
    data += b"\0" * ((32 - len(data) % 32) % 32)
    with open(path, "wb") as f:
        f.write(data)


V = gguf.GGUFValueType
logging.disable(logging.WARNING)  # gguf-py warns when a key is set twice, which some vectors do on purpose
gg("base_gpt2.gguf", None, "the base byte-level BPE keys (model gpt2, pre gpt-2)")
gg("base_llama.gguf", None, "the base SentencePiece keys (model llama)", model="llama")
gg("token_type_short.gguf",
   "tokenizer.ggml.token_type has 3 entries but tokenizer.ggml.tokens has 6",
   "token_type has fewer entries than tokens", types=[1, 1, 1])
gg("scores_long.gguf",
   "tokenizer.ggml.scores has 9 entries but tokenizer.ggml.tokens has 7",
   "scores has more entries than tokens", model="llama", scores=[0.0] * 9)
gg("tokens_not_strings.gguf",
   "tokenizer.ggml.tokens is not an array of strings",
   "tokens is an array of integers",
   tokens=([1, 2, 3], V.ARRAY, V.INT32), omit=("types",))
gg("tokens_not_array.gguf",
   "tokenizer.ggml.tokens is not an array of strings",
   "tokens is one string", tokens=("a b ab", V.STRING), omit=("types",))
gg("tokens_missing.gguf", "tokenizer.ggml.tokens is missing", "no tokens key", omit=("tokens", "types"))
gg("bos_out_of_range.gguf",
   "tokenizer.ggml.bos_token_id = 6 is outside the vocabulary (6 tokens)",
   "bos_token_id past the vocabulary",
   extra={"tokenizer.ggml.bos_token_id": (6, V.UINT32)})
gg("eos_not_integer.gguf", "tokenizer.ggml.eos_token_id is not an integer", "eos_token_id as a string",
   extra={"tokenizer.ggml.eos_token_id": ("5", V.STRING)})
gg("model_bert.gguf",
   "tokenizer.ggml.model 'bert' is not supported (gpt2 and llama are)",
   "tokenizer.ggml.model bert (WordPiece)", model="bert")
gg("model_not_string.gguf", "tokenizer.ggml.model is not a string", "tokenizer.ggml.model as a number",
   extra={"tokenizer.ggml.model": (2, V.UINT32)})
gg("pre_unknown.gguf",
   "tokenizer.ggml.pre 'my-new-tokenizer' is not supported; supported: gpt-2, mpt, olmo, phi-2, jais, roberta-bpe, llama-bpe, llama3, llama-v3, dbrx, smaug-bpe, default, qwen2, stablelm2, deepseek-r1-qwen, megrez, starcoder, refact, command-r, smollm, codeshell, exaone, minerva-7b, falcon, deepseek-coder, deepseek-llm, qwen35, chatglm-bpe",
   "a pre-tokenizer name llama.cpp does not have (the message lists the known ones)",
   pre="my-new-tokenizer")
gg("merge_no_space.gguf",
   "tokenizer.ggml.merges[1] 'ab' is not two tokens separated by a space",
   "a merge without a space", merges=["a b", "ab"])
gg("merge_unknown_token.gguf",
   "merge 0 ('a' 'x') names 'x', which is not in the vocabulary",
   "a merge naming a token the vocabulary lacks", merges=["a x"])
gg("merges_missing.gguf",
   "tokenizer.ggml.merges is missing",
   "a gpt2 tokenizer without merges", omit=("merges",))
gg("vocab_empty.gguf",
   "tokenizer.ggml.tokens is empty",
   "an empty vocabulary", tokens=[], types=[], merges=[])
gg("llama_vocab_empty.gguf",
   "tokenizer.ggml.tokens is empty",
   "an empty SentencePiece vocabulary", model="llama", tokens=[], scores=[],
   types=[])
gg("llama_bad_type.gguf",
   "token 4 'a' has type 9, not one of 1 (normal) … 6 (byte)",
   "a SentencePiece piece of type 9", model="llama",
   types=[2, 3, 3, 1, 9, 1, 1])
gg("pre_not_string.gguf", "tokenizer.ggml.pre is not a string", "tokenizer.ggml.pre as a number", pre=None,
   extra={"tokenizer.ggml.pre": (7, V.UINT32)})


# ---- vectors.json --------------------------------------------------------------------------------------

with open(os.path.join(HERE, "vectors.json"), "w") as f:
    json.dump({"about": "Malformed tokenizer inputs and the exact line WeightKit gives for each (see make_vectors.py)",
               "vectors": vectors}, f, indent=1, ensure_ascii=False)
    f.write("\n")
print(f"{len(vectors)} vectors")
