"""Independent PyTorch reference of Swin Transformer v1 with timm >= 0.9 semantics.

Channels-last (B, H, W, C) like timm; state_dict keys are exactly timm's. Written from the
algorithm, not from timm (timm is not a dependency). Used by gen_fixtures.py:
    /usr/bin/python3 tests/reference/gen_fixtures.py     # regenerate tests/fixtures/
    /usr/bin/python3 tests/reference/swin_ref.py         # self-checks

Window rule (timm `_calc_window_shift`): per dimension, if the stage's *configured* resolution
r <= target window w then window = r and shift = 0, else window = w and shift = w // 2 on odd
blocks. The configured resolution of stage s is floor(img_size / patch_size / 2**s) (timm
computes it with `//`), which can be one less than the runtime size when merging pads an odd
map (e.g. img 200: configured 50, 25, 12, 6; runtime 50, 25, 13, 7).
"""
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

MASK_VALUE = -100.0


@dataclass
class SwinConfig:
    img_size: int = 224
    patch_size: int = 4
    in_chans: int = 3
    embed_dim: int = 8
    depths: tuple = (2, 2, 2, 2)
    num_heads: tuple = (2, 2, 4, 4)
    window_size: int = 7
    mlp_ratio: float = 2.0
    num_classes: int = 10
    norm_eps: float = 1e-5

    def dim(self, s):
        return self.embed_dim * 2 ** s

    def resolution(self, s):
        """Configured (H, W) of stage s, floor division as timm does."""
        g = self.img_size // self.patch_size
        return (g // 2 ** s, g // 2 ** s)

    def window_shift(self, s, b):
        """((wh, ww), (sh, sw)) of block b in stage s."""
        res = self.resolution(s)
        target = (self.window_size, self.window_size)
        win = tuple(r if r <= w else w for r, w in zip(res, target))
        shift_t = (0, 0) if b % 2 == 0 else (self.window_size // 2, self.window_size // 2)
        shift = tuple(0 if r <= w else t for r, w, t in zip(res, win, shift_t))
        return win, shift

    def metadata(self):
        return {
            "arch": "swin",
            "img_size": str(self.img_size),
            "patch_size": str(self.patch_size),
            "in_chans": str(self.in_chans),
            "embed_dim": str(self.embed_dim),
            "depths": ",".join(str(d) for d in self.depths),
            "num_heads": ",".join(str(h) for h in self.num_heads),
            "window_size": str(self.window_size),
            "mlp_ratio": repr(float(self.mlp_ratio)),
            "num_classes": str(self.num_classes),
            "norm_eps": repr(float(self.norm_eps)),
        }


# ---------------------------------------------------------------------------------------------
# Window helpers


def window_partition(x, win):
    """(B, H, W, C) -> (B * nW, wh * ww, C); H, W multiples of the window; window-major per image."""
    B, H, W, C = x.shape
    wh, ww = win
    x = x.reshape(B, H // wh, wh, W // ww, ww, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, wh * ww, C)


def window_reverse(windows, win, H, W):
    """(B * nW, wh * ww, C) -> (B, H, W, C)."""
    wh, ww = win
    C = windows.shape[-1]
    B = windows.shape[0] // ((H // wh) * (W // ww))
    x = windows.reshape(B, H // wh, W // ww, wh, ww, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(B, H, W, C)


def relative_position_index(win):
    """int64 [N, N]: index into the (2wh-1)(2ww-1) bias table for each (query, key) pair."""
    wh, ww = win
    coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij"))
    c = coords.flatten(1)  # 2, N
    rel = (c[:, :, None] - c[:, None, :]).permute(1, 2, 0).contiguous()  # N, N, 2
    rel[:, :, 0] += wh - 1
    rel[:, :, 1] += ww - 1
    rel[:, :, 0] *= 2 * ww - 1
    return rel.sum(-1)


def shifted_window_mask(Hp, Wp, win, shift, dtype=torch.float32):
    """[nW, N, N] additive mask (0 or -100) for the shifted windows of an Hp x Wp (padded) map."""
    wh, ww = win
    sh, sw = shift
    img = torch.zeros((1, Hp, Wp, 1), dtype=dtype)
    cnt = 0
    for h in ((0, -wh), (-wh, -sh), (-sh, None)):
        for w in ((0, -ww), (-ww, -sw), (-sw, None)):
            img[:, h[0]:h[1], w[0]:w[1], :] = cnt
            cnt += 1
    m = window_partition(img, win).squeeze(-1)  # nW, N
    diff = m[:, None, :] - m[:, :, None]
    return torch.where(diff != 0, torch.full_like(diff, MASK_VALUE), torch.zeros_like(diff))


# ---------------------------------------------------------------------------------------------
# Layers


class PatchEmbed(nn.Module):
    def __init__(self, patch_size, in_chans, dim, eps):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size)
        self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, x):  # (B, Cin, H, W) -> (B, H/p, W/p, C)
        return self.norm(self.proj(x).permute(0, 2, 3, 1))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()  # exact erf
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class WindowAttention(nn.Module):
    def __init__(self, dim, num_heads, win):
        super().__init__()
        self.num_heads = num_heads
        self.win = tuple(win)
        self.head_dim = dim // num_heads
        self.scale = self.head_dim ** -0.5
        n_rel = (2 * win[0] - 1) * (2 * win[1] - 1)
        self.relative_position_bias_table = nn.Parameter(torch.zeros(n_rel, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(win), persistent=False)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def rel_bias(self):
        N = self.win[0] * self.win[1]
        b = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        return b.reshape(N, N, -1).permute(2, 0, 1)  # nH, N, N

    def forward(self, x, mask=None):
        """x (B*nW, N, C) window-major; mask None or (nW, N, N), same for every image."""
        B_, N, C = x.shape
        nH = self.num_heads
        qkv = self.qkv(x).reshape(B_, N, 3, nH, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * self.scale) @ k.transpose(-2, -1) + self.rel_bias().unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.reshape(B_ // nW, nW, nH, N, N) + mask.to(attn.dtype)[None, :, None]
            attn = attn.reshape(B_, nH, N, N)
        attn = attn.softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(B_, N, C))


class SwinBlock(nn.Module):
    def __init__(self, dim, num_heads, win, shift, mlp_hidden, eps):
        super().__init__()
        self.win, self.shift = tuple(win), tuple(shift)
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = WindowAttention(dim, num_heads, win)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, mlp_hidden)

    def forward(self, x):  # (B, H, W, C)
        B, H, W, C = x.shape
        (wh, ww), (sh, sw) = self.win, self.shift
        shifted = any(self.shift)
        shortcut = x
        x = self.norm1(x)
        if shifted:
            x = torch.roll(x, shifts=(-sh, -sw), dims=(1, 2))
        ph, pw = (-H) % wh, (-W) % ww
        x = F.pad(x, (0, 0, 0, pw, 0, ph))
        Hp, Wp = H + ph, W + pw
        mask = shifted_window_mask(Hp, Wp, self.win, self.shift, x.dtype) if shifted else None
        x = window_reverse(self.attn(window_partition(x, self.win), mask), self.win, Hp, Wp)
        x = x[:, :H, :W, :]
        if shifted:
            x = torch.roll(x, shifts=(sh, sw), dims=(1, 2))
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim, eps=eps)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):  # (B, H, W, C) -> (B, ceil(H/2), ceil(W/2), 2C)
        B, H, W, C = x.shape
        x = F.pad(x, (0, 0, 0, W % 2, 0, H % 2))
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x))


