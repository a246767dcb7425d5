"""Prompt encoding over transformers' CLIP text models: weights syntax, long prompts, SDXL's
two encoders, and the `Conditioning` the sampler consumes."""

from nodes.text_encoding.clip_encode import TextEncoders, encode_prompt
from nodes.text_encoding.conditioning import TIME_IDS, Conditioning, SizeConditioning
from nodes.text_encoding.prompt_weights import PromptSyntaxError, WeightedText, parse_prompt_weights
from nodes.text_encoding.tokens import TokenWindows, tokenize_prompt

__all__ = [
    "TIME_IDS",
    "Conditioning",
    "PromptSyntaxError",
    "SizeConditioning",
    "TextEncoders",
    "TokenWindows",
    "WeightedText",
    "encode_prompt",
    "parse_prompt_weights",
    "tokenize_prompt",
]
