"""Regenerate tests/fixtures/transformers/ deterministically (byte-identical on rerun):

    /usr/bin/python3 tests/reference/gen_transformers_fixtures.py

(needs torch, numpy and PIL; not transformers). Model folders as transformers' save_pretrained
writes them (config.json, model.safetensors with {"format": "pt"} metadata, plus a
preprocessor_config.json), built from the independent references in transformers_ref.py.
Weights are drawn in float32 from fixed seeds, every parameter randomised; the references run
in float64 and are stored as F32. Model inputs are not stored: both sides compute them with
the hash of tests/fixtures/README.md (gen_fixtures.input_hash), shape
[B, num_channels, image_size, image_size]; the cases of EXTRA_SIZES are also run at [1, C, S, S]
with seed + S and stored as <key>@<S>. Models: ViT, DeiT (with and without teacher), Swin, Swin V2,
DINOv2, DINOv2 with registers, CLIP's vision tower (CLIPVisionModel, ...WithProjection,
CLIPModel). Preprocessing: transformers' slow image processors (PIL path, ViT / DeiT / CLIP /
Bit) on the photographs of tests/fixtures/images/. tests/fixtures/transformers/README.md says
what each file covers.
"""
import contextlib
import json
import math
import os
import struct
import sys
from dataclasses import fields

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io as st  # noqa: E402
import transformers_ref as ref  # noqa: E402
from gen_fixtures import input_hash  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "fixtures", "transformers"))
IMAGES = os.path.normpath(os.path.join(HERE, "..", "fixtures", "images"))
REGEN = {"regenerate": "/usr/bin/python3 tests/reference/gen_transformers_fixtures.py"}
RESCALE = 1 / 255  # json writes it as 0.00392156862745098, which reads back as the same double

LABELS_5 = {0: "tabby cat", 1: "golden retriever", 2: "espresso", 3: "space shuttle", 4: "cowboy hat"}
LABELS_4 = {0: "daisy", 1: "dandelion", 2: "rose", 3: "tulip"}
LABELS_7 = {0: "airplane", 1: "automobile", 2: "bird", 3: "cat", 4: "deer", 5: "frog", 6: "ship"}

SWIN_CLS = dict(patch_size=4, embed_dim=4, depths=(2, 2, 2, 2), num_heads=(2, 1, 4, 2),
                window_size=7, mlp_ratio=2.0, layer_norm_eps=1e-5, id2label=LABELS_7)
# Swinv2: window 4, pretrained windows 3 / none / 6 (every stage scales its coordinates differently)
SWINV2_CLS = dict(patch_size=4, embed_dim=12, depths=(2, 2, 2), num_heads=(2, 3, 4), window_size=4,
                  pretrained_window_sizes=(3, 0, 6), mlp_ratio=2.0, layer_norm_eps=1e-4,
                  path_norm=True, id2label=LABELS_5)
SWINV2_HUB = dict(name_or_path="microsoft/swinv2-tiny-patch4-window8-256",
                  problem_type="single_label_classification")


def vit_pp(size, resample, mean, std, legacy=False):
    if legacy:  # an old ViTFeatureExtractor file: bare int size, no rescale keys
        return {"do_normalize": True, "do_resize": True, "feature_extractor_type": "ViTFeatureExtractor",
                "image_mean": mean, "image_std": std, "resample": resample, "size": size}
    return {"do_convert_rgb": None, "do_normalize": True, "do_rescale": True, "do_resize": True,
            "image_mean": mean, "image_processor_type": "ViTImageProcessor", "image_std": std,
            "resample": resample, "rescale_factor": RESCALE, "size": {"height": size, "width": size}}


def deit_pp(size, crop, mean, std, legacy=False):
    if legacy:  # facebook/deit-*'s file: bare ints; DeiT reads size 256 as 256 x 256 (square)
        return {"crop_size": crop, "do_center_crop": True, "do_normalize": True, "do_resize": True,
                "feature_extractor_type": "DeiTFeatureExtractor", "image_mean": mean,
                "image_std": std, "resample": 3, "size": size}
    return {"crop_size": {"height": crop, "width": crop}, "do_center_crop": True,
            "do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": mean,
            "image_processor_type": "DeiTImageProcessor", "image_std": std, "resample": 3,
            "rescale_factor": RESCALE, "size": {"height": size, "width": size}}


def clip_pp(shortest, crop, legacy=False):
    mean, std = ref.OPENAI_CLIP_MEAN, ref.OPENAI_CLIP_STD
    if legacy:  # CLIPFeatureExtractor file: bare ints; CLIP reads size n as {"shortest_edge": n}
        return {"crop_size": crop, "do_center_crop": True, "do_normalize": True, "do_resize": True,
                "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": mean,
                "image_std": std, "resample": 3, "size": shortest}
    return {"crop_size": {"height": crop, "width": crop}, "do_center_crop": True,
            "do_convert_rgb": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
            "image_mean": mean, "image_processor_type": "CLIPImageProcessor", "image_std": std,
            "resample": 3, "rescale_factor": RESCALE, "size": {"shortest_edge": shortest}}


