"""Writes an HDF5 file without pages whose object headers lie between raw data, as libhdf5
lays a file out when each variable is written as it is created: 24 groups of 4 contiguous
float64 variables of 320 KB, each with two attributes. Listing it needs the headers and the
groups' names, about 1 % of its 31 MB.

    python3 spread_headers.py OUT.h5
"""
import sys

import h5py
import numpy as np

with h5py.File(sys.argv[1], "w") as f:
    for g in range(24):
        group = f.create_group(f"g{g:02}")
        for v in range(4):
            d = group.create_dataset(f"v{v}", data=np.arange(40_000, dtype="<f8") + 1000 * g + v)
            d.attrs["units"] = "m"
            d.attrs["long_name"] = f"variable {v} of group {g}"
