"""encode_prompt against diffusers' StableDiffusion(XL)Pipeline.encode_prompt, long-prompt
chunking, prompt weighting and the Conditioning it returns."""

from __future__ import annotations

import pytest
import torch
from tiny_clip import sd_pipeline, sdxl_pipeline

from nodes.text_encoding import TIME_IDS, Conditioning, SizeConditioning, TextEncoders, encode_prompt, tokenize_prompt

PROMPT = "a photo of an astronaut riding a horse on mars"
# 20 x 8 tokens: three 75-token windows.
LONG_PROMPT = ", ".join(["a red circle above a blue square"] * 20)


@pytest.fixture(scope="module")
def sd():  # type: ignore[no-untyped-def]
    return sd_pipeline()


@pytest.fixture(scope="module")
def sdxl():  # type: ignore[no-untyped-def]
    return sdxl_pipeline()


def encoders_of(pipeline) -> TextEncoders:  # type: ignore[no-untyped-def]
    return TextEncoders(
        pipeline.tokenizer, pipeline.text_encoder,
        getattr(pipeline, "tokenizer_2", None), getattr(pipeline, "text_encoder_2", None),
    )


@pytest.mark.parametrize("open_clip", [False, True], ids=["sd1", "sd2"])
@pytest.mark.parametrize("clip_skip", [None, 1, 2])
def test_sd_matches_diffusers(open_clip: bool, clip_skip: int | None) -> None:
    pipeline = sd_pipeline(open_clip=open_clip)
    with torch.no_grad():
        expected, _ = pipeline.encode_prompt(PROMPT, "cpu", 1, False, clip_skip=clip_skip)
    ours = encode_prompt(encoders_of(pipeline), PROMPT, clip_skip=clip_skip)
    assert ours.pooled is None and dict(ours.extras) == {}
    torch.testing.assert_close(ours.embeddings, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("clip_skip", [None, 1])
def test_sdxl_matches_diffusers(sdxl, clip_skip: int | None) -> None:  # type: ignore[no-untyped-def]
    with torch.no_grad():
        expected, _, expected_pooled, _ = sdxl.encode_prompt(PROMPT, device="cpu", do_classifier_free_guidance=False,
                                                             clip_skip=clip_skip)
    ours = encode_prompt(encoders_of(sdxl), PROMPT, clip_skip=clip_skip)
    assert ours.embeddings.shape == (1, 77, 64)
    torch.testing.assert_close(ours.embeddings, expected, atol=1e-5, rtol=0)
    assert ours.pooled is not None
    torch.testing.assert_close(ours.pooled, expected_pooled, atol=1e-5, rtol=0)


def test_sdxl_time_ids_follow_diffusers_order(sdxl) -> None:  # type: ignore[no-untyped-def]
    size = SizeConditioning(original_size=(768, 1024), crop_top_left=(16, 32), target_size=(512, 640))
    conditioning = encode_prompt(encoders_of(sdxl), [PROMPT, "a cat"], size=size)
    expected = sdxl._get_add_time_ids((768, 1024), (16, 32), (512, 640), dtype=torch.float32,
                                      text_encoder_projection_dim=sdxl.text_encoder_2.config.projection_dim)
    torch.testing.assert_close(conditioning.extras[TIME_IDS], expected.repeat(2, 1))
    assert encode_prompt(encoders_of(sdxl), PROMPT).extras[TIME_IDS].tolist() == [[1024, 1024, 0, 0, 1024, 1024]]


def window_encoding(pipeline, token_ids: list[int], layer: int | None = None) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """The reference encoding of one 77-token window built by hand."""
    tokenizer = pipeline.tokenizer
    ids = [tokenizer.bos_token_id, *token_ids, tokenizer.eos_token_id]
    ids += [tokenizer.pad_token_id] * (77 - len(ids))
    with torch.no_grad():
        outputs = pipeline.text_encoder(torch.tensor([ids]), output_hidden_states=True)
    return outputs.last_hidden_state if layer is None else outputs.hidden_states[layer]


def test_long_prompts_are_encoded_in_75_token_chunks(sd) -> None:  # type: ignore[no-untyped-def]
    tokens = sd.tokenizer(LONG_PROMPT, add_special_tokens=False).input_ids
    assert 150 < len(tokens) <= 225
    conditioning = encode_prompt(encoders_of(sd), LONG_PROMPT)
    assert conditioning.embeddings.shape == (1, 3 * 77, 32)
    for chunk in range(3):
        expected = window_encoding(sd, tokens[75 * chunk : 75 * (chunk + 1)])
        torch.testing.assert_close(conditioning.embeddings[:, 77 * chunk : 77 * (chunk + 1)], expected, atol=1e-5, rtol=0)


def test_long_sdxl_prompt_pools_from_the_first_chunk(sdxl) -> None:  # type: ignore[no-untyped-def]
    conditioning = encode_prompt(encoders_of(sdxl), LONG_PROMPT)
    assert conditioning.embeddings.shape == (1, 3 * 77, 64)
    first_chunk = sdxl.tokenizer_2.decode(tokenize_prompt(sdxl.tokenizer_2, LONG_PROMPT).ids[0, 1:76])
    with torch.no_grad():
        _, _, pooled, _ = sdxl.encode_prompt(first_chunk, device="cpu", do_classifier_free_guidance=False)
    torch.testing.assert_close(conditioning.pooled, pooled, atol=1e-5, rtol=0)


def test_batch_pads_shorter_prompts_with_empty_chunks(sd) -> None:  # type: ignore[no-untyped-def]
    conditioning = encode_prompt(encoders_of(sd), ["a cat", LONG_PROMPT])
    assert conditioning.embeddings.shape == (2, 3 * 77, 32)
    torch.testing.assert_close(conditioning.embeddings[0, 77:154], window_encoding(sd, [])[0], atol=1e-5, rtol=0)
    alone = encode_prompt(encoders_of(sd), "a cat").embeddings
    torch.testing.assert_close(conditioning.embeddings[:1, :77], alone, atol=1e-5, rtol=0)


def test_weights_interpolate_from_the_empty_prompt(sd) -> None:  # type: ignore[no-untyped-def]
    """ComfyUI's convention: weighted token = empty + w * (token - empty), per position."""
    encoders = encoders_of(sd)
    weighted = encode_prompt(encoders, "a (red:1.5) cat [on] a mat").embeddings
    plain = encode_prompt(encoders, "a red cat on a mat").embeddings
    empty = window_encoding(sd, [])
    weights = torch.ones(77)
    weights[2], weights[4] = 1.5, 1 / 1.1  # BOS, "a", "red", "cat", "on", ...
    expected = torch.where(weights[:, None] != 1, empty + (plain - empty) * weights[:, None], plain)
    torch.testing.assert_close(weighted, expected, atol=1e-5, rtol=0)
    assert not torch.allclose(weighted, plain)


def test_weight_syntax_can_be_switched_off(sd) -> None:  # type: ignore[no-untyped-def]
    encoders = encoders_of(sd)
    literal = encode_prompt(encoders, "a (red:1.5) cat", parse_weights=False)
    ids = sd.tokenizer("a (red:1.5) cat", padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        torch.testing.assert_close(literal.embeddings, sd.text_encoder(ids)[0], atol=1e-5, rtol=0)
    unit = encode_prompt(encoders, "a (red:1.0) cat").embeddings
    torch.testing.assert_close(unit, encode_prompt(encoders, "a red cat").embeddings, atol=0, rtol=0)


def test_bad_arguments_are_explained(sd, sdxl) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="clip_skip=3 reaches past the 3 layers"):
        encode_prompt(encoders_of(sdxl), PROMPT, clip_skip=3)
    with pytest.raises(ValueError, match="SDXL-style models"):
        encode_prompt(encoders_of(sd), PROMPT, size=SizeConditioning())
    with pytest.raises(ValueError, match="prompt_2 has 1 entries but prompt has 2"):
        encode_prompt(encoders_of(sdxl), ["a", "b"], prompt_2=["c"])
    with pytest.raises(ValueError, match="non-empty list of strings"):
        encode_prompt(encoders_of(sd), [])
    with pytest.raises(ValueError, match="give both or neither"):
        TextEncoders(sd.tokenizer, sd.text_encoder, sd.tokenizer)


def test_conditioning_shapes_are_checked_and_moved() -> None:
    embeddings, pooled = torch.zeros(2, 77, 8), torch.zeros(2, 4)
    time_ids = SizeConditioning().time_ids(2)
    conditioning = Conditioning(embeddings, pooled, {TIME_IDS: time_ids, "steps": torch.arange(2)})
    half = conditioning.to(dtype=torch.float16)
    assert (half.embeddings.dtype, half.pooled.dtype, half.extras[TIME_IDS].dtype) == (torch.float16,) * 3
    assert half.extras["steps"].dtype == torch.int64 and half.batch_size == 2
    with pytest.raises(ValueError, match=r"embeddings must be \[batch, tokens, dim\]"):
        Conditioning(torch.zeros(77, 8))
    with pytest.raises(ValueError, match=r"pooled must be \[batch=2, dim\]"):
        Conditioning(embeddings, torch.zeros(1, 4))
