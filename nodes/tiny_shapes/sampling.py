"""Text encoding and a deterministic DDIM sampler with classifier-free guidance, for training-time
sample grids and the evaluator.

Kept to the few lines the tiny model needs: SD's noise schedule, DDIM (eta 0) with "leading"
timestep spacing, guidance as in diffusers' StableDiffusionPipeline.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from transformers import CLIPTextModel, CLIPTokenizer

Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def token_ids(tokenizer: CLIPTokenizer, prompts: list[str]) -> torch.Tensor:
    """Prompts -> [N, 77] ids, padded and truncated as SD's pipelines do."""
    return tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt").input_ids


def encode_prompts(tokenizer: CLIPTokenizer, text_encoder: CLIPTextModel, prompts: list[str]) -> torch.Tensor:
    """SD 1.x conditioning: the text encoder's last hidden state, [N, 77, hidden]."""
    device = next(text_encoder.parameters()).device
    return text_encoder(token_ids(tokenizer, prompts).to(device)).last_hidden_state


def alphas_cumprod(scheduler_config: dict[str, Any]) -> torch.Tensor:
    """Cumulative signal fractions of a linear or scaled_linear beta schedule, float64."""
    start, end, count = scheduler_config["beta_start"], scheduler_config["beta_end"], scheduler_config["num_train_timesteps"]
    kind = scheduler_config["beta_schedule"]
    if kind == "scaled_linear":
        betas = torch.linspace(start**0.5, end**0.5, count, dtype=torch.float64) ** 2
    elif kind == "linear":
        betas = torch.linspace(start, end, count, dtype=torch.float64)
    else:
        raise ValueError(f"alphas_cumprod: beta_schedule {kind!r} is not supported; expected 'linear' or 'scaled_linear'")
    return torch.cumprod(1.0 - betas, dim=0)


def guided(unet: torch.nn.Module, positive: torch.Tensor, negative: torch.Tensor, cfg: float) -> Denoiser:
    """eps(x, t) with classifier-free guidance: uncond + cfg * (cond - uncond), one batched UNet call."""
    context = torch.cat([negative, positive])

    def denoise(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        uncond, cond = unet(torch.cat([x, x]), torch.cat([t, t]), context).chunk(2)
        return uncond + cfg * (cond - uncond)

    return denoise


@torch.no_grad()
def sample_ddim(eps: Denoiser, noise: torch.Tensor, cumulative: torch.Tensor, steps: int, steps_offset: int = 1) -> torch.Tensor:
    """Deterministic DDIM (Song et al. 2021, eta = 0) from pure noise to x0."""
    ratio = cumulative.shape[0] // steps
    timesteps = [k * ratio + steps_offset for k in reversed(range(steps))]
    x = noise
    for index, t in enumerate(timesteps):
        a_t = cumulative[t].item()
        previous = timesteps[index + 1] if index + 1 < len(timesteps) else None
        # SD's config sets set_alpha_to_one=False: the last step lands on alphas_cumprod[0].
        a_prev = cumulative[previous].item() if previous is not None else cumulative[0].item()
        e = eps(x, torch.full((x.shape[0],), t, dtype=torch.long, device=x.device))
        x0 = (x - (1 - a_t) ** 0.5 * e) / a_t**0.5
        x = a_prev**0.5 * x0 + (1 - a_prev) ** 0.5 * e
    return x
