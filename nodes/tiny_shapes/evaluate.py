"""Prompt adherence of tiny-shapes: generate prompts x seeds through txt2img, read each image back
with the geometric classifier, and report colour, background and shape accuracy.

    python -m nodes.tiny_shapes.evaluate --seeds 4 --output runs/eval

`--ceiling` scores real images of the same targets after a VAE round trip instead: what a perfect
UNet would score with this checkpoint's VAE, so a low shape score can be put on the right model.
`--from-real D` starts the sampler from those real images noised to denoise strength D (img2img):
sweeping D from 0 to 1 shows at which noise level the UNet loses what the prompt asks for.
"""

from __future__ import annotations

import argparse
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from nodes.image_ops import pixels_to_image, to_pil
from nodes.schedulers import SAMPLER_NAMES, SCHEDULE_NAMES
from nodes.tiny_shapes import data
from nodes.tiny_shapes.classify import Reading, read_image
from nodes.tiny_shapes.data import COLOURS, SHAPES
from nodes.tiny_shapes.generate import generate_with, load


@dataclass(frozen=True)
class Target:
    """What a prompt asks for."""

    colour: str
    shape: str
    background: str

    @property
    def prompt(self) -> str:
        article = "an" if self.colour[0] in "aeiou" else "a"
        background_article = "an" if self.background[0] in "aeiou" else "a"
        return f"{article} {self.colour} {self.shape} on {background_article} {self.background} background"


@dataclass(frozen=True)
class Adherence:
    """Accuracies in 0..1 over `count` generated images, and `shape_fit`: the mean intersection over
    union of each picture's foreground with the asked shape's outline (0 without a foreground), which
    still moves while too few shapes are clean enough to count."""

    count: int
    colour: float
    background: float
    shape: float
    per_shape: dict[str, float]
    shape_fit: float


def targets(backgrounds_per_pair: int = 2, seed: int = 0) -> list[Target]:
    """Every colour x shape, each on `backgrounds_per_pair` other colours drawn with a fixed seed."""
    rng = random.Random(seed)
    chosen = []
    for shape in SHAPES:
        for colour in COLOURS:
            others = [name for name in COLOURS if name != colour]
            chosen += [Target(colour, shape, background) for background in rng.sample(others, backgrounds_per_pair)]
    return chosen


def score(pairs: list[tuple[Target, Reading]]) -> Adherence:
    if not pairs:
        raise ValueError("score: no images to score")

    def share(hits: list[bool]) -> float:
        return sum(hits) / len(hits)

    per_shape = {
        shape: share([reading.shape == shape for target, reading in pairs if target.shape == shape])
        for shape in SHAPES
        if any(target.shape == shape for target, _ in pairs)
    }
    return Adherence(
        count=len(pairs),
        colour=share([reading.colour == target.colour for target, reading in pairs]),
        background=share([reading.background == (target.background,) for target, reading in pairs]),
        shape=share([reading.shape == target.shape for target, reading in pairs]),
        per_shape=per_shape,
        shape_fit=sum(reading.fit_to(target.shape) for target, reading in pairs) / len(pairs),
    )


def evaluate(
    checkpoint: str | Path,
    chosen: list[Target],
    seeds: list[int],
    *,
    steps: int = 20,
    cfg: float = 5.0,
    sampler: str = "euler",
    scheduler: str = "normal",
    from_real: float | None = None,
) -> tuple[Adherence, list[tuple[Target, int, Image.Image, Reading]]]:
    """Generate every target at every seed and score what the images show.

    With `from_real` the sampler starts from the real pictures `ceiling` scores, noised to that
    denoise strength (img2img), instead of pure noise: the UNet redraws only the noisiest `from_real`
    of the schedule, so sweeping it shows at which noise level shapes get lost.
    """
    model = load(checkpoint)
    jobs = [(target, seed) for target in chosen for seed in seeds]
    init_latents = None
    if from_real is not None:
        with torch.no_grad():
            pixels = _real_pixels(jobs).to(next(model.vae.parameters()).device)
            init_latents = (model.vae.encode(pixels).mode() * model.scaling_factor).cpu()
    images = generate_with(
        model,
        [target.prompt for target, _ in jobs],
        [seed for _, seed in jobs],
        steps=steps,
        cfg=cfg,
        sampler=sampler,
        scheduler=scheduler,
        init_latents=init_latents,
        denoise=1.0 if from_real is None else from_real,
    )
    return _read_back(jobs, images)


def _read_back(
    jobs: list[tuple[Target, int]], images: list[Image.Image]
) -> tuple[Adherence, list[tuple[Target, int, Image.Image, Reading]]]:
    """Classify image i as the picture of jobs[i] and score all of them."""
    results = [(target, seed, image, read_image(np.asarray(image))) for (target, seed), image in zip(jobs, images)]
    return score([(target, reading) for target, _, _, reading in results]), results


def _real_pixels(jobs: list[tuple[Target, int]]) -> torch.Tensor:
    """Rendered pictures of each (target, seed) at a size and position drawn from both, in [-1, 1]."""
    scenes = [
        data.scene_with(random.Random(f"{target.prompt}/{seed}"), target.shape, target.colour, (target.background,))
        for target, seed in jobs
    ]
    return data.to_tensor([data.render(scene) for scene in scenes])


