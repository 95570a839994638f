#!/usr/bin/env python3
"""The cost of a checkpoint layout: the same ViT-B/16 weights as a timm file (fused qkv) and as
a Hugging Face transformers folder (separate query, key, value, which libswin stacks at load),
timed side by side with `swin bench`, alternating, with each process's peak resident memory.

    /usr/bin/python3 bench/layouts.py [--swin build/swin] [--runs 10] [--rounds 3] [--threads 2]
        [--json out.json] [--keep DIR]

Needs only NumPy (random weights at a fixed seed, written here); no torch, no timm. The two
models compute the same thing: the script checks that `swin run` gives the same logits for both
(bit for bit: stacking q;k;v reproduces timm's fused matrix exactly). Reported: the median of
each file's median pass time over the rounds, their ratio (transformers / timm), load times, and
peak RSS minus the size of the weights file.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

D, DEPTH, HEADS, HIDDEN, PATCH, IMG, K = 768, 12, 12, 3072, 16, 224, 1000


def timm_state(rng):
    """timm's vit_base_patch16_224 names and shapes, random float32 values."""
    sd = {}

    def add(name, *shape, scale=0.02):
        sd[name] = (rng.standard_normal(shape, dtype=np.float32) * np.float32(scale))

    add("cls_token", 1, 1, D, scale=0.5)
    add("pos_embed", 1, (IMG // PATCH) ** 2 + 1, D, scale=0.5)
    add("patch_embed.proj.weight", D, 3, PATCH, PATCH)
    add("patch_embed.proj.bias", D, scale=0.1)
    for i in range(DEPTH):
        p = "blocks.%d." % i
        for n in ("norm1", "norm2"):
            sd[p + n + ".weight"] = 1 + rng.standard_normal(D, dtype=np.float32) * np.float32(0.1)
            add(p + n + ".bias", D, scale=0.1)
        add(p + "attn.qkv.weight", 3 * D, D)
        add(p + "attn.qkv.bias", 3 * D, scale=0.1)
        add(p + "attn.proj.weight", D, D)
        add(p + "attn.proj.bias", D, scale=0.1)
        add(p + "mlp.fc1.weight", HIDDEN, D)
        add(p + "mlp.fc1.bias", HIDDEN, scale=0.1)
        add(p + "mlp.fc2.weight", D, HIDDEN)
        add(p + "mlp.fc2.bias", D, scale=0.1)
    sd["norm.weight"] = 1 + rng.standard_normal(D, dtype=np.float32) * np.float32(0.1)
    add("norm.bias", D, scale=0.1)
    add("head.weight", K, D)
    add("head.bias", K, scale=0.1)
    return sd


def transformers_state(sd):
    """The same tensors under ViTForImageClassification's names."""
    out = {}
    names = {"norm1": "layernorm_before", "norm2": "layernorm_after",
             "attn.proj": "attention.output.dense", "mlp.fc1": "intermediate.dense",
             "mlp.fc2": "output.dense"}
    for k, v in sd.items():
        if k == "cls_token":
            out["vit.embeddings.cls_token"] = v
        elif k == "pos_embed":
            out["vit.embeddings.position_embeddings"] = v
        elif k.startswith("patch_embed.proj."):
            out["vit.embeddings.patch_embeddings.projection." + k.split(".")[-1]] = v
        elif k.startswith("norm."):
            out["vit.layernorm." + k.split(".")[-1]] = v
        elif k.startswith("head."):
            out["classifier." + k.split(".")[-1]] = v
        else:
            parts = k.split(".")
            base = "vit.encoder.layer.%s." % parts[1]
            what, leaf = ".".join(parts[2:-1]), parts[-1]
            if what == "attn.qkv":
                for j, part in enumerate(("query", "key", "value")):
                    out[base + "attention.attention.%s.%s" % (part, leaf)] = v[j * D:(j + 1) * D]
            else:
                out[base + names[what] + "." + leaf] = v
    return out


def write_safetensors(path, tensors, meta=None):
    header, off, blobs = {}, 0, []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name], dtype="<f4")
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    if meta:
        header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for b in blobs:
            f.write(b)


