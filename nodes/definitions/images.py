"""Image nodes: loading and saving files, previews, scaling, cropping, batching.

SaveImage writes PNGs carrying the workflow as run (param values written in) and the param values,
so `graph-engine run` on the workflow taken from a PNG reproduces that PNG byte for byte.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from graph_engine import Context, Description, FileHasher, InputFile, Link, Range, Workflow, node
from nodes.image_ops import (
    MaskChannel,
    ResizeMethod,
    batch_images,
    center_crop_to_aspect,
    check_image,
    crop_image,
    image_grid,
    load_image_file,
    load_mask_file,
    resize_image,
    resolve_input_path,
    to_pil,
    write_png,
)
from nodes.types import Image, Mask

# tEXt keys of the metadata SaveImage embeds.
WORKFLOW_KEY = "workflow"
PARAMS_KEY = "params"

PathInput = Annotated[
    str, InputFile("image"),
    Description("an image file; a relative path is looked up in the input folders (a server's uploads), "
                "then from the current directory"),
]
Side = Annotated[int, Range(1, 16384)]
Offset = Annotated[int, Range(0, 16384)]


def image_fingerprint(constants: Mapping[str, Any], files: FileHasher) -> str | None:
    """The content hash of the file the `image` input names, resolved as the node resolves it."""
    try:
        return files.hash(resolve_input_path(constants.get("image") or "", files.input_dirs))
    except (FileNotFoundError, OSError):
        return None  # the node reports the missing file when it runs


class LoadImageOutputs(NamedTuple):
    image: Image
    mask: Annotated[Mask, Description("1 where the image is transparent (to regenerate), else 0")]


@node(category="image", fingerprint=image_fingerprint)
def LoadImage(ctx: Context, image: PathInput) -> LoadImageOutputs:
    """Load an image file; its alpha channel becomes the mask (mask = 1 - alpha). Re-runs when the
    file's content changes."""
    return LoadImageOutputs(*load_image_file(resolve_input_path(image, ctx.input_dirs)))


@node(category="image", fingerprint=image_fingerprint)
def LoadMask(ctx: Context, image: PathInput, channel: MaskChannel = "luminance") -> Mask:
    """Load a mask from one channel of an image file (white = regenerate; for alpha, transparent =
    regenerate)."""
    return load_mask_file(resolve_input_path(image, ctx.input_dirs), channel)


def params_used(workflow: Workflow) -> dict[str, Any]:
    """Each workflow param's value as run (read from its first target), for the PNG metadata."""
    values: dict[str, Any] = {}
    for name in sorted(workflow.params):
        node_id, _, input_name = workflow.param_targets(name)[0].partition(".")
        entry = workflow.nodes.get(node_id)
        value = entry.inputs.get(input_name) if entry is not None else None
        if value is not None and not isinstance(value, Link):
            values[name] = value
    return values


def _check_prefix(prefix: str) -> None:
    if not prefix or Path(prefix).name != prefix or prefix in (".", ".."):
        raise ValueError(f"filename_prefix must be a plain file name without folders, got {prefix!r}")


@node(category="image", output_node=True)
def SaveImage(
    ctx: Context,
    images: Image,
    filename_prefix: Annotated[str, Description("files are named PREFIX_00001.png, ... never overwriting")] = "image",
) -> None:
    """Save images as PNGs in the output folder, with the workflow and its param values embedded."""
    check_image(images, "images")
    _check_prefix(filename_prefix)
    workflow = ctx.workflow
    text: dict[str, str] = {}
    params: dict[str, Any] = {}
    if workflow is not None:
        text[WORKFLOW_KEY] = workflow.to_json()
        params = params_used(workflow)
    for index in range(images.shape[0]):
        metadata = {**text, PARAMS_KEY: json.dumps({**params, "batch_index": index}, sort_keys=True)}
        write_png(ctx.new_file(filename_prefix, ".png"), to_pil(images[index]), metadata)


@node(category="image", output_node=True)
def PreviewImage(ctx: Context, images: Image) -> None:
    """Show images in the event stream (as progress previews) without writing files."""
    check_image(images, "images")
    count = images.shape[0]
    for index in range(count):
        ctx.progress(index + 1, count, to_pil(images[index]))


@node(category="image")
def ImageScale(
    image: Image,
    width: Side = 512,
    height: Side = 512,
    method: ResizeMethod = "bilinear",
    crop: Annotated[
        Literal["disabled", "center"], Description("center: crop to the new aspect ratio first")
    ] = "disabled",
) -> Image:
    """Resize images to width x height, stretching or (crop: center) cropping to the aspect ratio."""
    if crop == "center":
        image = center_crop_to_aspect(image, width, height)
    return resize_image(image, width, height, method)


@node(category="image")
def ImageCrop(image: Image, x: Offset = 0, y: Offset = 0, width: Side = 512, height: Side = 512) -> Image:
    """The width x height region whose top-left corner is (x, y)."""
    return crop_image(image, x, y, width, height)


@node(category="image")
def ImageBatch(first: Image, second: Image, method: ResizeMethod = "bilinear") -> Image:
    """One batch of both image batches; the second is resized to the first's size if they differ."""
    return batch_images(first, second, method)


@node(category="image")
def ImageGrid(
    images: Image,
    columns: Annotated[int, Range(0, 64), Description("0: as many as make the grid about square")] = 0,
    padding: Annotated[int, Range(0, 64), Description("white pixels between and around the tiles")] = 2,
) -> Image:
    """Tile a batch of images into one image, row by row (e.g. the images of a batch or a sweep)."""
    return image_grid(images, columns, padding)
