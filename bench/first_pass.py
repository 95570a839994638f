#!/usr/bin/python3
"""A process's first pass against its steady passes, in fresh processes with no environment
variables (nothing but PATH): what a command-line run or a service's first request sees.

    /usr/bin/python3 bench/first_pass.py MODEL [MODEL ...] [--swin build/swin] [--threads 2]
        [--processes 7] [--runs 10]

For each model (a safetensors file or hub folder), --processes times in turn:
`swin bench --model MODEL --threads T --runs R --warmup 0 --json`, whose load_first_ms is the
time from the start of the load to the end of the first pass (context creation included) and
median_ms the median of the R passes (the first one among them). Prints each process and the
medians over processes of load_first_ms, median_ms and their ratio (target: <= 1.3).
"""
import argparse
import json
import os
import statistics
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--swin", default=os.path.join(REPO, "build", "swin"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--processes", type=int, default=7)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for model in args.models:
        rows = []
        for p in range(args.processes):
            out = subprocess.run([args.swin, "bench", "--model", model, "--threads",
                                  str(args.threads), "--runs", str(args.runs), "--warmup", "0",
                                  "--json"], env=env, check=True, stdout=subprocess.PIPE).stdout
            r = json.loads(out)
            rows.append((r["load_first_ms"], r["median_ms"], r["load_first_ms"] / r["median_ms"]))
            print("%-40s process %d: load + first pass %8.1f ms, median %8.1f ms, ratio %.3f"
                  % (os.path.basename(model.rstrip("/")), p + 1, *rows[-1]))
        med = [statistics.median(c) for c in zip(*rows)]
        print("%-40s median of %d: load + first pass %8.1f ms, median %8.1f ms, ratio %.3f "
              "(kernels %s)" % (os.path.basename(model.rstrip("/")), args.processes, *med,
                                r.get("kernels", "?")))


if __name__ == "__main__":
    main()
