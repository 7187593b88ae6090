"""Writes an unpaged HDF5 file whose datasets got their attributes after other data was
written, as h5py scripts often do: a contiguous /c and a chunked /k, each header continued
past 3 MiB of padding while its data (and /k's chunk tree) lie next to the header.

    python3 late_attributes.py OUT.h5
"""
import sys

import h5py
import numpy as np

with h5py.File(sys.argv[1], "w", libver="earliest") as f:
    c = f.create_dataset("c", data=np.arange(100_000, dtype="<i4"))
    k = f.create_dataset("k", data=np.arange(100_000, dtype="<i4"), chunks=(10_000,))
    f.create_dataset("pad", data=np.zeros(3 << 20, "u1"))
    for d in (c, k):
        for i in range(8):
            d.attrs[f"attribute_{i}"] = np.arange(64, dtype="<f8")
