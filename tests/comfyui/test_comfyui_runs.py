"""ComfyUI documents (both formats, and PNGs) -> our workflows -> successful runs on the bundled model.

Every mapped ComfyUI node type appears in a document here that runs; file names (checkpoints,
LoRAs, images) are substituted the way a user would, with --set-style values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from comfy_documents import INPUTS, document, document_text
from png_files import png_with_text
from safetensors import safe_open
from safetensors.torch import save_file

from graph_engine import Executor, Registry, Workflow
from graph_engine.importing import import_workflow
from graph_engine.validation import assign_params
from nodes.comfyui.api_format import is_api_document, parse_api
from nodes.comfyui.editor_format import parse_editor
from nodes.comfyui.mapping import MAPPINGS
from nodes.tiny_shapes import bundled_checkpoint

BUNDLED = "tiny-shapes"


def tiny_lora(folder: Path, seed: int) -> Path:
    """A kohya-format LoRA for the bundled model: one UNet attention projection and one text layer."""
    root = bundled_checkpoint(BUNDLED)
    generator = torch.Generator().manual_seed(seed)
    lora: dict[str, torch.Tensor] = {}
    for file, module, prefix in (
        ("unet/diffusion_pytorch_model.safetensors", "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q",
         "lora_unet_"),
        ("text_encoder/model.safetensors", "encoder.layers.0.self_attn.q_proj", "lora_te_text_model_"),
    ):
        with safe_open(str(root / file), "pt") as handle:
            shape = handle.get_slice(f"{module}.weight").get_shape()
        name = prefix + module.replace(".", "_")
        lora[f"{name}.lora_down.weight"] = 0.2 * torch.randn(2, shape[1], generator=generator)
        lora[f"{name}.lora_up.weight"] = 0.2 * torch.randn(shape[0], 2, generator=generator)
        lora[f"{name}.alpha"] = torch.tensor(2.0)
    path = folder / f"lora_{seed}.safetensors"
    save_file(lora, str(path))
    return path


def imported(data: str | bytes, registry: Registry, values: dict[str, Any], expected_format: str) -> Workflow:
    result = import_workflow(data, registry)
    assert result.format == expected_format
    return assign_params(result.workflow, registry, values)


def run_ok(executor: Executor, workflow: Workflow) -> Any:
    result = executor.run(workflow)
    assert result.status == "success", {node: failure.message for node, failure in result.failures.items()}
    return result


def comfy_types_that_run(name: str) -> set[str]:
    """The ComfyUI node types of a document that reach the run (not muted, bypassed or frontend-only)."""
    source = document(name)
    graph = parse_api(source) if is_api_document(source) else parse_editor(source)
    return {node.class_type for node in graph.nodes.values()}


# The documents the tests below run (each through run_ok).
RUN_DOCUMENTS = (
    "txt2img_api.json", "txt2img_editor.json", "hires_lora_editor_v1.json", "img2img_inpaint_api.json",
    "subgraphs_editor_v1.json",
)


def test_api_txt2img_runs_with_the_checkpoint_substituted(executor: Executor, registry: Registry) -> None:
    workflow = imported(document_text("txt2img_api.json"), registry, {"checkpoint": BUNDLED}, "comfyui-api")
    sampler = workflow.nodes["3"].inputs
    assert (sampler["sampler"], sampler["scheduler"], sampler["seed"]) == ("dpmpp_2m", "karras", 156680208700286)
    assert workflow.nodes["10"].type == "String" and workflow.nodes["7"].inputs["text"].node == "10"
    result = run_ok(executor, workflow)
    assert len(result.files) == 2  # batch_size 2
    assert all(Path(file).name.startswith("ComfyUI_") for file in result.files)


def test_editor_txt2img_resolves_widgets_reroutes_and_primitives(executor: Executor, registry: Registry) -> None:
    workflow = imported(document_text("txt2img_editor.json"), registry, {"checkpoint": BUNDLED}, "comfyui-editor")
    sampler = workflow.nodes["3"].inputs
    # [seed, control_after_generate, steps, cfg, sampler, scheduler, denoise]: "fixed" is the frontend's
    assert {name: sampler[name] for name in ("seed", "steps", "cfg", "sampler", "scheduler", "denoise")} == {
        "seed": 42, "steps": 3, "cfg": 8, "sampler": "euler_ancestral", "scheduler": "normal", "denoise": 1,
    }
    assert workflow.nodes["8"].inputs["vae"].node == "4"  # through the reroute
    assert set(workflow.nodes) == {"3", "4", "5", "6", "7", "8", "9"}  # no reroute, primitive or note
    assert workflow.params["seed"].targets == ["3.seed"]  # the primitive titled "Seed"
    editor = workflow.editor or {}
    assert editor["positions"]["3"] == [863.0, 186.0]
    assert editor["groups"][0]["title"] == "Prompts" and editor["groups"][0]["nodes"] == ["6", "7"]  # node 5 lies below
    assert editor["notes"] == ["Default workflow, smaller."]
    assert editor["titles"]["6"] == "Positive"
    run_ok(executor, workflow)


def test_editor_v1_hires_lora_workflow(executor: Executor, registry: Registry, tmp_path: Path) -> None:
    loras = [tiny_lora(tmp_path, 1), tiny_lora(tmp_path, 2)]
    values = {"checkpoint": BUNDLED, "2.lora": str(loras[0]), "3.lora": str(loras[1])}
    workflow = imported(document_text("hires_lora_editor_v1.json"), registry, values, "comfyui-editor")
    nodes = workflow.nodes
    assert "18" not in nodes  # muted
    assert "14" not in nodes and nodes["15"].inputs["latent"].node == "13"  # bypassed: the latent passes through
    assert nodes["4"].type == "ClipSkip" and nodes["4"].inputs["clip_skip"] == 1  # stop_at_clip_layer -2
    assert nodes["12"].type == "LatentScale" and nodes["12"].inputs["method"] == "nearest"
    assert nodes["12"].inputs["vae"].node == "1"  # the VAE that decodes this latent
    advanced = nodes["13"].inputs
    assert (advanced["add_noise"], advanced["return_leftover_noise"], advanced["start_step"]) == (True, False, 2)
    assert nodes["11"].inputs["sampler"] == "dpmpp_2m_sde"
    assert workflow.params["seed"].targets == ["11.seed", "13.seed"]  # one primitive feeds both samplers
    run_ok(executor, workflow)


def test_api_img2img_and_inpaint_workflow(executor: Executor, registry: Registry) -> None:
    values = {"checkpoint": BUNDLED, "2.image": str(INPUTS / "shapes.png"), "9.image": str(INPUTS / "shapes_mask.png"),
              "16.vae": BUNDLED}
    workflow = imported(document_text("img2img_inpaint_api.json"), registry, values, "comfyui-api")
    assert workflow.nodes["14"].type == "InpaintEncode" and workflow.nodes["14"].inputs["grow_mask_by"] == 6
    assert workflow.nodes["13"].inputs["scheduler"] == "leading"
    assert workflow.nodes["9"].inputs["channel"] == "red"
    assert "upload" not in workflow.nodes["2"].inputs  # the upload button is the frontend's
    assert workflow.nodes["23"].type == "String" and workflow.nodes["11"].inputs["text"].node == "23"
    assert (workflow.nodes["18"].inputs["tile_size"], workflow.nodes["18"].inputs["overlap"]) == (32, 0.5)  # 16 px
    assert "temporal_size" not in workflow.nodes["25"].inputs
    result = run_ok(executor, workflow)
    assert len(result.files) == 2  # SaveImage of a batch of two


def test_subgraphs_are_flattened_with_instance_ids(executor: Executor, registry: Registry) -> None:
    workflow = imported(document_text("subgraphs_editor_v1.json"), registry, {"checkpoint": BUNDLED}, "comfyui-editor")
    assert {"2_10", "2_11_20"} <= set(workflow.nodes)  # "2:10" in ComfyUI's API format
    sampler = workflow.nodes["4"].inputs
    assert (sampler["positive"].node, sampler["negative"].node) == ("2_10", "2_11_20")
    assert workflow.nodes["2_11_20"].inputs["clip"].node == "1"
    assert workflow.params["prompt"].targets == ["2_10.text"]
    run_ok(executor, workflow)


def test_comfyui_png_runs_from_its_workflow_chunk(executor: Executor, registry: Registry) -> None:
    png = png_with_text({"prompt": document_text("txt2img_api.json"), "workflow": document_text("txt2img_editor.json")})
    workflow = imported(png, registry, {"checkpoint": BUNDLED}, "comfyui-editor")
    run_ok(executor, workflow)
    prompt_only = png_with_text({"prompt": document_text("txt2img_api.json")})
    assert import_workflow(prompt_only, registry).format == "comfyui-api"


def test_unknown_nodes_import_as_placeholders_that_validation_names(registry: Registry) -> None:
    from graph_engine import WorkflowValidationError
    from graph_engine.validation import validate_workflow

    result = import_workflow(document_text("custom_nodes_api.json"), registry)
    detailer = result.workflow.nodes["10"]
    assert detailer.placeholder is not None and detailer.placeholder.original_type == "FaceDetailer"
    assert detailer.inputs["bbox_detector"].node == "40" and detailer.inputs["guide_size"] == 512
    assert detailer.placeholder.original["inputs"] == {"options": {"enabled": True}}
    with pytest.raises(WorkflowValidationError) as raised:
        validate_workflow(result.workflow, registry)
    missing = {issue.node_id: issue for issue in raised.value.issues if issue.code.value == "missing_node_type"}
    assert set(missing) == {"10", "11", "30", "40"}
    assert "ComfyUI-Impact-Pack" in missing["10"].message and "rgthree-comfy" in missing["30"].message
    assert "ComfyUI-Impact-Subpack" in missing["40"].message and "MyPrivateUpscaler" in missing["11"].message
    choices = {issue.input for issue in raised.value.issues if issue.code.value == "not_a_choice"}
    assert choices == {"sampler", "scheduler"}  # dpmpp_3m_sde and beta have no counterpart here
    assert any("dpmpp_3m_sde" in warning for warning in result.warnings)


# Needs an SDXL checkpoint (two text encoders); the bundled model has one, so it is checked by import only.
SDXL_ONLY = {"CLIPTextEncodeSDXL"}


def test_every_mapped_node_type_is_in_a_document_that_runs() -> None:
    ran = set().union(*(comfy_types_that_run(name) for name in RUN_DOCUMENTS))
    assert {mapping.comfy for mapping in MAPPINGS} - ran == SDXL_ONLY


def test_sdxl_text_encode_widgets(registry: Registry) -> None:
    source = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
        "2": {"class_type": "CLIPTextEncodeSDXL", "inputs": {
            "width": 4096, "height": 4096, "crop_w": 0, "crop_h": 0, "target_width": 1024, "target_height": 1024,
            "text_g": "a red circle", "text_l": "a red circle, sharp", "clip": ["1", 1]}},
    }
    inputs = import_workflow(json.dumps(source), registry).workflow.nodes["2"].inputs
    assert (inputs["text"], inputs["text_2"]) == ("a red circle, sharp", "a red circle")  # CLIP-L first, then G
    assert (inputs["original_width"], inputs["target_height"], inputs["crop_left"]) == (4096, 1024, 0)
