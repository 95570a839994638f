#!/usr/bin/python3
"""libswin next to PyTorch and ONNX Runtime on identical weights and input, at T threads.

    /usr/bin/python3 bench/side_by_side.py [--cases swin_t_b1,vit_b16_b1,swin_t_b8] [--scaling]
        [--threads 2] [--runs R] [--warmup W] [--systems torch,ort,swin] [--swin build/swin]
        [--gemm-floor build/bench/gemm_floor] [--ort-dir DIR] [--node node] [--opset 17]
        [--omp-wait-policy passive|active|inherit] [--ort-spin 1|0]
        [--work /tmp] [--keep] [--no-check] [--json OUT.json]

Run it with Debian's /usr/bin/python3 (torch 1.13, numpy); the `python3` on PATH may lack torch.

For each case the model is built here from our own references (tests/reference/swin_ref.py
with timm semantics, tests/reference/vit_ref.py) with random weights at a fixed seed (every
parameter random, biases and norm gains too) and written as a timm-named safetensors file with
the architecture in its metadata; the input is random at a fixed seed. Then, one system after
another, each in a process of its own:
  1. PyTorch: bench/torch_run.py loads that file into the same reference module and times it
     with torch.set_num_threads(T), one inter-op thread, torch.inference_mode(), and
     OMP_WAIT_POLICY=PASSIVE by default (see --omp-wait-policy).
  2. ONNX Runtime (CPU, npm onnxruntime-node): the module exported with torch.onnx.export
     (opset 17, fixed batch and size), timed by bench/ort_run.js in node with
     intraOpNumThreads=T, interOpNumThreads=1, graphOptimizationLevel 'all', sequential.
  3. libswin: the same file, timed by `swin bench --model FILE --batch B --size S --threads T
     --runs R --warmup W --json`; its logits come from `swin run` on the same input.
  4. GEMM floor (optional): `gemm_floor --model FILE --batch B --size S --threads T --runs R
     --json`, the time of the model's matrix products alone; "n/a" when the program is absent.
Then the logits of libswin and ONNX Runtime are compared with PyTorch's. The run fails (exit 1)
if libswin is off by more than 1e-4 * max(1, max|ref|): a loose sanity bound that catches a
wrong model (the test suite checks 1e-5 on its fixtures); ORT's difference is only reported.

Cases are named FAMILY[_SIZE]_bBATCH with FAMILY swin_t (Swin-T: embed 96, depths 2,2,6,2,
heads 3,6,12,24, window 7, 1000 classes), vit_b16 (ViT-B/16: 768 wide, 12 blocks, 12 heads,
class token, 1000 classes), dinov2_b14 (ViT-B/14 with DINOv2's layer scale and a position table
on the patches only), clip_b16 (ViT-B/16 as CLIP's image tower: norm_pre, a patch embedding
without bias, QuickGELU, LayerNorm eps 1e-5) or swinv2_t (Swin V2-T/8, timm's
swinv2_tiny_window8_256 itself: needs TIMM_SRC, a pytorch-image-models tree; default size 256),
SIZE the input side (default 224): swin_t_b1, vit_b16_b1, dinov2_b14_b1, clip_b16_b1,
swinv2_t_b1, swin_t_b8,
swin_t_448_b1, vit_b16_896_b1, ... A model at another size is built for that size (Swin: the
windows and shifts follow timm's rule on the configured resolution; ViT: a position table of
(S/16)^2 + 1 rows, no interpolation), identically in all three systems.

--scaling adds Swin-T at 224, 448, 896 and ViT-B/16 at 224, 448, 896 (batch 1), timed with
libswin only unless --systems says otherwise (PyTorch's ViT at 896, 3137 tokens, is slow), and
prints a scaling table. The reference logits are still computed once per case (one PyTorch
forward) unless --no-check.

--omp-wait-policy: PyTorch's OpenMP threads spin at every barrier by default (libgomp's ACTIVE
wait); on a machine with other busy processes (here: two nice-19 fuzzers on 2 cores) every
one of the model's hundreds of small parallel ops then waits for a time slice, and Swin-T at
2 threads took 2.5 s instead of 0.24 s. PASSIVE (the default here) gives PyTorch its best time
on a loaded machine; `inherit` leaves the environment as it is. --ort-spin 0 likewise turns off
ONNX Runtime's spinning (session.intra_op.allow_spinning=0); its default (1) is ORT's own.

Default runs: 20 for batch 1 at 224, fewer for larger batches and sizes (see default_runs);
warm-up 2 at batch 1 / 224, else 1. Output: a table per case, a summary, the machine (CPU model,
cores, T, load average), and with --json every number. Exported models and weights (about
110 MB each for Swin-T, 350 MB for ViT-B) go to a fresh directory under --work, removed at the
end unless --keep. Timings on a loaded machine are noisy: compare systems within one run.
"""
import argparse
import gc
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "reference"))

