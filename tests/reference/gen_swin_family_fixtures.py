"""Regenerate every file under tests/fixtures/swin_family/ deterministically, with timm itself:

    TIMM_SRC=/path/to/pytorch-image-models /usr/bin/python3 tests/reference/gen_swin_family_fixtures.py

(needs torch, numpy and a timm source tree given by $TIMM_SRC; CI never runs it). As
gen_vit_family_fixtures.py, for the Swin family: timm's Swin V2 (SwinTransformerV2), its own V2
variant (SwinTransformerV2Cr) and Swin S3 (a window per stage), shrunk through model_args, every
parameter randomised by check_timm_archs.randomise, and then each attention's logit_scale drawn
again (tweak below: one head past timm's clamp at log 100; drawn until timm's own float32 run
keeps HEADROOM of the bound). References in float64:

    <case>.expected.safetensors   logits [B, K] (with a head), features [B, C] (pooled),
                                  tokens [B, L, C] (forward_features as tokens, after the final
                                  norm; CR: its NCHW map as tokens), stage<s> [B, H, W, C] (the
                                  output of stage s, channels last), and the same with a suffix
                                  @S for each extra input size S (batch 1)

The models are built with strict_img_size=False, so that timm itself runs the other sizes (the
windows stay those of the configured size, the shift mask follows the padded input). Inputs are
not stored: tests compute them with the hash of tests/fixtures/README.md (seed per case below).
tests/fixtures/swin_family/README.md lists what each case covers.
"""
import copy
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_vit_family_fixtures as gvf  # noqa: E402

OUT = os.path.join(HERE, "..", "fixtures", "swin_family")

# 32-channel heads, as every timm Swin V2 has: with a handful of channels per head, a query or
# key of nearly zero length is common, and its direction (cosine attention) is ill-conditioned in
# float32 (timm's own float32 run then misses the bound)
V2 = dict(embed_dim=32, depths=(2, 1), num_heads=(1, 2), window_size=4, strict_img_size=False)
CR = dict(embed_dim=32, depths=(2, 1), num_heads=(1, 2), window_ratio=2, strict_img_size=False)

# case, timm architecture, model_args, batch, input size, extra sizes (batch 1), input seed
CASES = [
    # Swin V2: cosine attention, CPB MLP, q/v biases, res-post-norm, PatchMerging reduce-then-norm;
    # pretraining windows scale the bias coordinates (stage 1 is one clamped, unshifted window
    # at 32); padded at 28 (grids 7, 4 -> 8, 4) and 40 (10, 5 -> 12, 8)
    ("v2", "swinv2_tiny_window8_256",
     dict(V2, img_size=32, num_classes=5, pretrained_window_sizes=(3, 6)), 2, 32, [28, 40], 61),
    # Swin V2 without q/v biases, without a head (features); odd grids at 44 (11 -> 12, 6)
    ("v2_nohead", "swinv2_small_window8_256",
     dict(V2, img_size=32, num_classes=0, qkv_bias=False), 2, 32, [44], 62),
    # swinv2_cr "ns": meta MLP (natural-log coordinates, biases, no sigmoid), full qkv bias,
    # norm(4C)-then-reduce merging, a norm3 ending each stage, no final norm; window from
    # window_ratio (8 / 2 = 4); padded at 28
    ("cr_ns", "swinv2_cr_tiny_ns_224", dict(CR, img_size=32, num_classes=5), 2, 32, [28], 63),
    # swinv2_cr with extra_norm_period 1 (norm3 after every block) and not ns (only the last
    # stage ends with norm3)
    ("cr_period", "swinv2_cr_tiny_224",
     dict(CR, img_size=32, num_classes=4, extra_norm_period=1), 1, 32, [], 64),
    # Swin S3: a window per stage (4, 8, 2)
    ("s3", "swin_s3_tiny_224",
     dict(embed_dim=16, depths=(2, 2, 1), num_heads=(1, 2, 4), window_size=(4, 8, 2),
          img_size=64, num_classes=5, strict_img_size=False), 2, 64, [], 65),
]


