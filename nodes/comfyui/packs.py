"""Where ComfyUI node types we do not have come from, so that a missing node is named with its pack.

The editor format often says itself (`properties.cnr_id`, the ComfyUI registry id); otherwise a
small table of well-known custom node packs, matched by exact name, prefix or suffix, fills in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownPack:
    name: str
    url: str
    names: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()

    def provides(self, node_type: str) -> bool:
        return node_type in self.names or node_type.startswith(self.prefixes) or node_type.endswith(self.suffixes)


KNOWN_PACKS: tuple[KnownPack, ...] = (
    KnownPack("ComfyUI-Impact-Pack", "https://github.com/ltdrdata/ComfyUI-Impact-Pack", frozenset({
        "FaceDetailer", "FaceDetailerPipe", "SAMLoader", "BboxDetectorSEGS", "SegmDetectorSEGS", "SAMDetectorCombined",
        "DetailerForEach", "DetailerForEachDebug", "SEGSPreview", "SEGSPaste", "ImpactWildcardProcessor",
        "ImpactWildcardEncode", "ToBasicPipe", "FromBasicPipe", "BasicPipeToDetailerPipe", "MaskToSEGS",
        "ImpactSimpleDetectorSEGS", "PreviewBridge", "ImageReceiver", "ImageSender", "IterativeLatentUpscale",
    }), prefixes=("Impact",)),
    KnownPack("ComfyUI-Impact-Subpack", "https://github.com/ltdrdata/ComfyUI-Impact-Subpack",
              frozenset({"UltralyticsDetectorProvider"})),
    KnownPack("comfyui_controlnet_aux", "https://github.com/Fannovel16/comfyui_controlnet_aux", frozenset({
        "AIO_Preprocessor", "OpenposePreprocessor", "DWPreprocessor", "DepthAnythingPreprocessor",
        "DepthAnythingV2Preprocessor", "MiDaS-DepthMapPreprocessor", "Zoe-DepthMapPreprocessor", "LineArtPreprocessor",
        "AnimeLineArtPreprocessor", "HEDPreprocessor", "PiDiNetPreprocessor", "M-LSDPreprocessor",
        "TilePreprocessor", "OneFormer-ADE20K-SemSegPreprocessor", "ControlNetPreprocessorSelector",
    })),
    KnownPack("rgthree-comfy", "https://github.com/rgthree/rgthree-comfy", suffixes=("(rgthree)",)),
    KnownPack("was-node-suite-comfyui", "https://github.com/WASasquatch/was-node-suite-comfyui", frozenset({
        "Text Multiline", "Text Concatenate", "Text String", "Number Counter", "Image Save", "Image Resize",
        "Image Blend", "Image Filter Adjustments", "Load Image Batch", "CLIPTextEncode (NSP)", "Text Find and Replace",
        "Random Number", "Seed",
    })),
    KnownPack("ComfyUI_IPAdapter_plus", "https://github.com/cubiq/ComfyUI_IPAdapter_plus", prefixes=("IPAdapter",)),
    KnownPack("ComfyUI-AnimateDiff-Evolved", "https://github.com/Kosinkadink/ComfyUI-AnimateDiff-Evolved",
              prefixes=("ADE_",)),
    KnownPack("ComfyUI-VideoHelperSuite", "https://github.com/Kosinkadink/ComfyUI-VideoHelperSuite",
              prefixes=("VHS_",)),
    KnownPack("ComfyUI-Advanced-ControlNet", "https://github.com/Kosinkadink/ComfyUI-Advanced-ControlNet",
              prefixes=("ACN_",)),
    KnownPack("efficiency-nodes-comfyui", "https://github.com/jags111/efficiency-nodes-comfyui",
              frozenset({"Efficient Loader", "Eff. Loader SDXL", "LoRA Stacker", "XY Plot"}), suffixes=("(Efficient)",)),
    KnownPack("ComfyUI_UltimateSDUpscale", "https://github.com/ssitu/ComfyUI_UltimateSDUpscale",
              frozenset({"UltimateSDUpscale", "UltimateSDUpscaleNoUpscale", "UltimateSDUpscaleCustomSample"})),
    KnownPack("ComfyUI-Custom-Scripts", "https://github.com/pythongosssss/ComfyUI-Custom-Scripts",
              suffixes=("|pysssss",)),
    KnownPack("ComfyUI_essentials", "https://github.com/cubiq/ComfyUI_essentials", suffixes=("+",)),
    KnownPack("ComfyUI-KJNodes", "https://github.com/kijai/ComfyUI-KJNodes",
              frozenset({"SetNode", "GetNode", "INTConstant", "FloatConstant", "ConditioningMultiCombine",
                         "ImageResizeKJ", "GetImageSizeAndCount"}), suffixes=("KJ",)),
    KnownPack("cg-use-everywhere", "https://github.com/chrisgoringe/cg-use-everywhere", prefixes=("Anything Everywhere",)),
    KnownPack("ComfyUI_Comfyroll_CustomNodes", "https://github.com/Suzie1/ComfyUI_Comfyroll_CustomNodes",
              prefixes=("CR ",)),
    KnownPack("ComfyUI-Easy-Use", "https://github.com/yolain/ComfyUI-Easy-Use", prefixes=("easy ",)),
    KnownPack("ComfyUI-GGUF", "https://github.com/city96/ComfyUI-GGUF", suffixes=("GGUF",)),
)

# Core ComfyUI nodes with no counterpart here yet (the commonly shared ones).
CORE_NODES = frozenset({
    "CheckpointLoader", "DiffusersLoader", "unCLIPCheckpointLoader", "UNETLoader", "CLIPLoader", "DualCLIPLoader",
    "CLIPVisionLoader", "CLIPVisionEncode", "ControlNetLoader", "DiffControlNetLoader", "ControlNetApply",
    "ControlNetApplyAdvanced", "StyleModelLoader", "StyleModelApply", "unCLIPConditioning", "GLIGENLoader",
    "GLIGENTextBoxApply", "ConditioningAverage", "ConditioningSetArea", "ConditioningSetAreaPercentage",
    "ConditioningSetAreaStrength", "ConditioningSetMask", "ConditioningSetTimestepRange", "InpaintModelConditioning",
    "RepeatLatentBatch", "LatentComposite", "LatentBlend", "LatentRotate",
    "LatentFlip", "LatentCrop", "ImageScaleBy", "ImageInvert", "ImagePadForOutpaint", "EmptyImage", "SaveLatent",
    "LoadLatent", "LoadImageOutput", "KSamplerSelect", "BasicScheduler", "CFGGuider", "SamplerCustom",
    "SamplerCustomAdvanced", "RandomNoise", "SplitSigmas", "UpscaleModelLoader", "ImageUpscaleWithModel",
    "FluxGuidance", "ModelSamplingDiscrete", "ModelSamplingSD3", "ModelSamplingFlux", "EmptySD3LatentImage",
    "CLIPTextEncodeFlux", "ImageToMask", "MaskToImage", "InvertMask", "GrowMask", "SolidMask", "FeatherMask",
    "ThresholdMask", "CLIPMergeSimple", "ModelMergeSimple", "FreeU", "FreeU_V2", "HypernetworkLoader",
    "PerpNeg", "SelfAttentionGuidance", "RescaleCFG", "ImageCompositeMasked", "ImageBlend", "ImageBlur",
    "ImageSharpen", "Canny", "SaveAnimatedWEBP", "SaveAnimatedPNG",
})

CORE_REGISTRY_ID = "comfy-core"


def provided_by(node_type: str, registry_id: str = "") -> str:
    """Where `node_type` comes from, in words ("" if unknown). `registry_id`: the editor's cnr_id."""
    if registry_id == CORE_REGISTRY_ID or (not registry_id and node_type in CORE_NODES):
        return "ComfyUI's core nodes (no counterpart here yet)"
    for pack in KNOWN_PACKS:
        if pack.provides(node_type) or registry_id.lower() == pack.name.lower():
            return f"the custom node pack {pack.name} ({pack.url})"
    if registry_id:
        return f"the custom node pack {registry_id!r} (ComfyUI registry id)"
    return ""
