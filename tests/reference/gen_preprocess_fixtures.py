"""Regenerate tests/fixtures/images/: real photographs in the formats a user meets, and the
tensors timm's eval transform makes of them (PIL + torchvision), for the C preprocessing tests.

    /usr/bin/python3 tests/reference/gen_preprocess_fixtures.py

Needs Debian's python3-pil, python3-numpy, python3-torchvision and python3-skimage (the photos
are scikit-image's bundled public-domain / CC0 sample photographs). Deterministic: re-running
writes byte-identical files with the same PIL, zlib and libjpeg-turbo.

The expected tensor of (image, setting) is what timm computes at evaluation
(transforms_imagenet_eval; with $TIMM_SRC set, this script also runs timm's own transform and
asserts it is bit-identical):
    img = Image.open(path).convert("RGB")                # timm's loader
    crop_mode center: Resize(floor(size / crop_pct))     # shorter side; PIL filter, antialiased
                      CenterCrop(size)
    crop_mode squash: Resize((scale, scale)), CenterCrop(size)      # scale = floor(size/crop_pct)
    crop_mode border: the longer side to scale, sides round(side / ratio); CenterCropOrPad(size)
                      padding with round(255 * mean)
    ToTensor()                                           # float32(uint8) / 255
    Normalize(mean, std)                                 # (x - float32(mean)) / float32(std)
Because PIL resizes to uint8, everything before ToTensor is a uint8 image, so the fixture stores
that exactly and 4x smaller than F32: preprocess.expected.safetensors holds, under
`<image stem>.<setting>`, a U8 tensor [3, size, size] (channel-major, = ToTensor() * 255). The
expected normalized value is, in float32 arithmetic,
    ((float)u8 / 255.0f - mean[c]) / std[c]
which this script checks is bit-identical to torchvision's output. The header's __metadata__
holds "settings" and "images" as JSON strings (also in tests/fixtures/images/README.md).
"""
import json
import math
import os
import struct
import zlib

import numpy as np
import torch
from PIL import Image


OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures",
                                    "images"))

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
HALF = [0.5, 0.5, 0.5]

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# name -> (input_size, interpolation, crop_pct, mean, std, crop_mode)
SETTINGS = {
    "s224_bicubic_in": (224, "bicubic", 0.9, IMAGENET_MEAN, IMAGENET_STD, "center"),  # Swin
    "s224_bilinear_half": (224, "bilinear", 0.875, HALF, HALF, "center"),             # vit-like
    "s64_bicubic_in": (64, "bicubic", 0.9, IMAGENET_MEAN, IMAGENET_STD, "center"),
    "s64_bilinear_half": (64, "bilinear", 0.875, HALF, HALF, "center"),
    # timm's other crop modes (CLIP and medium architectures use squash)
    "s64_bicubic_squash": (64, "bicubic", 0.9, CLIP_MEAN, CLIP_STD, "squash"),
    "s64_bilinear_border": (64, "bilinear", 0.95, CLIP_MEAN, CLIP_STD, "border"),
}
# 224 tensors (147 KiB each) only for an upscaled and a downscaled photo, to stay under 1 MB
FULL_SIZE_FOR = {"coffee_150x100": ("s224_bicubic_in", "s224_bilinear_half"),
                 "chelsea_400x266": ("s224_bicubic_in",)}


def png16(path, a):
    """Write a 16-bit PNG (RGB if a is HxWx3, gray if HxW) from a uint16 array; PIL cannot."""
    H, W = a.shape[:2]
    colour_type = 2 if a.ndim == 3 else 0
    raw = b"".join(b"\x00" + np.ascontiguousarray(a[y]).astype(">u2").tobytes() for y in range(H))

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 16, colour_type, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def photos():
    import skimage.data as d

    return {
        "astronaut": Image.fromarray(d.astronaut()),    # 512x512, public domain (NASA)
        "coffee": Image.fromarray(d.coffee()),          # 600x400, CC0 (Rachel Michetti)
        "chelsea": Image.fromarray(d.chelsea()),        # 451x300, CC0 (Stefan van der Walt)
        "rocket": Image.fromarray(d.rocket()),          # 640x427, public domain (SpaceX)
        "camera": Image.fromarray(d.camera()),          # 512x512 gray, CC0 (Lav Varshney)
    }


