"""ModelManager: entries keep weights within the memory budget (least recently used dropped first),
dropped models reload transparently, unload_all/stats for the server; moving between devices."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nodes.model_manager import ModelManager, module_nbytes


def linear(features: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Linear(features, features, bias=False)  # features² float32 weights


def test_load_keeps_one_entry_per_key_and_counts_bytes() -> None:
    manager = ModelManager(memory_budget=None)
    calls: list[int] = []

    def loader() -> nn.Module:
        calls.append(1)
        return linear(8, 0)

    first = manager.load("a", loader)
    assert manager.load("a", loader) is first and len(calls) == 1
    assert first.nbytes == module_nbytes(first.module) == 8 * 8 * 4
    assert manager.loaded_bytes() == 256 and manager.loads == 1


def test_memory_budget_drops_least_recently_used_and_reloads_on_use() -> None:
    manager = ModelManager(memory_budget=3 * 256)
    models = {name: manager.load(name, lambda seed=seed: linear(8, seed)) for seed, name in enumerate("abc")}
    expected_a = models["a"].module.weight.clone()
    manager.use(models["a"], "cpu")  # a is now more recent than b and c
    manager.load("d", lambda: linear(8, 3))
    assert not models["b"].loaded and models["a"].loaded and models["c"].loaded
    assert manager.loaded_bytes() == 3 * 256 and manager.evictions == 1

    module = models["b"].use("cpu")  # reloaded from its loader; c is now the oldest
    assert models["b"].loaded and not models["c"].loaded
    assert torch.equal(module.weight, linear(8, 1).weight)
    assert torch.equal(models["a"].use("cpu").weight, expected_a)
    assert manager.loads == 5  # a, b, c, d, then b again


def test_a_model_larger_than_the_budget_is_still_served(caplog: pytest.LogCaptureFixture) -> None:
    manager = ModelManager(memory_budget=100)
    model = manager.load("big", lambda: linear(8, 0))
    assert model.use("cpu").weight.shape == (8, 8)
    assert "exceeds the model memory budget" in caplog.text


def test_unload_all_and_stats() -> None:
    manager = ModelManager(memory_budget=10_000)
    a = manager.load("a", lambda: linear(8, 0))
    manager.load("b", lambda: linear(4, 1))
    stats = manager.stats()
    assert [m["key"] for m in stats["models"]] == ["a", "b"]
    assert stats["loaded_bytes"] == 256 + 64 and stats["memory_budget"] == 10_000
    assert stats["models"][0]["device"] == "cpu"
    manager.unload_all()
    assert manager.loaded_bytes() == 0 and manager.stats()["models"][0]["device"] is None
    assert a.use("cpu").weight.shape == (8, 8)  # the entry survives and reloads
    assert manager.unload("a") and not manager.unload("a") and not manager.unload("missing")


def test_entries_belong_to_their_manager() -> None:
    one, other = ModelManager(), ModelManager()
    model = one.load("a", lambda: linear(2, 0))
    with pytest.raises(ValueError, match="belongs to another ModelManager"):
        other.use(model, "cpu")


def test_add_keeps_the_first_module_and_its_info() -> None:
    manager = ModelManager()
    first = manager.add("k", linear(2, 0), lambda: linear(2, 0), {"family": "sd1"})
    second = manager.add("k", linear(2, 1), lambda: linear(2, 1), {"family": "other"})
    assert second is first and first.info["family"] == "sd1"
    with pytest.raises(TypeError):
        first.info["family"] = "changed"  # type: ignore[index]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_device_budget_moves_least_recently_used_back_to_the_cpu() -> None:
    manager = ModelManager(device_budgets={"cuda:0": 2 * 256})
    models = [manager.load(name, lambda seed=seed: linear(8, seed)) for seed, name in enumerate("abc")]
    for model in models:
        assert model.use("cuda").weight.device.type == "cuda"
    assert models[0].device == torch.device("cpu") and models[2].device.type == "cuda"
    assert manager.loaded_bytes(torch.device("cuda:0")) == 2 * 256 and manager.offloads == 1
    assert manager.free_device("cuda", keep=models[2]) == 256
    assert models[1].device == torch.device("cpu")