def bench(swin, model, args):
    """One `swin bench` process, started through a shell (docs: bench/README.md, peak RSS)."""
    cmd = "exec '%s' bench --model '%s' --threads %d --runs %d --warmup %d --json" % (
        swin, model, args.threads, args.runs, args.warmup)
    out = subprocess.run(["/bin/sh", "-c", cmd], check=True, stdout=subprocess.PIPE,
                         env=dict(os.environ, OPENBLAS_NUM_THREADS="1")).stdout.decode()
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--swin", default=os.path.join("build", "swin"))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--keep")
    args = ap.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="swin_layouts_")
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(2026)
    sd = timm_state(rng)
    timm_file = os.path.join(work, "vit_b16_timm.safetensors")
    write_safetensors(timm_file, sd, {"arch": "vit_base_patch16_224"})
    hf_dir = os.path.join(work, "vit_b16_transformers")
    os.makedirs(hf_dir, exist_ok=True)
    write_safetensors(os.path.join(hf_dir, "model.safetensors"), transformers_state(sd),
                      {"format": "pt"})
    config = {"architectures": ["ViTForImageClassification"], "model_type": "vit",
              "hidden_size": D, "num_hidden_layers": DEPTH, "num_attention_heads": HEADS,
              "intermediate_size": HIDDEN, "hidden_act": "gelu", "layer_norm_eps": 1e-6,
              "image_size": IMG, "patch_size": PATCH, "num_channels": 3, "qkv_bias": True,
              "id2label": {str(i): "class %d" % i for i in range(K)}}
    with open(os.path.join(hf_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    del sd

    # the same logits from both files
    x = np.random.default_rng(7).uniform(-2, 2, (1, 3, IMG, IMG)).astype(np.float32)
    xin = os.path.join(work, "x.npy")
    np.save(xin, x)
    logits = {}
    for name, model in (("timm", timm_file), ("transformers", hf_dir)):
        out = os.path.join(work, name + ".npy")
        subprocess.run([args.swin, "run", "--model", model, "--input", xin, "--output", out],
                       check=True)
        logits[name] = np.load(out)
    same = np.array_equal(logits["timm"], logits["transformers"])
    print("logits identical: %s (max |diff| %.3g)" % (
        same, float(np.abs(logits["timm"] - logits["transformers"]).max())))

    size_mb = {"timm": os.path.getsize(timm_file) / 2**20,
               "transformers": os.path.getsize(os.path.join(hf_dir, "model.safetensors")) / 2**20}
    res = {"timm": [], "transformers": []}
    for r in range(args.rounds):
        for name, model in (("timm", timm_file), ("transformers", hf_dir)):
            res[name].append(bench(args.swin, model, args))
            b = res[name][-1]
            print("round %d %-12s median %.1f ms  load %.1f ms  peak RSS %.1f MB (file %.1f MB)"
                  % (r, name, b["median_ms"], b["load_ms"], b["peak_rss_mb"], size_mb[name]))
    summary = {}
    for name in res:
        summary[name] = {
            "median_ms": statistics.median(b["median_ms"] for b in res[name]),
            "load_ms": statistics.median(b["load_ms"] for b in res[name]),
            "peak_rss_mb": max(b["peak_rss_mb"] for b in res[name]),
            "file_mb": size_mb[name],
        }
        summary[name]["rss_over_file_mb"] = summary[name]["peak_rss_mb"] - size_mb[name]
    ratio = summary["transformers"]["median_ms"] / summary["timm"]["median_ms"]
    print("transformers / timm time: %.3f; peak RSS over the file: timm %.1f MB, transformers "
          "%.1f MB" % (ratio, summary["timm"]["rss_over_file_mb"],
                       summary["transformers"]["rss_over_file_mb"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "ratio": ratio, "logits_identical": same,
                       "rounds": res, "threads": args.threads}, f, indent=1)
    if not args.keep:
        for p in (timm_file, xin, os.path.join(work, "timm.npy"),
                  os.path.join(work, "transformers.npy"),
                  os.path.join(hf_dir, "model.safetensors"), os.path.join(hf_dir, "config.json")):
            os.remove(p)
        os.rmdir(hf_dir)
        os.rmdir(work)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
