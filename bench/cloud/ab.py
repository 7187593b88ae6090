"""Times builds of coh5 against each other: `coh5 get` of a workload's datasets from one URL,
the builds taking turns, so a machine that speeds up or slows down during the runs affects
each build alike. Prints each build's median, quartiles and fastest run (process wall time).

    python3 bench/cloud/ab.py --coh5 OLD/coh5 --coh5 NEW/coh5 --url URL --workload W2 --runs 10

The store is started by the caller, e.g. `coh5-store ROOT --port 18080 --latency 100ms
--bandwidth 50MB/s --in-memory`, with the granule read once before (`curl -r 0-0 URL`).
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

from workloads import WORKLOADS


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--coh5", action="append", required=True, help="a build (repeat)")
    ap.add_argument("--url", required=True)
    ap.add_argument("--workload", default="W2", choices=[w for w, p in WORKLOADS.items() if p])
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    times = {b: [] for b in args.coh5}
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.npz")
        for _ in range(args.runs):
            for b in args.coh5:
                start = time.perf_counter()
                subprocess.run([b, "get", args.url, *WORKLOADS[args.workload], "-o", out],
                               check=True)
                times[b].append(time.perf_counter() - start)
    for b, t in times.items():
        t.sort()
        print(f"{b}: median {statistics.median(t):.3f} s, quartiles {t[len(t) // 4]:.3f}–"
              f"{t[(3 * len(t)) // 4]:.3f} s, fastest {t[0]:.3f} s ({len(t)} runs)")


if __name__ == "__main__":
    main()
