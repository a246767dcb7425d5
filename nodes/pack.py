"""The diffusion node pack: its socket types, its nodes and the model manager they share.

Installed as the entry point `graph_engine.node_packs: diffusion = nodes.pack:PACK`. Every `@node`
defined in a module of DEFINITION_MODULES is part of the pack, so adding a group of nodes is one
line here.
"""

from __future__ import annotations

from types import ModuleType

from graph_engine import NodePack, NodeSpec
from nodes.definitions import (
    conditioning,
    images,
    latents,
    loaders,
    primitives,
    sampling,
    unconditional,
    vae,
)
from nodes.comfyui import EXPORTERS, IMPORTERS
from nodes.lora import node as lora
from nodes.model_manager import ModelManager
from nodes.types import SOCKET_TYPES

DEFINITION_MODULES: tuple[ModuleType, ...] = (
    loaders,
    lora,
    conditioning,
    latents,
    sampling,
    vae,
    images,
    primitives,
    unconditional,
)


def nodes_defined_in(module: ModuleType) -> list[NodeSpec]:
    """The nodes a module defines (not those it imports), in definition order."""
    return [
        value
        for value in vars(module).values()
        if isinstance(value, NodeSpec) and value.fn.__module__ == module.__name__
    ]


PACK = NodePack(
    "diffusion",
    types=SOCKET_TYPES,
    nodes=[spec for module in DEFINITION_MODULES for spec in nodes_defined_in(module)],
    builtin=True,
    description="Stable Diffusion building blocks: loaders, text encoding, sampling, VAE, images.",
    resources={ModelManager: ModelManager},
    importers=IMPORTERS,
    exporters=EXPORTERS,
)
