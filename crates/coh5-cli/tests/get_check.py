"""Checks `coh5 get` output against h5py (used by tests/get.rs).

argv[1] is a JSON list of checks: {"file", "datasets", "slice" (or null), "out", "format"}.
Each output is loaded with numpy (npy/npz), json or csv and compared with h5py's reading of
the same selection. Prints one line per failure and exits non-zero if there was any.
"""
import csv
import json
import sys

import h5py
import numpy as np


def expected(f, path, sel):
    d = f[path]
    if sel is None:
        return d[()]
    # NumPy semantics (index lists in any order) on the whole dataset read by h5py.
    return d[()][eval(f"np.s_[{sel}]")]


def as_bytes(x):
    return x.encode() if isinstance(x, str) else x


def same(a, b, where):
    """a: what coh5 wrote (loaded by numpy); b: what h5py read."""
    if a.shape != b.shape:
        return f"{where}: shape {a.shape} != {b.shape}"
    if b.dtype.names:
        if a.dtype.names != b.dtype.names:
            return f"{where}: fields {a.dtype.names} != {b.dtype.names}"
        for n in b.dtype.names:
            why = same(a[n], b[n], f"{where}.{n}")
            if why:
                return why
        return None
    if b.dtype.kind == "O":
        # vlen strings: coh5 writes fixed-width bytes sized to the longest.
        if a.dtype.kind != "S":
            return f"{where}: dtype {a.dtype} for vlen strings"
        if [as_bytes(x) for x in b.flat] != list(a.flat):
            return f"{where}: {a!r} != {b!r}"
        return None
    if a.dtype != b.dtype:
        return f"{where}: dtype {a.dtype} != {b.dtype}"
    if not np.array_equal(a, b, equal_nan=b.dtype.kind in "fc"):
        return f"{where}: {a!r} != {b!r}"
    return None


def plain(x):
    """h5py's value in the JSON forms coh5 writes."""
    if isinstance(x, np.ndarray):
        return [plain(v) for v in x]
    if isinstance(x, (bytes, np.bytes_)):
        return x.rstrip(b"\0").decode()
    if isinstance(x, (np.floating, float)):
        return "NaN" if np.isnan(x) else float(x)
    if isinstance(x, np.generic):
        return x.item()
    return x


def main():
    failures = []
    for c in json.loads(sys.argv[1]):
        with h5py.File(c["file"], "r") as f:
            want = {p: expected(f, p, c["slice"]) for p in c["datasets"]}
        where = f"{c['file']} {c['datasets']} slice={c['slice']} {c['format']}"
        try:
            if c["format"] == "npy":
                (p,) = c["datasets"]
                why = same(np.load(c["out"]), want[p], f"{where} {p}")
                failures += [why] if why else []
            elif c["format"] == "npz":
                z = np.load(c["out"])
                names = sorted(p.lstrip("/") for p in c["datasets"])
                if sorted(z.files) != names:
                    failures.append(f"{where}: entries {z.files}")
                for p in c["datasets"]:
                    why = same(z[p.lstrip("/")], want[p], f"{where} {p}")
                    failures += [why] if why else []
            elif c["format"] == "json":
                got = json.load(open(c["out"]))
                for p in c["datasets"]:
                    if got[p] != plain(want[p]):
                        failures.append(f"{where} {p}: {got[p]} != {plain(want[p])}")
            elif c["format"] == "csv":
                (p,) = c["datasets"]
                rows = list(csv.reader(open(c["out"])))
                w = want[p].reshape(want[p].shape[0], -1)
                got = np.array([[float(x) for x in r] for r in rows])
                if not np.array_equal(got, w.astype(float)):
                    failures.append(f"{where}: {got} != {w}")
        except Exception as e:  # a load failure is a failed check, reported with the rest
            failures.append(f"{where}: {type(e).__name__}: {e}")
    for why in failures:
        print(why)
    sys.exit(1 if failures else 0)


main()
