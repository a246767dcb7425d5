"""KSampler's work as plain torch: classifier-free guidance around the UNet, seeded initial noise,
inpainting masks and progress reporting, driving the denoising loop of `nodes.schedulers.sample`.

Noise comes from a CPU generator seeded with the seed, drawn for every batch position up to the
largest one and indexed, so a seed gives the same starting noise on CPU and GPU and each sample
the noise of its position (sample 0 of a batch starts like the single image of the same seed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
from PIL import Image
from torch import Tensor, nn

from nodes.image_ops import mask_to_latent, pixels_to_image, to_pil
from nodes.lora import WeightPatch, weight_patches
from nodes.schedulers import Inpaint, NoiseSchedule, sample
from nodes.text_encoding import TIME_IDS, Conditioning
from nodes.types import Latent, ModelHandle, UnconditionalModelHandle

Report = Callable[[int, int, Image.Image | None], None]
"""`report(step, total, preview)` after each step (1-based); may raise to stop sampling."""

# Previews are sent about this many times per run (and always after the last step).
PREVIEWS_PER_RUN = 5


class GuidedUNet:
    """`model(x_t, t) -> ε` with classifier-free guidance, ε = ε_u + cfg·(ε_c − ε_u) (Ho & Salimans 2022).

    With cfg == 1 (or no negative) only the conditional pass runs. Both passes share one UNet call
    when their token lengths match. The sampler's float32 state is cast to the UNet's dtype and its
    output back to float32.
    """

    def __init__(
        self, unet: nn.Module, positive: Conditioning, negative: Conditioning | None, cfg: float, batch_size: int
    ) -> None:
        config = unet.config
        if getattr(config, "time_cond_proj_dim", None) is not None:
            raise ValueError(
                "this UNet is guidance-distilled (time_cond_proj_dim is set, e.g. LCM); KSampler supports "
                "classifier-free guidance UNets only"
            )
        self.unet = unet
        self.cfg = cfg
        param = next(unet.parameters())
        self.dtype, self.device = param.dtype, param.device
        self.text_time = getattr(config, "addition_embed_type", None) == "text_time"
        self.positive = self._prepare(positive, batch_size, "positive")
        self.negative = self._prepare(negative, batch_size, "negative") if negative is not None and cfg != 1 else None

    def _prepare(self, conditioning: Conditioning, batch_size: int, which: str) -> dict[str, Any]:
        if conditioning.batch_size not in (1, batch_size):
            raise ValueError(
                f"{which} conditioning has a batch of {conditioning.batch_size} prompts; expected 1 or the "
                f"latent's batch of {batch_size}"
            )
        moved = conditioning.to(self.device, self.dtype)
        repeat = batch_size // conditioning.batch_size

        def batch(tensor: Tensor) -> Tensor:
            return tensor.repeat_interleave(repeat, dim=0) if repeat > 1 else tensor

        inputs: dict[str, Any] = {"encoder_hidden_states": batch(moved.embeddings)}
        if self.text_time:
            if moved.pooled is None or TIME_IDS not in moved.extras:
                raise ValueError(
                    f"{which} conditioning lacks SDXL's pooled embedding and size ids; encode it with an SDXL CLIP"
                )
            inputs["added_cond_kwargs"] = {
                "text_embeds": batch(moved.pooled),
                "time_ids": batch(moved.extras[TIME_IDS]),
            }
        expected = getattr(self.unet.config, "cross_attention_dim", None)
        width = inputs["encoder_hidden_states"].shape[-1]
        if isinstance(expected, int) and width != expected:
            raise ValueError(
                f"{which} conditioning has {width}-dimensional embeddings but the UNet expects {expected}; "
                "were the CLIP and the MODEL loaded from different checkpoints?"
            )
        return inputs

    def _run(self, x_t: Tensor, timestep: Tensor, inputs: Mapping[str, Any]) -> Tensor:
        return self.unet(x_t.to(self.dtype), timestep.to(self.device), **inputs).float()

    def __call__(self, x_t: Tensor, timestep: Tensor) -> Tensor:
        if self.negative is None:
            return self._run(x_t, timestep, self.positive)
        positive, negative = self.positive, self.negative
        if positive["encoder_hidden_states"].shape == negative["encoder_hidden_states"].shape:
            both = _concat_inputs(negative, positive)
            uncond, cond = self._run(torch.cat([x_t, x_t]), torch.cat([timestep, timestep]), both).chunk(2)
        else:  # prompts of different lengths (long prompts): two passes
            uncond, cond = self._run(x_t, timestep, negative), self._run(x_t, timestep, positive)
        return uncond + self.cfg * (cond - uncond)


def _concat_inputs(first: Mapping[str, Any], second: Mapping[str, Any]) -> dict[str, Any]:
    joined: dict[str, Any] = {
        "encoder_hidden_states": torch.cat([first["encoder_hidden_states"], second["encoder_hidden_states"]])
    }
    if "added_cond_kwargs" in first:
        joined["added_cond_kwargs"] = {
            key: torch.cat([first["added_cond_kwargs"][key], second["added_cond_kwargs"][key]])
            for key in first["added_cond_kwargs"]
        }
    return joined


def initial_noise(shape: Sequence[int], generator: torch.Generator, positions: Sequence[int]) -> Tensor:
    """Standard normal noise [len(positions), *shape[1:]] for the given batch positions.

    Drawn from a CPU generator in float32 for positions 0..max, so every position's noise depends
    only on (seed, position), whatever the device, dtype or batch it is sampled in. The sampler's
    step noise then continues the same stream (as diffusers does): re-seeding a second generator
    with the same seed would replay the starting noise as the first step's noise and bias
    ancestral and SDE samplers.
    """
    drawn = torch.randn((max(positions) + 1, *shape[1:]), generator=generator, dtype=torch.float32)
    return drawn[list(positions)]


class StepReporter:
    """A sampler step callback that reports progress, with a preview of the current estimate of the
    result (`preview(denoised) -> image`) every few steps."""

    def __init__(self, report: Report, preview: Callable[[Tensor], Image.Image] | None) -> None:
        self.report = report
        self.preview = preview

    def __call__(self, step: int, total: int, x: Tensor, denoised: Tensor) -> None:
        done = step + 1
        every = max(1, total // PREVIEWS_PER_RUN)
        wanted = done % every == 0 or done == total
        self.report(done, total, self.preview(denoised) if wanted and self.preview is not None else None)


def preview_pixels(denoised: Tensor) -> Image.Image:
    """Preview for pixel-space models: the first image of the estimate itself."""
    return to_pil(pixels_to_image(denoised[:1])[0])


def sample_latent(
    unet: nn.Module,
    noise_schedule: NoiseSchedule,
    positive: Conditioning,
    negative: Conditioning | None,
    latent: Latent,
    *,
    seed: int,
    steps: int,
    cfg: float,
    sampler: str = "euler",
    scheduler: str = "normal",
    denoise: float = 1.0,
    start_step: int | None = None,
    end_step: int | None = None,
    add_noise: bool = True,
    return_leftover_noise: bool = False,
    callback: Callable[[int, int, Tensor, Tensor], None] | None = None,
) -> Latent:
    """Denoise `latent` with `unet` under classifier-free guidance; returns a new Latent on the CPU.

    Runs where the UNet's weights are. A latent with a noise mask is inpainted: only where the
    mask is 1 is regenerated, the rest follows the original latent.
    """
    device = next(unet.parameters()).device
    samples = latent.samples.to(device, torch.float32)
    generator = torch.Generator("cpu").manual_seed(seed)
    noise = initial_noise(samples.shape, generator, latent.positions).to(device)
    inpaint = None
    if latent.noise_mask is not None:
        mask = mask_to_latent(latent.noise_mask[:, 0].float(), samples.shape[2], samples.shape[3])
        if mask.shape[0] not in (1, samples.shape[0]):
            raise ValueError(
                f"noise mask has a batch of {mask.shape[0]}; expected 1 or the latent's {samples.shape[0]}"
            )
        inpaint = Inpaint(original=samples, mask=mask.to(device))
    model = GuidedUNet(unet, positive, negative, cfg, samples.shape[0])
    with torch.no_grad():
        result = sample(
            model,
            samples,
            noise_schedule,
            sampler=sampler,
            schedule=scheduler,
            steps=steps,
            denoise=denoise,
            start_step=start_step,
            end_step=end_step,
            add_noise=add_noise,
            return_leftover_noise=return_leftover_noise,
            generator=generator,
            noise=noise,
            inpaint=inpaint,
            callback=callback,
        )
    return Latent(result.cpu(), latent.noise_mask, latent.batch_index)


def patched(module: nn.Module, patches: Sequence[WeightPatch]) -> AbstractContextManager[Any]:
    """`patches` applied to `module` for the duration of a `with` block (nothing to do without any)."""
    return weight_patches(module, patches) if patches else nullcontext(module)


def sample_model(
    model: ModelHandle,
    positive: Conditioning,
    negative: Conditioning | None,
    latent: Latent,
    *,
    device: torch.device | str,
    report: Report | None = None,
    **settings: Any,
) -> Latent:
    """`sample_latent` with a MODEL handle: the UNet fetched on `device` from the model manager and
    its LoRA patches applied only while sampling. `settings` are `sample_latent`'s keywords."""
    unet = model.unet.use(device)
    preview = model.preview.image if model.preview is not None else None
    callback = StepReporter(report, preview) if report is not None else None
    with patched(unet, model.patches):
        return sample_latent(unet, model.noise_schedule, positive, negative, latent, callback=callback, **settings)


def sample_unconditional(
    model: UnconditionalModelHandle,
    *,
    device: torch.device | str,
    seed: int,
    steps: int,
    batch: int,
    sampler: str,
    scheduler: str,
    report: Report | None = None,
) -> Tensor:
    """Images (IMAGE [B, H, W, C] in 0..1) from a pixel-space UNet2DModel, started from seeded noise."""
    unet = model.unet.use(device)
    shape = (batch, model.channels, *model.size)
    generator = torch.Generator("cpu").manual_seed(seed)
    noise = initial_noise(shape, generator, range(batch)).to(device)
    callback = StepReporter(report, preview_pixels) if report is not None else None

    def predict(x_t: Tensor, timestep: Tensor) -> Tensor:
        return unet(x_t.to(next(unet.parameters()).dtype), timestep).float()

    with torch.no_grad():
        pixels = sample(
            predict,
            torch.zeros(shape, device=device),
            model.noise_schedule,
            sampler=sampler,
            schedule=scheduler,
            steps=steps,
            generator=generator,
            noise=noise,
            callback=callback,
        )
    return pixels_to_image(pixels)