def make_inputs():
    """Write the input images; return [(stem, file name, description)]."""
    P = photos()
    L = Image.LANCZOS
    out = []

    def add(stem, fname, desc):
        out.append((stem, fname, desc))
        return os.path.join(OUT, fname)

    # baseline JPEG, 4:2:0, downscaled at every setting (266 -> 248 / 256 / 71 / 73)
    P["chelsea"].resize((400, 266), L).save(
        add("chelsea_400x266", "chelsea_400x266.jpg", "RGB baseline JPEG q90 4:2:0, landscape"),
        quality=90)
    # RGB PNG smaller than 224: upscaled by the 224 settings (100 -> 248 / 256)
    P["coffee"].resize((150, 100), L).save(
        add("coffee_150x100", "coffee_150x100.png", "RGB PNG, upscaled at 224, downscaled at 64"))
    # progressive JPEG, square
    P["astronaut"].resize((256, 256), L).save(
        add("astronaut_256_progressive", "astronaut_256_progressive.jpg",
            "progressive JPEG q90, square"), quality=90, progressive=True)
    # grayscale JPEG, 4:3
    P["camera"].crop((0, 64, 512, 448)).resize((240, 180), L).save(
        add("camera_240x180_gray", "camera_240x180_gray.jpg", "grayscale (1 component) JPEG q90"),
        quality=90)
    # palette PNG, portrait 2:3
    rocket = P["rocket"].crop((178, 0, 462, 427)).resize((160, 240), L)
    rocket.quantize(colors=256, method=Image.MEDIANCUT, dither=Image.NONE).save(
        add("rocket_160x240_palette", "rocket_160x240_palette.png", "palette (P) PNG, portrait"))
    # RGBA PNG with a real alpha gradient: timm's convert("RGB") DROPS alpha (no compositing)
    a = P["astronaut"].crop((96, 0, 416, 427)).resize((120, 160), L)
    alpha = np.tile(np.linspace(30, 255, 120).astype(np.uint8), (160, 1))
    rgba = Image.merge("RGBA", (*a.split(), Image.fromarray(alpha, "L")))
    rgba.save(add("astronaut_120x160_rgba", "astronaut_120x160_rgba.png",
                  "RGBA PNG, alpha 30..255 left to right"))
    # 16-bit RGB PNG with genuine low bytes: PIL keeps the HIGH byte of each sample (truncation)
    c = np.asarray(P["coffee"].resize((120, 80), L), np.float64)
    rng = np.random.default_rng(16)
    c16 = np.clip(np.rint(c * 257 + rng.uniform(-128, 128, c.shape)), 0, 65535).astype(np.uint16)
    png16(add("coffee_120x80_rgb16", "coffee_120x80_rgb16.png", "16-bit RGB PNG (48 bpp)"), c16)
    # tiny RGB PNG: upscaled by every setting (40 -> 71 / 73 / 248 / 256)
    P["chelsea"].resize((60, 40), L).save(
        add("chelsea_60x40", "chelsea_60x40.png", "tiny RGB PNG, upscaled at every setting"))
    # CMYK JPEG (Adobe APP14, inverted): PIL converts with (255-C)(255-K)/255, see README
    rgb = np.asarray(P["rocket"].resize((150, 100), L), np.float64)
    k = 255 - rgb.max(axis=2)
    den = np.maximum(255 - k, 1)
    cmy = [(255 - k - rgb[..., i]) * 255 / den for i in range(3)]
    cmyk = np.clip(np.rint(np.stack(cmy + [k], -1)), 0, 255).astype(np.uint8)
    Image.fromarray(cmyk, "CMYK").save(
        add("rocket_150x100_cmyk", "rocket_150x100_cmyk.jpg", "CMYK JPEG (Adobe, inverted) q90"),
        quality=90)
    # EXIF orientation 6 ("rotate 90 CW to display"): PIL and timm IGNORE it, so must we
    ex = Image.Exif()
    ex[0x0112] = 6
    P["chelsea"].resize((120, 80), L).save(
        add("chelsea_120x80_exif6", "chelsea_120x80_exif6.jpg",
            "JPEG with EXIF Orientation=6 (to be ignored)"), quality=90, exif=ex.tobytes())
    return out


