"""Applying, restoring and reporting LoRA patches, and the errors bad files give (no diffusers needed)."""

import json
import math
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel

from nodes.lora import (
    LoraError,
    LoraFile,
    compute_lora_patches,
    load_lora,
    parse_lora,
    patched_parameters,
    weight_patches,
)
from nodes.models import UNet2DConditionModel

UNET = dict(
    sample_size=8,
    block_out_channels=(16, 32),
    layers_per_block=1,
    down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=24,
    attention_head_dim=2,
    norm_num_groups=8,
)
ATTENTION = "down_blocks.0.attentions.0.transformer_blocks.0.attn1"
CONV = "down_blocks.0.resnets.0.conv1"  # 3x3, 16 -> 16


@pytest.fixture(scope="module")
def unet() -> UNet2DConditionModel:
    torch.manual_seed(0)
    return UNet2DConditionModel(**UNET).eval()


@pytest.fixture(scope="module")
def clip() -> CLIPTextModel:
    torch.manual_seed(1)
    config = CLIPTextConfig(
        hidden_size=24, intermediate_size=48, num_hidden_layers=2, num_attention_heads=2,
        vocab_size=1000, max_position_embeddings=16, bos_token_id=0, eos_token_id=2, pad_token_id=1,
    )  # fmt: skip
    return CLIPTextModel(config).eval()


def kohya_layer(name: str, out_features: int, in_shape: tuple[int, ...], rank: int, alpha: float | None, seed: int) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    kernel = in_shape[1:]
    layer = {
        f"{name}.lora_down.weight": torch.randn(rank, *in_shape, generator=generator),
        f"{name}.lora_up.weight": torch.randn(out_features, rank, *(1 for _ in kernel), generator=generator),
    }
    if alpha is not None:
        layer[f"{name}.alpha"] = torch.tensor(alpha)
    return layer


def unet_lora(seed: int = 0) -> dict[str, torch.Tensor]:
    """kohya LoRA on two attention projections and a 3x3 conv, with different ranks and alphas."""
    prefix = "lora_unet_" + ATTENTION.replace(".", "_")
    return {
        **kohya_layer(f"{prefix}_to_q", 16, (16,), rank=4, alpha=2.0, seed=seed),
        **kohya_layer(f"{prefix}_to_out_0", 16, (16,), rank=2, alpha=None, seed=seed + 1),
        **kohya_layer("lora_unet_" + CONV.replace(".", "_"), 16, (16, 3, 3), rank=3, alpha=6.0, seed=seed + 2),
    }


def clip_lora(seed: int = 0) -> dict[str, torch.Tensor]:
    return kohya_layer("lora_te_text_model_encoder_layers_1_mlp_fc1", 48, (24,), rank=2, alpha=1.0, seed=seed)


