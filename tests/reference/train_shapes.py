"""Train the example model examples/shapes/: a small Swin that classifies geometric shapes.

    /usr/bin/python3 tests/reference/train_shapes.py          # regenerate examples/shapes/
    /usr/bin/python3 tests/reference/eval_shapes.py           # held-out accuracy (and vs C)

Needs Debian's python3-torch, python3-numpy, python3-pil (python3-torchvision optional: used
for a self-check of the eval transform). No download, no timm. Time on 2 CPU cores: about
40 s rendering + 300 s training + 20 s export and held-out check, about 6 minutes in all when
the cores are not shared (wall clock grows with CPU steal on a busy host: 11 minutes once).
Deterministic: with the same torch build and CPU it rewrites byte-identical files (fixed seeds,
fixed step count, deterministic algorithms, 2 data-parallel ranks of 1 thread each whose
gradients are averaged with gloo).

What it does
1. Renders N_TRAIN labelled images of CLASSES with PIL (render(): random colours, gradient
   backgrounds, size, position, rotation, mirror, mild stretch, blur, noise, stray dots and
   lines, some grayscale, some JPEG round-trips; canvas sizes and aspect ratios vary) and
   applies timm's eval transform to each (eval_crop(): shorter side -> floor(64 / 0.9) = 71 with
   PIL bicubic, center crop 64, /255, ImageNet mean/std): the model trains on exactly what it
   will see at inference.
2. Trains swin_ref.SwinTransformer (timm semantics and names; img 64, patch 4, window 4,
   embed 24, depths 2,2,2, heads 1,2,4, mlp_ratio 4) with AdamW and a cosine schedule for a
   fixed number of steps.
3. Writes examples/shapes/: model.safetensors (F32, timm names), config.json (timm's hub
   layout, with label_names) and images/: examples the model never trained on (another seed)
   with images/expected_top5.json, the PyTorch reference's top-5 and logits in float64 under
   the eval transform (examples/shapes/README.md is written by hand).
4. Prints the held-out accuracy (eval_shapes.py, 500 images of a third seed).

Every image is a pure function of (split seed, index): render(seed, index) builds its own
random.Random and numpy Generator, so a set can be rendered in any order or in parallel and
comes out byte-identical. Splits use different seeds (SEED_TRAIN, SEED_EXAMPLES, SEED_HELDOUT).
The shape always lies inside the central square of side 0.9 * min(W, H), the part that the
eval transform keeps with crop_pct 0.9.
"""
import os

# One BLAS thread per rank: must be set before numpy/torch load OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import io
import json
import math
import random
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

CLASSES = ("circle", "square", "triangle", "star", "cross", "ring", "bar", "crescent", "heart",
           "arrow")

SEED_TRAIN = 1
SEED_EXAMPLES = 1001
SEED_HELDOUT = 2002

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)



# ---------------------------------------------------------------------------------------------
# Shapes as polygons in a unit frame (radius about 1, y down)


def _regular(n, r=1.0, phase=-math.pi / 2):
    return [(r * math.cos(phase + 2 * math.pi * k / n), r * math.sin(phase + 2 * math.pi * k / n))
            for k in range(n)]


def _star(points=5, r_out=1.0, r_in=0.42):
    pts = []
    for k in range(2 * points):
        r = r_out if k % 2 == 0 else r_in
        a = -math.pi / 2 + math.pi * k / points
        pts.append((r * math.cos(a), r * math.sin(a)))
    return pts


def _heart():
    pts = []
    for k in range(96):
        t = 2 * math.pi * k / 96
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        pts.append((x / 16.5, -(y + 2.5) / 16.5))
    return pts


def shape_polygons(name, rng):
    """List of (polygon, fill) drawn in order on the mask: fill 255 = shape, 0 = hole."""
    if name == "circle":
        return [(_regular(96), 255)]
    if name == "square":
        return [([(-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)], 255)]
    if name == "triangle":
        return [([(x * 1.1, y * 1.1 + 0.15) for x, y in _regular(3)], 255)]
    if name == "star":
        return [(_star(), 255)]
    if name == "cross":
        a = rng.uniform(0.24, 0.34)
        return [([(-a, -1), (a, -1), (a, -a), (1, -a), (1, a), (a, a), (a, 1), (-a, 1), (-a, a),
                  (-1, a), (-1, -a), (-a, -a)], 255)]
    if name == "ring":
        return [(_regular(96), 255), (_regular(96, rng.uniform(0.5, 0.7)), 0)]
    if name == "bar":
        w = rng.uniform(0.24, 0.32)
        return [([(-1, -w), (1, -w), (1, w), (-1, w)], 255)]
    if name == "crescent":
        d = rng.uniform(0.4, 0.55)
        inner = [(x * 0.9 + d, y * 0.9 - 0.1) for x, y in _regular(96)]
        return [(_regular(96), 255), (inner, 0)]
    if name == "heart":
        return [(_heart(), 255)]
    if name == "arrow":
        return [([(-1, -0.2), (0.15, -0.2), (0.15, -0.6), (1, 0), (0.15, 0.6), (0.15, 0.2),
                  (-1, 0.2)], 255)]
    raise ValueError(name)


