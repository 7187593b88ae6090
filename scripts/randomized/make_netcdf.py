#!/usr/bin/env python3
"""Write one randomized netCDF-4 file through the netCDF-C library (netCDF4-python), for the
same differential test as make_file.py: what NASA data producers' tools write, not what h5py
writes.

Usage: python3 make_netcdf.py SEED OUT.nc

The netCDF layer adds what plain h5py files lack: creation-order-tracked groups and attributes,
dimension scales with hidden dimension datasets (`_nc4_non_coord_`), `_NCProperties`,
`_Netcdf4Dimid` and `_Netcdf4Coordinates` attributes, variables growing along unlimited
dimensions, string (vlen) and char variables, user-defined compound, enum and vlen types, and
netCDF-C's filters: deflate, Zstandard and bzip2 through its own plugins, quantization
(BitGroom, BitRound, GranularBitRound), either byte order.
"""
import sys
import warnings

import netCDF4
import numpy as np

NUMERIC = ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f4", "f8"]


class Maker:
    def __init__(self, seed):
        self.r = np.random.default_rng(seed)
        self.count = 0
        self.classic = False  # NETCDF4_CLASSIC: netCDF-3 types and plain text attributes only

    def pick(self, items):
        return items[int(self.r.integers(len(items)))]

    def chance(self, p):
        return self.r.random() < p

    def name(self, prefix):
        self.count += 1
        return f"{prefix}{self.count}"

    def values(self, kind, shape):
        n = int(np.prod(shape, dtype=np.int64))
        dt = np.dtype(kind)
        if dt.kind in "iu":
            info = np.iinfo(dt)
            return self.r.integers(info.min // 2, info.max // 2, n, dtype=np.int64).astype(dt).reshape(shape)
        return self.r.normal(0, 100, n).astype(dt).reshape(shape)

    def attrs(self, obj):
        for _ in range(int(self.r.integers(0, 6))):
            name = self.name("att")
            roll = self.r.random()
            if roll < 0.5:
                kind = self.pick(["i1", "i2", "i4", "f4", "f8"] if self.classic else NUMERIC)
                v = self.values(kind, (int(self.r.integers(1, 6)),))
                obj.setncattr(name, v if len(v) > 1 else v[0])
            elif roll < 0.8 or self.classic:
                obj.setncattr(name, self.pick(["", "metres", "ATL03 photon heights", "ünïcødé"]))
            else:
                obj.setncattr_string(name, ["a", "bb", self.name("s")])

    def variable(self, g, dims, types):
        kind = self.r.random()
        use = [d for d in dims if self.chance(0.6)][:3] or dims[:1]
        while int(np.prod([max(len(d), 30) for d in use])) > 200_000:
            use = use[:-1]
        names = tuple(d.name for d in use)
        kw = {}
        if self.chance(0.6):
            # netCDF-C's own filter plugins write their parameters their own way, not
            # hdf5plugin's. (Not its Blosc: it fails on any chunk it cannot compress.)
            kw["compression"] = self.pick(["zlib", "zlib", "zstd", "bzip2"])
            kw["complevel"] = int(self.r.integers(1, 9))
            kw["shuffle"] = self.chance(0.5)
        if self.chance(0.2):
            kw["fletcher32"] = True
        if self.chance(0.3) and not any(d.isunlimited() for d in use):
            kw["contiguous"] = not kw.get("compression") and not kw.get("fletcher32")
        elif self.chance(0.5):
            kw["chunksizes"] = [max(1, int(self.r.integers(1, max(2, len(d) + 1)))) if len(d) else 1 for d in use]
        if kind < 0.7:
            t = self.pick(NUMERIC)
            if self.chance(0.3):
                kw["fill_value"] = self.values(t, ())[()]
            if t[0] == "f" and self.chance(0.3):
                # Quantization zeroes low mantissa bits before compression (CF's lossy mode).
                kw["significant_digits"] = int(self.r.integers(1, 7))  # netCDF-C refuses 7 for f4
                kw["quantize_mode"] = self.pick(["BitGroom", "BitRound", "GranularBitRound"])
            if self.chance(0.3):
                kw["endian"] = self.pick(["little", "big"])
            v = g.createVariable(self.name("v"), t, names, **kw)
            shape = tuple(len(d) if not d.isunlimited() else int(self.r.integers(0, 30)) for d in use)
            if all(shape):
                v[tuple(slice(0, s) for s in shape)] = self.values(t, shape)
        elif kind < 0.8:
            v = g.createVariable(self.name("str"), str, names)
            shape = tuple(len(d) if not d.isunlimited() else int(self.r.integers(1, 5)) for d in use)
            data = np.array([self.pick(["", "x", "photon", "ünï"]) + str(i) for i in range(int(np.prod(shape)))], dtype=object)
            v[tuple(slice(0, s) for s in shape)] = data.reshape(shape)
        elif types and kind < 0.95:
            t = self.pick(types)
            v = g.createVariable(self.name("u"), t, names)
            shape = tuple(len(d) if not d.isunlimited() else int(self.r.integers(1, 5)) for d in use)
            n = int(np.prod(shape))
            if isinstance(t, netCDF4.CompoundType):
                data = np.zeros(n, t.dtype)
                for f in t.dtype.names:
                    data[f] = self.values(t.dtype[f].str, (n,))
            elif isinstance(t, netCDF4.EnumType):
                data = np.array(self.r.choice(list(t.enum_dict.values()), n), dtype=t.dtype)
            else:
                data = np.empty(n, object)
                for i in range(n):
                    data[i] = self.values(t.dtype.str, (int(self.r.integers(1, 4)),))
            v[tuple(slice(0, s) for s in shape)] = data.reshape(shape)
        else:
            v = g.createVariable(self.name("scalar"), self.pick(NUMERIC), ())
            v.assignValue(7)
        self.attrs(v)

    def group(self, g, depth):
        dims = []
        for i in range(int(self.r.integers(1, 4))):
            unlimited = self.chance(0.25)
            d = g.createDimension(self.name("dim"), None if unlimited else int(self.r.integers(1, 400)))
            dims.append(d)
            if self.chance(0.5):  # a coordinate variable: the dimension scale itself holds data
                c = g.createVariable(d.name, "f8", (d.name,))
                n = len(d) if not unlimited else int(self.r.integers(1, 20))
                c[:n] = np.arange(n, dtype="f8")
        types = []
        if self.chance(0.4):
            types.append(g.createCompoundType(np.dtype([("a", "<i4"), ("b", "<f8"), ("c", "u1")]), self.name("cmp")))
        if self.chance(0.3):
            types.append(g.createEnumType("u1", self.name("enum"), {"clear": 0, "cloud": 1, "other": 7}))
        if self.chance(0.3):
            types.append(g.createVLType("i2", self.name("vlen")))
        self.attrs(g)
        for _ in range(int(self.r.integers(1, 8))):
            self.variable(g, dims + [d for d in g.parent.dimensions.values()] if g.parent else dims, types)
        if depth < 3:
            for _ in range(int(self.r.integers(0, 3))):
                self.group(g.createGroup(self.name("grp")), depth + 1)


def make(seed, path):
    # The endian keyword overrides the native dtype it comes with, as intended.
    warnings.filterwarnings("ignore", "endian-ness of dtype and endian kwarg do not match")
    m = Maker(seed)
    fmt = "NETCDF4" if m.chance(0.9) else "NETCDF4_CLASSIC"
    with netCDF4.Dataset(path, "w", format=fmt) as nc:
        if fmt == "NETCDF4_CLASSIC":
            m.classic = True
            d = nc.createDimension("n", int(m.r.integers(1, 500)))
            for _ in range(int(m.r.integers(1, 6))):
                v = nc.createVariable(m.name("v"), m.pick(["i2", "i4", "f4", "f8"]), ("n",), zlib=m.chance(0.5))
                v[:] = m.values(v.dtype.str, (len(d),))
                m.attrs(v)
            m.attrs(nc)
        else:
            m.group(nc, 0)


if __name__ == "__main__":
    make(int(sys.argv[1]), sys.argv[2])