def write(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> Path:
    save_file(tensors, str(path), metadata=metadata)
    return path


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def unet_output(unet: torch.nn.Module) -> torch.Tensor:
    torch.manual_seed(5)
    with torch.no_grad():
        return unet(torch.randn(1, 4, 8, 8), 3, torch.randn(1, 4, 24))


def test_patch_is_strength_times_alpha_over_rank_times_up_down(unet, tmp_path):
    tensors = unet_lora()
    result = compute_lora_patches(load_lora(write(tmp_path / "l.safetensors", tensors)), {"unet": unet}, {"unet": 0.5})
    patched = patched_parameters(unet, result.for_component("unet"))
    weights = dict(unet.named_parameters())
    prefix = "lora_unet_" + ATTENTION.replace(".", "_")
    cases = [
        (f"{ATTENTION}.to_q.weight", f"{prefix}_to_q", 2.0 / 4),
        (f"{ATTENTION}.to_out.0.weight", f"{prefix}_to_out_0", 1.0),  # no alpha: scale 1
        (f"{CONV}.weight", "lora_unet_" + CONV.replace(".", "_"), 6.0 / 3),
    ]
    assert set(patched) == {param for param, _, _ in cases}
    for param, name, scale in cases:
        up, down = tensors[f"{name}.lora_up.weight"], tensors[f"{name}.lora_down.weight"]
        delta = patched[param] - weights[param]
        if down.ndim == 2:
            assert torch.allclose(delta, 0.5 * scale * up @ down, atol=1e-5)
        else:
            # A conv LoRA is the k x k conv `down` followed by the 1x1 conv `up`: the patch must act the same.
            x = torch.randn(1, 16, 6, 6)
            expected = 0.5 * scale * torch.conv2d(torch.conv2d(x, down, padding=1), up)
            assert torch.allclose(torch.conv2d(x, delta, padding=1), expected, atol=1e-4)


def test_unpatching_restores_the_original_tensors_bit_exactly(unet, clip, tmp_path):
    path = write(tmp_path / "l.safetensors", {**unet_lora(), **clip_lora()})
    result = compute_lora_patches(load_lora(path), {"unet": unet, "text_encoder": clip}, {"unet": 1.0, "text_encoder": 1.0})
    before, before_clip, output = snapshot(unet), snapshot(clip), unet_output(unet)
    originals = {name: p.data for name, p in unet.named_parameters()}

    with weight_patches(unet, result.for_component("unet")), weight_patches(clip, result.for_component("text_encoder")):
        assert not torch.equal(dict(unet.named_parameters())[f"{CONV}.weight"], before[f"{CONV}.weight"])
        assert not torch.equal(dict(clip.named_parameters())["encoder.layers.1.mlp.fc1.weight"], before_clip["encoder.layers.1.mlp.fc1.weight"])
        # The cached tensors themselves are never written to, even while patched.
        assert all(torch.equal(originals[name], before[name]) for name in before)

    for name, parameter in unet.named_parameters():
        assert parameter.data_ptr() == originals[name].data_ptr()  # the very same storage is back
        assert torch.equal(parameter, before[name])
    assert all(torch.equal(p, before_clip[name]) for name, p in clip.named_parameters())
    assert torch.equal(unet_output(unet), output)


def test_weights_are_restored_when_the_body_raises(unet, tmp_path):
    result = compute_lora_patches(load_lora(write(tmp_path / "l.safetensors", unet_lora())), {"unet": unet}, {"unet": 1.0})
    before = snapshot(unet)
    with pytest.raises(RuntimeError, match="interrupted"), weight_patches(unet, result.for_component("unet")):
        raise RuntimeError("interrupted")
    assert all(torch.equal(p, before[name]) for name, p in unet.named_parameters())


def test_strengths_scale_linearly_and_zero_gives_no_patches(unet, clip, tmp_path):
    lora = load_lora(write(tmp_path / "l.safetensors", {**unet_lora(), **clip_lora()}))
    components = {"unet": unet, "text_encoder": clip}
    weight = dict(unet.named_parameters())[f"{CONV}.weight"]

    def delta(strength: float) -> torch.Tensor:
        result = compute_lora_patches(lora, components, {"unet": strength, "text_encoder": 0.0})
        assert result.for_component("text_encoder") == ()
        return patched_parameters(unet, result.for_component("unet"))[f"{CONV}.weight"] - weight

    assert torch.allclose(delta(-1.5), -1.5 * delta(1.0), atol=1e-5)
    assert compute_lora_patches(lora, components, {"unet": 0.0, "text_encoder": 0.0}).for_component("unet") == ()


def test_stacked_patches_add_up(unet, tmp_path):
    first = load_lora(write(tmp_path / "a.safetensors", unet_lora(seed=0)))
    second = load_lora(write(tmp_path / "b.safetensors", unet_lora(seed=10)))
    weight = dict(unet.named_parameters())[f"{CONV}.weight"]
    patches_a = compute_lora_patches(first, {"unet": unet}, {"unet": 0.7}).for_component("unet")
    patches_b = compute_lora_patches(second, {"unet": unet}, {"unet": -0.3}).for_component("unet")

    def delta(patches) -> torch.Tensor:
        return patched_parameters(unet, patches)[f"{CONV}.weight"] - weight

    assert torch.allclose(delta(patches_a + patches_b), delta(patches_a) + delta(patches_b), atol=1e-5)


def test_peft_metadata_alpha_patterns_and_rslora(unet, tmp_path):
    name = f"unet.{ATTENTION}"
    generator = torch.Generator().manual_seed(0)
    tensors = {
        f"{name}.to_q.lora_A.weight": torch.randn(4, 16, generator=generator),
        f"{name}.to_q.lora_B.weight": torch.randn(16, 4, generator=generator),
        f"{name}.to_k.lora_A.weight": torch.randn(4, 16, generator=generator),
        f"{name}.to_k.lora_B.weight": torch.randn(16, 4, generator=generator),
    }
    config = {"unet.r": 4, "unet.lora_alpha": 8, "unet.alpha_pattern": {"to_k": 2}, "unet.use_rslora": True}
    path = write(tmp_path / "p.safetensors", tensors, {"lora_adapter_metadata": json.dumps(config)})
    scales = {layer: parsed.scale for layer, parsed in load_lora(path).layers.items()}
    assert scales == {f"{name}.to_q": 8 / math.sqrt(4), f"{name}.to_k": 2 / math.sqrt(4)}


def test_unknown_and_unsupported_keys_are_reported_and_the_rest_applied(unet, tmp_path):
    tensors = {
        **unet_lora(),
        **kohya_layer("lora_unet_no_such_block_proj", 16, (16,), rank=2, alpha=1.0, seed=3),
        **kohya_layer("lora_unet_down_blocks_0_attentions_0_proj_in", 16, (16, 1, 1), rank=2, alpha=1.0, seed=4),
        "lora_unet_down_blocks_0_attentions_0_proj_in.dora_scale": torch.ones(16, 1),
        "lora_unet_stray.lora_down.weight": torch.ones(2, 16),  # no up factor
        "something_else": torch.zeros(3),
    }
    result = compute_lora_patches(load_lora(write(tmp_path / "l.safetensors", tensors)), {"unet": unet}, {"unet": 1.0})

    assert len(result.for_component("unet")) == 3
    assert result.not_applied == {
        "lora_unet_no_such_block_proj.lora_down.weight": "matches no weight of the model",
        "lora_unet_no_such_block_proj.lora_up.weight": "matches no weight of the model",
        "lora_unet_no_such_block_proj.alpha": "matches no weight of the model",
        "lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight": "DoRA magnitude vectors are not supported",
        "lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight": "DoRA magnitude vectors are not supported",
        "lora_unet_down_blocks_0_attentions_0_proj_in.alpha": "DoRA magnitude vectors are not supported",
        "lora_unet_down_blocks_0_attentions_0_proj_in.dora_scale": "DoRA magnitude vectors are not supported",
        "lora_unet_stray.lora_down.weight": "has no up (B) factor",
        "something_else": "not a LoRA factor in any known format",
    }
    assert result.report().startswith(f"9 of {len(tensors)} LoRA keys were not applied, e.g. ")


def test_text_encoder_layers_without_a_text_encoder_are_reported_not_fatal(unet, tmp_path):
    path = write(tmp_path / "l.safetensors", {**unet_lora(), **clip_lora()})
    result = compute_lora_patches(load_lora(path), {"unet": unet}, {"unet": 1.0})
    assert len(result.for_component("unet")) == 3
    assert set(result.not_applied.values()) == {"adapts text_encoder, which was not given"}


def test_missing_file(tmp_path):
    with pytest.raises(LoraError, match="LoRA file not found: .*missing.safetensors"):
        load_lora(tmp_path / "missing.safetensors")


@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".bin"])
def test_pickled_files_are_refused_without_being_opened(tmp_path, suffix):
    path = tmp_path / f"lora{suffix}"
    path.write_bytes(b"\x80\x04 not read")
    with pytest.raises(LoraError, match=f"'{suffix}' LoRA files are pickles.*convert the file to .safetensors"):
        load_lora(path)


