"""VAE nodes: encode/decode scaling, tiles, the out-of-memory fallback to tiles, inpaint encoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from graph_engine import Executor
from nodes.definitions.vae import decode_latent, is_out_of_memory
from nodes.model_manager import ModelManager
from nodes.models import VAETiling


@pytest.fixture()
def picture(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (34, 37, 3), dtype=np.uint8)).save(tmp_path / "in.png")
    return tmp_path / "in.png"


def vae_nodes(checkpoint: Path, picture: Path) -> dict:
    return {
        "load": ("CheckpointLoader", {"checkpoint": str(checkpoint)}),
        "image": ("LoadImage", {"image": str(picture)}),
    }


def test_encode_decode_with_scaling_and_cropping(run, checkpoint: Path, picture: Path) -> None:
    nodes = {
        **vae_nodes(checkpoint, picture),
        "encode": ("VAEEncode", {"vae": "@load.vae", "image": "@image.image"}),
        "decode": ("VAEDecode", {"vae": "@load.vae", "latent": "@encode.latent"}),
    }
    result = run(nodes, {"latent": "encode.latent", "image": "decode.image", "vae": "load.vae"})
    latent, image, vae = result.outputs["latent"], result.outputs["image"], result.outputs["vae"]
    assert latent.samples.shape == (1, 4, 8, 9)  # 34x37 cropped to 32x36
    assert image.shape == (1, 32, 36, 3) and 0 <= image.min() and image.max() <= 1
    module = vae.vae.use("cpu")
    pixels = torch.from_numpy(np.asarray(Image.open(picture))).float().div(255)[1:33, :36].permute(2, 0, 1)[None]
    with torch.no_grad():
        expected = module.encode(pixels * 2 - 1).mode() * 0.5
        decoded = ((module.decode(expected / 0.5) + 1) / 2).clamp(0, 1)
    torch.testing.assert_close(latent.samples, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(image, decoded.permute(0, 2, 3, 1), atol=1e-5, rtol=0)


def test_tiled_nodes_use_the_requested_tiles(run, checkpoint: Path, picture: Path) -> None:
    nodes = {
        **vae_nodes(checkpoint, picture),
        "encode": ("VAEEncode", {"vae": "@load.vae", "image": "@image.image"}),
        "tiled_encode": ("VAEEncodeTiled", {"vae": "@load.vae", "image": "@image.image", "tile_size": 16}),
        "decode": ("VAEDecode", {"vae": "@load.vae", "latent": "@encode.latent"}),
        "tiled_decode": (
            "VAEDecodeTiled",
            {"vae": "@load.vae", "latent": "@encode.latent", "tile_size": 16, "overlap": 0.5},
        ),
    }
    names = {"encode": "latent", "tiled_encode": "latent", "decode": "image", "tiled_decode": "image", "load": "vae"}
    out = run(nodes, {name: f"{name}.{output}" for name, output in names.items()}).outputs
    module, z = out["load"].vae.use("cpu"), out["encode"].samples
    pixels = (
        torch.from_numpy(np.asarray(Image.open(picture))).float().div(255)[1:33, :36].permute(2, 0, 1)[None] * 2 - 1
    )
    with torch.no_grad():
        encoded = module.encode(pixels, tiling=module.tiling(16, 0.25)).mode() * 0.5
        decoded = module.decode(z / 0.5, tiling=module.tiling(16, 0.5))
    torch.testing.assert_close(out["tiled_encode"].samples, encoded)
    torch.testing.assert_close(out["tiled_decode"], ((decoded + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1))
    assert not torch.allclose(out["tiled_decode"], out["decode"])  # tiles really were used


def test_decode_falls_back_to_tiles_when_memory_runs_out(
    run, executor: Executor, checkpoint: Path, picture: Path
) -> None:
    nodes = {**vae_nodes(checkpoint, picture), "encode": ("VAEEncode", {"vae": "@load.vae", "image": "@image.image"})}
    out = run(nodes, {"latent": "encode.latent", "vae": "load.vae"}).outputs
    vae, samples = out["vae"], out["latent"].samples
    module = vae.vae.use("cpu")
    real_decode, calls = module.decode, []

    def decode_without_memory(z: torch.Tensor, *, tiling: VAETiling | None = None, **options: object) -> torch.Tensor:
        calls.append(tiling)
        if tiling is None:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return real_decode(z, tiling=tiling, **options)

    module.decode = decode_without_memory
    try:
        image = decode_latent(vae, samples, "cpu", executor.resources.get(ModelManager))
    finally:
        del module.decode
    assert calls[0] is None and calls[1] is not None and calls[1].sample_tile < 36
    expected = decode_latent(vae, samples, "cpu", None, (calls[1].sample_tile, calls[1].overlap_factor))
    torch.testing.assert_close(image, expected)


def test_out_of_memory_detection() -> None:
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory"))
    assert is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))


def test_inpaint_encode_greys_the_mask_and_sets_the_noise_mask(
    run, checkpoint: Path, picture: Path, tmp_path: Path
) -> None:
    mask = np.zeros((34, 37), dtype=np.uint8)
    mask[10:14, 10:14] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    nodes = {
        **vae_nodes(checkpoint, picture),
        "mask": ("LoadMask", {"image": str(tmp_path / "mask.png")}),
        "inpaint": (
            "InpaintEncode",
            {"vae": "@load.vae", "image": "@image.image", "mask": "@mask.mask", "grow_mask_by": 2},
        ),
        "crop": ("ImageCrop", {"image": "@image.image", "x": 0, "y": 1, "width": 36, "height": 32}),
        "grey": ("VAEEncode", {"vae": "@load.vae", "image": "@crop.image"}),
    }
    out = run(nodes, {"latent": "inpaint.latent", "plain": "grey.latent"}).outputs
    latent = out["latent"]
    assert latent.samples.shape == (1, 4, 8, 9) and latent.noise_mask.shape == (1, 1, 32, 36)
    grown = latent.noise_mask[0, 0]
    assert grown.sum() == 8 * 8 and grown[7:15, 8:16].min() == 1  # the 4x4 square (shifted by the crop) grown by 2
    assert not torch.allclose(latent.samples, out["plain"].samples)
