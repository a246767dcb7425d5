"""Helpers for comparing our models with diffusers' (the test-only numerical oracle)."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def perturb_norms(model: nn.Module, seed: int = 0) -> None:
    """Give every norm layer non-trivial affine parameters so parity checks exercise them."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.GroupNorm, nn.LayerNorm)) and module.weight is not None:
                module.weight.add_(0.1 * torch.randn(module.weight.shape, generator=generator))
                module.bias.add_(0.1 * torch.randn(module.bias.shape, generator=generator))


def copy_weights(reference: nn.Module, ours: nn.Module) -> None:
    """Load the reference model's state dict into ours; strict, so names and shapes must be identical."""
    reference_state = reference.state_dict()
    ours_state = ours.state_dict()
    assert set(reference_state) == set(ours_state), (
        f"only in diffusers: {sorted(set(reference_state) - set(ours_state))[:10]}, "
        f"only ours: {sorted(set(ours_state) - set(reference_state))[:10]}"
    )
    ours.load_state_dict(reference_state, strict=True)


def assert_close(expected: Tensor, actual: Tensor, atol: float = 1e-4) -> None:
    assert expected.shape == actual.shape, f"shape {tuple(actual.shape)} != expected {tuple(expected.shape)}"
    assert expected.std() > 1e-3, "the reference output is (nearly) constant: the comparison would prove nothing"
    difference = (expected - actual).abs().max().item()
    assert difference <= atol, f"max abs difference {difference:.3g} > {atol}"
