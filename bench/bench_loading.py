"""Model load to first output, peak memory and UNet step latency: ours against diffusers.

    python bench/bench_loading.py [--model sd15|small] [--device cpu|cuda] [--dtype fp32|fp16|bf16]
                                  [--resolution 256] [--batch 2] [--steps 3] [--repeats 2]

Both sides read the same random weights, saved once in the diffusers folder layout (UNet,
VAE and CLIP text encoder at SD 1.5 size by default). Each measurement runs in a fresh
subprocess so that peak RSS is per side; diffusers is used at its best (safetensors,
low_cpu_mem_usage through accelerate). "first output" = load + encode a prompt + one UNet
step + VAE decode. Ratios are ours / diffusers (below 1 is better); each figure is the
best of --repeats runs. Defaults: CPU at 256 px, batch 2; GPU at 512 px.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

PROMPT = "a photograph of an astronaut riding a horse"
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
METRICS = (
    ("load_s", "load (UNet + VAE + text encoder)"),
    ("first_output_s", "load to first output"),
    ("step_s", "steady UNet step"),
    ("decode_s", "VAE decode"),
    ("peak_rss_gb", "peak RSS (GB)"),
    ("peak_gpu_gb", "peak GPU memory (GB)"),
)


def build_folder(folder: Path, model: str) -> None:
    """Random weights in the diffusers layout: model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/."""
    from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from nodes.loading import clip_tokenizer, load_bpe_vocabulary, shipped_configs

    configs = shipped_configs("sd1")
    if model == "small":  # a quick sanity run of the harness
        configs["unet"].update(block_out_channels=[32, 64, 64, 64], norm_num_groups=8)
        configs["vae"].update(block_out_channels=[16, 32, 32, 32], norm_num_groups=8)
        configs["text_encoder"].update(num_hidden_layers=2)

    def config(name: str) -> dict[str, Any]:
        return {key: value for key, value in configs[name].items() if not key.startswith("_")}

    torch.manual_seed(0)
    pipeline = StableDiffusionPipeline(
        unet=UNet2DConditionModel(**config("unet")),
        vae=AutoencoderKL(**config("vae")),
        text_encoder=CLIPTextModel(CLIPTextConfig.from_dict(configs["text_encoder"])),
        tokenizer=clip_tokenizer(load_bpe_vocabulary()),
        scheduler=PNDMScheduler.from_config(configs["scheduler"]),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipeline.save_pretrained(folder)


@dataclass(frozen=True)
class LoadedModel:
    encode: Callable[[list[str]], torch.Tensor]
    step: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (latents, context) -> noise prediction
    decode: Callable[[torch.Tensor], torch.Tensor]


def load_ours(folder: Path, device: str, dtype: torch.dtype) -> LoadedModel:
    from nodes.loading import load_checkpoint
    from nodes.text_encoding import encode_prompt

    components = load_checkpoint(folder, device=device, dtype=dtype)
    return LoadedModel(
        encode=lambda prompts: encode_prompt(components.text_encoders(), prompts).embeddings,
        step=lambda latents, context: components.unet(latents, 500, context),
        decode=lambda latents: components.vae.decode(latents),
    )


def load_diffusers(folder: Path, device: str, dtype: torch.dtype) -> LoadedModel:
    from diffusers import StableDiffusionPipeline

    pipeline = StableDiffusionPipeline.from_pretrained(
        folder, torch_dtype=dtype, low_cpu_mem_usage=True, safety_checker=None, requires_safety_checker=False
    ).to(device)
    return LoadedModel(
        encode=lambda prompts: pipeline.encode_prompt(prompts, device, 1, False)[0],
        step=lambda latents, context: pipeline.unet(latents, 500, encoder_hidden_states=context).sample,
        decode=lambda latents: pipeline.vae.decode(latents).sample,
    )


def measure(side: str, folder: Path, device: str, dtype: torch.dtype, resolution: int, batch: int, steps: int) -> dict[str, float]:
    """Runs in a fresh process: load, first output, steady steps, decode, peak memory."""
    torch.manual_seed(0)
    latents = torch.randn(batch, 4, resolution // 8, resolution // 8, dtype=dtype).to(device)

    def timed(action: Callable[[], object]) -> float:
        begin = time.perf_counter()
        action()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - begin

    start = time.perf_counter()
    holder: list[LoadedModel] = []
    load_s = timed(lambda: holder.append((load_ours if side == "ours" else load_diffusers)(folder, device, dtype)))
    model = holder[0]
    with torch.inference_mode():
        context = model.encode([PROMPT] * batch)
        timed(lambda: model.decode(model.step(latents, context)))
        first_output_s = time.perf_counter() - start
        step_s = statistics.median(timed(lambda: model.step(latents, context)) for _ in range(steps))
        decode_s = timed(lambda: model.decode(latents))
    result = {
        "load_s": load_s,
        "first_output_s": first_output_s,
        "step_s": step_s,
        "decode_s": decode_s,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,  # KiB on Linux
    }
    if device.startswith("cuda"):
        result["peak_gpu_gb"] = torch.cuda.max_memory_allocated() / 2**30
    return result


def run_side(side: str, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    command = [
        sys.executable, __file__, "--child", side, "--folder", str(folder), "--device", args.device,
        "--dtype", args.dtype, "--resolution", str(args.resolution), "--batch", str(args.batch), "--steps", str(args.steps),
    ]
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=("sd15", "small"), default="sd15")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default=None, help="default: fp32 on CPU, fp16 on GPU")
    parser.add_argument("--resolution", type=int, default=None, help="default: 256 on CPU, 512 on GPU")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3, help="steady-state UNet steps timed (median)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per side; the best of each figure is kept")
    parser.add_argument("--folder", type=Path, help="reuse a saved model folder instead of building one")
    parser.add_argument("--child", choices=("ours", "diffusers"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    gpu = args.device.startswith("cuda")
    args.dtype = args.dtype or ("fp16" if gpu else "fp32")
    args.resolution = args.resolution or (512 if gpu else 256)

    if args.child:
        print(json.dumps(measure(args.child, args.folder, args.device, DTYPES[args.dtype], args.resolution, args.batch, args.steps)))
        return

    with tempfile.TemporaryDirectory(prefix="bench_loading_") as scratch:
        folder = args.folder
        if folder is None:
            folder = Path(scratch) / "model"
            began = time.perf_counter()
            build_folder(folder, args.model)
            print(f"built random {args.model} weights in {time.perf_counter() - began:.1f} s: {folder}")
        print(f"device {args.device}, {args.dtype}, {args.resolution} px, batch {args.batch}, torch threads {torch.get_num_threads()}")
        results: dict[str, list[dict[str, float]]] = {"diffusers": [], "ours": []}
        for _ in range(args.repeats):
            for side in ("diffusers", "ours"):  # alternate, so neither side always meets a cold page cache
                results[side].append(run_side(side, args, folder))
        print_table(results)


def print_table(results: dict[str, list[dict[str, float]]]) -> None:
    best = {side: {key: min(run[key] for run in runs) for key in runs[0]} for side, runs in results.items()}
    print(f"\n{'figure':36} {'diffusers':>10} {'ours':>10} {'ours/diffusers':>15}")
    for key, label in METRICS:
        if key in best["ours"]:
            theirs, ours = best["diffusers"][key], best["ours"][key]
            print(f"{label:36} {theirs:10.3f} {ours:10.3f} {ours / theirs:15.2f}")


if __name__ == "__main__":
    main()
