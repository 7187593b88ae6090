"""libhdf5 property setters h5py does not wrap, called through ctypes on the very library
h5py loaded, so the generator can draw the format features behind them: shared object
header messages, B-tree K values, group storage thresholds and compressed link heaps, the
N-bit filter and unfiltered partial edge chunks. Without h5py's bundled library (a system
h5py), `lib` is None and those features are not drawn.
"""
import ctypes
import glob
import os

import h5py

_SIGNATURES = {
    "H5Pset_shared_mesg_nindexes": [ctypes.c_uint],
    "H5Pset_shared_mesg_index": [ctypes.c_uint, ctypes.c_uint, ctypes.c_uint],
    "H5Pset_shared_mesg_phase_change": [ctypes.c_uint, ctypes.c_uint],
    "H5Pset_sym_k": [ctypes.c_uint, ctypes.c_uint],
    "H5Pset_istore_k": [ctypes.c_uint],
    "H5Pset_link_phase_change": [ctypes.c_uint, ctypes.c_uint],
    "H5Pset_est_link_info": [ctypes.c_uint, ctypes.c_uint],
    "H5Pset_local_heap_size_hint": [ctypes.c_size_t],
    "H5Pset_nbit": [],
    "H5Pset_deflate": [ctypes.c_uint],
    "H5Pset_chunk_opts": [ctypes.c_uint],
}

# Message kinds a shared-message index may hold (H5O_SHMESG_*_FLAG).
SHARE_DATASPACE, SHARE_DATATYPE, SHARE_FILL, SHARE_PIPELINE, SHARE_ATTRIBUTE = 0x2, 0x8, 0x20, 0x800, 0x1000
DONT_FILTER_PARTIAL_CHUNKS = 0x2


def _load():
    libs = os.path.join(os.path.dirname(h5py.__file__), os.pardir, "h5py.libs")
    found = sorted(glob.glob(os.path.join(libs, "libhdf5-*.so*")))
    if not found:
        return None
    lib = ctypes.CDLL(found[0])
    for name, args in _SIGNATURES.items():
        fn = getattr(lib, name)
        fn.argtypes = [ctypes.c_int64] + args
        fn.restype = ctypes.c_int
    return lib


lib = _load()


class Refused(Exception):
    """libhdf5 refused a setter's arguments: not one of the RuntimeErrors h5py raises for
    libhdf5's own failures while writing, which make_file.py draws again."""


def call(name, plist, *args):
    """Calls the setter `name` on an h5py property list."""
    if getattr(lib, name)(plist.id, *args) < 0:
        raise Refused(f"{name}{args}")


def utf8_lcpl():
    """A link creation property list marking names as UTF-8, as h5py's high-level API does."""
    lcpl = h5py.h5p.create(h5py.h5p.LINK_CREATE)
    lcpl.set_char_encoding(h5py.h5t.CSET_UTF8)
    return lcpl
