#!/usr/bin/env python3
"""Differential check of coh5 against libhdf5 on randomized files.

Usage: python3 check.py --coh5 BIN --shared DIR [--seeds 0:50] [--workdir DIR] [--jobs N]
                        [--store BIN | --base-url URL]

For every seed: make_file.py writes the file (every fourth seed, make_netcdf.py writes a
netCDF-4 file through netCDF-C instead), the shared corpus's golden.py dumps it with h5py
(the oracle), `coh5 dump --manifest` dumps it, and the shared compare.py scores the two. Prints
one line per failing seed with compare.py's findings (or coh5's error), then a summary line
`randomized: P/N seeds pass`; exits 1 if any seed fails. A failing seed's files stay in the
work directory to be reproduced by hand.

With --store, each file is also dumped over HTTP from coh5-store on loopback (with a little
latency and injected 503s, resets and truncated bodies, which retries must absorb) and that
manifest must match the oracle too: the remote path (range planner, block cache, page
awareness) on every layout the generator draws. --base-url names a server already serving
the work directory's parent (the Rust test runs coh5-store in-process).
"""
import argparse
import glob
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
LIMIT_S = 120


def run(cmd, out=None, limit=LIMIT_S):
    """(exit code, stderr) of cmd with stdout into out; a command over its time limit is a
    failure, not the end of the run."""
    with open(out, "wb") if out else open(os.devnull, "wb") as sink:
        try:
            p = subprocess.run(cmd, stdout=sink, stderr=subprocess.PIPE, timeout=limit)
        except subprocess.TimeoutExpired:
            return -1, f"did not finish in {limit} s"
    return p.returncode, p.stderr.decode(errors="replace").strip()


def compare(a, golden, candidate):
    """compare.py's verdict: None when equal, else its report."""
    cmp = subprocess.run(
        [sys.executable, os.path.join(a.shared, "conformance/compare.py"),
         "--golden", golden, "--candidate", candidate],
        capture_output=True, text=True, timeout=LIMIT_S,
    )
    return cmp.stdout.strip() if cmp.returncode else None


def dump_and_score(a, source, golden, out):
    """`coh5 dump --manifest source` into out, scored against golden: None when they agree."""
    code, err = run([a.coh5, "dump", "--manifest", source], out)
    if code:
        return f"coh5 dump failed: {err[-400:]}"
    return compare(a, golden, out)


def check(seed, a):
    base = os.path.join(a.workdir, f"seed{seed}")
    netcdf = seed % 4 == 3
    h5 = base + (".nc" if netcdf else ".h5")
    golden, candidate = base + ".golden.json", base + ".coh5.json"
    maker = "make_netcdf.py" if netcdf else "make_file.py"
    # make_file.py may draw a file five times, a minute each, when libhdf5 hangs on one.
    code, err = run([sys.executable, os.path.join(HERE, maker), str(seed), h5], limit=6 * LIMIT_S)
    if code:
        return seed, f"generator failed: {err[-400:]}"
    code, err = run([sys.executable, os.path.join(a.shared, "corpus/golden.py"), "--one", h5], golden)
    if code:
        return seed, f"golden.py failed: {err[-400:]}"
    why = dump_and_score(a, h5, golden, candidate)
    if why:
        return seed, why
    if a.base_url:
        remote = base + ".remote.json"
        url = f"{a.base_url}/{os.path.basename(a.workdir)}/{os.path.basename(h5)}"
        why = dump_and_score(a, url, golden, remote)
        if why:
            return seed, f"remote: {why}"
        os.remove(remote)
    for p in [h5, golden, candidate] + glob.glob(glob.escape(h5) + ".*"):
        os.remove(p)
    return seed, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--coh5", required=True)
    ap.add_argument("--shared", required=True)
    ap.add_argument("--seeds", default="0:50", help="START:END, END exclusive")
    ap.add_argument("--workdir", default="target/randomized")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--store", help="coh5-store binary: also read every file over HTTP")
    ap.add_argument("--base-url", help="a server of the work directory's parent, instead")
    a = ap.parse_args()
    start, end = (int(x) for x in a.seeds.split(":"))
    a.workdir = os.path.abspath(a.workdir)
    os.makedirs(a.workdir, exist_ok=True)
    store = None
    if a.base_url:
        a.base_url = a.base_url.rstrip("/")
    elif a.store:
        store = subprocess.Popen(
            [a.store, os.path.dirname(a.workdir), "--latency", "2ms", "--seed", str(start),
             "--error-rate", "0.03", "--reset-rate", "0.02", "--truncate-rate", "0.02"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        line = store.stdout.readline().strip()
        if not line.startswith("listening on "):
            sys.exit(f"coh5-store did not start: {line!r}")
        a.base_url = line.removeprefix("listening on ").rstrip("/")
    try:
        with ThreadPoolExecutor(a.jobs) as pool:
            results = list(pool.map(lambda s: check(s, a), range(start, end)))
    finally:
        if store:
            store.kill()
    failed = [(s, why) for s, why in results if why]
    for s, why in failed:
        print(f"seed {s}: {why}")
    print(f"randomized: {len(results) - len(failed)}/{len(results)} seeds pass")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
