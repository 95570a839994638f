#!/usr/bin/env python3
"""Writes the fuzzing seed corpora of tests/fuzz/corpus/ (deterministic, standard library only,
plus a C compiler and libjpeg for the JPEG seeds). Regenerate with

    python3 tests/fuzz/gen_seeds.py

Tiny models of each family (a few KB, so that libFuzzer mutates them quickly and a forward pass
takes microseconds), config.json files that fit them, .npy files, and images. Each image seed
starts with the 4 bytes fuzz_image.c reads as preprocessing settings. Files already found by
fuzzing are kept in tests/fuzz/regressions/ and are not touched here.
"""
import json
import os
import random
import shutil
import struct
import subprocess
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def f16_bits(x):
    return struct.unpack("<H", struct.pack("<e", x))[0]


def bf16_bits(x):
    u = struct.unpack("<I", struct.pack("<f", x))[0]
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF


def safetensors(tensors, meta=None, dtype="F32"):
    """tensors: list of (name, shape, values, dtype or None); values floats (or ints for I64)."""
    header, blobs, off = {}, [], 0
    for name, shape, values, dt in tensors:
        dt = dt or dtype
        if dt == "F32":
            blob = struct.pack("<%df" % len(values), *values)
        elif dt == "F16":
            blob = struct.pack("<%dH" % len(values), *[f16_bits(v) for v in values])
        elif dt == "BF16":
            blob = struct.pack("<%dH" % len(values), *[bf16_bits(v) for v in values])
        elif dt == "I64":
            blob = struct.pack("<%dq" % len(values), *values)
        else:
            raise ValueError(dt)
        header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(blob)]}
        blobs.append(blob)
        off += len(blob)
    if meta:
        header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


class Weights:
    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.items = []

    def add(self, name, shape, scale=0.5, offset=0.0):
        n = 1
        for d in shape:
            n *= d
        vals = [round(offset + scale * self.rng.gauss(0, 1), 4) for _ in range(n)]
        self.items.append((name, shape, vals, None))

    def norm(self, prefix, c):
        self.add(prefix + ".weight", [c], 0.1, 1.0)
        self.add(prefix + ".bias", [c], 0.1)

    def linear(self, prefix, out, inp, bias=True):
        self.add(prefix + ".weight", [out, inp], inp ** -0.5)
        if bias:
            self.add(prefix + ".bias", [out], 0.1)


