"""End-to-end check of the `swin` program against PyTorch on full-size Swin architectures.

    /usr/bin/python3 tests/reference/check_cli.py [--swin build/swin] [--arch tiny|base384|all]

For each architecture it builds the reference model (tests/reference/swin_ref.py, timm
semantics) with random weights, writes it as a timm-named and as an official-named safetensors
file (the latter with relative_position_index and attn_mask buffers), runs `swin run` on a
random batch, and prints the worst error against PyTorch in float32 and in float64, with the
tolerance 1e-5 * max(1, max|ref|). Exits non-zero if any case is outside it. Files go to a
temporary directory and are removed.
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
import swin_ref as ref  # noqa: E402

ARCHS = {
    "tiny": dict(cfg=ref.SwinConfig(img_size=224, embed_dim=96, depths=(2, 2, 6, 2),
                                    num_heads=(3, 6, 12, 24), window_size=7, mlp_ratio=4.0,
                                    num_classes=1000),
                 preset="swin_tiny_patch4_window7_224", batch=2),
    "base384": dict(cfg=ref.SwinConfig(img_size=384, embed_dim=128, depths=(2, 2, 18, 2),
                                       num_heads=(4, 8, 16, 32), window_size=12, mlp_ratio=4.0,
                                       num_classes=1000),
                    preset="swin_base_patch4_window12_384", batch=1),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--swin", default="build/swin")
    ap.add_argument("--arch", default="tiny", choices=list(ARCHS) + ["all"])
    args = ap.parse_args()
    names = list(ARCHS) if args.arch == "all" else [args.arch]
    worst_ok = True
    torch.manual_seed(0)
    for name in names:
        spec = ARCHS[name]
        cfg = spec["cfg"]
        model = ref.SwinTransformer(cfg).eval()
        ref.randomize_(model, 1234)
        sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
        x = torch.randn(spec["batch"], 3, cfg.img_size, cfg.img_size)
        with torch.no_grad():
            want32 = model(x)[0].numpy()
            want64 = model.double()(x.double())[0].numpy()
        with tempfile.TemporaryDirectory() as tmp:
            inp = os.path.join(tmp, "x.npy")
            np.save(inp, x.numpy())
            files = {
                "timm": (sd, {}),
                "official": (ref.to_official(sd, cfg), {}),
            }
            for naming, (tensors, _) in files.items():
                path = os.path.join(tmp, f"{name}_{naming}.safetensors")
                # no metadata: the architecture comes from the preset and the tensors
                st.write(path, tensors)
                out = os.path.join(tmp, "y.npy")
                cmd = [args.swin, "run", "--model", path, "--input", inp, "--output", out,
                       "--arch", spec["preset"]]
                subprocess.run(cmd, check=True)
                got = np.load(out)
                for label, want in (("float32", want32), ("float64", want64)):
                    err = float(np.abs(got.astype(np.float64) - want).max())
                    bound = 1e-5 * max(1.0, float(np.abs(want).max()))
                    ok = err <= bound
                    worst_ok &= ok
                    print(f"{name:8s} {naming:8s} vs torch {label}: max|diff| = {err:.3e} "
                          f"(bound {bound:.3e}, max|ref| {np.abs(want).max():.3f}) "
                          f"{'ok' if ok else 'FAIL'}")
    sys.exit(0 if worst_ok else 1)


if __name__ == "__main__":
    main()
