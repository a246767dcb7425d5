"""LoRA files (kohya, PEFT/diffusers, older diffusers) as weight patches for the UNet and CLIP text encoders.

    lora = load_lora("style.safetensors")
    result = compute_lora_patches(lora, {"unet": unet, "text_encoder": clip}, {"unet": 0.8, "text_encoder": 1.0})
    with weight_patches(unet, result.for_component("unet")):
        ...  # sample; the original weights come back exactly afterwards
"""

from nodes.lora.errors import LoraError
from nodes.lora.file import LoraFile, read_lora_file
from nodes.lora.patches import LoraPatches, WeightPatch, compute_lora_patches, patched_parameters, weight_patches
from nodes.lora.targets import COMPONENTS, LoraTarget, TargetTable
from nodes.lora.weights import LoraLayer, LoraWeights, load_lora, parse_lora

__all__ = [
    "COMPONENTS",
    "LoraError",
    "LoraFile",
    "LoraLayer",
    "LoraPatches",
    "LoraTarget",
    "LoraWeights",
    "TargetTable",
    "WeightPatch",
    "compute_lora_patches",
    "load_lora",
    "parse_lora",
    "patched_parameters",
    "read_lora_file",
    "weight_patches",
]