class SwinStage(nn.Module):
    def __init__(self, cfg, s):
        super().__init__()
        dim = cfg.dim(s)
        if s > 0:
            self.downsample = PatchMerging(cfg.dim(s - 1), cfg.norm_eps)
        else:
            self.downsample = None
        blocks = []
        for b in range(cfg.depths[s]):
            win, shift = cfg.window_shift(s, b)
            blocks.append(SwinBlock(dim, cfg.num_heads[s], win, shift, int(dim * cfg.mlp_ratio), cfg.norm_eps))
        self.blocks = nn.Sequential(*blocks)

    def forward(self, x):
        if self.downsample is not None:
            x = self.downsample(x)
        return self.blocks(x)


class ClassifierHead(nn.Module):
    def __init__(self, dim, num_classes):
        super().__init__()
        self.fc = nn.Linear(dim, num_classes)


class SwinTransformer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.in_chans, cfg.embed_dim, cfg.norm_eps)
        self.layers = nn.Sequential(*[SwinStage(cfg, s) for s in range(len(cfg.depths))])
        c_last = cfg.dim(len(cfg.depths) - 1)
        self.norm = nn.LayerNorm(c_last, eps=cfg.norm_eps)
        self.head = ClassifierHead(c_last, cfg.num_classes)

    def forward(self, x):
        """x (B, Cin, H, W) -> (logits [B, classes], features [B, C], [stage maps (B, Hs, Ws, Cs)])."""
        p = self.cfg.patch_size
        assert x.shape[2] % p == 0 and x.shape[3] % p == 0
        x = self.patch_embed(x)
        stages = []
        for stage in self.layers:
            x = stage(x)
            stages.append(x)
        feats = self.norm(x).mean(dim=(1, 2))
        return self.head.fc(feats), feats, stages


