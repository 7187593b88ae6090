"""Writes an unpaged HDF5 file whose dataset /d has its header continuation and its chunk tree's
leaves far from its header and tree root, and from each other, as libhdf5 lays out a granule
written without aggregated metadata (the ATL03 `original` layout).

    python3 far_continuation.py OUT.h5
"""
import sys

import h5py
import numpy as np

MIB = 1 << 20
CHUNK = 8
CHUNKS = 400

with h5py.File(sys.argv[1], "w", libver="earliest") as f:
    d = f.create_dataset("d", shape=(CHUNKS * CHUNK,), chunks=(CHUNK,), dtype="<i4")
    # The tree's root is made by the first chunk, next to the header.
    d[:CHUNK] = np.arange(CHUNK)
    f.flush()
    # Past the 2 MiB a read of whole datasets opens with.
    f.create_dataset("pad1", data=np.zeros(3 * MIB, "u1"))
    # The leaves are made as the root splits, and written at the flush.
    d[CHUNK:] = np.arange(CHUNK, CHUNKS * CHUNK)
    f.flush()
    f.create_dataset("pad2", data=np.zeros(MIB // 2, "u1"))
    # Attributes outgrow the header's first chunk: a continuation at the end.
    for i in range(8):
        d.attrs[f"attribute_{i}"] = np.arange(64, dtype="<f8")
