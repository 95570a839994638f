"""Regenerate every file under tests/fixtures/ deterministically:

    /usr/bin/python3 tests/reference/gen_fixtures.py

(needs torch and numpy; not timm). Weights are drawn in float32 from fixed seeds, every
parameter randomized; reference forwards run in float64 and are stored as float32. Model
inputs are not stored: both sides compute them with input_hash() below. See
tests/fixtures/README.md for what each file covers.
"""
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as st  # noqa: E402
import swin_ref as ref  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
# metadata of the files that are not models (model files carry only the model keys)
REGEN = {"regenerate": "/usr/bin/python3 tests/reference/gen_fixtures.py"}


def input_hash(shape, seed):
    """float32 tensor of `shape` (flat NCHW index i) from the shared integer hash, in [-2, 2)."""
    M = 0xFFFFFFFF
    i = np.arange(math.prod(shape), dtype=np.uint64)
    h = (i + ((seed * 0x9E3779B9) & M)) & M
    h ^= h >> 16
    h = (h * 0x7FEB352D) & M
    h ^= h >> 15
    h = (h * 0x846CA68B) & M
    h ^= h >> 16
    x = (h >> 8).astype(np.float64) * 2.0 ** -22 - 2.0
    return torch.from_numpy(x.astype(np.float32).reshape(shape))


def _input_hash_scalar(i, s):
    M = 0xFFFFFFFF
    h = (i + s * 0x9E3779B9) & M
    h ^= h >> 16
    h = (h * 0x7FEB352D) & M
    h ^= h >> 15
    h = (h * 0x846CA68B) & M
    h ^= h >> 16
    return (h >> 8) * 2.0 ** -22 - 2.0


# name, config, batch, input seed, weight seed
CASES = [
    ("swin_t7_224", ref.SwinConfig(img_size=224, window_size=7, embed_dim=4, depths=(2, 2, 2, 2),
                                   num_heads=(2, 2, 4, 4)), 1, 1, 101),
    ("swin_w12_384", ref.SwinConfig(img_size=384, window_size=12, embed_dim=6, depths=(2, 2, 2, 1),
                                    num_heads=(2, 2, 4, 4)), 1, 2, 102),
    ("swin_pad_256", ref.SwinConfig(img_size=256, window_size=7, embed_dim=6, depths=(2, 2, 2, 2),
                                    num_heads=(2, 2, 4, 4)), 2, 3, 103),
    ("swin_odd_200", ref.SwinConfig(img_size=200, window_size=7, embed_dim=8, depths=(2, 2, 2, 1),
                                    num_heads=(2, 2, 4, 4)), 1, 4, 104),
]


def path(name):
    return os.path.join(OUT, name)


def run_model(cfg, sd, x):
    m = ref.SwinTransformer(cfg)
    m.load_state_dict(sd, strict=True)
    m = m.double().eval()
    with torch.no_grad():
        return m(x.double())


def expected_tensors(logits, feats, stages=None):
    out = [("logits", logits), ("features", feats)]
    for s, t in enumerate(stages or []):
        out.append((f"stage{s}", t))
    return out


def gen_models():
    for name, cfg, batch, seed, wseed in CASES:
        m = ref.SwinTransformer(cfg)
        ref.randomize_(m, wseed)
        sd = {k: v.detach().clone() for k, v in m.state_dict().items()}
        x = input_hash((batch, cfg.in_chans, cfg.img_size, cfg.img_size), seed)
        meta = cfg.metadata()
        logits, feats, stages = run_model(cfg, sd, x)
        st.write(path(f"{name}.safetensors"), sd, meta)
        st.write(path(f"{name}.expected.safetensors"),
                 expected_tensors(logits, feats, stages if name == "swin_t7_224" else None), REGEN)
        if name != "swin_t7_224":
            continue
        st.write(path(f"{name}_official.safetensors"), ref.to_official(sd, cfg), meta)
        st.write(path(f"{name}_nometa.safetensors"), sd, None)
        for dt, suffix in (("F16", "f16"), ("BF16", "bf16")):
            rsd = {k: st.round_to_dtype(v, dt) for k, v in sd.items()}
            lg, ft, _ = run_model(cfg, rsd, x)
            st.write(path(f"{name}_{suffix}.safetensors"), sd, meta, dtype=dt)
            st.write(path(f"{name}_{suffix}.expected.safetensors"), expected_tensors(lg, ft), REGEN)


