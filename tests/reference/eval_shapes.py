"""Held-out accuracy of the example model examples/shapes/, in PyTorch and in the C library.

    # 1. render N held-out images (a seed never used for training) as PNG/JPEG files of varied
    #    sizes, aspect ratios and formats into DIR (labels in DIR/labels.json), and print the
    #    PyTorch reference's accuracy on them
    /usr/bin/python3 tests/reference/eval_shapes.py --out /tmp/heldout
    # 2. classify them with the C CLI
    build/swin classify --model examples/shapes --json /tmp/heldout > /tmp/c.jsonl
    # 3. compare: C accuracy, and C top-1 against PyTorch top-1 on every image
    /usr/bin/python3 tests/reference/eval_shapes.py --out /tmp/heldout --c-predictions /tmp/c.jsonl

Without --out the images go to a temporary directory. The model is read back from the files in
--model (config.json + model.safetensors), through tests/reference/swin_ref.py, in float64, after
timm's eval transform (settings from config.json's pretrained_cfg) on Image.open().convert("RGB").

--c-predictions: JSON lines, one object per image with at least "path" (any path whose base
name is the image's file name) and "top", a list of {"label": ..., "prob": ...} best first (the
first element's "label" is the prediction; "index" is used if there is no "label"). Lines that
are not JSON objects or lack these keys are ignored (with a count), so progress or error lines
do not break it. Exit status 1 if the C accuracy is under --min-acc (0.95) or if any C top-1
differs from PyTorch's top-1, 0 otherwise; without --c-predictions, 1 if the PyTorch accuracy is
under --min-acc.
"""
import argparse
import json
import math
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_shapes as ts  # noqa: E402  (sets OPENBLAS_NUM_THREADS before numpy/torch load it)

FORMATS = ("rgb", "jpeg", "rgb", "jpeg", "palette", "gray-jpeg", "progressive-jpeg", "gray-png")


def render_heldout(out, n):
    """Write n held-out images to out; return [(file name, label)] and write out/labels.json."""
    os.makedirs(out, exist_ok=True)
    rows = []
    for i in range(n):
        img, c = ts.render(ts.SEED_HELDOUT, i)
        how = FORMATS[i % len(FORMATS)]
        fname = f"h{i:04d}." + ("jpg" if "jpeg" in how else "png")
        ts.save_image(img, os.path.join(out, fname), how)
        rows.append((fname, ts.CLASSES[c]))
    with open(os.path.join(out, "labels.json"), "w") as f:
        json.dump({"seed": ts.SEED_HELDOUT, "labels": dict(rows)}, f, indent=1)
        f.write("\n")
    return rows


def load_model(model_dir):
    """(float64 swin_ref model, label names, pretrained_cfg) from a hub-layout folder."""
    import torch

    import safetensors_io as st
    import swin_ref as ref

    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    a = cfg["model_args"]
    sc = ref.SwinConfig(img_size=a["img_size"], patch_size=a["patch_size"],
                        embed_dim=a["embed_dim"], depths=tuple(a["depths"]),
                        num_heads=tuple(a["num_heads"]), window_size=a["window_size"],
                        mlp_ratio=float(a["mlp_ratio"]), num_classes=cfg["num_classes"])
    model = ref.SwinTransformer(sc)
    tensors, _, _ = st.read(os.path.join(model_dir, "model.safetensors"))
    model.load_state_dict(tensors, strict=True)
    labels = cfg.get("label_names") or [str(i) for i in range(cfg["num_classes"])]
    return model.double().eval(), labels, cfg["pretrained_cfg"]


def pytorch_predictions(model, pc, paths, batch=100):
    import torch

    size = pc["input_size"][-1]
    probs = []
    for i in range(0, len(paths), batch):
        x = np.stack([ts.to_tensor(ts.eval_crop(ts.load_rgb(p), size, pc["interpolation"],
                                                pc["crop_pct"]), pc["mean"], pc["std"])
                      for p in paths[i:i + batch]])
        with torch.no_grad():
            logits, _, _ = model(torch.from_numpy(x).double())
        probs.append(torch.softmax(logits, -1).numpy())
    return np.concatenate(probs)


