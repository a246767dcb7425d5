"""LoraLoader nodes through the executor: a LoRA'd run equals a run of a checkpoint with the LoRA
merged into its weights, stacking, the cached weights stay untouched, bad files fail clearly."""

import logging
import shutil
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from graph_engine import Executor, Registry
from nodes.lora.node import LoraLoader, LoraLoaderModelOnly
from nodes.pack import PACK

# The pack tests' tiny SD checkpoint writer (a diffusers folder built with our own model classes).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "nodes"))
from tiny_checkpoint import write_text_to_image

UNET_MODULES = (
    "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q",
    "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k",  # reads the text: 32 -> 16
    "down_blocks.0.resnets.0.conv1",  # 3x3 conv
    "up_blocks.0.attentions.0.proj_in",  # 1x1 conv
)
TEXT_MODULES = ("encoder.layers.0.self_attn.q_proj", "encoder.layers.1.mlp.fc1")
FIRST = (0.8, 1.2)  # (strength_model, strength_clip)
SECOND = (-0.5, 0.7)


@pytest.fixture(scope="module")
def executor(tmp_path_factory) -> Executor:
    assert {LoraLoader.name, LoraLoaderModelOnly.name} <= {spec.name for spec in PACK.nodes}
    return Executor(Registry([PACK]), device="cpu", output_dir=tmp_path_factory.mktemp("output"))


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return write_text_to_image(tmp_path_factory.mktemp("tiny_sd"))


