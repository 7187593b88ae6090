"""What each workload needs from a granule, measured with h5py on the local copy: the bytes an
ideal reader must fetch, the round trips it must wait for, and digests of the true values.

These give the lower bound of the tables (round trips x latency + bytes needed / bandwidth) and
the reference every tool's values are checked against. The model is deliberately optimistic, so
that it stays a bound:

* bytes needed = metadata of the objects the workload touches + the stored (compressed) bytes of
  every chunk it reads (h5py's get_chunk_info; the storage size for contiguous/compact data).
  Metadata of an object = its object header (all chunks) + its B-tree/heap storage (group link
  index and heap, or the dataset's chunk index) + its dense-attribute storage, from H5Oget_info;
  listing (W1) needs no chunk indexes.
  The superblock and global-heap strings are not counted.
* round trips on the critical path: in a paged file (metadata in metadata-only pages, the first
  of which holds the superblock) one read of the first page brings the metadata, plus one more
  if the file's metadata outgrows one page. In a non-paged file metadata is scattered, and each
  level must be read before the next is known: one round trip for the superblock and root
  header, then two per group level (the parent's link index, then the child's header) down to
  the deepest object touched, then one for the chunk index. Reads add one round trip for all
  chunks in parallel.
"""
import hashlib

import h5py
import numpy as np

from workloads import WORKLOADS


def digest(array):
    """sha256 of an array's values in C order, as (dtype string, hex): how tools are compared."""
    a = np.ascontiguousarray(array)
    return f"{a.dtype.str}{list(a.shape)}", hashlib.sha256(a.tobytes()).hexdigest()


def object_meta(obj):
    """(header + attribute storage + group index, chunk index) bytes of one object: listing
    needs the first, reading a dataset both."""
    info = h5py.h5o.get_info(obj.id)
    m = info.meta_size
    own = info.hdr.space.total + m.obj.heap_size + m.attr.index_size + m.attr.heap_size
    if isinstance(obj, h5py.Dataset):
        return own, m.obj.index_size
    return own + m.obj.index_size, 0


def stored_bytes(ds):
    """Bytes of the dataset's data as stored (compressed chunks, or the contiguous extent)."""
    if ds.chunks is None:
        return ds.id.get_storage_size()
    dsid = ds.id
    return sum(dsid.get_chunk_info(i).size for i in range(dsid.get_num_chunks()))


def analyse(path):
    """Everything the orchestrator needs about one granule, as a JSON-able dict."""
    with h5py.File(path, "r") as f:
        fcpl = f.id.get_create_plist()
        strategy = fcpl.get_file_space_strategy()[0]
        paged = strategy == h5py.h5f.FSPACE_STRATEGY_PAGE
        page = fcpl.get_file_space_page_size() if paged else 0

        meta = {"/": object_meta(f)}
        datasets = {}
        attributes = {"/": len(f.attrs)}

        def visit(name, obj):
            meta["/" + name] = object_meta(obj)
            attributes["/" + name] = len(obj.attrs)
            if isinstance(obj, h5py.Dataset):
                datasets["/" + name] = obj

        f.visititems(visit)
        listing_meta = sum(own for own, _ in meta.values())
        total_meta = sum(own + index for own, index in meta.values())
        depth_all = max(p.count("/") for p in meta)

        def meta_rts(depth, chunk_index):
            if paged:
                return 1 + (1 if total_meta > page else 0)
            return 1 + 2 * depth + (1 if chunk_index else 0)

        out = {
            "file_size": f.id.get_filesize(),
            "paged": paged,
            "page_size": page,
            "metadata_bytes": total_meta,
            "listing_bytes": listing_meta,
            "variables": len(datasets),
            "workloads": {},
        }
        out["workloads"]["W1"] = {
            "bytes_needed": listing_meta,
            "round_trips": meta_rts(depth_all, False),
            # What a listing must show: every object's attribute count, every dataset's shape.
            "listing": {
                "attributes": attributes,
                "shapes": {p: list(d.shape) for p, d in datasets.items()},
            },
        }
        for w, paths in WORKLOADS.items():
            if paths is None:
                continue
            needed = 0
            touched = set()
            digests = {}
            for p in paths:
                parts = p.strip("/").split("/")
                for i in range(len(parts) + 1):
                    touched.add("/" + "/".join(parts[:i]))
                ds = f[p]
                needed += stored_bytes(ds)
                digests[p] = digest(ds[()])
            needed += sum(sum(meta[t]) for t in touched)
            depth = max(p.count("/") for p in paths)
            out["workloads"][w] = {
                "bytes_needed": needed,
                "round_trips": meta_rts(depth, True) + 1,
                "digests": digests,
            }
        return out


def lower_bound(need, latency_s, bandwidth_bps):
    return need["round_trips"] * latency_s + need["bytes_needed"] / bandwidth_bps
