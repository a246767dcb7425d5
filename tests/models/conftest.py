"""Shared settings for the model tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def single_cpu_thread() -> Iterator[None]:
    """Run the tiny models on one thread: their ops are too small to gain from more, and with
    several test processes sharing few cores, OpenMP threads spinning against each other make
    each op 10-50x slower."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