try:
    import numpy as np
    import torch
except ImportError as e:  # the python3 on PATH may be a virtualenv without torch
    sys.exit(f"side_by_side: {e}; run it with Debian's /usr/bin/python3 (torch 1.13)")

import safetensors_io as st  # noqa: E402
import swin_ref  # noqa: E402
import vit_ref  # noqa: E402

SEED = 1234
BOUND_REL = 1e-4  # libswin vs PyTorch: max|diff| <= BOUND_REL * max(1, max|ref|)
DEFAULT_CASES = ("swin_t_b1", "vit_b16_b1", "swin_t_b8")
SCALING_CASES = ("swin_t_224_b1", "swin_t_448_b1", "swin_t_896_b1",
                 "vit_b16_224_b1", "vit_b16_448_b1", "vit_b16_896_b1")
SYSTEMS = ("torch", "ort", "swin")
LABELS = {"torch": "PyTorch", "ort": "ONNX Runtime", "swin": "libswin", "floor": "GEMM floor"}
FAMILIES = {"swin_t": "Swin-T", "vit_b16": "ViT-B/16", "dinov2_b14": "DINOv2-B/14",
            "clip_b16": "CLIP ViT-B/16", "swinv2_t": "Swin V2-T/8"}
PATCH = {"swin_t": 4, "vit_b16": 16, "dinov2_b14": 14, "clip_b16": 16, "swinv2_t": 4}
DEFAULT_SIZE = {"swinv2_t": 256}


# ---------------------------------------------------------------------------------------------
# Cases and models


def parse_case(name):
    """'swin_t_448_b8' -> dict(name, family, size, batch)."""
    m = re.fullmatch(r"(swin_t|vit_b16|dinov2_b14|clip_b16|swinv2_t)(?:_(\d+))?_b(\d+)", name)
    if not m:
        raise ValueError(f"case {name!r}: expected FAMILY[_SIZE]_bBATCH, FAMILY one of "
                         f"{', '.join(FAMILIES)} (e.g. swin_t_b1, vit_b16_448_b1)")
    family = m.group(1)
    size, batch = int(m.group(2) or DEFAULT_SIZE.get(family, 224)), int(m.group(3))
    step = PATCH[family]
    if size <= 0 or size % step or batch <= 0:
        raise ValueError(f"case {name!r}: size must be a positive multiple of {step}, batch >= 1")
    return dict(name=name, family=family, size=size, batch=batch)