def bit_pp(shortest, crop, mean, std):
    """BitImageProcessor file as facebook/dinov2-* ship it (shortest_edge 256, crop 224)."""
    return {"crop_size": {"height": crop, "width": crop}, "do_center_crop": True,
            "do_convert_rgb": True, "do_normalize": True, "do_rescale": True, "do_resize": True,
            "image_mean": mean, "image_processor_type": "BitImageProcessor", "image_std": std,
            "resample": 3, "rescale_factor": RESCALE, "size": {"shortest_edge": shortest}}


IN_MEAN, IN_STD = ref.IMAGENET_DEFAULT_MEAN, ref.IMAGENET_DEFAULT_STD
HALF = [0.5, 0.5, 0.5]
DINOV2_PP = bit_pp(256, 224, IN_MEAN, IN_STD)  # facebook/dinov2-*, as on the hub
V452 = "4.52.0"  # dinov2_with_registers: classifier mean without the registers (transformers >= 4.52)

# name, config, architecture, batch, input seed, weight seed, config.json options, preprocessor
CASES = [
    ("vit_cls",
     ref.ViTConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=40,
                   image_size=32, patch_size=8, qkv_bias=True, layer_norm_eps=1e-12,
                   id2label=LABELS_5),
     "ViTForImageClassification", 2, 21, 301,
     dict(name_or_path="google/vit-base-patch16-224-in21k", problem_type="single_label_classification"),
     vit_pp(32, 2, HALF, HALF)),
    ("vit_model",
     ref.ViTConfig(hidden_size=15, num_hidden_layers=3, num_attention_heads=3, intermediate_size=56,
                   image_size=48, patch_size=16, qkv_bias=False, layer_norm_eps=1e-3),
     "ViTModel", 2, 22, 302, dict(version="4.48.0"), vit_pp(48, 2, HALF, HALF, legacy=True)),
    ("deit_cls",
     ref.ViTConfig(model_type="deit", hidden_size=20, num_hidden_layers=2, num_attention_heads=4,
                   intermediate_size=36, image_size=32, patch_size=8, qkv_bias=True,
                   layer_norm_eps=1e-12, id2label=LABELS_4),
     "DeiTForImageClassification", 2, 23, 303, dict(name_or_path="facebook/deit-tiny-patch16-224"),
     deit_pp(37, 32, IN_MEAN, IN_STD)),
    ("swin_cls_224", ref.SwinConfig(image_size=224, **SWIN_CLS),
     "SwinForImageClassification", 1, 24, 304,
     dict(name_or_path="microsoft/swin-tiny-patch4-window7-224",
          problem_type="single_label_classification"),
     vit_pp(224, 3, IN_MEAN, IN_STD, legacy=True)),
    ("swin_cls_256", ref.SwinConfig(image_size=256, **SWIN_CLS),
     "SwinForImageClassification", 2, 25, 304,  # the weights of swin_cls_224
     dict(name_or_path="microsoft/swin-tiny-patch4-window7-224",
          problem_type="single_label_classification"),
     vit_pp(256, 3, IN_MEAN, IN_STD, legacy=True)),
    ("swin_model",
     ref.SwinConfig(image_size=72, patch_size=4, embed_dim=6, depths=(2, 3, 2), num_heads=(3, 2, 4),
                    window_size=5, mlp_ratio=2.5, qkv_bias=False, layer_norm_eps=1e-3,
                    path_norm=None),
     "SwinModel", 2, 26, 306, dict(), vit_pp(72, 3, IN_MEAN, IN_STD)),
    # ---- Swinv2 (weight seeds picked among 300-330 for a float32 noise <= 2e-6). swinv2_model's
    # stage 0 has head dim 1: cosines are exactly +-1, so its logit scales (up to log 300) cost
    # no float32 noise, and the doubled shift mask changes the outputs ------------------------
    ("swinv2_cls", ref.Swinv2Config(image_size=64, **SWINV2_CLS),
     "Swinv2ForImageClassification", 2, 27, 312, SWINV2_HUB,
     vit_pp(64, 3, IN_MEAN, IN_STD, legacy=True)),
    ("swinv2_cls_pad", ref.Swinv2Config(image_size=40, **SWINV2_CLS),
     "Swinv2ForImageClassification", 2, 28, 312, SWINV2_HUB,  # the weights of swinv2_cls
     vit_pp(40, 3, IN_MEAN, IN_STD, legacy=True)),
    ("swinv2_model",
     ref.Swinv2Config(image_size=56, patch_size=4, embed_dim=8, depths=(2, 3, 2), num_heads=(8, 2, 4),
                      window_size=5, mlp_ratio=2.5, qkv_bias=False, layer_norm_eps=1e-3),
     "Swinv2Model", 2, 29, 326, dict(), vit_pp(56, 3, IN_MEAN, IN_STD)),
    # ---- DINOv2, DINOv2 with registers, CLIP, DeiT with teacher ------------------------------
    ("dinov2_model",
     ref.Dinov2Config(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, image_size=56,
                      patch_size=14),
     "Dinov2Model", 2, 51, 351, dict(name_or_path="facebook/dinov2-small"), DINOV2_PP),
    ("dinov2_cls",
     ref.Dinov2Config(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, image_size=42,
                      patch_size=14, use_swiglu_ffn=True, id2label=LABELS_5),
     "Dinov2ForImageClassification", 2, 52, 352,
     dict(problem_type="single_label_classification"), DINOV2_PP),
    ("dinov2_reg_model",
     ref.Dinov2Config(model_type="dinov2_with_registers", hidden_size=16, num_hidden_layers=2,
                      num_attention_heads=2, image_size=56, patch_size=14, num_register_tokens=4,
                      qkv_bias=False),
     "Dinov2WithRegistersModel", 2, 53, 353,
     dict(name_or_path="facebook/dinov2-with-registers-small", version=V452), DINOV2_PP),
    ("dinov2_reg_cls",
     ref.Dinov2Config(model_type="dinov2_with_registers", hidden_size=16, num_hidden_layers=2,
                      num_attention_heads=2, image_size=42, patch_size=14, num_register_tokens=2,
                      layer_norm_eps=1e-3, id2label=LABELS_4),
     "Dinov2WithRegistersForImageClassification", 2, 54, 354, dict(version=V452), DINOV2_PP),
    ("clip_vision",
     ref.CLIPVisionConfig(hidden_size=16, intermediate_size=40, num_hidden_layers=2,
                          num_attention_heads=2, image_size=42, patch_size=14, hidden_act="quick_gelu"),
     "CLIPVisionModel", 2, 55, 355, dict(), clip_pp(42, 42)),
    ("clip_vision_proj",
     ref.CLIPVisionConfig(hidden_size=16, intermediate_size=48, projection_dim=12,
                          num_hidden_layers=2, num_attention_heads=2, image_size=48, patch_size=16,
                          hidden_act="gelu"),
     "CLIPVisionModelWithProjection", 2, 56, 356, dict(), clip_pp(48, 48)),
    ("clip_full",
     ref.CLIPConfig(
         text_config=ref.CLIPTextConfig(vocab_size=64, hidden_size=16, intermediate_size=24,
                                        projection_dim=10, num_hidden_layers=1,
                                        num_attention_heads=2, max_position_embeddings=8),
         vision_config=ref.CLIPVisionConfig(hidden_size=20, intermediate_size=36,
                                            num_hidden_layers=2, num_attention_heads=2,
                                            image_size=42, patch_size=14),
         projection_dim=10),
     "CLIPModel", 2, 57, 357, dict(name_or_path="openai/clip-vit-base-patch32"), clip_pp(42, 42)),
    ("deit_teacher",
     ref.ViTConfig(model_type="deit", hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                   intermediate_size=40, image_size=32, patch_size=8, qkv_bias=True,
                   layer_norm_eps=1e-12, id2label=LABELS_5),
     "DeiTForImageClassificationWithTeacher", 2, 58, 358,
     dict(name_or_path="facebook/deit-base-distilled-patch16-224"),
     deit_pp(36, 32, IN_MEAN, IN_STD, legacy=True)),
]
# extra input sizes (batch 1, input seed + size), stored as <key>@<size>: DINOv2 resamples its
# table whenever the grid differs; CLIP runs them with interpolate_pos_encoding=True; Swinv2
# keeps the windows and shifts its config.image_size fixed and pads the runtime maps
EXTRA_SIZES = {"dinov2_model": [28, 42, 70], "dinov2_reg_model": [42, 70], "clip_vision": [28, 56],
               "swinv2_cls_pad": [42, 64]}  # Swinv2: the windows fixed by config.image_size (40)