def gen_layers():
    g = torch.Generator().manual_seed(2024)
    t = []  # (name, tensor) in file order

    def randn(*shape):
        return torch.randn(shape, generator=g, dtype=torch.float32)

    def add(prefix, module):
        ref.randomize_(module, g)
        for k, v in module.state_dict().items():
            t.append((f"{prefix}.{k}", v.detach().clone()))
        return module.double().eval()

    with torch.no_grad():
        x = randn(2, 3, 16, 12)
        t.append(("patch_embed.x", x))
        pe = add("patch_embed", ref.PatchEmbed(4, 3, 8, 1e-5))
        t.append(("patch_embed.out", pe(x.double())))

        x = randn(6, 16, 8)
        t.append(("window_attention.x", x))
        wa = add("window_attention", ref.WindowAttention(8, 2, (4, 4)))
        # a 4 x 12 map with window 4 and shift 2: 3 windows, masked in both directions
        mask = ref.shifted_window_mask(4, 12, (4, 4), (2, 2), torch.float32)
        t.append(("window_attention.mask", mask))
        t.append(("window_attention.out", wa(x.double(), mask.double())))
        t.append(("window_attention.out_nomask", wa(x.double(), None)))

        x = randn(2, 10, 10, 8)
        t.append(("swin_block.x", x))
        blk = add("swin_block", ref.SwinBlock(8, 2, (4, 4), (2, 2), 16, 1e-5))
        t.append(("swin_block.out", blk(x.double())))
        blk.shift = (0, 0)
        t.append(("swin_block.out_noshift", blk(x.double())))

        x = randn(2, 7, 6, 8)
        t.append(("patch_merging.x", x))
        pm = add("patch_merging", ref.PatchMerging(8, 1e-5))
        t.append(("patch_merging.out", pm(x.double())))

        x = randn(5, 8)
        t.append(("mlp.x", x))
        mlp = add("mlp", ref.Mlp(8, 16))
        t.append(("mlp.out", mlp(x.double())))

        # first values of the model-input hash, to unit-test its C twin
        t.append(("input_hash.s1", input_hash((64,), 1)))
        t.append(("input_hash.s3", input_hash((64,), 3)))
    st.write(path("layers.safetensors"), t, REGEN)


def verify():
    """Read everything back and re-check it against independent paths."""
    for i in range(0, 1 << 20, 4099):
        for s in (1, 3, 0xFFFFFFFF):
            assert input_hash((i + 1,), s)[i].item() == _input_hash_scalar(i, s)
    for name, cfg, batch, seed, _ in CASES:
        sd, meta, _ = st.read(path(f"{name}.safetensors"))
        exp, _, _ = st.read(path(f"{name}.expected.safetensors"))
        assert meta == cfg.metadata()
        x = input_hash((batch, cfg.in_chans, cfg.img_size, cfg.img_size), seed)
        lg, ft, _ = run_model(cfg, sd, x)
        assert torch.equal(lg.float(), exp["logits"]) and torch.equal(ft.float(), exp["features"])
        print(f"{name}: logits[0,:4] {exp['logits'][0, :4].tolist()}")
        if name != "swin_t7_224":
            continue
        osd, ometa, odt = st.read(path(f"{name}_official.safetensors"))
        assert ometa == meta and odt[f"layers.0.blocks.0.attn.relative_position_index"] == "I64"
        back = ref.from_official(osd)
        assert set(back) == set(sd) and all(torch.equal(back[k], sd[k]) for k in sd)
        off = ref.OfficialSwin(cfg)
        off.load_state_dict(osd, strict=True)
        with torch.no_grad():
            y = off.double()(x.double())
        err = (y - lg).abs().max().item()
        assert err < 1e-10, err
        nsd, nmeta, _ = st.read(path(f"{name}_nometa.safetensors"))
        assert nmeta is None and all(torch.equal(nsd[k], sd[k]) for k in sd)
        for suffix in ("f16", "bf16"):
            hsd, hmeta, _ = st.read(path(f"{name}_{suffix}.safetensors"))
            hexp, _, _ = st.read(path(f"{name}_{suffix}.expected.safetensors"))
            lg2, _, _ = run_model(cfg, hsd, x)
            assert torch.equal(lg2.float(), hexp["logits"])
            d = (hexp["logits"] - exp["logits"]).abs().max().item()
            print(f"  {suffix}: |logits - f32 logits| max {d:.3g}")


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # same reduction order on every run
    os.makedirs(OUT, exist_ok=True)
    gen_models()
    gen_layers()
    verify()
    total = sum(os.path.getsize(path(f)) for f in os.listdir(OUT))
    print(f"fixtures written to {os.path.normpath(OUT)}: {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
