"""Writes an HDF5 file with a dataset /s of 100,000 variable-length strings in chunks of 10,000,
whose characters libhdf5 keeps in some 200 global heap collections ("string number I " and
I % 50 times "x").

    python3 vlen_strings.py OUT.h5
"""
import sys

import h5py
import numpy as np

N = 100_000

with h5py.File(sys.argv[1], "w") as f:
    values = np.array([f"string number {i} " + "x" * (i % 50) for i in range(N)], dtype=object)
    f.create_dataset("s", data=values, dtype=h5py.string_dtype(), chunks=(10_000,))