# Preprocessing: config name -> preprocessor_config.json dict
PREPROCESSORS = {
    "vit_224_bilinear": vit_pp(224, 2, HALF, HALF),                        # google/vit-base-patch16-224
    "deit_256_crop224": deit_pp(256, 224, IN_MEAN, IN_STD),                # facebook/deit-*, as saved now
    "swin_legacy_224": vit_pp(224, 3, IN_MEAN, IN_STD, legacy=True),      # microsoft/swin-tiny-*
    "swin_legacy_40": vit_pp(40, 3, IN_MEAN, IN_STD, legacy=True),        # the same, small
    "clip_72_crop64": clip_pp(72, 64),
    "vit_40_bilinear": vit_pp(40, 2, HALF, HALF),                          # vit_224_bilinear, small
    "clip_legacy_29_crop32": clip_pp(29, 32, legacy=True),                # crop larger than the image
    "deit_legacy_48_crop40": deit_pp(48, 40, IN_MEAN, IN_STD, legacy=True),
    "dinov2_256_crop224": DINOV2_PP,                                       # facebook/dinov2-*
    "bit_36_crop32": bit_pp(36, 32, IN_MEAN, IN_STD),                      # the same, small
}
# config name -> [(image stem, store the F32 tensor too)]; every run stores its U8 tensor. The
# 224-pixel configs cost 147 KiB per U8 tensor (588 KiB per F32 one), so only deit_256_crop224
# has a tensor; vit_224_bilinear and swin_legacy_224 are covered by their 40-pixel twins.
PREPROCESS_RUNS = {
    "vit_224_bilinear": [],
    "deit_256_crop224": [("chelsea_400x266", False)],
    "swin_legacy_224": [],
    "swin_legacy_40": [("rocket_160x240_palette", True)],
    "clip_72_crop64": [("chelsea_400x266", False), ("rocket_160x240_palette", False)],
    "vit_40_bilinear": [("camera_240x180_gray", True), ("astronaut_120x160_rgba", True)],
    "clip_legacy_29_crop32": [("chelsea_400x266", True), ("astronaut_120x160_rgba", True)],
    "deit_legacy_48_crop40": [("coffee_150x100", True)],
    "dinov2_256_crop224": [("astronaut_120x160_rgba", False)],
    "bit_36_crop32": [("chelsea_400x266", True), ("camera_240x180_gray", True)],
}
IMAGE_FILES = {
    "chelsea_400x266": "chelsea_400x266.jpg",
    "coffee_150x100": "coffee_150x100.png",
    "camera_240x180_gray": "camera_240x180_gray.jpg",
    "astronaut_120x160_rgba": "astronaut_120x160_rgba.png",
    "rocket_160x240_palette": "rocket_160x240_palette.png",
}


