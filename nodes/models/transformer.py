"""The text-conditioned spatial transformer of Stable Diffusion UNets (LDM's SpatialTransformer)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .attention import Attention


class GEGLU(nn.Module):
    """Gated GELU (Shazeer 2020): one projection yields a value half and a gate half."""

    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x: Tensor) -> Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class FeedForward(nn.Module):
    """GEGLU MLP with a 4x hidden width."""

    def __init__(self, dim: int, *, dropout: float = 0.0, mult: int = 4) -> None:
        super().__init__()
        inner_dim = dim * mult
        self.net = nn.ModuleList([GEGLU(dim, inner_dim), nn.Dropout(dropout), nn.Linear(inner_dim, dim)])

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.net:
            x = layer(x)
        return x


class BasicTransformerBlock(nn.Module):
    """Pre-norm self-attention, cross-attention to the text, and feed-forward, each residual."""

    def __init__(self, dim: int, *, heads: int, head_dim: int, context_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads=heads, head_dim=head_dim, dropout=dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, heads=heads, head_dim=head_dim, context_dim=context_dim, dropout=dropout)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim, dropout=dropout)

    def forward(self, x: Tensor, context: Tensor) -> Tensor:
        x = x + self.attn1(self.norm1(x))
        x = x + self.attn2(self.norm2(x), context)
        return x + self.ff(self.norm3(x))


class Transformer2DModel(nn.Module):
    """GroupNorm, project in, transformer blocks over the pixels as tokens, project out, plus the input.

    The projections are 1x1 convs (SD 1.x) or Linear layers on the tokens (`use_linear_projection`, SD 2.x/XL).
    """

    def __init__(
        self,
        channels: int,
        *,
        heads: int,
        num_layers: int,
        context_dim: int,
        norm_groups: int,
        use_linear_projection: bool,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if channels % heads != 0:
            raise ValueError(f"{channels} channels cannot be split into {heads} attention heads")
        self.use_linear_projection = use_linear_projection
        self.norm = nn.GroupNorm(norm_groups, channels, eps=1e-6)
        if use_linear_projection:
            self.proj_in: nn.Module = nn.Linear(channels, channels)
            self.proj_out: nn.Module = nn.Linear(channels, channels)
        else:
            self.proj_in = nn.Conv2d(channels, channels, kernel_size=1)
            self.proj_out = nn.Conv2d(channels, channels, kernel_size=1)
        self.transformer_blocks = nn.ModuleList(
            BasicTransformerBlock(
                channels, heads=heads, head_dim=channels // heads, context_dim=context_dim, dropout=dropout
            )
            for _ in range(num_layers)
        )

    def forward(self, x: Tensor, context: Tensor) -> Tensor:
        batch, channels, height, width = x.shape
        hidden = self.norm(x)
        if not self.use_linear_projection:
            hidden = self.proj_in(hidden)
        # One copy to token-major layout up front, so the norms and matmuls below all see contiguous rows.
        tokens = hidden.permute(0, 2, 3, 1).reshape(batch, height * width, channels).contiguous()
        if self.use_linear_projection:
            tokens = self.proj_in(tokens)
        for block in self.transformer_blocks:
            tokens = block(tokens, context)
        if self.use_linear_projection:
            tokens = self.proj_out(tokens)
        # And one copy back to a plain NCHW layout for the convs that follow.
        hidden = tokens.reshape(batch, height, width, channels).permute(0, 3, 1, 2).contiguous()
        if not self.use_linear_projection:
            hidden = self.proj_out(hidden)
        return hidden + x
