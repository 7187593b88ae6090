#!/usr/bin/env python3
"""One timed full read of one dataset with h5py, for `coh5-bench read`. Prints one line of
`key=value` fields: seconds (the read alone), peak and baseline RSS (KiB, from
/proc/self/status), bytes read, and the h5py and libhdf5 versions.

Usage: bench-h5py-read.py FILE DATASET
"""
import sys
import time

import h5py


def status(field):
    with open("/proc/self/status") as s:
        for line in s:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise SystemExit(f"no {field} in /proc/self/status")


path, name = sys.argv[1], sys.argv[2]
with h5py.File(path, "r") as f:
    ds = f[name]
    baseline = status("VmRSS")
    t0 = time.perf_counter()
    data = ds[()]
    seconds = time.perf_counter() - t0
    peak = status("VmHWM")
print(
    f"seconds={seconds:.6f} peak_kib={peak} baseline_kib={baseline} bytes={data.nbytes} "
    f"version=h5py-{h5py.version.version}/libhdf5-{h5py.version.hdf5_version}"
)
