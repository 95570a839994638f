"""Independent PyTorch references of the two ViT families of libswin.

VisionTransformer  timm's ViT / DeiT semantics and timm's state_dict names (written from the
                   algorithm, timm is not a dependency): conv patch embedding with bias, optional
                   class token, pos_embed [1, N, D] added to every token, pre-norm blocks
                   (LayerNorm eps 1e-6, fused qkv, exact-erf GELU MLP), then global_pool
                   "token" (final `norm`, class token) or "avg" (mean of the patch tokens, then
                   `fc_norm`), then `head`.
PostNormViT        the tutorial's ViT (../shared/seeds/002): conv patch embedding without bias,
                   class token, a position table of max_tokens rows of which the first seq_len
                   are added, torch.nn.TransformerEncoder itself (post-norm
                   nn.TransformerEncoderLayer, eps 1e-5, ReLU or GELU), linear head on the class
                   token. The tokens are laid out batch-first (batch_first=True), so every token
                   attends to every token of its own image.

Both forwards return (logits, features, stage): features feed the head; stage is the last
block's patch tokens [B, H/p, W/p, D] before any final norm.

Used by gen_vit_fixtures.py and check_vit_cli.py. Self-checks:
    /usr/bin/python3 tests/reference/vit_ref.py
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ViTConfig:
    img_size: int = 32
    patch_size: int = 16
    in_chans: int = 3
    embed_dim: int = 16
    depth: int = 2
    num_heads: int = 2
    mlp_hidden_dim: int = 64
    num_classes: int = 10
    class_token: bool = True
    global_pool: str = "token"  # or "avg"
    norm_eps: float = 1e-6
    # the modern variants (timm's arguments): layer scale (ls1/ls2 gammas), the position table
    # on the patches only, norm_pre with a bias-free patch embedding (CLIP), the activation
    layer_scale: bool = False
    no_embed_class: bool = False
    pre_norm: bool = False
    act: str = "gelu"  # or "quick_gelu"

    def grid(self):
        return self.img_size // self.patch_size

    def metadata(self, arch="vit"):
        return {
            "arch": arch,
            "img_size": str(self.img_size),
            "patch_size": str(self.patch_size),
            "in_chans": str(self.in_chans),
            "embed_dim": str(self.embed_dim),
            "depth": str(self.depth),
            "num_heads": str(self.num_heads),
            "mlp_hidden_dim": str(self.mlp_hidden_dim),
            "num_classes": str(self.num_classes),
            "class_token": "1" if self.class_token else "0",
            "global_pool": self.global_pool,
            "norm_eps": repr(float(self.norm_eps)),
            # the modern variants only when used (the classic fixtures' metadata unchanged)
            **({"init_values": "1e-05"} if self.layer_scale else {}),
            **({"no_embed_class": "1"} if self.no_embed_class else {}),
            **({"pre_norm": "1"} if self.pre_norm else {}),
            **({"activation": self.act} if self.act != "gelu" else {}),
        }


class PatchEmbed(nn.Module):
    def __init__(self, patch_size, in_chans, dim, bias=True):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size, bias=bias)

    def forward(self, x):  # (B, Cin, H, W) -> (B, L, D), row-major over the patch grid
        return self.proj(x).flatten(2).transpose(1, 2)


class Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B, N, C))


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class LayerScale(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * self.gamma


class Mlp(nn.Module):
    def __init__(self, dim, hidden, act="gelu"):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = QuickGELU() if act == "quick_gelu" else nn.GELU()  # exact erf
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, num_heads, hidden, eps, layer_scale=False, act="gelu"):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads)
        self.ls1 = LayerScale(dim) if layer_scale else nn.Identity()
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, hidden, act)
        self.ls2 = LayerScale(dim) if layer_scale else nn.Identity()

    def forward(self, x):
        x = x + self.ls1(self.attn(self.norm1(x)))
        return x + self.ls2(self.mlp(self.norm2(x)))


class VisionTransformer(nn.Module):
    def __init__(self, cfg: ViTConfig):
        super().__init__()
        self.cfg = cfg
        D = cfg.embed_dim
        self.prefix = 1 if cfg.class_token else 0
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.in_chans, D, bias=not cfg.pre_norm)
        if cfg.class_token:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        rows = cfg.grid() ** 2 + (0 if cfg.no_embed_class else self.prefix)
        self.pos_embed = nn.Parameter(torch.zeros(1, rows, D))
        if cfg.pre_norm:
            self.norm_pre = nn.LayerNorm(D, eps=cfg.norm_eps)
        self.blocks = nn.Sequential(*[Block(D, cfg.num_heads, cfg.mlp_hidden_dim, cfg.norm_eps,
                                            cfg.layer_scale, cfg.act)
                                      for _ in range(cfg.depth)])
        if cfg.global_pool == "avg":
            self.fc_norm = nn.LayerNorm(D, eps=cfg.norm_eps)
        else:
            self.norm = nn.LayerNorm(D, eps=cfg.norm_eps)
        if cfg.num_classes:
            self.head = nn.Linear(D, cfg.num_classes)

    def forward(self, x):
        B, _, H, W = x.shape
        p = self.cfg.patch_size
        t = self.patch_embed(x)
        if self.cfg.no_embed_class:
            t = t + self.pos_embed
        if self.prefix:
            t = torch.cat([self.cls_token.expand(B, -1, -1), t], dim=1)
        if not self.cfg.no_embed_class:
            t = t + self.pos_embed
        if self.cfg.pre_norm:
            t = self.norm_pre(t)
        t = self.blocks(t)
        stage = t[:, self.prefix:].reshape(B, H // p, W // p, -1)
        if self.cfg.global_pool == "avg":
            feats = self.fc_norm(t[:, self.prefix:].mean(dim=1))
        else:
            feats = self.norm(t)[:, 0]
        logits = self.head(feats) if self.cfg.num_classes else None
        return logits, feats, stage


@dataclass
class PostNormConfig:
    img_size: int = 8
    patch_size: int = 4
    in_chans: int = 3
    d_model: int = 16
    nhead: int = 2
    num_layers: int = 2
    dim_feedforward: int = 2048  # nn.TransformerEncoderLayer's default
    activation: str = "relu"     # its default; or "gelu"
    max_tokens: int = 16
    num_classes: int = 10
    final_norm: bool = False     # nn.TransformerEncoder(..., norm=LayerNorm)

    def metadata(self):
        m = {
            "arch": "vit_postnorm",
            "num_heads": str(self.nhead),
            "img_size": str(self.img_size),
            "patch_size": str(self.patch_size),
        }
        if self.activation != "relu":
            m["activation"] = self.activation
        if self.dim_feedforward != 2048:
            m["mlp_hidden_dim"] = str(self.dim_feedforward)
        return m


class PostNormViT(nn.Module):
    """The tutorial's model as a module: its names are what libswin's vit_postnorm binds."""

    def __init__(self, cfg: PostNormConfig):
        super().__init__()
        self.cfg = cfg
        D = cfg.d_model
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.in_chans, D, bias=False)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.pos_embed = nn.Parameter(torch.zeros(cfg.max_tokens, D))
        layer = nn.TransformerEncoderLayer(D, cfg.nhead, dim_feedforward=cfg.dim_feedforward,
                                           activation=cfg.activation, batch_first=True)
        norm = nn.LayerNorm(D) if cfg.final_norm else None
        self.encoder = nn.TransformerEncoder(layer, cfg.num_layers, norm=norm)
        self.head = nn.Linear(D, cfg.num_classes)

    def embed(self, x):
        t = self.patch_embed(x)
        t = torch.cat([self.cls_token.expand(t.shape[0], -1, -1), t], dim=1)
        return t + self.pos_embed[:t.shape[1]]

    def forward(self, x):
        B, _, H, W = x.shape
        p = self.cfg.patch_size
        t = self.embed(x)
        feats = self.encoder(t)[:, 0]  # nn.TransformerEncoder itself
        for layer in self.encoder.layers:  # the last layer's output, for the stage map only
            t = layer(t)
        stage = t[:, 1:].reshape(B, H // p, W // p, -1)
        return self.head(feats), feats, stage


def randomize_(model, seed_or_gen):
    """Every parameter random, in float32, from a fixed generator (named_parameters order):
    LayerNorm gains 1 + 0.1 N and biases 0.1 N, other biases 0.1 N, cls_token and pos_embed
    0.5 N, layer-scale gammas 1 + 0.1 N, weights N / sqrt(fan_in)."""
    g = seed_or_gen
    if not isinstance(g, torch.Generator):
        g = torch.Generator().manual_seed(int(seed_or_gen))
    norms = {n for n, m in model.named_modules() if isinstance(m, nn.LayerNorm)}
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            owner = name.rsplit(".", 1)[0] if "." in name else ""
            if owner in norms:
                v = 1 + 0.1 * r if name.endswith("weight") else 0.1 * r
            elif name in ("cls_token", "pos_embed"):
                v = 0.5 * r
            elif name.endswith(".gamma"):  # layer scale
                v = 1 + 0.1 * r
            elif name.endswith("bias"):
                v = 0.1 * r
            else:
                v = r / math.sqrt(p[0].numel())
            p.copy_(v)


def _self_check():
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(5)
    dd = torch.float64

    # The tutorial's point: the strided conv equals unfold . W.
    pe = PatchEmbed(4, 3, 8, bias=False).double()
    randomize_(pe, 1)
    x = torch.randn(2, 3, 8, 12, generator=g, dtype=dd)
    W = pe.proj.weight.reshape(8, -1)
    err = (pe(x) - F.unfold(x, 4, stride=4).transpose(1, 2) @ W.T).abs().max().item()
    assert err < 1e-12, err

    # timm-style Attention equals nn.MultiheadAttention with the same fused q;k;v rows.
    att = Attention(16, 4).double()
    randomize_(att, 2)
    mha = nn.MultiheadAttention(16, 4, batch_first=True).double()
    with torch.no_grad():
        mha.in_proj_weight.copy_(att.qkv.weight)
        mha.in_proj_bias.copy_(att.qkv.bias)
        mha.out_proj.weight.copy_(att.proj.weight)
        mha.out_proj.bias.copy_(att.proj.bias)
        x = torch.randn(3, 7, 16, generator=g, dtype=dd)
        err = (att(x) - mha(x, x, x, need_weights=False)[0]).abs().max().item()
    assert err < 1e-12, err
    print(f"timm attention vs nn.MultiheadAttention: max |diff| {err:.2e}")

    # PostNormViT equals the tutorial's steps written out with a sequence-first encoder on
    # transposed tokens, and the pre-norm block equals an explicit post/pre formula.
    for act in ("relu", "gelu"):
        cfg = PostNormConfig(activation=act, dim_feedforward=32, final_norm=act == "gelu")
        m = PostNormViT(cfg).double().eval()
        randomize_(m, 3)
        seqfirst = nn.TransformerEncoder(
            nn.TransformerEncoderLayer(16, 2, 32, activation=act), 2,
            norm=nn.LayerNorm(16) if cfg.final_norm else None).double().eval()
        seqfirst.load_state_dict(m.encoder.state_dict(), strict=True)
        img = torch.randn(2, 3, 8, 8, generator=g, dtype=dd)
        with torch.no_grad():
            kernel = m.patch_embed.proj.weight
            emb = F.conv2d(img, kernel, stride=4).flatten(2).transpose(1, 2)
            tok = torch.cat([m.cls_token.expand(2, -1, -1), emb], 1)
            tok = tok + torch.tile(m.pos_embed[:tok.shape[1]], [2, 1, 1])
            out = seqfirst(tok.transpose(0, 1)).transpose(0, 1)
            want = m.head(out[:, 0])
            got = m(img)[0]
        err = (got - want).abs().max().item()
        assert err < 1e-12, err
        print(f"PostNormViT ({act}) vs the tutorial's steps: max |diff| {err:.2e}")

    # One post-norm layer against its formula: x = n1(x + sa(x)); x = n2(x + ff(x)).
    layer = PostNormViT(PostNormConfig(dim_feedforward=24)).double().eval().encoder.layers[0]
    randomize_(layer, 4)
    x = torch.randn(2, 5, 16, generator=g, dtype=dd)
    with torch.no_grad():
        sa = layer.self_attn(x, x, x, need_weights=False)[0]
        y = layer.norm1(x + sa)
        y = layer.norm2(y + layer.linear2(F.relu(layer.linear1(y))))
        err = (layer(x) - y).abs().max().item()
    assert err < 1e-12, err
    print("vit_ref self-check OK")


if __name__ == "__main__":
    _self_check()
