"""Which weight of which model a LoRA layer name refers to.

Rather than rewriting file keys with string replacements, every way a LoRA file can spell a
module is generated from the modules the models actually have, and names are looked up:
- diffusers/PEFT: `<component>.<module path>`, e.g. `unet.down_blocks.0.attentions.0.proj_in`;
  the oldest diffusers files leave out `unet.`.
- kohya: `<prefix><module path with "." replaced by "_">`, e.g. `lora_te_text_model_encoder_layers_0_mlp_fc1`;
  for SDXL UNets the path is the SGM one (see `sgm.py`).
A name that matches nothing is reported, never guessed.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from torch import nn

from nodes.lora.sgm import sgm_names


@dataclass(frozen=True)
class _Naming:
    dotted: tuple[str, ...]  # diffusers/PEFT prefixes
    kohya: tuple[str, ...]  # kohya prefixes (SD 1.x says lora_te_, SDXL lora_te1_ for the same encoder)
    sgm: bool  # whether kohya may spell paths in the SGM UNet layout


# The components a LoRA can adapt, by the names diffusers gives them in its pipelines.
COMPONENTS: dict[str, _Naming] = {
    "unet": _Naming(dotted=("unet.", ""), kohya=("lora_unet_",), sgm=True),
    "text_encoder": _Naming(dotted=("text_encoder.",), kohya=("lora_te_", "lora_te1_"), sgm=False),
    "text_encoder_2": _Naming(dotted=("text_encoder_2.",), kohya=("lora_te2_",), sgm=False),
}

# transformers wraps CLIP's layers in `text_model` in some classes and versions and not in others.
_TEXT_MODEL = "text_model."

# Attention-processor era diffusers named the projections after the processor's own layers.
_LEGACY_PROJECTIONS = {
    "to_out": ("to_out.0", "out_proj"),
    "to_q": ("q_proj",),
    "to_k": ("k_proj",),
    "to_v": ("v_proj",),
}


@dataclass(frozen=True)
class LoraTarget:
    """A weight parameter a LoRA layer adapts: `param` inside the model called `component`."""

    component: str
    param: str


class TargetTable:
    """Every spelling LoRA files use for the weights of the given models, ready for lookup."""

    def __init__(self, components: Mapping[str, nn.Module]) -> None:
        unknown = sorted(set(components) - set(COMPONENTS))
        if unknown:
            raise ValueError(f"unknown LoRA component(s) {unknown}; expected some of {sorted(COMPONENTS)}")
        self._targets: dict[str, LoraTarget] = {}
        for component, module in components.items():
            naming = COMPONENTS[component]
            modules = _weighted_modules(module)
            sgm = sgm_names(modules) if naming.sgm else {}
            for name in modules:
                target = LoraTarget(component, f"{name}.weight")
                for path in _paths(name, component):
                    for prefix in naming.dotted:
                        self._add(prefix + path, target)
                    for prefix in naming.kohya:
                        self._add(prefix + path.replace(".", "_"), target)
                if name in sgm:
                    for prefix in naming.kohya:
                        self._add(prefix + sgm[name].replace(".", "_"), target)

    def find(self, lora_name: str) -> LoraTarget | None:
        """The weight a LoRA layer adapts, given its module name as the file spells it."""
        for spelling in _legacy_spellings(lora_name):
            target = self._targets.get(spelling)
            if target is not None:
                return target
        return None

    def _add(self, spelling: str, target: LoraTarget) -> None:
        known = self._targets.setdefault(spelling, target)
        if known != target:
            raise ValueError(f"LoRA name '{spelling}' would address both {known} and {target}")


def _weighted_modules(module: nn.Module) -> list[str]:
    """Names of the submodules with a matrix or convolution weight: what a LoRA can adapt."""
    return [
        name.removesuffix(".weight")
        for name, parameter in module.named_parameters()
        if name.endswith(".weight") and parameter.ndim >= 2
    ]


def _paths(name: str, component: str) -> tuple[str, ...]:
    if component == "unet":
        return (name,)
    if name.startswith(_TEXT_MODEL):
        return (name, name.removeprefix(_TEXT_MODEL))
    return (name, _TEXT_MODEL + name)


def _legacy_spellings(name: str) -> Iterator[str]:
    yield name
    plain = name.replace(".processor.", ".")
    if plain != name:
        yield plain
    head, _, last = plain.rpartition(".")
    for projection in _LEGACY_PROJECTIONS.get(last, ()):
        yield f"{head}.{projection}"
