"""Regenerate every file under tests/fixtures/vit_family/ deterministically, with timm itself:

    TIMM_SRC=/path/to/pytorch-image-models /usr/bin/python3 tests/reference/gen_vit_family_fixtures.py

(needs torch, numpy and a timm source tree given by $TIMM_SRC; CI never runs it). Each case is a
timm architecture from timm's registry, shrunk through model_args (2 blocks, 16 to 32 channels,
a few patches) with the feature under test kept, every parameter and buffer randomised by
check_timm_archs.randomise (norm weights 1 + 0.1 N, biases 0.1 N, tokens and position tables
0.5 N, layer-scale gammas 1 + 0.1 N, weights N / sqrt(fan_in)), written as the hub folder timm's
save_for_hf writes (model.safetensors in F32 and config.json with the model_args), and run by
timm in float64:

    <case>.expected.safetensors   logits [B, K] (when the model has a head), features [B, D]
                                  (forward_head(..., pre_logits=True)), tokens [B, T, D]
                                  (forward_features), and the same with a suffix @S for each
                                  extra input size S (batch 1)

Inputs are not stored: tests compute them with the hash of tests/fixtures/README.md (seed per
case below). tests/fixtures/vit_family/README.md lists what each case covers.
"""
import json
import os
import shutil
import sys

import torch
from pathlib import Path

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_timm_archs as cta  # noqa: E402
import safetensors_io as st  # noqa: E402
from gen_fixtures import input_hash  # noqa: E402

OUT = os.path.join(HERE, "..", "fixtures", "vit_family")

SMALL = dict(embed_dim=16, depth=2, num_heads=2)

# case, timm architecture, model_args, batch, input size, extra sizes (batch 1), input seed
CASES = [
    # layer scale, no_embed_class (position table on the patches only), avg... token pooling
    ("deit3", "deit3_small_patch16_224", dict(SMALL, img_size=48, num_classes=5), 2, 48, [], 31),
    # DINOv2 with registers: reg_tokens 4, layer scale, no_embed_class, no head; the table
    # (4x4 patches) resampled to 2x2 (shrinking: the antialiased filter widens), 3x3 and 5x5
    ("dinov2_reg", "vit_small_patch14_reg4_dinov2",
     dict(SMALL, img_size=56, dynamic_img_size=True), 2, 56, [28, 42, 70], 32),
    # DINOv2 without registers, with a head; the table resampled up and down
    ("dinov2_head", "vit_small_patch14_dinov2",
     dict(SMALL, img_size=42, num_classes=4, dynamic_img_size=True), 1, 42, [28, 84], 33),
    # packed SwiGLU (timm's DINOv2 giant MLP), layer scale
    ("dinov2_swiglu", "vit_giant_patch14_dinov2",
     dict(SMALL, img_size=28, mlp_ratio=4.0, num_classes=3), 2, 28, [], 34),
    # CLIP: norm_pre, patch embedding without bias, LayerNorm eps 1e-5
    ("clip", "vit_base_patch16_clip_224", dict(SMALL, img_size=32, num_classes=6), 2, 32, [], 35),
    # CLIP with QuickGELU
    ("clip_quickgelu", "vit_base_patch16_clip_quickgelu_224",
     dict(SMALL, img_size=32, num_classes=6), 2, 32, [], 36),
    # SigLIP: attention pooling (map), no class token, tanh GELU, MLP ratio 3.7362
    ("siglip_map", "vit_so400m_patch16_siglip_256",
     dict(SMALL, img_size=48, num_classes=5), 2, 48, [], 37),
    # SigLIP with exact GELU and attention pooling, no head: features are the pooled latent
    ("siglip_map_nohead", "vit_base_patch16_siglip_224",
     dict(SMALL, img_size=48, num_classes=0), 2, 48, [], 38),
    # ResPostBlock (norm inside the residual), avg pooling with fc_norm
    ("rpn", "vit_base_patch16_rpn_224", dict(SMALL, img_size=48, num_classes=5), 2, 48, [], 39),
    # distilled DeiT: distillation token and head, mean of the two heads
    ("deit_distilled", "deit_small_distilled_patch16_224",
     dict(SMALL, img_size=32, num_classes=5), 2, 32, [], 40),
    # qk-norm and qkv without bias (timm arguments on a plain ViT)
    ("qknorm", "vit_small_patch16_224",
     dict(SMALL, img_size=32, num_classes=5, qk_norm=True, qkv_bias=False), 2, 32, [], 41),
    # avgmax and max pooling of the patch tokens, fc_norm; SiLU MLP
    ("avgmax", "vit_small_patch16_224",
     dict(SMALL, img_size=32, num_classes=5, global_pool="avgmax", act_layer="silu"), 2, 32, [],
     42),
    ("max_noclass", "vit_small_patch16_224",
     dict(SMALL, img_size=32, num_classes=5, global_pool="max", class_token=False), 2, 32, [],
     43),
    # relative-position ViTs: RelPosMlp bias per block (avg pooling with fc_norm, no qkv bias),
    # shared by all blocks (norm before avg pooling), with a class token (token pooling)
    ("relpos", "vit_relpos_small_patch16_224", dict(SMALL, img_size=48, num_classes=5), 2, 48, [],
     45),
    ("srelpos", "vit_srelpos_small_patch16_224",
     dict(SMALL, img_size=48, num_classes=5, rel_pos_dim=24), 2, 48, [], 46),
    ("relpos_cls", "vit_relpos_medium_patch16_cls_224",
     dict(SMALL, img_size=32, num_classes=5, rel_pos_dim=24), 2, 32, [], 47),
    # timm's Eva: EVA02 (RoPE "cat" with ref_feat_shape, q/v biases, packed SwiGLU), also at
    # other sizes (position table resampled, RoPE rebuilt for the grid)
    ("eva02", "eva02_small_patch14_224",
     dict(SMALL, img_size=56, num_classes=5, dynamic_img_size=True), 2, 56, [28, 70], 48),
    # EVA02 base: unfused q/k/v projections (no k bias), SwiGLU with split fc1 and its norm
    ("eva02_split", "eva02_base_patch14_224", dict(SMALL, img_size=28, num_classes=5), 2, 28, [],
     49),
    # EVA02 CLIP: the attention's inner norm, class-token pooling
    ("eva02_clip", "eva02_base_patch16_clip_224", dict(SMALL, img_size=32, num_classes=6), 2, 32,
     [], 50),
    # the rope ViTs: AttentionRope (fused qkv bias), xy grid, layer scale; mixed (learned) RoPE
    ("rope_xy", "vit_small_patch16_rope_ape_224", dict(SMALL, img_size=48, num_classes=5), 2, 48,
     [], 51),
    ("rope_mixed", "vit_small_patch16_rope_mixed_224", dict(SMALL, img_size=48, num_classes=5), 2,
     48, [], 52),
    # DINOv3: RoPE "dinov3" (half rotation), 4 registers, no position table, any grid
    ("dinov3", "vit_small_patch16_dinov3", dict(SMALL, img_size=48, dynamic_img_size=True), 2, 48,
     [32, 64], 53),
    # Perception Encoder: norm_pre, attention pooling with its own heads, RoPE offset 1
    ("pe_core", "vit_pe_core_tiny_patch16_384",
     dict(SMALL, img_size=48, num_classes=5, attn_pool_num_heads=4), 2, 48, [], 54),
    # attention pooling of the patch tokens only (timm leaves the registers out), and of every
    # token (pool_include_prefix); avg pooling with the prefix tokens
    ("map_regs", "vit_so150m_patch16_reg4_map_256", dict(SMALL, img_size=48, num_classes=5), 2,
     48, [], 55),
    ("map_prefix", "vit_so150m_patch16_reg4_map_256",
     dict(SMALL, img_size=48, num_classes=5, pool_include_prefix=True), 2, 48, [], 56),
    ("avg_prefix", "vit_small_patch16_224",
     dict(SMALL, img_size=32, num_classes=5, global_pool="avg", pool_include_prefix=True), 2, 32,
     [], 57),
    # no final norm (timm's final_norm=False), register tokens without a class token
    ("no_final_norm", "vit_small_patch16_224",
     dict(SMALL, img_size=32, num_classes=5, final_norm=False, class_token=False, reg_tokens=2,
          global_pool="avg"), 2, 32, [], 44),
]


