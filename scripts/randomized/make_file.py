#!/usr/bin/env python3
"""Write one randomized HDF5 file, reproducible from its seed, for differential tests.

Usage: python3 make_file.py SEED OUT.h5

Each seed draws the file's format knobs (library version bounds, user block, paged or default
file space, alignment, metadata block size, 4- or 8-byte offsets and lengths, tracked creation
order, shared object header messages, B-tree K values) and a random tree of groups (old-style,
compact or dense links, crowds of hundreds, tuned storage thresholds, deflated link heaps),
datasets (every datatype class h5py writes, both byte orders, compounds holding variable-length
strings and sequences, plus padded and UTF-8 fixed strings, bitfields
and integers of reduced precision; scalar, empty, null and 1-4 dimensional dataspaces; compact,
contiguous, external and chunked layouts with fixed or unlimited maxshape, so every chunk index
libhdf5 picks; deflate, shuffle, fletcher32, scale-offset, N-bit, LZF, szip and the hdf5plugin
filters, unfiltered edge chunks; fill values and fill times, unwritten chunks, resizes; virtual
datasets), attributes (compact, dense, large, of committed types), committed datatypes, object
and region references, dimension scales, soft, external and extra hard links (cycles too),
renames, and deletions of links and attributes that leave holes; datasets shrunk then grown.
Setters h5py does not wrap are called through lowlevel.py.
The file is what libhdf5 wrote: the oracle then reads it with h5py (shared corpus golden.py).
"""
import os
import signal
import sys
import time
import traceback

import h5py
import numpy as np

try:  # the filters outside libhdf5's own set; without it those are not drawn
    import hdf5plugin
except ImportError:
    hdf5plugin = None

import lowlevel
from lowlevel import call

LIBVERS = [("earliest", "latest"), ("v108", "latest"), ("v110", "latest"), ("latest", "latest")]
ENDIAN = "<>"


def has_vlen(dt):
    """Whether dt holds variable-length data anywhere (strings, sequences, references), which
    rules out external storage, fill time "never" and some filters."""
    if dt.kind == "O" or h5py.check_vlen_dtype(dt) is not None:
        return True
    if dt.names:
        return any(has_vlen(dt[n]) for n in dt.names)
    return dt.subdtype is not None and has_vlen(dt.subdtype[0])