def read_c_predictions(path, labels):
    """{base name: (top-1 label, top-1 prob)} from JSON lines; (dict, ignored line count)."""
    preds, ignored = {}, 0
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                o = json.loads(line)
                top = o["top"][0]
                lab = top.get("label")
                if lab is None:
                    lab = labels[int(top["index"])]
                preds[os.path.basename(o["path"])] = (str(lab), float(top.get("prob", math.nan)))
            except (ValueError, KeyError, IndexError, TypeError, AttributeError):
                ignored += 1
    return preds, ignored


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=500, help="held-out images (default 500)")
    ap.add_argument("--out", help="directory for the images (default: a temporary one)")
    ap.add_argument("--model", default=ts.OUT, help="hub-layout model folder (examples/shapes)")
    ap.add_argument("--c-predictions", help="`swin classify --json` output on the same images")
    ap.add_argument("--min-acc", type=float, default=0.95)
    ap.add_argument("--quiet", action="store_true", help="print only the accuracy line")
    a = ap.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    tmp = None
    out = a.out
    if out is None:
        tmp = tempfile.TemporaryDirectory()
        out = tmp.name
    rows = render_heldout(out, a.n)
    model, labels, pc = load_model(a.model)
    paths = [os.path.join(out, f) for f, _ in rows]
    probs = pytorch_predictions(model, pc, paths)
    pt_top = probs.argmax(1)
    truth = np.array([labels.index(lab) for _, lab in rows])
    acc = float((pt_top == truth).mean())
    print(f"PyTorch held-out accuracy: {100 * acc:.1f} % ({int((pt_top == truth).sum())}/{len(rows)})"
          f" on {out if a.out else 'a temporary directory'} (seed {ts.SEED_HELDOUT})")
    if not a.quiet:
        cm = np.zeros((len(labels), len(labels)), np.int64)
        for t, p in zip(truth, pt_top):
            cm[t, p] += 1
        print("confusion (rows true, columns predicted): " + " ".join(l[:4] for l in labels))
        for i, lab in enumerate(labels):
            print(f"  {lab:9s} " + " ".join(f"{v:4d}" for v in cm[i]))
        for (f, lab), p, pr in zip(rows, pt_top, probs):
            if labels[p] != lab:
                print(f"  wrong: {f} true {lab}, predicted {labels[p]} {pr[p]:.3f}")
    status = 0 if acc >= a.min_acc else 1

    if a.c_predictions:
        preds, ignored = read_c_predictions(a.c_predictions, labels)
        missing = [f for f, _ in rows if f not in preds]
        c_ok = agree = 0
        for (f, lab), p, pr in zip(rows, pt_top, probs):
            if f not in preds:
                continue
            c_lab, c_prob = preds[f]
            c_ok += c_lab == lab
            if c_lab == labels[p]:
                agree += 1
            else:
                second = np.sort(pr)[-2]
                print(f"  C and PyTorch differ on {f}: C {c_lab} {c_prob:.4f}, PyTorch "
                      f"{labels[p]} {pr[p]:.4f} (PyTorch margin to 2nd {pr[p] - second:.4f})")
        c_acc = c_ok / len(rows)
        print(f"C held-out accuracy: {100 * c_acc:.1f} % ({c_ok}/{len(rows)}); top-1 equals "
              f"PyTorch's on {agree}/{len(rows) - len(missing)} classified images"
              + (f"; {len(missing)} images missing from the C output" if missing else "")
              + (f"; {ignored} lines ignored" if ignored else ""))
        status = 0 if (c_acc >= a.min_acc and agree == len(rows) and not missing) else 1
    if tmp is not None:
        tmp.cleanup()
    if argv is not None:
        return acc
    return status


if __name__ == "__main__":
    sys.exit(main())
