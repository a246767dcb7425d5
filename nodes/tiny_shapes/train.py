"""Train the tiny-shapes models from scratch on procedurally generated captioned images.

Stages, in order; each one is resumable and is skipped once finished:

  vae   AutoencoderKL 64x64x3 <-> 16x16x4: L1 + edge reconstruction + a small KL term, on images
        with up to `vae_max_shapes` shapes each. Afterwards the latent scaling factor is set to
        1 / (measured latent std over captioned examples), as SD's 0.18215 was.
  unet  UNet2DConditionModel and CLIPTextModel together on the frozen VAE's latents: v (or epsilon)
        prediction under SD's noise schedule, logit-normal timesteps, min-SNR loss weighting, offset
        noise, caption dropout for classifier-free guidance.
  ddpm  Unconditional pixel-space UNet2DModel on the same images (downscaled).

Every stage uses AdamW with linear warm-up and cosine decay, keeps an EMA of the weights (the
EMA is what ships), logs to <output>/log.jsonl and writes sample grids to <output>/samples/.
Data and noise are functions of (seed, step), so a resumed run continues exactly where it stopped,
and `--workers N` (N processes, one per CPU core, each on its share of every batch) trains the same
weights as one process.

    python -m nodes.tiny_shapes.train --workers 2 --output runs/tiny-shapes --export nodes/tiny_shapes/checkpoints
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from nodes.models import AutoencoderKL, UNet2DConditionModel, UNet2DModel
from nodes.schedulers import NoiseSchedule, sample
from nodes.text_encoding import TextEncoders
from nodes.tiny_shapes import data, export
from nodes.tiny_shapes.generate import TextToImage, generate_with
from nodes.tiny_shapes.parallel import Workers, run_workers
from nodes.tiny_shapes.recipe import (
    DDPM_SCHEDULER_CONFIG,
    RECIPES,
    Recipe,
    StageSettings,
    ddpm_unet_config,
    latent_size,
    scheduler_config,
    smoke,
    text_encoder_config,
    unet_config,
    vae_config,
)
from nodes.tiny_shapes.tokenizer import write_tokenizer

STAGES = ("vae", "unet", "ddpm")
GRID_PROMPTS = (
    "a red circle on a blue background",
    "a large yellow star on a black background",
    "a small green square in the top left on a white background",
    "a blue triangle on an orange background",
    "a white circle in the bottom right on a purple background",
    "a purple square on a yellow background",
    "an orange star on a green and white background",
    "a black triangle at the top on a red background",
)


class RunLog:
    """Appends one JSON line per event to <output>/log.jsonl and echoes a short line to stdout."""

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path = path
        self.enabled = enabled  # only the main worker of a data-parallel run writes
        self.started = time.monotonic()

    def write(self, **fields: Any) -> None:
        if not self.enabled:
            return
        fields["elapsed_s"] = round(time.monotonic() - self.started, 1)
        with self.path.open("a") as stream:
            stream.write(json.dumps(fields) + "\n")
        print(
            " ".join(
                f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}" for key, value in fields.items()
            ),
            flush=True,
        )


class EMA:
    """Exponential moving average of a model's weights, with the usual warm-up of the decay."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay = decay

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        for average, current in zip(self.model.parameters(), model.parameters()):
            average.lerp_(current, 1.0 - decay)


