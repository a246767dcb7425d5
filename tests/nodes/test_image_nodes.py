"""Image nodes through the executor: loading (content-fingerprinted), saving PNGs with the workflow
embedded (never overwriting), previews in the event stream, scaling, cropping, batching."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pack_graphs import workflow
from PIL import Image

from graph_engine import Event, Executor, load_workflow
from graph_engine.embedded import png_text


@pytest.fixture()
def picture(tmp_path: Path) -> Path:
    rgba = np.zeros((4, 6, 4), dtype=np.uint8)
    rgba[..., 1] = 200
    rgba[..., 3] = 255
    rgba[0, 0, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "in.png")
    return tmp_path / "in.png"


def test_load_image_reruns_only_when_the_content_changes(run, picture: Path) -> None:
    nodes = {"load": ("LoadImage", {"image": str(picture)})}
    first = run(nodes, {"image": "load.image", "mask": "load.mask"})
    assert first.ran == ["load"]
    assert first.outputs["image"].shape == (1, 4, 6, 3) and first.outputs["mask"].sum() == 1
    picture.touch()
    assert run(nodes, {"image": "load.image"}).cached == ["load"]
    Image.new("RGB", (6, 4), (255, 0, 0)).save(picture)
    changed = run(nodes, {"image": "load.image", "mask": "load.mask"})
    assert changed.ran == ["load"] and changed.outputs["image"][0, 0, 0].tolist() == [1, 0, 0]
    assert changed.outputs["mask"].sum() == 0


def test_load_mask_and_missing_file(run, picture: Path) -> None:
    mask = run({"m": ("LoadMask", {"image": str(picture), "channel": "green"})}, {"mask": "m.mask"}).outputs["mask"]
    assert mask.shape == (1, 4, 6) and torch.allclose(mask, torch.full_like(mask, 200 / 255))
    result = run({"m": ("LoadImage", {"image": "no/such.png"})}, {"image": "m.image"}, expect_ok=False)
    assert result.failures["m"].error_type == "FileNotFoundError" and "no/such.png" in result.failures["m"].message


def test_save_image_embeds_workflow_and_params_and_never_overwrites(run, executor: Executor, picture: Path) -> None:
    nodes = {
        "load": ("LoadImage", {"image": str(picture)}),
        "batch": ("ImageBatch", {"first": "@load.image", "second": "@load.image"}),
        "save": ("SaveImage", {"images": "@batch.image", "filename_prefix": "shot"}),
    }
    params = {"prefix": "save.filename_prefix", "image": "load.image"}
    first = run(nodes, {}, params=params)
    second = run(nodes, {}, params=params)
    assert second.ran == ["save"]  # an output node: always runs; its inputs come from the cache
    names = [path.name for path in first.files + second.files]
    assert names == ["shot_00001.png", "shot_00002.png", "shot_00003.png", "shot_00004.png"]
    text = png_text(second.files[1])
    assert json.loads(text["params"]) == {"batch_index": 1, "image": str(picture), "prefix": "shot"}
    embedded = load_workflow(text["workflow"])
    assert embedded.to_json() == first.workflow.to_json()
    saved = np.asarray(Image.open(first.files[0]))
    assert saved.shape == (4, 6, 3) and saved[1, 1].tolist() == [0, 200, 0]
    assert not [p for p in executor.output_dir.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_save_image_rejects_folder_prefixes(run, picture: Path) -> None:
    nodes = {
        "load": ("LoadImage", {"image": str(picture)}),
        "save": ("SaveImage", {"images": "@load.image", "filename_prefix": "../escape"}),
    }
    result = run(nodes, {}, expect_ok=False)
    assert "plain file name" in result.failures["save"].message


def test_preview_image_sends_images_as_events(run, picture: Path) -> None:
    events: list[Event] = []
    nodes = {"load": ("LoadImage", {"image": str(picture)}), "show": ("PreviewImage", {"images": "@load.image"})}
    result = run(nodes, {}, on_event=events.append)
    previews = [e.preview for e in events if e.type == "node_progress" and e.node_id == "show"]
    assert len(previews) == 1 and previews[0].size == (6, 4) and result.files == []


def test_scale_crop_batch_nodes(run, picture: Path) -> None:
    nodes = {
        "load": ("LoadImage", {"image": str(picture)}),
        "scale": (
            "ImageScale",
            {"image": "@load.image", "width": 4, "height": 4, "method": "nearest", "crop": "center"},
        ),
        "stretch": ("ImageScale", {"image": "@load.image", "width": 12, "height": 8}),
        "crop": ("ImageCrop", {"image": "@load.image", "x": 2, "y": 1, "width": 3, "height": 2}),
        "batch": ("ImageBatch", {"first": "@scale.image", "second": "@stretch.image"}),
    }
    out = run(
        nodes, {"scale": "scale.image", "stretch": "stretch.image", "crop": "crop.image", "batch": "batch.image"}
    ).outputs
    assert out["scale"].shape == (1, 4, 4, 3) and out["stretch"].shape == (1, 8, 12, 3)
    assert out["crop"].shape == (1, 2, 3, 3) and out["batch"].shape == (2, 4, 4, 3)
    bad = run(
        {**nodes, "crop": ("ImageCrop", {"image": "@load.image", "x": 5, "width": 3})},
        {"c": "crop.image"},
        expect_ok=False,
    )
    assert "does not fit" in bad.failures["crop"].message


def test_image_names_are_looked_up_in_the_executors_input_folders(registry, tmp_path: Path, picture: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A server passes its uploads folder: an uploaded image is usable by its bare name, whatever the cwd."""
    uploads, elsewhere = tmp_path / "uploads", tmp_path / "cwd"
    uploads.mkdir()
    elsewhere.mkdir()
    picture.rename(uploads / "upload.png")
    Image.new("RGB", (6, 4), (0, 0, 255)).save(elsewhere / "upload.png")  # same name in the cwd: the upload wins
    monkeypatch.chdir(elsewhere)
    executor = Executor(registry, device="cpu", output_dir=tmp_path / "out", input_dirs=[uploads])
    nodes = {"load": ("LoadImage", {"image": "upload.png"}),
             "m": ("LoadMask", {"image": "upload.png", "channel": "green"})}
    first = executor.run(workflow(nodes, {"image": "load.image", "mask": "m.mask"}))
    assert first.status == "success", first.failures
    assert first.outputs["image"][0, 0, 1, 1].item() == pytest.approx(200 / 255)
    assert first.outputs["mask"].shape == (1, 4, 6)
    # The fingerprint resolves the name the same way: changing the uploaded file re-runs the loader.
    Image.new("RGB", (6, 4), (255, 0, 0)).save(uploads / "upload.png")
    changed = executor.run(workflow(nodes, {"image": "load.image"}))
    assert changed.explanations["load"].status == "ran" and changed.outputs["image"][0, 0, 0].tolist() == [1, 0, 0]
    missing = executor.run(workflow({"load": ("LoadImage", {"image": "nope.png"})}, {"image": "load.image"}))
    assert str(uploads / "nope.png") in missing.failures["load"].message  # the error names where it looked


def test_image_inputs_tell_editors_they_take_an_image_file(registry) -> None:
    for node_type in ("LoadImage", "LoadMask"):
        image_input = next(i for i in registry.nodes[node_type].to_json()["inputs"] if i["name"] == "image")
        assert image_input["file"] == "image" and image_input["type"] == "STRING"
