"""Hub repo ids: served from the local cache when complete; offline and uncached gives the exact
download command. These tests never touch the network (offline mode, empty temporary HF cache)."""

from __future__ import annotations

import shutil
from pathlib import Path

import huggingface_hub.constants
import pytest
from sd_checkpoint_fixtures import diffusers_pipeline, tiny_models

from nodes.loading import HubUnavailableError, load_checkpoint
from nodes.loading.hub import is_repo_id

REPO = "tiny-org/tiny-sd"
COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def offline_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "hf_home" / "hub"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    # huggingface_hub reads its environment once at import; patch the values it consults per call.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def test_offline_and_uncached_says_what_to_download(offline_cache: Path) -> None:
    with pytest.raises(HubUnavailableError) as raised:
        load_checkpoint(REPO)
    message = str(raised.value)
    assert f"cannot get '{REPO}' from the Hugging Face Hub" in message
    assert f"hf download {REPO} --include model_index.json" in message
    assert " unet/diffusion_pytorch_model.safetensors " in message
    assert " 'unet/*.json' " in message  # wildcards quoted for the shell
    assert "--local-dir models/tiny-sd" in message
    assert str(offline_cache) in message


def test_variant_is_part_of_the_download_command(offline_cache: Path) -> None:
    with pytest.raises(HubUnavailableError, match=r" unet/diffusion_pytorch_model\.fp16\.safetensors "):
        load_checkpoint(REPO, variant="fp16")


def test_complete_cache_is_used_offline(offline_cache: Path, tmp_path: Path) -> None:
    models = tiny_models("sd1", vocab_size=49408)
    saved = tmp_path / "saved"
    diffusers_pipeline(models).save_pretrained(saved)
    # The Hub cache layout: refs/main names the snapshot folder that holds the files.
    repo_cache = offline_cache / f"models--{REPO.replace('/', '--')}"
    shutil.copytree(saved, repo_cache / "snapshots" / COMMIT)
    (repo_cache / "refs").mkdir()
    (repo_cache / "refs" / "main").write_text(COMMIT)
    loaded = load_checkpoint(REPO)
    assert loaded.family == "sd1"
    assert loaded.unet.conv_in.weight.equal(models.unet.conv_in.weight)


def test_incomplete_cache_is_not_used(offline_cache: Path, tmp_path: Path) -> None:
    models = tiny_models("sd1", vocab_size=49408)
    saved = tmp_path / "saved"
    diffusers_pipeline(models).save_pretrained(saved)
    (saved / "unet" / "diffusion_pytorch_model.safetensors").unlink()  # e.g. only configs were fetched
    repo_cache = offline_cache / f"models--{REPO.replace('/', '--')}"
    shutil.copytree(saved, repo_cache / "snapshots" / COMMIT)
    (repo_cache / "refs").mkdir()
    (repo_cache / "refs" / "main").write_text(COMMIT)
    with pytest.raises(HubUnavailableError, match="hf download"):
        load_checkpoint(REPO)


@pytest.mark.parametrize(
    ("source", "expected"),
    [("owner/name", True), ("stabilityai/stable-diffusion-xl-base-1.0", True), ("name", False),
     ("a/b/c", False), ("./model.safetensors", False), ("owner/", False)],
)
def test_repo_id_shape(source: str, expected: bool) -> None:
    assert is_repo_id(source) is expected