class Maker:
    def __init__(self, seed, stem):
        self.r = np.random.default_rng(seed)
        self.stem = stem  # the file's name, which files beside it (external, VDS sources) extend
        self.dense_attrs = False  # large attributes need the v1.8 format or later
        self.references = True
        self.unlimited = True
        self.count = 0
        self.datasets = []
        self.groups = ["/"]
        self.types = []

    def pick(self, items):
        return items[int(self.r.integers(len(items)))]

    def chance(self, p):
        return self.r.random() < p

    def name(self, prefix):
        """A unique link or attribute name: mostly short ASCII, some UTF-8, some long enough
        to need a 2-byte name length in link messages."""
        self.count += 1
        roll = self.r.random()
        if roll < 0.08:
            return f"{prefix}{self.count}_ünïcødé_名前"
        if roll < 0.11:
            return f"{prefix}{self.count}_" + "x" * int(self.r.integers(250, 400))
        if roll < 0.14:
            return f"{prefix}{self.count} with spaces.and.dots"
        return f"{prefix}{self.count}"

    # ---- datatypes and values ------------------------------------------------------------

    def numeric(self):
        e = self.pick(ENDIAN)
        kind = self.pick(["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f2", "f4", "f8"])
        return np.dtype(e + kind)

    def dtype(self, depth=0):
        """A random numpy dtype h5py can store; depth bounds nesting of compounds."""
        roll = self.r.random()
        if roll < 0.45 or depth > 1:
            return self.numeric()
        if roll < 0.5:
            return np.dtype(self.pick(ENDIAN) + self.pick(["c8", "c16"]))
        if roll < 0.55:
            return np.dtype(bool)
        if roll < 0.62:
            return np.dtype(f"S{int(self.r.integers(1, 12))}")
        if roll < 0.7:
            return h5py.string_dtype(self.pick(["utf-8", "ascii"]))
        if roll < 0.75:
            base = self.pick(["i1", "u1", "i2", "i4", "u8"])
            names = {f"E{i}": int(v) for i, v in enumerate(self.r.choice(100, 4, replace=False))}
            return h5py.enum_dtype(names, basetype=np.dtype(self.pick(ENDIAN) + base))
        if roll < 0.8:
            # Little-endian base only: h5py hands back big-endian vlen elements unswapped, a
            # known defect of the oracle (shared/conformance/SPEC.md §11).
            # (Not sequences of compounds: h5py 3.16 crashes writing arrays of them.)
            return h5py.vlen_dtype(self.numeric().newbyteorder("<"))
        if roll < 0.85:
            return np.dtype(f"V{int(self.r.integers(1, 9))}")
        if roll < 0.9:
            shape = tuple(int(x) for x in self.r.integers(1, 4, int(self.r.integers(1, 3))))
            # Arrays of strings only inside compounds (h5py cannot write a dataset of them),
            # ASCII as there (one conversion serves both character sets).
            base = h5py.string_dtype("ascii") if depth and self.chance(0.3) else self.numeric()
            return np.dtype((base, shape))
        if roll < 0.93:
            return h5py.ref_dtype if self.references else self.numeric()
        fields = []
        for i in range(int(self.r.integers(1, 5))):
            t = self.dtype(depth + 1)
            if t is h5py.ref_dtype or h5py.check_ref_dtype(t) is not None:
                t = self.numeric()  # references are filled in only at top level
            elif h5py.check_string_dtype(t) is not None and t.kind == "O":
                # ASCII only: h5py converts every compound whose only difference is a string
                # member's character set as the first one it met, failing on UTF-8 text.
                t = h5py.string_dtype("ascii")
            fields.append((f"f{i}", t))
        return np.dtype(fields)

    def values(self, dt, shape):
        """Random values of dtype dt in an array of shape."""
        n = int(np.prod(shape, dtype=np.int64))
        if h5py.check_string_dtype(dt) is not None and dt.kind == "O":
            enc = h5py.check_string_dtype(dt).encoding
            words = ["", "a", "coh5", "photon", "ÅTL03" if enc == "utf-8" else "ATL03", "x" * 40]
            out = np.empty(n, dtype=object)
            for i in range(n):
                out[i] = self.pick(words) + str(int(self.r.integers(1000)))
            return out.reshape(shape)
        base = h5py.check_vlen_dtype(dt)
        if base is not None:
            out = np.empty(n, dtype=object)
            for i in range(n):
                out[i] = self.values(base, (int(self.r.integers(0, 5)),))
            return out.reshape(shape)
        if dt is h5py.ref_dtype or (dt.kind == "O" and h5py.check_ref_dtype(dt) is not None):
            return None  # filled in once targets exist
        enum = h5py.check_enum_dtype(dt)
        if enum is not None:
            return self.r.choice(list(enum.values()), n).astype(dt).reshape(shape)
        if dt.names:
            out = np.zeros(shape, dtype=dt)
            for f in dt.names:
                out[f] = self.values(dt[f], shape)
            return out
        if dt.subdtype is not None:
            sub, sshape = dt.subdtype
            return self.values(sub, tuple(shape) + sshape)
        if dt.kind in "iu":
            info = np.iinfo(dt)
            return self.r.integers(info.min, info.max, n, endpoint=True, dtype=dt.newbyteorder("=")).astype(dt).reshape(shape)
        if dt.kind == "f":
            v = self.r.normal(0, 1000, n)
            if self.chance(0.2) and n:
                v[self.r.integers(n)] = self.pick([np.nan, np.inf, -np.inf, -0.0])
            return v.astype(dt).reshape(shape)
        if dt.kind == "c":
            return (self.r.normal(0, 10, n) + 1j * self.r.normal(0, 10, n)).astype(dt).reshape(shape)
        if dt.kind == "b":
            return self.r.integers(0, 2, n).astype(bool).reshape(shape)
        if dt.kind in "SV":
            raw = self.r.integers(0, 256, n * dt.itemsize, dtype=np.uint8)
            if dt.kind == "S":
                raw = self.r.integers(32, 127, n * dt.itemsize, dtype=np.uint8)
            return np.frombuffer(raw.tobytes(), dtype=dt).reshape(shape).copy()
        raise ValueError(dt)

    # ---- objects -------------------------------------------------------------------------

    def shape(self):
        rank = self.pick([0, 1, 1, 1, 2, 2, 3, 4])
        if rank == 0:
            return ()
        limit = {1: 3000, 2: 70, 3: 20, 4: 8}[rank]
        return tuple(int(self.r.integers(0 if self.chance(0.08) else 1, limit)) for _ in range(rank))

    def attrs(self, obj, many=False):
        count = int(self.r.integers(12, 30)) if many else int(self.r.integers(0, 4))
        for _ in range(count):
            dt = self.dtype()
            if dt is h5py.ref_dtype:
                dt = self.numeric()
            name = self.name("attr")
            if self.chance(0.1):
                obj.attrs.create(name, h5py.Empty(self.numeric()))
                continue
            shape = self.pick([(), (1,), (int(self.r.integers(1, 20)),), (2, 3)])
            if self.dense_attrs and self.chance(0.03) and dt.kind in "iuf":
                shape = (int(self.r.integers(9000, 20000)),)  # larger than a header message may hold
            obj.attrs.create(name, self.values(dt, shape), dtype=dt)
        if count and self.chance(0.15):
            for _ in range(int(self.r.integers(1, count + 1))):
                del obj.attrs[self.pick(list(obj.attrs))]  # holes in the header or dense heap

    def dataset(self, group):
        dt = self.dtype()
        shape = self.shape()
        name = self.name("d")
        if self.chance(0.04):
            ds = group.create_dataset(name, dtype=dt if dt.kind != "O" else "i4", shape=None, data=h5py.Empty("i4") if dt.kind == "O" else None)
            self.attrs(ds)
            return
        kw = {}
        layout = self.pick(["contiguous", "chunked", "chunked", "chunked", "compact"])
        nbytes = int(np.prod(shape, dtype=np.int64)) * max(dt.itemsize, 16)
        if layout == "compact" and (nbytes > 30000 or shape == () or dt.kind == "O"):
            layout = "contiguous"
        if layout == "chunked" and shape != ():
            kw["chunks"] = tuple(max(1, int(self.r.integers(1, max(2, s + 1)))) for s in shape)
            if self.unlimited and (self.chance(0.5) or 0 in shape):
                # An empty extent needs room to grow into.
                kw["maxshape"] = tuple(None if s == 0 or self.chance(0.5) else s for s in shape)
            elif 0 in shape:
                kw["maxshape"] = tuple(max(s, 4) for s in shape)
            simple = not has_vlen(dt)
            if self.chance(0.5):
                kw["compression"] = self.pick(["gzip", "lzf"] if simple else ["gzip"])
                if kw["compression"] == "gzip":
                    kw["compression_opts"] = int(self.r.integers(1, 10))
            elif simple and self.chance(0.4):
                kw.update(self.plugin_filter(dt, int(np.prod(kw["chunks"]))))
            if simple and self.chance(0.3):
                kw["shuffle"] = True
            if simple and self.chance(0.2):
                kw["fletcher32"] = True
            plain_int = dt.kind in "iu" and h5py.check_enum_dtype(dt) is None
            if simple and plain_int and self.chance(0.15):
                kw["scaleoffset"] = 0
                kw.pop("fletcher32", None)
            if simple and dt.kind == "f" and dt.itemsize >= 4 and self.chance(0.1):
                kw["scaleoffset"] = int(self.r.integers(1, 4))  # lossy: decimal digits kept
                kw.pop("fletcher32", None)
            if kw.get("compression") == "szip":
                # libaec drops the bytes past the last whole 32/64-bit pixel (libhdf5 then
                # returns whatever its buffer held), and scale-offset leaves such byte counts.
                kw.pop("scaleoffset", None)
        if dt.kind in "iuf" and dt.names is None and self.chance(0.3):
            kw["fillvalue"] = self.values(dt, ())[()]
            if "scaleoffset" in kw and dt.kind == "f" and not np.isfinite(kw["fillvalue"]):
                del kw["fillvalue"]  # libhdf5's float scale-offset fails on a NaN/inf fill
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        if self.chance(0.2):
            dcpl.set_alloc_time(self.pick([h5py.h5d.ALLOC_TIME_EARLY, h5py.h5d.ALLOC_TIME_INCR]))
        if not has_vlen(dt) and self.chance(0.1):
            dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)  # libhdf5 refuses it for vlen types
        if self.dense_attrs and self.chance(0.1):
            dcpl.set_attr_phase_change(0, 0)  # attributes go to dense storage from the first
        kw["dcpl"] = dcpl
        kw["track_times"] = self.chance(0.3)
        kw["track_order"] = self.chance(0.2)
        stored = int(np.prod(shape, dtype=np.int64)) > 0
        if layout == "contiguous" and stored and not has_vlen(dt) and self.chance(0.1):
            n = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
            half = n // 2
            ext = f"{self.stem}.x{self.count}"  # not the link name, which may be long or UTF-8
            if half:
                kw["external"] = [(f"{ext}.a.raw", 0, half), (f"{ext}.b.raw", 16, n - half)]
            else:  # a size of 0 would mean "to the end of the file"
                kw["external"] = [(f"{ext}.a.raw", 8, n)]
            kw.pop("fillvalue", None)
        if layout == "compact":
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_layout(h5py.h5d.COMPACT)
            space = h5py.h5s.create_simple(shape) if shape else h5py.h5s.create(h5py.h5s.SCALAR)
            tid = h5py.h5t.py_create(dt, logical=True)
            dsid = h5py.h5d.create(group.id, name.encode(), tid, space, dcpl=dcpl)
            ds = h5py.Dataset(dsid)
            data = self.values(dt, shape)
            if data is not None:
                ds[...] = data
        elif "chunks" in kw and lowlevel.lib is not None and self.chance(0.12) \
                and not has_vlen(dt):
            ds = self.lowlevel_chunked(group, name, shape, dt, kw)
        else:
            ds = group.create_dataset(name, shape=shape, dtype=dt, **kw)
            data = self.values(dt, shape)
            if data is not None and int(np.prod(shape, dtype=np.int64)):
                if "chunks" in kw and self.chance(0.3) and shape[0] > 1:
                    ds[: shape[0] // 2] = data[: shape[0] // 2]  # later chunks stay unwritten
                elif "external" in kw:
                    try:
                        ds[...] = data
                    except OSError:
                        # libhdf5 sometimes cannot open the external files it was given (some
                        # file creation properties); such a dataset is not part of the file.
                        del group[name]
                        return
                else:
                    ds[...] = data
            if "maxshape" in kw and self.chance(0.15):
                # Shrinking drops the chunks past the new extent and fills the cut-off part of
                # edge chunks, so growing again (below) must show fill values there.
                ds.resize(tuple(int(self.r.integers(0, s + 1)) for s in ds.shape))
            if "maxshape" in kw and self.chance(0.3):
                grow = tuple(
                    s + int(self.r.integers(0, 5)) if m is None else s
                    for s, m in zip(shape, kw["maxshape"])
                )
                ds.resize(grow)
        if dt is h5py.ref_dtype:
            self.datasets.append((ds, "ref"))
        self.attrs(ds, many=self.chance(0.05))
        self.datasets.append((ds, None))

    def lowlevel_chunked(self, group, name, shape, dt, kw):
        """A chunked dataset made through the low-level API, for what h5py's keywords cannot
        say: the N-bit filter (ahead of deflate and shuffle) and edge chunks stored
        unfiltered. Only the filters libhdf5 carries are drawn here."""
        dcpl = kw["dcpl"]
        dcpl.set_chunk(kw["chunks"])
        if self.chance(0.6):
            call("H5Pset_nbit", dcpl)
        if self.chance(0.4):
            dcpl.set_shuffle()
        if self.chance(0.6):
            dcpl.set_deflate(int(self.r.integers(1, 10)))
        if self.chance(0.2):
            dcpl.set_fletcher32()
        if self.chance(0.5):
            # Layout message version 4 holds the flag, so it needs the v1.10 format or later.
            try:
                call("H5Pset_chunk_opts", dcpl, lowlevel.DONT_FILTER_PARTIAL_CHUNKS)
            except lowlevel.Refused:
                pass
        if "fillvalue" in kw:
            dcpl.set_fill_value(np.array(kw["fillvalue"], dtype=dt))
        maxshape = kw.get("maxshape")
        if maxshape is not None:
            maxshape = tuple(h5py.h5s.UNLIMITED if m is None else m for m in maxshape)
        space = h5py.h5s.create_simple(shape, maxshape)
        tid = h5py.h5t.py_create(dt, logical=True)
        dsid = h5py.h5d.create(group.id, name.encode(), tid, space, dcpl=dcpl, lcpl=lowlevel.utf8_lcpl())
        return h5py.Dataset(dsid)

    def plugin_filter(self, dt, chunk_elements):
        """Keyword arguments for one of the filters outside libhdf5's own set (szip through
        libaec; Blosc, Blosc2, Zstandard, LZ4, Bitshuffle and bzip2 through hdf5plugin)."""
        choices = []
        if h5py.h5z.filter_avail(h5py.h5z.FILTER_SZIP) and dt.names is None and dt.subdtype is None \
                and dt.kind in "iuf" and dt.itemsize <= 8 and chunk_elements >= 8:
            choices.append("szip")
        if hdf5plugin is not None:
            choices += ["blosc", "blosc2", "zstd", "lz4", "bitshuffle", "bzip2"]
        if not choices:
            return {}
        which = self.pick(choices)
        if which == "szip":
            block = self.pick([b for b in (8, 16, 32) if b <= chunk_elements])
            return {"compression": "szip", "compression_opts": (self.pick(["nn", "ec"]), block)}
        if which == "blosc":
            return dict(hdf5plugin.Blosc(cname=self.pick(["lz4", "blosclz", "zlib", "zstd"]),
                                         clevel=int(self.r.integers(1, 9)),
                                         shuffle=self.pick([0, 1, 2])))
        if which == "blosc2":
            return dict(hdf5plugin.Blosc2(cname=self.pick(["lz4", "blosclz", "zstd"]),
                                          clevel=int(self.r.integers(1, 9)),
                                          filters=self.pick([0, 1, 2])))
        if which == "zstd":
            return dict(hdf5plugin.Zstd(clevel=int(self.r.integers(1, 20))))
        if which == "lz4":
            return dict(hdf5plugin.LZ4(nbytes=self.pick([0, 64, 4096])))
        if which == "bitshuffle":
            return dict(hdf5plugin.Bitshuffle(cname=self.pick(["none", "lz4", "zstd"])))
        return dict(hdf5plugin.BZip2(blocksize=int(self.r.integers(1, 10))))

    def special_dataset(self, group):
        """Types h5py's numpy mapping cannot produce: space- and null-terminated fixed
        strings, fixed UTF-8 strings, bitfields, integers using only some of their bits
        (precision, offset and padding), written through the low-level API; the last are
        N-bit compressed when libhdf5's setter is at hand."""
        kind = self.pick(["spacepad", "nullterm", "utf8", "bitfield", "precision"])
        n = int(self.r.integers(1, 40))
        space = h5py.h5s.create_simple((n,))
        dcpl = None
        if kind == "bitfield":
            size = self.pick([1, 2, 4, 8])
            tid = {1: h5py.h5t.STD_B8LE, 2: h5py.h5t.STD_B16BE, 4: h5py.h5t.STD_B32LE, 8: h5py.h5t.STD_B64BE}[size].copy()
            data = self.r.integers(0, 255, n * size, dtype=np.uint8)
            mem = np.frombuffer(data.tobytes(), dtype=f"V{size}")
            mtype = tid
        elif kind == "precision":
            size = self.pick([1, 2, 4, 8])
            signed = self.chance(0.5)
            # libhdf5 returns the raw byte of a reduced-precision 1-byte type marked big-endian
            # (padding bits and all), and refuses as "unusual" types using under a byte less
            # than their size.
            order = self.pick(["LE", "BE"]) if size > 1 else "LE"
            tid = getattr(h5py.h5t, f"STD_{'I' if signed else 'U'}{size * 8}{order}").copy()
            fewest = max(2 if signed else 1, 8 * (size - 1))
            precision = int(self.r.integers(fewest, size * 8 + 1))
            tid.set_precision(precision)
            tid.set_offset(int(self.r.integers(0, size * 8 - precision + 1)))
            pads = [h5py.h5t.PAD_ZERO, h5py.h5t.PAD_ONE]
            tid.set_pad(self.pick(pads), self.pick(pads))
            bits = precision - 1 if signed else precision
            low, high = (-(1 << bits), (1 << bits) - 1) if signed else (0, min((1 << bits) - 1, 2**63 - 1))
            mem = self.r.integers(low, high, n, endpoint=True, dtype=np.int64)
            mtype = h5py.h5t.NATIVE_INT64
            if lowlevel.lib is not None and self.chance(0.6):
                dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
                dcpl.set_chunk((int(self.r.integers(1, n + 1)),))
                call("H5Pset_nbit", dcpl)
        else:
            size = int(self.r.integers(1, 12))
            tid = h5py.h5t.C_S1.copy()
            tid.set_size(size)
            tid.set_strpad({"spacepad": h5py.h5t.STR_SPACEPAD, "nullterm": h5py.h5t.STR_NULLTERM}.get(kind, h5py.h5t.STR_NULLPAD))
            if kind == "utf8":
                tid.set_cset(h5py.h5t.CSET_UTF8)
            raw = self.r.integers(97, 123, n * size, dtype=np.uint8)
            if kind == "nullterm":
                raw.reshape(n, size)[:, -1] = 0
            mem = np.frombuffer(raw.tobytes(), dtype=f"S{size}")
            mtype = tid
        dsid = h5py.h5d.create(group.id, self.name("s").encode(), tid, space, dcpl=dcpl)
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(mem), mtype=mtype)
        aid = h5py.h5a.create(dsid, self.name("sa").encode(), tid, space)
        aid.write(np.ascontiguousarray(mem), mtype=mtype)

    def crowd(self, parent):
        """A group of hundreds of links: multi-level symbol-table B-trees in old-style groups,
        fractal heaps with indirect blocks in dense ones."""
        g = parent.create_group(self.name("crowd"), track_order=self.chance(0.5))
        for _ in range(int(self.r.integers(100, 400))):
            if self.chance(0.7):
                g.create_group(self.name("c"))
            else:
                g[self.name("s")] = h5py.SoftLink("/")
        self.groups.append(g.name)

    def group(self, parent, depth):
        name = self.name("g")
        track = self.chance(0.3)
        if lowlevel.lib is not None and self.chance(0.25):
            g = self.tuned_group(parent, name, track)
        else:
            g = parent.create_group(name, track_order=track, track_times=self.chance(0.3))
        self.groups.append(g.name)
        self.attrs(g, many=self.chance(0.1))
        self.fill(g, depth + 1)

    def tuned_group(self, parent, name, track):
        """A group with non-default storage: when links move between compact and dense
        storage, the estimated link count and name length, the local heap's size, a deflated
        fractal heap for dense links."""
        gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
        if track:
            gcpl.set_link_creation_order(h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED)
        if self.chance(0.6):
            call("H5Pset_link_phase_change", gcpl, *self.pick([(0, 0), (2, 1), (16, 8), (100, 90)]))
        if self.chance(0.4):
            call("H5Pset_est_link_info", gcpl, self.pick([1, 30, 500]), self.pick([2, 18, 200]))
        if self.chance(0.4):
            call("H5Pset_local_heap_size_hint", gcpl, self.pick([0, 16, 4096]))
        if self.chance(0.3):
            call("H5Pset_deflate", gcpl, int(self.r.integers(1, 10)))  # the dense link heap's blocks
        h5py.h5g.create(parent.id, name.encode(), lcpl=lowlevel.utf8_lcpl(), gcpl=gcpl)
        return parent[name]

    def fill(self, group, depth):
        wide = self.chance(0.15)
        for _ in range(int(self.r.integers(10, 25)) if wide else int(self.r.integers(1, 6))):
            roll = self.r.random()
            if roll < 0.55:
                self.dataset(group)
            elif roll < 0.75 and depth < 4:
                self.group(group, depth)
            elif roll < 0.8:
                t = self.dtype()
                if t.kind != "O" and self.chance(0.9):
                    name = self.name("t")
                    group[name] = t
                    self.types.append(group[name])
                    if self.chance(0.3):
                        self.attrs(group[name])
            elif roll < 0.87:
                group[self.name("soft")] = h5py.SoftLink(self.pick(self.groups) if self.chance(0.8) else "/nowhere")
            elif roll < 0.9:
                group[self.name("ext")] = h5py.ExternalLink("other.h5", "/some/path")
            elif roll < 0.95:
                self.special_dataset(group)
            elif roll < 0.96:
                self.crowd(group)

    def finish(self, f):
        # Typed datasets using committed datatypes.
        for t in self.types[:3]:
            ds = f.create_dataset(self.name("typed"), shape=(4,), dtype=t)
            if t.dtype.kind != "O":
                ds[...] = self.values(t.dtype, (4,))
        objects = [ds for ds, kind in self.datasets if kind is None]
        for ds, kind in self.datasets:
            if kind == "ref" and ds.shape and int(np.prod(ds.shape)):
                targets = [f[g].ref for g in self.groups] + [o.ref for o in objects[:20]]
                refs = np.empty(ds.shape, dtype=object)
                flat = refs.reshape(-1)
                for i in range(flat.size):
                    flat[i] = self.pick(targets) if self.chance(0.85) else h5py.Reference()
                ds[...] = refs
        # Attributes of committed types, and region references into numeric datasets.
        for t in self.types[:2]:
            plain = t.dtype.kind in "iufc" and h5py.check_enum_dtype(t.dtype) is None
            if plain and t.dtype.names is None and t.dtype.subdtype is None:
                f.attrs.create(self.name("tattr"), self.values(t.dtype, (3,)), dtype=t)
        regions = [o for o in objects if o.ndim in (1, 2) and o.size and o.dtype.kind in "iuf"]
        if self.references and regions and self.chance(0.3):
            n = int(self.r.integers(1, 8))
            ds = f.create_dataset(self.name("regions"), (n,), dtype=h5py.regionref_dtype)
            for i in range(n):
                o = self.pick(regions)
                lo = [int(self.r.integers(0, d)) for d in o.shape]
                hi = [int(self.r.integers(a + 1, d + 1)) for a, d in zip(lo, o.shape)]
                ds[i] = o.regionref[tuple(slice(a, b) for a, b in zip(lo, hi))]
            self.datasets.append((ds, "ref"))
        if self.references:
            self.dimension_scales(objects)
        self.virtual(f, objects)
        if any(kind == "ref" for _, kind in self.datasets):
            # What a reference to a removed or multiply linked object names is libhdf5's
            # accident (shared/conformance/SPEC.md §8), so such files keep their tree.
            return
        # Extra hard links, then deletions that leave holes.
        for _ in range(int(self.r.integers(0, 3))):
            if objects:
                f[self.name("hard")] = self.pick(objects)
        if len(self.groups) > 1 and self.chance(0.3):
            # A second hard link to a group, perhaps an ancestor: the hierarchy has a cycle.
            f[self.pick(self.groups)][self.name("up")] = f[self.pick(self.groups)]
        names = list(f.keys())
        if names and self.chance(0.3):
            f.move(self.pick(names), self.name("moved"))
        for _ in range(int(self.r.integers(0, 3))):
            names = list(f.keys())
            if len(names) > 2:
                del f[self.pick(names)]

    def file_knobs(self, fcpl):
        """Shared object header messages (indexes kept as lists or v2 B-trees, messages
        stored once in a fractal heap) and non-default B-tree K values (node sizes of
        old-style group and chunk B-trees)."""
        if self.chance(0.2):
            kinds = [lowlevel.SHARE_DATASPACE, lowlevel.SHARE_DATATYPE, lowlevel.SHARE_FILL,
                     lowlevel.SHARE_PIPELINE, lowlevel.SHARE_ATTRIBUTE]
            n = int(self.r.integers(1, 4))
            flags = [0] * n
            for k in kinds:
                if self.chance(0.8):
                    flags[int(self.r.integers(n))] |= k
            call("H5Pset_shared_mesg_nindexes", fcpl, n)
            for i, f in enumerate(flags):
                call("H5Pset_shared_mesg_index", fcpl, i, f, int(self.pick([1, 8, 40, 200])))
            call("H5Pset_shared_mesg_phase_change", fcpl, *self.pick([(50, 40), (3, 2), (0, 0)]))
        if self.chance(0.15):
            call("H5Pset_sym_k", fcpl, self.pick([2, 4, 16, 64]), self.pick([1, 2, 4, 16]))
        if self.chance(0.15):
            call("H5Pset_istore_k", fcpl, self.pick([2, 4, 8, 64]))

    def dimension_scales(self, objects):
        """netCDF-4 style dimension scales: DIMENSION_LIST (vlen of object references) on the
        data, REFERENCE_LIST (compound of reference and index) and CLASS/NAME on the scale."""
        users = [o for o in objects if o.ndim >= 1 and o.size and o.dtype.kind != "O"]
        if not users or not self.chance(0.5):
            return
        made = {}
        for ds in users[:5]:
            axis = int(self.r.integers(ds.ndim))
            n = ds.shape[axis]
            if n not in made:
                parent = ds.parent
                scale = parent.create_dataset(self.name("dim"), data=np.arange(n, dtype=self.numeric()))
                scale.make_scale(self.pick(["", "x", "time", "lat"]))
                made[n] = scale
                self.datasets.append((scale, "ref"))  # its REFERENCE_LIST points at the users
            ds.dims[axis].attach_scale(made[n])

    def virtual(self, f, objects):
        """A virtual dataset stitching 1-D numeric datasets of this file end to end."""
        parts = [
            ds for ds in objects
            if ds.ndim == 1 and ds.dtype.kind in "iuf" and ds.dtype.names is None
            and h5py.check_enum_dtype(ds.dtype) is None and ds.shape[0] > 0
        ]
        if not parts or not self.chance(0.4):
            return
        dt = parts[0].dtype
        parts = [ds for ds in parts if ds.dtype == dt][:4]
        total = sum(ds.shape[0] for ds in parts) + int(self.r.integers(0, 5))
        layout = h5py.VirtualLayout(shape=(total,), dtype=dt)
        at = 0
        for ds in parts:
            layout[at : at + ds.shape[0]] = h5py.VirtualSource(".", ds.name, shape=ds.shape)
            at += ds.shape[0]
        f.create_virtual_dataset(self.name("vds"), layout, fillvalue=dt.type(7))
        if self.chance(0.5):
            # Sources in another file beside this one, named relative to it.
            other = f"{self.stem}.src.h5"
            with h5py.File(other, "w") as src:
                src["data"] = self.values(dt, (int(self.r.integers(1, 50)),))
                n = src["data"].shape[0]
            layout = h5py.VirtualLayout(shape=(2, n), dtype=dt)
            layout[0] = h5py.VirtualSource(other, "data", shape=(n,))
            layout[1, : n // 2] = h5py.VirtualSource(other, "data", shape=(n,))[: n // 2]
            f.create_virtual_dataset(self.name("vdsx"), layout, fillvalue=dt.type(3))


def make(seed, path):
    path = os.path.abspath(path)
    os.chdir(os.path.dirname(path))  # external raw-data files go beside the file, by name
    m = Maker(seed, os.path.basename(path))
    low, high = m.pick(LIBVERS)
    m.dense_attrs = low != "earliest"
    bounds = {"earliest": h5py.h5f.LIBVER_EARLIEST, "v108": h5py.h5f.LIBVER_V18,
              "v110": h5py.h5f.LIBVER_V110, "latest": h5py.h5f.LIBVER_LATEST}
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(bounds[low], bounds[high])
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    userblock = m.pick([512, 1024, 4096]) if m.chance(0.2) else 0
    paged = m.chance(0.25)
    if paged:
        page = m.pick([512, 4096, 65536])
        fcpl.set_file_space_strategy(h5py.h5f.FSPACE_STRATEGY_PAGE, m.chance(0.5), 1)
        fcpl.set_file_space_page_size(page)
        if userblock:  # libhdf5 wants the user block to cover the page alignment
            userblock = max(userblock, page)
    elif m.chance(0.15):
        alignment = m.pick([512, 4096])
        fapl.set_alignment(m.pick([1, 1024]), alignment)
        if userblock:
            userblock = max(userblock, alignment)
    if userblock:
        fcpl.set_userblock(userblock)
    if m.chance(0.2):
        fapl.set_meta_block_size(m.pick([512, 8192]))
    if m.chance(0.15):
        # (2-byte addresses: libhdf5 writes files it cannot open again.)
        offsets, lengths = m.pick([4, 8]), m.pick([4, 8])
        fcpl.set_sizes(offsets, lengths)
        # libhdf5 cannot open a dataset with an unlimited dimension it wrote with 4-byte
        # lengths ("didn't find unlimited dimension"): the oracle would have no answer.
        m.unlimited = lengths == 8
        # libhdf5 2.0 stores object references at 8 bytes whatever the address size, while
        # the datatype says the address size: readers that follow the datatype disagree.
        m.references = offsets == 8
    if lowlevel.lib is not None:
        m.file_knobs(fcpl)
    if m.chance(0.3):
        order = h5py.h5p.CRT_ORDER_TRACKED | h5py.h5p.CRT_ORDER_INDEXED
        fcpl.set_link_creation_order(order)
        fcpl.set_attr_creation_order(order)
    fid = h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fapl=fapl, fcpl=fcpl)
    with h5py.File(fid) as f:
        m.attrs(f, many=m.chance(0.15))
        m.fill(f, 0)
        m.finish(f)