# ---------------------------------------------------------------------------------------------
# Rendering


def _luma(c):
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _colours(rng):
    """(background, foreground) with enough luminance and colour contrast."""
    while True:
        bg = tuple(rng.randrange(256) for _ in range(3))
        fg = tuple(rng.randrange(256) for _ in range(3))
        dist = math.sqrt(sum((a - b) ** 2 for a, b in zip(bg, fg)))
        if abs(_luma(bg) - _luma(fg)) >= 70 and dist >= 120:
            return bg, fg


def _gradient(W, H, c0, c1, angle):
    """W x H RGB linear gradient from c0 to c1 along the direction angle (float32 array)."""
    ys, xs = np.mgrid[0:H, 0:W].astype(np.float32)
    t = xs * math.cos(angle) + ys * math.sin(angle)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    c0 = np.array(c0, np.float32)
    c1 = np.array(c1, np.float32)
    return c0 + (c1 - c0) * t[..., None]


def random_size(rng):
    """A canvas (W, H): shorter side 40..192, aspect up to 1.6 either way."""
    short = rng.randint(40, 192)
    aspect = math.exp(rng.uniform(0.0, math.log(1.6))) if rng.random() < 0.7 else 1.0
    long_ = int(round(short * aspect))
    return (long_, short) if rng.random() < 0.5 else (short, long_)


def render(seed, index, cls=None, size=None):
    """Render image `index` of the split with seed `seed`: (PIL RGB image, class index).

    cls and size override the random class and canvas size (W, H)."""
    rng = random.Random(seed * 1_000_003 + index)
    nrng = np.random.default_rng([seed, index])
    c = rng.randrange(len(CLASSES)) if cls is None else cls
    W, H = random_size(rng) if size is None else size
    bg, fg = _colours(rng)

    # background: solid or a gradient around bg
    if rng.random() < 0.5:
        c1 = tuple(min(255, max(0, v + rng.randint(-60, 60))) for v in bg)
        base = _gradient(W, H, bg, c1, rng.uniform(0, 2 * math.pi))
    else:
        base = np.empty((H, W, 3), np.float32)
        base[...] = bg
    fgimg = np.empty((H, W, 3), np.float32)
    fgimg[...] = fg
    if rng.random() < 0.3:  # shaded foreground
        c1 = tuple(min(255, max(0, v + rng.randint(-50, 50))) for v in fg)
        fgimg = _gradient(W, H, fg, c1, rng.uniform(0, 2 * math.pi))

    # geometry: the shape fits in the central square of side 0.9 * min(W, H)
    side = 0.9 * min(W, H)
    r = side * rng.uniform(0.26, 0.42)
    stretch = math.exp(rng.uniform(-0.1, 0.1))
    sx, sy = r * stretch, r / stretch
    ang = rng.uniform(0, 2 * math.pi)
    flip = rng.random() < 0.5
    reach = r * 1.2
    slack = max(0.0, side / 2 - reach)
    cx = W / 2 + rng.uniform(-slack, slack)
    cy = H / 2 + rng.uniform(-slack, slack)
    ca, sa = math.cos(ang), math.sin(ang)
    ss = 4 if min(W, H) < 96 else 2  # supersampled mask: antialiased edges

    def tf(p):
        x, y = p
        if flip:
            x = -x
        x, y = x * sx, y * sy
        return ((cx + ca * x - sa * y) * ss, (cy + sa * x + ca * y) * ss)

    mask = Image.new("L", (W * ss, H * ss), 0)
    draw = ImageDraw.Draw(mask)
    for poly, fill in shape_polygons(CLASSES[c], rng):
        draw.polygon([tf(p) for p in poly], fill=fill)
    mask = mask.resize((W, H), Image.BOX)
    if rng.random() < 0.15:
        mask = mask.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.8)))
    a = np.asarray(mask, np.float32)[..., None] / 255.0
    img = base * (1 - a) + fgimg * a

    # distractors: a few thin lines or dots in other colours, small next to the shape
    for _ in range(rng.choice((0, 0, 0, 0, 1))):
        col = tuple(rng.randrange(256) for _ in range(3))
        d = Image.new("L", (W, H), 0)
        dd = ImageDraw.Draw(d)
        if rng.random() < 0.5:
            x0, y0 = rng.uniform(0, W), rng.uniform(0, H)
            dd.line([(x0, y0), (x0 + rng.uniform(-W, W) / 4, y0 + rng.uniform(-H, H) / 4)],
                    fill=128, width=1)
        else:
            x0, y0, rr = rng.uniform(0, W), rng.uniform(0, H), max(1.0, r * 0.08)
            dd.ellipse([x0 - rr, y0 - rr, x0 + rr, y0 + rr], fill=160)
        m = np.asarray(d, np.float32)[..., None] / 255.0
        img = img * (1 - m) + np.array(col, np.float32) * m

    sigma = rng.choice((0.0, 2.0, 4.0, 7.0, 10.0))
    if sigma:
        img = img + sigma * nrng.standard_normal(img.shape, dtype=np.float32)
    img = Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8), "RGB")
    if rng.random() < 0.1:
        img = img.convert("L").convert("RGB")
    if rng.random() < 0.3:  # JPEG artefacts
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=rng.randint(60, 95))
        buf.seek(0)
        img = Image.open(buf).convert("RGB")
    return img, c