def rel_index(wh, ww):
    n = wh * ww
    return [((i // ww - j // ww + wh - 1) * (2 * ww - 1) + (i % ww - j % ww + ww - 1))
            for i in range(n) for j in range(n)]


def shift_mask(hp, wp, wh, ww, sh, sw):
    def region(y, p, w, s):
        return 0 if y < p - w else (1 if y < p - s else 2)
    out = []
    nww, n = wp // ww, wh * ww
    for w in range((hp // wh) * nww):
        y0, x0 = (w // nww) * wh, (w % nww) * ww
        lab = [region(y0 + i // ww, hp, wh, sh) * 3 + region(x0 + i % ww, wp, ww, sw)
               for i in range(n)]
        out += [0.0 if lab[i] == lab[j] else -100.0 for i in range(n) for j in range(n)]
    return out


def swin(seed, official=False, dtype="F32", meta=True):
    """img 16, patch 2, embed 4, depths 2,1, heads 1,2, window 4, mlp 2x, 3 classes: stage 0 is
    an 8x8 grid of 2x2 windows of 4x4 with a shifted block, stage 1 one 4x4 window."""
    w = Weights(seed)
    D, depths, heads, win, K = 4, [2, 1], [1, 2], 4, 3
    w.add("patch_embed.proj.weight", [D, 3, 2, 2], 0.3)
    w.add("patch_embed.proj.bias", [D], 0.1)
    w.norm("patch_embed.norm", D)
    grid = 8
    for s, depth in enumerate(depths):
        C = D << s
        if s > 0:
            pre = "layers.%d.downsample" % (s - 1 if official else s)
            w.norm(pre + ".norm", 2 * C)
            w.linear(pre + ".reduction", C, 2 * C, bias=False)
        g = grid >> s
        wh = min(g, win)
        for b in range(depth):
            p = "layers.%d.blocks.%d" % (s, b)
            w.norm(p + ".norm1", C)
            w.linear(p + ".attn.qkv", 3 * C, C)
            w.linear(p + ".attn.proj", C, C)
            w.add(p + ".attn.relative_position_bias_table", [(2 * wh - 1) ** 2, heads[s]], 0.2)
            if official:
                w.items.append((p + ".attn.relative_position_index", [wh * wh, wh * wh],
                                rel_index(wh, wh), "I64"))
                if b % 2 == 1 and g > win:
                    nw = (g // wh) ** 2
                    w.items.append((p + ".attn_mask", [nw, wh * wh, wh * wh],
                                    shift_mask(g, g, wh, wh, win // 2, win // 2), "F32"))
            w.norm(p + ".norm2", C)
            w.linear(p + ".mlp.fc1", 2 * C, C)
            w.linear(p + ".mlp.fc2", C, 2 * C)
    C = D << (len(depths) - 1)
    w.norm("norm", C)
    w.linear("head" if official else "head.fc", K, C)
    md = {"arch": "swin", "img_size": "16", "depths": "2,1", "num_heads": "1,2",
          "window_size": "4"} if meta else {"img_size": "16"}
    return safetensors(w.items, md, dtype)


def swinv2(seed, cr=False, qkv_bias=True, dtype="F32"):
    """Swin V2 (cr: timm's swinv2_cr) as swin() is made: img 16, patch 2, embed 4, depths 2,1,
    heads 1,2, window 4, mlp 2x, 3 classes; the bias MLP 2 -> 8 -> heads; V2 with pretraining
    windows 3,0."""
    w = Weights(seed)
    D, depths, heads, K, hid = 4, [2, 1], [1, 2], 3, 8
    st = "stages" if cr else "layers"
    w.add("patch_embed.proj.weight", [D, 3, 2, 2], 0.3)
    w.add("patch_embed.proj.bias", [D], 0.1)
    w.norm("patch_embed.norm", D)
    for s, depth in enumerate(depths):
        C = D << s
        if s > 0:
            pre = "%s.%d.downsample" % (st, s)
            w.norm(pre + ".norm", 2 * C if cr else C)  # V2 normalises after the reduction
            w.linear(pre + ".reduction", C, 2 * C, bias=False)
        for b in range(depth):
            p = "%s.%d.blocks.%d" % (st, s, b)
            w.norm(p + ".norm1", C)
            w.linear(p + ".attn.qkv", 3 * C, C, bias=cr)
            if qkv_bias and not cr:
                w.add(p + ".attn.q_bias", [C], 0.1)
                w.add(p + ".attn.v_bias", [C], 0.1)
            w.add(p + ".attn.logit_scale", [heads[s]] if cr else [heads[s], 1, 1], 0.5, 2.3)
            mlp = p + (".attn.meta_mlp.fc" if cr else ".attn.cpb_mlp.")
            w.linear(mlp + ("1" if cr else "0"), hid, 2)
            w.linear(mlp + "2", heads[s], hid, bias=cr)
            w.linear(p + ".attn.proj", C, C)
            w.norm(p + ".norm2", C)
            w.linear(p + ".mlp.fc1", 2 * C, C)
            w.linear(p + ".mlp.fc2", C, 2 * C)
            if cr and b == depth - 1:
                w.norm(p + ".norm3", C)
    C = D << (len(depths) - 1)
    if not cr:
        w.norm("norm", C)
    w.linear("head.fc", K, C)
    md = {"arch": "swinv2_cr" if cr else "swinv2", "img_size": "16", "depths": "2,1",
          "num_heads": "1,2", "window_size": "4"}
    if cr:
        md["extra_norm_stage"] = "true"  # norm3 ends every stage
    else:
        md["pretrained_window_sizes"] = "3,0"
        md["qkv_bias"] = "true" if qkv_bias else "false"
    return safetensors(w.items, md, dtype)


def vit(seed, cls=True, dtype="F32"):
    """img 8, patch 4 (2x2 patches), D 8, depth 2, heads 2, hidden 16, 3 classes."""
    w = Weights(seed)
    D, K = 8, 3
    w.add("patch_embed.proj.weight", [D, 3, 4, 4], 0.2)
    w.add("patch_embed.proj.bias", [D], 0.1)
    if cls:
        w.add("cls_token", [1, 1, D], 0.5)
    w.add("pos_embed", [1, 4 + cls, D], 0.5)
    for b in range(2):
        p = "blocks.%d" % b
        w.norm(p + ".norm1", D)
        w.linear(p + ".attn.qkv", 3 * D, D)
        w.linear(p + ".attn.proj", D, D)
        w.norm(p + ".norm2", D)
        w.linear(p + ".mlp.fc1", 16, D)
        w.linear(p + ".mlp.fc2", D, 16)
    w.norm("norm" if cls else "fc_norm", D)
    w.linear("head", K, D)
    md = {"arch": "vit", "num_heads": "2", "img_size": "8"}
    if not cls:
        md.update(class_token="0", global_pool="avg")
    return safetensors(w.items, md, dtype)


def to_transformers(data, prefix, head="classifier"):
    """The same tiny model under Hugging Face transformers' names: qkv split into query, key,
    value; Swin's PatchMerging at the end of the previous stage; relative_position_index
    buffers; the base model under prefix."""
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    meta = header.pop("__metadata__", None)
    items = []
    for name, e in header.items():
        a, b = e["data_offsets"]
        raw = body[a:b]
        if e["dtype"] != "F32":
            continue  # the F32 seeds only
        vals = list(struct.unpack("<%df" % (len(raw) // 4), raw))
        items.append((name, e["shape"], vals))
    out = []
    for name, shape, vals in items:
        parts = name.split(".")
        if name.startswith("head"):
            out.append((head + "." + parts[-1], shape, vals, None))
            continue
        if name == "cls_token":
            new = "embeddings.cls_token"
        elif name == "pos_embed":
            new = "embeddings.position_embeddings"
        elif name.startswith("patch_embed.proj."):
            new = "embeddings.patch_embeddings.projection." + parts[-1]
        elif name.startswith("patch_embed.norm."):
            new = "embeddings.norm." + parts[-1]
        elif name.startswith("norm."):
            new = "layernorm." + parts[-1]
        elif name.startswith("layers.") and parts[2] == "downsample":
            new = "encoder.layers.%d.downsample.%s" % (int(parts[1]) - 1, ".".join(parts[3:]))
        else:
            if name.startswith("blocks."):
                base, rest = "encoder.layer.%s." % parts[1], parts[2:]
                attn = "attention.attention."
            else:
                base, rest = "encoder.layers.%s.blocks.%s." % (parts[1], parts[3]), parts[4:]
                attn = "attention.self."
            sub_ = ".".join(rest)
            names = {"norm1": "layernorm_before", "norm2": "layernorm_after",
                     "attn.proj": "attention.output.dense", "mlp.fc1": "intermediate.dense",
                     "mlp.fc2": "output.dense"}
            if sub_.startswith("attn.qkv."):
                third = len(vals) // 3
                for k, part in enumerate(("query", "key", "value")):
                    out.append((prefix + base + attn + part + "." + rest[-1],
                                [shape[0] // 3] + shape[1:], vals[k * third:(k + 1) * third],
                                None))
                continue
            if sub_ == "attn.relative_position_bias_table":
                new = base + attn + "relative_position_bias_table"
                wh = int(round((shape[0] ** 0.5 + 1) / 2))
                out.append((prefix + base + attn + "relative_position_index",
                            [wh * wh, wh * wh], rel_index(wh, wh), "I64"))
            else:
                new = base + names[".".join(rest[:-1])] + "." + rest[-1]
        out.append((prefix + new, shape, vals, None))
    return safetensors(out, meta)


def vit_postnorm(seed, dtype="F32"):
    """img 8, patch 4, D 8, depth 2, heads 2, hidden 16, ReLU, class token, pos_embed 6 rows."""
    w = Weights(seed)
    D, K = 8, 3
    w.add("patch_embed.proj.weight", [D, 3, 4, 4], 0.2)
    w.add("patch_embed.proj.bias", [D], 0.1)
    w.add("cls_token", [1, 1, D], 0.5)
    w.add("pos_embed", [6, D], 0.5)
    for b in range(2):
        p = "encoder.layers.%d" % b
        w.add(p + ".self_attn.in_proj_weight", [3 * D, D], D ** -0.5)
        w.add(p + ".self_attn.in_proj_bias", [3 * D], 0.1)
        w.linear(p + ".self_attn.out_proj", D, D)
        w.linear(p + ".linear1", 16, D)
        w.linear(p + ".linear2", D, 16)
        w.norm(p + ".norm1", D)
        w.norm(p + ".norm2", D)
    w.norm("encoder.norm", D)
    w.linear("head", K, D)
    md = {"arch": "vit_postnorm", "num_heads": "2", "img_size": "8", "patch_size": "4",
          "mlp_hidden_dim": "16"}
    return safetensors(w.items, md, dtype)


def npy(shape, values, version=1, descr="<f4"):
    d = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join("%d, " % s for s in shape) if len(shape) != 1 else "%d," % shape[0])
    pre = 10 if version == 1 else 12
    total = (pre + len(d) + 1 + 63) // 64 * 64
    hdr = (d + " " * (total - pre - len(d) - 1) + "\n").encode()
    size = struct.pack("<H", len(hdr)) if version == 1 else struct.pack("<I", len(hdr))
    return b"\x93NUMPY" + bytes([version, 0]) + size + hdr + struct.pack("<%df" % len(values),
                                                                        *values)


def png(width, height, color, depth, rows, interlace=0, extra=b""):
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    raw = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def pngs():
    rng = random.Random(5)
    def rnd(n):
        return bytes(rng.randrange(256) for _ in range(n))
    plte = b"".join(bytes([i * 60, 255 - i * 60, i * 30]) for i in range(4))
    return {
        "rgb_5x4.png": png(5, 4, 2, 8, [rnd(15) for _ in range(4)]),
        "gray_3x7.png": png(3, 7, 0, 8, [rnd(3) for _ in range(7)]),
        "gray1_9x2.png": png(9, 2, 0, 1, [rnd(2) for _ in range(2)]),
        "rgba16_2x3.png": png(2, 3, 6, 16, [rnd(16) for _ in range(3)]),
        "gray_alpha_4x4.png": png(4, 4, 4, 8, [rnd(8) for _ in range(4)]),
        "palette_trns_6x3.png": png(6, 3, 3, 2, [rnd(2) for _ in range(3)],
                                    extra=(struct.pack(">I", len(plte)) + b"PLTE" + plte +
                                           struct.pack(">I", zlib.crc32(b"PLTE" + plte)) +
                                           struct.pack(">I", 2) + b"tRNS\x00\x80" +
                                           struct.pack(">I", zlib.crc32(b"tRNS\x00\x80")))),
        "interlaced_9x9.png": png(9, 9, 2, 8, [rnd(27) for _ in range(9)], interlace=1),
        "wide_40x1.png": png(40, 1, 2, 8, [rnd(120)]),
    }


def jpegs():
    """Tiny JPEGs from gen_jpeg.c (baseline, 4:2:0, progressive, gray, CMYK, restart)."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        raise SystemExit("gen_seeds.py: a C compiler and libjpeg are needed for the JPEG seeds")
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "gen_jpeg")
        subprocess.run([cc, os.path.join(HERE, "gen_jpeg.c"), "-ljpeg", "-o", exe], check=True)
        subprocess.run([exe, tmp], check=True)
        return {f: open(os.path.join(tmp, f), "rb").read()
                for f in sorted(os.listdir(tmp)) if f.endswith(".jpg")}


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    models = {
        "swin_timm.safetensors": swin(1),
        "swin_official.safetensors": swin(2, official=True),
        "swin_f16_nometa.safetensors": swin(3, dtype="F16", meta=False),
        "vit_token.safetensors": vit(4),
        "vit_avg_bf16.safetensors": vit(5, cls=False, dtype="BF16"),
        "vit_postnorm.safetensors": vit_postnorm(6),
    }
    for name, data in models.items():
        write("safetensors", name, data)
    write("model_swin", "swin_timm.safetensors", models["swin_timm.safetensors"])
    write("model_swin", "swin_official.safetensors", models["swin_official.safetensors"])
    write("model_swin", "swin_f16_nometa.safetensors", models["swin_f16_nometa.safetensors"])
    write("model_vit", "vit_token.safetensors", models["vit_token.safetensors"])
    write("model_vit", "vit_avg_bf16.safetensors", models["vit_avg_bf16.safetensors"])
    write("model_vit_postnorm", "vit_postnorm.safetensors", models["vit_postnorm.safetensors"])
    write("model_swinv2", "swinv2.safetensors", swinv2(8))
    write("model_swinv2", "swinv2_noqv_bf16.safetensors", swinv2(9, qkv_bias=False, dtype="BF16"))
    write("model_swinv2_cr", "swinv2_cr.safetensors", swinv2(10, cr=True))
    # the same models under transformers' names (the naming layer's renames and q/k/v stacking)
    write("model_swin", "swin_transformers.safetensors",
          to_transformers(models["swin_timm.safetensors"], "swin."))
    write("model_vit", "vit_transformers.safetensors",
          to_transformers(models["vit_token.safetensors"], "vit."))
    write("model_vit_postnorm", "vit_postnorm_f16.safetensors", vit_postnorm(7, dtype="F16"))
    # a few framing cases for the raw parser (the full bad corpus is tests/fixtures/bad)
    write("safetensors", "empty_header.safetensors", struct.pack("<Q", 2) + b"{}")
    write("safetensors", "meta_only.safetensors",
          safetensors([], {"arch": "swin", "depths": "2,2"}))
    write("safetensors", "all_dtypes.safetensors", safetensors(
        [("a", [2], [1.5, -2.0], "F32"), ("b", [3], [0.5, 1e-6, 65504.0], "F16"),
         ("c", [1, 2], [3.0, -0.0], "BF16"), ("d", [2, 1], [7, -1], "I64"),
         ("e", [0], [], "F32"), ("f", [], [9.0], "F32")]))

    tiny_pre = {"input_size": [3, 16, 16], "interpolation": "bicubic", "crop_pct": 0.875,
                "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "crop_mode": "center"}
    configs = {
        "swin.json": {"architecture": "swin", "num_classes": 3, "global_pool": "avg",
                      "model_args": {"img_size": 16, "patch_size": 2, "window_size": 4,
                                     "embed_dim": 4, "depths": [2, 1], "num_heads": [1, 2],
                                     "mlp_ratio": 2.0, "drop_path_rate": 0.1},
                      "pretrained_cfg": tiny_pre, "label_names": ["a", "b", "c"]},
        "vit.json": {"architecture": "vit", "num_classes": 3, "global_pool": "token",
                     "model_args": {"img_size": [8, 8], "patch_size": 4, "embed_dim": 8,
                                    "depth": 2, "num_heads": 2, "class_token": True},
                     "pretrained_cfg": dict(tiny_pre, input_size=[3, 8, 8],
                                            interpolation="bilinear", crop_pct=1.0)},
        "vit_postnorm.json": {"architecture": "vit_postnorm",
                              "pretrained_cfg": {"interpolation": "lanczos", "crop_pct": 0.95,
                                                 "mean": 0.5, "std": [0.2, 0.2, 0.2]}},
        "presets.json": {"architecture": "swin_tiny_patch4_window7_224", "num_classes": 1000,
                         "model_args": {"img_size": 224, "window_size": 7},
                         "pretrained_cfg": {"input_size": [3, 224, 224], "crop_pct": 0.9,
                                            "interpolation": "hamming"}},
        "minimal.json": {},
        "transformers_vit.json": {
            "architectures": ["ViTForImageClassification"], "model_type": "vit",
            "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2,
            "intermediate_size": 16, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
            "image_size": 8, "patch_size": 4, "num_channels": 3, "qkv_bias": True,
            "id2label": {"0": "a", "1": "b", "2": "c"}, "label2id": {"a": 0, "b": 1, "c": 2}},
        "transformers_swin.json": {
            "architectures": ["SwinModel"], "model_type": "swin", "embed_dim": 4,
            "depths": [2, 1], "num_heads": [1, 2], "window_size": 4, "mlp_ratio": 2.0,
            "qkv_bias": True, "hidden_act": "gelu", "layer_norm_eps": 1e-5, "image_size": 16,
            "patch_size": 2, "num_channels": 3, "use_absolute_embeddings": False,
            "path_norm": True},
        "transformers_swinv2.json": {
            "architectures": ["Swinv2ForImageClassification"], "model_type": "swinv2",
            "embed_dim": 4, "depths": [2, 1], "num_heads": [1, 2], "window_size": 4,
            "pretrained_window_sizes": [3, 0], "image_size": 16, "patch_size": 2,
            "id2label": {"0": "a", "1": "b", "2": "c"}},
        "swinv2_cr.json": {"architecture": "swinv2_cr_tiny_ns_224", "num_classes": 3,
                           "model_args": {"img_size": 16, "patch_size": 2, "embed_dim": 4,
                                          "depths": [2, 1], "num_heads": [1, 2],
                                          "window_ratio": 2, "extra_norm_period": 1}},
        "preprocessor_vit.json": {"image_processor_type": "ViTImageProcessor",
                                  "size": {"height": 8, "width": 8}, "resample": 2,
                                  "do_rescale": True, "rescale_factor": 1 / 255,
                                  "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
        "preprocessor_clip.json": {"image_processor_type": "CLIPImageProcessor",
                                   "size": {"shortest_edge": 9}, "crop_size": 8,
                                   "do_center_crop": True, "resample": 3},
        "transformers_dinov2_reg.json": {
            "architectures": ["Dinov2WithRegistersForImageClassification"],
            "model_type": "dinov2_with_registers", "hidden_size": 8, "num_hidden_layers": 2,
            "num_attention_heads": 2, "mlp_ratio": 2, "layer_norm_eps": 1e-6,
            "image_size": 8, "patch_size": 4, "num_register_tokens": 2,
            "use_swiglu_ffn": True, "id2label": {"0": "a", "1": "b"}},
        "transformers_clip.json": {
            "architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": 6,
            "vision_config": {"hidden_size": 8, "intermediate_size": 16,
                              "num_hidden_layers": 1, "num_attention_heads": 2,
                              "image_size": 8, "patch_size": 4},
            "text_config": {"hidden_size": 8, "num_hidden_layers": 1}},
        "preprocessor_bit.json": {"image_processor_type": "BitImageProcessor",
                                  "size": {"shortest_edge": 10}, "crop_size": {"height": 8,
                                                                              "width": 8},
                                  "do_center_crop": True, "resample": 3,
                                  "do_convert_rgb": True},
        "eva.json": {"architecture": "eva02_tiny_patch14_224", "num_classes": 3,
                     "model_args": {"img_size": 28, "embed_dim": 8, "depth": 1,
                                    "num_heads": 2, "dynamic_img_size": True}},
    }
    for name, cfg in configs.items():
        write("config", name, json.dumps(cfg, indent=1).encode())
    shapes = os.path.join(HERE, "..", "..", "examples", "shapes", "config.json")
    if os.path.exists(shapes):
        write("config", "examples_shapes.json", open(shapes, "rb").read())

    vals = [0.5 * i - 1.0 for i in range(24)]
    write("npy", "v1_2x3x4.npy", npy([2, 3, 4], vals))
    write("npy", "v2_24.npy", npy([24], vals, version=2))
    write("npy", "v3_1x1x2x2x3x1x1x2.npy", npy([1, 1, 2, 2, 3, 1, 1, 2], vals, version=3))
    write("npy", "f8.npy", npy([3], vals[:6], descr="<f8"))
    write("npy", "special.npy", npy([4], [float("nan"), float("inf"), -float("inf"), -0.0]))

    # image seeds: 4 settings bytes (fuzz_image.c), then the file
    images = dict(pngs())
    images.update(jpegs())
    for i, (name, data) in enumerate(sorted(images.items())):
        settings = bytes([(7 * i + 16) % 64, i % 5, (37 * i) % 256, i % 2])
        write("image", name, settings + data)


if __name__ == "__main__":
    main()
