"""The pack object: types, nodes and the model manager resource; runtime value checks; primitives."""

from __future__ import annotations

import pytest
import torch

from graph_engine import Executor, Registry, check_compatible
from nodes.definitions import primitives
from nodes.lora import WeightPatch
from nodes.model_manager import ModelManager
from nodes.pack import DEFINITION_MODULES, PACK, nodes_defined_in
from nodes.types import LATENT, MODEL, SAMPLER, SOCKET_TYPES, ClipHandle, Latent

EXPECTED_NODES = {
    "CheckpointLoader", "VAELoader", "LoraLoader", "LoraLoaderModelOnly", "UnconditionalLoader", "TextEncode", "TextEncodeSDXL", "ClipSkip",
    "ConditioningCombine", "ConditioningZero", "EmptyLatent", "LatentUpscale", "LatentScale", "SetLatentNoiseMask", "LatentBatch", "LatentFromBatch",
    "KSampler", "KSamplerAdvanced", "VAEEncode", "VAEDecode", "VAEEncodeTiled", "VAEDecodeTiled", "InpaintEncode",
    "LoadImage", "LoadMask", "SaveImage", "PreviewImage", "ImageScale", "ImageCrop", "ImageBatch", "ImageGrid",
    "Int", "Float", "String", "Boolean", "Seed", "UnconditionalSample",
}  # fmt: skip


def test_pack_contents(registry: Registry) -> None:
    assert set(registry.nodes) == EXPECTED_NODES
    assert {t.name for t in SOCKET_TYPES} <= set(registry.types)
    assert PACK.resources[ModelManager] is ModelManager
    catalogue = registry.catalogue()
    assert catalogue["problems"] == [] and all(node["description"] for node in catalogue["nodes"])
    assert check_compatible(LATENT, MODEL) == "a LATENT output cannot feed a MODEL input"
    assert "euler" in SAMPLER.choices


def test_every_definition_module_contributes_its_own_nodes_once() -> None:
    names = [spec.name for module in DEFINITION_MODULES for spec in nodes_defined_in(module)]
    assert len(names) == len(set(names)) == len(PACK.nodes)
    assert [spec.name for spec in nodes_defined_in(primitives)] == ["Int", "Float", "String", "Boolean", "Seed"]


def test_model_manager_is_one_per_executor(registry: Registry) -> None:
    one, other = Executor(registry, device="cpu"), Executor(registry, device="cpu")
    assert one.resources.get(ModelManager) is one.resources.get(ModelManager)
    assert one.resources.get(ModelManager) is not other.resources.get(ModelManager)


def test_primitives(run) -> None:
    nodes = {
        "i": ("Int", {"value": 3}), "f": ("Float", {"value": 2}), "s": ("String", {"value": "x"}),
        "b": ("Boolean", {"value": True}), "seed": ("Seed", {"seed": 2**64 - 1}),
    }  # fmt: skip
    out = run(nodes, {"i": "i.value", "f": "f.value", "s": "s.value", "b": "b.value", "seed": "seed.seed"}).outputs
    assert out == {"i": 3, "f": 2.0, "s": "x", "b": True, "seed": 2**64 - 1}


def test_latent_checks_its_shapes() -> None:
    with pytest.raises(ValueError, match=r"samples must be \[batch, channels, height, width\]"):
        Latent(torch.zeros(4, 8, 8))
    with pytest.raises(ValueError, match=r"noise_mask must be \[batch, 1, height, width\]"):
        Latent(torch.zeros(1, 4, 8, 8), torch.zeros(1, 8, 8))
    with pytest.raises(ValueError, match="batch_index has 1 entries for a batch of 2"):
        Latent(torch.zeros(2, 4, 8, 8), batch_index=(0,))
    latent = Latent(torch.zeros(2, 4, 8, 8), torch.zeros(1, 1, 32, 32))
    assert latent.positions == (0, 1) and latent.__graph_nbytes__() == 2 * 4 * 8 * 8 * 4 + 32 * 32 * 4


def test_handles_add_patches_without_changing_the_original(run, checkpoint) -> None:
    out = run(
        {"load": ("CheckpointLoader", {"checkpoint": str(checkpoint)})}, {"m": "load.model", "c": "load.clip"}
    ).outputs
    patch = WeightPatch("conv_in.weight", torch.zeros(8, 1), torch.zeros(1, 36), 1.0, 1.0)
    model = out["m"].with_patches((patch,))
    assert model.patches == (patch,) and out["m"].patches == () and model.unet is out["m"].unet
    clip = out["c"].with_patches({"text_encoder": (patch,)}).with_patches({"text_encoder": (patch,)})
    assert clip.patches["text_encoder"] == (patch, patch) and dict(out["c"].patches) == {}
    with pytest.raises(ValueError, match="unknown encoder"):
        ClipHandle(out["c"].tokenizer, out["c"].text_encoder, patches={"unet": ()})
