"""The training script end to end at toy sizes: every stage trains, samples, checkpoints,
exports folders the project's loader reads, and a re-run resumes instead of retraining."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from nodes.loading import load_checkpoint, load_unconditional_pipeline
from nodes.tiny_shapes.train import loss_weight, main, training_timesteps

_WEIGHTS = {
    "unet": "diffusion_pytorch_model.safetensors",
    "vae": "diffusion_pytorch_model.safetensors",
    "text_encoder": "model.safetensors",
}


def _losses(output: Path) -> list[dict]:
    lines = (output / "log.jsonl").read_text().splitlines()
    return [entry for entry in map(json.loads, lines) if "loss" in entry]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("smoke")
    _train_smoke(output)
    return output


def test_every_stage_trains_and_writes_sample_grids(trained: Path) -> None:
    losses = _losses(trained)
    assert {entry["stage"] for entry in losses} == {"vae", "unet", "ddpm"}
    assert all(torch.isfinite(torch.tensor(entry["loss"])) for entry in losses)
    for stage in ("vae", "unet", "ddpm"):
        assert (trained / "samples" / f"{stage}_000002.png").stat().st_size > 0
        assert torch.load(trained / "state" / f"{stage}.pt", weights_only=True)["finished"]


def test_exported_folders_load_and_run(trained: Path) -> None:
    components = load_checkpoint(trained / "export" / "tiny-shapes")
    scaling = components.vae.config.scaling_factor
    assert 0 < scaling < 100
    ids = components.tokenizer(["a red circle"], padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        context = components.text_encoder(ids).last_hidden_state
        eps = components.unet(torch.randn(1, 4, 16, 16), 500, context)
        pixels = components.vae.decode(eps / scaling)
    assert eps.shape == (1, 4, 16, 16) and pixels.shape == (1, 3, 64, 64)
    unconditional = load_unconditional_pipeline(trained / "export" / "tiny-shapes-ddpm")
    assert unconditional.unet.config.sample_size == 16


def test_rerun_resumes_finished_stages_without_training(trained: Path) -> None:
    before = len(_losses(trained))
    main(["--smoke", "--output", str(trained)])
    assert len(_losses(trained)) == before
    assert (trained / "export" / "tiny-shapes" / "model_index.json").is_file()


def test_help_describes_the_stages(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert "vae" in capsys.readouterr().out


def _train_smoke(output: Path, *extra: str) -> None:
    command = [sys.executable, "-m", "nodes.tiny_shapes.train", "--smoke", "--threads", "1", "--output", str(output)]
    result = subprocess.run([*command, *extra], check=False, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]


def test_two_workers_train_the_same_weights_as_one(tmp_path: Path) -> None:
    """Data-parallel workers split each batch and average gradients: the result matches one process.
    (On the cpu-hour recipe, which also covers v prediction and logit-normal timesteps.)"""
    _train_smoke(tmp_path / "one", "--recipe", "cpu-hour")
    _train_smoke(tmp_path / "two", "--recipe", "cpu-hour", "--workers", "2")
    scheduler = json.loads((tmp_path / "two" / "export/tiny-shapes/scheduler/scheduler_config.json").read_text())
    assert scheduler["prediction_type"] == "v_prediction"
    for part in ("tiny-shapes/unet", "tiny-shapes/text_encoder", "tiny-shapes/vae", "tiny-shapes-ddpm/unet"):
        file = _WEIGHTS[part.split("/")[1]]
        one = load_file(tmp_path / "one" / "export" / part / file)
        two = load_file(tmp_path / "two" / "export" / part / file)
        assert one.keys() == two.keys(), part
        assert max((one[key] - two[key]).abs().max().item() for key in one) < 2e-4, part
    # Only the main worker logs: one line per logged step, not two.
    steps = [(entry["stage"], entry["step"]) for entry in _losses(tmp_path / "two")]
    assert len(steps) == len(set(steps)) == 3


def test_workers_need_the_cpu() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--smoke", "--workers", "2", "--device", "cuda"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("sampling", ["uniform", "logit_normal"])
def test_training_timesteps_cover_the_schedule(sampling: str) -> None:
    t = training_timesteps(sampling, 20_000, 1000, torch.Generator().manual_seed(0))
    assert t.dtype == torch.int64 and int(t.min()) >= 0 and int(t.max()) <= 999
    middle = ((t >= 250) & (t < 750)).float().mean().item()
    # Uniform puts half the draws in the middle half; logit-normal 73% (|N(0, 1)| < logit(0.75) = ln 3).
    assert abs(middle - (0.5 if sampling == "uniform" else 0.73)) < 0.02


def test_unknown_timestep_sampling_is_named() -> None:
    with pytest.raises(ValueError, match="'cosine'.*'uniform' or 'logit_normal'"):
        training_timesteps("cosine", 4, 1000, torch.Generator())


def test_loss_weight_clamps_the_clean_latent_weight_for_either_prediction() -> None:
    snr = torch.tensor([0.01, 0.2, 1.0, 3.0, 8.0, 50.0])
    for prediction_type, error_scale in (("v_prediction", snr + 1), ("epsilon", snr)):
        # min-SNR alone (floor 0): the clean-latent error weighs min(SNR, 5), as in Hang et al.
        min_snr = loss_weight(snr, prediction_type, 0.0, 5.0) * error_scale
        assert torch.allclose(min_snr, torch.tensor([0.01, 0.2, 1.0, 3.0, 5.0, 5.0]))
        # With a floor of 1 the noisy end weighs as much as SNR 1 does.
        floored = loss_weight(snr, prediction_type, 1.0, 5.0) * error_scale
        assert torch.allclose(floored, torch.tensor([1.0, 1.0, 1.0, 3.0, 5.0, 5.0]))
    with pytest.raises(ValueError, match="'sample'.*'epsilon' or 'v_prediction'"):
        loss_weight(snr, "sample", 0.0, 5.0)
