"""Weight files: pickles are refused unless asked for (and then only tensors are unpickled);
damaged safetensors files give an error that names the file and the problem."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import safetensors.torch
import torch
from sd_checkpoint_fixtures import tiny_models, to_original_checkpoint

from nodes.loading import CheckpointError, load_checkpoint
from nodes.loading.tensor_files import ShardedTensorFile, open_tensor_file


class NotATensor:
    """Stands for arbitrary pickled objects, which weights_only loading must refuse."""


@pytest.fixture(scope="module")
def sd2_pickle(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    models = tiny_models("sd2")
    path = tmp_path_factory.mktemp("pickle") / "model.ckpt"
    # The layout of original .ckpt files: a nested state_dict beside training metadata.
    torch.save({"state_dict": to_original_checkpoint(models), "global_step": 875000, "epoch": 3}, path)
    return models.configs, path


def test_pickles_are_refused_by_default(sd2_pickle: tuple[dict, Path]) -> None:
    configs, path = sd2_pickle
    with pytest.raises(CheckpointError, match=r"(?s)refusing to load .*model\.ckpt.*st\.save_file.*allow_pickle=True"):
        load_checkpoint(path, configs=configs)


def test_pickles_load_with_weights_only_when_allowed(sd2_pickle: tuple[dict, Path]) -> None:
    configs, path = sd2_pickle
    loaded = load_checkpoint(path, configs=configs, allow_pickle=True)
    expected = torch.load(path, weights_only=True)["state_dict"]["model.diffusion_model.input_blocks.0.0.weight"]
    assert torch.equal(loaded.unet.conv_in.weight, expected)
    # global_step 875000 marks the SD 2.x 512 px epsilon release (diffusers' heuristic).
    assert loaded.prediction_type == "epsilon"


def test_pickled_objects_other_than_tensors_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"weight": torch.zeros(2), "payload": NotATensor()}, path)
    with pytest.raises(CheckpointError, match=r"evil\.pt holds objects other than tensors"):
        open_tensor_file(path, allow_pickle=True)


@pytest.fixture
def safetensors_file(tmp_path: Path) -> Path:
    path = tmp_path / "weights.safetensors"
    safetensors.torch.save_file({"a": torch.arange(1000, dtype=torch.float32), "b": torch.ones(3, 3)}, path)
    return path


def test_intact_file_reads_lazily(safetensors_file: Path) -> None:
    file = open_tensor_file(safetensors_file)
    assert sorted(file.keys()) == ["a", "b"]
    assert file.shape("a") == (1000,)
    assert torch.equal(file.tensor("b"), torch.ones(3, 3))


def test_truncated_file_is_reported(safetensors_file: Path) -> None:
    data = safetensors_file.read_bytes()
    safetensors_file.write_bytes(data[:-100])
    with pytest.raises(CheckpointError, match=r"weights\.safetensors is truncated: .*incomplete download"):
        open_tensor_file(safetensors_file)


def test_corrupted_header_is_reported(safetensors_file: Path) -> None:
    data = bytearray(safetensors_file.read_bytes())
    data[8:12] = b"\xff\xfe{!"
    safetensors_file.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"weights\.safetensors has a corrupted safetensors header"):
        open_tensor_file(safetensors_file)


def test_header_size_beyond_the_file_is_reported(safetensors_file: Path) -> None:
    data = safetensors_file.read_bytes()
    safetensors_file.write_bytes(struct.pack("<Q", 10**9) + data[8:])
    with pytest.raises(CheckpointError, match=r"truncated or not a safetensors file"):
        open_tensor_file(safetensors_file)


def test_empty_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "empty.safetensors"
    path.write_bytes(b"abc")
    with pytest.raises(CheckpointError, match=r"empty\.safetensors is not a safetensors file: it holds only 3 bytes"):
        load_checkpoint(path)


def test_unsupported_suffix_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"0" * 16)
    with pytest.raises(CheckpointError, match=r"unsupported weight file .*model\.gguf: expected a \.safetensors file"):
        load_checkpoint(path)


def test_missing_shard_is_named(tmp_path: Path) -> None:
    safetensors.torch.save_file({"a": torch.zeros(1)}, tmp_path / "part-1.safetensors")
    index = tmp_path / "model.safetensors.index.json"
    index.write_text(json.dumps({"weight_map": {"a": "part-1.safetensors", "b": "part-2.safetensors"}}))
    with pytest.raises(CheckpointError, match=r"shard .*part-2\.safetensors listed in model\.safetensors\.index\.json is missing"):
        ShardedTensorFile(index)