# ---------------------------------------------------------------------------------------------
# timm's eval transform


def resize_size(w, h, size):
    """(new_w, new_h) of torchvision's Resize(size) on a w x h image: shorter side -> size,
    longer side -> int(size * long / short) (truncated)."""
    if w <= h:
        return size, int(size * h / w)
    return int(size * w / h), size


def crop_box(w, h, size):
    """torchvision's CenterCrop box: top/left = int(round((dim - size) / 2)), Python's round
    (half to even: 3.5 -> 4, 4.5 -> 4)."""
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return left, top, left + size, top + size


def eval_crop(img, input_size, interpolation="bicubic", crop_pct=0.9):
    """timm eval transform up to (excluding) ToTensor: PIL RGB image -> PIL RGB input_size^2.

    Same as torchvision Resize(floor(input_size / crop_pct), PIL filter) + CenterCrop(input_size)
    (checked against torchvision in eval_transform_self_check)."""
    scale = math.floor(input_size / crop_pct)
    w, h = img.size
    nw, nh = resize_size(w, h, scale)
    filt = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}[interpolation]
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), filt)
    return img.crop(crop_box(nw, nh, input_size))


def to_tensor(img, mean, std, dtype=np.float32):
    """ToTensor + Normalize: PIL RGB -> [3, H, W] array (uint8 / 255 - mean) / std."""
    a = np.asarray(img, np.uint8).astype(np.float64 if dtype == np.float64 else np.float32) / 255
    a = a.transpose(2, 0, 1)
    m = np.array(mean, a.dtype)[:, None, None]
    s = np.array(std, a.dtype)[:, None, None]
    return ((a - m) / s).astype(dtype)


def torchvision_transform(input_size, interpolation, crop_pct, mean, std):
    """The same transform built from torchvision (None if torchvision is not installed)."""
    try:
        from torchvision import transforms as T
    except ImportError:
        return None
    interp = {"bicubic": T.InterpolationMode.BICUBIC, "bilinear": T.InterpolationMode.BILINEAR}
    return T.Compose([
        T.Resize(math.floor(input_size / crop_pct), interpolation=interp[interpolation]),
        T.CenterCrop(input_size),
        T.ToTensor(),
        T.Normalize(mean, std),
    ])


def eval_transform_self_check(n=60):
    """Our PIL transform equals torchvision's, bit for bit, on rendered images of many sizes."""
    checked = 0
    for size, interp, pct in ((64, "bicubic", 0.9), (224, "bilinear", 0.875), (64, "bilinear", 0.875)):
        tv = torchvision_transform(size, interp, pct, IMAGENET_MEAN, IMAGENET_STD)
        if tv is None:
            return 0
        for i in range(n):
            img, _ = render(7, i)
            ours = to_tensor(eval_crop(img, size, interp, pct), IMAGENET_MEAN, IMAGENET_STD)
            theirs = tv(img).numpy()
            assert ours.shape == theirs.shape, (ours.shape, theirs.shape, img.size)
            err = np.abs(ours - theirs).max()
            assert err < 1e-6, (err, img.size, size, interp)
            checked += 1
    return checked