def path(*parts):
    return os.path.join(OUT, *parts)


def write_text(p, text):
    with open(p, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def pp_json(d):
    """preprocessor_config.json text as ImageProcessingMixin.to_json_string writes it."""
    return json.dumps(d, indent=2, sort_keys=True) + "\n"


def make_weights(cfg, arch, wseed):
    m = ref.build(cfg, arch)
    ref.randomize_(m, wseed)
    return {k: v.detach().clone() for k, v in m.state_dict().items()}


def run(cfg, arch, sd, x, dtype=torch.float64, interpolate=False):
    m = ref.build(cfg, arch)
    m.load_state_dict(sd, strict=True)
    m = m.to(dtype).eval()
    with torch.no_grad():
        if interpolate:  # extra sizes: CLIP needs interpolate_pos_encoding=True, DINOv2 ignores it
            return m(x.to(dtype), interpolate_pos_encoding=True), m
        return m(x.to(dtype)), m


OUTPUT_ORDER = ["logits", "features", "pooler", "last_hidden_state", "tokens"]
# stage maps kept per case (default: all), to keep the folder small: swin_model has every stage
# (padded everywhere); the two classifiers keep their first and / or last stage
STAGES = {"swin_cls_224": ("stage0", "stage3"), "swin_cls_256": ("stage3",)}


def expected_items(name, out):
    keys = [k for k in OUTPUT_ORDER if k in out]
    keys += [k for k in sorted(k for k in out if k.startswith("stage"))
             if name not in STAGES or k in STAGES[name]]
    return [(k, out[k]) for k in keys]


def inputs(cfg, batch, seed, size=None):
    size = size or cfg.image_size
    return input_hash((batch, cfg.num_channels, size, size), seed)


def expected_all(name, cfg, arch, sd, batch, seed):
    """The expected items of a case: its outputs at config.image_size, then <key>@<size> for
    each extra size (batch 1, input seed + size)."""
    out, _ = run(cfg, arch, sd, inputs(cfg, batch, seed))
    items = expected_items(name, out)
    for size in EXTRA_SIZES.get(name, []):
        o, _ = run(cfg, arch, sd, inputs(cfg, 1, seed + size, size), interpolate=True)
        items += [(f"{k}@{size}", v) for k, v in expected_items(name, o) if not k.startswith("stage")]
    return items


def gen_models():
    weights = {}
    for name, cfg, arch, batch, seed, wseed, cj, pp in CASES:
        if wseed not in weights:
            weights[wseed] = make_weights(cfg, arch, wseed)
        sd = weights[wseed]
        os.makedirs(path(name), exist_ok=True)
        write_text(path(name, "config.json"), ref.config_json(cfg, arch, **cj))
        write_text(path(name, "preprocessor_config.json"), pp_json(pp))
        st.write(path(name, "model.safetensors"), ref.hub_order(sd), ref.SAFETENSORS_METADATA)
        st.write(path(f"{name}.expected.safetensors"), expected_all(name, cfg, arch, sd, batch, seed), REGEN)


# --------------------------------------------------------------------------------------------
# preprocessing


def write_mixed(p, items, metadata):
    """safetensors with F32 and U8 tensors (numpy arrays), in the given order."""
    header = {"__metadata__": metadata}
    blobs, off = [], 0
    for name, a in items:
        if a.dtype == np.float32:
            dt, b = "F32", a.astype("<f4").tobytes()
        elif a.dtype == np.uint8:
            dt, b = "U8", a.tobytes()
        else:
            raise ValueError(a.dtype)
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    with open(p, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_mixed(p):
    with open(p, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = {"F32": "<f4", "U8": "u1"}[info["dtype"]]
        out[name] = np.frombuffer(data[8 + n + b:8 + n + e], dtype=dt).reshape(info["shape"]).copy()
    return out, meta


def load_rgb(stem):
    with open(os.path.join(IMAGES, IMAGE_FILES[stem]), "rb") as f:
        return Image.open(f).convert("RGB")


def normalize_from_u8(u8, pp):
    """The documented formula: float32(u8 * (double)rescale_factor), then (x - mean) / std in float32."""
    r = ref.resolve_processor(pp)
    x = (u8.astype(np.float64) * r["rescale_factor"]).astype(np.float32)
    m = np.array(r["image_mean"], np.float32)[:, None, None]
    s = np.array(r["image_std"], np.float32)[:, None, None]
    return (x - m) / s


def preprocess_items():
    items = []
    for cname, runs in PREPROCESS_RUNS.items():
        pp = PREPROCESSORS[cname]
        for stem, store_f32 in runs:
            f32, u8 = ref.hf_preprocess(load_rgb(stem), pp)
            assert np.array_equal(normalize_from_u8(u8, pp), f32), (stem, cname)
            if store_f32:
                items.append((f"{stem}.{cname}", f32))
            items.append((f"{stem}.{cname}.u8", u8))
    return items


def gen_preprocess():
    os.makedirs(path("preprocessor"), exist_ok=True)
    for cname, pp in PREPROCESSORS.items():
        write_text(path("preprocessor", f"{cname}.json"), pp_json(pp))
    meta = dict(REGEN)
    meta["generator"] = "tests/reference/gen_transformers_fixtures.py (transformers_ref.hf_preprocess)"
    meta["layout"] = ("<image stem>.<config>: F32 [3, H, W] channels first, the processor's "
                      "pixel_values for Image.open(image).convert('RGB'); <image stem>.<config>.u8: "
                      "U8 [3, H, W], the image after resize and center crop; F32 = "
                      "((float)((double)u8 * rescale_factor) - (float)mean[c]) / (float)std[c]. "
                      "Where only the .u8 tensor is stored, that formula gives the F32 values.")
    meta["configs"] = json.dumps({c: f"preprocessor/{c}.json" for c in PREPROCESSORS}, sort_keys=True)
    meta["images"] = json.dumps({s: f"tests/fixtures/images/{f}" for s, f in IMAGE_FILES.items()},
                                sort_keys=True)
    write_mixed(path("preprocess.expected.safetensors"), preprocess_items(), meta)


# --------------------------------------------------------------------------------------------
# verification and the numbers for README.md


def set_eps(model, eps, only=None):
    for n, mod in model.named_modules():
        if isinstance(mod, nn.LayerNorm) and (only is None or only(n)):
            mod.eps = eps


def maxdiff(a, b):
    return (a.double() - b.double()).abs().max().item()


NEW_CASES = ("dinov2_model", "dinov2_cls", "dinov2_reg_model", "dinov2_reg_cls", "clip_vision",
             "clip_vision_proj", "clip_full", "deit_teacher")


@contextlib.contextmanager
def patched(obj, attr, value):
    old = getattr(obj, attr)
    setattr(obj, attr, value)
    try:
        yield
    finally:
        setattr(obj, attr, old)


def resample_variant(antialias=None, old_scale_factor=False):
    """ref.resample_patch_table with the antialias flag forced, or transformers < 4.45's DINOv2
    rule (scale_factor=((g + 0.1) / n, (g + 0.1) / n) instead of size=(g, g))."""
    orig = ref.resample_patch_table
    forced = antialias

    def f(table, new_h, new_w, antialias=False, in_float32=True):
        if not old_scale_factor:
            return orig(table, new_h, new_w, antialias=forced, in_float32=in_float32)
        n = int(table.shape[1] ** 0.5)
        D = table.shape[-1]
        t = table.reshape(1, n, n, D).permute(0, 3, 1, 2).float()
        t = torch.nn.functional.interpolate(t, scale_factor=((new_h + 0.1) / n, (new_w + 0.1) / n),
                                            mode="bicubic", align_corners=False)
        assert t.shape[-2:] == (new_h, new_w)
        return t.to(table.dtype).permute(0, 2, 3, 1).reshape(1, new_h * new_w, D)

    return f


def new_case_notes(name, cfg, arch, sd, batch, seed, out):
    """Float32 noise at the extra sizes and what plausible mistakes change (numbers for the README)."""
    lines = []
    sizes = EXTRA_SIZES.get(name, [])
    main = "logits" if "logits" in out else "features"

    def at(size, **kw):
        x = inputs(cfg, 1, seed + size, size) if size else inputs(cfg, batch, seed)
        return run(cfg, arch, sd, x, interpolate=bool(size), **kw)[0]

    for size in sizes:
        o64, o32 = at(size), at(size, dtype=torch.float32)
        lines.append(f"  @{size}: {main} max|ref| {o64[main].abs().max().item():.3g}, f32 noise "
                     f"{maxdiff(o32[main], o64[main]):.2g}; tokens f32 noise {maxdiff(o32['tokens'], o64['tokens']):.2g}")
    if cfg.model_type in ("dinov2", "dinov2_with_registers") and sizes:
        aa = cfg.model_type == "dinov2"  # the wrong choice: flip it
        for desc, kw in ((f"antialias={aa} (the other DINOv2 class's resampling)", dict(antialias=aa)),
                         ("transformers < 4.45's scale_factor=(g + 0.1) / n", dict(old_scale_factor=True))):
            ref_tok = {size: at(size)["tokens"] for size in sizes}
            with patched(ref, "resample_patch_table", resample_variant(**kw)):
                ds = [maxdiff(at(size)["tokens"], ref_tok[size]) for size in sizes]
            lines.append(f"  {desc}: tokens differ by " + ", ".join(f"@{s_} {d:.2g}" for s_, d in zip(sizes, ds)))
    if cfg.model_type in ("dinov2", "dinov2_with_registers"):
        R = cfg.registers
        orig_interp = ref.Dinov2Embeddings.interpolate_pos_encoding

        def no_cls_row(self, n, H, W):
            pos = orig_interp(self, n, H, W)
            return torch.cat([torch.zeros_like(pos[:, :1]), pos[:, 1:]], 1)

        with patched(ref.Dinov2Embeddings, "interpolate_pos_encoding", no_cls_row):
            o = at(None)
        lines.append(f"  class token without position row 0 (timm's no_embed_class read as 'no class row'): "
                     f"{main} differ by {maxdiff(o[main], out[main]):.2g}")
        if "logits" in out:
            m = run(cfg, arch, sd, inputs(cfg, batch, seed))[1]
            lhs = out["last_hidden_state"]
            with torch.no_grad():
                with_cls = m.classifier(torch.cat([lhs[:, 0], lhs.mean(1)], 1))
                with_reg = m.classifier(torch.cat([lhs[:, 0], lhs[:, 1:].mean(1)], 1))
            lines.append(f"  classifier mean over all tokens (class token and any registers included): logits differ by "
                         f"{maxdiff(with_cls, out['logits']):.2g}" +
                         (f"; mean including the {R} registers (transformers 4.48-4.51): "
                          f"{maxdiff(with_reg, out['logits']):.2g}" if R else ""))
        if cfg.use_swiglu_ffn:
            def swapped(self, x):
                x1, x2 = self.weights_in(x).chunk(2, dim=-1)
                return self.weights_out(torch.nn.functional.silu(x2) * x1)

            with patched(ref.Dinov2SwiGLUFFN, "forward", swapped):
                o = at(None)
            lines.append(f"  SwiGLU halves swapped (silu on the second half): {main} differ by "
                         f"{maxdiff(o[main], out[main]):.2g}")
        if cfg.layer_norm_eps != 1e-6:
            m = ref.build(cfg, arch).double().eval()
            m.load_state_dict(sd)
            set_eps(m, 1e-6)
            with torch.no_grad():
                o = m(inputs(cfg, batch, seed).double())
            lines.append(f"  eps 1e-6 (DINOv2's default) instead of {cfg.layer_norm_eps}: {main} differ by "
                         f"{maxdiff(o[main], out[main]):.2g}")
    if name.startswith("clip"):
        vcfg = cfg.vision_config if isinstance(cfg, ref.CLIPConfig) else cfg
        lines.append(f"  tokens (post_layernorm of every token) vs last_hidden_state (no final norm): "
                     f"{maxdiff(out['tokens'], out['last_hidden_state']):.2g}")
        other = "gelu" if vcfg.hidden_act == "quick_gelu" else "quick_gelu"
        m = run(cfg, arch, sd, inputs(cfg, batch, seed))[1]
        for mod in m.modules():
            if isinstance(mod, ref.CLIPMLP):
                mod._act = ref.activation(other)
        with torch.no_grad():
            o = m(inputs(cfg, batch, seed).double())
        lines.append(f"  hidden_act {other} instead of {vcfg.hidden_act}: {main} differ by "
                     f"{maxdiff(o[main], out[main]):.2g}")
        m = run(cfg, arch, sd, inputs(cfg, batch, seed))[1]
        m.vision_model.pre_layrnorm = nn.Identity()
        with torch.no_grad():
            o = m(inputs(cfg, batch, seed).double())
        lines.append(f"  without pre_layrnorm: {main} differ by {maxdiff(o[main], out[main]):.2g}")
        if sizes:
            ref_tok = {size: at(size)["tokens"] for size in sizes}
            with patched(ref, "resample_patch_table", resample_variant(antialias=True)):
                ds = [maxdiff(at(size)["tokens"], ref_tok[size]) for size in sizes]
            lines.append("  antialiased resampling (timm's dynamic_img_size): tokens differ by "
                         + ", ".join(f"@{s_} {d:.2g}" for s_, d in zip(sizes, ds)))
        if "logits" in out:
            nrm = out["logits"] / out["logits"].norm(dim=-1, keepdim=True)
            lines.append(f"  L2-normalised image_embeds (CLIPModel.forward's) instead of "
                         f"get_image_features': logits differ by {maxdiff(nrm, out['logits']):.2g}")
    if name == "deit_teacher":
        m = run(cfg, arch, sd, inputs(cfg, batch, seed))[1]
        lhs = out["last_hidden_state"]
        with torch.no_grad():
            cls_only = m.cls_classifier(lhs[:, 0])
            one_head = m.cls_classifier(out["features"])
        lines.append(f"  cls_classifier only (DeiTForImageClassification's reading): logits differ by "
                     f"{maxdiff(cls_only, out['logits']):.2g}; cls_classifier on (t0 + t1) / 2: "
                     f"{maxdiff(one_head, out['logits']):.2g}")
    return lines


def roll_then_pad_forward(self, x, H, W):
    """Swinv2Layer.forward in timm's / Swin v1-timm's order (roll the unpadded map, then pad):
    not what transformers computes; for the notes."""
    B, L, C = x.shape
    w, s = self.window_size, self.shift_size
    h = x.reshape(B, H, W, C)
    if s:
        h = torch.roll(h, shifts=(-s, -s), dims=(1, 2))
    ph, pw = (w - H % w) % w, (w - W % w) % w
    h = torch.nn.functional.pad(h, (0, 0, 0, pw, 0, ph))
    Hp, Wp = H + ph, W + pw
    mask = ref.shift_mask(Hp, Wp, w, s, h.dtype) if s else None
    a = ref.window_reverse(self.attention(ref.window_partition(h, w), mask), w, Hp, Wp)[:, :H, :W]
    if s:
        a = torch.roll(a, shifts=(s, s), dims=(1, 2))
    x = x + self.layernorm_before(a.reshape(B, H * W, C))
    return x + self.layernorm_after(self.output(self.intermediate(x)))


def swinv2_notes(name, cfg, arch, sd, batch, seed, out):
    """Float32 noise of every stored output (main size and extra sizes), the window plan, and
    what plausible mistakes change (numbers for the README)."""
    lines = []
    runs = [(cfg.image_size, batch, seed)] + [(S, 1, seed + S) for S in EXTRA_SIZES.get(name, [])]
    main = "logits" if "logits" in out else "features"
    ls = torch.cat([v.flatten() for k, v in sd.items() if k.endswith("logit_scale")])
    lines.append(f"  logit_scale: {ls.numel()} heads, {(ls > math.log(100)).sum().item()} past the "
                 f"log(100) clamp (max {ls.max().item():.3f})")
    res = cfg.configured_resolutions()
    lines.append("  configured stage sizes " + ", ".join(map(str, res)) + "; window/shift per block: " +
                 ", ".join("/".join("w{}s{}".format(*cfg.window_shift(s, b)) for b in range(cfg.depths[s]))
                           for s in range(len(cfg.depths))))
    variants = {
        "mask added once (Swin v1's, timm's)":
            lambda: patched(ref, "swinv2_add_mask", ref.swinv2_add_mask_once),
        "no logit_scale clamp": lambda: patched(ref.Swinv2SelfAttention, "LOGIT_SCALE_MAX", 99.0),
        "roll then pad (timm's order)": lambda: patched(ref.Swinv2Layer, "forward", roll_then_pad_forward),
    }
    for S, B, sd_seed in runs:
        x = inputs(cfg, B, sd_seed, S)
        o64, m64 = run(cfg, arch, sd, x, interpolate=S != cfg.image_size)
        o32 = run(cfg, arch, sd, x, torch.float32, interpolate=S != cfg.image_size)[0]
        keys = [k for k in o64 if not (S != cfg.image_size and k.startswith("stage"))]
        noise = {k: maxdiff(o32[k], o64[k]) / max(1.0, o64[k].abs().max().item()) for k in keys}
        worst = max(noise, key=noise.get)
        rr = cfg.runtime_resolutions(S)
        pads = [-(-r // cfg.window_shift(s, 0)[0]) * cfg.window_shift(s, 0)[0] for s, r in enumerate(rr)]
        lines.append(f"  @{S} (B {B}): runtime stages {rr} padded to {pads}; {main} max|ref| "
                     f"{o64[main].abs().max().item():.3g}, f32 noise {maxdiff(o32[main], o64[main]):.2g}; "
                     f"worst relative f32 noise {noise[worst]:.2g} ({worst})")
        diffs = []
        for desc, ctx in variants.items():
            with ctx(), torch.no_grad():
                o = m64(x.double())
            diffs.append(f"{desc} {maxdiff(o[main], o64[main]):.2g}")
        zero = ref.Swinv2Config(**{**{f.name: getattr(cfg, f.name) for f in fields(cfg) if f.init},
                                   "pretrained_window_sizes": (0,) * len(cfg.pretrained_window_sizes)})
        if zero != cfg:
            o = run(zero, arch, sd, x)[0]
            diffs.append(f"pretrained_window_sizes ignored {maxdiff(o[main], o64[main]):.2g}")
        if S != cfg.image_size:  # Swin v1's rule: window and shift from the runtime stage sizes
            with patched(ref.Swinv2Config, "configured_resolutions", lambda self: self.runtime_resolutions(S)):
                o = run(cfg, arch, sd, x)[0]
            diffs.append(f"windows from the runtime stage sizes {maxdiff(o[main], o64[main]):.2g}")
        m = run(cfg, arch, sd, x)[1]
        set_eps(m, cfg.layer_norm_eps, only=lambda n: n.endswith(("embeddings.norm", "downsample.norm")))
        with torch.no_grad():
            o = m(x.double())
        diffs.append(f"config eps also in embeddings.norm / downsample.norm {maxdiff(o[main], o64[main]):.2g}")
        lines.append(f"    {main} differ with: " + "; ".join(diffs))
    return lines

def verify():
    for name, cfg, arch, batch, seed, wseed, cj, pp in CASES:
        with open(path(name, "config.json"), encoding="utf-8") as f:
            cfg2, arch2 = ref.config_from_dict(json.load(f))
        assert arch2 == arch
        with open(path(name, "preprocessor_config.json"), encoding="utf-8") as f:
            ppd = json.load(f)
            r = ref.resolve_processor(ppd, cfg2.model_type)
        if cfg2.model_type.startswith("dinov2"):
            # the hub's DINOv2 file (crop 224): the hub's models have image_size 518 and always
            # resample their table to the processed grid; so do these
            assert ppd == DINOV2_PP
        else:
            assert r["size"] == {"height": cfg.image_size, "width": cfg.image_size} or \
                r["crop_size"] == {"height": cfg.image_size, "width": cfg.image_size}
        sd, meta, dts = st.read(path(name, "model.safetensors"))
        assert meta == ref.SAFETENSORS_METADATA
        exp, emeta, _ = st.read(path(f"{name}.expected.safetensors"))
        assert emeta == REGEN
        want = expected_all(name, cfg2, arch2, sd, batch, seed)
        assert list(exp) == [k for k, _ in want], (name, list(exp))
        for k, v in want:
            assert torch.equal(v.float(), exp[k]), (name, k)
        x = inputs(cfg2, batch, seed)
        out, m64 = run(cfg2, arch2, sd, x)
        out32, m32 = run(cfg2, arch2, sd, x, torch.float32)
        main = "logits" if "logits" in out else "features"
        line = [f"{name}: {arch}, B {batch}, seed {seed}, {len(sd)} tensors"]
        for k in ("logits", "features", "pooler"):
            if k in out:
                ref_max = out[k].abs().max().item()
                line.append(f"  {k}: max|ref| {ref_max:.3g}, max|f32 - f64| {maxdiff(out32[k], out[k]):.2g} "
                            f"(tolerance 1e-5*max(1,max|ref|) = {1e-5 * max(1, ref_max):.2g})")
        # what a plausible mistake would change
        if name in ("vit_cls", "vit_model"):
            m = ref.build(cfg2, arch2).double().eval()
            m.load_state_dict(sd)
            set_eps(m, 1e-6)
            with torch.no_grad():
                o = m(x.double())
            line.append(f"  with timm's LayerNorm eps 1e-6 instead of {cfg.layer_norm_eps}: "
                        f"{main} differ by {maxdiff(o[main], out[main]):.2g}")
        if name == "deit_cls":
            with torch.no_grad():
                tok1 = m64.classifier(out["last_hidden_state"][:, 1])
                avg = (tok1 + out["logits"]) / 2
                d = m64.deit
                t = d.embeddings.patch_embeddings(x.double())
                pos = d.embeddings.position_embeddings
                t = torch.cat([d.embeddings.cls_token.expand(batch, -1, -1), t], 1) + \
                    torch.cat([pos[:, :1], pos[:, 2:]], 1)
                for layer in d.encoder.layer:
                    t = layer(t)
                nodist = m64.classifier(d.layernorm(t)[:, 0])
            line.append(f"  classifier on token 1: logits differ by {maxdiff(tok1, out['logits']):.2g}; "
                        f"(token 0 + token 1) / 2: {maxdiff(avg, out['logits']):.2g}; without the "
                        f"distillation token: {maxdiff(nodist, out['logits']):.2g}")
        if name.startswith("swin_cls"):
            lg, ft, stages = ref.timm_swin_outputs(m64, cfg2, x.double())
            line.append(f"  timm semantics (swin_ref) on the same weights: logits differ by "
                        f"{maxdiff(lg, out['logits']):.2g}, stages by "
                        + ", ".join(f"{maxdiff(stages[s], out[f'stage{s}']):.2g}" for s in range(len(stages))))
        if name == "swin_model":
            m = ref.build(cfg2, arch2).double().eval()
            m.load_state_dict(sd)
            set_eps(m, cfg.layer_norm_eps, only=lambda n: n == "embeddings.norm" or n.endswith("downsample.norm"))
            with torch.no_grad():
                o = m(x.double())
            line.append(f"  config eps also in embeddings.norm and downsample.norm: features differ "
                        f"by {maxdiff(o['features'], out['features']):.2g}")
        if name in NEW_CASES:
            line += new_case_notes(name, cfg2, arch2, sd, batch, seed, out)
            print("\n".join(line))
            continue
        if cfg2.model_type == "swinv2":
            line += swinv2_notes(name, cfg2, arch2, sd, batch, seed, out)
            print("\n".join(line))
            continue
        print("\n".join(line))
        print("  runtime stage sizes / window, shift: " + (
            ", ".join(f"{r}: " + "/".join("w{}s{}".format(*cfg.window_shift(b, r, r))
                                          for b in range(cfg.depths[s]))
                      for s, r in enumerate(cfg.runtime_resolutions(cfg.image_size)))
            if cfg.model_type == "swin" else f"{cfg.grid()}x{cfg.grid()} patches + {cfg.num_prefix} prefix"))

    got, meta = read_mixed(path("preprocess.expected.safetensors"))
    want = dict(preprocess_items())
    assert list(got) == list(want) and all(np.array_equal(got[k], want[k]) for k in want)
    for cname, pp in PREPROCESSORS.items():
        with open(path("preprocessor", f"{cname}.json"), encoding="utf-8") as f:
            assert json.load(f) == json.loads(pp_json(pp))
        r = ref.resolve_processor(pp)
        print(f"{cname}: {r['class']} size {r['size']} resample {r['resample']} crop "
              f"{r['crop_size'] if r['do_center_crop'] else None}")
        for stem, _ in PREPROCESS_RUNS[cname]:
            img = load_rgb(stem)
            rs = ref.resize_output_size(img.height, img.width, r["size"])
            print(f"    {stem} {img.width}x{img.height} -> resize {rs[1]}x{rs[0]} -> "
                  f"{list(got[f'{stem}.{cname}.u8'].shape)}")


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)  # same reduction order on every run
    os.makedirs(OUT, exist_ok=True)
    gen_models()
    gen_preprocess()
    verify()
    total = 0
    for root, _, files in os.walk(OUT):
        for f in sorted(files):
            total += os.path.getsize(os.path.join(root, f))
    for entry in sorted(os.listdir(OUT)):
        p = path(entry)
        n = sum(os.path.getsize(os.path.join(p, f)) for f in os.listdir(p)) if os.path.isdir(p) else os.path.getsize(p)
        print(f"  {entry:40s} {n:8d} B")
    print(f"fixtures written to {OUT}: {total / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