def outputs(model, x):
    with torch.no_grad():
        tokens = model.forward_features(x)
        features = model.forward_head(tokens, pre_logits=True)
        logits = model.forward_head(tokens) if model.num_classes else None
    out = {"tokens": tokens, "features": features}
    if logits is not None:
        out["logits"] = logits
    return out


def generate(out, cases, script, outputs_fn=outputs, tweak=None):
    """Writes every case of `cases` into `out` (see the module's docstring); tweak(model, case),
    when given, changes parameters after the randomisation."""
    timm, commit = cta.import_timm()
    from timm.models._hub import save_config_for_hf
    # everything but the README is generated: remove it first (a dropped case leaves nothing)
    os.makedirs(out, exist_ok=True)
    for entry in os.listdir(out):
        path = os.path.join(out, entry)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif entry != "README.md":
            os.remove(path)
    for case, arch, margs, batch, img, extra, seed in cases:
        with cta.no_init(), torch.no_grad():
            model = timm.create_model(arch, **margs)
        model.eval()
        cta.randomise(model, case)
        if tweak:
            tweak(model, case)
        folder = os.path.join(out, case)
        os.makedirs(folder)
        sd = {k: v.detach().to(torch.float32).contiguous() for k, v in model.state_dict().items()
              if v.is_floating_point()}
        st.write(os.path.join(folder, "model.safetensors"), sd, dtype="F32")
        save_config_for_hf(model, Path(folder) / "config.json", model_args=margs)
        with open(os.path.join(folder, "config.json")) as f:
            cfg = json.load(f)
        with open(os.path.join(folder, "config.json"), "w") as f:  # stable formatting
            json.dump(cfg, f, indent=2, sort_keys=True)
            f.write("\n")
        # float64, except where timm cannot (its mixed RoPE casts to float32 inside)
        dt = torch.float32 if "mixed" in arch else torch.float64
        m64 = model.to(dt)
        exp = {}
        for key, t in outputs_fn(m64, input_hash((batch, 3, img, img), seed).to(dt)).items():
            exp[key] = t.float()
        for size in extra:
            x = input_hash((1, 3, size, size), seed + size)
            for key, t in outputs_fn(m64, x.to(dt)).items():
                exp["%s@%d" % (key, size)] = t.float()
        st.write(os.path.join(out, case + ".expected.safetensors"), exp, dtype="F32",
                 metadata={"regenerate": "TIMM_SRC=... /usr/bin/python3 tests/reference/" + script,
                           "timm": commit})
        print("%-18s %-36s %s" % (case, arch, ", ".join("%s %s" % (k, list(v.shape))
                                                        for k, v in exp.items())))


def main():
    generate(OUT, CASES, "gen_vit_family_fixtures.py")


if __name__ == "__main__":
    main()