def write_u8(path, tensors, metadata):
    """safetensors with U8 tensors (safetensors_io.write only writes floats and I64)."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, a in tensors:
        b = np.ascontiguousarray(a, np.uint8).tobytes()
        header[name] = {"dtype": "U8", "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def torchvision_transform(size, interp, crop_pct, mean, std, crop_mode="center", fill_mean=None):
    """timm's transforms_imagenet_eval, written out with torchvision (fill_mean: the mean the
    border mode pads with, round(255 * mean), when mean itself is zeroed to read the uint8)."""
    from torchvision import transforms as T
    import torchvision.transforms.functional as F

    mode = {"bicubic": T.InterpolationMode.BICUBIC, "bilinear": T.InterpolationMode.BILINEAR}
    scale = math.floor(size / crop_pct)
    if crop_mode == "squash":  # both sides to scale, then the center crop
        geo = [T.Resize((scale, scale), interpolation=mode[interp]), T.CenterCrop(size)]
    elif crop_mode == "border":  # the longer side to scale, then center crop or pad with the mean
        fill = [round(255 * v) for v in (fill_mean or mean)]

        def keep_ratio(img):
            w, h = img.size
            ratio = max(h / scale, w / scale)
            return F.resize(img, [round(h / ratio), round(w / ratio)], mode[interp])

        def crop_or_pad(img):
            w, h = img.size
            if size > w or size > h:
                img = F.pad(img, [(size - w) // 2 if size > w else 0,
                                  (size - h) // 2 if size > h else 0,
                                  (size - w + 1) // 2 if size > w else 0,
                                  (size - h + 1) // 2 if size > h else 0], fill=tuple(fill))
                w, h = img.size
                if (w, h) == (size, size):
                    return img
            return F.crop(img, int(round((h - size) / 2.0)), int(round((w - size) / 2.0)),
                          size, size)

        geo = [T.Lambda(keep_ratio), T.Lambda(crop_or_pad)]
    else:
        geo = [T.Resize(scale, interpolation=mode[interp]), T.CenterCrop(size)]
    return T.Compose(geo + [T.ToTensor(), T.Normalize(mean, std)])


def timm_transform(size, interp, crop_pct, mean, std, crop_mode):
    """timm's own eval transform, when $TIMM_SRC names a timm source tree (else None)."""
    src = os.environ.get("TIMM_SRC")
    if not src:
        return None
    import sys
    sys.path.insert(0, src)
    from timm.data.transforms_factory import transforms_imagenet_eval
    return transforms_imagenet_eval(img_size=size, crop_pct=crop_pct, crop_mode=crop_mode,
                                    interpolation=interp, mean=mean, std=std)


def load_rgb(path):
    """timm's loader (timm.data.readers: open(path, "rb"), Image.open(f).convert("RGB"))."""
    with open(path, "rb") as f:
        return Image.open(f).convert("RGB")


def normalize_u8(u8, mean, std):
    """float32 ((u8 / 255) - mean) / std, channel-major, as ToTensor + Normalize compute it."""
    x = torch.from_numpy(np.asarray(u8, np.uint8)).to(torch.float32).div(255)
    m = torch.tensor(mean, dtype=torch.float32)[:, None, None]
    s = torch.tensor(std, dtype=torch.float32)[:, None, None]
    return (x - m) / s


def main():
    os.makedirs(OUT, exist_ok=True)
    images = make_inputs()
    tensors = []
    for stem, fname, _ in images:
        img = load_rgb(os.path.join(OUT, fname))
        for sname, (size, interp, pct, mean, std, crop) in SETTINGS.items():
            if size == 224 and sname not in FULL_SIZE_FOR.get(stem, ()):
                continue
            ref = torchvision_transform(size, interp, pct, mean, std, crop)(img)
            timm_tf = timm_transform(size, interp, pct, mean, std, crop)
            if timm_tf is not None:  # the written-out transform is timm's, bit for bit
                assert torch.equal(timm_tf(img), ref), (stem, sname, "timm")
            tf = torchvision_transform(size, interp, pct, [0.0] * 3, [1.0] * 3, crop, mean)
            u8 = torch.round(tf(img) * 255)
            assert u8.shape == (3, size, size) and 0 <= u8.min() and u8.max() <= 255
            u8 = u8.to(torch.uint8).numpy()
            # the stored uint8 crop reproduces torchvision's normalized tensor bit for bit
            assert torch.equal(normalize_u8(u8, mean, std), ref), (stem, sname)
            tensors.append((f"{stem}.{sname}", u8))
    meta = {
        "settings": json.dumps({k: {"input_size": s, "interpolation": i, "crop_pct": c, "mean": m,
                                    "std": d, "crop_mode": cm, "scale_to": math.floor(s / c)}
                                for k, (s, i, c, m, d, cm) in SETTINGS.items()}),
        "images": json.dumps({stem: fname for stem, fname, _ in images}),
        "layout": "U8 [3, S, S] = ToTensor() * 255 of the center crop; "
                  "normalized = ((float)u8 / 255.0f - mean[c]) / std[c]",
        "generator": "tests/reference/gen_preprocess_fixtures.py",
    }
    path = os.path.join(OUT, "preprocess.expected.safetensors")
    write_u8(path, tensors, meta)
    total = 0
    for stem, fname, desc in images:
        p = os.path.join(OUT, fname)
        with open(p, "rb") as f:
            im = Image.open(f)
            mode, size = im.mode, im.size
        n = os.path.getsize(p)
        total += n
        print(f"{fname:34s} {size[0]:4d}x{size[1]:<4d} {mode:5s} {n:7d} B  {desc}")
    n = os.path.getsize(path)
    total += n
    print(f"preprocess.expected.safetensors: {len(tensors)} U8 tensors, {n} B")
    for name, a in tensors:
        print(f"  {name:45s} {list(a.shape)}")
    print(f"total {total} B")


if __name__ == "__main__":
    main()
