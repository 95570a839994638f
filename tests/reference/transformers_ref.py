"""Independent PyTorch references of Hugging Face transformers' ViT, DeiT, Swin, Swin V2, DINOv2,
DINOv2 with registers and CLIP's vision tower (and of their image processors), written from
transformers' algorithm, not copied from it (transformers is not a dependency). State-dict
names are exactly transformers' names, persistent buffers included, so a dict of these modules
is what `save_pretrained` writes to model.safetensors.

    /usr/bin/python3 tests/reference/transformers_ref.py            # self-checks
    /usr/bin/python3 tests/reference/gen_transformers_fixtures.py   # tests/fixtures/transformers/

Semantics are transformers' eval mode (read from the 4.4x-4.5x sources): no dropout,
no drop path, no head_mask, no bool_masked_pos, no interpolate_pos_encoding for ViT / DeiT / Swin
(DINOv2 always resamples its table when the grid differs; CLIP's forward takes
interpolate_pos_encoding), plain softmax attention (eager and sdpa compute the same thing).
Every forward returns a dict:

    logits             [B, num_labels]    *ForImageClassification only
    features           [B, D]             the vector the classifier reads: ViT / DeiT the final
                                          layernorm's token 0; Swin the mean over tokens of the
                                          final layernorm's output (the AdaptiveAvgPool1d pooler)
    pooler             [B, P]             ViTModel / DeiTModel with add_pooling_layer only
    last_hidden_state  [B, T, D]          after the final layernorm (ViT / DeiT: prefix tokens
                                          included; Swin / Swin V2: the last stage's tokens)
    stage{s}           [B, H_s, W_s, C_s] Swin / Swin V2: stage s's blocks' output before its
                                          downsample;
                                          ViT / DeiT: stage0 only, the last layer's patch tokens
                                          before the final layernorm, prefix tokens dropped
    tokens             [B, T, D]          DINOv2, CLIP, DeiT with teacher: every token after the
                                          model's final norm (DINOv2 / DeiT: = last_hidden_state;
                                          CLIP: post_layernorm of every token of
                                          last_hidden_state, which has no final norm)
  For DINOv2 (+registers) and CLIP: features = pooler_output (DINOv2: final-layernorm token 0;
  CLIP: post_layernorm(last_hidden_state[:, 0])), except Dinov2(WithRegisters)ForImage-
  Classification, whose features are the classifier's input concat(token 0, patch mean) [B, 2D];
  logits of CLIPVisionModelWithProjection / CLIPModel are image_embeds (not normalised).

ViT (transformers.models.vit.modeling_vit), compared with timm's VisionTransformer
(tests/reference/vit_ref.py):
  - LayerNorm eps is config.layer_norm_eps (default 1e-12) in every layernorm_before,
    layernorm_after and the final layernorm; timm uses 1e-6.
  - hidden_act "gelu" is ACT2FN["gelu"] = GELUActivation = torch.nn.functional.gelu, the exact
    erf form ("gelu_new" / "gelu_pytorch_tanh" would be the tanh form; not supported here).
  - query, key, value are separate Linear layers (bias only when config.qkv_bias); timm's fused
    qkv weight is their row concatenation [q; k; v]. Scores are (q k^T) / sqrt(head_size)
    (ViTSelfAttention / eager_attention_forward); timm scales q first: the same number.
  - ViTEmbeddings: [cls] + patches, + position_embeddings [1, N + 1, D]. The input must be
    config.image_size (ViTPatchEmbeddings raises otherwise, without interpolate_pos_encoding).
  - ViTForImageClassification builds ViTModel(add_pooling_layer=False) and its classifier reads
    the final layernorm's token 0, as timm's global_pool "token". ViTModel's pooler (ViTPooler)
    is tanh(dense(LN(x)[:, 0])), dense [pooler_output_size, D] (pooler_output_size, pooler_act
    appeared in ViTConfig around 4.48, with I-JEPA; defaults hidden_size and "tanh").
DeiT (transformers.models.deit.modeling_deit): ViT's layers, but DeiTEmbeddings always holds a
  cls_token AND a distillation_token, tokens [cls, dist, patches], position_embeddings
  [1, N + 2, D], for every DeiT class (also the non-distilled DeiTForImageClassification).
  DeiTForImageClassification's classifier reads token 0 (the class token) only; token 1 takes
  part in attention but is never read. DeiTForImageClassificationWithTeacher averages
  cls_classifier(token 0) and distillation_classifier(token 1), as timm's distilled DeiT does at
  eval (self-check: equal to timm's deit_*_distilled). timm's plain DeiT has one prefix token,
  so no timm model equals DeiTForImageClassification.
Swin (transformers.models.swin.modeling_swin), compared with timm >= 0.9 (swin_ref.py):
  1. Window and shift come from the RUNTIME resolution of the stage (SwinLayer.forward calls
     SwinLayer.set_shift_and_window_size(input_dimensions) with the actual (H, W)): block b of a
     stage starts with window = config.window_size and shift = 0 if b % 2 == 0 else
     config.window_size // 2; if min(H, W) <= window then shift = 0 and window = min(H, W).
     timm (_calc_window_shift) decides per dimension from the CONFIGURED resolution
     floor(img / patch / 2**s). The configured image_size plays no part at all in transformers
     (SwinLayer.input_resolution and SwinPatchMerging.input_resolution are stored, never read).
  2. The relative position table and index always have config.window_size's size
     (SwinSelfAttention.__init__ gets config.window_size: (2w-1)^2 rows, index [w^2, w^2]). So
     when min(H, W) < config.window_size at runtime transformers FAILS (the bias is viewed as
     [w^2, w^2, nH] and added to [.., N, N] scores with N = min(H, W)^2): only a stage whose
     runtime size equals the window can be clamped, and then it just loses its shift. timm
     shrinks the window and the table when it builds the model. This module raises ValueError
     where transformers would raise.
  3. Padding happens BEFORE the cyclic shift: SwinLayer.forward applies layernorm_before, then
     SwinLayer.maybe_pad (zeros at the bottom / right up to multiples of the window), then
     torch.roll(-shift) of the PADDED map, windows, attention, window_reverse, roll(+shift) of
     the padded map, and only then crops to (H, W). timm rolls the unpadded map, then pads.
     The padded zero tokens are keys and values like any other token (only the shift mask
     applies). The two orders agree when H and W are multiples of the window.
  4. The shift mask (SwinLayer.get_attn_mask(height_pad, width_pad)) is built on the padded
     size: labels 0 / 1 / 2 on rows [0, Hp - w), [Hp - w, Hp - s), [Hp - s, Hp) (columns
     likewise, 9 regions), -100 where the labels of query and key differ.
  5. LayerNorm eps: embeddings.norm (SwinEmbeddings) and every downsample.norm
     (SwinPatchMerging, built with nn.LayerNorm's default) use 1e-5 whatever the config says;
     layernorm_before, layernorm_after and the final layernorm use config.layer_norm_eps.
  6. SwinPatchEmbeddings.maybe_pad zero-pads the image at the right / bottom to a multiple of
     patch_size; timm requires a multiple.
  7. Patch merging is the END of stage s (encoder.layers.{s}.downsample, s < n - 1), timm's is
     the start of stage s + 1 (layers.{s+1}.downsample): the same computation: zero-pad an odd
     H or W at the bottom / right, concatenate x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2],
     x[1::2, 1::2] along channels, LayerNorm(4C, eps 1e-5), reduction (no bias). Runtime size
     after merging is ceil(H / 2).
  8. The shifted-window state is sticky: set_shift_and_window_size overwrites the layer's
     shift_size and window_size, so after one forward at a size that clamps a stage, later
     forwards at larger sizes keep the clamped (unshifted) values. This module computes what a
     freshly loaded model computes on its first forward at the given size.
  9. use_absolute_embeddings=True cannot run in transformers (position_embeddings has
     num_patches + 1 rows, added to num_patches tokens); this module refuses it.
  Otherwise as timm: separate query / key / value, scores (q k^T) / sqrt(head_size) + bias
  (table[index], index[i][j] = (dy + w - 1) * (2w - 1) + (dx + w - 1) for query i, key j,
  dy = row_i - row_j), exact-erf GELU MLP of int(mlp_ratio * C) units, final layernorm, mean.
Swin V2 (transformers.models.swinv2.modeling_swinv2, as in 4.35 .. 4.5x; prefix `swinv2.` for
Swinv2ForImageClassification), compared with transformers' Swin and timm's swin_transformer_v2:
  1. Window and shift are fixed when the model is BUILT (Swinv2Layer._compute_window_shift), from
     the CONFIGURED stage resolution r_s = (image_size // patch_size) // 2**s (floor divisions;
     the runtime map is ceil(img / patch), then ceil(/2) per merge): window = min(r_s,
     config.window_size); shift = 0 if r_s <= window, else 0 for even blocks and
     config.window_size // 2 for odd ones. forward never changes them: the runtime map is
     zero-padded to a multiple of the layer's window whatever its size (smaller than the window
     too), so any input size runs. (Swin v1 decides from the runtime size; transformers 4.27's
     Swinv2 still re-ran set_shift_and_window_size in forward.) The CPB table, the index and the
     coordinate normalisation use the layer's (possibly clamped) window.
  2. Cosine attention per head: scores = cos(q_h, k_h) * exp(min(logit_scale_h, log(1 / 0.01)))
     + 16 * sigmoid(bias) (+ the shift mask TWICE, below), softmax, @ v; no 1/sqrt(d).
     cos uses F.normalize: v / max(||v||_2, 1e-12), so a zero key (every padded token: the
     input is padded before any projection and the key has no bias) has cos 0 with every query.
     logit_scale [nH, 1, 1] is a parameter.
  3. query and value are Linear with bias iff qkv_bias; key NEVER has a bias (no key.bias
     tensor). timm stores qkv.weight = [query; key; value], q_bias, v_bias.
  4. bias = continuous_position_bias_mlp (Linear(2, 512) with bias, ReLU, Linear(512, nH) without)
     applied to relative_coords_table, then [relative_position_index] (the same (dy, dx) index as
     Swin). The coordinates are computed in float32 (swinv2_coords_table): d / (p - 1) with
     p = pretrained_window_sizes[s] if p > 0, else d / (w - 1) if w > 1; times 8; then
     sign(t) * log2(|t| + 1) / log2(8). Both buffers are persistent=False: NOT in the state dict.
     pretrained_window_sizes (default [0, 0, 0, 0], read by stage index, may be longer than the
     number of stages) only rescales the coordinates.
  5. The shift mask (-100 where the regions differ, built on the padded map as Swin's) is added
     TWICE (two successive additions in Swinv2SelfAttention.forward); timm and the original code
     add it once. The two agree to rounding unless masked pairs compete at large logit scales.
  6. Residual post-norm: x = x + layernorm_before(attention(x)), then
     x = x + layernorm_after(output(intermediate(x))); nothing normalises the attention input.
     Pad first, then roll the padded map (as transformers' Swin; timm rolls then pads).
  7. Swinv2PatchMerging (end of stage s < n - 1): zero-pad an odd H or W, concatenate as Swin,
     reduction (4C -> 2C, no bias) THEN norm = LayerNorm(2C) (Swin v1: LayerNorm(4C) first).
  8. LayerNorm eps: embeddings.norm and downsample.norm 1e-5 (nn.LayerNorm's default),
     layernorm_before / layernorm_after / the final layernorm config.layer_norm_eps.
  9. Embeddings as Swin's (patch conv on the image zero-padded to a patch multiple, norm);
     use_absolute_embeddings cannot run (num_patches + 1 rows): refused. Swinv2Model's pooler is
     the mean over tokens of the final layernorm's output (features = pooler_output).
  timm's SwinTransformerV2 on the same weights equals this where nothing is padded, with the
  mask added once (self-check).

DINOv2 (modeling_dinov2.py) and DINOv2 with registers (modeling_dinov2_with_registers.py, >= 4.48):
  - Tokens [cls, registers (R), patches]. position_embeddings [1, 1 + N, D]: row 0 is added to
    the class token, rows 1.. to the patches; the register_tokens [1, R, D] are inserted after
    the class token AFTER the position embedding is added (Dinov2WithRegistersEmbeddings.forward),
    so they get no position row. timm's reg4 checkpoints fold row 0 into cls_token
    (no_embed_class); transformers keeps it separate.
  - interpolate_pos_encoding(embeddings, height, width) always runs in forward: it returns the
    table when (patch count == table rows - 1 and height == width), else the patch rows as a
    [1, D, n, n] map go through F.interpolate(float32 map, size=(height // p, width // p),
    mode="bicubic", align_corners=False) and are cast back; dinov2 passes NO antialias,
    dinov2_with_registers passes antialias=True (timm's resample_abs_pos_embed does too, so
    timm's dinov2 without registers differs from transformers' at other sizes). transformers
    < 4.45 used scale_factor=((g + 0.1) / n, ...) instead of size (PR 33226): different values.
  - Dinov2Layer: x + layer_scale1(attention(norm1(x))), then + layer_scale2(mlp(norm2(x)));
    layer_scale*.lambda1 [D] multiply. mlp: fc1 [int(D * mlp_ratio), D], ACT2FN[hidden_act], fc2;
    or with use_swiglu_ffn weights_in [2h, D] -> silu(first half) * second half -> weights_out
    [D, h], h = (int(int(D * mlp_ratio) * 2 / 3) + 7) // 8 * 8, hidden_act ignored.
  - LayerNorm eps = config.layer_norm_eps (default 1e-6) in norm1, norm2 and layernorm.
  - embeddings.mask_token [1, D] is in the state dict (dinov2: when use_mask_token, default True;
    registers: always) but only used with bool_masked_pos.
  - Dinov2Model: last_hidden_state = layernorm(all tokens), pooler_output = its token 0.
    *ForImageClassification (prefix `dinov2.` / `dinov2_with_registers.`): classifier
    [num_labels, 2D] on concat(token 0, mean of tokens 1 + R ..). transformers 4.48-4.51 took the
    mean over tokens 1.. (registers included; fixed by PR 37836 in 4.52).
CLIP (modeling_clip.py), CLIPVisionModel / CLIPVisionModelWithProjection / CLIPModel:
  - vision_model.embeddings: class_embedding [D], patch_embedding (conv, no bias),
    position_embedding (nn.Embedding, weight [N + 1, D]); tokens [cls, patches] + the table;
    then pre_layrnorm (sic), encoder.layers.{i}: x + self_attn(layer_norm1(x)) (q/k/v/out_proj
    with biases, scores (q k^T) * head_dim ** -0.5), x + mlp.fc2(act(mlp.fc1(layer_norm2(x)))),
    act = ACT2FN[hidden_act], default "quick_gelu" = x * sigmoid(1.702 x). LayerNorm eps
    config.layer_norm_eps (default 1e-5) everywhere.
  - last_hidden_state has NO final norm; pooler_output = post_layernorm(last_hidden_state[:, 0]);
    image_embeds = visual_projection(pooler_output) (no bias). CLIPModel.forward L2-normalises
    its image_embeds, get_image_features does not (this module returns the latter).
  - The input must be config.image_size unless interpolate_pos_encoding=True; then the patch
    rows are resampled as DINOv2's (size=(H // p, W // p), bicubic, align_corners=False, no
    antialias) but in the model's dtype (no float32 round trip); skipped when the patch count
    equals and H == W.
  - CLIPModel: visual_projection is [config.projection_dim, vision hidden]; the nested
    vision_config.projection_dim is not read. save_pretrained writes text_config / vision_config
    with only their non-default keys (to_diff_dict / recursive_diff_dict), so a loader must
    supply CLIPVisionConfig's defaults (hidden 768, intermediate 3072, 12 layers, 12 heads,
    image 224, patch 32, quick_gelu, eps 1e-5, 3 channels).

Image processors (slow, PIL path): see hf_preprocess() and its docstring.
"""
import json
import math
from dataclasses import dataclass, field, fields

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TRANSFORMERS_VERSION = "4.46.0"
MASK_VALUE = -100.0
TORCH_LN_DEFAULT_EPS = 1e-5  # nn.LayerNorm's default, used by Swin's embeddings.norm and downsample.norm


def activation(name):
    """transformers' ACT2FN for the names supported here."""
    if name == "gelu":
        return lambda x: F.gelu(x)  # GELUActivation: exact erf
    if name == "tanh":
        return torch.tanh
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)  # QuickGELUActivation (CLIP's default)
    raise ValueError(f"hidden_act {name!r} is not supported by this reference")


# =============================================================================================
# Configurations


@dataclass
class ViTConfig:
    """ViTConfig / DeiTConfig fields (model_type "vit" or "deit")."""
    model_type: str = "vit"
    hidden_size: int = 16
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    intermediate_size: int = 40
    hidden_act: str = "gelu"
    layer_norm_eps: float = 1e-12
    image_size: int = 32
    patch_size: int = 8
    num_channels: int = 3
    qkv_bias: bool = True
    encoder_stride: int = 16
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    initializer_range: float = 0.02
    id2label: dict = None             # {int: str}; None = the PretrainedConfig default (not written)
    pooler_output_size: int = None    # ViTConfig >= 4.48 only; None = hidden_size
    pooler_act: str = "tanh"          # ViTConfig >= 4.48 only

    @property
    def num_prefix(self):
        return 2 if self.model_type == "deit" else 1

    def grid(self):
        return self.image_size // self.patch_size

    @property
    def num_labels(self):
        return len(self.id2label) if self.id2label else 2


