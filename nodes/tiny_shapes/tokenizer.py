"""Train a real CLIP byte-level BPE tokenizer on the caption vocabulary.

The files written (vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json)
have the layout of the original CLIP tokenizer, so `transformers.CLIPTokenizer` loads them
exactly as it loads SD's: 256 byte symbols, the same 256 with the end-of-word marker, one
token per learned merge, then the two special tokens (end-of-text has the largest id).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import BPE
from tokenizers.trainers import BpeTrainer

from nodes.tiny_shapes import data

START_TOKEN = "<|startoftext|>"
END_TOKEN = "<|endoftext|>"
END_OF_WORD = "</w>"
MODEL_MAX_LENGTH = 77
# CLIP's own pre-tokenisation rule: special tokens, contractions, letter runs, single digits, other runs.
_CLIP_SPLIT = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def byte_symbols() -> list[str]:
    """The 256 printable stand-ins for raw bytes used by byte-level BPE, in CLIP's vocabulary order.

    Printable Latin-1 bytes stand for themselves; the rest are shifted to code points from 256 up
    so that no symbol is whitespace or a control character.
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    symbols = {byte: chr(byte) for byte in printable}
    shifted = 0
    for byte in range(256):
        if byte not in symbols:
            symbols[byte] = chr(256 + shifted)
            shifted += 1
    # CLIP lists the printable bytes first, then the shifted ones.
    return [symbols[byte] for byte in printable] + [symbols[b] for b in range(256) if b not in printable]


def _training_corpus(count: int, seed: int) -> list[str]:
    """Captions as the data generator writes them, so merge order follows real word frequencies."""
    rng = random.Random(seed)
    captions = [data.caption(data.sample_scene(rng), rng) for _ in range(count)]
    return captions + data.vocabulary()


def learn_merges(corpus: list[str]) -> list[tuple[str, str]]:
    """Byte-level BPE merges learned until every word of the corpus is a single token."""
    tokenizer = Tokenizer(BPE(end_of_word_suffix=END_OF_WORD, continuing_subword_prefix=""))
    tokenizer.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_CLIP_SPLIT), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    trainer = BpeTrainer(
        vocab_size=100_000,  # never the limit: training stops when no pair is left to merge
        min_frequency=1,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        end_of_word_suffix=END_OF_WORD,
    )
    tokenizer.train_from_iterator(corpus, trainer)
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    return [tuple(m.split(" ")) if isinstance(m, str) else (m[0], m[1]) for m in merges]


def clip_vocabulary(merges: list[tuple[str, str]]) -> dict[str, int]:
    """Token -> id in CLIP's order: bytes, bytes + end-of-word, merges, start token, end token."""
    symbols = byte_symbols()
    tokens = symbols + [s + END_OF_WORD for s in symbols] + ["".join(pair) for pair in merges]
    tokens += [START_TOKEN, END_TOKEN]
    vocabulary = {token: index for index, token in enumerate(tokens)}
    if len(vocabulary) != len(tokens):
        raise ValueError("clip_vocabulary: merges produced a duplicate token")
    return vocabulary


def write_tokenizer(directory: Path, corpus_size: int = 5000, seed: int = 0) -> dict[str, int]:
    """Train on generated captions and write CLIPTokenizer files into `directory`; returns the vocabulary."""
    merges = learn_merges(_training_corpus(corpus_size, seed))
    vocabulary = clip_vocabulary(merges)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vocab.json").write_text(json.dumps(vocabulary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    merge_lines = ["#version: 0.2"] + [f"{left} {right}" for left, right in merges]
    (directory / "merges.txt").write_text("\n".join(merge_lines) + "\n", encoding="utf-8")
    special = {"bos_token": START_TOKEN, "eos_token": END_TOKEN, "pad_token": END_TOKEN, "unk_token": END_TOKEN}
    config = {
        **special,
        "tokenizer_class": "CLIPTokenizer",
        "model_max_length": MODEL_MAX_LENGTH,
        "do_lower_case": True,
    }
    (directory / "special_tokens_map.json").write_text(json.dumps(special, indent=2) + "\n")
    (directory / "tokenizer_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return vocabulary