# ---------------------------------------------------------------------------------------------
# Official (Microsoft) naming


def to_official(sd, cfg):
    """timm-named state dict -> official Microsoft naming plus its persistent buffers.

    timm's stage s downsample (at the start of the stage) is official layers.{s-1}.downsample
    (at the end of the previous stage); head.fc -> head. Adds attn.relative_position_index for
    every block and attn_mask for shifted blocks, computed at the configured resolution. Order
    follows the official module order (blocks of a stage, then its downsample).
    """
    n = len(cfg.depths)
    out = {}
    for k, v in sd.items():
        if k.startswith("patch_embed."):
            out[k] = v
    for s in range(n):
        for b in range(cfg.depths[s]):
            pre = f"layers.{s}.blocks.{b}."
            win, shift = cfg.window_shift(s, b)
            if any(shift):
                H, W = cfg.resolution(s)
                if H % win[0] or W % win[1]:
                    raise ValueError("official Swin cannot represent a shifted block whose "
                                     "resolution is not a multiple of the window")
                out[pre + "attn_mask"] = shifted_window_mask(H, W, win, shift, torch.float32)
            for k, v in sd.items():
                if k.startswith(pre):
                    out[k] = v
                    if k == pre + "attn.relative_position_bias_table":
                        out[pre + "attn.relative_position_index"] = relative_position_index(win)
        if s + 1 < n:
            src = f"layers.{s + 1}.downsample."
            # the official PatchMerging registers reduction before norm
            for sub in ("reduction.", "norm."):
                for k, v in sd.items():
                    if k.startswith(src + sub):
                        out[f"layers.{s}.downsample." + k[len(src):]] = v
    for k, v in sd.items():
        if k.startswith("norm."):
            out[k] = v
    for k, v in sd.items():
        if k.startswith("head.fc."):
            out["head." + k[len("head.fc."):]] = v
    assert len(out) >= len(sd)
    return out


def from_official(osd):
    """Inverse rename (drops the official buffers)."""
    import re

    out = {}
    for k, v in osd.items():
        if k.endswith("relative_position_index") or k.endswith("attn_mask"):
            continue
        m = re.match(r"layers\.(\d+)\.downsample\.(.*)", k)
        if m:
            k = f"layers.{int(m.group(1)) + 1}.downsample.{m.group(2)}"
        elif k.startswith("head."):
            k = "head.fc." + k[len("head."):]
        out[k] = v
    return out


# ---------------------------------------------------------------------------------------------
# Literal transcription of the official Microsoft forward (token-major (B, L, C), square
# windows, downsample at the end of a stage, buffers persistent). Only for self-checks; it
# only supports resolutions divisible by the window, as the official code does.


