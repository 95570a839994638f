"""Regenerate the example model and input in examples/ (used by the README's first command and
by the CLI test):

    /usr/bin/python3 tests/reference/gen_example.py

examples/swin_micro.safetensors  a small Swin (timm naming, random weights, fixed seed) with
                                 its architecture in the safetensors metadata
examples/input.npy               a [2, 3, 112, 112] float32 batch
examples/expected_logits.npy     PyTorch's logits for it (reference run in float64)
examples/expected_features.npy   PyTorch's pooled features
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as st  # noqa: E402
import swin_ref as ref  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples")


def main():
    cfg = ref.SwinConfig(img_size=112, patch_size=4, embed_dim=16, depths=(2, 2, 2),
                         num_heads=(2, 4, 8), window_size=7, mlp_ratio=2.0, num_classes=10)
    model = ref.SwinTransformer(cfg).eval()
    ref.randomize_(model, 2024)
    g = torch.Generator().manual_seed(7)
    x = torch.randn(2, 3, cfg.img_size, cfg.img_size, generator=g)
    with torch.no_grad():
        logits, feats, _ = model.double()(x.double())
    model.float()
    os.makedirs(OUT, exist_ok=True)
    st.write(os.path.join(OUT, "swin_micro.safetensors"), model.state_dict(), cfg.metadata())
    np.save(os.path.join(OUT, "input.npy"), x.numpy().astype(np.float32))
    np.save(os.path.join(OUT, "expected_logits.npy"), logits.numpy().astype(np.float32))
    np.save(os.path.join(OUT, "expected_features.npy"), feats.numpy().astype(np.float32))


if __name__ == "__main__":
    main()