# ---------------------------------------------------------------------------------------------
# Model, training, export

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "..", "examples", "shapes"))

INPUT_SIZE = 64
CROP_PCT = 0.9
INTERPOLATION = "bicubic"
MODEL_ARGS = dict(img_size=64, patch_size=4, window_size=4, embed_dim=24, depths=[2, 2, 2],
                  num_heads=[1, 2, 4], mlp_ratio=4.0)
N_TRAIN = 30000
STEPS = 2000
BATCH = 64          # global; each of the WORLD ranks takes BATCH / WORLD
WORLD = 2
LR = 2e-3
WARMUP = 50
WEIGHT_DECAY = 0.05
LABEL_SMOOTHING = 0.1

# The examples: (class, canvas size, file name, how it is saved). Classes are all different and
# in an order unrelated to CLASSES; the file names say nothing about the label.
EXAMPLES = [
    ("star", (80, 60), "img01.png", "rgb"),
    ("ring", (200, 150), "img02.jpg", "jpeg"),
    ("triangle", (64, 64), "img03.png", "rgb"),
    ("heart", (300, 300), "img04.jpg", "jpeg"),
    ("cross", (120, 160), "img05.png", "palette"),
    ("crescent", (160, 120), "img06.jpg", "gray-jpeg"),
    ("square", (256, 192), "img07.jpg", "progressive-jpeg"),
    ("arrow", (180, 240), "img08.png", "rgb"),
    ("bar", (150, 100), "img09.jpg", "jpeg"),
    ("circle", (96, 72), "img10.png", "gray-png"),
]


def swin_config(model_args=MODEL_ARGS, num_classes=len(CLASSES)):
    import swin_ref as ref

    a = model_args
    return ref.SwinConfig(img_size=a["img_size"], patch_size=a["patch_size"],
                          embed_dim=a["embed_dim"], depths=tuple(a["depths"]),
                          num_heads=tuple(a["num_heads"]), window_size=a["window_size"],
                          mlp_ratio=float(a["mlp_ratio"]), num_classes=num_classes)


def _fast_window_attention(self, x, mask=None):
    """Training-only replacement of swin_ref.WindowAttention.forward: the same arithmetic (the
    self-check in main() compares it in float64) but with einsum, which Debian's torch runs about
    twice as fast as the per-window bmm loop on non-contiguous views."""
    import torch

    B_, N, C = x.shape
    nH = self.num_heads
    qkv = self.qkv(x).reshape(B_, N, 3, nH, -1).permute(2, 3, 0, 1, 4)  # 3, nH, B_, N, hd
    q, k, v = qkv[0], qkv[1], qkv[2]
    attn = torch.einsum("hbnd,hbmd->bhnm", q * self.scale, k) + self.rel_bias().unsqueeze(0)
    if mask is not None:
        nW = mask.shape[0]
        attn = attn.reshape(B_ // nW, nW, nH, N, N) + mask.to(attn.dtype)[None, :, None]
        attn = attn.reshape(B_, nH, N, N)
    attn = attn.softmax(-1)
    return self.proj(torch.einsum("bhnm,hbmd->bnhd", attn, v).reshape(B_, N, C))


def _render_crop(args):
    seed, i = args
    img, c = render(seed, i)
    return np.asarray(eval_crop(img, INPUT_SIZE, INTERPOLATION, CROP_PCT), np.uint8), c


def render_training_set(n, procs=2):
    import multiprocessing as mp

    with mp.get_context("fork").Pool(procs) as pool:
        out = pool.map(_render_crop, [(SEED_TRAIN, i) for i in range(n)], chunksize=250)
    return np.stack([a for a, _ in out]), np.array([c for _, c in out], np.int64)


def _train_rank(rank, X, Y, store, result_path):
    """One data-parallel rank: the same model, order and steps on every rank, BATCH / WORLD
    samples each; gradients are summed with gloo and halved. Rank 0 saves the weights."""
    import time

    import torch
    import torch.distributed as dist
    import torch.nn.functional as F

    import swin_ref as ref

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", init_method="file://" + store, rank=rank, world_size=WORLD)
    ref.WindowAttention.forward = _fast_window_attention

    torch.manual_seed(0)
    model = ref.SwinTransformer(swin_config())  # PyTorch's default init, seeded
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "relative_position" not in n]
    other = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "relative_position" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                             {"params": other, "weight_decay": 0.0}], lr=LR)
    params = [p for p in model.parameters()]
    X = torch.from_numpy(X).permute(0, 3, 1, 2)  # N, 3, S, S uint8
    Y = torch.from_numpy(Y)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    g = torch.Generator().manual_seed(1)
    n = len(X)
    perm, pos = torch.randperm(n, generator=g), 0
    t0, avg = time.time(), None
    for step in range(STEPS):
        if pos + BATCH > n:
            perm, pos = torch.randperm(n, generator=g), 0
        idx = perm[pos:pos + BATCH][rank::WORLD]
        pos += BATCH
        x = X[idx]
        # the classes are invariant to quarter turns and mirroring: one random one per step
        x = torch.rot90(x, int(torch.randint(0, 4, (1,), generator=g)), (2, 3))
        if torch.rand(1, generator=g).item() < 0.5:
            x = x.flip(3)
        x = (x.float() / 255 - mean) / std  # ToTensor + Normalize
        lr = LR * min(1.0, (step + 1) / WARMUP) * 0.5 * (1 + math.cos(math.pi * step / STEPS))
        for pg in opt.param_groups:
            pg["lr"] = lr
        logits, _, _ = model(x)
        loss = F.cross_entropy(logits, Y[idx], label_smoothing=LABEL_SMOOTHING)
        opt.zero_grad()
        loss.backward()
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        dist.all_reduce(flat)
        flat /= WORLD
        o = 0
        for p in params:
            p.grad.copy_(flat[o:o + p.numel()].view_as(p))
            o += p.numel()
        opt.step()
        avg = loss.item() if avg is None else 0.98 * avg + 0.02 * loss.item()
        if rank == 0 and (step + 1) % 100 == 0:
            print(f"  step {step + 1}/{STEPS}  loss {avg:.3f}  lr {lr:.2e}  {time.time() - t0:.0f} s",
                  flush=True)
    if rank == 0:
        torch.save(model.state_dict(), result_path)
    dist.destroy_process_group()


