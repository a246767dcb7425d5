"""tiny-shapes: the bundled text-to-image model, trained by this project on generated shapes.

`bundled_checkpoint("tiny-shapes")` is a Stable Diffusion 1.x diffusers folder (CLIP tokenizer
and text encoder, UNet2DConditionModel, AutoencoderKL, scheduler config) for 64x64 images;
`bundled_checkpoint("tiny-shapes-ddpm")` an unconditional pixel-space UNet2DModel + scheduler.
See MODEL_CARD.md beside this file.
"""

from __future__ import annotations

from pathlib import Path

CHECKPOINTS = Path(__file__).parent / "checkpoints"
BUNDLED_NAMES: tuple[str, ...] = ("tiny-shapes", "tiny-shapes-ddpm")


def bundled_checkpoint(name: str) -> Path:
    """The folder of a checkpoint shipped inside the package, by name."""
    if name not in BUNDLED_NAMES:
        raise KeyError(f"no bundled checkpoint named {name!r}; bundled checkpoints: {', '.join(BUNDLED_NAMES)}")
    folder = CHECKPOINTS / name
    if not (folder / "model_index.json").is_file():
        raise FileNotFoundError(
            f"bundled checkpoint {name!r} is missing its files under {folder}; reinstall the package"
        )
    return folder


__all__ = ["BUNDLED_NAMES", "CHECKPOINTS", "bundled_checkpoint"]
