"""Regenerate every file under tests/fixtures/vit/ deterministically:

    /usr/bin/python3 tests/reference/gen_vit_fixtures.py

(needs torch and numpy; not timm). References are tests/reference/vit_ref.py: a timm-semantics
ViT, and the tutorial's post-norm ViT run through torch.nn.TransformerEncoder itself. Weights
are drawn in float32 from fixed seeds, every parameter randomized; reference forwards run in
float64 and are stored as float32. Inputs are not stored: both sides compute them with the
hash of tests/fixtures/README.md. tests/fixtures/vit/README.md says what each file covers.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as st  # noqa: E402
import vit_ref as ref  # noqa: E402
from gen_fixtures import input_hash  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "vit")
REGEN = {"regenerate": "/usr/bin/python3 tests/reference/gen_vit_fixtures.py"}

# name, config, batch, input seed, weight seed
TIMM = [
    ("vit_token_p16", ref.ViTConfig(img_size=64, patch_size=16, embed_dim=16, depth=2,
                                    num_heads=2, mlp_hidden_dim=64), 2, 11, 201),
    ("vit_avg_p32", ref.ViTConfig(img_size=96, patch_size=32, embed_dim=16, depth=2, num_heads=4,
                                  mlp_hidden_dim=48, class_token=False, global_pool="avg"),
     2, 12, 202),
]
POSTNORM = [
    ("vit_postnorm_relu", ref.PostNormConfig(d_model=16, nhead=2, num_layers=2), 2, 13, 203),
    ("vit_postnorm_gelu", ref.PostNormConfig(d_model=16, nhead=4, num_layers=2, dim_feedforward=64,
                                             activation="gelu", final_norm=True), 2, 14, 204),
]
# the post-norm relu case is also run on a 12x12 input: 10 of the 16 position rows
POSTNORM_EXTRA_IMG = 12
MINI = ref.ViTConfig(img_size=16, patch_size=4, embed_dim=8, depth=2, num_heads=2,
                     mlp_hidden_dim=16)


def path(name):
    return os.path.join(OUT, name)


def build(cfg):
    return ref.VisionTransformer(cfg) if isinstance(cfg, ref.ViTConfig) else ref.PostNormViT(cfg)


def run(cfg, sd, x):
    m = build(cfg)
    m.load_state_dict(sd, strict=True)
    m = m.double().eval()
    with torch.no_grad():
        return m(x.double())


def expected(outs, suffix=""):
    logits, feats, stage = outs
    return [(f"logits{suffix}", logits), (f"features{suffix}", feats), (f"stage0{suffix}", stage)]


def weights(cfg, wseed):
    m = build(cfg)
    ref.randomize_(m, wseed)
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


def inputs(cfg, batch, seed, img=None):
    img = img or cfg.img_size
    return input_hash((batch, cfg.in_chans, img, img), seed)


def gen():
    for name, cfg, batch, seed, wseed in TIMM + POSTNORM:
        sd = weights(cfg, wseed)
        x = inputs(cfg, batch, seed)
        meta = cfg.metadata()
        st.write(path(f"{name}.safetensors"), sd, meta)
        exp = expected(run(cfg, sd, x))
        if name == "vit_postnorm_relu":
            exp += expected(run(cfg, sd, inputs(cfg, batch, seed, POSTNORM_EXTRA_IMG)), "_12")
        st.write(path(f"{name}.expected.safetensors"), exp, REGEN)
        if name != "vit_token_p16":
            continue
        st.write(path(f"{name}_nometa.safetensors"), sd, None)
        for dt, suffix in (("F16", "f16"), ("BF16", "bf16")):
            rsd = {k: st.round_to_dtype(v, dt) for k, v in sd.items()}
            st.write(path(f"{name}_{suffix}.safetensors"), sd, meta, dtype=dt)
            st.write(path(f"{name}_{suffix}.expected.safetensors"), expected(run(cfg, rsd, x)),
                     REGEN)

    # bad files: a small, otherwise loadable model with one thing broken
    sd = weights(MINI, 205)
    missing = {k: v for k, v in sd.items() if k != "blocks.1.attn.proj.bias"}
    st.write(path("vit_bad_missing.safetensors"), missing, MINI.metadata())
    shape = dict(sd)
    shape["blocks.1.mlp.fc1.weight"] = sd["blocks.1.mlp.fc1.weight"][:15]
    st.write(path("vit_bad_shape.safetensors"), shape, MINI.metadata())


def verify():
    for name, cfg, batch, seed, _ in TIMM + POSTNORM:
        sd, meta, _ = st.read(path(f"{name}.safetensors"))
        exp, _, _ = st.read(path(f"{name}.expected.safetensors"))
        assert meta == cfg.metadata()
        lg, ft, sg = run(cfg, sd, inputs(cfg, batch, seed))
        assert torch.equal(lg.float(), exp["logits"]) and torch.equal(ft.float(), exp["features"])
        assert torch.equal(sg.float(), exp["stage0"])
        print(f"{name}: logits[0,:4] {exp['logits'][0, :4].tolist()}")
        if name != "vit_token_p16":
            continue
        for suffix in ("f16", "bf16"):
            hexp, _, _ = st.read(path(f"{name}_{suffix}.expected.safetensors"))
            d = (hexp["logits"] - exp["logits"]).abs().max().item()
            print(f"  {suffix}: |logits - f32 logits| max {d:.3g}")


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # same reduction order on every run
    os.makedirs(OUT, exist_ok=True)
    gen()
    verify()
    total = sum(os.path.getsize(path(f)) for f in os.listdir(OUT))
    print(f"fixtures written to {os.path.normpath(OUT)}: {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
