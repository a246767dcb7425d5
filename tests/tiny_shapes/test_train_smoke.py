"""The training script end to end at toy sizes: every stage trains, samples, checkpoints,
exports folders the project's loader reads, and a re-run resumes instead of retraining."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nodes.loading import load_checkpoint, load_unconditional_pipeline
from nodes.tiny_shapes.train import main


def _losses(output: Path) -> list[dict]:
    lines = (output / "log.jsonl").read_text().splitlines()
    return [entry for entry in map(json.loads, lines) if "loss" in entry]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("smoke")
    command = [sys.executable, "-m", "nodes.tiny_shapes.train", "--smoke", "--threads", "1", "--output", str(output)]
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
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
