"""The shipped tiny-shapes weights: layout, size, standard loading, and a floor on prompt adherence."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from nodes.loading import load_checkpoint, load_unconditional_pipeline
from nodes.tiny_shapes import BUNDLED_NAMES, CHECKPOINTS, bundled_checkpoint
from nodes.tiny_shapes.classify import read_image
from nodes.tiny_shapes.evaluate import Target, ceiling, evaluate, main, score
from nodes.tiny_shapes.generate import generate, generate_with, load

# The shipped model (MODEL_CARD.md: colour 99%, background 100%, shape below 20%) must keep the
# asked-for colour and background in at least 7 of these 8 images and draw a foreground in all of
# them; chance is 1/8 for colour and background. Random weights, a wrong scaling factor, a text
# encoder that is not wired in, missing offset-noise training (backgrounds follow the noise) or a
# broken sampler fail. Shape is the model's weak point: most of its shapes are lumpy blobs that the
# classifier reads as no shape, so its floor is one clean shape of the asked kind. Sampling is seeded,
# so the result is deterministic (this sample measured colour 8/8, background 8/8, shape 2/8).
FLOOR = {"colour": 0.875, "background": 0.875, "shape": 0.125, "foreground": 1.0}
SAMPLE = [
    Target("red", "circle", "blue"),
    Target("yellow", "square", "black"),
    Target("green", "triangle", "white"),
    Target("blue", "star", "yellow"),
    Target("white", "circle", "purple"),
    Target("orange", "square", "green"),
    Target("purple", "triangle", "orange"),
    Target("black", "star", "red"),
]


def test_names_resolve_to_diffusers_folders() -> None:
    assert BUNDLED_NAMES == ("tiny-shapes", "tiny-shapes-ddpm")
    folder = bundled_checkpoint("tiny-shapes")
    for part in (
        "unet/config.json",
        "vae/config.json",
        "text_encoder/config.json",
        "tokenizer/vocab.json",
        "tokenizer/merges.txt",
        "scheduler/scheduler_config.json",
    ):
        assert (folder / part).is_file(), part
    assert (bundled_checkpoint("tiny-shapes-ddpm") / "unet" / "diffusion_pytorch_model.safetensors").is_file()


def test_unknown_name_lists_the_bundled_ones() -> None:
    with pytest.raises(KeyError, match="tiny-shapes-ddpm"):
        bundled_checkpoint("sd15")


def test_shipped_size_is_within_budget() -> None:
    total = sum(path.stat().st_size for path in CHECKPOINTS.rglob("*") if path.is_file())
    assert total <= 25 * 2**20


def test_scheduler_uses_stable_diffusion_conventions() -> None:
    components = load_checkpoint(bundled_checkpoint("tiny-shapes"))
    config = components.scheduler_config
    assert (config["beta_schedule"], config["beta_start"], config["beta_end"]) == ("scaled_linear", 0.00085, 0.012)
    assert config["num_train_timesteps"] == 1000 and components.prediction_type == "v_prediction"
    assert components.unet.config.cross_attention_dim == components.text_encoder.config.hidden_size


def test_diffusers_reads_the_same_weights() -> None:
    diffusers = pytest.importorskip("diffusers")
    folder = bundled_checkpoint("tiny-shapes")
    pipe = diffusers.StableDiffusionPipeline.from_pretrained(
        folder, safety_checker=None, feature_extractor=None, requires_safety_checker=False
    )
    ours = load_checkpoint(folder)
    for name in ("unet", "vae", "text_encoder"):
        theirs, mine = getattr(pipe, name).state_dict(), getattr(ours, name).state_dict()
        assert set(theirs) == set(mine), name
        assert all(torch.equal(theirs[key], mine[key]) for key in mine), name
    assert pipe.tokenizer("a red star").input_ids == ours.tokenizer("a red star").input_ids
    unconditional = diffusers.DDPMPipeline.from_pretrained(bundled_checkpoint("tiny-shapes-ddpm"))
    mine = load_unconditional_pipeline(bundled_checkpoint("tiny-shapes-ddpm")).unet.state_dict()
    assert all(torch.equal(unconditional.unet.state_dict()[key], mine[key]) for key in mine)


def test_same_seed_same_image_and_seeds_differ() -> None:
    model = load("tiny-shapes")
    first, again, other = generate_with(model, ["a red circle on a blue background"] * 3, [3, 3, 4], steps=8)
    assert first.size == (64, 64)
    assert np.array_equal(np.asarray(first), np.asarray(again))
    assert not np.array_equal(np.asarray(first), np.asarray(other))


def test_prompt_adherence_floor() -> None:
    images = generate([target.prompt for target in SAMPLE], [0] * len(SAMPLE), steps=20, cfg=5.0)
    readings = [read_image(np.asarray(image)) for image in images]
    adherence = score(list(zip(SAMPLE, readings)))
    assert adherence.colour >= FLOOR["colour"], adherence
    assert adherence.background >= FLOOR["background"], adherence
    assert adherence.shape >= FLOOR["shape"], adherence
    assert sum(reading.colour is not None for reading in readings) / len(readings) >= FLOOR["foreground"], readings


def test_vae_ceiling_reads_round_trips_of_real_images() -> None:
    # The VAE keeps colours exactly and most shapes; small stars and triangles lose their corners
    # (MODEL_CARD.md), which caps the shape accuracy any UNet can reach on this VAE.
    adherence, results = ceiling("tiny-shapes", SAMPLE, [0, 1])
    assert adherence.count == 16 and len(results) == 16
    assert adherence.colour == 1.0 and adherence.background == 1.0, adherence
    assert adherence.shape >= 0.6, adherence
    assert all(image.size == (64, 64) for _, _, image, _ in results)


def test_evaluator_cli_reports_the_sampler_it_used(tmp_path: Path) -> None:
    main(
        [
            "--seeds",
            "1",
            "--backgrounds",
            "1",
            "--steps",
            "4",
            "--sampler",
            "euler_ancestral",
            "--output",
            str(tmp_path),
        ]
    )
    report = json.loads((tmp_path / "report.json").read_text())
    assert (report["sampler"], report["scheduler"], report["count"]) == ("euler_ancestral", "normal", 32)
    assert (tmp_path / "grid.png").is_file()
    _, ancestral = evaluate("tiny-shapes", SAMPLE[:2], [0], steps=4, sampler="euler_ancestral")
    _, deterministic = evaluate("tiny-shapes", SAMPLE[:2], [0], steps=4)
    assert not np.array_equal(np.asarray(ancestral[0][2]), np.asarray(deterministic[0][2]))


def test_from_real_redraws_only_the_end_of_the_schedule() -> None:
    # At denoise 0.2 the UNet only refines the real picture, so it keeps what the ceiling keeps.
    adherence, results = evaluate("tiny-shapes", SAMPLE, [0], from_real=0.2)
    assert adherence.colour == 1.0 and adherence.background == 1.0 and adherence.shape >= 0.6, adherence
    _, ceiling_results = ceiling("tiny-shapes", SAMPLE, [0])
    assert not np.array_equal(np.asarray(results[0][2]), np.asarray(ceiling_results[0][2]))


@pytest.mark.parametrize(
    "arguments", [["--from-real", "0"], ["--from-real", "1.5"], ["--from-real", "0.5", "--ceiling"]]
)
def test_evaluator_rejects_a_bad_start(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    assert "--from-real" in capsys.readouterr().err