class _OfficialWindowAttention(nn.Module):
    def __init__(self, dim, window_size, num_heads):
        super().__init__()
        self.window_size = window_size  # (Wh, Ww)
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.scale = head_dim ** -0.5
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * window_size[0] - 1) * (2 * window_size[1] - 1), num_heads))
        coords_h = torch.arange(self.window_size[0])
        coords_w = torch.arange(self.window_size[1])
        coords = torch.stack(torch.meshgrid([coords_h, coords_w], indexing="ij"))
        coords_flatten = torch.flatten(coords, 1)
        relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]
        relative_coords = relative_coords.permute(1, 2, 0).contiguous()
        relative_coords[:, :, 0] += self.window_size[0] - 1
        relative_coords[:, :, 1] += self.window_size[1] - 1
        relative_coords[:, :, 0] *= 2 * self.window_size[1] - 1
        self.register_buffer("relative_position_index", relative_coords.sum(-1))
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x, mask=None):
        B_, N, C = x.shape
        qkv = self.qkv(x).reshape(B_, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = q * self.scale
        attn = (q @ k.transpose(-2, -1))
        relative_position_bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(
            self.window_size[0] * self.window_size[1], self.window_size[0] * self.window_size[1], -1)
        relative_position_bias = relative_position_bias.permute(2, 0, 1).contiguous()
        attn = attn + relative_position_bias.unsqueeze(0)
        if mask is not None:
            nW = mask.shape[0]
            attn = attn.view(B_ // nW, nW, self.num_heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.num_heads, N, N)
            attn = self.softmax(attn)
        else:
            attn = self.softmax(attn)
        x = (attn @ v).transpose(1, 2).reshape(B_, N, C)
        return self.proj(x)


def _official_window_partition(x, window_size):
    B, H, W, C = x.shape
    x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)


def _official_window_reverse(windows, window_size, H, W):
    B = int(windows.shape[0] / (H * W / window_size / window_size))
    x = windows.view(B, H // window_size, W // window_size, window_size, window_size, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, H, W, -1)


class _OfficialBlock(nn.Module):
    def __init__(self, dim, input_resolution, num_heads, window_size, shift_size, mlp_ratio):
        super().__init__()
        self.input_resolution = input_resolution
        self.window_size = window_size
        self.shift_size = shift_size
        if min(self.input_resolution) <= self.window_size:
            self.shift_size = 0
            self.window_size = min(self.input_resolution)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = _OfficialWindowAttention(dim, (self.window_size, self.window_size), num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        if self.shift_size > 0:
            H, W = self.input_resolution
            img_mask = torch.zeros((1, H, W, 1))
            h_slices = (slice(0, -self.window_size), slice(-self.window_size, -self.shift_size),
                        slice(-self.shift_size, None))
            w_slices = (slice(0, -self.window_size), slice(-self.window_size, -self.shift_size),
                        slice(-self.shift_size, None))
            cnt = 0
            for h in h_slices:
                for w in w_slices:
                    img_mask[:, h, w, :] = cnt
                    cnt += 1
            mask_windows = _official_window_partition(img_mask, self.window_size)
            mask_windows = mask_windows.view(-1, self.window_size * self.window_size)
            attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
            attn_mask = attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))
        else:
            attn_mask = None
        self.register_buffer("attn_mask", attn_mask)

    def forward(self, x):
        H, W = self.input_resolution
        B, L, C = x.shape
        shortcut = x
        x = self.norm1(x)
        x = x.view(B, H, W, C)
        if self.shift_size > 0:
            shifted_x = torch.roll(x, shifts=(-self.shift_size, -self.shift_size), dims=(1, 2))
        else:
            shifted_x = x
        x_windows = _official_window_partition(shifted_x, self.window_size)
        x_windows = x_windows.view(-1, self.window_size * self.window_size, C)
        attn_windows = self.attn(x_windows, mask=self.attn_mask)
        attn_windows = attn_windows.view(-1, self.window_size, self.window_size, C)
        shifted_x = _official_window_reverse(attn_windows, self.window_size, H, W)
        if self.shift_size > 0:
            x = torch.roll(shifted_x, shifts=(self.shift_size, self.shift_size), dims=(1, 2))
        else:
            x = shifted_x
        x = x.view(B, H * W, C)
        x = shortcut + x
        x = x + self.mlp(self.norm2(x))
        return x


class _OfficialPatchMerging(nn.Module):
    def __init__(self, input_resolution, dim):
        super().__init__()
        self.input_resolution = input_resolution
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x):
        H, W = self.input_resolution
        B, L, C = x.shape
        assert L == H * W and H % 2 == 0 and W % 2 == 0
        x = x.view(B, H, W, C)
        x0 = x[:, 0::2, 0::2, :]
        x1 = x[:, 1::2, 0::2, :]
        x2 = x[:, 0::2, 1::2, :]
        x3 = x[:, 1::2, 1::2, :]
        x = torch.cat([x0, x1, x2, x3], -1)
        x = x.view(B, -1, 4 * C)
        return self.reduction(self.norm(x))


