"""LoRA layers as weight patches, and applying patches without touching the cached weights.

A patch is the low-rank factors of one weight's update plus a strength; nothing is multiplied
out until the patched weight is needed. Applying patches builds new tensors W + sum(deltas)
and swaps them in; the original tensors are never written to, so restoring them is exact and
the same loaded model can serve patched and unpatched graphs.
"""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from nodes.lora.errors import LoraError
from nodes.lora.targets import COMPONENTS, TargetTable
from nodes.lora.weights import LoraLayer, LoraWeights


@dataclass(frozen=True)
class WeightPatch:
    """Adds strength * scale * up @ down to the weight parameter `param`."""

    param: str
    up: torch.Tensor
    down: torch.Tensor
    scale: float
    strength: float

    @property
    def multiplier(self) -> float:
        return self.strength * self.scale

    def factors(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """up (out, rank) and down (rank, in * kernel size) as float32 matrices on `device`.

        A conv LoRA is a k x k conv `down` followed by a 1x1 conv `up`; their composition is
        the product of these matrices, reshaped to the conv weight's shape.
        """
        up = self.up.to(device=device, dtype=torch.float32).flatten(1)
        down = self.down.to(device=device, dtype=torch.float32).flatten(1)
        return up, down


@dataclass(frozen=True)
class LoraPatches:
    """The patches one LoRA file makes to each component, and the file keys it could not apply."""

    patches: dict[str, tuple[WeightPatch, ...]]  # component name -> its patches
    not_applied: dict[str, str]  # file key -> why
    key_count: int

    def for_component(self, component: str) -> tuple[WeightPatch, ...]:
        return self.patches.get(component, ())

    def report(self, examples: int = 3) -> str | None:
        """One line saying how many keys were not applied and why, or None when all were."""
        if not self.not_applied:
            return None
        shown = "; ".join(f"{key} ({why})" for key, why in list(self.not_applied.items())[:examples])
        return f"{len(self.not_applied)} of {self.key_count} LoRA keys were not applied, e.g. {shown}"


def compute_lora_patches(
    lora: LoraWeights,
    components: Mapping[str, nn.Module],
    strengths: Mapping[str, float],
    source: str = "LoRA",
) -> LoraPatches:
    """Match a LoRA's layers to the weights of `components` ("unet", "text_encoder", "text_encoder_2").

    `strengths` gives each component's strength (a missing component counts as 0). Patches are
    checked against the weights' shapes here, so a LoRA for another base model fails now, with
    a message, rather than later inside sampling.
    """
    table = TargetTable(components)
    shapes = {
        component: {name: p.shape for name, p in module.named_parameters()} for component, module in components.items()
    }
    patches: dict[str, list[WeightPatch]] = {component: [] for component in components}
    not_applied = dict(lora.skipped)
    unknown: list[str] = []  # layers naming no module of any model we know of
    matched = 0
    for name, layer in lora.layers.items():
        target = table.find(name)
        if target is None:
            component = _component_named_by(name)
            if component is not None and component not in components:
                why = f"adapts {component}, which was not given"
            else:
                why = "matches no weight of the model"
                unknown.append(name)
            not_applied.update({key: why for key in layer.keys})
            continue
        matched += 1
        _check_fits(layer, shapes[target.component][target.param], f"{target.component}.{target.param}", name, source)
        strength = float(strengths.get(target.component, 0.0))
        if strength != 0.0:
            patches[target.component].append(WeightPatch(target.param, layer.up, layer.down, layer.scale, strength))

    if unknown and not matched:
        raise LoraError(
            f"{source}: none of its {len(lora.layers)} layers match the model's {'/'.join(components)} "
            f"(e.g. {', '.join(unknown[:3])}); is it a LoRA for another kind of base model?"
        )
    return LoraPatches(
        patches={component: tuple(found) for component, found in patches.items()},
        not_applied=not_applied,
        key_count=lora.key_count,
    )


def _component_named_by(lora_name: str) -> str | None:
    for component, naming in COMPONENTS.items():
        if any(prefix and lora_name.startswith(prefix) for prefix in naming.dotted + naming.kohya):
            return component
    return None


def _check_fits(layer: LoraLayer, shape: torch.Size, target: str, name: str, source: str) -> None:
    out_features, in_features = shape[0], shape[1:].numel()
    up_out, down_in = layer.up.shape[0], layer.down.shape[1:].numel()
    if layer.up.shape[1:].numel() != layer.rank or (up_out, down_in) != (out_features, in_features):
        raise LoraError(
            f"{source}: layer '{name}' does not fit {target}: the weight is {tuple(shape)}, the LoRA factors are "
            f"up {tuple(layer.up.shape)} and down {tuple(layer.down.shape)}; is it a LoRA for another base model?"
        )


def patched_parameters(module: nn.Module, patches: Sequence[WeightPatch]) -> dict[str, torch.Tensor]:
    """New tensors W + sum of its patches' deltas for each patched parameter of `module`.

    The module's own tensors are left as they are; the result can be swapped in (see
    `weight_patches`) or passed to `torch.func.functional_call`.
    """
    parameters = dict(module.named_parameters())
    grouped: dict[str, list[WeightPatch]] = {}
    for patch in patches:
        if patch.param not in parameters:
            raise LoraError(f"patch for '{patch.param}', which {type(module).__name__} does not have")
        grouped.setdefault(patch.param, []).append(patch)
    with torch.no_grad():
        return {name: _patched_weight(parameters[name], group) for name, group in grouped.items()}


def _patched_weight(weight: torch.Tensor, patches: list[WeightPatch]) -> torch.Tensor:
    # addmm writes W + m * up @ down in one pass into a new tensor: the original is only read.
    base = weight.detach().to(torch.float32).reshape(weight.shape[0], -1)
    first, *rest = patches
    total = torch.addmm(base, *first.factors(weight.device), alpha=first.multiplier)
    for patch in rest:
        total.addmm_(*patch.factors(weight.device), alpha=patch.multiplier)
    return total.reshape(weight.shape).to(weight.dtype)


@contextmanager
def weight_patches(module: nn.Module, patches: Sequence[WeightPatch]) -> Iterator[nn.Module]:
    """Run the body with `patches` applied to `module`; the original weight tensors come back exactly.

    The originals are swapped out, not modified, so they stay valid for anyone else holding
    them. The module itself is shared state while patched: do not use it concurrently.
    """
    patched = patched_parameters(module, patches)
    parameters = dict(module.named_parameters())
    originals = {name: parameters[name].data for name in patched}
    try:
        for name, value in patched.items():
            parameters[name].data = value
        yield module
    finally:
        for name, original in originals.items():
            parameters[name].data = original
