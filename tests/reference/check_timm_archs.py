"""Checks libswin against timm on every timm architecture name libswin's table knows.

For each name that timm.list_models(['vit_*', 'deit*', 'swin*', 'eva*']) returns (narrowed by
--only, and by --max-params: larger models are listed as SKIPPED with their parameter count):

 1. builds timm.create_model(name) at its defaults, in eval mode (weight initialisation turned
    off while building), then gives EVERY parameter and persistent float buffer random values,
    seeded from a stable hash of the name, so that no default (zero bias, unit norm weight,
    1e-6 layer scale, zero position table) can hide a bug:
      norm weights (LayerNorm, RmsNorm, any *Norm* module)   1 + 0.1 N(0,1)
      norm biases, every other bias (bias, q_bias, ...)      0.1 N(0,1)
      BatchNorm running_mean / running_var                   0.1 N(0,1) / exp(0.1 N(0,1))
      cls_token, dist_token, reg_token, attention-pool latent,
      position tables (*pos_embed*)                          0.5 N(0,1)
      relative_position_bias_table                           0.5 N(0,1)
      1-D layer-scale gammas (gamma, gamma_1, gamma_2)       1 + 0.1 N(0,1)
      Swin V2 logit_scale (log space)                        log(10) + 0.5 N(0,1)
      differential-attention lambda_*                        0.1 N(0,1)
      every other weight                                     N(0,1) / sqrt(numel / shape[0])
    Integer buffers (relative_position_index, num_batches_tracked) are left as timm made them.
    Each record counts the tensors each rule set.
 2. writes the hub folder timm's save_for_hf would: model.safetensors (the state_dict, F32,
    written with safetensors_io.py next to this script) and config.json
    (timm.models._hub.save_config_for_hf; no label names);
 3. draws a batch of 2 images at the default input size (pretrained_cfg['input_size']), uniform
    in [-2, 2), seeded from the name, saved as a float32 NCHW .npy;
 4. runs timm in float32 and in float64 (the float64 model is the same randomised model
    converted with .double(), after the float32 run) and records the logits, or, when
    num_classes == 0, the pooled features forward_head(forward_features(x), pre_logits=True);
    max|f32 - f64| is reported as timm's own float32 error;
 5. where `swin info --list-archs --json` marks the name supported: runs
    `swin run --model FOLDER --input X.npy --output Y.npy` (--emit features when
    num_classes == 0) with OPENBLAS_NUM_THREADS=1 and passes when
        max|ours - ref64| <= 1e-5 * max(1, max|ref64|);
 6. where it marks the name unsupported: runs `swin info FOLDER`, which must fail with exit
    status 1 and a stderr message that says what is missing ("does not support yet" or
    "not supported yet" followed by the feature).

Statuses, one line per name on stdout as it goes:
    PASS         supported, within the bound
    FAIL         supported, but libswin failed, or its output is off (shape, NaN, over the bound),
                 or libswin loaded a name its table marks unsupported (info exit 0)
    REFUSED-OK   unsupported, and libswin refused it with a message naming the feature
    REFUSED-BAD  unsupported, refused but not as specified (exit status, message)
    SKIPPED      over --max-params (the count is printed)
    ERROR        the check itself could not run: timm failed to build or run the model (a
                 name timm cannot run in float64 is checked against timm's float32 output
                 instead, and its record says so; an unsupported one is still checked for its
                 refusal, the timm error noted)
The exit status is 1 when any FAIL, REFUSED-BAD or ERROR occurred. --json PATH writes every
record and the totals.

Run it (about 30-40 minutes on two cores at the default 400M-parameter limit):

    TIMM_SRC=/path/to/pytorch-image-models /usr/bin/python3 tests/reference/check_timm_archs.py \
        --swin build/swin --json /tmp/archcheck.json

    # one family, keeping the hub folders
    TIMM_SRC=... /usr/bin/python3 tests/reference/check_timm_archs.py --only '^swin_' --keep

    # DINOv2 (stored at 518) at 224: timm with dynamic_img_size=True resamples its table
    TIMM_SRC=... /usr/bin/python3 tests/reference/check_timm_archs.py \
        --only '^vit_small_patch14_(reg4_)?dinov2$' --input-size 224

It needs torch (Debian's python3-torch) and a timm source tree given by $TIMM_SRC (imported from
there, never installed nor vendored). It is a manual check: CI never runs it.
"""
import argparse
import contextlib
import gc
import hashlib
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import safetensors_io  # noqa: E402