@torch.no_grad()
def ceiling(
    checkpoint: str | Path, chosen: list[Target], seeds: list[int]
) -> tuple[Adherence, list[tuple[Target, int, Image.Image, Reading]]]:
    """Score real images of every target at every seed (random size and position) after the checkpoint's
    VAE encodes and decodes them: the adherence a UNet that drew exactly the prompt would reach."""
    vae = load(checkpoint).vae
    jobs = [(target, seed) for target in chosen for seed in seeds]
    pixels = _real_pixels(jobs).to(next(vae.parameters()).device)
    images = [to_pil(image) for image in pixels_to_image(vae.decode(vae.encode(pixels).mode()))]
    return _read_back(jobs, images)


def _save_grid(results: list[tuple[Target, int, Image.Image, Reading]], path: Path, columns: int) -> None:
    """All images, a red frame around each one that missed any of the three targets."""
    size = results[0][2].width
    rows = -(-len(results) // columns)
    grid = Image.new("RGB", (columns * (size + 4), rows * (size + 4)), "white")
    for index, (target, _, image, reading) in enumerate(results):
        correct = (reading.colour, reading.background, reading.shape) == (
            target.colour,
            (target.background,),
            target.shape,
        )
        x, y = (index % columns) * (size + 4), (index // columns) * (size + 4)
        grid.paste(Image.new("RGB", (size + 4, size + 4), "white" if correct else "red"), (x, y))
        grid.paste(image, (x + 2, y + 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m nodes.tiny_shapes.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--checkpoint", default="tiny-shapes", help="bundled name or diffusers folder (default: tiny-shapes)"
    )
    parser.add_argument("--seeds", type=int, default=2, help="seeds per prompt (default: 2)")
    parser.add_argument("--backgrounds", type=int, default=2, help="backgrounds per colour x shape pair (default: 2)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--cfg", type=float, default=5.0)
    parser.add_argument("--sampler", default="euler", choices=SAMPLER_NAMES, help="sampler (default: euler)")
    parser.add_argument(
        "--scheduler", default="normal", choices=SCHEDULE_NAMES, help="sigma schedule (default: normal)"
    )
    parser.add_argument("--output", type=Path, default=Path("runs/eval"), help="report.json and grid.png go here")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    start = parser.add_mutually_exclusive_group()
    start.add_argument(
        "--ceiling",
        action="store_true",
        help="score real images after a VAE round trip instead of generated ones (the best any UNet could do)",
    )
    start.add_argument(
        "--from-real",
        type=float,
        default=None,
        metavar="DENOISE",
        help="start from real images of the targets noised to this denoise strength in (0, 1] (img2img)",
    )
    args = parser.parse_args(argv)
    if args.from_real is not None and not 0.0 < args.from_real <= 1.0:
        parser.error(f"--from-real {args.from_real}: expected a denoise strength in (0, 1]")

    if args.threads:
        torch.set_num_threads(args.threads)

    chosen = targets(args.backgrounds)
    seeds = list(range(args.seeds))
    if args.ceiling:
        adherence, results = ceiling(args.checkpoint, chosen, seeds)
    else:
        adherence, results = evaluate(
            args.checkpoint,
            chosen,
            seeds,
            steps=args.steps,
            cfg=args.cfg,
            sampler=args.sampler,
            scheduler=args.scheduler,
            from_real=args.from_real,
        )
    args.output.mkdir(parents=True, exist_ok=True)
    report = {
        "checkpoint": str(args.checkpoint),
        "images": "vae round trip of real images" if args.ceiling else "generated",
        "from_real": args.from_real,
        "steps": args.steps,
        "cfg": args.cfg,
        "sampler": args.sampler,
        "scheduler": args.scheduler,
        "seeds": args.seeds,
        **asdict(adherence),
        "misses": [
            {
                "prompt": target.prompt,
                "seed": seed,
                "read": {
                    "colour": r.colour,
                    "background": list(r.background),
                    "shape": r.shape,
                    "fit_to_asked_shape": round(r.fit_to(target.shape), 3),
                },
            }
            for target, seed, _, r in results
            if (r.colour, r.background, r.shape) != (target.colour, (target.background,), target.shape)
        ],
    }
    (args.output / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    _save_grid(results, args.output / "grid.png", columns=16)
    what = (
        "VAE round trips of real images"
        if args.ceiling
        else f"images, {args.sampler} ({args.scheduler}) {args.steps} steps, cfg {args.cfg}"
        + ("" if args.from_real is None else f", from real images at denoise {args.from_real}")
    )
    print(
        f"{adherence.count} {what}: colour {adherence.colour:.1%}, "
        f"background {adherence.background:.1%}, shape {adherence.shape:.1%} "
        f"({', '.join(f'{name} {value:.0%}' for name, value in adherence.per_shape.items())}; "
        f"mean fit to the asked outline {adherence.shape_fit:.3f})"
    )


if __name__ == "__main__":
    main()
