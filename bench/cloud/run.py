#!/usr/bin/env python3
"""The cloud benchmark of issue 4: coh5 against the tools people use to read HDF5 from object
storage, on synthetic ATL03 granules served by the emulated store at 20 ms and 100 ms latency.

Normally started by `bash scripts/bench-cloud.sh [--quick]`, which installs the Python packages
and builds the binaries first. Steps: generate (or reuse) one granule per layout variant; measure
with h5py on the local copy what each workload needs (needs.py); then, per latency, start
coh5-store and run every (variant, workload, tool) in a fresh capped process, counting requests
and bytes at the store; check coh5's values against h5py's; write the tables (report.py).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np

import needs
import report
import runner
from runner import run_capped, serial_waves
from store import Store
from workloads import TOOLS, VARIANTS, WORKLOADS, granule_name

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUCKET = "atl03"
# Seconds of quiet after the store has read the granules into memory, before the first run.
SETTLE_S = 5


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="200k photons per beam instead of 4M (proves the harness end to end)")
    ap.add_argument("--photons-per-beam", type=int)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--latencies", default="20,100", help="first-byte latencies in ms")
    ap.add_argument("--bandwidth-mbps", type=float, default=50.0,
                    help="per-connection bandwidth in MB/s (10^6 bytes)")
    ap.add_argument("--timeout", type=float, default=120.0, help="cap per process, seconds")
    ap.add_argument("--root", default=os.path.join(REPO, "target", "bench-cloud"))
    ap.add_argument("--coh5", default=os.path.join(REPO, "target", "release", "coh5"))
    ap.add_argument("--store", default=os.path.join(REPO, "target", "release", "coh5-store"))
    ap.add_argument("--benchmarks-md", default=os.path.join(REPO, "BENCHMARKS.md"),
                    help="file whose bench-cloud section is rewritten ('' to skip)")
    ap.add_argument("--results", help="where the measurements go (default: "
                    "<root>/results-p<photons>.json)")
    ap.add_argument("--report-from", nargs="+", metavar="RESULTS",
                    help="measure nothing: write the tables of these results files (e.g. one "
                    "per latency, run side by side) as one report; a cell in several files "
                    "is reported by its median run")
    args = ap.parse_args()
    if args.photons_per_beam is None:
        args.photons_per_beam = 200_000 if args.quick else 4_000_000
    for name in ("variants", "workloads", "tools", "latencies"):
        setattr(args, name, [v for v in getattr(args, name).split(",") if v])
    bad = ([v for v in args.variants if v not in VARIANTS]
           + [w for w in args.workloads if w not in WORKLOADS]
           + [t for t in args.tools if t not in TOOLS])
    if bad:
        ap.error(f"unknown names: {', '.join(bad)}")
    return args


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def granules(args):
    """Generates missing granules (cached by photon count) and analyses each once."""
    data_root = os.path.join(args.root, f"p{args.photons_per_beam}")
    bucket = os.path.join(data_root, BUCKET)
    os.makedirs(bucket, exist_ok=True)
    info = {}
    for variant in args.variants:
        path = os.path.join(bucket, granule_name(variant))
        if not os.path.exists(path):
            log(f"generating {variant} ({args.photons_per_beam} photons/beam)")
            # Written under a temporary name: an interrupted run must not leave a granule that
            # a later run would take as complete.
            tmp = path + ".partial"
            subprocess.run([sys.executable, os.path.join(REPO, "scripts", "atl03", "generate.py"),
                            "--variant", variant, "--photons-per-beam",
                            str(args.photons_per_beam), "--seed", "0", "-o", tmp], check=True)
            os.replace(tmp, path)
        cache = path + ".needs.json"
        stamp = [os.path.getsize(path), os.path.getmtime(path)]
        cached = None
        if os.path.exists(cache):
            with open(cache) as f:
                cached = json.load(f)
        # Caches written before the listing check lack what it compares with.
        stale = cached and "listing" not in cached["workloads"]["W1"]
        if not cached or cached.get("stamp") != stamp or stale:
            log(f"measuring what the workloads need from {variant}")
            cached = {"stamp": stamp, **needs.analyse(path)}
            with open(cache, "w") as f:
                json.dump(cached, f)
        info[variant] = {"path": path, **cached}
    return data_root, info


def check_npz(npz_path, digests):
    """Compares coh5's npz with h5py's digests; returns None or what differs."""
    try:
        with np.load(npz_path) as z:
            found = {"/" + k.lstrip("/"): needs.digest(z[k]) for k in z.files}
    except Exception as e:  # a missing or unreadable npz is a failed check, reported as such
        return f"cannot read {npz_path}: {e}"
    bad = [p for p, d in digests.items() if found.get(p) != tuple(d)]
    return f"differs from h5py: {', '.join(bad)}" if bad else None


def check_listing(text, expected):
    """Compares `coh5 ls -r -l` with h5py's objects: every object listed with as many
    attributes as h5py has, every attribute value decoded, every dataset with h5py's shape.
    Returns None or what differs."""
    counts, shapes, current, failed = {}, {}, None, []
    for line in text.splitlines():
        if line.startswith("    Attribute: "):
            counts[current] = counts.get(current, 0) + 1
            if " = error: " in line:
                failed.append(f"{current}@{line.split()[1]}")
        elif not line.startswith(" "):
            current, _, kind = line.partition("  ")
            counts.setdefault(current, 0)
            shape = re.match(r"Dataset (SCALAR|NULL|\{[^}]*\})", kind)
            if shape:
                dims = shape.group(1)
                shapes[current] = (None if dims == "NULL" else [] if dims == "SCALAR" else
                                   [int(d.split("/")[0]) for d in dims.strip("{}").split(", ")])
    bad = [p for p, n in expected["attributes"].items() if counts.get(p) != n]
    bad += [p for p, s in expected["shapes"].items() if shapes.get(p) != s]
    problems = []
    if bad:
        problems.append(f"differs from h5py: {', '.join(sorted(bad)[:5])}"
                        + (f" and {len(bad) - 5} more" if len(bad) > 5 else ""))
    if failed:
        problems.append(f"attribute values not read: {', '.join(failed[:5])}")
    return "; ".join(problems) or None


def check_digests(got, digests):
    bad = [p for p, d in digests.items() if tuple(got.get(p, ())) != tuple(d)]
    return f"differs from h5py: {', '.join(bad)}" if bad else None


class Bench:
    def __init__(self, args, info, work):
        self.args = args
        self.info = info
        self.work = work
        self.results = []

    def measure(self, store, cmd, stdout=subprocess.DEVNULL):
        store.reset()
        mark = store.log_mark()
        run = run_capped(cmd, self.args.timeout, stdout=stdout)
        counters = store.counters()
        run["requests"] = counters["requests"]
        run["bytes"] = counters["body_bytes_sent"]
        run["waves"] = serial_waves(store.log_since(mark))
        return run

    def run_coh5(self, store, url, workload, need):
        if WORKLOADS[workload] is None:
            listing = os.path.join(self.work, "coh5-listing.txt")
            cmd = [self.args.coh5, "--stats", "ls", "-r", "-l", url]
            with open(listing, "wb") as out:
                run = self.measure(store, cmd, stdout=out)
            if run["code"] == 0 and not run["timed_out"]:
                with open(listing, encoding="utf-8", errors="replace") as f:
                    run["check"] = check_listing(f.read(), need["listing"]) or "ok"
        else:
            npz = os.path.join(self.work, "coh5.npz")
            if os.path.exists(npz):
                os.remove(npz)
            cmd = [self.args.coh5, "--stats", "get", url, *WORKLOADS[workload], "-o", npz]
            run = self.measure(store, cmd)
            if run["code"] == 0 and not run["timed_out"]:
                run["check"] = check_npz(npz, need["digests"]) or "ok"
        run["time"] = run["wall"]
        lines = run.pop("stderr").strip().splitlines()
        if run["code"] == 0:
            run["stats"] = lines[-1] if lines else None
        elif not run["timed_out"]:
            run["error"] = lines[-1] if lines else f"exit {run['code']}"
        return run

    def run_worker(self, store, tool, url, workload, variant, refs=None):
        out = os.path.join(self.work, "worker.json")
        if os.path.exists(out):
            os.remove(out)
        cmd = [sys.executable, os.path.join(HERE, "worker.py"), tool, workload, url, "--out", out,
               "--page-size", str(self.info[variant]["page_size"])]
        if refs:
            cmd += ["--refs", refs]
        run = self.measure(store, cmd)
        if os.path.exists(out):
            with open(out) as f:
                seen = json.load(f)
            run.update({k: v for k, v in seen.items() if k != "trace"})
        if run.get("error") is None and run["code"] != 0 and not run["timed_out"]:
            lines = run["stderr"].strip().splitlines()
            run["error"] = lines[-1] if lines else f"exit {run['code']}"
        run.pop("stderr", None)
        need = self.info[variant]["workloads"][workload]
        if "digests" in need and run.get("digests") is not None and "error" not in run:
            run["check"] = check_digests(run["digests"], need["digests"]) or "ok"
        run.pop("digests", None)
        return run

    def record(self, latency, variant, workload, tool, run):
        run.update(latency_ms=latency, variant=variant, workload=workload, tool=tool)
        self.results.append(run)
        shown = ("> cap" if run.get("timed_out") else
                 f"error {run.get('error')}" if run.get("error") else f"{run.get('time', 0):.2f} s")
        log(f"  {latency} ms {variant} {workload} {tool}: {shown}, {run.get('requests')} req, "
            f"{run.get('bytes')} B, {run.get('rss_mib')} MiB"
            + (f", values {run['check']}" if run.get("check") else ""))

    def capped_before(self, tool, variant, workload, latency):
        """A run is skipped when it cannot finish under the cap: the same tool already hit the
        cap on a smaller workload (W2 < W3 < W4 in data) or at a lower latency."""
        order = list(WORKLOADS)
        for r in self.results:
            if r["tool"] != tool or r["variant"] != variant or not r.get("timed_out"):
                continue
            smaller = (r["latency_ms"] == latency and r["workload"] != "W1"
                       and order.index(r["workload"]) < order.index(workload))
            faster = r["latency_ms"] < latency and r["workload"] == workload
            if smaller or faster:
                return True
        return False

    def skipped(self, latency, variant, workload, tool):
        self.record(latency, variant, workload, tool,
                    {"timed_out": True, "skipped": True, "requests": None, "bytes": None})

    def one_latency(self, data_root, latency):
        args = self.args
        bandwidth = f"{args.bandwidth_mbps:g}MB/s"
        log_path = os.path.join(self.work, f"store-{latency}ms.csv")
        with Store(args.store, data_root, latency, bandwidth, log_path) as store:
            log(f"coh5-store at {store.url}: {latency} ms first-byte latency, {bandwidth}")
            # Every granule is read into the store's memory before the first timed run, so no
            # run follows (and shares the machine with) the loading of hundreds of MB.
            for variant in args.variants:
                store.warm(f"{store.url}/{BUCKET}/{granule_name(variant)}")
            time.sleep(SETTLE_S)
            for variant in args.variants:
                url = f"{store.url}/{BUCKET}/{granule_name(variant)}"
                refs = None
                if "kerchunk" in args.tools:
                    refs = os.path.join(self.work, f"refs-{variant}.json")
                    if self.capped_before("kerchunk-build", variant, "W1", latency):
                        self.skipped(latency, variant, "build", "kerchunk-build")
                    else:
                        run = self.run_worker(store, "kerchunk-build", url, "W1", variant, refs)
                        self.record(latency, variant, "build", "kerchunk-build", run)
                    if self.results[-1].get("timed_out") or self.results[-1].get("error"):
                        refs = None
                for workload in args.workloads:
                    need = self.info[variant]["workloads"][workload]
                    for tool in args.tools:
                        if tool == "kerchunk" and refs is None:
                            continue
                        if self.capped_before(tool, variant, workload, latency):
                            self.skipped(latency, variant, workload, tool)
                            continue
                        if tool == "coh5":
                            run = self.run_coh5(store, url, workload, need)
                        else:
                            run = self.run_worker(store, tool, url, workload, variant, refs)
                        self.record(latency, variant, workload, tool, run)


def report_from(args):
    """One report from several results files (their latencies, variants and workloads joined)."""
    runs = []
    for path in args.report_from:
        with open(path) as f:
            runs.append(json.load(f))
    meta = dict(runs[0]["meta"])
    meta["elapsed_s"] = max(r["meta"]["elapsed_s"] for r in runs)
    meta["load"] = max(r["meta"]["load"] for r in runs)
    info, results = {}, []
    for r in runs:
        info.update(r["granules"])
        results += r["results"]
    # A cell measured in several files (repeated runs of a tool) is reported by its median run.
    cells = {}
    for row in results:
        key = (row["latency_ms"], row["variant"], row["workload"], row["tool"])
        cells.setdefault(key, []).append(row)

    def wall(r):
        return r["wall"] if r.get("wall") is not None else float("inf")

    results = [sorted(rows, key=wall)[len(rows) // 2] for rows in cells.values()]
    meta["repeats"] = {tool: max(len(rows) for (_, _, _, t), rows in cells.items() if t == tool)
                       for tool in {k[3] for k in cells}}
    seen = {(r["latency_ms"], r["variant"], r["workload"]) for r in results}
    args.latencies = sorted({str(lat) for lat, _, _ in seen}, key=int)
    args.variants = [v for v in VARIANTS if v in info]
    args.workloads = [w for w in WORKLOADS if any(w == k for _, _, k in seen)]
    text = report.render(meta, info, results, args)
    if args.benchmarks_md:
        report.write_section(args.benchmarks_md, text)
    print(text)


def main():
    args = parse_args()
    if args.report_from:
        return report_from(args)
    for binary in (args.coh5, args.store, runner.GNU_TIME):
        if not os.access(binary, os.X_OK):
            sys.exit(f"{binary} is missing (cargo build --release -p coh5-cli -p coh5-store; "
                     "apt-get install time)")
    started = time.time()
    data_root, info = granules(args)
    # One work directory per (latencies, variants) set, so that runs side by side can share a
    # root.
    work = os.path.join(args.root, "work-" + "-".join(args.latencies + args.variants))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    bench = Bench(args, info, work)
    for latency in args.latencies:
        bench.one_latency(data_root, int(latency))
    meta = {
        "photons_per_beam": args.photons_per_beam,
        "quick": args.quick,
        "bandwidth_mbps": args.bandwidth_mbps,
        "timeout": args.timeout,
        "versions": report.versions(
            ("h5py", "fsspec", "aiohttp", "h5coro", "kerchunk", "zarr", "xarray", "h5netcdf")
        ),
        "coh5_version": subprocess.run([args.coh5, "--version"], capture_output=True,
                                       text=True).stdout.strip(),
        "elapsed_s": time.time() - started,
        "load": os.getloadavg()[0],
        "cpus": len(os.sched_getaffinity(0)),
    }
    out = args.results or os.path.join(args.root, f"results-p{args.photons_per_beam}.json")
    with open(out, "w") as f:
        json.dump({"meta": meta, "granules": info, "results": bench.results}, f, indent=1)
    log(f"results in {out}")
    text = report.render(meta, info, bench.results, args)
    if args.benchmarks_md:
        report.write_section(args.benchmarks_md, text)
        log(f"tables written to {args.benchmarks_md}")
    print(text)
    failed = [r for r in bench.results if r["tool"] == "coh5" and r.get("check", "ok") != "ok"]
    if failed:
        sys.exit("coh5 values differ from h5py: "
                 + "; ".join(f"{r['latency_ms']} ms {r['variant']} {r['workload']}: {r['check']}"
                             for r in failed))


if __name__ == "__main__":
    main()
