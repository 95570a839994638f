#!/usr/bin/python3
"""Times one case with PyTorch in a process of its own (a helper of bench/side_by_side.py).

    /usr/bin/python3 bench/torch_run.py --case swin_t_b1 --model M.safetensors --input X.npy
        [--threads T] [--runs R] [--warmup W] [--output Y.npy]

Builds the case's reference module (side_by_side.build_model), loads the weights from the
safetensors file (strict, so every parameter is the file's), and times the logits of X with
torch.set_num_threads(T), one inter-op thread and torch.inference_mode(): W untimed runs, then
R timed ones. Prints one JSON line: torch_version, threads, omp_wait_policy, runs, warmup,
batch, load_ms, min_ms, median_ms, max_ms, images_per_s, peak_rss_mb; --output writes the
logits of the last run. peak_rss_mb is the VmHWM of this process from after loading (Python,
torch, the model and the runs' activations): the high-water mark is reset once the weights are
in the model, so the harness's way of reading the file (whole, then copied) is not counted;
load_peak_rss_mb is the peak before that reset.

A process of its own gives PyTorch a clean heap and its own peak RSS, and lets the caller set
OMP_WAIT_POLICY, which libgomp reads once, at start-up.
"""
import argparse
import gc
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import side_by_side as sbs  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--case", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--output", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    case = sbs.parse_case(args.case)

    t0 = time.perf_counter()
    model, _ = sbs.build_model(case["family"], case["size"], randomize=False)
    sbs.weights_of(model).load_state_dict(sbs.st.read(args.model)[0], strict=True)
    module = sbs.LogitsOnly(model).eval()
    load_ms = (time.perf_counter() - t0) * 1e3
    gc.collect()
    load_peak = sbs.peak_rss_mb()
    try:  # Linux >= 4.0: "5" resets VmHWM to the current RSS
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    x = torch.from_numpy(np.load(args.input))

    times = []
    with torch.inference_mode():
        for i in range(args.warmup + args.runs):
            t0 = time.perf_counter()
            y = module(x)
            dt = (time.perf_counter() - t0) * 1e3
            if i >= args.warmup:
                times.append(dt)
    if args.output:
        np.save(args.output, y.numpy())
    res = dict(torch_version=torch.__version__, threads=torch.get_num_threads(),
               omp_wait_policy=os.environ.get("OMP_WAIT_POLICY"), runs=args.runs,
               warmup=args.warmup, batch=int(x.shape[0]), load_ms=load_ms)
    res.update(sbs.summarize(times, int(x.shape[0])))
    res.update(peak_rss_mb=sbs.peak_rss_mb(), load_peak_rss_mb=load_peak)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
