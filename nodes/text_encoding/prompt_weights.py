"""Attention-weight syntax in prompts, as A1111 and ComfyUI write it.

    (text)        weight x 1.1          ((text)) = x 1.21, nesting multiplies
    (text:1.3)    weight x 1.3
    [text]        weight / 1.1
    \\( \\) \\[ \\] \\\\   literal brackets and backslash

An unbalanced bracket is an error that says where it is and how to escape it.
"""

from __future__ import annotations

from dataclasses import dataclass

EMPHASIS = 1.1
_OPENERS = {"(": ")", "[": "]"}
_ESCAPABLE = "()[]\\"


class PromptSyntaxError(ValueError):
    """A prompt's weight syntax is malformed; the message names the position."""


@dataclass(frozen=True)
class WeightedText:
    text: str
    weight: float


@dataclass
class _Group:
    closer: str
    start: int
    pieces: list[tuple[str, float]]  # text with the weight relative to this group


def parse_prompt_weights(prompt: str) -> list[WeightedText]:
    """Split a prompt into runs of text with their attention weight (1.0 = unweighted).

    Adjacent runs with equal weight are merged; an empty prompt gives one empty run.
    """
    stack: list[_Group] = [_Group(closer="", start=0, pieces=[])]
    text: list[str] = []

    def flush() -> None:
        if text:
            stack[-1].pieces.append(("".join(text), 1.0))
            text.clear()

    index = 0
    while index < len(prompt):
        char = prompt[index]
        if char == "\\" and index + 1 < len(prompt) and prompt[index + 1] in _ESCAPABLE:
            text.append(prompt[index + 1])
            index += 2
            continue
        if char in _OPENERS:
            flush()
            stack.append(_Group(closer=_OPENERS[char], start=index, pieces=[]))
        elif char in (")", "]"):
            if len(stack) == 1 or stack[-1].closer != char:
                raise PromptSyntaxError(_unbalanced(prompt, index, f"unexpected {char!r}"))
            flush()
            group = stack.pop()
            weight = EMPHASIS if char == ")" else 1 / EMPHASIS
            pieces = group.pieces
            if char == ")":
                pieces, weight = _explicit_weight(pieces, weight)
            stack[-1].pieces.extend((piece, piece_weight * weight) for piece, piece_weight in pieces)
        else:
            text.append(char)
        index += 1
    if len(stack) > 1:
        raise PromptSyntaxError(_unbalanced(prompt, stack[-1].start, f"{prompt[stack[-1].start]!r} is never closed"))
    flush()
    return _merge(stack[0].pieces)


def _explicit_weight(pieces: list[tuple[str, float]], default: float) -> tuple[list[tuple[str, float]], float]:
    """`(text:1.3)`: a number after the group's last colon replaces the default x1.1."""
    if not pieces:
        return pieces, default
    last_text, last_weight = pieces[-1]
    head, colon, number = last_text.rpartition(":")
    if not colon:
        return pieces, default
    try:
        weight = float(number)
    except ValueError:
        return pieces, default
    return [*pieces[:-1], (head, last_weight)], weight


def _merge(pieces: list[tuple[str, float]]) -> list[WeightedText]:
    merged: list[WeightedText] = []
    for text, weight in pieces:
        if not text:
            continue
        if merged and merged[-1].weight == weight:
            merged[-1] = WeightedText(merged[-1].text + text, weight)
        else:
            merged.append(WeightedText(text, weight))
    return merged or [WeightedText("", 1.0)]


def _unbalanced(prompt: str, index: int, problem: str) -> str:
    return (
        f"prompt weight syntax: {problem} at character {index + 1}: ...{prompt[max(0, index - 20) : index + 20]}..."
        f" (write \\( \\) \\[ \\] for literal brackets)"
    )
