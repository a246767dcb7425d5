"""Scoring readings against what the prompts asked for."""

import pytest

from nodes.tiny_shapes.classify import Reading
from nodes.tiny_shapes.evaluate import Target, score


def test_score_counts_hits_and_averages_the_fit_to_the_asked_outline() -> None:
    circle, star = Target("red", "circle", "blue"), Target("white", "star", "black")
    clean = Reading("red", ("blue",), "circle", {"circle": 0.96, "square": 0.84, "triangle": 0.7, "star": 0.65})
    blob = Reading("white", ("black",), None, {"circle": 0.85, "square": 0.86, "triangle": 0.7, "star": 0.6})
    nothing = Reading(None, ("black",), None, {})
    adherence = score([(circle, clean), (star, blob), (star, nothing)])
    assert adherence.count == 3
    assert adherence.colour == pytest.approx(2 / 3) and adherence.background == 1.0
    assert adherence.shape == pytest.approx(1 / 3)
    assert adherence.per_shape == {"circle": 1.0, "star": 0.0}
    assert adherence.shape_fit == pytest.approx((0.96 + 0.6 + 0.0) / 3)


def test_score_needs_images() -> None:
    with pytest.raises(ValueError, match="no images"):
        score([])
