"""Toy nodes for the server tests and benchmark: arithmetic, sleeping, images, failures.

Importable by a server subprocess as `--pack server_toy_pack:PACK` with this folder on PYTHONPATH.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from PIL import Image

from graph_engine import Context, NodePack, Out, Range, SocketType, node

IMAGE = SocketType("toy.IMAGE", "float tensor [B, H, W, C] in 0..1")
BLOB = SocketType("toy.BLOB", "an opaque value")
Tensor = Annotated[Any, IMAGE]
Blob = Annotated[Any, BLOB]


@node(category="toy")
def Number(value: int = 0) -> Annotated[int, Out("value")]:
    return value


@node(category="toy")
def Add(x: int, y: int = 0) -> Annotated[int, Out("sum")]:
    return x + y


@node(category="toy")
def Load(name: str = "model") -> Annotated[Blob, Out("model")]:
    """Stands in for a model loader: slow-ish and cacheable."""
    time.sleep(0.05)
    return {"name": name}


@node(category="toy")
def Encode(model: Blob, text: str = "") -> Annotated[Blob, Out("cond")]:
    """Stands in for a text encoder."""
    return {"model": model["name"], "text": text}


@node(category="toy")
def Steps(
    ctx: Context, cond: Blob, seed: int = 0,
    steps: Annotated[int, Range(1, 10_000)] = 3, delay: Annotated[float, Range(0.0, 10.0)] = 0.0,
    preview: bool = False,
) -> Annotated[int, Out("value")]:
    """Stands in for a sampler: reports every step (optionally with a preview image) and can be interrupted."""
    for step in range(steps):
        time.sleep(delay)
        picture = Image.new("RGB", (600, 300), (step * 40 % 256, 0, 0)) if preview else None
        ctx.progress(step + 1, steps, picture)
    return seed + steps


@node(category="toy")
def Picture(value: int, size: Annotated[int, Range(1, 256)] = 8) -> Annotated[Tensor, Out("image")]:
    """An IMAGE tensor [1, size, size, 3] whose colour depends on `value`."""
    import torch  # imported on first use: a server with this pack starts faster

    generator = torch.Generator().manual_seed(value)
    return torch.rand(1, size, size, 3, generator=generator)


@node(category="toy", output_node=True)
def SaveImage(ctx: Context, image: Tensor, prefix: str = "toy") -> None:
    """Writes each image of the batch as a PNG into the run's output folder."""
    import torch

    for item in image:
        pixels = (item.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
        Image.fromarray(pixels).save(ctx.new_file(prefix, ".png"))


@node(category="toy")
def Fail(x: int, message: str = "boom") -> Annotated[int, Out("value")]:
    raise RuntimeError(message)


@node(category="toy")
def Big(megabytes: Annotated[int, Range(1, 4096)] = 1, seed: int = 0) -> Annotated[Blob, Out("blob")]:
    """Holds `megabytes` of memory, to check that freeing the cache returns it."""
    import torch

    return torch.full((megabytes * 2**20,), seed % 256, dtype=torch.uint8)


class ToyModels:
    """An executor-wide resource like a model manager: keeps 'models' across runs, can unload them."""

    def __init__(self) -> None:
        self.loaded: dict[str, bytearray] = {}
        self.loads = 0

    def load(self, name: str, megabytes: int) -> bytearray:
        if name not in self.loaded:
            self.loaded[name] = bytearray(megabytes * 2**20)
            self.loads += 1
        return self.loaded[name]

    def stats(self) -> dict[str, Any]:
        return {"loaded": sorted(self.loaded), "loads": self.loads}

    def unload_all(self) -> None:
        self.loaded.clear()


@node(category="toy", cacheable=False)
def UseModel(ctx: Context, name: str = "model", megabytes: Annotated[int, Range(1, 1024)] = 1) -> Annotated[int, Out("size")]:
    return len(ctx.resource(ToyModels).load(name, megabytes))


# Namespaced ("toy.Add"), so it can sit beside the real node packs in a server.
PACK = NodePack("toy", types=[IMAGE, BLOB],
                nodes=[Number, Add, Load, Encode, Steps, Picture, SaveImage, Fail, Big, UseModel],
                resources={ToyModels: ToyModels})


def chain_workflow(steps: int = 3, delay: float = 0.0, preview: bool = False, save: bool = True) -> dict[str, Any]:
    """Load -> Encode -> Steps -> Picture (-> SaveImage), with params seed, steps, delay."""
    nodes: dict[str, Any] = {
        "load": {"type": "toy.Load", "inputs": {"name": "tiny"}},
        "encode": {"type": "toy.Encode", "inputs": {"model": {"from": "load", "output": "model"}, "text": "a red circle"}},
        "sample": {"type": "toy.Steps", "inputs": {"cond": {"from": "encode", "output": "cond"}, "seed": 1,
                                               "steps": steps, "delay": delay, "preview": preview}},
        "picture": {"type": "toy.Picture", "inputs": {"value": {"from": "sample", "output": "value"}}},
    }
    if save:
        nodes["save"] = {"type": "toy.SaveImage", "inputs": {"image": {"from": "picture", "output": "image"}}}
    return {
        "schema_version": 1,
        "name": "toy-chain",
        "nodes": nodes,
        "params": {"seed": "sample.seed", "steps": "sample.steps", "delay": "sample.delay"},
        "outputs": {"value": {"from": "sample", "output": "value"}, "image": {"from": "picture", "output": "image"}},
    }
