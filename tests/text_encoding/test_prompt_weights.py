"""The prompt-weight parser: A1111/ComfyUI emphasis syntax."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nodes.text_encoding import PromptSyntaxError, WeightedText, parse_prompt_weights


def runs(prompt: str) -> list[tuple[str, float]]:
    return [(run.text, round(run.weight, 6)) for run in parse_prompt_weights(prompt)]


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("a cat", [("a cat", 1.0)]),
        ("", [("", 1.0)]),
        ("a (red) cat", [("a ", 1.0), ("red", 1.1), (" cat", 1.0)]),
        ("((red))", [("red", 1.21)]),
        ("(red:1.5) cat", [("red", 1.5), (" cat", 1.0)]),
        ("(red:0.25)", [("red", 0.25)]),
        ("[red]", [("red", round(1 / 1.1, 6))]),
        ("[[red]]", [("red", round(1 / 1.21, 6))]),
        ("(a (b:1.5))", [("a ", 1.1), ("b", 1.65)]),
        ("(a [b])", [("a ", 1.1), ("b", 1.0)]),
        ("(red:1.2)(blue:1.2)", [("redblue", 1.2)]),
        ("(16:9 ratio)", [("16:9 ratio", 1.1)]),
        ("(a:b)", [("a:b", 1.1)]),
        ("\\(literal\\) \\[too\\] \\\\", [("(literal) [too] \\", 1.0)]),
        ("a \\(b\\) (c)", [("a (b) ", 1.0), ("c", 1.1)]),
        ("()", [("", 1.0)]),
        ("a\\b", [("a\\b", 1.0)]),
    ],
)
def test_parse(prompt: str, expected: list[tuple[str, float]]) -> None:
    assert runs(prompt) == expected


@pytest.mark.parametrize(
    ("prompt", "problem"),
    [
        ("a (cat", r"'\(' is never closed at character 3"),
        ("a cat)", r"unexpected '\)' at character 6"),
        ("(a]", r"unexpected '\]' at character 3"),
        ("[a (b]", r"unexpected '\]'"),
    ],
)
def test_unbalanced_brackets_are_errors(prompt: str, problem: str) -> None:
    with pytest.raises(PromptSyntaxError, match=problem) as raised:
        parse_prompt_weights(prompt)
    assert r"\(" in str(raised.value)  # tells how to escape


@given(st.text(alphabet=st.characters(blacklist_characters="()[]\\"), min_size=1))
def test_text_without_syntax_is_one_unweighted_run(text: str) -> None:
    assert parse_prompt_weights(text) == [WeightedText(text, 1.0)]


@given(st.text(alphabet=st.characters(blacklist_characters="()[]\\:"), min_size=1), st.floats(0.0, 3.0))
def test_explicit_weight_round_trips(text: str, weight: float) -> None:
    assert parse_prompt_weights(f"({text}:{weight!r})") == [WeightedText(text, weight)]