@dataclass
class SwinConfig:
    """SwinConfig fields."""
    image_size: int = 224
    patch_size: int = 4
    num_channels: int = 3
    embed_dim: int = 96
    depths: tuple = (2, 2, 6, 2)
    num_heads: tuple = (3, 6, 12, 24)
    window_size: int = 7
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    drop_path_rate: float = 0.1
    hidden_act: str = "gelu"
    use_absolute_embeddings: bool = False
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-5
    encoder_stride: int = 32
    path_norm: bool = True            # legacy key of the hub's Swin configs; transformers ignores it
    id2label: dict = None
    model_type: str = field(default="swin", init=False)

    def dim(self, s):
        return int(self.embed_dim * 2 ** s)

    @property
    def hidden_size(self):
        return self.dim(len(self.depths) - 1)

    @property
    def num_labels(self):
        return len(self.id2label) if self.id2label else 2

    def runtime_resolutions(self, img):
        """Stage (H, W) for a square img x img input: ceil(img / patch), then ceil(/2) per merge."""
        r = -(-img // self.patch_size)
        out = []
        for _ in self.depths:
            out.append(r)
            r = (r + 1) // 2
        return out

    def window_shift(self, b, H, W):
        """(window, shift) of block b at runtime size (H, W), as SwinLayer.set_shift_and_window_size
        leaves them on a freshly loaded model."""
        w = self.window_size
        s = 0 if b % 2 == 0 else self.window_size // 2
        if min(H, W) <= w:
            s = 0
            w = min(H, W)
        return w, s


@dataclass
class Swinv2Config:
    """Swinv2Config fields (model_type "swinv2"). pretrained_window_sizes defaults to
    transformers' [0, 0, 0, 0] whatever the number of stages (only entries 0 .. n-1 are read)."""
    image_size: int = 224
    patch_size: int = 4
    num_channels: int = 3
    embed_dim: int = 96
    depths: tuple = (2, 2, 6, 2)
    num_heads: tuple = (3, 6, 12, 24)
    window_size: int = 7
    pretrained_window_sizes: tuple = (0, 0, 0, 0)
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    drop_path_rate: float = 0.1
    hidden_act: str = "gelu"
    use_absolute_embeddings: bool = False
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-5
    encoder_stride: int = 32
    path_norm: bool = None            # legacy key copied from the hub's configs; never read
    id2label: dict = None
    model_type: str = field(default="swinv2", init=False)

    def dim(self, s):
        return int(self.embed_dim * 2 ** s)

    @property
    def hidden_size(self):
        return self.dim(len(self.depths) - 1)

    @property
    def num_labels(self):
        return len(self.id2label) if self.id2label else 2

    def configured_resolutions(self):
        """Swinv2Layer.input_resolution of each stage: (image_size // patch_size) // 2**s, with
        FLOOR divisions (the runtime map is ceil(img / patch), then ceil(/2) per merge)."""
        g = self.image_size // self.patch_size
        return [g // 2 ** s for s in range(len(self.depths))]

    def runtime_resolutions(self, img):
        """Stage (H, W) for a square img x img input: ceil(img / patch), then ceil(/2) per merge."""
        r = -(-img // self.patch_size)
        out = []
        for _ in self.depths:
            out.append(r)
            r = (r + 1) // 2
        return out

    def window_shift(self, s, b):
        """(window, shift) of block b of stage s, fixed when the model is built
        (Swinv2Layer._compute_window_shift on the CONFIGURED resolution r of the stage):
        window = min(r, config.window_size); shift = 0 if r <= window, else
        (0 if b is even else config.window_size // 2). The input size plays no part."""
        r = self.configured_resolutions()[s]
        w = min(r, self.window_size)
        target = 0 if b % 2 == 0 else self.window_size // 2
        return w, (0 if r <= w else target)


@dataclass
class Dinov2Config:
    """Dinov2Config (model_type "dinov2") or Dinov2WithRegistersConfig ("dinov2_with_registers").
    Defaults are transformers' own (what a loader must assume for a missing key); note
    patch_size: 14 for dinov2, 16 for dinov2_with_registers (None here = that default)."""
    model_type: str = "dinov2"
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    mlp_ratio: float = 4              # an int in transformers' signature (written as 4)
    hidden_act: str = "gelu"          # ignored when use_swiglu_ffn (the SwiGLU uses SiLU)
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-6
    image_size: int = 224
    patch_size: int = None
    num_channels: int = 3
    qkv_bias: bool = True
    layerscale_value: float = 1.0
    drop_path_rate: float = 0.0
    use_swiglu_ffn: bool = False
    use_mask_token: bool = True       # dinov2 only (the registers model always has mask_token)
    num_register_tokens: int = 4      # dinov2_with_registers only
    apply_layernorm: bool = True      # backbone-only keys
    reshape_hidden_states: bool = True
    id2label: dict = None

    def __post_init__(self):
        if self.model_type not in ("dinov2", "dinov2_with_registers"):
            raise ValueError(self.model_type)
        if self.patch_size is None:
            self.patch_size = 14 if self.model_type == "dinov2" else 16

    @property
    def registers(self):
        """Number of register tokens in the sequence (0 for dinov2)."""
        return self.num_register_tokens if self.model_type == "dinov2_with_registers" else 0

    @property
    def has_mask_token(self):
        return self.model_type == "dinov2_with_registers" or self.use_mask_token

    def grid(self):
        return self.image_size // self.patch_size

    @property
    def mlp_hidden(self):
        """Units of the MLP (Dinov2MLP) or of each SwiGLU half (Dinov2SwiGLUFFN)."""
        h = int(self.hidden_size * self.mlp_ratio)
        if self.use_swiglu_ffn:
            h = (int(h * 2 / 3) + 7) // 8 * 8
        return h

    @property
    def num_labels(self):
        return len(self.id2label) if self.id2label else 2


@dataclass
class CLIPVisionConfig:
    """CLIPVisionConfig fields and defaults (model_type "clip_vision_model")."""
    hidden_size: int = 768
    intermediate_size: int = 3072
    projection_dim: int = 512         # used by CLIPVisionModelWithProjection only
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    num_channels: int = 3
    image_size: int = 224
    patch_size: int = 32
    hidden_act: str = "quick_gelu"
    layer_norm_eps: float = 1e-5
    attention_dropout: float = 0.0
    initializer_range: float = 0.02
    initializer_factor: float = 1.0
    model_type: str = field(default="clip_vision_model", init=False)

    def grid(self):
        return self.image_size // self.patch_size


@dataclass
class CLIPTextConfig:
    """CLIPTextConfig fields and defaults (model_type "clip_text_model"); only its tensors'
    names and shapes are modelled."""
    vocab_size: int = 49408
    hidden_size: int = 512
    intermediate_size: int = 2048
    projection_dim: int = 512
    num_hidden_layers: int = 12
    num_attention_heads: int = 8
    max_position_embeddings: int = 77
    hidden_act: str = "quick_gelu"
    layer_norm_eps: float = 1e-5
    attention_dropout: float = 0.0
    initializer_range: float = 0.02
    initializer_factor: float = 1.0
    pad_token_id: int = 1
    bos_token_id: int = 49406
    eos_token_id: int = 49407
    model_type: str = field(default="clip_text_model", init=False)


@dataclass
class CLIPConfig:
    """CLIPConfig (model_type "clip"): nested text_config and vision_config. CLIPModel's
    visual_projection is [projection_dim, vision hidden_size] with THIS projection_dim, not
    vision_config.projection_dim (which CLIPModel never reads)."""
    text_config: CLIPTextConfig = None
    vision_config: CLIPVisionConfig = None
    projection_dim: int = 512
    logit_scale_init_value: float = 2.6592
    initializer_factor: float = 1.0   # CLIPConfig.__init__ always sets 1.0
    model_type: str = field(default="clip", init=False)

    def __post_init__(self):
        self.text_config = self.text_config or CLIPTextConfig()
        self.vision_config = self.vision_config or CLIPVisionConfig()

    @property
    def image_size(self):
        return self.vision_config.image_size

    @property
    def num_channels(self):
        return self.vision_config.num_channels


# =============================================================================================
# ViT and DeiT


class ViTPatchEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.image_size = cfg.image_size
        self.projection = nn.Conv2d(cfg.num_channels, cfg.hidden_size, cfg.patch_size, cfg.patch_size)

    def forward(self, x):
        if tuple(x.shape[-2:]) != (self.image_size, self.image_size):
            raise ValueError(f"input {tuple(x.shape[-2:])} is not config.image_size "
                             f"{self.image_size} (transformers refuses it too)")
        return self.projection(x).flatten(2).transpose(1, 2)  # row-major over the patch grid


class ViTEmbeddings(nn.Module):
    """ViTEmbeddings (1 prefix token) or DeiTEmbeddings (cls + distillation token)."""

    def __init__(self, cfg):
        super().__init__()
        D = cfg.hidden_size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        if cfg.model_type == "deit":
            self.distillation_token = nn.Parameter(torch.zeros(1, 1, D))
        self.patch_embeddings = ViTPatchEmbeddings(cfg)
        self.position_embeddings = nn.Parameter(torch.zeros(1, cfg.grid() ** 2 + cfg.num_prefix, D))

    def forward(self, x):
        t = self.patch_embeddings(x)
        B = t.shape[0]
        prefix = [self.cls_token.expand(B, -1, -1)]
        if hasattr(self, "distillation_token"):
            prefix.append(self.distillation_token.expand(B, -1, -1))
        return torch.cat(prefix + [t], dim=1) + self.position_embeddings


class ViTSelfAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D = cfg.hidden_size
        if D % cfg.num_attention_heads:
            raise ValueError("hidden_size is not a multiple of num_attention_heads")
        self.num_heads = cfg.num_attention_heads
        self.head_size = D // cfg.num_attention_heads
        self.query = nn.Linear(D, D, bias=cfg.qkv_bias)
        self.key = nn.Linear(D, D, bias=cfg.qkv_bias)
        self.value = nn.Linear(D, D, bias=cfg.qkv_bias)

    def forward(self, x):
        B, N, D = x.shape

        def heads(t):
            return t.reshape(B, N, self.num_heads, self.head_size).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_size)
        return (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, N, D)


class _Dense(nn.Module):
    """ViTSelfOutput / ViTIntermediate / ViTOutput / SwinSelfOutput / ...: one `dense` Linear."""

    def __init__(self, n_in, n_out, act=None):
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)
        self._act = activation(act) if act else None

    def forward(self, x):
        y = self.dense(x)
        return self._act(y) if self._act else y


class ViTAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attention = ViTSelfAttention(cfg)
        self.output = _Dense(cfg.hidden_size, cfg.hidden_size)

    def forward(self, x):
        return self.output(self.attention(x))


class ViTLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D = cfg.hidden_size
        self.attention = ViTAttention(cfg)
        self.intermediate = _Dense(D, cfg.intermediate_size, cfg.hidden_act)
        self.output = _Dense(cfg.intermediate_size, D)
        self.layernorm_before = nn.LayerNorm(D, eps=cfg.layer_norm_eps)
        self.layernorm_after = nn.LayerNorm(D, eps=cfg.layer_norm_eps)

    def forward(self, x):
        x = x + self.attention(self.layernorm_before(x))
        return x + self.output(self.intermediate(self.layernorm_after(x)))


class ViTEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layer = nn.ModuleList([ViTLayer(cfg) for _ in range(cfg.num_hidden_layers)])


class ViTPooler(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden_size, cfg.pooler_output_size or cfg.hidden_size)
        self._act = activation(cfg.pooler_act)

    def forward(self, lhs):
        return self._act(self.dense(lhs[:, 0]))


class ViTModel(nn.Module):
    """ViTModel (cfg.model_type "vit") or DeiTModel ("deit"); no prefix on the names."""

    def __init__(self, cfg, add_pooling_layer=True):
        super().__init__()
        self.cfg = cfg
        self.embeddings = ViTEmbeddings(cfg)
        self.encoder = ViTEncoder(cfg)
        self.layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.pooler = ViTPooler(cfg) if add_pooling_layer else None

    def forward(self, x):
        B, _, H, W = x.shape
        p = self.cfg.patch_size
        t = self.embeddings(x)
        for layer in self.encoder.layer:
            t = layer(t)
        out = {"stage0": t[:, self.cfg.num_prefix:].reshape(B, H // p, W // p, -1)}
        lhs = self.layernorm(t)
        out["last_hidden_state"] = lhs
        out["features"] = lhs[:, 0]
        if self.pooler is not None:
            out["pooler"] = self.pooler(lhs)
        return out


class ViTForImageClassification(nn.Module):
    """ViTForImageClassification / DeiTForImageClassification: base model under `vit.` /
    `deit.` (no pooler), `classifier` on the final layernorm's token 0."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.add_module(cfg.model_type, ViTModel(cfg, add_pooling_layer=False))
        self.classifier = nn.Linear(cfg.hidden_size, cfg.num_labels)

    def forward(self, x):
        out = getattr(self, self.cfg.model_type)(x)
        out["logits"] = self.classifier(out["last_hidden_state"][:, 0])
        return out


def DeiTModel(cfg, add_pooling_layer=True):
    assert cfg.model_type == "deit"
    return ViTModel(cfg, add_pooling_layer)


def DeiTForImageClassification(cfg):
    assert cfg.model_type == "deit"
    return ViTForImageClassification(cfg)


class DeiTForImageClassificationWithTeacher(nn.Module):
    """`deit.` (DeiTModel without pooler), `cls_classifier` on the final layernorm's token 0,
    `distillation_classifier` on token 1, logits = their mean (the inference path of
    DeiTForImageClassificationWithTeacher.forward). features = (token 0 + token 1) / 2 of the
    final layernorm's output: timm's distilled forward_head(pre_logits=True); note that the logits
    are NOT a single head applied to it (two different heads)."""

    def __init__(self, cfg):
        super().__init__()
        assert cfg.model_type == "deit"
        self.cfg = cfg
        self.deit = ViTModel(cfg, add_pooling_layer=False)
        self.cls_classifier = nn.Linear(cfg.hidden_size, cfg.num_labels)
        self.distillation_classifier = nn.Linear(cfg.hidden_size, cfg.num_labels)

    def forward(self, x):
        out = self.deit(x)
        lhs = out["last_hidden_state"]
        out["features"] = (lhs[:, 0] + lhs[:, 1]) / 2
        out["tokens"] = lhs
        out["logits"] = (self.cls_classifier(lhs[:, 0]) + self.distillation_classifier(lhs[:, 1])) / 2
        return out


# =============================================================================================
# Swin


def window_partition(x, w):
    """(B, H, W, C) -> (B * nW, w * w, C), windows row-major per image."""
    B, H, W, C = x.shape
    x = x.reshape(B, H // w, w, W // w, w, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, w * w, C)


def window_reverse(win, w, H, W):
    C = win.shape[-1]
    x = win.reshape(-1, H // w, W // w, w, w, C).permute(0, 1, 3, 2, 4, 5)
    return x.reshape(-1, H, W, C)


def relative_position_index(w):
    """int64 [w^2, w^2]: the persistent buffer SwinSelfAttention registers."""
    ys, xs = torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")
    ys, xs = ys.reshape(-1), xs.reshape(-1)
    dy = ys[:, None] - ys[None, :] + (w - 1)
    dx = xs[:, None] - xs[None, :] + (w - 1)
    return dy * (2 * w - 1) + dx


def shift_mask(Hp, Wp, w, s, dtype):
    """[nW, w^2, w^2] additive mask of the padded Hp x Wp map (SwinLayer.get_attn_mask)."""
    def labels(n):
        v = torch.arange(n)
        return torch.where(v < n - w, 0, torch.where(v < n - s, 1, 2))

    lab = (labels(Hp)[:, None] * 3 + labels(Wp)[None, :]).to(dtype)
    m = window_partition(lab[None, :, :, None], w).squeeze(-1)  # nW, N
    diff = m[:, None, :] - m[:, :, None]
    return torch.where(diff != 0, torch.full_like(diff, MASK_VALUE), torch.zeros_like(diff))


class SwinPatchEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.patch_size = cfg.patch_size
        self.projection = nn.Conv2d(cfg.num_channels, cfg.embed_dim, cfg.patch_size, cfg.patch_size)

    def forward(self, x):
        p = self.patch_size
        H, W = x.shape[-2:]
        x = F.pad(x, (0, (-W) % p, 0, (-H) % p))  # SwinPatchEmbeddings.maybe_pad
        y = self.projection(x)
        return y.flatten(2).transpose(1, 2), (y.shape[2], y.shape[3])


class SwinEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        if cfg.use_absolute_embeddings:
            raise ValueError("use_absolute_embeddings: transformers' Swin cannot run it "
                             "(position_embeddings has num_patches + 1 rows)")
        self.patch_embeddings = SwinPatchEmbeddings(cfg)
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=TORCH_LN_DEFAULT_EPS)  # not the config eps

    def forward(self, x):
        t, dims = self.patch_embeddings(x)
        return self.norm(t), dims


class SwinSelfAttention(nn.Module):
    def __init__(self, cfg, dim, num_heads):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not a multiple of num_heads {num_heads}")
        w = cfg.window_size  # always the configured window
        self.window_size = w
        self.num_heads = num_heads
        self.head_size = dim // num_heads
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * w - 1) ** 2, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(w))  # persistent
        self.query = nn.Linear(dim, dim, bias=cfg.qkv_bias)
        self.key = nn.Linear(dim, dim, bias=cfg.qkv_bias)
        self.value = nn.Linear(dim, dim, bias=cfg.qkv_bias)

    def forward(self, x, mask=None):
        Bw, N, C = x.shape
        n_tab = self.window_size ** 2
        if N != n_tab:
            raise ValueError(f"window of {N} tokens with a {n_tab}-token bias: transformers fails "
                             "here (runtime stage smaller than config.window_size)")
        nH, d = self.num_heads, self.head_size

        def heads(t):
            return t.reshape(Bw, N, nH, d).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d)
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]
        scores = scores + bias.reshape(N, N, nH).permute(2, 0, 1)[None]
        if mask is not None:
            nW = mask.shape[0]
            scores = (scores.reshape(Bw // nW, nW, nH, N, N) + mask[None, :, None]).reshape(Bw, nH, N, N)
        return (scores.softmax(-1) @ v).transpose(1, 2).reshape(Bw, N, C)


class SwinAttention(nn.Module):
    def __init__(self, cfg, dim, num_heads):
        super().__init__()
        self.add_module("self", SwinSelfAttention(cfg, dim, num_heads))
        self.output = _Dense(dim, dim)

    def forward(self, x, mask=None):
        return self.output(getattr(self, "self")(x, mask))


class SwinLayer(nn.Module):
    def __init__(self, cfg, dim, num_heads, block_index):
        super().__init__()
        self.cfg = cfg
        self.block_index = block_index
        hidden = int(cfg.mlp_ratio * dim)
        self.layernorm_before = nn.LayerNorm(dim, eps=cfg.layer_norm_eps)
        self.attention = SwinAttention(cfg, dim, num_heads)
        self.layernorm_after = nn.LayerNorm(dim, eps=cfg.layer_norm_eps)
        self.intermediate = _Dense(dim, hidden, cfg.hidden_act)
        self.output = _Dense(hidden, dim)

    def forward(self, x, H, W):
        B, L, C = x.shape
        w, s = self.cfg.window_shift(self.block_index, H, W)
        shortcut = x
        h = self.layernorm_before(x).reshape(B, H, W, C)
        ph, pw = (w - H % w) % w, (w - W % w) % w
        h = F.pad(h, (0, 0, 0, pw, 0, ph))                 # pad first ...
        Hp, Wp = H + ph, W + pw
        if s:
            h = torch.roll(h, shifts=(-s, -s), dims=(1, 2))  # ... then shift the padded map
        mask = shift_mask(Hp, Wp, w, s, h.dtype) if s else None
        a = self.attention(window_partition(h, w), mask)
        a = window_reverse(a, w, Hp, Wp)
        if s:
            a = torch.roll(a, shifts=(s, s), dims=(1, 2))
        a = a[:, :H, :W].reshape(B, H * W, C)
        x = shortcut + a
        return x + self.output(self.intermediate(self.layernorm_after(x)))


def merge_neighbours(x, H, W):
    """[B, H*W, C] -> [B, ceil(H/2)*ceil(W/2), 4C]: an odd H / W zero-padded, then x[0::2, 0::2],
    x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2] concatenated (Swin(v2)PatchMerging)."""
    B, L, C = x.shape
    x = F.pad(x.reshape(B, H, W, C), (0, 0, 0, W % 2, 0, H % 2))
    x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
    return x.reshape(B, -1, 4 * C)


class SwinPatchMerging(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim, eps=TORCH_LN_DEFAULT_EPS)  # not the config eps

    def forward(self, x, H, W):
        return self.reduction(self.norm(merge_neighbours(x, H, W)))


class SwinStage(nn.Module):
    def __init__(self, cfg, s):
        super().__init__()
        dim = cfg.dim(s)
        self.blocks = nn.ModuleList([SwinLayer(cfg, dim, cfg.num_heads[s], b) for b in range(cfg.depths[s])])
        self.downsample = SwinPatchMerging(dim) if s < len(cfg.depths) - 1 else None


class SwinEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList([SwinStage(cfg, s) for s in range(len(cfg.depths))])


class SwinModel(nn.Module):
    """SwinModel (no prefix); its pooler (AdaptiveAvgPool1d) has no weights."""

    def __init__(self, cfg, add_pooling_layer=True, encoder=SwinEncoder):
        super().__init__()
        self.cfg = cfg
        self.embeddings = SwinEmbeddings(cfg)
        self.encoder = encoder(cfg)
        self.layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, x, interpolate_pos_encoding=False):  # the flag: absolute embeddings only
        t, (H, W) = self.embeddings(x)
        B = t.shape[0]
        out = {}
        for s, stage in enumerate(self.encoder.layers):
            for blk in stage.blocks:
                t = blk(t, H, W)
            out[f"stage{s}"] = t.reshape(B, H, W, -1)
            if stage.downsample is not None:
                t = stage.downsample(t, H, W)
                H, W = (H + 1) // 2, (W + 1) // 2
        lhs = self.layernorm(t)
        out["last_hidden_state"] = lhs
        out["features"] = lhs.mean(dim=1)
        return out


class SwinForImageClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.swin = SwinModel(cfg)
        self.classifier = nn.Linear(cfg.hidden_size, cfg.num_labels)

    def forward(self, x):
        out = self.swin(x)
        out["logits"] = self.classifier(out["features"])
        return out


# =============================================================================================
# Swin V2 (transformers' Swinv2*)


def swinv2_coords_table(w, pretrained):
    """Swinv2SelfAttention.relative_coords_table as [(2w - 1)^2, 2] (a non-persistent buffer):
    row (dy + w - 1) * (2w - 1) + (dx + w - 1) holds (f(dy), f(dx)) for dy, dx in [-(w-1), w-1],
    f(d) = sign(t) * log2(|t| + 1) / log2(8) with t = 8 * d / (pretrained - 1) if pretrained > 0,
    else 8 * d / (w - 1) if w > 1, else 8 * d. Always computed in float32 (transformers builds it
    from .float() coordinates and only then casts it to the parameters' dtype)."""
    if pretrained == 1:
        raise ValueError("pretrained_window_size 1: transformers divides by 0 (NaN bias)")
    d = torch.arange(-(w - 1), w, dtype=torch.float32)
    t = torch.stack(torch.meshgrid(d, d, indexing="ij"), -1)  # [2w-1, 2w-1, 2] = (dy, dx)
    if pretrained > 0:
        t = t / (pretrained - 1)
    elif w > 1:
        t = t / (w - 1)
    t = t * 8
    t = torch.sign(t) * torch.log2(t.abs() + 1.0) / math.log2(8)
    return t.reshape(-1, 2)


def _unit(t):
    """F.normalize(t, dim=-1): t / max(||t||_2, 1e-12) (a zero vector stays zero)."""
    return t / t.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def swinv2_add_mask(scores, mask):
    """Swinv2SelfAttention adds the [nW, N, N] shift mask TWICE (two successive additions, so a
    masked pair gets (s - 100) - 100); Swin v1, timm and the original code add it once."""
    nW = mask.shape[0]
    Bw, nH, N, _ = scores.shape
    s = scores.reshape(Bw // nW, nW, nH, N, N) + mask[None, :, None]
    s = s + mask[None, :, None]
    return s.reshape(Bw, nH, N, N)


def swinv2_add_mask_once(scores, mask):
    """The shift mask added once (Swin v1's, timm's and the original code's way): not what
    transformers' Swinv2 computes; for the self-checks and the generator's notes."""
    nW = mask.shape[0]
    Bw, nH, N, _ = scores.shape
    return (scores.reshape(Bw // nW, nW, nH, N, N) + mask[None, :, None]).reshape(Bw, nH, N, N)


class Swinv2SelfAttention(nn.Module):
    LOGIT_SCALE_MAX = math.log(1.0 / 0.01)  # = log(100)

    def __init__(self, cfg, dim, num_heads, window, pretrained_window):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not a multiple of num_heads {num_heads}")
        self.window_size = window  # this layer's (possibly clamped) window
        self.num_heads = num_heads
        self.head_size = dim // num_heads
        self.logit_scale = nn.Parameter(torch.full((num_heads, 1, 1), math.log(10.0)))
        self.continuous_position_bias_mlp = nn.Sequential(
            nn.Linear(2, 512), nn.ReLU(), nn.Linear(512, num_heads, bias=False))
        self.register_buffer("relative_coords_table", swinv2_coords_table(window, pretrained_window),
                             persistent=False)
        self.register_buffer("relative_position_index", relative_position_index(window),
                             persistent=False)
        self.query = nn.Linear(dim, dim, bias=cfg.qkv_bias)
        self.key = nn.Linear(dim, dim, bias=False)  # never a key bias
        self.value = nn.Linear(dim, dim, bias=cfg.qkv_bias)

    def position_bias(self):
        """[nH, N, N]: 16 * sigmoid(cpb_mlp(coords)[index])."""
        N = self.window_size ** 2
        table = self.continuous_position_bias_mlp(self.relative_coords_table)  # [(2w-1)^2, nH]
        b = table[self.relative_position_index.reshape(-1)].reshape(N, N, self.num_heads)
        return 16 * torch.sigmoid(b.permute(2, 0, 1))

    def forward(self, x, mask=None):
        Bw, N, C = x.shape
        nH, d = self.num_heads, self.head_size

        def heads(t):
            return t.reshape(Bw, N, nH, d).transpose(1, 2)

        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        scores = _unit(q) @ _unit(k).transpose(-1, -2)  # cosine similarity, no 1/sqrt(d)
        scores = scores * torch.clamp(self.logit_scale, max=self.LOGIT_SCALE_MAX).exp()
        scores = scores + self.position_bias()[None]
        if mask is not None:
            scores = swinv2_add_mask(scores, mask)
        return (scores.softmax(-1) @ v).transpose(1, 2).reshape(Bw, N, C)


class Swinv2Attention(nn.Module):
    def __init__(self, cfg, dim, num_heads, window, pretrained_window):
        super().__init__()
        self.add_module("self", Swinv2SelfAttention(cfg, dim, num_heads, window, pretrained_window))
        self.output = _Dense(dim, dim)

    def forward(self, x, mask=None):
        return self.output(getattr(self, "self")(x, mask))


class Swinv2Layer(nn.Module):
    """Block b of stage s. Window and shift are fixed here, from the configured stage resolution
    (cfg.window_shift); the runtime map is padded to a multiple of that window, whatever its size.
    Residual post-norm: x + LN_before(attn(x)), then x + LN_after(mlp(x))."""

    def __init__(self, cfg, dim, num_heads, s, b):
        super().__init__()
        self.window_size, self.shift_size = cfg.window_shift(s, b)
        hidden = int(cfg.mlp_ratio * dim)
        self.attention = Swinv2Attention(cfg, dim, num_heads, self.window_size,
                                         cfg.pretrained_window_sizes[s])
        self.layernorm_before = nn.LayerNorm(dim, eps=cfg.layer_norm_eps)
        self.intermediate = _Dense(dim, hidden, cfg.hidden_act)
        self.output = _Dense(hidden, dim)
        self.layernorm_after = nn.LayerNorm(dim, eps=cfg.layer_norm_eps)

    def forward(self, x, H, W):
        B, L, C = x.shape
        w, s = self.window_size, self.shift_size
        h = x.reshape(B, H, W, C)                           # no norm before attention
        ph, pw = (w - H % w) % w, (w - W % w) % w
        h = F.pad(h, (0, 0, 0, pw, 0, ph))                 # pad first ...
        Hp, Wp = H + ph, W + pw
        if s:
            h = torch.roll(h, shifts=(-s, -s), dims=(1, 2))  # ... then shift the padded map
        mask = shift_mask(Hp, Wp, w, s, h.dtype) if s else None
        a = self.attention(window_partition(h, w), mask)
        a = window_reverse(a, w, Hp, Wp)
        if s:
            a = torch.roll(a, shifts=(s, s), dims=(1, 2))
        a = a[:, :H, :W].reshape(B, H * W, C)
        x = x + self.layernorm_before(a)
        return x + self.layernorm_after(self.output(self.intermediate(x)))


class Swinv2PatchMerging(nn.Module):
    """Zero-pad an odd H / W, concat x[0::2, 0::2], x[1::2, 0::2], x[0::2, 1::2], x[1::2, 1::2],
    reduction (4C -> 2C, no bias), THEN LayerNorm(2C, eps 1e-5) (Swin v1 normalises the 4C input)."""

    def __init__(self, dim):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(2 * dim, eps=TORCH_LN_DEFAULT_EPS)  # not the config eps

    def forward(self, x, H, W):
        return self.norm(self.reduction(merge_neighbours(x, H, W)))


class Swinv2Stage(nn.Module):
    def __init__(self, cfg, s):
        super().__init__()
        dim = cfg.dim(s)
        self.blocks = nn.ModuleList([Swinv2Layer(cfg, dim, cfg.num_heads[s], s, b)
                                     for b in range(cfg.depths[s])])
        self.downsample = Swinv2PatchMerging(dim) if s < len(cfg.depths) - 1 else None


class Swinv2Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList([Swinv2Stage(cfg, s) for s in range(len(cfg.depths))])


class Swinv2Model(SwinModel):
    """Swinv2Model (no prefix): SwinModel with Swinv2's stages. SwinEmbeddings' computation and
    names (patch conv with the image zero-padded to a patch multiple, LayerNorm eps 1e-5), the
    stages, `layernorm` (config eps) and the AdaptiveAvgPool1d pooler (no weights): features =
    pooler_output."""

    def __init__(self, cfg, add_pooling_layer=True):
        if len(cfg.pretrained_window_sizes) < len(cfg.depths):
            raise ValueError("pretrained_window_sizes has fewer entries than stages")
        if min(cfg.configured_resolutions()) < 1:
            raise ValueError(f"configured stage resolutions {cfg.configured_resolutions()}: a stage "
                             "of size 0 gets window 0 (transformers fails)")
        super().__init__(cfg, add_pooling_layer, encoder=Swinv2Encoder)


class Swinv2ForImageClassification(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.swinv2 = Swinv2Model(cfg)
        self.classifier = nn.Linear(cfg.hidden_size, cfg.num_labels)

    def forward(self, x, interpolate_pos_encoding=False):
        out = self.swinv2(x)
        out["logits"] = self.classifier(out["features"])
        return out


# =============================================================================================
# Position-table resampling (DINOv2, DINOv2 with registers, CLIP)


def resample_patch_table(table, new_h, new_w, antialias, in_float32):
    """[1, n*n, D] patch rows -> [1, new_h*new_w, D]: F.interpolate(size=(new_h, new_w),
    mode="bicubic", align_corners=False, antialias=antialias) on the [1, D, n, n] map, computed in
    float32 and cast back (in_float32, DINOv2) or in the table's own dtype (CLIP)."""
    n = int(table.shape[1] ** 0.5)
    if n * n != table.shape[1]:
        raise ValueError("position table is not square")
    D = table.shape[-1]
    dt = table.dtype
    t = table.reshape(1, n, n, D).permute(0, 3, 1, 2)
    if in_float32:
        t = t.to(torch.float32)
    t = F.interpolate(t, size=(new_h, new_w), mode="bicubic", align_corners=False, antialias=antialias)
    return t.to(dt).permute(0, 2, 3, 1).reshape(1, new_h * new_w, D)


# =============================================================================================
# DINOv2 and DINOv2 with registers


class Dinov2PatchEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.projection = nn.Conv2d(cfg.num_channels, cfg.hidden_size, cfg.patch_size, cfg.patch_size)

    def forward(self, x):  # any input size: the strided conv floors H / p and W / p
        return self.projection(x).flatten(2).transpose(1, 2)


class Dinov2Embeddings(nn.Module):
    """Dinov2Embeddings / Dinov2WithRegistersEmbeddings. Tokens [cls, (registers), patches]:
    position row 0 goes to the class token, rows 1.. to the patches, nothing to the registers
    (they are inserted after the position embedding is added)."""

    def __init__(self, cfg):
        super().__init__()
        D = cfg.hidden_size
        self.cfg = cfg
        self.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        if cfg.has_mask_token:
            self.mask_token = nn.Parameter(torch.zeros(1, D))  # [1, D]; used only with bool_masked_pos
        if cfg.registers:
            self.register_tokens = nn.Parameter(torch.zeros(1, cfg.registers, D))
        self.patch_embeddings = Dinov2PatchEmbeddings(cfg)
        self.position_embeddings = nn.Parameter(torch.zeros(1, cfg.grid() ** 2 + 1, D))

    def interpolate_pos_encoding(self, num_patches, H, W):
        """Dinov2(WithRegisters)Embeddings.interpolate_pos_encoding: the table itself when the
        patch count equals the table's and H == W; else the patch rows resampled to
        (H // p, W // p) by bicubic in float32 (dinov2: no antialias; dinov2_with_registers:
        antialias=True), the class row kept."""
        pos = self.position_embeddings
        if num_patches == pos.shape[1] - 1 and H == W:
            return pos
        p = self.cfg.patch_size
        patches = resample_patch_table(pos[:, 1:], H // p, W // p,
                                       antialias=self.cfg.model_type == "dinov2_with_registers",
                                       in_float32=True)
        return torch.cat([pos[:, :1], patches], dim=1)

    def forward(self, x):
        B, _, H, W = x.shape
        t = self.patch_embeddings(x)
        t = torch.cat([self.cls_token.expand(B, -1, -1), t], dim=1)
        t = t + self.interpolate_pos_encoding(t.shape[1] - 1, H, W)
        if self.cfg.registers:
            t = torch.cat([t[:, :1], self.register_tokens.expand(B, -1, -1), t[:, 1:]], dim=1)
        return t


class Dinov2LayerScale(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.lambda1 = nn.Parameter(cfg.layerscale_value * torch.ones(cfg.hidden_size))

    def forward(self, x):
        return x * self.lambda1


class Dinov2MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.fc1 = nn.Linear(cfg.hidden_size, cfg.mlp_hidden)
        self.fc2 = nn.Linear(cfg.mlp_hidden, cfg.hidden_size)
        self._act = activation(cfg.hidden_act)

    def forward(self, x):
        return self.fc2(self._act(self.fc1(x)))


class Dinov2SwiGLUFFN(nn.Module):
    """weights_in [2h, D] -> (x1, x2) = the two halves (x1 first), silu(x1) * x2 -> weights_out
    [D, h], h = (int(int(D * mlp_ratio) * 2 / 3) + 7) // 8 * 8. config.hidden_act is ignored."""

    def __init__(self, cfg):
        super().__init__()
        h = cfg.mlp_hidden
        self.weights_in = nn.Linear(cfg.hidden_size, 2 * h)
        self.weights_out = nn.Linear(h, cfg.hidden_size)

    def forward(self, x):
        x1, x2 = self.weights_in(x).chunk(2, dim=-1)
        return self.weights_out(F.silu(x1) * x2)


class Dinov2Layer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D = cfg.hidden_size
        self.norm1 = nn.LayerNorm(D, eps=cfg.layer_norm_eps)
        self.attention = ViTAttention(cfg)  # attention.{query,key,value}, output.dense
        self.layer_scale1 = Dinov2LayerScale(cfg)
        self.norm2 = nn.LayerNorm(D, eps=cfg.layer_norm_eps)
        self.mlp = Dinov2SwiGLUFFN(cfg) if cfg.use_swiglu_ffn else Dinov2MLP(cfg)
        self.layer_scale2 = Dinov2LayerScale(cfg)

    def forward(self, x):
        x = x + self.layer_scale1(self.attention(self.norm1(x)))
        return x + self.layer_scale2(self.mlp(self.norm2(x)))


class Dinov2Encoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layer = nn.ModuleList([Dinov2Layer(cfg) for _ in range(cfg.num_hidden_layers)])


class Dinov2Model(nn.Module):
    """Dinov2Model / Dinov2WithRegistersModel (no prefix). last_hidden_state = tokens = the final
    layernorm's output [B, 1 + R + N, D]; features = pooler_output = its token 0."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embeddings = Dinov2Embeddings(cfg)
        self.encoder = Dinov2Encoder(cfg)
        self.layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, x, interpolate_pos_encoding=None):  # DINOv2 always interpolates when needed
        t = self.embeddings(x)
        for layer in self.encoder.layer:
            t = layer(t)
        lhs = self.layernorm(t)
        return {"features": lhs[:, 0], "last_hidden_state": lhs, "tokens": lhs}


def Dinov2WithRegistersModel(cfg):
    assert cfg.model_type == "dinov2_with_registers"
    return Dinov2Model(cfg)


class Dinov2ForImageClassification(nn.Module):
    """Dinov2ForImageClassification (`dinov2.` prefix) / Dinov2WithRegistersForImageClassification
    (`dinov2_with_registers.` prefix): classifier [num_labels, 2D] on
    concat(token 0, mean of the patch tokens) of the final layernorm's output; the mean skips the
    class token and the R register tokens (tokens 1 + R ..)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.add_module(cfg.model_type, Dinov2Model(cfg))
        self.classifier = nn.Linear(2 * cfg.hidden_size, cfg.num_labels)

    def forward(self, x, interpolate_pos_encoding=None):
        out = getattr(self, self.cfg.model_type)(x)
        lhs = out["last_hidden_state"]
        out["features"] = torch.cat([lhs[:, 0], lhs[:, 1 + self.cfg.registers:].mean(dim=1)], dim=1)
        out["logits"] = self.classifier(out["features"])
        return out


def Dinov2WithRegistersForImageClassification(cfg):
    assert cfg.model_type == "dinov2_with_registers"
    return Dinov2ForImageClassification(cfg)


# =============================================================================================
# CLIP (vision tower; the text tower's tensors only)


class CLIPVisionEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D = cfg.hidden_size
        self.cfg = cfg
        self.class_embedding = nn.Parameter(torch.zeros(D))                       # [D]
        self.patch_embedding = nn.Conv2d(cfg.num_channels, D, cfg.patch_size, cfg.patch_size,
                                         bias=False)
        self.position_embedding = nn.Embedding(cfg.grid() ** 2 + 1, D)           # weight [N+1, D]
        # position_ids: a NON-persistent buffer (not in the state dict) since transformers 4.31

    def interpolate_pos_encoding(self, num_patches, H, W):
        """CLIPVisionEmbeddings.interpolate_pos_encoding: the table when the patch count equals
        and H == W, else the patch rows bicubic-resampled to (H // p, W // p), no antialias, in
        the model's dtype (no float32 round trip)."""
        pos = self.position_embedding.weight[None]
        if num_patches == pos.shape[1] - 1 and H == W:
            return pos
        p = self.cfg.patch_size
        patches = resample_patch_table(pos[:, 1:], H // p, W // p, antialias=False, in_float32=False)
        return torch.cat([pos[:, :1], patches], dim=1)

    def forward(self, x, interpolate_pos_encoding=False):
        B, _, H, W = x.shape
        S = self.cfg.image_size
        if not interpolate_pos_encoding and (H, W) != (S, S):
            raise ValueError(f"input {H}x{W} is not config.image_size {S} and "
                             "interpolate_pos_encoding is False (transformers refuses it too)")
        t = self.patch_embedding(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.class_embedding.expand(B, 1, -1), t], dim=1)
        if interpolate_pos_encoding:
            return t + self.interpolate_pos_encoding(t.shape[1] - 1, H, W)
        return t + self.position_embedding.weight[None]


class CLIPAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        D = cfg.hidden_size
        if D % cfg.num_attention_heads:
            raise ValueError("hidden_size is not a multiple of num_attention_heads")
        self.num_heads = cfg.num_attention_heads
        self.head_dim = D // cfg.num_attention_heads
        self.scale = self.head_dim ** -0.5
        self.k_proj = nn.Linear(D, D)  # declaration order of transformers: k, v, q, out
        self.v_proj = nn.Linear(D, D)
        self.q_proj = nn.Linear(D, D)
        self.out_proj = nn.Linear(D, D)

    def forward(self, x):
        B, N, D = x.shape

        def heads(t):
            return t.reshape(B, N, self.num_heads, self.head_dim).transpose(1, 2)

        q, k, v = heads(self.q_proj(x)), heads(self.k_proj(x)), heads(self.v_proj(x))
        a = ((q @ k.transpose(-1, -2)) * self.scale).softmax(-1) @ v
        return self.out_proj(a.transpose(1, 2).reshape(B, N, D))


class CLIPMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.fc1 = nn.Linear(cfg.hidden_size, cfg.intermediate_size)
        self.fc2 = nn.Linear(cfg.intermediate_size, cfg.hidden_size)
        self._act = activation(cfg.hidden_act)

    def forward(self, x):
        return self.fc2(self._act(self.fc1(x)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = CLIPAttention(cfg)
        self.layer_norm1 = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.mlp = CLIPMLP(cfg)
        self.layer_norm2 = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp(self.layer_norm2(x))


class CLIPEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])


class CLIPVisionTransformer(nn.Module):
    """embeddings -> pre_layrnorm (sic) -> encoder.layers -> last_hidden_state (NO final norm);
    pooler_output = post_layernorm(last_hidden_state[:, 0]). tokens (libswin's token map) =
    post_layernorm applied to every token."""

    def __init__(self, cfg):
        super().__init__()
        self.embeddings = CLIPVisionEmbeddings(cfg)
        self.pre_layrnorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.encoder = CLIPEncoder(cfg)
        self.post_layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, x, interpolate_pos_encoding=False):
        t = self.pre_layrnorm(self.embeddings(x, interpolate_pos_encoding))
        for layer in self.encoder.layers:
            t = layer(t)
        return {"features": self.post_layernorm(t[:, 0]), "last_hidden_state": t,
                "tokens": self.post_layernorm(t)}


class CLIPVisionModel(nn.Module):
    """CLIPVisionModel: `vision_model.` prefix; features = pooler_output."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.vision_model = CLIPVisionTransformer(cfg)

    def forward(self, x, interpolate_pos_encoding=False):
        return self.vision_model(x, interpolate_pos_encoding)


class CLIPVisionModelWithProjection(nn.Module):
    """`vision_model.` + visual_projection [vision projection_dim, D] (no bias); logits =
    image_embeds = visual_projection(pooler_output) (not normalised)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.vision_model = CLIPVisionTransformer(cfg)
        self.visual_projection = nn.Linear(cfg.hidden_size, cfg.projection_dim, bias=False)

    def forward(self, x, interpolate_pos_encoding=False):
        out = self.vision_model(x, interpolate_pos_encoding)
        out["logits"] = self.visual_projection(out["features"])
        return out


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.position_embedding = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)


class CLIPTextTransformer(nn.Module):
    """Names and shapes only (libswin ignores the text tower): no forward."""

    def __init__(self, cfg):
        super().__init__()
        self.embeddings = CLIPTextEmbeddings(cfg)
        self.encoder = CLIPEncoder(cfg)
        self.final_layer_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)


class CLIPModel(nn.Module):
    """text_model.*, vision_model.*, visual_projection [projection_dim, Dv], text_projection
    [projection_dim, Dt] (no biases), logit_scale (a 0-d tensor). logits = image_embeds =
    get_image_features = visual_projection(pooler_output), NOT L2-normalised (CLIPModel.forward
    normalises its image_embeds; get_image_features does not)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.text_model = CLIPTextTransformer(cfg.text_config)
        self.vision_model = CLIPVisionTransformer(cfg.vision_config)
        self.visual_projection = nn.Linear(cfg.vision_config.hidden_size, cfg.projection_dim, bias=False)
        self.text_projection = nn.Linear(cfg.text_config.hidden_size, cfg.projection_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(cfg.logit_scale_init_value))

    def forward(self, x, interpolate_pos_encoding=False):
        out = self.vision_model(x, interpolate_pos_encoding)
        out["logits"] = self.visual_projection(out["features"])
        return out


# =============================================================================================
# Weights and config.json


TOKEN_LEAVES = ("cls_token", "distillation_token", "position_embeddings",
                "relative_position_bias_table", "mask_token", "register_tokens", "class_embedding")


def randomize_(model, seed_or_gen):
    """Every parameter random, in float32, from a fixed generator (named_parameters order):
    LayerNorm gains 1 + 0.1 N and biases 0.1 N; cls_token, distillation_token, mask_token,
    register_tokens, class_embedding, position_embeddings, relative_position_bias_table and
    CLIP's position_embedding.weight tables 0.5 N; layer-scale lambda1 1 + 0.1 N; CLIP's
    logit_scale 2.6592 + 0.1 N; Swinv2's per-head logit_scale [nH, 1, 1] uniform in
    [log 3, log 300] (Phi(N) mapped onto the interval: about a quarter of the heads lie above the
    log 100 clamp); other biases 0.1 N; weights (token_embedding and the continuous position
    bias MLP included) N / sqrt(fan_in). Buffers (relative_position_index, Swinv2's
    relative_coords_table) are left alone."""
    g = seed_or_gen
    if not isinstance(g, torch.Generator):
        g = torch.Generator().manual_seed(int(seed_or_gen))
    norms = {n for n, m in model.named_modules() if isinstance(m, nn.LayerNorm)}
    cosine = {n: m.head_size for n, m in model.named_modules() if isinstance(m, Swinv2SelfAttention)}
    last_cosine = list(cosine)[-1] if cosine else None
    pos_tables = {n for n, m in model.named_modules()
                  if isinstance(m, nn.Embedding) and n.rsplit(".", 1)[-1] == "position_embedding"}
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            owner, leaf = name.rsplit(".", 1) if "." in name else ("", name)
            if owner in norms:
                v = 1 + 0.1 * r if leaf == "weight" else 0.1 * r
            elif leaf in TOKEN_LEAVES or owner in pos_tables:
                v = 0.5 * r
            elif leaf == "lambda1":
                v = 1 + 0.1 * r
            elif leaf == "logit_scale" and owner in cosine:
                u = 0.5 * (1 + torch.erf(r / math.sqrt(2)))  # uniform in (0, 1)
                lo, hi = (3, 300) if cosine[owner] == 1 else (1, 10)
                v = math.log(lo) + (math.log(hi) - math.log(lo)) * u
                if owner == last_cosine and cosine[owner] > 1:
                    v[0] = math.log(300) + 0.1 * r[0]  # one head of the last block past the clamp
            elif leaf == "logit_scale":
                v = 2.6592 + 0.1 * r
            elif leaf == "bias":
                v = 0.1 * r
            else:
                v = r / math.sqrt(p[0].numel())
            p.copy_(v)


def hub_order(sd):
    """(name, tensor) in the order the safetensors library writes them (save_pretrained): by
    dtype, widest alignment first (I64 before F32), then by name."""
    return sorted(sd.items(), key=lambda kv: (0 if kv[1].dtype == torch.int64 else 1, kv[0]))


SAFETENSORS_METADATA = {"format": "pt"}  # what transformers' save_pretrained writes


def _labels(cfg):
    if not cfg.id2label:
        return {}
    id2label = {int(k): v for k, v in cfg.id2label.items()}
    return {"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}}


def config_dict(cfg, architecture, version=TRANSFORMERS_VERSION, name_or_path=None,
                problem_type=None):
    """What PretrainedConfig.save_pretrained writes (to_diff_dict): every field of the config
    class (they are not in PretrainedConfig's defaults), and of PretrainedConfig's own keys only
    those that differ from its defaults: architectures, id2label / label2id (classifiers),
    torch_dtype "float32" (set by the model's save_pretrained), plus model_type and
    transformers_version (always)."""
    d = {}
    if name_or_path:
        d["_name_or_path"] = name_or_path
    d["architectures"] = [architecture]
    if isinstance(cfg, (Dinov2Config, CLIPVisionConfig, CLIPConfig)):
        d.update(_new_model_fields(cfg))
        d.update(_labels(cfg) if isinstance(cfg, Dinov2Config) else {})
        if problem_type:
            d["problem_type"] = problem_type
        d["model_type"] = cfg.model_type
        d["torch_dtype"] = "float32"
        d["transformers_version"] = version
        return d
    common = dict(attention_probs_dropout_prob=cfg.attention_probs_dropout_prob,
                  encoder_stride=cfg.encoder_stride, hidden_act=cfg.hidden_act,
                  hidden_dropout_prob=cfg.hidden_dropout_prob, image_size=cfg.image_size,
                  initializer_range=cfg.initializer_range, layer_norm_eps=cfg.layer_norm_eps,
                  num_channels=cfg.num_channels, patch_size=cfg.patch_size, qkv_bias=cfg.qkv_bias)
    d.update(common)
    if cfg.model_type in ("vit", "deit"):
        d.update(hidden_size=cfg.hidden_size, intermediate_size=cfg.intermediate_size,
                 num_attention_heads=cfg.num_attention_heads,
                 num_hidden_layers=cfg.num_hidden_layers)
        if cfg.model_type == "vit" and tuple(int(x) for x in version.split(".")[:2]) >= (4, 48):
            d.update(pooler_act=cfg.pooler_act,
                     pooler_output_size=cfg.pooler_output_size or cfg.hidden_size)
    elif cfg.model_type in ("swin", "swinv2"):
        n = len(cfg.depths)
        d.update(depths=list(cfg.depths), drop_path_rate=cfg.drop_path_rate,
                 embed_dim=cfg.embed_dim, hidden_size=cfg.hidden_size,
                 mlp_ratio=float(cfg.mlp_ratio), num_heads=list(cfg.num_heads), num_layers=n,
                 out_features=[f"stage{n}"], out_indices=[n],
                 stage_names=["stem"] + [f"stage{i}" for i in range(1, n + 1)],
                 use_absolute_embeddings=cfg.use_absolute_embeddings,
                 window_size=cfg.window_size)
        if cfg.model_type == "swinv2":
            d["pretrained_window_sizes"] = list(cfg.pretrained_window_sizes)
        if cfg.path_norm is not None:
            d["path_norm"] = cfg.path_norm
    else:
        raise ValueError(cfg.model_type)
    d.update(_labels(cfg))
    if problem_type:
        d["problem_type"] = problem_type
    d["model_type"] = cfg.model_type
    d["torch_dtype"] = "float32"
    d["transformers_version"] = version
    return d


def _init_fields(cls):
    return [f.name for f in fields(cls) if f.init and f.name not in ("model_type", "id2label")]


def _diff_fields(cfg):
    """A nested sub-config as PretrainedConfig.to_diff_dict writes it (recursive_diff_dict): only
    the fields whose value differs from the sub-config class's default, plus model_type."""
    default = type(cfg)()
    d = {k: getattr(cfg, k) for k in _init_fields(type(cfg)) if getattr(cfg, k) != getattr(default, k)}
    d["model_type"] = cfg.model_type
    return d


def _new_model_fields(cfg):
    """The class-specific keys of Dinov2Config, Dinov2WithRegistersConfig, CLIPVisionConfig and
    CLIPConfig as save_pretrained (to_diff_dict) writes them: every field of the class (they are
    not PretrainedConfig keys), except inside CLIPConfig's nested text_config / vision_config,
    which hold only the values that differ from those classes' defaults (plus model_type)."""
    if isinstance(cfg, Dinov2Config):
        keys = [k for k in _init_fields(Dinov2Config) if k not in ("use_mask_token", "num_register_tokens")]
        d = {k: getattr(cfg, k) for k in keys}
        if cfg.model_type == "dinov2":
            d["use_mask_token"] = cfg.use_mask_token
        else:
            d["num_register_tokens"] = cfg.num_register_tokens
        n = cfg.num_hidden_layers
        d.update(stage_names=["stem"] + [f"stage{i}" for i in range(1, n + 1)],
                 out_features=[f"stage{n}"], out_indices=[n])  # BackboneConfigMixin.to_dict
        return d
    if isinstance(cfg, CLIPVisionConfig):
        return {k: getattr(cfg, k) for k in _init_fields(CLIPVisionConfig)}
    return {"initializer_factor": cfg.initializer_factor,
            "logit_scale_init_value": cfg.logit_scale_init_value,
            "projection_dim": cfg.projection_dim,
            "text_config": _diff_fields(cfg.text_config),
            "vision_config": _diff_fields(cfg.vision_config)}


def _from_fields(cls, d, **extra):
    """cls from a config dict, transformers' defaults for the missing keys."""
    return cls(**{k: d[k] for k in _init_fields(cls) if k in d}, **extra)


def config_json(cfg, architecture, **kw):
    """config.json text: json.dumps(indent=2, sort_keys=True) + newline, as to_json_string."""
    return json.dumps(config_dict(cfg, architecture, **kw), indent=2, sort_keys=True) + "\n"


def config_from_dict(d):
    """config.json dict -> (config, architecture): what a loader must read from it."""
    mt = d["model_type"]
    id2label = {int(k): v for k, v in d["id2label"].items()} if "id2label" in d else None
    if mt in ("vit", "deit"):
        cfg = ViTConfig(model_type=mt, hidden_size=d["hidden_size"],
                        num_hidden_layers=d["num_hidden_layers"],
                        num_attention_heads=d["num_attention_heads"],
                        intermediate_size=d["intermediate_size"], hidden_act=d["hidden_act"],
                        layer_norm_eps=d["layer_norm_eps"], image_size=d["image_size"],
                        patch_size=d["patch_size"], num_channels=d["num_channels"],
                        qkv_bias=d["qkv_bias"], encoder_stride=d["encoder_stride"],
                        id2label=id2label, pooler_output_size=d.get("pooler_output_size"),
                        pooler_act=d.get("pooler_act", "tanh"))
    elif mt == "swin":
        cfg = SwinConfig(image_size=d["image_size"], patch_size=d["patch_size"],
                         num_channels=d["num_channels"], embed_dim=d["embed_dim"],
                         depths=tuple(d["depths"]), num_heads=tuple(d["num_heads"]),
                         window_size=d["window_size"], mlp_ratio=d["mlp_ratio"],
                         qkv_bias=d["qkv_bias"], hidden_act=d["hidden_act"],
                         use_absolute_embeddings=d["use_absolute_embeddings"],
                         layer_norm_eps=d["layer_norm_eps"], encoder_stride=d["encoder_stride"],
                         path_norm=d.get("path_norm"), id2label=id2label)
        assert d["hidden_size"] == cfg.hidden_size and d["num_layers"] == len(cfg.depths)
    elif mt == "swinv2":
        cfg = Swinv2Config(image_size=d["image_size"], patch_size=d["patch_size"],
                           num_channels=d["num_channels"], embed_dim=d["embed_dim"],
                           depths=tuple(d["depths"]), num_heads=tuple(d["num_heads"]),
                           window_size=d["window_size"],
                           pretrained_window_sizes=tuple(d.get("pretrained_window_sizes", (0, 0, 0, 0))),
                           mlp_ratio=d["mlp_ratio"], qkv_bias=d["qkv_bias"], hidden_act=d["hidden_act"],
                           use_absolute_embeddings=d["use_absolute_embeddings"],
                           layer_norm_eps=d["layer_norm_eps"], encoder_stride=d["encoder_stride"],
                           path_norm=d.get("path_norm"), id2label=id2label)
        assert d["hidden_size"] == cfg.hidden_size and d["num_layers"] == len(cfg.depths)
    elif mt in ("dinov2", "dinov2_with_registers"):
        cfg = _from_fields(Dinov2Config, d, model_type=mt, id2label=id2label)
    elif mt == "clip_vision_model":
        cfg = _from_fields(CLIPVisionConfig, d)
    elif mt == "clip":
        cfg = CLIPConfig(text_config=_from_fields(CLIPTextConfig, d.get("text_config", {})),
                         vision_config=_from_fields(CLIPVisionConfig, d.get("vision_config", {})),
                         projection_dim=d.get("projection_dim", 512),
                         logit_scale_init_value=d.get("logit_scale_init_value", 2.6592))
    else:
        raise ValueError(mt)
    return cfg, d["architectures"][0]


ARCHITECTURES = {
    "ViTModel": ViTModel, "ViTForImageClassification": ViTForImageClassification,
    "DeiTModel": DeiTModel, "DeiTForImageClassification": DeiTForImageClassification,
    "SwinModel": SwinModel, "SwinForImageClassification": SwinForImageClassification,
    "Swinv2Model": Swinv2Model, "Swinv2ForImageClassification": Swinv2ForImageClassification,
    "DeiTForImageClassificationWithTeacher": DeiTForImageClassificationWithTeacher,
    "Dinov2Model": Dinov2Model, "Dinov2ForImageClassification": Dinov2ForImageClassification,
    "Dinov2WithRegistersModel": Dinov2WithRegistersModel,
    "Dinov2WithRegistersForImageClassification": Dinov2WithRegistersForImageClassification,
    "CLIPVisionModel": CLIPVisionModel, "CLIPVisionModelWithProjection": CLIPVisionModelWithProjection,
    "CLIPModel": CLIPModel,
}


def build(cfg, architecture):
    return ARCHITECTURES[architecture](cfg)


# =============================================================================================
# Image processors (the slow, PIL-based path of transformers' image processors)

IMAGENET_STANDARD_MEAN = [0.5, 0.5, 0.5]           # ViTImageProcessor / DeiTImageProcessor default
IMAGENET_STANDARD_STD = [0.5, 0.5, 0.5]
IMAGENET_DEFAULT_MEAN = [0.485, 0.456, 0.406]
IMAGENET_DEFAULT_STD = [0.229, 0.224, 0.225]
OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# class -> (default size, default resample, has center crop, default crop, default mean, std,
#           how a bare int `size` is read)
PROCESSOR_DEFAULTS = {
    "ViTImageProcessor": ({"height": 224, "width": 224}, 2, False, None,
                          IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD, "square"),
    "DeiTImageProcessor": ({"height": 256, "width": 256}, 3, True, {"height": 224, "width": 224},
                           IMAGENET_STANDARD_MEAN, IMAGENET_STANDARD_STD, "square"),
    "CLIPImageProcessor": ({"shortest_edge": 224}, 3, True, {"height": 224, "width": 224},
                           OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, "shortest_edge"),
    # BitImageProcessor (DINOv2's): CLIPImageProcessor's steps and defaults (CLIP mean / std
    # too); facebook/dinov2-* files set shortest_edge 256, crop 224 and ImageNet mean / std
    "BitImageProcessor": ({"shortest_edge": 224}, 3, True, {"height": 224, "width": 224},
                          OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, "shortest_edge"),
}
# AutoImageProcessor's choice when preprocessor_config.json names no class
MODEL_TYPE_PROCESSOR = {"vit": "ViTImageProcessor", "deit": "DeiTImageProcessor",
                        "swin": "ViTImageProcessor", "swinv2": "ViTImageProcessor",
                        "dinov2": "BitImageProcessor",
                        "dinov2_with_registers": "BitImageProcessor", "clip": "CLIPImageProcessor"}
SHORTEST_EDGE_PROCESSORS = ("CLIPImageProcessor", "BitImageProcessor")


def processor_class(pp, model_type=None):
    """image_processor_type, else feature_extractor_type with FeatureExtractor -> ImageProcessor,
    else the model type's default."""
    name = pp.get("image_processor_type")
    if name is None and pp.get("feature_extractor_type"):
        name = pp["feature_extractor_type"].replace("FeatureExtractor", "ImageProcessor")
    if name is None:
        name = MODEL_TYPE_PROCESSOR[model_type]
    if name not in PROCESSOR_DEFAULTS:
        raise ValueError(f"image processor {name!r} not modelled (the *Fast ones use torchvision)")
    return name


def size_dict(size, default_to_square):
    """get_size_dict: an int is {height: n, width: n} (default_to_square) or {shortest_edge: n};
    a list / tuple is (height, width); a dict must have exactly one of the allowed key sets."""
    if isinstance(size, bool):
        raise ValueError(size)
    if isinstance(size, int):
        return {"height": size, "width": size} if default_to_square else {"shortest_edge": size}
    if isinstance(size, (list, tuple)):
        return {"height": size[0], "width": size[1]}
    if isinstance(size, dict) and set(size) in ({"height", "width"}, {"shortest_edge"},
                                                {"shortest_edge", "longest_edge"},
                                                {"longest_edge"}):
        return dict(size)
    raise ValueError(f"bad size {size!r}")


def resolve_processor(pp, model_type=None):
    """The effective settings of a preprocessor_config.json dict (defaults filled in)."""
    cls = processor_class(pp, model_type)
    dsize, dres, has_crop, dcrop, dmean, dstd, int_size = PROCESSOR_DEFAULTS[cls]
    size = size_dict(pp.get("size", dsize), default_to_square=(int_size == "square"))
    if cls not in SHORTEST_EDGE_PROCESSORS and set(size) != {"height", "width"}:
        raise ValueError(f"{cls}.resize needs height and width, got {size}")
    if set(size) - {"height", "width", "shortest_edge"}:
        raise ValueError(f"longest_edge not modelled: {size}")
    mean = pp.get("image_mean", dmean)
    std = pp.get("image_std", dstd)
    return {
        "class": cls,
        "do_resize": pp.get("do_resize", True),
        "size": size,
        "resample": int(pp.get("resample", dres)),
        # ViTImageProcessor has no center crop: do_center_crop / crop_size keys are ignored
        "do_center_crop": bool(pp.get("do_center_crop", True)) if has_crop else False,
        "crop_size": size_dict(pp.get("crop_size", dcrop), True) if has_crop else None,
        "do_rescale": pp.get("do_rescale", True),
        "rescale_factor": pp.get("rescale_factor", 1 / 255),
        "do_normalize": pp.get("do_normalize", True),
        "image_mean": list(mean) if isinstance(mean, (list, tuple)) else [mean] * 3,
        "image_std": list(std) if isinstance(std, (list, tuple)) else [std] * 3,
    }


def resize_output_size(h, w, size):
    """(height, width) the resize produces. {height, width}: exactly that (no aspect kept).
    {shortest_edge: n}: get_resize_output_image_size(default_to_square=False): the short side
    becomes n, the long side int(n * long / short) (truncated; = (n * long) // short), and a
    square stays n x n."""
    if "height" in size:
        return size["height"], size["width"]
    n = size["shortest_edge"]
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(n * long / short)
    return (new_long, n) if w <= h else (n, new_long)


def center_crop(a, ch, cw):
    """transformers.image_transforms.center_crop on an HWC array, written as a coordinate rule:
    top = (H - ch) // 2, left = (W - cw) // 2 (Python floor division, also when negative);
    out[y, x] = a[y + top, x + left] where that is inside the image, else 0 (the zero padding
    of a crop larger than the image, on the uint8 image, before rescale / normalize)."""
    H, W = a.shape[:2]
    top, left = (H - ch) // 2, (W - cw) // 2
    out = np.zeros((ch, cw) + a.shape[2:], a.dtype)
    y0, y1 = max(0, -top), min(ch, H - top)
    x0, x1 = max(0, -left), min(cw, W - left)
    out[y0:y1, x0:x1] = a[y0 + top:y1 + top, x0 + left:x1 + left]
    return out


def hf_preprocess(img, pp, model_type=None):
    """What ViTImageProcessor / DeiTImageProcessor / CLIPImageProcessor / BitImageProcessor
    .preprocess return for one PIL RGB image (Image.open(path).convert("RGB")), as (float32 [3, H, W], uint8 [3, H, W]
    after resize and crop).

      a = np.array(img)                                  # uint8 H x W x 3
      resize: PIL img.resize((width, height), resample)  # uint8 in, uint8 out (PIL rounds and
                                                         # clamps); skipped by PIL if same size
      center crop (DeiT, CLIP, Bit): center_crop() above, on the uint8 array
      (BitImageProcessor = CLIPImageProcessor's steps: do_convert_rgb (PIL convert("RGB"), done
      by the caller here), resize with {shortest_edge} (default_to_square False), center crop,
      rescale, normalize; its defaults are CLIP's, its hub files set their own)
      rescale:   x = float32(float64(a) * rescale_factor)          # rescale_factor a double
      normalize: x = (x - float32(mean[c])) / float32(std[c])      # float32 arithmetic
      channels first.
    """
    from PIL import Image

    r = resolve_processor(pp, model_type)
    assert img.mode == "RGB"
    if r["do_resize"]:
        h, w = resize_output_size(img.height, img.width, r["size"])
        if (w, h) != img.size:
            img = img.resize((w, h), resample=Image.Resampling(r["resample"]))
    a = np.array(img, dtype=np.uint8)
    if r["do_center_crop"]:
        a = center_crop(a, r["crop_size"]["height"], r["crop_size"]["width"])
    u8 = a
    x = a
    if r["do_rescale"]:
        x = (x.astype(np.float64) * r["rescale_factor"]).astype(np.float32)
    if r["do_normalize"]:
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
        x = (x - np.array(r["image_mean"], dtype=x.dtype)) / np.array(r["image_std"], dtype=x.dtype)
    if x.dtype != np.float32:
        raise ValueError("neither rescale nor normalize: transformers would return uint8 / float64")
    return np.ascontiguousarray(x.transpose(2, 0, 1)), np.ascontiguousarray(u8.transpose(2, 0, 1))


# =============================================================================================
# Self-checks


def _vit_to_timm(sd, cfg, prefix):
    """transformers ViT names -> vit_ref.VisionTransformer (timm) names."""
    p = prefix
    D = cfg.hidden_size
    out = {"cls_token": sd[p + "embeddings.cls_token"],
           "pos_embed": sd[p + "embeddings.position_embeddings"],
           "patch_embed.proj.weight": sd[p + "embeddings.patch_embeddings.projection.weight"],
           "patch_embed.proj.bias": sd[p + "embeddings.patch_embeddings.projection.bias"]}
    for i in range(cfg.num_hidden_layers):
        a, b = f"{p}encoder.layer.{i}.", f"blocks.{i}."
        qkv = [sd[a + f"attention.attention.{n}.weight"] for n in ("query", "key", "value")]
        out[b + "attn.qkv.weight"] = torch.cat(qkv, 0)
        if cfg.qkv_bias:
            out[b + "attn.qkv.bias"] = torch.cat(
                [sd[a + f"attention.attention.{n}.bias"] for n in ("query", "key", "value")], 0)
        else:
            out[b + "attn.qkv.bias"] = torch.zeros(3 * D, dtype=qkv[0].dtype)
        for src, dst in (("layernorm_before", "norm1"), ("layernorm_after", "norm2"),
                         ("attention.output.dense", "attn.proj"), ("intermediate.dense", "mlp.fc1"),
                         ("output.dense", "mlp.fc2")):
            out[b + dst + ".weight"] = sd[a + src + ".weight"]
            out[b + dst + ".bias"] = sd[a + src + ".bias"]
    out["norm.weight"] = sd[p + "layernorm.weight"]
    out["norm.bias"] = sd[p + "layernorm.bias"]
    if "classifier.weight" in sd:
        out["head.weight"] = sd["classifier.weight"]
        out["head.bias"] = sd["classifier.bias"]
    return out


def _swin_to_timm(sd, cfg, prefix):
    """transformers Swin names -> swin_ref.SwinTransformer (timm) names; checks and drops the
    relative_position_index buffers."""
    import re

    p = prefix
    out = {}
    ren = {"layernorm_before": "norm1", "layernorm_after": "norm2",
           "attention.self.relative_position_bias_table": "attn.relative_position_bias_table",
           "attention.output.dense": "attn.proj", "intermediate.dense": "mlp.fc1",
           "output.dense": "mlp.fc2"}
    qkv = {}
    for k, v in sd.items():
        if not k.startswith(p):
            continue
        k = k[len(p):]
        if k.startswith("embeddings.patch_embeddings.projection."):
            out["patch_embed.proj." + k.rsplit(".", 1)[1]] = v
        elif k.startswith("embeddings.norm."):
            out["patch_embed.norm." + k.rsplit(".", 1)[1]] = v
        elif k.startswith("layernorm."):
            out["norm." + k.rsplit(".", 1)[1]] = v
        elif (m := re.match(r"encoder\.layers\.(\d+)\.downsample\.(.*)", k)):
            out[f"layers.{int(m.group(1)) + 1}.downsample.{m.group(2)}"] = v
        elif (m := re.match(r"encoder\.layers\.(\d+)\.blocks\.(\d+)\.(.*)", k)):
            s, b, rest = int(m.group(1)), int(m.group(2)), m.group(3)
            pre = f"layers.{s}.blocks.{b}."
            if rest == "attention.self.relative_position_index":
                assert torch.equal(v, relative_position_index(cfg.window_size)), k
                continue
            if (q := re.match(r"attention\.self\.(query|key|value)\.(weight|bias)", rest)):
                qkv[(pre, q.group(2), q.group(1))] = v
                continue
            if rest in ren:
                out[pre + ren[rest]] = v
                continue
            base, leaf = rest.rsplit(".", 1)
            out[pre + ren[base] + "." + leaf] = v
        else:
            raise KeyError(k)
    for (pre, leaf, _), _v in list(qkv.items()):
        if (pre, leaf, "query") in qkv:
            out[pre + "attn.qkv." + leaf] = torch.cat([qkv[(pre, leaf, n)] for n in ("query", "key", "value")], 0)
    for k in [k for k in out if k.endswith("attn.qkv.weight")]:
        b = k[:-len("weight")] + "bias"
        if b not in out:
            out[b] = torch.zeros(out[k].shape[0], dtype=out[k].dtype)
    if "classifier.weight" in sd:
        out["head.fc.weight"] = sd["classifier.weight"]
        out["head.fc.bias"] = sd["classifier.bias"]
    return out


def _timm_swin_cfg(cfg):
    import swin_ref

    return swin_ref.SwinConfig(img_size=cfg.image_size, patch_size=cfg.patch_size,
                               in_chans=cfg.num_channels, embed_dim=cfg.embed_dim,
                               depths=tuple(cfg.depths), num_heads=tuple(cfg.num_heads),
                               window_size=cfg.window_size, mlp_ratio=cfg.mlp_ratio,
                               num_classes=cfg.num_labels, norm_eps=cfg.layer_norm_eps)


def timm_swin_outputs(model, cfg, x):
    """Run the same weights through swin_ref (timm semantics); (logits, features, stages)."""
    import swin_ref

    tcfg = _timm_swin_cfg(cfg)
    m = swin_ref.SwinTransformer(tcfg).to(x.dtype)
    m.load_state_dict(_swin_to_timm(model.state_dict(), cfg, "swin."), strict=True)
    with torch.no_grad():
        return m.eval()(x)


def brute_swin_layer(layer, x, H, W):
    """SwinLayer by explicit loops over windows, heads and token pairs, in transformers' order
    (layernorm, zero-pad to window multiples, roll the PADDED map, mask regions on the padded
    map); the bias comes from (dy, dx) directly. Shares no window helper with SwinLayer."""
    cfg = layer.cfg
    w, s = cfg.window_shift(layer.block_index, H, W)
    sa = getattr(layer.attention, "self")
    B, L, C = x.shape
    nH, d = sa.num_heads, sa.head_size
    Hp, Wp = -(-H // w) * w, -(-W // w) * w
    y = layer.layernorm_before(x).reshape(B, H, W, C)
    padded = torch.zeros(B, Hp, Wp, C, dtype=x.dtype)
    padded[:, :H, :W] = y
    rolled = torch.zeros_like(padded)  # rolled[i, j] = padded[(i + s) % Hp, (j + s) % Wp]
    for i in range(Hp):
        for j in range(Wp):
            rolled[:, i, j] = padded[:, (i + s) % Hp, (j + s) % Wp]

    def region(v, n):
        return 0 if v < n - w else (1 if v < n - s else 2)

    table = sa.relative_position_bias_table
    out = torch.zeros_like(rolled)
    for b in range(B):
        for wi in range(Hp // w):
            for wj in range(Wp // w):
                pos = [(wi * w + r, wj * w + c) for r in range(w) for c in range(w)]
                tok = torch.stack([rolled[b, p, q] for p, q in pos])
                qm, km, vm = sa.query(tok), sa.key(tok), sa.value(tok)
                heads = []
                for h in range(nH):
                    sl = slice(h * d, (h + 1) * d)
                    logits = torch.zeros(len(pos), len(pos), dtype=x.dtype)
                    for n1, (p1, q1) in enumerate(pos):
                        for n2, (p2, q2) in enumerate(pos):
                            dy, dx = p1 - p2, q1 - q2
                            val = (qm[n1, sl] @ km[n2, sl]) / math.sqrt(d)
                            val = val + table[(dy + w - 1) * (2 * w - 1) + (dx + w - 1), h]
                            if s and (region(p1, Hp), region(q1, Wp)) != (region(p2, Hp), region(q2, Wp)):
                                val = val + MASK_VALUE
                            logits[n1, n2] = val
                    heads.append(torch.softmax(logits, -1) @ vm[:, sl])
                o = layer.attention.output(torch.cat(heads, -1))
                for n1, (p, q) in enumerate(pos):
                    out[b, p, q] = o[n1]
    att = torch.zeros_like(out)  # undo the roll on the padded map, then crop
    for i in range(Hp):
        for j in range(Wp):
            att[:, (i + s) % Hp, (j + s) % Wp] = out[:, i, j]
    h = x + att[:, :H, :W].reshape(B, H * W, C)
    return h + layer.output(layer.intermediate(layer.layernorm_after(h)))


def brute_swinv2_layer(layer, x, H, W):
    """Swinv2Layer by explicit loops over windows, heads and token pairs, in transformers' order
    (zero-pad the raw input to window multiples, roll the PADDED map, regions of the padded map,
    mask added twice = -200, residual post-norm). Cosine logits from explicit norms; the bias row
    of (dy, dx) is (dy + w - 1) * (2w - 1) + (dx + w - 1) of relative_coords_table, put through the
    MLP's weights by hand. Shares no window or attention helper with Swinv2Layer."""
    w, s = layer.window_size, layer.shift_size
    sa = getattr(layer.attention, "self")
    B, L, C = x.shape
    nH, d = sa.num_heads, sa.head_size
    Hp, Wp = -(-H // w) * w, -(-W // w) * w
    padded = torch.zeros(B, Hp, Wp, C, dtype=x.dtype)
    padded[:, :H, :W] = x.reshape(B, H, W, C)
    rolled = torch.zeros_like(padded)  # rolled[i, j] = padded[(i + s) % Hp, (j + s) % Wp]
    for i in range(Hp):
        for j in range(Wp):
            rolled[:, i, j] = padded[:, (i + s) % Hp, (j + s) % Wp]

    def region(v, n):
        return 0 if v < n - w else (1 if v < n - s else 2)

    mlp = sa.continuous_position_bias_mlp
    W1, b1, W2 = mlp[0].weight, mlp[0].bias, mlp[2].weight
    coords = sa.relative_coords_table.reshape(-1, 2)
    scale = [math.exp(min(sa.logit_scale[h].item(), math.log(100.0))) for h in range(nH)]

    def cpb(dy, dx, h):
        c = coords[(dy + w - 1) * (2 * w - 1) + (dx + w - 1)]
        hidden = torch.clamp(W1 @ c + b1, min=0)
        return 16 / (1 + torch.exp(-(W2[h] @ hidden)))

    out = torch.zeros_like(rolled)
    for b in range(B):
        for wi in range(Hp // w):
            for wj in range(Wp // w):
                pos = [(wi * w + r, wj * w + c) for r in range(w) for c in range(w)]
                tok = torch.stack([rolled[b, p, q] for p, q in pos])
                qm = tok @ sa.query.weight.T + (sa.query.bias if sa.query.bias is not None else 0)
                km = tok @ sa.key.weight.T
                vm = tok @ sa.value.weight.T + (sa.value.bias if sa.value.bias is not None else 0)
                heads = []
                for h in range(nH):
                    sl = slice(h * d, (h + 1) * d)
                    logits = torch.zeros(len(pos), len(pos), dtype=x.dtype)
                    for n1, (p1, q1) in enumerate(pos):
                        qv = qm[n1, sl]
                        qv = qv / max(qv.norm().item(), 1e-12)
                        for n2, (p2, q2) in enumerate(pos):
                            kv = km[n2, sl]
                            kv = kv / max(kv.norm().item(), 1e-12)  # a padded token's key is 0
                            val = (qv @ kv) * scale[h] + cpb(p1 - p2, q1 - q2, h)
                            if s and (region(p1, Hp), region(q1, Wp)) != (region(p2, Hp), region(q2, Wp)):
                                val = val + 2 * MASK_VALUE
                            logits[n1, n2] = val
                    heads.append(torch.softmax(logits, -1) @ vm[:, sl])
                o = layer.attention.output(torch.cat(heads, -1))
                for n1, (p, q) in enumerate(pos):
                    out[b, p, q] = o[n1]
    att = torch.zeros_like(out)  # undo the roll on the padded map, then crop
    for i in range(Hp):
        for j in range(Wp):
            att[:, (i + s) % Hp, (j + s) % Wp] = out[:, i, j]
    h = x + layer.layernorm_before(att[:, :H, :W].reshape(B, H * W, C))
    return h + layer.layernorm_after(layer.output(layer.intermediate(h)))


def _swinv2_to_timm(sd, cfg, prefix):
    """transformers Swinv2 names -> timm's swin_transformer_v2 names."""
    import re

    p = prefix
    out = {}
    ren = {"layernorm_before": "norm1", "layernorm_after": "norm2",
           "attention.self.logit_scale": "attn.logit_scale",
           "attention.self.continuous_position_bias_mlp": "attn.cpb_mlp",
           "attention.output.dense": "attn.proj", "intermediate.dense": "mlp.fc1",
           "output.dense": "mlp.fc2"}
    for k, v in sd.items():
        if not k.startswith(p):
            continue
        k = k[len(p):]
        if k.startswith("embeddings.patch_embeddings.projection."):
            out["patch_embed.proj." + k.rsplit(".", 1)[1]] = v
        elif k.startswith("embeddings.norm."):
            out["patch_embed.norm." + k.rsplit(".", 1)[1]] = v
        elif k.startswith("layernorm."):
            out["norm." + k.rsplit(".", 1)[1]] = v
        elif (m := re.match(r"encoder\.layers\.(\d+)\.downsample\.(.*)", k)):
            out[f"layers.{int(m.group(1)) + 1}.downsample.{m.group(2)}"] = v
        elif (m := re.match(r"encoder\.layers\.(\d+)\.blocks\.(\d+)\.(.*)", k)):
            pre = f"layers.{m.group(1)}.blocks.{m.group(2)}."
            rest = m.group(3)
            if (q := re.match(r"attention\.self\.(query|key|value)\.(weight|bias)", rest)):
                if q.group(2) == "weight":
                    if q.group(1) == "query":
                        out[pre + "attn.qkv.weight"] = torch.cat(
                            [sd[p + k.replace("query", n)] for n in ("query", "key", "value")], 0)
                else:
                    out[pre + "attn." + q.group(1)[0] + "_bias"] = v
                continue
            base = next(b for b in ren if rest == b or rest.startswith(b + "."))
            out[pre + ren[base] + rest[len(base):]] = v
        else:
            raise KeyError(k)
    if "classifier.weight" in sd:
        out["head.fc.weight"] = sd["classifier.weight"]
        out["head.fc.bias"] = sd["classifier.bias"]
    return out


def _swinv2_checks(rand_x, timm):
    """Swinv2 against a per-window loop (padded and shifted), against timm's
    swin_transformer_v2 (when found) where nothing pads and with the mask added once, float32
    against float64, what pretrained_window_sizes and the window rule change, names, config."""
    import sys

    this = sys.modules[__name__]
    dd = torch.float64
    g = torch.Generator().manual_seed(91)
    assert Swinv2SelfAttention.LOGIT_SCALE_MAX == math.log(100.0)

    # ---- the coordinate table against the formula in float64 (it is computed in float32)
    for w, pw in ((4, 0), (4, 3), (2, 6), (8, 12), (1, 0)):
        t = swinv2_coords_table(w, pw).double()
        den = (pw - 1) if pw > 0 else (w - 1 if w > 1 else 1)
        for dy in range(-(w - 1), w):
            for dx in range(-(w - 1), w):
                want = [math.copysign(math.log2(abs(8 * v / den) + 1) / 3, v) if v else 0.0
                        for v in (dy, dx)]
                got = t[(dy + w - 1) * (2 * w - 1) + (dx + w - 1)].tolist()
                assert max(abs(a - b) for a, b in zip(got, want)) < 1e-6, (w, pw, dy, dx, got, want)

    # ---- one layer, padded and shifted, against the per-window loop --------------------------
    # (image, window, stage, block, runtime H): the window comes from the configured size
    for img, win, pws, s, b, H in ((64, 4, (3, 0), 0, 1, 10), (64, 4, (0, 0), 0, 0, 10),
                                   (40, 4, (0, 6), 1, 1, 5), (56, 5, (0, 0, 0), 2, 1, 4),
                                   (40, 4, (3, 0, 6), 2, 0, 3), (32, 4, (0, 0), 0, 1, 8)):
        cfg = Swinv2Config(image_size=img, patch_size=4, embed_dim=8, depths=(2,) * len(pws),
                           num_heads=(2,) * len(pws), window_size=win, pretrained_window_sizes=pws,
                           mlp_ratio=2.0, layer_norm_eps=1e-4)
        layer = Swinv2Layer(cfg, 8 * 2 ** s, 2, s, b).to(dd).eval()
        randomize_(layer, 92)
        x = torch.randn(2, H * H, 8 * 2 ** s, generator=g, dtype=dd)
        with torch.no_grad():
            err = (layer(x, H, H) - brute_swinv2_layer(layer, x, H, H)).abs().max().item()
        assert err < 1e-12, err
        w, sh = layer.window_size, layer.shift_size
        print(f"Swinv2Layer stage {s} block {b} (configured {cfg.configured_resolutions()[s]}: window {w} "
              f"shift {sh}, pretrained {pws[s]}) at {H}x{H} (padded to {-(-H // w) * w}) vs "
              f"per-window loop: max |diff| {err:.2e}")
    # the window rule: configured (floor) resolutions, never the runtime ones
    assert Swinv2Config(image_size=56, window_size=5, depths=(2, 2, 2)).configured_resolutions() == [14, 7, 3]
    assert [Swinv2Config(image_size=40, window_size=4, depths=(2, 2, 2)).window_shift(s, 1)
            for s in range(3)] == [(4, 2), (4, 2), (2, 0)]
    assert [Swinv2Config(image_size=56, window_size=5, depths=(2, 2, 2)).window_shift(s, 1)
            for s in range(3)] == [(5, 2), (5, 2), (3, 0)]

    # ---- whole models: names, float32 noise, the mask twice, pretrained_window_sizes ---------
    # (stage 0 has head dim 1: cosines are exactly +-1, so large logit scales cost no float32
    # noise, and the doubled mask shows: masked pairs compete with unmasked ones at scale ~100)
    cfg = Swinv2Config(image_size=64, patch_size=4, embed_dim=8, depths=(2, 2, 2), num_heads=(8, 2, 4),
                       window_size=4, pretrained_window_sizes=(3, 0, 6), mlp_ratio=2.0,
                       layer_norm_eps=1e-4, id2label={i: f"c{i}" for i in range(4)})
    m = Swinv2ForImageClassification(cfg).to(dd).eval()
    randomize_(m, 93)
    sd = m.state_dict()
    assert not any(k.endswith(("relative_coords_table", "relative_position_index", "key.bias")) for k in sd)
    for k in ("swinv2.encoder.layers.0.blocks.0.attention.self.logit_scale",
              "swinv2.encoder.layers.0.blocks.0.attention.self.continuous_position_bias_mlp.0.weight",
              "swinv2.encoder.layers.0.blocks.0.attention.self.continuous_position_bias_mlp.0.bias",
              "swinv2.encoder.layers.0.blocks.0.attention.self.continuous_position_bias_mlp.2.weight",
              "swinv2.encoder.layers.0.blocks.0.attention.self.query.bias",
              "swinv2.encoder.layers.0.blocks.0.attention.self.value.bias",
              "swinv2.encoder.layers.1.downsample.reduction.weight",
              "swinv2.encoder.layers.1.downsample.norm.weight",
              "swinv2.embeddings.norm.weight", "swinv2.layernorm.weight", "classifier.weight"):
        assert k in sd, k
    assert sd["swinv2.encoder.layers.0.downsample.norm.weight"].shape == (16,)  # norm after the reduction
    once_diffs = []
    assert "swinv2.encoder.layers.2.downsample.reduction.weight" not in sd
    ls = torch.cat([v.flatten() for k, v in sd.items() if k.endswith("logit_scale")])
    assert (ls > math.log(100)).any() and (ls < math.log(100)).any()
    for S in (64, 40, 42):
        x = rand_x(2, 3, S)
        with torch.no_grad():
            o = m(x)
            m32 = Swinv2ForImageClassification(cfg).eval()
            m32.load_state_dict({k: v.float() for k, v in sd.items()})
            o32 = m32(x.float())
            with _patched(this, "swinv2_add_mask", swinv2_add_mask_once):
                once = m(x)["logits"]
            cfg2 = Swinv2Config(**{**{f.name: getattr(cfg, f.name) for f in fields(cfg) if f.init},
                                   "pretrained_window_sizes": (0, 0, 0)})
            m2 = Swinv2ForImageClassification(cfg2).to(dd).eval()
            m2.load_state_dict(sd)
            nopw = m2(x)["logits"]
        n32 = max((o32[k].double() - o[k]).abs().max().item() for k in ("logits", "features"))
        d_once = (once - o["logits"]).abs().max().item()
        d_pw = (nopw - o["logits"]).abs().max().item()
        assert n32 < 1e-5 and d_pw > 1e-4, (n32, d_pw)
        once_diffs.append(d_once)
        print(f"Swinv2ForImageClassification img 64 w4 at {S} (stages {cfg.runtime_resolutions(S)}): "
              f"float32 vs float64 {n32:.1e}; mask added once instead of twice: logits differ by "
              f"{d_once:.3g}; pretrained_window_sizes (0, 0, 0) instead of (3, 0, 6): {d_pw:.3g}")
    assert max(once_diffs) > 1e-3, once_diffs
    try:
        Swinv2Model(Swinv2Config(image_size=24, patch_size=4, depths=(2, 2, 2, 2), num_heads=(1, 1, 1, 1)))
        raise AssertionError("expected a refusal")
    except ValueError:
        pass

    # ---- config.json round trip --------------------------------------------------------------
    for c, arch in ((cfg, "Swinv2ForImageClassification"),
                    (Swinv2Config(depths=(2, 3, 2), num_heads=(3, 2, 4), qkv_bias=False), "Swinv2Model")):
        d = json.loads(config_json(c, arch))
        assert d["model_type"] == "swinv2" and d["pretrained_window_sizes"] == list(c.pretrained_window_sizes)
        back, arch2 = config_from_dict(d)
        assert back == c and arch2 == arch, (back, c)

    # ---- timm's swin_transformer_v2 on the same weights (no padding anywhere) ----------------
    if timm is None:
        return
    from timm.models.swin_transformer_v2 import SwinTransformerV2

    for img, win, depths, heads, pws, qkv_bias in ((64, 4, (2, 2, 2), (8, 2, 4), (3, 0, 6), True),
                                                   (128, 8, (2, 2, 2), (1, 2, 2), (0, 0, 0), False),
                                                   (96, 6, (2, 1, 2, 1), (2, 2, 2, 4), (4, 4, 0, 3), True)):
        cfg = Swinv2Config(image_size=img, patch_size=4, embed_dim=8, depths=depths, num_heads=heads,
                           window_size=win, pretrained_window_sizes=pws, mlp_ratio=2.0,
                           qkv_bias=qkv_bias, id2label={i: f"c{i}" for i in range(3)})
        m = Swinv2ForImageClassification(cfg).to(dd).eval()
        randomize_(m, 94)
        tm = SwinTransformerV2(img_size=img, patch_size=4, embed_dim=8, depths=depths, num_heads=heads,
                               window_size=win, mlp_ratio=2.0, qkv_bias=qkv_bias, num_classes=3,
                               pretrained_window_sizes=pws).to(dd).eval()
        tsd = _swinv2_to_timm(m.state_dict(), cfg, "swinv2.")
        missing, unexpected = tm.load_state_dict(tsd, strict=False)
        assert not unexpected and all(k.endswith(("k_bias", "attn_mask", "relative_coords_table",
                                                  "relative_position_index")) for k in missing), missing
        x = rand_x(2, 3, img)
        with torch.no_grad():
            want = tm(x)
            feats = tm.forward_features(x)
            twice = m(x)
            with _patched(this, "swinv2_add_mask", swinv2_add_mask_once):
                o = m(x)
        err = max((o["logits"] - want).abs().max().item(),
                  (o["last_hidden_state"] - feats.reshape(2, -1, feats.shape[-1])).abs().max().item())
        assert err < 1e-12, err
        d2 = (twice["logits"] - want).abs().max().item()
        print(f"Swinv2 img {img} w{win} depths {depths} pretrained {pws} qkv_bias={qkv_bias} vs timm "
              f"SwinTransformerV2 (mask once): max |diff| {err:.2e}; transformers' mask twice: logits "
              f"differ by {d2:.3g}")

def _hand_attention(x, sd, pre, names, heads, scale_first=False):
    """Multi-head attention by explicit per-head loops (no module code): names = (q, k, v, out)."""
    B, N, D = x.shape
    d = D // heads

    def lin(n, t):
        w = sd[pre + n + ".weight"]
        b = sd.get(pre + n + ".bias")
        return t @ w.T + (b if b is not None else 0)

    q, k, v = lin(names[0], x), lin(names[1], x), lin(names[2], x)
    outs = []
    for h in range(heads):
        sl = slice(h * d, (h + 1) * d)
        s = torch.einsum("bic,bjc->bij", q[..., sl], k[..., sl]) / math.sqrt(d)
        outs.append(torch.softmax(s, -1) @ v[..., sl])
    return lin(names[3], torch.cat(outs, -1))


def _hand_patches(x, w, b, p):
    """Patch embedding by unfold + matmul: (B, C, H, W) -> (B, (H//p)*(W//p), D), row-major."""
    B, C, H, W = x.shape
    gh, gw = H // p, W // p
    cols = x[:, :, :gh * p, :gw * p].reshape(B, C, gh, p, gw, p).permute(0, 2, 4, 1, 3, 5)
    t = cols.reshape(B, gh * gw, C * p * p) @ w.reshape(w.shape[0], -1).T
    return t + b if b is not None else t


def _new_model_checks(rand_x):
    """DINOv2 (+registers) and CLIP against explicit per-head computations written from the
    transformers semantics (token order, which tokens get a position row, layer scale, SwiGLU
    halves, the classifier's mean, CLIP's pre / post layernorms), plus config round trips."""
    dd = torch.float64

    def ln(t, sd, n, eps):
        return F.layer_norm(t, t.shape[-1:], sd[n + ".weight"], sd[n + ".bias"], eps)

    # ---- DINOv2 with and without registers, interpolated and not ---------------------------
    for mt, R, swiglu, S in (("dinov2", 0, True, 42), ("dinov2", 0, False, 56),
                             ("dinov2_with_registers", 3, False, 70), ("dinov2_with_registers", 2, True, 56)):
        cfg = Dinov2Config(model_type=mt, hidden_size=12, num_hidden_layers=2, num_attention_heads=3,
                           image_size=56, patch_size=14, num_register_tokens=R, use_swiglu_ffn=swiglu,
                           mlp_ratio=3, layer_norm_eps=1e-3, id2label={0: "a", 1: "b", 2: "c"})
        m = Dinov2ForImageClassification(cfg).to(dd).eval()
        randomize_(m, 21)
        sd = {k[len(mt) + 1:] if k.startswith(mt + ".") else k: v for k, v in m.state_dict().items()}
        x = rand_x(2, 3, S)
        with torch.no_grad():
            o = m(x)
            pos = sd["embeddings.position_embeddings"]
            g = S // 14
            if g != 4:  # transformers: bicubic on the float32 [1, D, 4, 4] map, antialias for registers
                pm = pos[:, 1:].reshape(1, 4, 4, 12).permute(0, 3, 1, 2).float()
                pm = F.interpolate(pm, size=(g, g), mode="bicubic", align_corners=False,
                                   antialias=(R > 0)).double()
                pos = torch.cat([pos[:, :1], pm.permute(0, 2, 3, 1).reshape(1, g * g, 12)], 1)
            t = _hand_patches(x, sd["embeddings.patch_embeddings.projection.weight"],
                              sd["embeddings.patch_embeddings.projection.bias"], 14)
            cls = sd["embeddings.cls_token"].expand(2, 1, 12) + pos[:, :1]
            parts = [cls]
            if R:
                parts.append(sd["embeddings.register_tokens"].expand(2, R, 12))  # no position row
            t = torch.cat(parts + [t + pos[:, 1:]], 1)
            for i in range(2):
                a = f"encoder.layer.{i}."
                h = _hand_attention(ln(t, sd, a + "norm1", 1e-3), sd, a + "attention.",
                                    ("attention.query", "attention.key", "attention.value", "output.dense"), 3)
                t = t + h * sd[a + "layer_scale1.lambda1"]
                u = ln(t, sd, a + "norm2", 1e-3)
                if swiglu:
                    hid = cfg.mlp_hidden
                    z = u @ sd[a + "mlp.weights_in.weight"].T + sd[a + "mlp.weights_in.bias"]
                    z = F.silu(z[..., :hid]) * z[..., hid:]
                    z = z @ sd[a + "mlp.weights_out.weight"].T + sd[a + "mlp.weights_out.bias"]
                else:
                    z = F.gelu(u @ sd[a + "mlp.fc1.weight"].T + sd[a + "mlp.fc1.bias"])
                    z = z @ sd[a + "mlp.fc2.weight"].T + sd[a + "mlp.fc2.bias"]
                t = t + z * sd[a + "layer_scale2.lambda1"]
            lhs = ln(t, sd, "layernorm", 1e-3)
            feats = torch.cat([lhs[:, 0], lhs[:, 1 + R:].mean(1)], 1)
            logits = feats @ sd["classifier.weight"].T + sd["classifier.bias"]
        err = max((o["tokens"] - lhs).abs().max().item(), (o["logits"] - logits).abs().max().item())
        assert err < 1e-12, (mt, err)
        print(f"{'Dinov2WithRegisters' if R else 'Dinov2'}ForImageClassification (R {R}, swiglu={swiglu}, "
              f"mlp {cfg.mlp_hidden}) at {S} "
              f"({g}x{g} grid) vs explicit computation: max |diff| {err:.2e}")
    # SwiGLU widths: (int(int(D * mlp_ratio) * 2 / 3) + 7) // 8 * 8
    assert cfg.mlp_hidden == 24 and Dinov2Config(hidden_size=16, use_swiglu_ffn=True).mlp_hidden == 48
    assert Dinov2Config(hidden_size=20, use_swiglu_ffn=True).mlp_hidden == 56
    assert Dinov2Config(hidden_size=1536, use_swiglu_ffn=True).mlp_hidden == 4096  # dinov2-giant

    # ---- CLIP -------------------------------------------------------------------------------
    cfg = CLIPVisionConfig(hidden_size=12, intermediate_size=20, projection_dim=5, num_hidden_layers=2,
                           num_attention_heads=2, image_size=42, patch_size=14)
    m = CLIPVisionModelWithProjection(cfg).to(dd).eval()
    randomize_(m, 22)
    sd = m.state_dict()
    for S, interp in ((42, False), (56, True), (28, True)):
        x = rand_x(2, 3, S)
        with torch.no_grad():
            o = m(x, interpolate_pos_encoding=interp)
            p = "vision_model."
            pos = sd[p + "embeddings.position_embedding.weight"][None]
            g = S // 14
            if g != 3:  # bicubic, no antialias, in the model's dtype (float64 here)
                pm = pos[:, 1:].reshape(1, 3, 3, 12).permute(0, 3, 1, 2)
                pm = F.interpolate(pm, size=(g, g), mode="bicubic", align_corners=False)
                pos = torch.cat([pos[:, :1], pm.permute(0, 2, 3, 1).reshape(1, g * g, 12)], 1)
            t = _hand_patches(x, sd[p + "embeddings.patch_embedding.weight"], None, 14)
            t = torch.cat([sd[p + "embeddings.class_embedding"].expand(2, 1, 12), t], 1) + pos
            t = ln(t, sd, p + "pre_layrnorm", 1e-5)
            for i in range(2):
                a = f"{p}encoder.layers.{i}."
                t = t + _hand_attention(ln(t, sd, a + "layer_norm1", 1e-5), sd, a + "self_attn.",
                                        ("q_proj", "k_proj", "v_proj", "out_proj"), 2)
                z = ln(t, sd, a + "layer_norm2", 1e-5) @ sd[a + "mlp.fc1.weight"].T + sd[a + "mlp.fc1.bias"]
                z = z * torch.sigmoid(1.702 * z)  # quick_gelu, the CLIPVisionConfig default
                t = t + z @ sd[a + "mlp.fc2.weight"].T + sd[a + "mlp.fc2.bias"]
            pooled = ln(t[:, 0], sd, p + "post_layernorm", 1e-5)
            emb = pooled @ sd["visual_projection.weight"].T
        err = max((o["last_hidden_state"] - t).abs().max().item(), (o["features"] - pooled).abs().max().item(),
                  (o["logits"] - emb).abs().max().item(),
                  (o["tokens"] - ln(t, sd, p + "post_layernorm", 1e-5)).abs().max().item())
        assert err < 1e-12, (S, err)
        print(f"CLIPVisionModelWithProjection at {S} (interpolate_pos_encoding={interp}) vs explicit "
              f"computation: max |diff| {err:.2e}")
    try:
        m(rand_x(1, 3, 56))
        raise AssertionError("expected a refusal")
    except ValueError:
        pass

    # ---- config.json round trips (CLIP's nested configs hold only non-default values) --------
    for cfg, arch in ((Dinov2Config(hidden_size=12, num_hidden_layers=1, use_mask_token=False,
                                    id2label={0: "x", 1: "y", 2: "z"}), "Dinov2ForImageClassification"),
                      (Dinov2Config(model_type="dinov2_with_registers", num_register_tokens=2,
                                    use_swiglu_ffn=True, mlp_ratio=3.5), "Dinov2WithRegistersModel"),
                      (CLIPVisionConfig(hidden_size=20, hidden_act="gelu"), "CLIPVisionModel"),
                      (CLIPConfig(text_config=CLIPTextConfig(vocab_size=99, hidden_size=8),
                                  vision_config=CLIPVisionConfig(image_size=42, patch_size=14),
                                  projection_dim=7), "CLIPModel")):
        d = json.loads(config_json(cfg, arch))
        back, arch2 = config_from_dict(d)
        assert back == cfg and arch2 == arch, (back, cfg)
    d = config_dict(CLIPConfig(vision_config=CLIPVisionConfig(image_size=42)), "CLIPModel")
    assert d["vision_config"] == {"image_size": 42, "model_type": "clip_vision_model"}, d
    assert d["text_config"] == {"model_type": "clip_text_model"}
    print("DINOv2 / CLIP config.json round trips (CLIP sub-configs hold only non-default keys)")


class _patched:
    """with _patched(obj, attr, value): set an attribute for the duration of the block."""

    def __init__(self, obj, attr, value):
        self.obj, self.attr, self.value = obj, attr, value

    def __enter__(self):
        self.old = getattr(self.obj, self.attr)
        setattr(self.obj, self.attr, self.value)

    def __exit__(self, *exc):
        setattr(self.obj, self.attr, self.old)


def import_timm():
    """timm from $TIMM_SRC (default /tmp/timm) for the optional self-checks; None if absent.
    Nothing else in this module or the generator needs timm."""
    import os
    import sys

    src = os.environ.get("TIMM_SRC", "/tmp/timm")
    if not os.path.isfile(os.path.join(src, "timm", "__init__.py")):
        return None
    if src not in sys.path:
        sys.path.insert(0, src)
    import timm
    return timm


def _qkv(sd, a, names, bias):
    w = torch.cat([sd[a + n + ".weight"] for n in names], 0)
    if bias:
        b = torch.cat([sd[a + n + ".bias"] for n in names], 0)
    else:
        b = torch.zeros(w.shape[0], dtype=w.dtype)
    return w, b


def _dinov2_to_timm(sd, cfg, prefix, no_embed_class):
    """transformers DINOv2 names -> timm VisionTransformer (init_values set, dinov2 family).
    timm's no_embed_class models (the reg4 ones) have no class row in pos_embed: transformers'
    class position row is folded into cls_token there. mask_token has no timm counterpart."""
    p = prefix + "embeddings."
    pos = sd[p + "position_embeddings"]
    out = {"patch_embed.proj.weight": sd[p + "patch_embeddings.projection.weight"],
           "patch_embed.proj.bias": sd[p + "patch_embeddings.projection.bias"],
           "norm.weight": sd[prefix + "layernorm.weight"], "norm.bias": sd[prefix + "layernorm.bias"]}
    if no_embed_class:
        out["cls_token"] = sd[p + "cls_token"] + pos[:, :1]
        out["pos_embed"] = pos[:, 1:]
    else:
        out["cls_token"] = sd[p + "cls_token"]
        out["pos_embed"] = pos
    if cfg.registers:
        out["reg_token"] = sd[p + "register_tokens"]
    mlp = ("weights_in", "weights_out") if cfg.use_swiglu_ffn else ("fc1", "fc2")
    for i in range(cfg.num_hidden_layers):
        a, b = f"{prefix}encoder.layer.{i}.", f"blocks.{i}."
        out[b + "attn.qkv.weight"], out[b + "attn.qkv.bias"] = _qkv(
            sd, a + "attention.attention.", ("query", "key", "value"), cfg.qkv_bias)
        for src, dst in (("norm1", "norm1"), ("norm2", "norm2"), ("attention.output.dense", "attn.proj"),
                         (f"mlp.{mlp[0]}", "mlp.fc1"), (f"mlp.{mlp[1]}", "mlp.fc2")):
            out[b + dst + ".weight"] = sd[a + src + ".weight"]
            out[b + dst + ".bias"] = sd[a + src + ".bias"]
        out[b + "ls1.gamma"] = sd[a + "layer_scale1.lambda1"]
        out[b + "ls2.gamma"] = sd[a + "layer_scale2.lambda1"]
    return out


def _clip_to_timm(sd, cfg, proj_key):
    """transformers CLIP vision names -> timm's CLIP ViT (pre_norm, bias-free patch conv);
    timm's head gets visual_projection and a zero bias."""
    p = "vision_model."
    D = cfg.hidden_size
    out = {"cls_token": sd[p + "embeddings.class_embedding"].reshape(1, 1, D),
           "pos_embed": sd[p + "embeddings.position_embedding.weight"][None],
           "patch_embed.proj.weight": sd[p + "embeddings.patch_embedding.weight"],
           "norm_pre.weight": sd[p + "pre_layrnorm.weight"], "norm_pre.bias": sd[p + "pre_layrnorm.bias"],
           "norm.weight": sd[p + "post_layernorm.weight"], "norm.bias": sd[p + "post_layernorm.bias"],
           "head.weight": sd[proj_key],
           "head.bias": torch.zeros(sd[proj_key].shape[0], dtype=sd[proj_key].dtype)}
    for i in range(cfg.num_hidden_layers):
        a, b = f"{p}encoder.layers.{i}.", f"blocks.{i}."
        out[b + "attn.qkv.weight"], out[b + "attn.qkv.bias"] = _qkv(
            sd, a + "self_attn.", ("q_proj", "k_proj", "v_proj"), True)
        for src, dst in (("layer_norm1", "norm1"), ("layer_norm2", "norm2"),
                         ("self_attn.out_proj", "attn.proj"), ("mlp.fc1", "mlp.fc1"), ("mlp.fc2", "mlp.fc2")):
            out[b + dst + ".weight"] = sd[a + src + ".weight"]
            out[b + dst + ".bias"] = sd[a + src + ".bias"]
    return out


def _timm_tokens_features(tm, x):
    with torch.no_grad():
        tok = tm.forward_features(x)
        return tok, tm.forward_head(tok, pre_logits=True), tm.forward_head(tok)


def _timm_checks(timm, rand_x):
    """transformers-semantics references against timm itself on the same weights."""
    dd = torch.float64

    def mk(name, **kw):
        return timm.create_model(name, pretrained=False, **kw).to(dd).eval()

    def diff(a, b):
        return (a - b).abs().max().item()

    # ---- DINOv2 (no registers): timm's pos_embed keeps the class row (no_embed_class False)
    for swiglu in (False, True):
        cfg = Dinov2Config(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, image_size=56,
                           use_swiglu_ffn=swiglu, id2label={i: f"c{i}" for i in range(3)})
        m = Dinov2ForImageClassification(cfg).to(dd).eval()
        randomize_(m, 11)
        name = "vit_giant_patch14_dinov2" if swiglu else "vit_small_patch14_dinov2"
        kw = dict(mlp_ratio=2 * cfg.mlp_hidden / 16) if swiglu else {}
        tm = mk(name, embed_dim=16, depth=2, num_heads=2, img_size=56, num_classes=0,
                init_values=1.0, dynamic_img_size=True, **kw)
        tm.load_state_dict(_dinov2_to_timm(m.state_dict(), cfg, "dinov2.", False), strict=True)
        x = rand_x(2, 3, 56)
        with torch.no_grad():
            o = m(x)
        tok, ft, _ = _timm_tokens_features(tm, x)
        feats = torch.cat([tok[:, 0], tok[:, 1:].mean(1)], 1)
        lg = feats @ m.classifier.weight.T + m.classifier.bias
        err = max(diff(o["tokens"], tok), diff(o["features"], feats), diff(o["logits"], lg))
        assert err < 1e-12, err
        # at other sizes timm resamples with antialias=True, transformers' Dinov2 without
        ds = []
        for S in (28, 42, 70):
            x = rand_x(1, 3, S)
            with torch.no_grad():
                o = m(x)
            ds.append(diff(o["tokens"], _timm_tokens_features(tm, x)[0]))
        assert min(ds) > 1e-4, ds
        print(f"Dinov2ForImageClassification (swiglu={swiglu}, D 16) vs timm {name}: 56 (no "
              f"resampling) max |diff| {err:.2e}; at 28 / 42 / 70 timm's antialiased resampling "
              f"DIFFERS: tokens " + ", ".join(f"{d:.2g}" for d in ds))

    # ---- DINOv2 with registers == timm's reg4 dinov2 (no_embed_class, antialias) at every size
    for R, qkv_bias in ((4, True), (2, False)):
        cfg = Dinov2Config(model_type="dinov2_with_registers", hidden_size=16, num_hidden_layers=2,
                           num_attention_heads=2, image_size=56, patch_size=14, num_register_tokens=R,
                           qkv_bias=qkv_bias, id2label={i: f"c{i}" for i in range(3)})
        m = Dinov2WithRegistersForImageClassification(cfg).to(dd).eval()
        randomize_(m, 12)
        tm = mk("vit_small_patch14_reg4_dinov2", embed_dim=16, depth=2, num_heads=2, img_size=56,
                num_classes=0, init_values=1.0, reg_tokens=R, dynamic_img_size=True, qkv_bias=True)
        tm.load_state_dict(_dinov2_to_timm(m.state_dict(), cfg, "dinov2_with_registers.", True), strict=True)
        errs = []
        for S, B in ((56, 2), (28, 1), (42, 1), (70, 1)):
            x = rand_x(B, 3, S)
            with torch.no_grad():
                o = m(x)
            tok = _timm_tokens_features(tm, x)[0]
            feats = torch.cat([tok[:, 0], tok[:, 1 + R:].mean(1)], 1)
            errs.append(max(diff(o["tokens"], tok), diff(o["features"], feats)))
        assert max(errs) < 1e-6, errs  # the resampled table is float32 on both sides
        print(f"Dinov2WithRegistersForImageClassification (R {R}, qkv_bias={qkv_bias}) vs timm "
              f"vit_small_patch14_reg4_dinov2 at 56 / 28 / 42 / 70: max |diff| "
              + ", ".join(f"{e:.1e}" for e in errs))

    # ---- CLIP vision tower == timm's CLIP ViT at the configured size -------------------------
    for act, name in (("quick_gelu", "vit_base_patch16_clip_quickgelu_224"), ("gelu", "vit_base_patch16_clip_224")):
        cfg = CLIPVisionConfig(hidden_size=16, intermediate_size=40, projection_dim=12,
                               num_hidden_layers=2, num_attention_heads=2, image_size=42,
                               patch_size=14, hidden_act=act)
        m = CLIPVisionModelWithProjection(cfg).to(dd).eval()
        randomize_(m, 13)
        tm = mk(name, embed_dim=16, depth=2, num_heads=2, img_size=42, patch_size=14,
                mlp_ratio=40 / 16, num_classes=12, dynamic_img_size=True)
        tm.load_state_dict(_clip_to_timm(m.state_dict(), cfg, "visual_projection.weight"), strict=True)
        x = rand_x(2, 3, 42)
        with torch.no_grad():
            o = m(x)
        tok, ft, lg = _timm_tokens_features(tm, x)
        err = max(diff(o["tokens"], tok), diff(o["features"], ft), diff(o["logits"], lg))
        assert err < 1e-12, err
        x = rand_x(1, 3, 56)
        with torch.no_grad():
            d56 = diff(m(x, interpolate_pos_encoding=True)["tokens"], _timm_tokens_features(tm, x)[0])
        assert d56 > 1e-4
        print(f"CLIPVisionModelWithProjection ({act}) vs timm {name}: tokens (post_layernorm of "
              f"every token), pooler, image_embeds max |diff| {err:.2e}; at 56 with "
              f"interpolate_pos_encoding, timm's antialiased resampling DIFFERS: {d56:.2g}")

    # ---- DeiTForImageClassificationWithTeacher == timm's distilled DeiT ----------------------
    cfg = ViTConfig(model_type="deit", hidden_size=12, num_hidden_layers=2, num_attention_heads=3,
                    intermediate_size=30, image_size=24, patch_size=8, layer_norm_eps=1e-6,
                    id2label={i: f"c{i}" for i in range(4)})
    m = DeiTForImageClassificationWithTeacher(cfg).to(dd).eval()
    randomize_(m, 14)
    sd = m.state_dict()
    tsd = _vit_to_timm(sd, cfg, "deit.")
    tsd.update({"dist_token": sd["deit.embeddings.distillation_token"],
                "head.weight": sd["cls_classifier.weight"], "head.bias": sd["cls_classifier.bias"],
                "head_dist.weight": sd["distillation_classifier.weight"],
                "head_dist.bias": sd["distillation_classifier.bias"]})
    tm = mk("deit_small_distilled_patch16_224", embed_dim=12, depth=2, num_heads=3, img_size=24,
            patch_size=8, mlp_ratio=30 / 12, num_classes=4)
    tm.load_state_dict(tsd, strict=True)
    x = rand_x(2, 3, 24)
    with torch.no_grad():
        o = m(x)
    tok, ft, lg = _timm_tokens_features(tm, x)
    err = max(diff(o["tokens"], tok), diff(o["features"], ft), diff(o["logits"], lg))
    assert err < 1e-12, err
    print(f"DeiTForImageClassificationWithTeacher vs timm deit_small_distilled_patch16_224: "
          f"tokens, features ((t0 + t1) / 2), logits max |diff| {err:.2e}")


def _self_check():
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import swin_ref
    import vit_ref

    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(77)
    dd = torch.float64

    def rand_x(B, C, S):
        return torch.rand(B, C, S, S, generator=g, dtype=dd) * 4 - 2

    # ---- ViT against timm semantics (vit_ref.VisionTransformer), qkv_bias both ways --------
    for qkv_bias, eps, D, nh in ((True, 1e-12, 12, 3), (False, 1e-3, 15, 3)):
        cfg = ViTConfig(hidden_size=D, num_hidden_layers=2, num_attention_heads=nh,
                        intermediate_size=20, image_size=24, patch_size=8, qkv_bias=qkv_bias,
                        layer_norm_eps=eps, id2label={i: f"c{i}" for i in range(4)})
        m = ViTForImageClassification(cfg).double().eval()
        randomize_(m, 1)
        tm = vit_ref.VisionTransformer(vit_ref.ViTConfig(
            img_size=24, patch_size=8, embed_dim=D, depth=2, num_heads=nh, mlp_hidden_dim=20,
            num_classes=4, norm_eps=eps)).double().eval()
        tm.load_state_dict(_vit_to_timm(m.state_dict(), cfg, "vit."), strict=True)
        x = rand_x(2, 3, 24)
        with torch.no_grad():
            o = m(x)
            lg, ft, st = tm(x)
        err = max((o["logits"] - lg).abs().max().item(), (o["features"] - ft).abs().max().item(),
                  (o["stage0"] - st).abs().max().item())
        assert err < 1e-12, err
        print(f"ViTForImageClassification (D {D}, heads {nh}, qkv_bias={qkv_bias}, eps={eps}) vs timm-style "
              f"VisionTransformer: max |diff| {err:.2e}")
    # ViTModel's pooler and the bare names
    cfg = ViTConfig(hidden_size=12, num_attention_heads=2, image_size=16, patch_size=8)
    vm = ViTModel(cfg).double().eval()
    randomize_(vm, 2)
    assert not any(k.startswith("vit.") for k in vm.state_dict())
    x = rand_x(2, 3, 16)
    with torch.no_grad():
        o = vm(x)
        want = torch.tanh(o["last_hidden_state"][:, 0] @ vm.pooler.dense.weight.T + vm.pooler.dense.bias)
    assert torch.allclose(o["pooler"], want, atol=1e-14, rtol=0)

    # ---- DeiT: timm's blocks (vit_ref) with the two prefix tokens handled by hand ----------
    cfg = ViTConfig(model_type="deit", hidden_size=12, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=28, image_size=24, patch_size=8, layer_norm_eps=1e-6,
                    id2label={i: f"c{i}" for i in range(3)})
    dm = DeiTForImageClassification(cfg).double().eval()
    randomize_(dm, 3)
    sd = dm.state_dict()
    assert sd["deit.embeddings.position_embeddings"].shape == (1, 9 + 2, 12)
    tsd = _vit_to_timm(sd, cfg, "deit.")
    tsd["pos_embed"] = tsd["pos_embed"][:, :1 + 9]  # placeholder rows; the embedding is done by hand
    tm = vit_ref.VisionTransformer(vit_ref.ViTConfig(
        img_size=24, patch_size=8, embed_dim=12, depth=2, num_heads=4, mlp_hidden_dim=28,
        num_classes=3, norm_eps=1e-6)).double().eval()
    tm.load_state_dict(tsd, strict=True)
    x = rand_x(2, 3, 24)
    with torch.no_grad():
        o = dm(x)
        pt = tm.patch_embed(x)
        tok = torch.cat([sd["deit.embeddings.cls_token"].expand(2, -1, -1),
                         sd["deit.embeddings.distillation_token"].expand(2, -1, -1), pt], 1)
        tok = tm.blocks(tok + sd["deit.embeddings.position_embeddings"])
        lhs = tm.norm(tok)
        want = tm.head(lhs[:, 0])
        dist = tm.head(lhs[:, 1])
    err = max((o["logits"] - want).abs().max().item(), (o["last_hidden_state"] - lhs).abs().max().item(),
              (o["stage0"] - tok[:, 2:].reshape(2, 3, 3, 12)).abs().max().item())
    assert err < 1e-12, err
    d_tok1 = (o["logits"] - dist).abs().max().item()
    assert d_tok1 > 1e-3
    print(f"DeiTForImageClassification vs timm blocks with [cls, dist] prefix: max |diff| "
          f"{err:.2e}; reading token 1 instead would differ by {d_tok1:.2f}")

    # ---- Swin: no padding anywhere -> equal to timm semantics ------------------------------
    for img, win, depths, heads, ratio in ((224, 7, (2, 2, 2, 2), (1, 2, 2, 4), 2.0),
                                           (128, 4, (2, 3, 2, 2), (2, 2, 4, 4), 3.0),
                                           (96, 6, (1, 2, 2), (1, 1, 2), 2.5)):
        cfg = SwinConfig(image_size=img, patch_size=4, embed_dim=4, depths=depths, num_heads=heads,
                         window_size=win, mlp_ratio=ratio, id2label={i: f"c{i}" for i in range(5)})
        m = SwinForImageClassification(cfg).double().eval()
        randomize_(m, 4)
        x = rand_x(2, 3, img)
        with torch.no_grad():
            o = m(x)
        lg, ft, st = timm_swin_outputs(m, cfg, x)
        err = max((o["logits"] - lg).abs().max().item(), (o["features"] - ft).abs().max().item(),
                  max((o[f"stage{s}"] - st[s]).abs().max().item() for s in range(len(depths))))
        assert err < 1e-12, err
        print(f"Swin img {img} w{win} depths {depths} (resolutions "
              f"{cfg.runtime_resolutions(img)}, no padding) vs timm semantics: max |diff| {err:.2e}")

    # ---- Swin: padded sizes: transformers' and timm's orders give different results --------
    cfg = SwinConfig(image_size=256, patch_size=4, embed_dim=4, depths=(2, 2, 2, 2),
                     num_heads=(1, 2, 2, 4), window_size=7, mlp_ratio=2.0,
                     id2label={i: f"c{i}" for i in range(5)})
    m = SwinForImageClassification(cfg).double().eval()
    randomize_(m, 5)
    x = rand_x(1, 3, 256)
    with torch.no_grad():
        o = m(x)
    lg, ft, st = timm_swin_outputs(m, cfg, x)
    diffs = [(o[f"stage{s}"] - st[s]).abs().max().item() for s in range(4)]
    dl = (o["logits"] - lg).abs().max().item()
    assert dl > 1e-3 and all(d > 1e-3 for d in diffs)
    print(f"Swin img 256 w7 (64, 32, 16, 8: every stage padded): transformers vs timm order "
          f"DIFFER: logits {dl:.3f}, stages " + ", ".join(f"{d:.3f}" for d in diffs))

    # ---- Swin layer, shifted and padded, against a per-window loop -------------------------
    for (H, win, b) in ((8, 7, 1), (10, 4, 1), (10, 4, 0), (9, 4, 1)):
        cfg = SwinConfig(window_size=win, embed_dim=8, layer_norm_eps=1e-5)
        layer = SwinLayer(cfg, 8, 2, b).double().eval()
        randomize_(layer, 6)
        x = torch.randn(2, H * H, 8, generator=g, dtype=dd)
        with torch.no_grad():
            err = (layer(x, H, H) - brute_swin_layer(layer, x, H, H)).abs().max().item()
        assert err < 1e-12, err
        w, s = cfg.window_shift(b, H, H)
        print(f"SwinLayer {H}x{H} window {w} shift {s} (padded to {-(-H // w) * w}) vs "
              f"per-window loop: max |diff| {err:.2e}")
    # ... and the same padded, shifted layer in timm's order is different
    cfg = SwinConfig(window_size=7, embed_dim=8)
    layer = SwinLayer(cfg, 8, 2, 1).double().eval()
    randomize_(layer, 6)
    tblk = swin_ref.SwinBlock(8, 2, (7, 7), (3, 3), 32, 1e-5).double().eval()
    tsd = {"norm1.weight": layer.layernorm_before.weight, "norm1.bias": layer.layernorm_before.bias,
           "norm2.weight": layer.layernorm_after.weight, "norm2.bias": layer.layernorm_after.bias,
           "attn.relative_position_bias_table": getattr(layer.attention, "self").relative_position_bias_table,
           "attn.qkv.weight": torch.cat([getattr(getattr(layer.attention, "self"), n).weight for n in ("query", "key", "value")]),
           "attn.qkv.bias": torch.cat([getattr(getattr(layer.attention, "self"), n).bias for n in ("query", "key", "value")]),
           "attn.proj.weight": layer.attention.output.dense.weight, "attn.proj.bias": layer.attention.output.dense.bias,
           "mlp.fc1.weight": layer.intermediate.dense.weight, "mlp.fc1.bias": layer.intermediate.dense.bias,
           "mlp.fc2.weight": layer.output.dense.weight, "mlp.fc2.bias": layer.output.dense.bias}
    tblk.load_state_dict(tsd, strict=True)
    x = torch.randn(2, 64, 8, generator=g, dtype=dd)
    with torch.no_grad():
        d = (layer(x, 8, 8) - tblk(x.reshape(2, 8, 8, 8)).reshape(2, 64, 8)).abs().max().item()
    assert d > 1e-3
    print(f"SwinLayer 8x8 window 7 shift 3: pad-then-roll (transformers) vs roll-then-pad "
          f"(timm): max |diff| {d:.3f}")

    # ---- PatchMerging with odd sizes equals timm's ------------------------------------------
    pm = SwinPatchMerging(6).double()
    randomize_(pm, 7)
    tpm = swin_ref.PatchMerging(6, 1e-5).double()
    tpm.load_state_dict(pm.state_dict(), strict=True)
    x = torch.randn(2, 7, 5, 6, generator=g, dtype=dd)
    err = (pm(x.reshape(2, 35, 6), 7, 5).reshape(2, 4, 3, 12) - tpm(x)).abs().max().item()
    assert err < 1e-13, err

    # ---- Where transformers' Swin cannot run: runtime stage smaller than the window --------
    cfg = SwinConfig(image_size=96, patch_size=4, embed_dim=4, depths=(2, 2, 2, 2),
                     num_heads=(1, 1, 2, 2), window_size=7, id2label={0: "a", 1: "b"})
    m = SwinForImageClassification(cfg).double().eval()
    try:
        m(rand_x(1, 3, 96))
        raise AssertionError("expected a failure")
    except ValueError as e:
        print(f"Swin img 96 w7 (stages {cfg.runtime_resolutions(96)}): refused like transformers: {e}")
    # window / shift rule on runtime sizes, not configured ones
    cfg = SwinConfig(window_size=5)
    assert [cfg.window_shift(1, r, r) for r in (18, 9, 5)] == [(5, 2), (5, 2), (5, 0)]

    # ---- DINOv2, DINOv2 with registers, CLIP, DeiT with teacher ------------------------------
    _new_model_checks(rand_x)
    timm = import_timm()
    _swinv2_checks(rand_x, timm)
    if timm is None:
        print("timm not found ($TIMM_SRC or /tmp/timm): the checks against timm itself are skipped")
    else:
        _timm_checks(timm, rand_x)

    # ---- Preprocessing: the pieces against independent paths -------------------------------
    from PIL import Image
    import torchvision.transforms.functional as TF

    for (h, w) in ((266, 400), (240, 160), (100, 150), (180, 240), (64, 64), (33, 97)):
        for n in (61, 64, 72, 224, 256):
            img = Image.new("RGB", (w, h))
            tv = TF.resize(img, n).size  # torchvision's Resize(int): (w, h)
            assert resize_output_size(h, w, {"shortest_edge": n}) == (tv[1], tv[0]), (h, w, n)
            assert resize_output_size(h, w, {"shortest_edge": n}) == (
                (n * h // w, n) if w <= h else (n, n * w // h))
    rng = np.random.default_rng(0)
    for (H, W, ch, cw) in ((10, 10, 4, 4), (9, 12, 4, 7), (5, 6, 8, 8), (5, 12, 8, 7), (7, 3, 4, 6)):
        a = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
        got = center_crop(a, ch, cw)
        # transformers' arithmetic transcribed: pad to max, then slice
        top, left = (H - ch) // 2, (W - cw) // 2
        if top >= 0 and left >= 0 and top + ch <= H and left + cw <= W:
            want = a[top:top + ch, left:left + cw]
        else:
            nh, nw = max(ch, H), max(cw, W)
            big = np.zeros((nh, nw, 3), np.uint8)
            tp, lp = math.ceil((nh - H) / 2), math.ceil((nw - W) / 2)
            big[tp:tp + H, lp:lp + W] = a
            t, l = top + tp, left + lp
            want = big[max(0, t):min(nh, t + ch), max(0, l):min(nw, l + cw)]
        assert np.array_equal(got, want), (H, W, ch, cw)
    u8 = rng.integers(0, 256, (3, 5, 7), dtype=np.uint8)
    mean, std = IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
    img = Image.fromarray(u8.transpose(1, 2, 0), "RGB")
    f32, back = hf_preprocess(img, {"do_resize": False, "image_mean": mean, "image_std": std,
                                    "image_processor_type": "ViTImageProcessor"})
    assert np.array_equal(back, u8)
    t = (torch.from_numpy(u8).double() * (1 / 255)).float()
    t = (t - torch.tensor(mean, dtype=torch.float32)[:, None, None]) / torch.tensor(std, dtype=torch.float32)[:, None, None]
    assert np.array_equal(f32, t.numpy())
    print("preprocessing: shortest_edge sizes = torchvision's, center crop = transformers' "
          "pad-and-slice, normalization = torch float32")
    print("transformers_ref self-check OK")


if __name__ == "__main__":
    _self_check()