class _OfficialBasicLayer(nn.Module):
    def __init__(self, dim, input_resolution, depth, num_heads, window_size, mlp_ratio, downsample):
        super().__init__()
        self.blocks = nn.ModuleList([
            _OfficialBlock(dim, input_resolution, num_heads, window_size,
                           0 if (i % 2 == 0) else window_size // 2, mlp_ratio)
            for i in range(depth)])
        self.downsample = _OfficialPatchMerging(input_resolution, dim) if downsample else None

    def forward(self, x):
        for blk in self.blocks:
            x = blk(x)
        if self.downsample is not None:
            x = self.downsample(x)
        return x


class OfficialSwin(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.in_chans, cfg.embed_dim, 1e-5)
        g = cfg.img_size // cfg.patch_size
        n = len(cfg.depths)
        self.layers = nn.ModuleList([
            _OfficialBasicLayer(cfg.dim(i), (g // 2 ** i, g // 2 ** i), cfg.depths[i], cfg.num_heads[i],
                                cfg.window_size, cfg.mlp_ratio, i < n - 1)
            for i in range(n)])
        self.norm = nn.LayerNorm(cfg.dim(n - 1))
        self.avgpool = nn.AdaptiveAvgPool1d(1)
        self.head = nn.Linear(cfg.dim(n - 1), cfg.num_classes)

    def forward(self, x):
        x = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        x = self.patch_embed.norm(x)
        for layer in self.layers:
            x = layer(x)
        x = self.norm(x)
        x = self.avgpool(x.transpose(1, 2))
        return self.head(torch.flatten(x, 1))


# ---------------------------------------------------------------------------------------------
# Self-checks


def randomize_(model, seed_or_gen):
    """Randomize every parameter in float32 from a fixed generator (in named_parameters order):
    LayerNorm gains 1 + 0.1 N, biases 0.1 N, bias tables 0.5 N, weights N / sqrt(fan_in)."""
    g = seed_or_gen
    if not isinstance(g, torch.Generator):
        g = torch.Generator().manual_seed(int(seed_or_gen))
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            module = name.split(".")[-2] if "." in name else ""
            if name.endswith("relative_position_bias_table"):
                v = 0.5 * r
            elif module.startswith("norm"):
                v = 1 + 0.1 * r if name.endswith("weight") else 0.1 * r
            elif name.endswith("bias"):
                v = 0.1 * r
            else:
                v = r / math.sqrt(p[0].numel())
            p.copy_(v)


def _brute_block(blk, x):
    B, H, W, C = x.shape
    (wh, ww), (sh, sw) = blk.win, blk.shift
    nH = blk.attn.num_heads
    hd = C // nH
    Hp, Wp = -(-H // wh) * wh, -(-W // ww) * ww
    y = blk.norm1(x)
    # rolled[i, j] = y[(i + sh) % H, (j + sw) % W]; zeros beyond H, W
    rolled = torch.zeros(B, Hp, Wp, C, dtype=x.dtype)
    for i in range(H):
        for j in range(W):
            rolled[:, i, j] = y[:, (i + sh) % H, (j + sw) % W]

    def region(v, n, w, s):
        return 0 if v < n - w else (1 if v < n - s else 2)

    table = blk.attn.relative_position_bias_table
    Wq, bq = blk.attn.qkv.weight, blk.attn.qkv.bias
    out = torch.zeros_like(rolled)
    for b in range(B):
        for wi in range(Hp // wh):
            for wj in range(Wp // ww):
                pos = [(wi * wh + a, wj * ww + c) for a in range(wh) for c in range(ww)]
                t = torch.stack([rolled[b, p, q] for p, q in pos])  # N, C
                qkv = t @ Wq.T + bq
                heads = []
                for h in range(nH):
                    q = qkv[:, h * hd:(h + 1) * hd] * hd ** -0.5
                    k = qkv[:, C + h * hd:C + (h + 1) * hd]
                    v = qkv[:, 2 * C + h * hd:2 * C + (h + 1) * hd]
                    logits = q @ k.T
                    for n1, (p1, q1) in enumerate(pos):
                        for n2, (p2, q2) in enumerate(pos):
                            dy, dx = (p1 - p2), (q1 - q2)
                            logits[n1, n2] += table[(dy + wh - 1) * (2 * ww - 1) + dx + ww - 1, h]
                            if sh or sw:
                                r1 = (region(p1, Hp, wh, sh), region(q1, Wp, ww, sw))
                                r2 = (region(p2, Hp, wh, sh), region(q2, Wp, ww, sw))
                                if r1 != r2:
                                    logits[n1, n2] += MASK_VALUE
                    heads.append(torch.softmax(logits, -1) @ v)
                o = blk.attn.proj(torch.cat(heads, -1))
                for n1, (p, q) in enumerate(pos):
                    out[b, p, q] = o[n1]
    attn = torch.zeros_like(x)
    for i in range(H):
        for j in range(W):
            attn[:, (i + sh) % H, (j + sw) % W] = out[:, i, j]
    x = x + attn
    return x + blk.mlp(blk.norm2(x))


def _self_check():
    torch.set_num_threads(1)
    # PatchMerging's cat order equals timm's reshape/permute form.
    x = torch.randn(2, 7, 6, 5, dtype=torch.float64)
    xp = F.pad(x, (0, 0, 0, 0, 0, 1))
    B, H, W, C = xp.shape
    a = xp.reshape(B, H // 2, 2, W // 2, 2, C).permute(0, 1, 3, 4, 2, 5).flatten(3)
    b = torch.cat([xp[:, 0::2, 0::2], xp[:, 1::2, 0::2], xp[:, 0::2, 1::2], xp[:, 1::2, 1::2]], -1)
    assert torch.equal(a, b)

    # Whole model vs the literal official transcription, loaded strictly from to_official().
    for cfg in (SwinConfig(), SwinConfig(img_size=384, window_size=12), SwinConfig(img_size=128, window_size=4, depths=(2, 4, 2, 2))):
        m = SwinTransformer(cfg).double()
        randomize_(m, 123)
        assert not any("index" in k or "mask" in k for k in m.state_dict())
        sd = m.state_dict()
        osd = to_official(sd, cfg)
        back = from_official(osd)
        assert set(back) == set(sd)
        assert all(torch.equal(back[k], sd[k]) for k in sd)
        off = OfficialSwin(cfg).double()
        ref_keys = list(off.state_dict().keys())
        assert ref_keys == list(osd.keys()), "official key order/naming differs"
        off.load_state_dict(osd, strict=True)
        for k, v in off.state_dict().items():  # buffers must equal what the official code builds
            assert torch.equal(v, osd[k].to(v.dtype)), k
        x = torch.rand(2, 3, cfg.img_size, cfg.img_size, dtype=torch.float64) * 4 - 2
        with torch.no_grad():
            y, _, _ = m(x)
            y_off = off(x)
        err = (y - y_off).abs().max().item()
        assert err < 1e-10, f"official transcription differs: {err}"
        print(f"official vs timm-style img {cfg.img_size} w{cfg.window_size}: max |diff| {err:.2e}")

    # Shifted + padded block against a per-window loop that builds the bias from (dy, dx)
    # directly and the mask from region labels, sharing no helper with SwinBlock.
    for shift in ((2, 2), (0, 0)):
        blk = SwinBlock(8, 2, (4, 4), shift, 16, 1e-5).double()
        randomize_(blk, 7)
        x = torch.randn(2, 10, 10, 8, dtype=torch.float64)
        with torch.no_grad():
            err = (blk(x) - _brute_block(blk, x)).abs().max().item()
        assert err < 1e-12, f"block vs brute force (shift {shift}): {err}"
        print(f"block 10x10 w4 shift {shift} vs brute force: max |diff| {err:.2e}")
    print("swin_ref self-check OK")


if __name__ == "__main__":
    _self_check()