def warmup_cosine(settings: StageSettings) -> Callable[[int], float]:
    """Learning-rate multiplier: linear warm-up, then cosine decay to zero at the last step."""

    def multiplier(step: int) -> float:
        if step < settings.warmup_steps:
            return (step + 1) / settings.warmup_steps
        progress = (step - settings.warmup_steps) / max(1, settings.steps - settings.warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return multiplier


def step_generator(seed: int, stage: str, step: int) -> torch.Generator:
    """A CPU generator for one training step: noise does not depend on where a run was resumed."""
    return torch.Generator().manual_seed(seed * 1_000_003 + STAGES.index(stage) * 100_000_007 + step)


def to_uint8(images: torch.Tensor) -> list[np.ndarray]:
    """[-1, 1] NCHW -> list of uint8 HWC."""
    pixels = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return list(pixels)


def save_grid(images: list[np.ndarray] | list[Image.Image], path: Path, columns: int, scale: int = 2) -> None:
    images = [np.asarray(image) for image in images]
    height, width, _ = images[0].shape
    rows = math.ceil(len(images) / columns)
    grid = Image.new("RGB", (columns * width, rows * height))
    for index, image in enumerate(images):
        grid.paste(Image.fromarray(image), ((index % columns) * width, (index // columns) * height))
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST).save(path)


class Trainer:
    """Runs the stages of one recipe inside one output folder."""

    def __init__(self, recipe: Recipe, output: Path, device: torch.device, workers: Workers | None = None) -> None:
        self.recipe = recipe
        self.output = output
        self.device = device
        self.workers = workers = workers or Workers()
        output.mkdir(parents=True, exist_ok=True)
        self.log = RunLog(output / "log.jsonl", enabled=workers.is_main)
        self.tokenizer_directory = output / "tokenizer"
        if workers.is_main:
            write_tokenizer(self.tokenizer_directory)
        workers.barrier()  # the other workers load the files the main one wrote
        self.tokenizer = CLIPTokenizer.from_pretrained(self.tokenizer_directory)
        self.vae_config = vae_config(recipe.vae_channels, recipe.vae_groups)
        self.text_config = text_encoder_config(
            len(self.tokenizer),
            self.tokenizer.bos_token_id,
            self.tokenizer.eos_token_id,
            recipe.text_hidden,
            recipe.text_layers,
        )
        self.scheduler_config = scheduler_config(recipe.prediction_type)
        self.unet_config = unet_config(
            recipe.text_hidden,
            recipe.unet_channels,
            recipe.unet_heads,
            recipe.unet_groups,
            latent_size(recipe.vae_channels),
        )
        self.ddpm_config = ddpm_unet_config(recipe.ddpm_size, recipe.ddpm_channels, recipe.ddpm_groups)

    # -- checkpoints -------------------------------------------------------------------------

    def _state_path(self, stage: str) -> Path:
        return self.output / "state" / f"{stage}.pt"

    def _load_state(self, stage: str) -> dict[str, Any] | None:
        path = self._state_path(stage)
        return torch.load(path, map_location=self.device, weights_only=True) if path.exists() else None

    def _save_state(self, stage: str, state: dict[str, Any]) -> None:
        if not self.workers.is_main:
            return
        path = self._state_path(stage)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        torch.save(state, partial)
        partial.replace(path)  # a run killed mid-save keeps the previous checkpoint

    def _run(
        self,
        stage: str,
        settings: StageSettings,
        models: dict[str, torch.nn.Module],
        loss_fn: Callable[[int, torch.Generator, slice], torch.Tensor],
        on_sample: Callable[[int, dict[str, torch.nn.Module]], None],
        extra_state: Callable[[], dict[str, Any]] = dict,
    ) -> tuple[dict[str, torch.nn.Module], dict[str, Any]]:
        """The shared optimisation loop; returns the EMA models and the saved state.

        `loss_fn(step, generator, rows)` is the mean loss over `rows` of the step's batch; with several
        workers each takes its own rows and the gradients are averaged.
        """
        rows = self.workers.rows(settings.batch_size)
        parameters = [p for model in models.values() for p in model.parameters()]
        optimizer = torch.optim.AdamW(parameters, lr=settings.learning_rate, weight_decay=0.01)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(settings))
        emas = {name: EMA(model, settings.ema_decay) for name, model in models.items()}
        state = self._load_state(stage)
        step = 0
        if state is not None:
            for name, model in models.items():
                model.load_state_dict(state["models"][name])
                emas[name].model.load_state_dict(state["emas"][name])
            optimizer.load_state_dict(state["optimizer"])
            schedule.load_state_dict(state["schedule"])
            step = state["step"]
            if state.get("finished"):
                return {name: ema.model for name, ema in emas.items()}, state
            self.log.write(stage=stage, event="resumed", step=step)

        def snapshot(finished: bool) -> dict[str, Any]:
            return {
                "step": step,
                "finished": finished,
                "models": {name: model.state_dict() for name, model in models.items()},
                "emas": {name: ema.model.state_dict() for name, ema in emas.items()},
                "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(),
                **extra_state(),
            }

        for model in models.values():
            model.train()
        started = time.monotonic()
        while step < settings.steps:
            loss = loss_fn(step, step_generator(self.recipe.seed, stage, step), rows)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.workers.average_gradients(parameters)
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            schedule.step()
            for name, model in models.items():
                emas[name].update(model, step)
            step += 1
            if step % 25 == 0 or step == settings.steps:
                seconds = (time.monotonic() - started) / 25
                started = time.monotonic()
                self.log.write(
                    stage=stage, step=step, loss=loss.item(), lr=schedule.get_last_lr()[0], s_per_step=seconds
                )
            if self.workers.is_main and (step % settings.sample_every == 0 or step == settings.steps):
                on_sample(step, {name: ema.model for name, ema in emas.items()})
            if step % settings.checkpoint_every == 0 and step < settings.steps:
                self._save_state(stage, snapshot(finished=False))
        state = snapshot(finished=True)
        self._save_state(stage, state)
        return {name: ema.model for name, ema in emas.items()}, state

    # -- stage 1: VAE --------------------------------------------------------------------------

    def train_vae(self) -> tuple[AutoencoderKL, float]:
        recipe, settings = self.recipe, self.recipe.vae
        torch.manual_seed(recipe.seed)
        vae = AutoencoderKL(**self.vae_config).to(self.device)
        fixed_images, _ = data.batch(recipe.seed + 1, 0, 8)

        def loss_fn(step: int, generator: torch.Generator, rows: slice) -> torch.Tensor:
            indices = _row_indices(step, settings.batch_size, rows)
            images = data.collages(recipe.seed, indices.start, len(indices), recipe.vae_max_shapes).to(self.device)
            posterior = vae.encode(images)
            noise = _batch_randn(posterior.mean.shape[1:], settings.batch_size, generator, rows).to(self.device)
            reconstruction = vae.decode(posterior.mean + posterior.std * noise)
            kl = (
                0.5
                * (posterior.mean.pow(2) + posterior.logvar.exp() - 1.0 - posterior.logvar).sum(dim=(1, 2, 3)).mean()
            )
            return (
                F.l1_loss(reconstruction, images)
                + recipe.edge_weight * _edge_loss(reconstruction, images)
                + recipe.kl_weight * kl
            )

        def on_sample(step: int, emas: dict[str, torch.nn.Module]) -> None:
            with torch.no_grad():
                reconstruction = emas["vae"].decode(emas["vae"].encode(fixed_images.to(self.device)).mode())
            save_grid(
                to_uint8(fixed_images) + to_uint8(reconstruction),
                self.output / "samples" / f"vae_{step:06d}.png",
                columns=8,
            )

        emas, state = self._run("vae", settings, {"vae": vae}, loss_fn, on_sample, lambda: {"scaling_factor": None})
        ema_vae = emas["vae"]
        scaling = state.get("scaling_factor")
        if scaling is None:
            scaling = self._measure_scaling_factor(ema_vae)
            state["scaling_factor"] = scaling
            self._save_state("vae", state)
            self.log.write(stage="vae", event="scaling_factor", value=scaling)
        return ema_vae, scaling

    @torch.no_grad()
    def _measure_scaling_factor(self, vae: AutoencoderKL) -> float:
        """1 / std of sampled latents over held-out images, so latents enter the UNet at unit variance."""
        images, _ = data.batch(self.recipe.seed + 2, 0, self.recipe.scaling_images)
        posterior = vae.encode(images.to(self.device))
        noise = torch.randn(posterior.mean.shape, generator=torch.Generator().manual_seed(self.recipe.seed)).to(
            self.device
        )
        return round(1.0 / (posterior.mean + posterior.std * noise).std().item(), 5)

    # -- stage 2: UNet + text encoder ------------------------------------------------------------

    def train_unet(self, vae: AutoencoderKL, scaling: float) -> tuple[UNet2DConditionModel, CLIPTextModel]:
        recipe, settings = self.recipe, self.recipe.unet
        torch.manual_seed(recipe.seed + 1)
        text_encoder = CLIPTextModel(CLIPTextConfig(**self.text_config)).to(self.device)
        unet = UNet2DConditionModel(**self.unet_config).to(self.device)
        noise_schedule = NoiseSchedule.from_config(self.scheduler_config)
        cumulative = noise_schedule.alphas_cumprod.to(self.device)
        snr = cumulative / (1 - cumulative)
        timesteps = self.scheduler_config["num_train_timesteps"]

        def loss_fn(step: int, generator: torch.Generator, rows: slice) -> torch.Tensor:
            count = settings.batch_size
            images, captions = _batch_rows(recipe.seed, step, count, rows)
            drop = (torch.rand(count, generator=generator) < recipe.caption_dropout)[rows]
            captions = ["" if dropped else text for dropped, text in zip(drop.tolist(), captions)]
            with torch.no_grad():
                posterior = vae.encode(images.to(self.device))
                latent_noise = _batch_randn(posterior.mean.shape[1:], count, generator, rows).to(self.device)
                latents = (posterior.mean + posterior.std * latent_noise) * scaling
            noise = _batch_randn(latents.shape[1:], count, generator, rows)
            offset = _batch_randn((latents.shape[1], 1, 1), count, generator, rows)
            noise = (noise + recipe.offset_noise * offset).to(self.device)
            t = training_timesteps(recipe.timestep_sampling, count, timesteps, generator)[rows].to(self.device)
            a = cumulative[t].view(-1, 1, 1, 1)
            noisy = a.sqrt() * latents + (1 - a).sqrt() * noise
            ids = self.tokenizer(
                captions,
                padding="max_length",
                max_length=self.tokenizer.model_max_length,
                truncation=True,
                return_tensors="pt",
            ).input_ids
            context = text_encoder(ids.to(self.device)).last_hidden_state
            prediction = unet(noisy, t, context)
            if recipe.prediction_type == "v_prediction":
                target = a.sqrt() * noise - (1 - a).sqrt() * latents
            else:
                target = noise
            weight = loss_weight(snr[t], recipe.prediction_type, recipe.snr_floor, recipe.snr_gamma)
            return (weight * (prediction - target).pow(2).mean(dim=(1, 2, 3))).mean()

        def on_sample(step: int, emas: dict[str, torch.nn.Module]) -> None:
            model = TextToImage(
                emas["unet"], vae, TextEncoders(self.tokenizer, emas["text_encoder"]), noise_schedule, scaling
            )
            images = generate_with(
                model, list(GRID_PROMPTS), seeds=[0] * len(GRID_PROMPTS), steps=settings.sample_steps, cfg=5.0
            )
            save_grid(images, self.output / "samples" / f"unet_{step:06d}.png", columns=4)

        emas, _ = self._run("unet", settings, {"unet": unet, "text_encoder": text_encoder}, loss_fn, on_sample)
        return emas["unet"], emas["text_encoder"]

    # -- stage 3: unconditional pixel UNet ----------------------------------------------------------

    def train_ddpm(self) -> UNet2DModel:
        recipe, settings = self.recipe, self.recipe.ddpm
        torch.manual_seed(recipe.seed + 2)
        unet = UNet2DModel(**self.ddpm_config).to(self.device)
        noise_schedule = NoiseSchedule.from_config(DDPM_SCHEDULER_CONFIG)
        cumulative = noise_schedule.alphas_cumprod.to(self.device)
        timesteps = DDPM_SCHEDULER_CONFIG["num_train_timesteps"]

        def loss_fn(step: int, generator: torch.Generator, rows: slice) -> torch.Tensor:
            images, _ = _batch_rows(recipe.seed, step, settings.batch_size, rows)
            images = F.interpolate(images, size=recipe.ddpm_size, mode="area").to(self.device)
            noise = _batch_randn(images.shape[1:], settings.batch_size, generator, rows).to(self.device)
            t = training_timesteps("uniform", settings.batch_size, timesteps, generator)[rows].to(self.device)
            a = cumulative[t].view(-1, 1, 1, 1)
            return F.mse_loss(unet(a.sqrt() * images + (1 - a).sqrt() * noise, t), noise)

        def on_sample(step: int, emas: dict[str, torch.nn.Module]) -> None:
            shape = (16, 3, recipe.ddpm_size, recipe.ddpm_size)
            with torch.no_grad():
                images = sample(
                    emas["unet"],
                    torch.zeros(shape, device=self.device),
                    noise_schedule,
                    sampler="euler",
                    steps=settings.sample_steps,
                    generator=torch.Generator().manual_seed(0),
                )
            save_grid(to_uint8(images), self.output / "samples" / f"ddpm_{step:06d}.png", columns=8, scale=4)

        emas, _ = self._run("ddpm", settings, {"unet": unet}, loss_fn, on_sample)
        return emas["unet"]


def _row_indices(step: int, batch_size: int, rows: slice) -> range:
    """Data-set indices of `rows` of the step's batch: each worker renders only its own."""
    return range(step * batch_size + rows.start, step * batch_size + rows.stop)


def _batch_rows(seed: int, step: int, batch_size: int, rows: slice) -> tuple[torch.Tensor, list[str]]:
    """`rows` of the step's batch (images in [-1, 1], captions)."""
    indices = _row_indices(step, batch_size, rows)
    return data.batch(seed, indices.start, len(indices))


def _batch_randn(item_shape: Sequence[int], batch_size: int, generator: torch.Generator, rows: slice) -> torch.Tensor:
    """Normal noise for the whole batch, cut to `rows`: every worker draws the same numbers."""
    return torch.randn((batch_size, *item_shape), generator=generator)[rows]


def training_timesteps(sampling: str, count: int, timesteps: int, generator: torch.Generator) -> torch.Tensor:
    """`count` training timesteps in 0..timesteps-1 drawn by the recipe's `timestep_sampling`."""
    if sampling == "uniform":
        return torch.randint(0, timesteps, (count,), generator=generator)
    if sampling == "logit_normal":
        fraction = torch.sigmoid(torch.randn(count, generator=generator))
        return (fraction * timesteps).long().clamp(max=timesteps - 1)
    raise ValueError(f"timestep_sampling: got {sampling!r}; expected 'uniform' or 'logit_normal'")


def loss_weight(snr: torch.Tensor, prediction_type: str, floor: float, gamma: float) -> torch.Tensor:
    """Per-timestep weight of a prediction's squared error such that the implied clean-latent error
    weighs clamp(SNR, floor, gamma): a squared epsilon error is SNR times the squared clean-latent error,
    a squared v error SNR + 1 times."""
    clean_weight = snr.clamp(min=floor, max=gamma)
    if prediction_type == "v_prediction":
        return clean_weight / (snr + 1)
    if prediction_type == "epsilon":
        return clean_weight / snr
    raise ValueError(f"loss_weight: unknown prediction type {prediction_type!r}; expected 'epsilon' or 'v_prediction'")


def _edge_loss(reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 between horizontal and vertical finite differences: keeps shape edges sharp."""

    def differences(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]

    (rx, ry), (tx, ty) = differences(reconstruction), differences(target)
    return F.l1_loss(rx, tx) + F.l1_loss(ry, ty)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m nodes.tiny_shapes.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--output", type=Path, default=Path("runs/tiny-shapes"), help="work folder: log, samples, resumable state"
    )
    parser.add_argument(
        "--export",
        type=Path,
        default=None,
        help="write tiny-shapes/ and tiny-shapes-ddpm/ here (default: <output>/export)",
    )
    parser.add_argument(
        "--stages", nargs="+", choices=STAGES, default=list(STAGES), help="stages to run (default: all)"
    )
    parser.add_argument(
        "--recipe",
        choices=sorted(RECIPES),
        default="full",
        help="full: what ships (2 CPU cores with --workers 2: about 1 h 37 min; one H100: about 15 min); "
        "cpu-hour: half the UNet and DDPM steps, fits an hour on 2 CPU cores with --workers 2, scores lower "
        "(MODEL_CARD.md)",
    )
    parser.add_argument("--smoke", action="store_true", help="the recipe at toy sizes, two steps per stage (for tests)")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="data-parallel processes, one per CPU core (use 2 on a 2-core machine; CPU only)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads per worker (default: 1 with --workers, else torch's choice)",
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    for stage in STAGES:
        parser.add_argument(
            f"--{stage}-steps", type=int, default=None, help=f"override the recipe's {stage} step count"
        )
    args = parser.parse_args(argv)
    if args.workers < 1 or (args.workers > 1 and args.device != "cpu"):
        parser.error(f"--workers {args.workers}: expected 1, or more with --device cpu (got --device {args.device})")

    recipe = smoke(RECIPES[args.recipe]) if args.smoke else RECIPES[args.recipe]
    for stage in STAGES:
        steps = getattr(args, f"{stage}_steps")
        if steps is not None:
            recipe = replace(recipe, **{stage: replace(getattr(recipe, stage), steps=steps)})
    threads = args.threads or (1 if args.workers > 1 else None)
    run_workers(args.workers, threads, functools.partial(_train, recipe, args))


def _train(recipe: Recipe, args: argparse.Namespace, workers: Workers) -> None:
    trainer = Trainer(recipe, args.output, torch.device(args.device), workers)
    export_root = args.export or args.output / "export"

    if "vae" in args.stages or "unet" in args.stages:
        vae, scaling = trainer.train_vae()
    if "unet" in args.stages:
        unet, text_encoder = trainer.train_unet(vae, scaling)
        if workers.is_main:
            export.write_text_to_image(
                export_root / "tiny-shapes",
                unet=unet,
                unet_config=trainer.unet_config,
                vae=vae,
                vae_config={**trainer.vae_config, "scaling_factor": scaling},
                text_encoder=text_encoder,
                tokenizer_directory=trainer.tokenizer_directory,
                scheduler_config=trainer.scheduler_config,
            )
    if "ddpm" in args.stages:
        ddpm = trainer.train_ddpm()
        if workers.is_main:
            export.write_unconditional(
                export_root / "tiny-shapes-ddpm",
                unet=ddpm,
                unet_config=trainer.ddpm_config,
                scheduler_config=DDPM_SCHEDULER_CONFIG,
            )
    trainer.log.write(event="done", export=str(export_root))


if __name__ == "__main__":
    main()
