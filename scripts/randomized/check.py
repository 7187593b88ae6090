#!/usr/bin/env python3
"""Differential check of coh5 against libhdf5 on randomized files.

Usage: python3 check.py --coh5 BIN --shared DIR [--seeds 0:50] [--workdir DIR] [--jobs N]

For every seed: make_file.py writes the file, the shared corpus's golden.py dumps it with h5py
(the oracle), `coh5 dump --manifest` dumps it, and the shared compare.py scores the two. Prints
one line per failing seed with compare.py's findings (or coh5's error), then a summary line
`randomized: P/N seeds pass`; exits 1 if any seed fails. A failing seed's files stay in the
work directory to be reproduced by hand.
"""
import argparse
import glob
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
LIMIT_S = 120


def run(cmd, out=None):
    with open(out, "wb") if out else open(os.devnull, "wb") as sink:
        p = subprocess.run(cmd, stdout=sink, stderr=subprocess.PIPE, timeout=LIMIT_S)
    return p.returncode, p.stderr.decode(errors="replace").strip()


def check(seed, a):
    base = os.path.join(a.workdir, f"seed{seed}")
    h5, golden, candidate = base + ".h5", base + ".golden.json", base + ".coh5.json"
    code, err = run([sys.executable, os.path.join(HERE, "make_file.py"), str(seed), h5])
    if code:
        return seed, f"generator failed: {err[-400:]}"
    code, err = run([sys.executable, os.path.join(a.shared, "corpus/golden.py"), "--one", h5], golden)
    if code:
        return seed, f"golden.py failed: {err[-400:]}"
    try:
        code, err = run([a.coh5, "dump", "--manifest", h5], candidate)
    except subprocess.TimeoutExpired:
        return seed, f"coh5 dump did not finish in {LIMIT_S} s"
    if code:
        return seed, f"coh5 dump failed: {err[-400:]}"
    cmp = subprocess.run(
        [sys.executable, os.path.join(a.shared, "conformance/compare.py"),
         "--golden", golden, "--candidate", candidate],
        capture_output=True, text=True, timeout=LIMIT_S,
    )
    if cmp.returncode:
        return seed, cmp.stdout.strip()
    for p in [h5, golden, candidate] + glob.glob(glob.escape(h5) + ".*.raw"):
        os.remove(p)
    return seed, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--coh5", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--seeds", default="0:50", help="START:END, END exclusive")
    ap.add_argument("--workdir", default="target/randomized")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    start, end = (int(x) for x in a.seeds.split(":"))
    os.makedirs(a.workdir, exist_ok=True)
    with ThreadPoolExecutor(a.jobs) as pool:
        results = list(pool.map(lambda s: check(s, a), range(start, end)))
    failed = [(s, why) for s, why in results if why]
    for s, why in failed:
        print(f"seed {s}: {why}")
    print(f"randomized: {len(results) - len(failed)}/{len(results)} seeds pass")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