class TimmLogits(torch.nn.Module):
    """A timm model returning (logits,), as the references' (logits, features, stages)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return (self.model(x),)


def weights_of(model):
    """The module whose state dict the safetensors file holds (timm's names for a timm model)."""
    return model.model if isinstance(model, TimmLogits) else model


def build_model(family, size, randomize=True):
    """(module in eval mode, with random weights at SEED if randomize; safetensors metadata)."""
    if family == "swinv2_t":
        # Swin V2-T/8 is timm's own module (TIMM_SRC: a pytorch-image-models tree), with every
        # parameter random as tests/reference/check_timm_archs.py draws them
        import check_timm_archs as cta
        timm, _ = cta.import_timm()
        arch = "swinv2_tiny_window8_256"
        with cta.no_init(), torch.no_grad():
            model = timm.create_model(arch, img_size=size)
        model.eval()
        if randomize:
            cta.randomise(model, "%s@%d" % (arch, SEED))
        model = TimmLogits(model).eval()
        return model, {"arch": arch, "img_size": str(size)}
    if family == "swin_t":
        cfg = swin_ref.SwinConfig(img_size=size, embed_dim=96, depths=(2, 2, 6, 2),
                                  num_heads=(3, 6, 12, 24), window_size=7, mlp_ratio=4.0,
                                  num_classes=1000)
        model = swin_ref.SwinTransformer(cfg).eval()
        if randomize:
            swin_ref.randomize_(model, SEED)
    else:
        # ViT-B/16; DINOv2-B/14 (layer scale, the position table on the patches only);
        # CLIP ViT-B/16 (norm_pre, patch embedding without bias, QuickGELU, eps 1e-5)
        extra = {"vit_b16": {},
                 "dinov2_b14": dict(patch_size=14, layer_scale=True, no_embed_class=True),
                 "clip_b16": dict(pre_norm=True, act="quick_gelu", norm_eps=1e-5)}[family]
        kw = dict(img_size=size, patch_size=16, embed_dim=768, depth=12, num_heads=12,
                  mlp_hidden_dim=3072, num_classes=1000)
        kw.update(extra)
        cfg = vit_ref.ViTConfig(**kw)
        model = vit_ref.VisionTransformer(cfg).eval()
        if randomize:
            vit_ref.randomize_(model, SEED)
    # The metadata names the whole architecture, so libswin builds exactly this model at any
    # size (without it a Swin file would default to the 224 preset's windows and shifts).
    return model, cfg.metadata()


def tokens(family, size):
    """Tokens of the first stage (Swin) or of the encoder (ViT, with the class token)."""
    if family.startswith("swin"):
        return (size // 4) ** 2
    return (size // PATCH[family]) ** 2 + 1


def default_runs(case):
    scale = math.sqrt(case["batch"]) * (case["size"] / 224) ** 2
    return max(3, round(20 / scale))


def default_warmup(case):
    return 2 if case["batch"] == 1 and case["size"] <= 224 else 1


class LogitsOnly(torch.nn.Module):
    """The references return (logits, features, stages); export and time the logits only."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)[0]


# ---------------------------------------------------------------------------------------------
# The systems


def summarize(times_ms, batch):
    t = sorted(times_ms)
    n = len(t)
    med = t[n // 2] if n % 2 else 0.5 * (t[n // 2 - 1] + t[n // 2])
    return dict(min_ms=t[0], median_ms=med, max_ms=t[-1], images_per_s=batch * 1000.0 / med)


def peak_rss_mb():
    """VmHWM of this process in MB (unlike ru_maxrss, not inherited from the parent at exec)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def time_torch(args, case, model_path, x_npy, out_npy, runs, warmup):
    """PyTorch in its own process (bench/torch_run.py), so that OMP_WAIT_POLICY applies."""
    env = dict(os.environ)
    if args.omp_wait_policy != "inherit":
        env["OMP_WAIT_POLICY"] = args.omp_wait_policy.upper()
    cmd = [sys.executable, os.path.join(REPO, "bench", "torch_run.py"), "--case", case["name"],
           "--model", model_path, "--input", x_npy, "--threads", str(args.threads),
           "--runs", str(runs), "--warmup", str(warmup), "--output", out_npy]
    return last_json(run_cmd(cmd, "PyTorch (bench/torch_run.py)", env))


def export_onnx(module, x, path, opset):
    t0 = time.perf_counter()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # TracerWarnings of the asserts, shape-inference notes
        torch.onnx.export(module, (x,), path, opset_version=opset, input_names=["input"],
                          output_names=["logits"], do_constant_folding=True)
    return (time.perf_counter() - t0) * 1e3


def last_json(stdout):
    """The last line of stdout that is a JSON object."""
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError(f"no JSON object in the output: {stdout[-500:]!r}")


def run_cmd(cmd, what, env=None):
    """Runs cmd, returns its stdout; raises RuntimeError with stderr on failure.

    The command runs as the child of a small shell, not of this process: Linux carries a
    process's RSS high-water mark over exec into getrusage's ru_maxrss, so a program started
    straight from this (large) Python process would report this process's peak as its own
    (`swin bench` reports ru_maxrss).
    """
    p = subprocess.run(["/bin/sh", "-c", '"$@"; exit $?', "sh"] + list(cmd), env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {p.returncode}): {' '.join(cmd)}\n"
                           f"{p.stderr.strip()[-2000:]}")
    return p.stdout


def wait_for(path, seconds=180):
    """The swin program may be rebuilt while this runs: wait a while for it to reappear."""
    deadline = time.time() + seconds
    while not os.access(path, os.X_OK):
        if time.time() > deadline:
            raise RuntimeError(f"{path}: not found (build it: cmake --build build)")
        print(f"  waiting for {path} ...", flush=True)
        time.sleep(10)


def time_ort(args, onnx_path, x_path, shape, out_path, runs, warmup):
    cmd = [args.node, os.path.join(REPO, "bench", "ort_run.js"), "--model", onnx_path,
           "--input", x_path, "--shape", ",".join(str(d) for d in shape),
           "--threads", str(args.threads), "--warmup", str(warmup), "--runs", str(runs),
           "--spin", str(args.ort_spin), "--output", out_path, "--ort-dir", args.ort_dir]
    return last_json(run_cmd(cmd, "ONNX Runtime (bench/ort_run.js)"))


def swin_logits(args, model_path, x_npy, out_npy):
    wait_for(args.swin)
    run_cmd([args.swin, "run", "--model", model_path, "--input", x_npy, "--output", out_npy],
            "swin run")
    return np.load(out_npy)


def time_swin(args, model_path, case, runs, warmup):
    wait_for(args.swin)
    cmd = [args.swin, "bench", "--model", model_path, "--batch", str(case["batch"]),
           "--size", str(case["size"]), "--threads", str(args.threads), "--runs", str(runs),
           "--warmup", str(warmup), "--json"]
    res = last_json(run_cmd(cmd, "swin bench"))
    res.update(warmup=warmup)
    return res


def gemm_floor(args, model_path, case, runs):
    """The floor's JSON, or None when the program is absent."""
    if not (args.gemm_floor and os.access(args.gemm_floor, os.X_OK)):
        return None
    cmd = [args.gemm_floor, "--model", model_path, "--batch", str(case["batch"]),
           "--size", str(case["size"]), "--threads", str(args.threads), "--runs", str(runs),
           "--json"]
    return last_json(run_cmd(cmd, "gemm_floor"))


# ---------------------------------------------------------------------------------------------
# One case


def max_abs_diff(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64).reshape(a.shape)
    return float(np.abs(a - b).max())


def run_case(args, case, work):
    """Measures one case; returns its result dict (errors are recorded, not raised)."""
    runs = args.runs or default_runs(case)
    warmup = args.warmup if args.warmup is not None else default_warmup(case)
    B, S = case["batch"], case["size"]
    res = dict(case, label=f"{FAMILIES[case['family']]} {S}x{S}", runs=runs, warmup=warmup,
               threads=args.threads, tokens=tokens(case["family"], S), systems={}, errors={})
    print(f"\n== {case['name']}: {res['label']}, batch {B}, {args.threads} threads, "
          f"{runs} timed run{'s' if runs != 1 else ''} after {warmup} warm-up ==", flush=True)
    d = os.path.join(work, case["name"])
    os.makedirs(d, exist_ok=True)
    p = {k: os.path.join(d, v) for k, v in dict(
        st="model.safetensors", onnx="model.onnx", x_npy="x.npy", x_f32="x.f32",
        y_torch="y_torch.npy", y_swin="y_swin.npy", y_ort="y_ort.f32").items()}

    torch.manual_seed(SEED)
    model, meta = build_model(case["family"], S)
    module = LogitsOnly(model).eval()
    x = torch.randn(B, 3, S, S, generator=torch.Generator().manual_seed(SEED + 1))
    np.save(p["x_npy"], x.numpy())
    x.numpy().astype("<f4").tofile(p["x_f32"])
    st.write(p["st"], {k: v.detach().clone() for k, v in weights_of(model).state_dict().items()},
             meta)
    res["weights_mb"] = os.path.getsize(p["st"]) / 1e6

    ref = None
    if args.check and "torch" not in args.systems:
        with torch.inference_mode():
            ref = module(x).numpy().copy()
    if "ort" in args.systems:
        try:
            print(f"  ONNX export (opset {args.opset}) ...", flush=True)
            res["onnx_export_ms"] = export_onnx(module, x, p["onnx"], args.opset)
        except Exception as e:  # noqa: BLE001 - recorded and reported
            res["errors"]["ort"] = f"ONNX export failed: {e}"
    del module, model
    gc.collect()

    if "torch" in args.systems:
        try:
            print("  PyTorch ...", flush=True)
            res["systems"]["torch"] = time_torch(args, case, p["st"], p["x_npy"], p["y_torch"],
                                                 runs, warmup)
            ref = np.load(p["y_torch"])
        except Exception as e:  # noqa: BLE001
            res["errors"]["torch"] = str(e)

    if "ort" in args.systems and "ort" not in res["errors"]:
        try:
            print("  ONNX Runtime ...", flush=True)
            res["systems"]["ort"] = time_ort(args, p["onnx"], p["x_f32"], tuple(x.shape),
                                             p["y_ort"], runs, warmup)
            if ref is not None:
                y = np.fromfile(p["y_ort"], dtype="<f4")
                res["ort_max_abs_diff"] = max_abs_diff(ref, y)
        except Exception as e:  # noqa: BLE001
            res["errors"]["ort"] = str(e)
    if "swin" in args.systems:
        try:
            print("  libswin ...", flush=True)
            if ref is not None:
                res["swin_max_abs_diff"] = max_abs_diff(ref, swin_logits(args, p["st"],
                                                                         p["x_npy"], p["y_swin"]))
            res["systems"]["swin"] = time_swin(args, p["st"], case, runs, warmup)
        except Exception as e:  # noqa: BLE001
            res["errors"]["swin"] = str(e)
        try:
            floor = gemm_floor(args, p["st"], case, runs)
            if floor is not None:
                res["systems"]["floor"] = floor
        except Exception as e:  # noqa: BLE001
            res["errors"]["floor"] = str(e)

    if ref is not None:
        res["max_abs_ref"] = float(np.abs(ref).max())
        res["bound"] = BOUND_REL * max(1.0, res["max_abs_ref"])
        if "swin_max_abs_diff" in res:
            res["agree"] = res["swin_max_abs_diff"] <= res["bound"]
    sw = res["systems"].get("swin")
    if sw:
        res["ratios"] = {}
        for k, key in (("torch", "median_ms"), ("ort", "median_ms"), ("floor", "floor_ms")):
            other = res["systems"].get(k, {}).get(key)
            if other:
                res["ratios"][f"swin/{k}"] = sw["median_ms"] / other
    if not args.keep:
        shutil.rmtree(d, ignore_errors=True)
    print_case(res)
    return res


# ---------------------------------------------------------------------------------------------
# Reporting


def fmt(v, spec=".2f"):
    return "-" if v is None else format(v, spec)


def print_case(res):
    print(f"  {'system':<13}{'median ms':>11}{'min ms':>11}{'max ms':>11}{'images/s':>10}"
          f"{'load ms':>9}{'peak RSS MB':>13}{'libswin/this':>14}")
    sw = res["systems"].get("swin", {}).get("median_ms")
    for k in ("torch", "ort", "swin", "floor"):
        if k not in res["systems"] and k not in res["errors"]:
            continue
        if k in res["errors"]:
            print(f"  {LABELS[k]:<13}failed: {res['errors'][k].splitlines()[0]}")
            continue
        r = res["systems"][k]
        if k == "floor":
            med, lo, hi, ips = r.get("floor_ms"), None, None, None
        else:
            med, lo, hi, ips = r["median_ms"], r["min_ms"], r["max_ms"], r["images_per_s"]
        ratio = sw / med if (sw and med) else None
        print(f"  {LABELS[k]:<13}{fmt(med):>11}{fmt(lo):>11}{fmt(hi):>11}{fmt(ips):>10}"
              f"{fmt(r.get('load_ms'), '.1f'):>9}{fmt(r.get('peak_rss_mb'), '.1f'):>13}"
              f"{fmt(ratio, '.3f'):>14}")
    if "swin" in res["systems"] and "floor" not in res["systems"] and "floor" not in res["errors"]:
        print(f"  {LABELS['floor']:<13}{'n/a':>11}")
    if "bound" in res:
        parts = []
        if "swin_max_abs_diff" in res:
            parts.append(f"libswin {res['swin_max_abs_diff']:.2e} "
                         f"({'ok' if res['agree'] else 'FAIL'})")
        if "ort_max_abs_diff" in res:
            ok = res["ort_max_abs_diff"] <= res["bound"]
            parts.append(f"ONNX Runtime {res['ort_max_abs_diff']:.2e}"
                         f"{'' if ok else ' (above the bound)'}")
        print(f"  max|diff| vs PyTorch: {', '.join(parts) or '-'}; bound {res['bound']:.2e} "
              f"= {BOUND_REL:g} * max(1, max|ref| {res['max_abs_ref']:.3f})")
    sys.stdout.flush()


def print_summary(results):
    print("\n== summary (medians; libswin/X < 1: libswin faster) ==")
    print(f"  {'case':<16}{'PyTorch ms':>11}{'ORT ms':>9}{'libswin ms':>11}{'floor ms':>10}"
          f"{'sw/PyTorch':>11}{'sw/ORT':>8}{'sw/floor':>9}{'max|diff| sw':>14}{'ORT':>10}")
    for r in results:
        s, q = r["systems"], r.get("ratios", {})
        print(f"  {r['name']:<16}{fmt(s.get('torch', {}).get('median_ms')):>11}"
              f"{fmt(s.get('ort', {}).get('median_ms')):>9}"
              f"{fmt(s.get('swin', {}).get('median_ms')):>11}"
              f"{fmt(s.get('floor', {}).get('floor_ms')):>10}"
              f"{fmt(q.get('swin/torch'), '.3f'):>11}{fmt(q.get('swin/ort'), '.3f'):>8}"
              f"{fmt(q.get('swin/floor'), '.3f'):>9}"
              f"{fmt(r.get('swin_max_abs_diff'), '.2e'):>14}"
              f"{fmt(r.get('ort_max_abs_diff'), '.2e'):>10}")
    # Scaling: one table per (family, batch) measured at several sizes.
    groups = {}
    for r in results:
        groups.setdefault((r["family"], r["batch"]), []).append(r)
    for (family, batch), rs in groups.items():
        rs = sorted({r["size"]: r for r in rs}.values(), key=lambda r: r["size"])
        if len(rs) < 2:
            continue
        base = rs[0]
        print(f"\n== scaling: {FAMILIES[family]}, batch {batch} (x: relative to "
              f"{base['size']}) ==")
        cols = [k for k in SYSTEMS + ("floor",) if any(k in r["systems"] for r in rs)]
        print(f"  {'size':>6}{'tokens':>8}{'x tokens':>10}" + "".join(
            f"{LABELS[k] + ' ms':>17}{'x':>8}" for k in cols))
        for r in rs:
            line = f"  {r['size']:>6}{r['tokens']:>8}{r['tokens'] / base['tokens']:>10.2f}"
            for k in cols:
                key = "floor_ms" if k == "floor" else "median_ms"
                m = r["systems"].get(k, {}).get(key)
                m0 = base["systems"].get(k, {}).get(key)
                line += f"{fmt(m):>17}{fmt(m / m0 if (m and m0) else None):>8}"
            print(line)


def machine_info(args):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        with open("/proc/cpuinfo") as f:
            flags = next((ln.split(":", 1)[1].split() for ln in f if ln.startswith("flags")), [])
    except OSError:
        flags = []
    info = dict(cpu=cpu, cores=os.cpu_count(), usable_cores=len(os.sched_getaffinity(0)),
                simd=[f for f in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile")
                      if f in flags],
                threads=args.threads, load_avg=[round(v, 2) for v in os.getloadavg()],
                omp_wait_policy=(os.environ.get("OMP_WAIT_POLICY")
                                 if args.omp_wait_policy == "inherit"
                                 else args.omp_wait_policy.upper()),
                ort_spin=args.ort_spin,
                kernel=platform.release(), python=platform.python_version(),
                torch=torch.__version__, numpy=np.__version__)
    try:
        with open(os.path.join(args.ort_dir, "onnxruntime-node", "package.json")) as f:
            info["onnxruntime_node"] = json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        info["onnxruntime_node"] = None
    try:
        info["swin"] = run_cmd([args.swin, "--version"], "swin --version").strip()
    except (OSError, RuntimeError):
        info["swin"] = None
    return info


def print_machine(info):
    print(f"machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), "
          f"SIMD {' '.join(info['simd']) or '-'}; load average {info['load_avg']}")
    print(f"threads: {info['threads']}; torch {info['torch']} (OMP_WAIT_POLICY "
          f"{info['omp_wait_policy'] or 'unset'}), onnxruntime-node {info['onnxruntime_node']} "
          f"(spinning {'on' if info['ort_spin'] else 'off'}), {info['swin']}")


# ---------------------------------------------------------------------------------------------


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="See the module docstring (and bench/README.md).")
    ap.add_argument("--cases", default=None,
                    help=f"comma-separated cases (default {','.join(DEFAULT_CASES)})")
    ap.add_argument("--scaling", action="store_true",
                    help="add " + ",".join(SCALING_CASES) + " (libswin only unless --systems)")
    ap.add_argument("--systems", default=None,
                    help="comma-separated subset of torch,ort,swin (default all; with "
                         "--scaling and no --cases: swin)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=None, help="timed runs (default per case)")
    ap.add_argument("--warmup", type=int, default=None, help="warm-up runs (default per case)")
    ap.add_argument("--swin", default=os.path.join(REPO, "build", "swin"))
    ap.add_argument("--gemm-floor", default=os.path.join(REPO, "build", "bench", "gemm_floor"))
    ap.add_argument("--ort-dir", default=os.environ.get("ORT_NODE_MODULES",
                                                        "/opt/ortbench/node_modules"),
                    help="node_modules folder holding onnxruntime-node")
    ap.add_argument("--node", default="node")
    ap.add_argument("--opset", type=int, default=17, help="ONNX opset of the export")
    ap.add_argument("--omp-wait-policy", default="passive", choices=("passive", "active",
                                                                      "inherit"),
                    help="OMP_WAIT_POLICY of the PyTorch process (default passive)")
    ap.add_argument("--ort-spin", type=int, default=1, choices=(0, 1),
                    help="ONNX Runtime's intra-op spinning (default 1, ORT's default)")
    ap.add_argument("--work", default=tempfile.gettempdir(),
                    help="parent of the scratch directory (default /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--no-check", dest="check", action="store_false",
                    help="without PyTorch among the systems, skip the reference forward")
    ap.add_argument("--json", default=None, help="write every result to this file")
    args = ap.parse_args()

    names = list(args.cases.split(",")) if args.cases else []
    if args.scaling:
        names += [n for n in SCALING_CASES if n not in names]
    if not names:
        names = list(DEFAULT_CASES)
    try:
        cases = [parse_case(n.strip()) for n in names if n.strip()]
    except ValueError as e:
        ap.error(str(e))
    seen = set()  # swin_t_b1 and swin_t_224_b1 are one case
    args.case_list = [c for c in cases if not ((c["family"], c["size"], c["batch"]) in seen or
                                               seen.add((c["family"], c["size"], c["batch"])))]
    if args.systems is None:
        args.systems = "swin" if (args.scaling and not args.cases) else ",".join(SYSTEMS)
    args.systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    bad = [s for s in args.systems if s not in SYSTEMS]
    if bad or not args.systems:
        ap.error(f"--systems: expected a subset of {','.join(SYSTEMS)}")
    if args.threads < 1 or (args.runs is not None and args.runs < 1) or \
            (args.warmup is not None and args.warmup < 0):
        ap.error("--threads and --runs must be >= 1, --warmup >= 0")
    args.swin = os.path.abspath(args.swin)
    args.gemm_floor = os.path.abspath(args.gemm_floor) if args.gemm_floor else None
    if "ort" in args.systems:
        if not os.path.isdir(os.path.join(args.ort_dir, "onnxruntime-node")):
            ap.exit(2, f"side_by_side: onnxruntime-node not found in {args.ort_dir}.\n"
                     "Install it (CPU binaries are in the package; --ignore-scripts skips the "
                     "CUDA download):\n"
                     "    mkdir -p DIR && cd DIR && npm install --ignore-scripts "
                     "onnxruntime-node\n"
                     "then pass --ort-dir DIR/node_modules (or set ORT_NODE_MODULES), or leave "
                     "ONNX Runtime out with --systems torch,swin.\n")
        if shutil.which(args.node) is None:
            ap.exit(2, f"side_by_side: {args.node}: node not found (--node PATH)\n")
    return args


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    info = machine_info(args)
    print_machine(info)
    os.makedirs(args.work, exist_ok=True)
    work = tempfile.mkdtemp(prefix="side_by_side.", dir=args.work)
    results = []
    try:
        for case in args.case_list:
            results.append(run_case(args, case, work))
    finally:
        if args.keep:
            print(f"\nfiles kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print_summary(results)
    print()
    print_machine(info)
    failed = [r["name"] for r in results if r.get("agree") is False]
    errors = [f"{r['name']}/{k}" for r in results for k in r["errors"]]
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(machine=info, threads=args.threads, systems=args.systems,
                           bound_rel=BOUND_REL, seed=SEED, cases=results), f, indent=1)
        print(f"results written to {args.json}")
    if failed:
        print(f"FAIL: libswin's logits differ from PyTorch's beyond the bound: "
              f"{', '.join(failed)}")
    if errors:
        print(f"errors: {', '.join(errors)}")
    sys.exit(1 if (failed or errors) else 0)


if __name__ == "__main__":
    main()
