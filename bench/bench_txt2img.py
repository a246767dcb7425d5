"""txt2img on the bundled model: what a run costs, what a new seed costs, and the CLI end to end.

    python bench/bench_txt2img.py [--checkpoint tiny-shapes] [--repeats 5] [--device cpu] [--threads N]

In one process: a cold run of workflows/txt2img.json (model load, prompt encoding, sampling,
decode, save), re-runs with only the seed changed (the cache serves the loader and the prompts),
and the sampler + decode + PNG work alone, called directly on the loaded model. Re-run costs are
printed as ratios of the work alone (the target: a new seed costs no more than that, within 5%).
Then `graph-engine run workflows/txt2img.json` as a fresh process, start to PNG (target < 15 s).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from graph_engine import Executor, Registry
from nodes.definitions.vae import decode_latent
from nodes.image_ops import to_pil, write_png
from nodes.model_manager import ModelManager
from nodes.pack import PACK
from nodes.sampling import sample_model

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / "workflows" / "txt2img.json"


def alternating_medians(repeats: int, *works: Callable[[int], object]) -> list[float]:
    """Median wall time of each `work(i)` over `repeats` rounds, the works taking turns so that a
    change in machine load affects them alike."""
    times: list[list[float]] = [[] for _ in works]
    for index in range(repeats):
        for work, measured in zip(works, times):
            start = time.perf_counter()
            work(index)
            measured.append(time.perf_counter() - start)
    return [statistics.median(measured) for measured in times]


def in_process(checkpoint: str, device: str, repeats: int, output: Path) -> None:
    output.mkdir(parents=True)
    executor = Executor(Registry([PACK]), device=device, output_dir=output)
    params = {"checkpoint": checkpoint}
    start = time.perf_counter()
    result = executor.run(WORKFLOW, {**params, "seed": 0})
    cold = time.perf_counter() - start
    if not result.ok:
        raise SystemExit(f"txt2img failed: {result.failures}")

    overheads: list[float] = []  # a re-run's wall time minus its nodes' own durations: the engine's share

    def new_seed(index: int) -> None:
        start = time.perf_counter()
        rerun = executor.run(WORKFLOW, {**params, "seed": 1000 + index})
        wall = time.perf_counter() - start
        assert sorted(rerun.ran) == ["decode", "sampler", "save"], rerun.explain()
        overheads.append(wall - sum(item.duration_s or 0.0 for item in rerun.explanations.values()))

    # The same work without the engine: sampler, decode and PNG on the handles the loader made
    # (served from the cache by a run limited to those values).
    links = {"model": ("model", "model"), "vae": ("model", "vae"), "positive": ("positive", "conditioning"),
             "negative": ("negative", "conditioning"), "latent": ("latent", "latent")}  # fmt: skip
    document = result.workflow.to_dict()
    document["outputs"] = {name: {"from": node, "output": output} for name, (node, output) in links.items()}
    values = executor.run(document, outputs=list(links)).outputs
    sampler_inputs = result.workflow.nodes["sampler"].inputs
    settings: dict[str, Any] = {name: sampler_inputs[name] for name in ("steps", "cfg", "sampler", "scheduler", "denoise")}
    embedded = result.workflow.to_json()
    manager = executor.resources.get(ModelManager)

    def direct(index: int) -> None:
        latent = sample_model(
            values["model"], values["positive"], values["negative"], values["latent"], device=executor.device,
            seed=2000 + index, **settings,
        )  # fmt: skip
        image = decode_latent(values["vae"], latent.samples, executor.device, manager)
        write_png(output / f"direct_{index}.png", to_pil(image[0]), {"workflow": embedded})

    reseed, alone = alternating_medians(repeats, new_seed, direct)
    print(f"device {executor.device}, torch threads {torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
    print(f"cold run (load + encode + sample + decode + save): {cold:8.3f} s  = {cold / alone:6.2f} x the work alone")
    print(
        f"re-run, new seed (median of {repeats}):            {reseed:8.3f} s  = {reseed / alone:6.3f} x the work alone"
    )
    print(f"sampler + decode + PNG alone (median of {repeats}):  {alone:8.3f} s  = 1.000")
    print(
        f"engine overhead in a new-seed re-run (load, validate, hash, look up; median): "
        f"{statistics.median(overheads) * 1e3:.2f} ms"
    )


def end_to_end(checkpoint: str, device: str, repeats: int, output: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "graph_engine",
        "run",
        str(WORKFLOW),
        "--output-dir",
        str(output),
        "--device",
        device,
    ]
    if checkpoint != "tiny-shapes":
        command += ["--set", f"checkpoint={checkpoint}"]
    installed = Registry.discover().nodes.get("KSampler") is not None
    if not installed:
        command += ["--pack", "nodes.pack:PACK"]
    times = []
    for _ in range(repeats):
        before = set(output.glob("*.png"))
        start = time.perf_counter()
        done = subprocess.run(command, check=False, cwd=REPO, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0 or len(set(output.glob("*.png")) - before) != 1:
            raise SystemExit(f"CLI run failed:\n{done.stderr[-2000:]}")
    print(
        f"CLI end to end, process start to PNG (median of {repeats}): {statistics.median(times):.2f} s "
        f"(target < 15 s; min {min(times):.2f} s){'' if installed else ' [diffusion pack passed with --pack]'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default="tiny-shapes", help="model to run (default: the bundled tiny-shapes)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto (default: cpu)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cli-repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=0, help="torch CPU threads here and in the CLI runs (0: torch's default)"
    )
    args = parser.parse_args()
    if args.threads:
        # Tiny models on a busy machine run faster single-threaded; the CLI reads OMP_NUM_THREADS.
        torch.set_num_threads(args.threads)
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    with tempfile.TemporaryDirectory() as folder:
        in_process(args.checkpoint, args.device, args.repeats, Path(folder) / "in_process")
        end_to_end(args.checkpoint, args.device, args.cli_repeats, Path(folder) / "cli")


if __name__ == "__main__":
    main()
