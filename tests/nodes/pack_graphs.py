"""Small workflow documents for the node tests, written compactly."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def workflow(
    nodes: Mapping[str, Any], outputs: Mapping[str, str], params: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A workflow document from {id: (type, inputs)} and {name: "node.output"}; "@node.output" strings are links."""

    def value(item: Any) -> Any:
        if isinstance(item, str) and item.startswith("@"):
            node_id, _, output = item[1:].partition(".")
            return {"from": node_id, "output": output}
        return item

    return {
        "schema_version": 1,
        "name": "test",
        "nodes": {
            node_id: {"type": node_type, "inputs": {name: value(item) for name, item in inputs.items()}}
            for node_id, (node_type, inputs) in nodes.items()
        },
        "outputs": {
            name: {"from": target.partition(".")[0], "output": target.partition(".")[2]}
            for name, target in outputs.items()
        },
        "params": dict(params or {}),
    }


def base_nodes(checkpoint: Path, prompt: str = "a red circle", width: int = 32, batch: int = 1) -> dict[str, Any]:
    """Loader, prompts and an empty latent: what every text-to-image graph starts with."""
    return {
        "load": ("CheckpointLoader", {"checkpoint": str(checkpoint)}),
        "positive": ("TextEncode", {"clip": "@load.clip", "text": prompt}),
        "negative": ("TextEncode", {"clip": "@load.clip", "text": ""}),
        "empty": ("EmptyLatent", {"vae": "@load.vae", "width": width, "height": width, "batch": batch}),
    }


def sampler_node(latent: str = "@empty.latent", **inputs: Any) -> tuple[str, dict[str, Any]]:
    settings = {"seed": 1, "steps": 4, "cfg": 5.0, "sampler": "euler", "scheduler": "normal", **inputs}
    return (
        "KSampler",
        {
            "model": "@load.model",
            "positive": "@positive.conditioning",
            "negative": "@negative.conditioning",
            "latent": latent,
            **settings,
        },
    )