def test_other_extensions_are_refused(tmp_path):
    path = tmp_path / "lora.txt"
    path.write_text("hello")
    with pytest.raises(LoraError, match="expected a .safetensors LoRA file, got a '.txt' extension"):
        load_lora(path)


def test_corrupt_safetensors(tmp_path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 64)
    with pytest.raises(LoraError, match="broken.safetensors is not a valid safetensors file"):
        load_lora(path)


def test_a_checkpoint_is_not_a_lora(unet, tmp_path):
    path = write(tmp_path / "model.safetensors", {k: v.contiguous() for k, v in list(unet.state_dict().items())[:5]})
    with pytest.raises(LoraError, match=r"holds no usable LoRA weights: expected keys ending in \.lora_down\.weight"):
        load_lora(path)


def test_lora_for_another_architecture_is_refused(unet, tmp_path):
    path = write(tmp_path / "flux.safetensors", kohya_layer("lora_transformer_single_blocks_0_attn_to_q", 16, (16,), 2, 1.0, 0))
    with pytest.raises(LoraError, match="none of its 1 layers match the model's unet .*another kind of base model"):
        compute_lora_patches(load_lora(path), {"unet": unet}, {"unet": 1.0})


def test_lora_for_another_model_size_is_refused(unet, tmp_path):
    # SD 1.5-sized factors (320 channels) on the tiny UNet's 16-channel projection.
    name = "lora_unet_" + ATTENTION.replace(".", "_") + "_to_q"
    path = write(tmp_path / "big.safetensors", kohya_layer(name, 320, (320,), 4, 4.0, 0))
    with pytest.raises(LoraError, match=r"does not fit unet\..*to_q\.weight: the weight is \(16, 16\), .*up \(320, 4\)"):
        compute_lora_patches(load_lora(path), {"unet": unet}, {"unet": 1.0})


def test_factors_that_do_not_chain_are_refused():
    tensors = {"lora_unet_x.lora_down.weight": torch.ones(4, 16), "lora_unet_x.lora_up.weight": torch.ones(16, 3)}
    with pytest.raises(LoraError, match=r"the factors of 'lora_unet_x' do not chain: up \(16, 3\) @ down \(4, 16\)"):
        parse_lora(LoraFile(tensors=tensors, metadata={}))


def test_unknown_component_names_are_refused(unet):
    lora = parse_lora(LoraFile(tensors=unet_lora(), metadata={}))
    with pytest.raises(ValueError, match=r"unknown LoRA component\(s\) \['vae'\]"):
        compute_lora_patches(lora, {"vae": unet}, {"vae": 1.0})