def train(X, Y):
    """Run WORLD ranks in forked processes; return the trained float32 state dict."""
    import multiprocessing as mp
    import tempfile

    import torch

    with tempfile.TemporaryDirectory() as d:
        store, result = os.path.join(d, "store"), os.path.join(d, "model.pt")
        ctx = mp.get_context("fork")
        procs = [ctx.Process(target=_train_rank, args=(r, X, Y, store, result)) for r in range(WORLD)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        if any(p.exitcode != 0 for p in procs):
            raise SystemExit(f"training failed: exit codes {[p.exitcode for p in procs]}")
        return torch.load(result)


def hub_config():
    """config.json as timm's push_to_hf_hub / save_config_for_hf writes it (same key order)."""
    c_last = MODEL_ARGS["embed_dim"] * 2 ** (len(MODEL_ARGS["depths"]) - 1)
    return {
        "architecture": "swin_tiny_patch4_window7_224",
        "num_classes": len(CLASSES),
        "num_features": c_last,
        "global_pool": "avg",
        "label_names": list(CLASSES),
        "model_args": dict(MODEL_ARGS),
        "pretrained_cfg": {
            "input_size": [3, INPUT_SIZE, INPUT_SIZE],
            "fixed_input_size": True,
            "interpolation": INTERPOLATION,
            "crop_pct": CROP_PCT,
            "crop_mode": "center",
            "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD),
            "num_classes": len(CLASSES),
            "first_conv": "patch_embed.proj",
            "classifier": "head.fc",
        },
    }


def load_rgb(path):
    """timm's loader: Image.open(f).convert("RGB")."""
    with open(path, "rb") as f:
        return Image.open(f).convert("RGB")


def save_image(img, path, how):
    """Save a rendered RGB image as a PNG/JPEG of the given kind; deterministic bytes."""
    if how == "rgb":
        img.save(path, optimize=False)
    elif how == "palette":
        img.quantize(colors=256, method=Image.MEDIANCUT, dither=Image.NONE).save(path)
    elif how == "gray-png":
        img.convert("L").save(path)
    elif how == "jpeg":
        img.save(path, quality=90)
    elif how == "gray-jpeg":
        img.convert("L").save(path, quality=90)
    elif how == "progressive-jpeg":
        img.save(path, quality=90, progressive=True)
    else:
        raise ValueError(how)


def predict64(model, paths):
    """float64 logits of the model (a float64 swin_ref model) for image files, eval transform in
    float32 as torchvision computes it."""
    import torch

    x = np.stack([to_tensor(eval_crop(load_rgb(p), INPUT_SIZE, INTERPOLATION, CROP_PCT),
                            IMAGENET_MEAN, IMAGENET_STD) for p in paths])
    with torch.no_grad():
        logits, _, _ = model(torch.from_numpy(x).double())
    return logits


def write_examples(model):
    """examples/shapes/images/*: the examples and the reference top-5 in float64."""
    import torch

    d = os.path.join(OUT, "images")
    os.makedirs(d, exist_ok=True)
    entries, paths = [], []
    for i, (cls, size, fname, how) in enumerate(EXAMPLES):
        img, c = render(SEED_EXAMPLES, i, cls=CLASSES.index(cls), size=size)
        path = os.path.join(d, fname)
        save_image(img, path, how)
        paths.append(path)
        with open(path, "rb") as f:
            im = Image.open(f)
            mode = im.mode
        entries.append({"file": fname, "width": size[0], "height": size[1], "mode": mode,
                        "format": how, "true_label": cls})
    logits = predict64(model, paths)
    probs = torch.softmax(logits, -1)
    for e, lg, pr in zip(entries, logits, probs):
        top = torch.argsort(pr, descending=True)[:5]
        e["top5"] = [{"index": int(k), "label": CLASSES[int(k)], "prob": float(pr[k])} for k in top]
        e["logits"] = [float(v) for v in lg]
    doc = {
        "about": "PyTorch reference (tests/reference/swin_ref.py, float64) on each image after "
                 "timm's eval transform (Image.open().convert('RGB'); resize shorter side to "
                 f"{math.floor(INPUT_SIZE / CROP_PCT)} with PIL bicubic; center crop "
                 f"{INPUT_SIZE}; /255; ImageNet mean/std). Regenerate: "
                 "/usr/bin/python3 tests/reference/train_shapes.py",
        "images": entries,
    }
    with open(os.path.join(d, "expected_top5.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    return entries


def main():
    import argparse
    import time

    import torch

    import safetensors_io as st
    import swin_ref as ref

    ap = argparse.ArgumentParser(description="train examples/shapes (see the module docstring)")
    ap.add_argument("--steps", type=int, default=STEPS, help="override for quick experiments")
    args = ap.parse_args()
    globals()["STEPS"] = args.steps

    t_start = time.time()
    n = eval_transform_self_check(20)
    print(f"eval transform equals torchvision's on {n} cases" if n else
          "torchvision not installed: eval transform not cross-checked")
    cfg = swin_config()
    m = ref.SwinTransformer(cfg).double()
    ref.randomize_(m, 5)
    xx = torch.randn(2, 3, INPUT_SIZE, INPUT_SIZE, dtype=torch.float64)
    with torch.no_grad():
        a = m(xx)[0]
        orig = ref.WindowAttention.forward
        ref.WindowAttention.forward = _fast_window_attention
        b = m(xx)[0]
        ref.WindowAttention.forward = orig
    assert (a - b).abs().max().item() < 1e-12, "training attention differs from swin_ref"

    t = time.time()
    X, Y = render_training_set(N_TRAIN)
    print(f"rendered {len(X)} training images in {time.time() - t:.0f} s", flush=True)
    t = time.time()
    sd = train(X, Y)
    t_train = time.time() - t
    print(f"trained {STEPS} steps of {BATCH} in {t_train:.0f} s", flush=True)

    model = ref.SwinTransformer(cfg)
    model.load_state_dict(sd, strict=True)
    os.makedirs(OUT, exist_ok=True)
    st.write(os.path.join(OUT, "model.safetensors"), model.state_dict(), {"format": "pt"})
    with open(os.path.join(OUT, "config.json"), "w") as f:
        json.dump(hub_config(), f, indent=2)
        f.write("\n")
    model = model.double().eval()
    entries = write_examples(model)
    for e in entries:
        t5 = e["top5"]
        print(f"  {e['file']:10s} {e['width']:3d}x{e['height']:<3d} {e['mode']:4s} true "
              f"{e['true_label']:9s} -> {t5[0]['label']:9s} {t5[0]['prob']:.3f}  "
              f"({t5[1]['label']} {t5[1]['prob']:.3f})")

    import eval_shapes

    acc = eval_shapes.main(["--n", "500", "--quiet"])
    print(f"total {time.time() - t_start:.0f} s (training {t_train:.0f} s); held-out accuracy "
          f"{100 * acc:.1f} %")


if __name__ == "__main__":
    main()
