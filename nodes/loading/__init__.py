"""Loading models: diffusers folders, original single-file checkpoints and Hub repositories,
built on the meta device and filled straight from safetensors on the target device."""

from nodes.loading.checkpoint import StableDiffusionComponents, load_checkpoint
from nodes.loading.clip_tokenizer import clip_tokenizer, load_bpe_vocabulary
from nodes.loading.errors import CheckpointError, HubUnavailableError
from nodes.loading.families import FAMILIES, PREDICTION_TYPES, Family, PredictionType, shipped_configs
from nodes.loading.unconditional import UnconditionalComponents, load_unconditional_pipeline
from nodes.loading.vae_loader import load_vae

__all__ = [
    "FAMILIES",
    "PREDICTION_TYPES",
    "CheckpointError",
    "Family",
    "HubUnavailableError",
    "PredictionType",
    "StableDiffusionComponents",
    "UnconditionalComponents",
    "clip_tokenizer",
    "load_bpe_vocabulary",
    "load_checkpoint",
    "load_unconditional_pipeline",
    "load_vae",
    "shipped_configs",
]
