"""End-to-end check of the `swin` program against PyTorch on full-size ViT architectures.

    /usr/bin/python3 tests/reference/check_vit_cli.py [--swin build/swin] [--case NAME|all]

For each case it builds the reference model (tests/reference/vit_ref.py) with random weights,
writes it as a safetensors file, runs `swin run` on a random batch for the logits and for the
pooled features (--emit features), and prints the worst error against PyTorch in float32 and in
float64, with the tolerance 1e-5 * max(1, max|ref|). Exits non-zero if any case is outside it.
Files go to a temporary directory and are removed.

Cases:
  base_token  vit_base_patch16_224 (timm names, class token, token pooling); no metadata, the
              architecture from --arch vit_base_patch16_224
  base32_avg  ViT-B/32 without class token, avg pooling and fc_norm; no metadata, --arch vit
              --set num_heads=12 (the rest from the tensors)
  tutorial    the tutorial's post-norm ViT (8x8 image, patch 4, d_model 8, nhead 8, 6 layers,
              dim_feedforward 2048, 16 position rows) through nn.TransformerEncoder; arch,
              num_heads, img_size and patch_size in the metadata, as the issue specifies
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as st  # noqa: E402
import vit_ref as ref  # noqa: E402

CASES = {
    "base_token": dict(cfg=ref.ViTConfig(img_size=224, patch_size=16, embed_dim=768, depth=12,
                                         num_heads=12, mlp_hidden_dim=3072, num_classes=1000),
                       meta=False, args=["--arch", "vit_base_patch16_224"], batch=2),
    "base32_avg": dict(cfg=ref.ViTConfig(img_size=224, patch_size=32, embed_dim=768, depth=12,
                                         num_heads=12, mlp_hidden_dim=3072, num_classes=1000,
                                         class_token=False, global_pool="avg"),
                       meta=False, args=["--arch", "vit", "--set", "num_heads=12"], batch=2),
    "tutorial": dict(cfg=ref.PostNormConfig(img_size=8, patch_size=4, d_model=8, nhead=8,
                                            num_layers=6, max_tokens=16, num_classes=10),
                     meta=True, args=[], batch=2),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swin", default="build/swin")
    ap.add_argument("--case", default="all", choices=list(CASES) + ["all"])
    args = ap.parse_args()
    names = list(CASES) if args.case == "all" else [args.case]
    all_ok = True
    torch.manual_seed(0)
    for name in names:
        spec = CASES[name]
        cfg = spec["cfg"]
        model = (ref.VisionTransformer(cfg) if isinstance(cfg, ref.ViTConfig)
                 else ref.PostNormViT(cfg)).eval()
        ref.randomize_(model, 1234)
        sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
        x = torch.randn(spec["batch"], cfg.in_chans, cfg.img_size, cfg.img_size)
        with torch.no_grad():
            want32 = [t.numpy() for t in model(x)[:2]]
            want64 = [t.numpy() for t in model.double()(x.double())[:2]]
        with tempfile.TemporaryDirectory() as tmp:
            inp = os.path.join(tmp, "x.npy")
            np.save(inp, x.numpy())
            path = os.path.join(tmp, f"{name}.safetensors")
            st.write(path, sd, cfg.metadata() if spec["meta"] else None)
            for k, emit in enumerate(("logits", "features")):
                out = os.path.join(tmp, "y.npy")
                cmd = [args.swin, "run", "--model", path, "--input", inp, "--output", out,
                       "--emit", emit] + spec["args"]
                subprocess.run(cmd, check=True)
                got = np.load(out).astype(np.float64)
                for label, want in (("float32", want32[k]), ("float64", want64[k])):
                    err = float(np.abs(got - want).max())
                    bound = 1e-5 * max(1.0, float(np.abs(want).max()))
                    ok = err <= bound
                    all_ok &= ok
                    print(f"{name:10s} {emit:8s} vs torch {label}: max|diff| = {err:.3e} "
                          f"(bound {bound:.3e}, max|ref| {np.abs(want).max():.3f}) "
                          f"{'ok' if ok else 'FAIL'}")
    sys.exit(0 if all_ok else 1)


if __name__ == "__main__":
    main()
