import json
from pathlib import Path

import pytest
from transformers import CLIPTokenizer

from nodes.tiny_shapes import data
from nodes.tiny_shapes.tokenizer import (
    END_TOKEN,
    START_TOKEN,
    byte_symbols,
    write_tokenizer,
)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    folder = tmp_path_factory.mktemp("tokenizer")
    return folder, write_tokenizer(folder, corpus_size=500)


def test_byte_symbols_are_the_256_printable_stand_ins() -> None:
    symbols = byte_symbols()
    assert len(set(symbols)) == 256
    assert symbols[0] == "!" and not any(s.isspace() for s in symbols)


def test_clip_tokenizer_loads_it_and_every_caption_word_is_one_token(written: tuple[Path, dict[str, int]]) -> None:
    folder, vocabulary = written
    tokenizer = CLIPTokenizer.from_pretrained(folder)
    assert tokenizer.model_max_length == 77
    assert tokenizer.bos_token_id == vocabulary[START_TOKEN] == len(vocabulary) - 2
    assert tokenizer.eos_token_id == vocabulary[END_TOKEN] == len(vocabulary) - 1
    for word in data.vocabulary():
        ids = tokenizer(word).input_ids
        assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
        assert tokenizer.convert_ids_to_tokens(ids[1:-1]) == [word + "</w>"], word


def test_layout_follows_clip(written: tuple[Path, dict[str, int]]) -> None:
    folder, vocabulary = written
    ordered = sorted(vocabulary, key=vocabulary.get)
    assert ordered[:256] == byte_symbols()
    assert ordered[256:512] == [s + "</w>" for s in byte_symbols()]
    merges = (folder / "merges.txt").read_text().splitlines()
    assert merges[0].startswith("#version")
    assert len(merges) - 1 == len(vocabulary) - 512 - 2
    assert json.loads((folder / "tokenizer_config.json").read_text())["tokenizer_class"] == "CLIPTokenizer"


def test_words_outside_the_captions_still_tokenize_through_bytes(written: tuple[Path, dict[str, int]]) -> None:
    tokenizer = CLIPTokenizer.from_pretrained(written[0])
    ids = tokenizer("A Photo of a cat!").input_ids
    assert tokenizer.unk_token_id not in ids[1:-1]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "a photo of a cat !"
