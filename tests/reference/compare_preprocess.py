"""Compare a preprocessed tensor from the C library with timm's eval transform (PIL + torchvision).

    swin preprocess --model MODEL IMAGE --output ours.npy
    /usr/bin/python3 tests/reference/compare_preprocess.py IMAGE --npy ours.npy \\
        [--size 224] [--interp bicubic] [--crop-pct 0.9] [--mean .485 .456 .406] [--std .229 .224 .225]
    /usr/bin/python3 tests/reference/compare_preprocess.py IMAGE --npy ours.npy --model MODEL_DIR

--model reads input_size, interpolation, crop_pct, mean and std from MODEL_DIR/config.json's
pretrained_cfg (timm's hub layout); explicit flags override it. OURS is float32 NCHW
[1, 3, S, S] (or [3, S, S]). Prints the max and mean absolute difference (overall and per
channel), the worst element, and how many elements are off by more than one uint8 level
(1/255/std); exits 1 if max > --max-tol (0.02) or mean > --mean-tol (0.002), the issue's limits.
Needs Debian's python3-torchvision, python3-pil, python3-numpy.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
from PIL import Image

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def reference(path, size, interp, crop_pct, mean, std):
    """timm's eval transform of the image at path: float32 [3, size, size]."""
    from torchvision import transforms as T

    mode = {"bicubic": T.InterpolationMode.BICUBIC, "bilinear": T.InterpolationMode.BILINEAR,
            "nearest": T.InterpolationMode.NEAREST}[interp]
    tf = T.Compose([T.Resize(math.floor(size / crop_pct), interpolation=mode),
                    T.CenterCrop(size), T.ToTensor(), T.Normalize(mean, std)])
    with open(path, "rb") as f:
        img = Image.open(f).convert("RGB")  # timm's loader
    return tf(img).numpy()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("image")
    ap.add_argument("--npy", required=True, help="the C library's tensor, float32 [1,3,S,S]")
    ap.add_argument("--model", help="model folder whose config.json gives the settings")
    ap.add_argument("--size", type=int)
    ap.add_argument("--interp", choices=("bicubic", "bilinear", "nearest"))
    ap.add_argument("--crop-pct", type=float)
    ap.add_argument("--mean", type=float, nargs=3)
    ap.add_argument("--std", type=float, nargs=3)
    ap.add_argument("--max-tol", type=float, default=0.02)
    ap.add_argument("--mean-tol", type=float, default=0.002)
    a = ap.parse_args(argv)

    size, interp, crop_pct, mean, std = 224, "bicubic", 0.9, IMAGENET_MEAN, IMAGENET_STD
    if a.model:
        with open(os.path.join(a.model, "config.json")) as f:
            pc = json.load(f).get("pretrained_cfg", {})
        size = pc.get("input_size", [3, size, size])[-1]
        interp = pc.get("interpolation", interp)
        crop_pct = pc.get("crop_pct", crop_pct)
        mean = pc.get("mean", mean)
        std = pc.get("std", std)
    size = a.size or size
    interp = a.interp or interp
    crop_pct = a.crop_pct or crop_pct
    mean = a.mean or mean
    std = a.std or std

    ours = np.load(a.npy)
    if ours.ndim == 4:
        if ours.shape[0] != 1:
            sys.exit(f"{a.npy}: batch of {ours.shape[0]}, expected 1")
        ours = ours[0]
    ref = reference(a.image, size, interp, crop_pct, mean, std)
    with Image.open(a.image) as im:
        desc = f"{im.size[0]}x{im.size[1]} {im.format} {im.mode}"
    print(f"{a.image}: {desc}; size {size}, {interp}, crop_pct {crop_pct} (resize shorter side "
          f"to {math.floor(size / crop_pct)}), mean {list(mean)}, std {list(std)}")
    if ours.shape != ref.shape:
        print(f"FAIL: shape {list(ours.shape)}, expected {list(ref.shape)}")
        return 1
    d = np.abs(ours.astype(np.float64) - ref.astype(np.float64))
    worst = np.unravel_index(int(np.argmax(d)), d.shape)
    level = np.array([1 / 255 / s for s in std])[:, None, None]
    print(f"max |diff| {d.max():.6f} at [c,y,x]={list(map(int, worst))} "
          f"(ours {ours[worst]:.6f}, ref {ref[worst]:.6f}); mean |diff| {d.mean():.6f}")
    for c in range(3):
        print(f"  channel {c}: max {d[c].max():.6f} mean {d[c].mean():.6f}")
    print(f"  elements off by > 0.5 uint8 level: {int((d > 0.5 * level).sum())}, "
          f"> 1.5 levels: {int((d > 1.5 * level).sum())} of {d.size}")
    ok = d.max() <= a.max_tol and d.mean() <= a.mean_tol
    print(("PASS" if ok else "FAIL") + f" (max <= {a.max_tol}, mean <= {a.mean_tol})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
