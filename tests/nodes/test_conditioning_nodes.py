"""Conditioning nodes: TextEncode (clip skip, weights, long prompts), TextEncodeSDXL's guard,
ConditioningCombine and ConditioningZero."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from nodes.text_encoding import Conditioning


def encode(run, checkpoint: Path, **prompts: dict) -> dict[str, Conditioning]:
    nodes = {"load": ("CheckpointLoader", {"checkpoint": str(checkpoint)})}
    nodes.update({name: ("TextEncode", {"clip": "@load.clip", **inputs}) for name, inputs in prompts.items()})
    return run(nodes, {name: f"{name}.conditioning" for name in prompts}).outputs


def test_text_encode_shapes_and_options(run, checkpoint: Path) -> None:
    out = encode(
        run, checkpoint,
        plain={"text": "a red circle"},
        skip={"text": "a red circle", "clip_skip": 1},
        weighted={"text": "a (red:1.5) circle"},
        long={"text": "a red circle " * 30},
    )  # fmt: skip
    plain = out["plain"]
    assert plain.embeddings.shape == (1, 77, 32) and plain.pooled is None
    assert plain.embeddings.device.type == "cpu" and plain.embeddings.dtype == torch.float32
    assert not torch.allclose(out["skip"].embeddings, plain.embeddings)
    weighted = out["weighted"].embeddings
    assert torch.equal(weighted[:, 0], plain.embeddings[:, 0]) and not torch.allclose(weighted, plain.embeddings)
    assert out["long"].embeddings.shape == (1, 154, 32)  # 90 tokens: two 75-token chunks


def test_text_encode_sdxl_needs_two_encoders(run, checkpoint: Path) -> None:
    nodes = {
        "load": ("CheckpointLoader", {"checkpoint": str(checkpoint)}),
        "xl": ("TextEncodeSDXL", {"clip": "@load.clip", "text": "a red circle"}),
    }
    result = run(nodes, {"c": "xl.conditioning"}, expect_ok=False)
    assert "needs an SDXL CLIP" in result.failures["xl"].message


def test_combine_and_zero(run, checkpoint: Path) -> None:
    nodes = {
        "load": ("CheckpointLoader", {"checkpoint": str(checkpoint)}),
        "a": ("TextEncode", {"clip": "@load.clip", "text": "a red circle"}),
        "b": ("TextEncode", {"clip": "@load.clip", "text": "on a blue background"}),
        "both": ("ConditioningCombine", {"first": "@a.conditioning", "second": "@b.conditioning"}),
        "zero": ("ConditioningZero", {"conditioning": "@a.conditioning"}),
    }
    out = run(nodes, {n: f"{n}.conditioning" for n in ("a", "b", "both", "zero")}).outputs
    assert torch.equal(out["both"].embeddings, torch.cat([out["a"].embeddings, out["b"].embeddings], dim=1))
    assert out["zero"].embeddings.shape == out["a"].embeddings.shape and out["zero"].embeddings.abs().sum() == 0
    assert out["a"].embeddings.abs().sum() > 0  # the cached input was not modified


def test_combine_refuses_mismatched_conditionings() -> None:
    from nodes.definitions.conditioning import ConditioningCombine

    one, two = Conditioning(torch.zeros(1, 77, 32)), Conditioning(torch.zeros(2, 77, 32))
    with pytest.raises(ValueError, match="1 and 2 prompts"):
        ConditioningCombine(one, two)
    with pytest.raises(ValueError, match="32- and 64-dimensional"):
        ConditioningCombine(one, Conditioning(torch.zeros(1, 77, 64)))
