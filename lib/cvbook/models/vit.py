"""Vision Transformer, ViT-S/16 (Dosovitskiy et al., 2020): an image is 16x16 words.

Cut the image into patches, embed each patch as a vector (a "token"), add a learned
position embedding, and let a standard Transformer encoder mix the tokens with
self-attention: every token looks at every other one from the first layer on.
There is no built-in notion of locality, which is why ViTs need much more data
(or augmentation) than CNNs. "S" = small: 384 dimensions, 12 layers, 6 heads.

`torchvision_key` maps torchvision's names (encoder.layers.encoder_layer_0.ln_1, ...)
to the ones used here.
"""

from __future__ import annotations

import re

import torch
from torch import nn

from .layers import check_input, check_variant


class PatchEmbed(nn.Module):
    """Cut the image into non-overlapping patch_size x patch_size patches and project each
    to `embed_dim`: exactly a conv whose kernel and stride are the patch size.
    (N, C, H, W) -> (N, H/p * W/p, embed_dim)."""

    def __init__(self, patch_size: int, in_chans: int, embed_dim: int):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class ConvStemEmbed(nn.Module):
    """Convolutional patch embedding (the Tiny ImageNet study's; Xiao et al., 2021, "Early convolutions help
    transformers see better"): a 7x7 conv with stride patch/2, BN, GELU, then a 3x3 conv
    with stride 2 to `embed_dim`. Same token grid as PatchEmbed, overlapping receptive
    fields, and a much easier optimisation on small data."""

    def __init__(self, patch_size: int, in_chans: int, embed_dim: int, stem_channels: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(in_chans, stem_channels, 7, stride=patch_size // 2, padding=3)
        self.bn1 = nn.BatchNorm2d(stem_channels)
        self.act = nn.GELU()
        self.conv2 = nn.Conv2d(stem_channels, embed_dim, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2(self.act(self.bn1(self.conv1(x))))
        return x.flatten(2).transpose(1, 2)


class MultiHeadSelfAttention(nn.Module):
    """softmax(Q K^T / sqrt(d)) V, in `num_heads` independent heads of d = dim / num_heads.

    One Linear makes queries, keys and values for all heads at once; each head compares
    every token with every other one (an N x N attention map) and averages the values
    with those weights. A final Linear mixes the heads' outputs."""

    def __init__(self, dim: int, num_heads: int):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"MultiHeadSelfAttention: dim={dim} is not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, tokens, dim = x.shape
        qkv = self.qkv(x).reshape(n, tokens, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # each (n, heads, tokens, head_dim)
        attn = (q @ k.transpose(-2, -1)) * self.head_dim ** -0.5
        out = attn.softmax(dim=-1) @ v
        return self.proj(out.transpose(1, 2).reshape(n, tokens, dim))


class MLP(nn.Module):
    """Per-token feed-forward network: Linear (dim -> mlp_dim), GELU, Linear (back to dim)."""

    def __init__(self, dim: int, mlp_dim: int, dropout: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, mlp_dim)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(mlp_dim, dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class EncoderBlock(nn.Module):
    """Pre-norm Transformer layer: x + attention(norm(x)), then x + mlp(norm(x))."""

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiHeadSelfAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLP(dim, mlp_dim, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """patch embedding (+ class token) + position embedding -> encoder blocks -> LayerNorm
    -> class token (or mean of all tokens) -> Linear.

    `conv_stem=False, class_token=True` is the original ViT (and torchvision's);
    `conv_stem=True, class_token=False` is the Tiny ImageNet study's adaptation: convolutional patch
    embedding and a global average of the tokens as the image's summary.
    """

    def __init__(self, img_size: int = 224, patch_size: int = 16, in_chans: int = 3, num_classes: int = 1000,
                 embed_dim: int = 384, depth: int = 12, num_heads: int = 6, mlp_dim: int = 1536,
                 conv_stem: bool = False, class_token: bool = True, dropout: float = 0.0):
        super().__init__()
        embed = ConvStemEmbed if conv_stem else PatchEmbed
        self.patch_embed = embed(patch_size, in_chans, embed_dim)
        num_tokens = (img_size // patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim)) if class_token else None
        self.pos_embed = nn.Parameter(torch.empty(1, num_tokens + int(class_token), embed_dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.Sequential(*[EncoderBlock(embed_dim, num_heads, mlp_dim, dropout) for _ in range(depth)])
        self.norm = nn.LayerNorm(embed_dim, eps=1e-6)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = self.norm(self.blocks(self.dropout(x + self.pos_embed)))
        x = x[:, 0] if self.cls_token is not None else x.mean(dim=1)
        return self.head(x)


_TORCHVISION_RENAMES = [
    (r"^conv_proj\.", "patch_embed.proj."),
    (r"^class_token$", "cls_token"),
    (r"^encoder\.pos_embedding$", "pos_embed"),
    (r"^encoder\.ln\.", "norm."),
    (r"^heads\.head\.", "head."),
    (r"^encoder\.layers\.encoder_layer_(\d+)\.", r"blocks.\1."),
    (r"\.ln_1\.", ".norm1."),
    (r"\.ln_2\.", ".norm2."),
    (r"\.self_attention\.in_proj_(weight|bias)$", r".attn.qkv.\1"),
    (r"\.self_attention\.out_proj\.", ".attn.proj."),
    (r"\.mlp\.0\.", ".mlp.fc1."),
    (r"\.mlp\.3\.", ".mlp.fc2."),
]


def torchvision_key(key: str) -> str:
    """Name here of torchvision's VisionTransformer parameter `key`."""
    for pattern, replacement in _TORCHVISION_RENAMES:
        key = re.sub(pattern, replacement, key)
    return key


def vit_s16(num_classes: int = 10, in_chans: int = 3, img_size: int = 32, variant: str = "small",
            patch_size: int | None = None, **kwargs) -> VisionTransformer:
    """ViT-S (384 dims, 12 layers, 6 heads, MLP 1536).

    'small' (the Tiny ImageNet study's): convolutional patch embedding, no class token, mean of the tokens.
    Its patch size (the stem's total stride) defaults to 8 for 64 px and larger, 4 below,
    so a 28, 32 or 64 px image becomes a 7x7 or 8x8 grid of tokens (16 px patches would
    leave a 64 px image with only 16 tokens). 'imagenet': 16 px linear patches and a class
    token, as torchvision's VisionTransformer.
    """
    check_variant("vit_s16", variant)
    small = variant == "small"
    if patch_size is None:
        patch_size = (8 if img_size >= 64 else 4) if small else 16
    if small and (patch_size < 2 or patch_size % 2):
        raise ValueError(f"vit_s16: the convolutional stem needs an even patch_size >= 2, got {patch_size}")
    check_input("vit_s16", img_size, in_chans, num_classes, min_size=patch_size, multiple_of=patch_size)
    return VisionTransformer(img_size, patch_size, in_chans, num_classes, conv_stem=small,
                             class_token=not small, **kwargs)
