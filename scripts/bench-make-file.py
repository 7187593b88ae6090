#!/usr/bin/env python3
"""Writes the benchmark input for `coh5-bench read`: four 1-D datasets of SIZE MiB each
(float32 and int32, each gzip level 4 and shuffle+gzip level 4, chunks of 1 MiB), holding
compressible but not constant values, as sensor data would be: a smooth signal plus noise,
rounded to a fixed precision (float32), and a random walk with small steps (int32).

Usage: bench-make-file.py OUT.h5 [SIZE_MIB]
"""
import sys

import h5py
import numpy as np

out = sys.argv[1]
size_mib = int(sys.argv[2]) if len(sys.argv) > 2 else 256
n = size_mib * (1 << 20) // 4
chunk = (1 << 20) // 4
slab = 16 * chunk  # written in slabs so the generator itself stays small in memory

rng = np.random.default_rng(20240601)
with h5py.File(out + ".tmp", "w") as f:
    f.attrs["coh5_bench_version"] = 1
    f.attrs["size_mib"] = size_mib
    specs = [
        ("f32_gzip", np.float32, False),
        ("f32_shuffle_gzip", np.float32, True),
        ("i32_gzip", np.int32, False),
        ("i32_shuffle_gzip", np.int32, True),
    ]
    for name, dtype, shuffle in specs:
        ds = f.create_dataset(
            name, shape=(n,), dtype=dtype, chunks=(chunk,),
            compression="gzip", compression_opts=4, shuffle=shuffle,
        )
        level = 0
        for start in range(0, n, slab):
            stop = min(n, start + slab)
            t = np.arange(start, stop, dtype=np.float64)
            if dtype == np.float32:
                v = 20.0 * np.sin(t / 5000.0) + 5.0 * np.sin(t / 37.0)
                v += rng.normal(0.0, 0.5, stop - start)
                ds[start:stop] = np.round(v, 2).astype(np.float32)
            else:
                steps = rng.integers(-40, 41, stop - start)
                walk = level + np.cumsum(steps)
                level = int(walk[-1])
                ds[start:stop] = walk.astype(np.int32)
import os
os.replace(out + ".tmp", out)