# Headroom against float32 rounding: timm's own float32 run may use at most this share of the
# tests' bound (1e-5 max(1, max |ref|)) on every output, so that other summation orders (each
# CPU's OpenBLAS kernels, libswin's vector paths) stay inside it too.
HEADROOM = 0.25


def draw_scales(model, g):
    """logit_scale: uniform in [log 4, log 40] (log space), except head 0 of the last block
    with one, drawn above timm's clamp (log 100 + U(0.3, 1.5)). Scales near 100 everywhere
    would amplify float32 rounding (timm's own float32 run then misses the 1e-5 bound on the
    stage maps); one head past the clamp shows whether the clamp is applied."""
    scales = [p for name, p in model.named_parameters() if name.endswith("logit_scale")]
    with torch.no_grad():
        for p in scales:
            u = torch.rand(p.shape, generator=g, dtype=torch.float64)
            p.copy_((math.log(4) + u * (math.log(40) - math.log(4))).to(p.dtype))
        if scales:
            u = torch.rand((), generator=g, dtype=torch.float64).item()
            scales[-1].view(-1)[0] = math.log(100) + 0.3 + 1.2 * u
    return bool(scales)


def rounding_share(model, case):
    """The largest share of the bound that timm's float32 run takes against its float64 run,
    over every output of the case's inputs."""
    _, _, _, batch, img, extra, seed = next(c for c in CASES if c[0] == case)
    runs = [((batch, 3, img, img), seed)] + [((1, 3, s, s), seed + s) for s in extra]
    m32, m64 = copy.deepcopy(model).float(), copy.deepcopy(model).double()
    worst = 0.0
    for shape, sd in runs:
        x = gvf.input_hash(shape, sd)
        o32, o64 = outputs(m32, x.float()), outputs(m64, x.double())
        for key, ref in o64.items():
            bound = 1e-5 * max(1.0, ref.abs().max().item())
            worst = max(worst, (o32[key].double() - ref).abs().max().item() / bound)
    return worst


def tweak(model, case):
    """The logit scales (draw_scales), drawn again (the generator's next values) until timm's
    own float32 run keeps HEADROOM (a few draws at most; the share found is printed)."""
    g = torch.Generator().manual_seed(cta_seed(case))
    for attempt in range(100):
        if not draw_scales(model, g):
            return
        share = rounding_share(model, case)
        if share <= HEADROOM:
            print("%-18s logit scales: draw %d, timm float32 at %.2f of the bound"
                  % (case, attempt + 1, share))
            return
    raise SystemExit("%s: no draw of the logit scales within %.2f of the bound" % (case, HEADROOM))


def cta_seed(case):
    return gvf.cta.seed_of(case, "logit_scale")


def outputs(model, x):
    """tokens, features, logits and every stage's output, channels last."""
    stages = getattr(model, "layers", None) or model.stages
    cr = not hasattr(model, "layers")
    maps = []
    hooks = [s.register_forward_hook(lambda m, i, o: maps.append(o)) for s in stages]
    try:
        with torch.no_grad():
            feat = model.forward_features(x)
            features = model.forward_head(feat, pre_logits=True)
            logits = model.forward_head(feat) if model.num_classes else None
    finally:
        for h in hooks:
            h.remove()
    if cr:  # NCHW
        feat = feat.permute(0, 2, 3, 1)
        maps = [m.permute(0, 2, 3, 1) for m in maps]
    out = {"tokens": feat.reshape(feat.shape[0], -1, feat.shape[-1]), "features": features}
    if logits is not None:
        out["logits"] = logits
    for s, m in enumerate(maps):
        out["stage%d" % s] = m.contiguous()
    return out


def main():
    gvf.generate(OUT, CASES, "gen_swin_family_fixtures.py", outputs_fn=outputs, tweak=tweak)


if __name__ == "__main__":
    main()