def random_kohya_lora(weights: dict[str, torch.Tensor], prefix: str, modules: tuple[str, ...], seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    lora = {}
    for index, module in enumerate(modules):
        shape = weights[f"{module}.weight"].shape
        rank = 2 + index % 2
        name = prefix + ("text_model." if prefix == "lora_te_" else "") + module
        name = name[: len(prefix)] + name[len(prefix) :].replace(".", "_")
        lora[f"{name}.lora_down.weight"] = 0.3 * torch.randn(rank, *shape[1:], generator=generator)
        lora[f"{name}.lora_up.weight"] = 0.3 * torch.randn(shape[0], rank, *([1] * (len(shape) - 2)), generator=generator)
        lora[f"{name}.alpha"] = torch.tensor(float(index + 1))
    return lora


@pytest.fixture(scope="module")
def loras(checkpoint: Path, tmp_path_factory) -> list[Path]:
    unet = load_file(checkpoint / "unet" / "diffusion_pytorch_model.safetensors")
    text = load_file(checkpoint / "text_encoder" / "model.safetensors")
    folder = tmp_path_factory.mktemp("loras")
    paths = []
    for seed in (1, 2):
        lora = {
            **random_kohya_lora(unet, "lora_unet_", UNET_MODULES, seed),
            **random_kohya_lora(text, "lora_te_", TEXT_MODULES, seed + 10),
        }
        paths.append(folder / f"lora_{seed}.safetensors")
        save_file(lora, paths[-1])
    return paths


def merged_checkpoint(checkpoint: Path, loras: list[tuple[Path, float, float]], folder: Path) -> Path:
    """A copy of the checkpoint with W += strength * alpha / rank * up @ down written into its files."""
    shutil.copytree(checkpoint, folder)
    for weights_file, prefix, modules, which in (
        (folder / "unet" / "diffusion_pytorch_model.safetensors", "lora_unet_", UNET_MODULES, 1),
        (folder / "text_encoder" / "model.safetensors", "lora_te_text_model_", TEXT_MODULES, 2),
    ):
        weights = load_file(weights_file)
        for path, *strengths in loras:
            lora = load_file(path)
            for module in modules:
                name = prefix + module.replace(".", "_")
                up, down = lora[f"{name}.lora_up.weight"], lora[f"{name}.lora_down.weight"]
                scale = strengths[which - 1] * lora[f"{name}.alpha"].item() / down.shape[0]
                weight = weights[f"{module}.weight"]
                weights[f"{module}.weight"] = weight + scale * (up.flatten(1) @ down.flatten(1)).reshape(weight.shape)
        save_file(weights, weights_file)
    return folder


def graph(checkpoint: Path, lora_nodes: dict | None = None, model: str = "load", clip: str = "load") -> dict:
    nodes = {
        "load": {"type": "CheckpointLoader", "inputs": {"checkpoint": str(checkpoint)}},
        **(lora_nodes or {}),
        "positive": {"type": "TextEncode", "inputs": {"clip": {"from": clip, "output": "clip"}, "text": "a red circle"}},
        "negative": {"type": "TextEncode", "inputs": {"clip": {"from": clip, "output": "clip"}, "text": ""}},
        "empty": {"type": "EmptyLatent", "inputs": {"vae": {"from": "load", "output": "vae"}, "width": 32, "height": 32}},
        "sample": {
            "type": "KSampler",
            "inputs": {
                "model": {"from": model, "output": "model"},
                "positive": {"from": "positive", "output": "conditioning"},
                "negative": {"from": "negative", "output": "conditioning"},
                "latent": {"from": "empty", "output": "latent"},
                "seed": 3, "steps": 3, "cfg": 5.0, "sampler": "euler", "scheduler": "normal",
            },
        },
    }  # fmt: skip
    return {"schema_version": 1, "name": "lora", "nodes": nodes, "outputs": {"latent": {"from": "sample", "output": "latent"}}}


def lora_node(source: str, path: Path, strengths: tuple[float, float]) -> dict:
    inputs = {"model": {"from": source, "output": "model"}, "clip": {"from": source, "output": "clip"}, "lora": str(path)}
    return {"type": "LoraLoader", "inputs": {**inputs, "strength_model": strengths[0], "strength_clip": strengths[1]}}


def latent(executor: Executor, workflow: dict) -> torch.Tensor:
    result = executor.run(workflow)
    assert result.status == "success", {f.node_id: f.message for f in result.failures.values()}
    return result.outputs["latent"].samples


def test_stacked_loras_equal_a_checkpoint_with_them_merged(executor, checkpoint, loras, tmp_path):
    base = latent(executor, graph(checkpoint))
    stacked = graph(checkpoint, {"lora1": lora_node("load", loras[0], FIRST), "lora2": lora_node("lora1", loras[1], SECOND)}, "lora2", "lora2")
    patched = latent(executor, stacked)
    merged = merged_checkpoint(checkpoint, [(loras[0], *FIRST), (loras[1], *SECOND)], tmp_path / "merged")
    expected = latent(executor, graph(merged))

    torch.testing.assert_close(patched, expected, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(patched, base, atol=1e-2)
    # The loaded weights, shared through the model manager and the cache, were not changed.
    executor.cache.clear()
    assert torch.equal(latent(executor, graph(checkpoint)), base)


def test_model_only_loader_is_the_full_loader_at_clip_strength_zero(executor, checkpoint, loras):
    model_only = {"type": "LoraLoaderModelOnly", "inputs": {"model": {"from": "load", "output": "model"}, "lora": str(loras[0]), "strength_model": 0.9}}
    only = latent(executor, graph(checkpoint, {"lora": model_only}, model="lora"))
    full = latent(executor, graph(checkpoint, {"lora": lora_node("load", loras[0], (0.9, 0.0))}, "lora", "lora"))
    assert torch.equal(only, full)


def test_unmatched_keys_are_logged(executor, checkpoint, loras, tmp_path, caplog):
    path = tmp_path / "extra.safetensors"
    save_file({**load_file(loras[0]), "lora_unet_no_such_layer.lora_down.weight": torch.ones(2, 4), "lora_unet_no_such_layer.lora_up.weight": torch.ones(4, 2)}, path)
    with caplog.at_level(logging.WARNING):
        latent(executor, graph(checkpoint, {"lora": lora_node("load", path, FIRST)}, "lora", "lora"))
    assert "2 of 20 LoRA keys were not applied, e.g. lora_unet_no_such_layer.lora_down.weight (matches no weight of the model)" in caplog.text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.safetensors", None, "LoRA file not found"),
        ("lora.ckpt", b"\x80\x04", "'.ckpt' LoRA files are pickles"),
        ("broken.safetensors", b"\x00" * 16, "is not a valid safetensors file"),
    ],
)
def test_bad_files_fail_the_node_with_a_clear_message(executor, checkpoint, tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    result = executor.run(graph(checkpoint, {"lora": lora_node("load", path, FIRST)}, "lora", "lora"))
    assert result.status == "failed"
    assert message in result.failures["lora"].message
