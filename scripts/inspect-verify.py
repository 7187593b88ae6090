#!/usr/bin/env python3
"""Checks the request counts `coh5 inspect` predicts against requests measured through the
emulated object store (coh5-store with --log), for a libhdf5-like client (h5py over fsspec HTTP
with no cache: visititems, then a whole read of one dataset) and for coh5 (`coh5 ls -r`, then
`coh5 get`). Prints a Markdown table for BENCHMARKS.md.

    coh5-store DIR --log req.csv &    # first line: listening on http://ADDR
    scripts/inspect-verify.py --url http://ADDR/BUCKET --dir DIR/BUCKET --log req.csv \
        --coh5 target/debug/coh5 --dataset /gt1l/heights/h_ph FILE.h5...
"""
import argparse
import json
import subprocess

import fsspec
import h5py


def gets(log):
    with open(log) as f:
        return sum(1 for line in f if ",GET," in line)


def clear(log):
    open(log, "w").close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--coh5", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    print("| file | client | open+list predicted | measured | read predicted | measured |")
    print("|---|---|---|---|---|---|")
    for name in a.files:
        url = f"{a.url}/{name}"
        report = json.loads(subprocess.check_output([a.coh5, "inspect", "--json", f"{a.dir}/{name}"]))
        ds = next(d for d in report["datasets"] if d["path"] == a.dataset)
        open_pred = report["cost"]["open"]
        read_pred = ds["read_cost"]

        clear(a.log)
        with fsspec.filesystem("http").open(url, "rb", cache_type="none") as fo:
            with h5py.File(fo, "r") as f:
                f.visititems(lambda n, o: None)
                opened = gets(a.log)
                f[a.dataset][...]
                read = gets(a.log) - opened
        print(f"| {name} | libhdf5-like | {open_pred['libhdf5']['requests']} | {opened} "
              f"| {read_pred['libhdf5']['requests']} | {read} |")

        clear(a.log)
        subprocess.check_call([a.coh5, "ls", "-r", url], stdout=subprocess.DEVNULL)
        opened = gets(a.log)
        clear(a.log)
        subprocess.check_call([a.coh5, "ls", url, a.dataset], stdout=subprocess.DEVNULL)
        resolve = gets(a.log)
        clear(a.log)
        subprocess.check_call([a.coh5, "get", url, a.dataset, "--format", "json"],
                              stdout=subprocess.DEVNULL)
        # `coh5 get` opens the file and resolves the path first: `coh5 ls URL PATH` does that.
        read = gets(a.log) - resolve
        print(f"| {name} | coh5 | {open_pred['coh5']['requests']} | {opened} "
              f"| {read_pred['coh5']['requests']} | {read} |")


if __name__ == "__main__":
    main()
