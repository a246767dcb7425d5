"""CLIP tokenizers built from the BPE vocabulary shipped with this package (no Hub access).

`vocab/bpe_simple_vocab_16e6.txt.gz` is OpenAI CLIP's merge list (MIT licence, see
`vocab/LICENSE-CLIP.txt`). The token table is derived from it the way CLIP's own
`simple_tokenizer` does: the 256 byte symbols, the same symbols with the end-of-word
marker `</w>`, one token per merge (in merge order), then the two special tokens.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

from transformers import CLIPTokenizer

VOCABULARY_FILE = Path(__file__).parent / "vocab" / "bpe_simple_vocab_16e6.txt.gz"
CLIP_VOCABULARY_SIZE = 49408
CLIP_MAX_LENGTH = 77
BOS_TOKEN = "<|startoftext|>"
EOS_TOKEN = "<|endoftext|>"
# SD 1.x's tokenizer pads with the end token; the OpenCLIP tokenizer of SD 2.x and SDXL pads with "!" (id 0).
OPENAI_PAD_TOKEN = EOS_TOKEN
OPEN_CLIP_PAD_TOKEN = "!"
_END_OF_WORD = "</w>"
# CLIP keeps the first 49152 - 256 - 2 merges, so that bytes + merges + specials fill 49408 ids.
_MERGE_COUNT = 49152 - 256 - 2


@dataclass(frozen=True)
class BpeVocabulary:
    """Token-to-id table and ranked merges, as CLIPTokenizer takes them."""

    vocab: dict[str, int]
    merges: list[tuple[str, str]]


def load_bpe_vocabulary(path: Path = VOCABULARY_FILE) -> BpeVocabulary:
    """Derive CLIP's token table from its gzipped merge list."""
    lines = gzip.decompress(path.read_bytes()).decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : _MERGE_COUNT + 1]]  # line 0 is a version header
    if len(merges) != _MERGE_COUNT or any(len(merge) != 2 for merge in merges):
        raise ValueError(f"{path} is not CLIP's BPE merge list: expected {_MERGE_COUNT} merge pairs after the header")
    symbols = byte_symbols()
    tokens = symbols + [symbol + _END_OF_WORD for symbol in symbols]
    tokens += ["".join(merge) for merge in merges]
    tokens += [BOS_TOKEN, EOS_TOKEN]
    vocab = {token: index for index, token in enumerate(tokens)}
    if len(vocab) != CLIP_VOCABULARY_SIZE:
        raise ValueError(f"{path} yields {len(vocab)} distinct tokens; CLIP's vocabulary has {CLIP_VOCABULARY_SIZE}")
    return BpeVocabulary(vocab=vocab, merges=merges)  # type: ignore[arg-type]


def byte_symbols() -> list[str]:
    """GPT-2's reversible byte alphabet, in CLIP's order: printable bytes stand for themselves, the
    other 68 bytes get characters from U+0100 on, so that no BPE symbol is whitespace or a control."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = 256 - len(printable)
    return [chr(byte) for byte in printable] + [chr(256 + offset) for offset in range(others)]


def clip_tokenizer(vocabulary: BpeVocabulary, *, pad_token: str = OPENAI_PAD_TOKEN) -> CLIPTokenizer:
    """A CLIPTokenizer over the shipped vocabulary; `pad_token` selects the OpenAI or OpenCLIP flavour."""
    if pad_token not in vocabulary.vocab:
        raise ValueError(f"pad token {pad_token!r} is not in the CLIP vocabulary")
    return CLIPTokenizer(
        vocab=dict(vocabulary.vocab),
        merges=list(vocabulary.merges),
        pad_token=pad_token,
        model_max_length=CLIP_MAX_LENGTH,
    )