PATTERNS = ["vit_*", "deit*", "swin*", "eva*"]
BATCH = 2
RTOL = 1e-5  # pass: max|ours - ref64| <= RTOL * max(1, max|ref64|); never loosen it
REFUSAL_PHRASES = ("does not support yet", "not supported yet")
STATUSES = ["PASS", "FAIL", "REFUSED-OK", "REFUSED-BAD", "SKIPPED", "ERROR"]
BAD = {"FAIL", "REFUSED-BAD", "ERROR"}


# ---------------------------------------------------------------------------------------------
# timm from $TIMM_SRC

def import_timm():
    src = os.environ.get("TIMM_SRC")
    if not src:
        sys.exit("check_timm_archs.py: set TIMM_SRC to a timm source tree "
                 "(the folder holding timm/)")
    src = os.path.abspath(src)
    if not os.path.isfile(os.path.join(src, "timm", "__init__.py")):
        sys.exit("check_timm_archs.py: TIMM_SRC=%s holds no timm/__init__.py" % src)
    sys.path.insert(0, src)
    import timm
    if not os.path.abspath(timm.__file__).startswith(os.path.join(src, "timm") + os.sep):
        sys.exit("check_timm_archs.py: imported timm from %s, not from TIMM_SRC" % timm.__file__)
    commit = "unknown (TIMM_SRC is not the top of a git checkout)"
    try:
        out = subprocess.run(["git", "-C", src, "rev-parse", "--show-toplevel", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.split()
        if len(out) == 2 and os.path.realpath(out[0]) == os.path.realpath(src):
            commit = out[1]
    except (OSError, subprocess.CalledProcessError):
        pass
    return timm, commit


@contextlib.contextmanager
def no_init():
    """Makes the in-place initialisers of torch.nn.init and timm.layers no-ops wherever timm's
    modules hold them (and fix_init_weight, a depth rescale), so that create_model only allocates:
    every value is overwritten by randomise() afterwards."""
    import timm.layers.weight_init as wi
    noop = {}
    for mod in (torch.nn.init, wi):
        for k, v in vars(mod).items():
            if isinstance(v, types.FunctionType) and k.endswith("_") and not k.startswith("_"):
                noop[v] = lambda tensor, *a, **kw: tensor
    saved = []
    mods = [torch.nn.init] + [m for n, m in list(sys.modules.items())
                              if m is not None and (n == "timm" or n.startswith("timm."))]
    for mod in mods:
        for k, v in list(vars(mod).items()):
            if isinstance(v, types.FunctionType) and v in noop:
                saved.append((mod, k, v))
                setattr(mod, k, noop[v])
            elif isinstance(v, type) and "fix_init_weight" in v.__dict__:
                saved.append((v, "fix_init_weight", v.__dict__["fix_init_weight"]))
                v.fix_init_weight = lambda self: None
    try:
        yield
    finally:
        for obj, k, v in reversed(saved):
            setattr(obj, k, v)


# ---------------------------------------------------------------------------------------------
# Random values

def seed_of(name, what):
    return int.from_bytes(hashlib.sha256(("%s:%s" % (name, what)).encode()).digest()[:8], "little")


def is_norm(module):
    norms = (torch.nn.LayerNorm, torch.nn.GroupNorm, torch.nn.modules.batchnorm._NormBase)
    return isinstance(module, norms) or "Norm" in type(module).__name__


def rule_for(key, t, owner):
    """(rule name, function (generator) -> values) for state_dict entry key."""
    leaf = key.rsplit(".", 1)[-1]

    def n(g):
        return torch.randn(t.shape, generator=g, dtype=torch.float64)

    if is_norm(owner):
        if leaf == "weight":
            return "norm weight", lambda g: 1 + 0.1 * n(g)
        if leaf == "bias":
            return "norm bias", lambda g: 0.1 * n(g)
        if leaf == "running_mean":
            return "running_mean", lambda g: 0.1 * n(g)
        if leaf == "running_var":
            return "running_var", lambda g: torch.exp(0.1 * n(g))
    if leaf in ("cls_token", "dist_token", "reg_token", "latent") or "pos_embed" in leaf:
        return "token/position", lambda g: 0.5 * n(g)
    if leaf == "relative_position_bias_table":
        return "relative position table", lambda g: 0.5 * n(g)
    if re.fullmatch(r"gamma(_\d+)?", leaf) and t.dim() == 1:
        return "layer scale", lambda g: 1 + 0.1 * n(g)
    if leaf.endswith("bias"):
        return "bias", lambda g: 0.1 * n(g)
    if leaf == "logit_scale":
        return "logit_scale", lambda g: math.log(10) + 0.5 * n(g)
    if leaf.startswith("lambda_"):
        return "lambda", lambda g: 0.1 * n(g)
    fan_in = t.numel() // t.shape[0] if t.dim() else 1
    return "weight", lambda g: n(g) / math.sqrt(max(fan_in, 1))


@torch.no_grad()
def randomise(model, name):
    """Overwrites every floating parameter and persistent buffer; returns {rule: count}."""
    g = torch.Generator().manual_seed(seed_of(name, "weights"))
    modules = dict(model.named_modules())
    counts = {}
    for key, t in model.state_dict(keep_vars=True).items():
        if not t.is_floating_point():
            continue
        owner = modules.get(key.rsplit(".", 1)[0] if "." in key else "", model)
        rule, fn = rule_for(key, t, owner)
        t.data.copy_(fn(g).to(t.dtype))
        counts[rule] = counts.get(rule, 0) + 1
    return counts


# ---------------------------------------------------------------------------------------------
# libswin

def vm_hwm_mb(pid):
    """Peak resident memory of a running process in MiB, from /proc (0 when unreadable)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for ln in f:
                if ln.startswith("VmHWM:"):
                    return int(ln.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def run_cli(argv, timeout):
    """Runs argv with OPENBLAS_NUM_THREADS=1; returns (exit status, stdout, stderr, seconds, peak
    RSS of the program in MiB as last polled, 0 for one too short to poll)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    t0 = time.time()
    hwm = 0.0
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        p = subprocess.Popen(argv, stdout=fo, stderr=fe, env=env)
        try:
            while p.poll() is None:
                if time.time() - t0 > timeout:
                    p.kill()
                    p.wait()
                    fe.write(b"\n[killed after %d s]" % timeout)
                    break
                time.sleep(0.05)
                hwm = max(hwm, vm_hwm_mb(p.pid)) if p.returncode is None else hwm
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read().decode(errors="replace"), fe.read().decode(errors="replace")
    return p.returncode, out, err, time.time() - t0, hwm


def list_archs(swin):
    rc, out, err, _, _ = run_cli([swin, "info", "--list-archs", "--json"], 60)
    if rc != 0:
        sys.exit("check_timm_archs.py: %s info --list-archs --json failed: %s"
                 % (swin, err.strip()))
    return {r["arch"]: r for r in map(json.loads, out.splitlines()) if r}


# ---------------------------------------------------------------------------------------------
# One name

def maxabs(t):
    return float(t.abs().max()) if t.numel() else 0.0


@torch.no_grad()
def reference(model, x):
    """Logits, or pooled features when the model has no classifier."""
    if model.num_classes == 0:
        return model.forward_head(model.forward_features(x), pre_logits=True)
    return model(x)


def check_one(timm, rec, arch, args, workdir):
    """Fills in rec (which holds "name"); an exception leaves what was recorded before it."""
    from timm.models._hub import save_config_for_hf
    name = rec["name"]
    rec.update(in_table=arch is not None, supported=bool(arch and arch.get("supported")),
               missing=arch.get("missing") if arch else None)
    t0 = time.time()
    with no_init(), torch.no_grad():
        # --input-size: timm's dynamic_img_size (the Swin family's strict_img_size=False:
        # windows stay those of the configured size, the shift mask follows the input), so
        # that timm itself takes the other size
        margs = {}
        if args.input_size:
            margs = ({"strict_img_size": False} if name.startswith("swin")
                     else {"dynamic_img_size": True})
        model = timm.create_model(name, **margs)
    model.eval()
    rec["class"] = type(model).__name__
    rec["params"] = sum(p.numel() for p in model.parameters())
    if rec["params"] > args.max_params:
        rec["status"] = "SKIPPED"
        rec["message"] = "%.0fM parameters > --max-params %.0fM" % (rec["params"] / 1e6,
                                                                   args.max_params / 1e6)
        return rec
    rec["init_rules"] = randomise(model, name)

    folder = Path(workdir) / name
    folder.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().to(torch.float32).contiguous() if v.is_floating_point() else v
          for k, v in model.state_dict().items()}
    safetensors_io.write(str(folder / "model.safetensors"), sd, dtype="F32")
    del sd
    save_config_for_hf(model, folder / "config.json", model_args=margs or None)
    rec["folder"] = str(folder)

    size = tuple(model.pretrained_cfg["input_size"])
    if args.input_size:
        size = (size[0], args.input_size, args.input_size)
    rec["input_size"] = list(size)
    g = torch.Generator().manual_seed(seed_of(name, "input"))
    x = torch.rand((BATCH,) + size, generator=g, dtype=torch.float32) * 4 - 2
    np.save(folder / "input.npy", x.numpy())
    rec["output"] = "features" if model.num_classes == 0 else "logits"
    rec["build_s"] = time.time() - t0

    t1 = time.time()
    ref32 = reference(model, x).float()
    rec["timm_f32_s"] = time.time() - t1
    t1 = time.time()
    try:
        model.double()  # the randomised model itself, after the float32 run: saves a copy's memory
        ref64 = reference(model, x.double())
        rec["timm_f64_s"] = time.time() - t1
    except Exception as e:  # timm itself cannot run some models in float64
        ref64 = None
        rec["ref64_error"] = "%s: %s" % (type(e).__name__, e)
    del model
    gc.collect()
    if ref64 is not None:
        rec["out_shape"] = list(ref64.shape)
        rec["ref_maxabs"] = maxabs(ref64)
        rec["f32_vs_f64"] = maxabs(ref32.double() - ref64)
    elif rec["supported"]:
        # timm cannot run this model in float64 (its mixed RoPE casts to float32 inside): the
        # reference is timm's float32 output, said so in the record
        ref64 = ref32.double()
        rec["reference"] = "timm float32 (float64 failed)"
        rec["out_shape"] = list(ref64.shape)
        rec["ref_maxabs"] = maxabs(ref64)

    swin = args.swin
    if rec["supported"]:
        cmd = [swin, "run", "--model", str(folder), "--input", str(folder / "input.npy"),
               "--output", str(folder / "ours.npy")]
        if rec["output"] == "features":
            cmd += ["--emit", "features"]
        rc, _, err, secs, rss = run_cli(cmd, args.timeout)
        rec.update(swin_cmd=cmd, swin_rc=rc, swin_s=secs, swin_rss_mb=rss)
        bound = RTOL * max(1.0, rec["ref_maxabs"])
        rec["bound"] = bound
        if rc != 0:
            rec["status"], rec["message"] = "FAIL", "swin run exit %d: %s" % (rc, err.strip())
        else:
            ours = torch.from_numpy(np.load(folder / "ours.npy")).double()
            if list(ours.shape) != rec["out_shape"]:
                rec["status"] = "FAIL"
                rec["message"] = "output shape %s, timm %s" % (list(ours.shape), rec["out_shape"])
            elif not torch.isfinite(ours).all():
                rec["status"], rec["message"] = "FAIL", "non-finite output"
            else:
                diff = maxabs(ours - ref64)
                rec["max_abs_diff"], rec["ratio"] = diff, diff / bound
                rec["status"] = "PASS" if diff <= bound else "FAIL"
                if diff > bound:
                    rec["message"] = "max|ours - ref64| %.3g > bound %.3g" % (diff, bound)
                elif "reference" in rec:
                    rec["message"] = "vs %s: %s" % (rec["reference"], rec["ref64_error"])
    else:
        cmd = [swin, "info", str(folder)]
        rc, out, err, secs, rss = run_cli(cmd, args.timeout)
        rec.update(swin_cmd=cmd, swin_rc=rc, swin_s=secs, swin_rss_mb=rss)
        msg = err.strip()
        rec["message"] = msg
        phrase = next((p for p in REFUSAL_PHRASES if p in msg), None)
        if rc == 0:
            rec["status"] = "FAIL"
            first = out.strip().splitlines()[0] if out.strip() else "(no output)"
            rec["message"] = "swin info loaded a name the table marks unsupported: " + first
        elif rc != 1:
            rec["status"] = "REFUSED-BAD"
            rec["why_bad"] = "exit status %d, not 1" % rc
        elif len(msg.splitlines()) != 1:
            rec["status"] = "REFUSED-BAD"
            rec["why_bad"] = "stderr is %d lines, not one" % len(msg.splitlines())
        elif phrase is None or len(msg.split(phrase, 1)[1].strip(" :;,.")) < 3:
            rec["status"] = "REFUSED-BAD"
            rec["why_bad"] = "message names no missing feature"
        else:
            rec["status"] = "REFUSED-OK"
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
        rec.pop("folder", None)
    return rec


def line(rec):
    s = "%-48s %-28s %8.1fM %-11s" % (rec["name"], rec.get("class", "?"),
                                       rec.get("params", 0) / 1e6, rec["status"])
    if "max_abs_diff" in rec:
        s += " diff %.2e %s %.2e (%.3f)" % (rec["max_abs_diff"], "<=" if rec["ratio"] <= 1 else ">",
                                            rec["bound"], rec["ratio"])
    if "f32_vs_f64" in rec:
        s += " f32-f64 %.2e (max|ref| %.3g)" % (rec["f32_vs_f64"], rec["ref_maxabs"])
    elif "ref64_error" in rec and rec["status"] != "ERROR":
        s += " f32-f64 n/a (timm float64: %s)" % rec["ref64_error"]
    s += " %6.1fs" % rec.get("total_s", 0)
    if rec["status"] != "PASS" and rec.get("message"):
        s += "  | " + rec["message"]
    if rec.get("why_bad"):
        s += "  [" + rec["why_bad"] + "]"
    return s


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--swin", default=os.environ.get("SWIN_CLI", "build/swin"),
                    help="the swin CLI (default: $SWIN_CLI, else build/swin)")
    ap.add_argument("--only", help="check only the names this regular expression finds (re.search)")
    ap.add_argument("--max-params", type=float, default=400e6,
                    help="skip (and list) models with more parameters (default 400e6)")
    ap.add_argument("--json", help="write every record and the totals to this file")
    ap.add_argument("--workdir", help="where hub folders go (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep each hub folder, input and output")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per swin command")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    ap.add_argument("--input-size", type=int, default=0,
                    help="run every model at this input size instead of its default: timm's "
                         "model is built with dynamic_img_size=True (its position table "
                         "resampled, its RoPE rebuilt for the grid; Swin: strict_img_size=False), "
                         "and so is the hub folder")
    args = ap.parse_args()
    if not os.access(args.swin, os.X_OK):
        sys.exit("check_timm_archs.py: no swin CLI at %s (--swin or SWIN_CLI)" % args.swin)
    if args.threads:
        torch.set_num_threads(args.threads)

    timm, commit = import_timm()
    archs = list_archs(args.swin)
    names = timm.list_models(PATTERNS)
    if args.only:
        names = [n for n in names if re.search(args.only, n)]
    print("timm %s (commit %s), torch %s, swin CLI %s: %d names, max params %.0fM"
          % (timm.__version__, commit, torch.__version__, args.swin, len(names),
             args.max_params / 1e6),
          flush=True)
    workdir = args.workdir or tempfile.mkdtemp(prefix="check_timm_archs.")
    records, t_start = [], time.time()
    for name in names:
        t0 = time.time()
        rec = {"name": name}
        try:
            check_one(timm, rec, archs.get(name), args, workdir)
        except Exception as e:  # timm failed to build or run it: the check could not be made
            rec.update(status="ERROR", message="%s: %s" % (type(e).__name__, e))
            if not args.keep:
                shutil.rmtree(Path(workdir) / name, ignore_errors=True)
        rec["total_s"] = time.time() - t0
        rec["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        records.append(rec)
        print(line(rec), flush=True)
        gc.collect()
    if not args.workdir and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)

    totals = {s: sum(r["status"] == s for r in records) for s in STATUSES}
    passes = [r for r in records if r["status"] == "PASS"]
    worst = max(passes, key=lambda r: r["ratio"]) if passes else None
    print("\ntotals: " + ", ".join("%s %d" % kv for kv in totals.items())
          + " (of %d names) in %.0f s" % (len(records), time.time() - t_start))
    if worst:
        print("largest diff/bound among passes: %.3f (%s)" % (worst["ratio"], worst["name"]))
    for r in records:
        if r["status"] in BAD:
            print("  " + line(r))
    print("timm %s (commit %s)" % (timm.__version__, commit))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"timm_version": timm.__version__, "timm_commit": commit,
                       "torch_version": torch.__version__, "swin": args.swin,
                       "max_params": args.max_params, "rtol": RTOL, "totals": totals,
                       "elapsed_s": time.time() - t_start, "records": records}, f, indent=1)
    return 1 if any(totals[s] for s in BAD) else 0


if __name__ == "__main__":
    sys.exit(main())