def walkable(path):
    """Whether libhdf5 can visit every object of the file it wrote. With shared messages it
    sometimes leaves a NULL message flagged shareable in a header, then refuses to open that
    object ("message of unshareable class flagged as shareable") or to name any object a
    reference points at: the oracle has no answer for such a file."""
    try:
        with h5py.File(path, "r") as f:
            f.visit(lambda name: None)
        return True
    except (OSError, RuntimeError, KeyError, ValueError):
        return False


ATTEMPT_S = 60


def attempt(seed, out):
    """Writes the file in a child process: True when libhdf5 could walk it, False when it
    failed writing it, could not walk it or hung (closing some paged files with persistent
    free space and 512-byte pages never returns); other exceptions, the generator's own
    mistakes, end the run."""
    pid = os.fork()
    if pid == 0:
        try:
            make(seed, out)
            os._exit(0 if walkable(out) else 3)
        except RuntimeError:
            # libhdf5's internal failures while writing (resizing some chunk indexes, closing:
            # "record not found"); h5py raises other types for what the generator gets wrong.
            traceback.print_exc()
            os._exit(3)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
    deadline = time.monotonic() + ATTEMPT_S
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            if code not in (0, 3):
                sys.exit(f"make_file.py failed on seed {seed}")
            return code == 0
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return False


if __name__ == "__main__":
    seed, out = int(sys.argv[1]), os.path.abspath(sys.argv[2])
    # A file libhdf5 fails writing, hangs on or cannot walk is drawn again, reproducibly.
    if not any(attempt(seed if n == 0 else [seed, n], out) for n in range(5)):
        sys.exit(f"seed {seed}: libhdf5 failed five draws")
