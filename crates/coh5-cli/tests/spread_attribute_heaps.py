"""Writes an HDF5 file without pages whose variable-length string attributes (h5py's default
for `str`) keep their values in global heap collections spread among the raw data: 12 groups
of 4 contiguous float64 variables of 320 KB, each with six string attributes of about 100
bytes, so that a 4 KiB collection fills every few variables and the next one is made at the
end of the file.

    python3 spread_attribute_heaps.py OUT.h5
"""
import sys

import h5py
import numpy as np

NAMES = ["units", "long_name", "source", "description", "coordinates", "comment"]

with h5py.File(sys.argv[1], "w") as f:
    f.attrs["title"] = "attributes in global heaps"
    for g in range(12):
        group = f.create_group(f"g{g:02}")
        group.attrs["about"] = f"group {g}"
        for v in range(4):
            d = group.create_dataset(f"v{v}", data=np.arange(40_000, dtype="<f8") + 1000 * g + v)
            for name in NAMES:
                d.attrs[name] = f"{name} of variable {v} in group {g}: " + "x" * (60 + v)
