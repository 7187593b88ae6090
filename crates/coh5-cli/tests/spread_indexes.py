"""Writes an HDF5 file in the latest format whose indexes are spread over the file, as libhdf5
lays them out when a file grows by appends: the root group's links in dense storage (a name
B-tree over a fractal heap with an indirect root block), a dataset /ea with one unlimited
dimension (an extensible array index with secondary blocks) and /bt2 with two (a version 2
B-tree of depth 2), each written a little at a time with padding in between.

    python3 spread_indexes.py OUT.h5
"""
import sys

import h5py
import numpy as np

STEPS = 20
CHUNKS = 1200

with h5py.File(sys.argv[1], "w", libver="latest") as f:
    ea = f.create_dataset("ea", shape=(0,), maxshape=(None,), chunks=(4,), dtype="<i4")
    bt2 = f.create_dataset("bt2", shape=(0, 4), maxshape=(None, None), chunks=(2, 2), dtype="<i4")
    per_step = CHUNKS * 4 // STEPS
    for step in range(STEPS):
        n = (step + 1) * per_step
        ea.resize((n,))
        ea[n - per_step :] = np.arange(n - per_step, n, dtype="<i4")
        bt2.resize((n // 4, 4))
        bt2[(n - per_step) // 4 :] = np.arange(n - per_step, n, dtype="<i4").reshape(-1, 4)
        f.flush()
        f.create_dataset(f"pad_{step:02}", data=np.zeros(1_000_000, "u1"))
        f.flush()
