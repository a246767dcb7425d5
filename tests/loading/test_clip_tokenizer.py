"""The CLIP tokenizer built from the shipped BPE merges tokenizes like openai/clip-vit-large-patch14.

Expected ids come from CLIP's reference `simple_tokenizer` over the same merge file.
"""

from __future__ import annotations

import pytest

from nodes.loading import clip_tokenizer, load_bpe_vocabulary
from nodes.loading.clip_tokenizer import CLIP_VOCABULARY_SIZE, byte_symbols


@pytest.fixture(scope="module")
def vocabulary():  # type: ignore[no-untyped-def]
    return load_bpe_vocabulary()


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("a photo of a cat", [49406, 320, 1125, 539, 320, 2368, 49407]),
        ("hello world", [49406, 3306, 1002, 49407]),
        ("A photo of a cat, highly detailed!!", [49406, 320, 1125, 539, 320, 2368, 267, 5302, 12609, 748, 49407]),
        (
            "masterpiece, best quality, 1girl, (red:1.2) dress",
            [49406, 12066, 267, 949, 3027, 267, 272, 1611, 267, 263, 736, 281, 272, 269, 273, 264, 2595, 49407],
        ),
        (
            "Schrödinger's café — naïve résumé 123",
            [49406, 844, 81, 7255, 45580, 568, 15304, 2005, 1097, 35689, 563, 29106, 7054, 4166, 272, 273, 274, 49407],
        ),
    ],
)
def test_token_ids_match_clip(vocabulary, text: str, ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    assert clip_tokenizer(vocabulary)(text).input_ids == ids


def test_vocabulary_layout(vocabulary) -> None:  # type: ignore[no-untyped-def]
    assert len(vocabulary.vocab) == CLIP_VOCABULARY_SIZE
    symbols = byte_symbols()
    assert len(symbols) == len(set(symbols)) == 256
    assert vocabulary.vocab["!"] == 0 and vocabulary.vocab["!</w>"] == 256
    assert vocabulary.vocab["<|startoftext|>"] == 49406 and vocabulary.vocab["<|endoftext|>"] == 49407
    assert vocabulary.vocab["".join(vocabulary.merges[0])] == 512  # merges follow the 2 x 256 byte tokens


def test_padding_flavours(vocabulary) -> None:  # type: ignore[no-untyped-def]
    openai = clip_tokenizer(vocabulary)
    open_clip = clip_tokenizer(vocabulary, pad_token="!")
    assert openai.model_max_length == open_clip.model_max_length == 77
    padded = openai("a cat", padding="max_length", max_length=77).input_ids
    assert padded[:4] == [49406, 320, 2368, 49407] and set(padded[4:]) == {49407} and len(padded) == 77
    assert open_clip("a cat", padding="max_length", max_length=8).input_ids == [49406, 320, 2368, 49407, 0, 0, 0, 0]
    with pytest.raises(ValueError, match="not in the CLIP vocabulary"):
        clip_tokenizer(vocabulary, pad_token="<pad>")
