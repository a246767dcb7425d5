"""Multi-head attention through torch's scaled_dot_product_attention, and the VAE/DDPM spatial self-attention."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


def multi_head_attention(query: Tensor, key: Tensor, value: Tensor, heads: int) -> Tensor:
    """Softmax(q k^T / sqrt(d)) v over `heads` heads; inputs and output are (batch, tokens, heads * d).

    The fused SDPA kernels accumulate the softmax in float32 for half-precision inputs, which is
    what `upcast_attention` / `upcast_softmax` asked of the original unfused implementation.
    """
    batch = query.shape[0]
    q, k, v = (t.view(batch, -1, heads, t.shape[-1] // heads).transpose(1, 2) for t in (query, key, value))
    out = F.scaled_dot_product_attention(q, k, v)
    return out.transpose(1, 2).reshape(batch, -1, out.shape[1] * out.shape[-1])


class Attention(nn.Module):
    """Self-attention, or cross-attention over `context` when `context_dim` is given."""

    def __init__(
        self,
        query_dim: int,
        *,
        heads: int,
        head_dim: int,
        context_dim: int | None = None,
        qkv_bias: bool = False,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        inner_dim = heads * head_dim
        self.heads = heads
        self.to_q = nn.Linear(query_dim, inner_dim, bias=qkv_bias)
        self.to_k = nn.Linear(context_dim or query_dim, inner_dim, bias=qkv_bias)
        self.to_v = nn.Linear(context_dim or query_dim, inner_dim, bias=qkv_bias)
        self.to_out = nn.ModuleList([nn.Linear(inner_dim, query_dim), nn.Dropout(dropout)])

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        source = x if context is None else context
        out = multi_head_attention(self.to_q(x), self.to_k(source), self.to_v(source), self.heads)
        for layer in self.to_out:
            out = layer(out)
        return out


class SpatialSelfAttention(Attention):
    """Residual self-attention over the pixels of a feature map, with its own GroupNorm.

    Used in the VAE's mid block and in DDPM UNets' attention blocks; `norm_groups=None`
    means no norm (UNet2DModel's mid block with scale-shift resnets).
    """

    def __init__(
        self,
        channels: int,
        *,
        head_dim: int,
        norm_groups: int | None,
        eps: float,
        rescale_output_factor: float = 1.0,
    ) -> None:
        super().__init__(channels, heads=channels // head_dim, head_dim=head_dim, qkv_bias=True)
        self.group_norm = nn.GroupNorm(norm_groups, channels, eps=eps) if norm_groups is not None else None
        self.rescale_output_factor = rescale_output_factor

    def forward(self, x: Tensor, context: Tensor | None = None) -> Tensor:
        if context is not None:
            raise ValueError("SpatialSelfAttention is self-attention only; it takes no context")
        batch, channels, height, width = x.shape
        hidden = self.group_norm(x) if self.group_norm is not None else x
        tokens = hidden.view(batch, channels, height * width).transpose(1, 2)
        out = super().forward(tokens)
        out = out.transpose(1, 2).reshape(batch, channels, height, width)
        return (out + x) / self.rescale_output_factor
