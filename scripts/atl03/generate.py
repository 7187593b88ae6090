#!/usr/bin/env python3
"""Writes a synthetic but structurally faithful ICESat-2 ATL03 granule (v006 or v007 layout).

Real granules (1-8 GB) cannot be downloaded where coh5 is tested, so benchmarks, `coh5 subset` and
the conformance tests use granules made here. The structure comes from the distilled spec
(../shared/icesat2/ATL03_SPEC.md and atl03_spec_vars.json): every group and variable with its
dtype, chunking, filters, fill value, attributes (typed as the real files type them) and dimension
scales. The values are synthetic but keep the invariants readers rely on (ATL03_SPEC.md section 4):
photons sorted by time, photons of one laser pulse sharing delta_time, 1-based ph_index_beg with 0
for empty segments, reference photons whose time and position the segment rows repeat exactly.

The committed sample (samples/ATL03_sample.h5) was made with:

    python3 scripts/atl03/generate.py --variant v7 --photons-per-beam 10000 --track-km 80 \\
        --cross-at 0.9 --seed 7 -o samples/ATL03_sample.h5

Variants (the five layouts of Lopez et al. 2024 plus the released v7 layout, spec section 1/5):
  original       v006 as produced: superblock v0, no paging, 10,000-element chunks, compact scalars
  page-only-4mb  original content, paged aggregation with 4 MiB pages (as `h5repack -S PAGE -G`)
  page-only-8mb  the same with 8 MiB pages
  rechunked-4mb  4 MiB pages and photon-rate chunks of 100,000 elements
  rechunked-8mb  8 MiB pages and photon-rate chunks of 100,000 elements
  v7             rechunked-8mb plus the v007 schema: signal_class_ph, uint16 weight_ph, heights
                 `description` attribute, and no compact datasets (all made contiguous)

The paged variants are written directly by libhdf5 with paged aggregation (h5py's fs_strategy=
"page", fs_persist=True, fs_page_size) instead of by h5repack: paged aggregation keeps metadata in
metadata-only pages, the first of which holds the superblock, so while the metadata fits one page
it all sits at the front of the file, which is what NSIDC's `h5repack -S PAGE -G <size>` gives.
Because this writer never deletes or rewrites data there is nothing for v7's final defragmenting
h5repack pass to remove. Only Python 3, numpy and h5py are needed.
"""
import argparse
import datetime
import json
import math
import os
import sys
import uuid
import zlib

import h5py
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_SPEC = os.path.join(REPO, "..", "shared", "icesat2", "atl03_spec_vars.json")

MIB = 1024 * 1024
VARIANTS = {
    # name: (page size or None, photon-rate chunk length, keep compact datasets, v007 schema)
    "original": (None, 10_000, True, False),
    "page-only-4mb": (4 * MIB, 10_000, True, False),
    "page-only-8mb": (8 * MIB, 10_000, True, False),
    "rechunked-4mb": (4 * MIB, 100_000, True, False),
    "rechunked-8mb": (8 * MIB, 100_000, True, False),
    "v7": (8 * MIB, 100_000, False, True),
}
BEAMS = ("gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r")
# signal_find_output subgroup per surf_type column (the group is "inlandwater", no underscore).
SFO_GROUPS = ("land", "ocean", "sea_ice", "land_ice", "inlandwater")
# Datasets of this raw size or less are COMPACT in v006 (spec section 1: the largest is 240 B).
COMPACT_MAX = 240
SEGMENT_LENGTH = 20.0058  # metres, one geolocation segment (spec section 4)
PRF = 10_000.0  # laser pulses per second
ORBIT_PERIOD = 5_678.0  # seconds, ICESat-2's ~94.6 min orbit
INCLINATION = math.radians(92.0)
EARTH_RADIUS = 6_371_008.8
EARTH_ROTATION = 7.2921159e-5  # rad/s
GROUND_SPEED = EARTH_RADIUS * 2 * math.pi / ORBIT_PERIOD  # ~7.05 km/s, so ~0.705 m per pulse
SDP_GPS_EPOCH = 1198800018.0  # GPS seconds at 2018-01-01T00:00:00Z (ATLAS SDP epoch)
SDP_EPOCH = datetime.datetime(2018, 1, 1, tzinfo=datetime.timezone.utc)
FLT_MAX = float(np.finfo(np.float32).max)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--variant", choices=sorted(VARIANTS), default="v7")
    ap.add_argument("--photons-per-beam", type=int, default=20_000,
                    help="photons in each of the six beams (real granules: 1e7-5e7)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bbox", default="-66.5,-68.5,-66.0,-67.0",
                    help="lon_min,lat_min,lon_max,lat_max the ground track must cross through its "
                         "centre (default: the seed workflow's box)")
    ap.add_argument("--cross-at", type=float, default=0.5,
                    help="fraction of the granule's length at which it crosses the box centre")
    ap.add_argument("--track-km", type=float, default=None,
                    help="along-track length; default gives ~150 photons per 20 m segment")
    ap.add_argument("--direction", choices=("ascending", "descending"), default="descending")
    ap.add_argument("--sc-orient", choices=("forward", "backward"), default="forward")
    ap.add_argument("--start-delta-time", type=float, default=59_000_000.0,
                    help="seconds since 2018-01-01 (the ATLAS SDP epoch) of the first pulse")
    ap.add_argument("--spec", default=DEFAULT_SPEC, help="atl03_spec_vars.json")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args(argv)
    try:
        bbox = [float(v) for v in args.bbox.split(",")]
    except ValueError:
        ap.error("--bbox needs four numbers")
    if len(bbox) != 4 or bbox[0] >= bbox[2] or bbox[1] >= bbox[3]:
        ap.error("--bbox is lon_min,lat_min,lon_max,lat_max with min < max")
    if abs((bbox[1] + bbox[3]) / 2) > 88.0:
        ap.error("--bbox centre lies beyond ICESat-2's 88 degree latitude limit")
    if args.photons_per_beam < 1:
        ap.error("--photons-per-beam must be positive")
    if not 0.0 <= args.cross_at <= 1.0:
        ap.error("--cross-at is a fraction in [0, 1]")
    args.bbox = bbox
    return args


# ----------------------------------------------------------------------------------------------
# Attributes, typed as spec section 6 says: fixed-length scalar ASCII strings (NULLTERM, size =
# strlen + 1), NULLPAD string arrays, numeric scalars and 1-D flag arrays.

DAP_DTYPES = {"Int8": "i1", "UInt8": "u1", "Int16": "<i2", "UInt16": "<u2", "Int32": "<i4",
              "UInt32": "<u4", "Int64": "<i8", "UInt64": "<u8", "Float32": "<f4", "Float64": "<f8"}
SPEC_NUMERIC = {"int8": "i1", "uint8": "u1", "int16": "<i2", "uint16": "<u2", "int32": "<i4",
                "uint32": "<u4", "int64": "<i8", "float32": "<f4", "float64": "<f8"}
# Written by h5py's dimension-scale API rather than copied.
DIMSCALE_ATTRS = ("DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME")
# Attributes whose numeric type is the dataset's own (spec section 6).
DATASET_TYPED = ("valid_min", "valid_max", "_FillValue")


def write_string_attr(obj, name, value, strpad="NULLTERM", size=None):
    values = [value] if isinstance(value, str) else list(value)
    raw = [v.encode("ascii", "replace") for v in values]
    if size is None:
        size = max(len(r) for r in raw) + (1 if strpad == "NULLTERM" else 0)
    size = max(size, 1)
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(size)
    tid.set_strpad(h5py.h5t.STR_NULLTERM if strpad == "NULLTERM" else h5py.h5t.STR_NULLPAD)
    tid.set_cset(h5py.h5t.CSET_ASCII)
    if isinstance(value, str):
        space = h5py.h5s.create(h5py.h5s.SCALAR)
        arr = np.array(raw[0], dtype=f"S{size}")
    else:
        space = h5py.h5s.create_simple((len(raw),))
        arr = np.array(raw, dtype=f"S{size}")
    bname = name.encode()
    if h5py.h5a.exists(obj.id, bname):
        h5py.h5a.delete(obj.id, bname)
    attr = h5py.h5a.create(obj.id, bname, tid, space)
    attr.write(arr, mtype=tid)


def write_numeric_attr(obj, name, value, dtype):
    arr = np.asarray(value, dtype=dtype)
    obj.attrs.create(name, arr, shape=arr.shape, dtype=arr.dtype)


def write_spec_attrs(obj, attrs, overrides=None, dset_dtype=None, rename=None):
    """Copies a spec attribute set onto obj; `overrides` replaces values (strings are resized)."""
    overrides = overrides or {}
    for name, a in attrs.items():
        if name in DIMSCALE_ATTRS:
            continue
        out = (rename or {}).get(name, name)
        if "dap_type" in a:  # v003 DMR record: types from DAP, values as text
            value = a["value"]
            if a["dap_type"] == "String":
                text = value if isinstance(value, str) else " ".join(value)
                write_string_attr(obj, out, overrides.get(name, text))
                continue
            dtype = DAP_DTYPES[a["dap_type"]]
            if name in DATASET_TYPED and dset_dtype is not None and dset_dtype.kind in "iuf":
                dtype = dset_dtype
            vals = value if isinstance(value, list) else [value]
            nums = [float(v) if np.dtype(dtype).kind == "f" else int(float(v)) for v in vals]
            v = overrides.get(name, nums[0] if len(nums) == 1 else nums)
            write_numeric_attr(obj, out, v, dtype)
            continue
        if a["type"] == "string":
            if name in overrides:
                write_string_attr(obj, out, overrides[name], a["strpad"])
            else:
                write_string_attr(obj, out, a["value"], a["strpad"], a["size"])
            continue
        dtype = SPEC_NUMERIC[a["type"]]
        if name in DATASET_TYPED and dset_dtype is not None and dset_dtype.kind in "iuf":
            dtype = dset_dtype
        write_numeric_attr(obj, out, overrides.get(name, a["value"]), dtype)


# ----------------------------------------------------------------------------------------------
# Ground track: a circular orbit of 92 degree inclination over a rotating sphere.

class Orbit:
    """Sub-satellite point as a function of delta_time, placed to cross (lat_c, lon_c) at t_c."""

    def __init__(self, lat_c, lon_c, t_c, ascending):
        s = math.sin(math.radians(lat_c)) / math.sin(INCLINATION)
        u_c = math.asin(max(-1.0, min(1.0, s)))
        if not ascending:
            u_c = math.pi - u_c
        self.n = 2 * math.pi / ORBIT_PERIOD
        self.u0 = u_c - self.n * t_c  # argument of latitude at delta_time 0
        lon_sat = math.atan2(math.cos(INCLINATION) * math.sin(u_c), math.cos(u_c))
        self.node = math.radians(lon_c) - lon_sat + EARTH_ROTATION * t_c

    def position(self, t, across=0.0):
        """(lat, lon) in degrees at times t, offset `across` metres to the right of the track."""
        u = self.u0 + self.n * np.asarray(t, dtype=np.float64)
        lat = np.arcsin(math.sin(INCLINATION) * np.sin(u))
        lon = self.node + np.arctan2(math.cos(INCLINATION) * np.sin(u), np.cos(u)) \
            - EARTH_ROTATION * np.asarray(t, dtype=np.float64)
        # Heading from the track's local derivative; offsets are small so a flat step suffices.
        dt = 0.01
        u2 = u + self.n * dt
        lat2 = np.arcsin(math.sin(INCLINATION) * np.sin(u2))
        lon2 = self.node + np.arctan2(math.cos(INCLINATION) * np.sin(u2), np.cos(u2)) \
            - EARTH_ROTATION * (np.asarray(t, dtype=np.float64) + dt)
        dlon = (lon2 - lon + np.pi) % (2 * np.pi) - np.pi
        az = np.arctan2(dlon * np.cos(lat), lat2 - lat)
        across = np.asarray(across, dtype=np.float64)
        lat_o = lat + across * np.cos(az + np.pi / 2) / EARTH_RADIUS
        lon_o = lon + across * np.sin(az + np.pi / 2) / (EARTH_RADIUS * np.cos(lat))
        lon_o = (lon_o + np.pi) % (2 * np.pi) - np.pi
        return np.degrees(lat_o), np.degrees(lon_o), np.degrees(az)

    def along_since_node(self, t):
        """Along-track distance (m) since the last ascending node, which numbers segments."""
        u = (self.u0 + self.n * np.asarray(t, dtype=np.float64)) % (2 * math.pi)
        return u * EARTH_RADIUS


# ----------------------------------------------------------------------------------------------
# Beam geometry (ATL03 user guide): spots 1,3,5 strong; PCE = (spot + 1) // 2; forward flight
# puts the weak spots on the left beams.

def beam_info(beam, orientation):
    pair = int(beam[2])
    left = beam[3] == "l"
    if orientation == "forward":
        spot = {"gt1l": 6, "gt1r": 5, "gt2l": 4, "gt2r": 3, "gt3l": 2, "gt3r": 1}[beam]
    else:
        spot = {"gt1l": 1, "gt1r": 2, "gt2l": 3, "gt2r": 4, "gt3l": 5, "gt3r": 6}[beam]
    strong = spot % 2 == 1
    # Pairs are ~3.3 km apart, beams in a pair ~90 m apart.
    across = (pair - 2) * 3_300.0 + (-45.0 if left else 45.0)
    return {"spot": spot, "strong": strong, "pce": (spot + 1) // 2, "pair": pair,
            "across": across}


def surface_of(frac):
    """surf_type flags (land, ocean, sea_ice, land_ice, inland_water) along the granule: an ice
    sheet margin, then sea ice, then open ocean, with a lake inside the land stretch."""
    flags = np.zeros((frac.size, 5), dtype=np.int8)
    land = frac < 0.45
    flags[land, 0] = 1
    flags[land & (frac > 0.05), 3] = 1
    lake = (frac > 0.30) & (frac < 0.33)
    flags[lake, 4] = 1
    flags[lake, 3] = 0
    sea = ~land
    flags[sea, 1] = 1
    flags[sea & (frac < 0.75), 2] = 1
    return flags


def surface_height(x, frac):
    """Smooth surface height (m) along track: an ice sheet sloping to the coast, flat ice/ocean."""
    ice_sheet = np.clip(0.45 - frac, 0, None) / 0.45
    h = 1800.0 * ice_sheet ** 0.6 + 25.0 * np.sin(x / 3_700.0) * ice_sheet
    h += np.where(frac >= 0.45, 0.35 * np.sin(x / 830.0) + 0.25 * (frac < 0.75), 0.0)
    h += np.where((frac > 0.30) & (frac < 0.33), -h + 420.0, 0.0)  # flat lake surface
    return h - 12.0  # heights are above the WGS84 ellipsoid; the geoid is ~-12 m here


# ----------------------------------------------------------------------------------------------

class Granule:
    def __init__(self, args, spec):
        self.args = args
        self.spec = spec
        (self.page, self.photon_chunk, self.compact, self.v7) = VARIANTS[args.variant]
        self.rng = np.random.default_rng(args.seed)
        n = args.photons_per_beam
        track_km = args.track_km if args.track_km else n / 150.0 * SEGMENT_LENGTH / 1000.0
        self.length = max(track_km * 1000.0, SEGMENT_LENGTH * 4)
        self.duration = self.length / GROUND_SPEED
        self.t0 = args.start_delta_time
        lon_c = (args.bbox[0] + args.bbox[2]) / 2
        lat_c = (args.bbox[1] + args.bbox[3]) / 2
        self.orbit = Orbit(lat_c, lon_c, self.t0 + args.cross_at * self.duration,
                           args.direction == "ascending")
        self.n_segments = int(self.length // SEGMENT_LENGTH)
        self.dx = GROUND_SPEED / PRF
        self.beams = {}
        self.lat_range = [90.0, -90.0]
        self.lon_range = [180.0, -180.0]

    # -- dataset creation ------------------------------------------------------------------

    def create(self, parent, name, data, rec, chunks=None, layout="chunked", scale=False):
        """Creates one dataset with the storage properties of its spec record `rec`."""
        dtype = np.asarray(data).dtype
        fill = rec.get("fillvalue")
        if fill is None:
            fv = rec["attrs"].get("_FillValue")
            fill = None if fv is None else (fv["value"] if "value" in fv else None)
            if isinstance(fill, list):
                fill = fill[0]
            if isinstance(fill, str):
                fill = float(fill)
        kw = {}
        if layout == "compact":
            dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            dcpl.set_layout(h5py.h5d.COMPACT)
            kw["dcpl"] = dcpl
        elif layout == "chunked":
            maxshape = tuple(None if i == 0 else s for i, s in enumerate(np.shape(data)))
            if "maxshape" in rec:
                maxshape = tuple(m for m in rec["maxshape"])
            kw.update(chunks=chunks, maxshape=maxshape, fill_time="ifset")
            filters = rec.get("filters")
            if filters is None:  # DMR record: the file-wide rule of spec section 3
                filters = [] if dtype.kind in "fS" else [{"id": 2}]
                filters = filters + [{"id": 1, "cd_values": [6]}]
            for flt in filters:
                if flt["id"] == 2:
                    kw["shuffle"] = True
                elif flt["id"] == 1:
                    kw["compression"] = "gzip"
                    kw["compression_opts"] = flt.get("cd_values", [6])[0]
        if fill is not None and dtype.kind in "iuf":
            kw["fillvalue"] = np.asarray(fill).astype(dtype)
        dset = parent.create_dataset(name, data=data, **kw)
        if scale:
            dset.make_scale(name)
        return dset

    # -- photons -----------------------------------------------------------------------------

    def make_beam(self, beam):
        args, rng = self.args, self.rng
        info = beam_info(beam, args.sc_orient)
        n = args.photons_per_beam
        seg_frac = (np.arange(self.n_segments) + 0.5) / self.n_segments
        surf = surface_of(seg_frac)
        # Photon density along track: uniform with two cloud gaps where mostly noise remains.
        weight = 1.0 + 0.4 * np.sin(seg_frac * 17.0 + info["spot"])
        clouds = ((seg_frac > 0.12) & (seg_frac < 0.14)) | ((seg_frac > 0.62) & (seg_frac < 0.65))
        weight[clouds] = 0.15
        seg_pulses = SEGMENT_LENGTH / self.dx
        pulse_count = int(self.n_segments * seg_pulses)
        pulse_seg = np.minimum((np.arange(pulse_count) / seg_pulses).astype(np.int64),
                               self.n_segments - 1)
        pw = weight[pulse_seg]
        pulse = np.sort(rng.choice(pulse_count, size=n, p=pw / pw.sum()))
        seg = pulse_seg[pulse]
        # Photons per pulse share the pulse's time exactly (spec section 4).
        t = self.t0 + pulse / PRF
        x = pulse * self.dx + rng.normal(0.0, 0.35, n)
        frac = seg_frac[seg]
        signal_fraction = 0.8 if info["strong"] else 0.55
        signal = (rng.random(n) < signal_fraction) & ~clouds[seg]
        surface = surface_height(x, frac)
        spread = np.where(surf[seg, 3] == 1, 0.25, 0.12)
        h = np.where(signal, surface + rng.normal(0.0, 1.0, n) * spread,
                     surface + rng.uniform(-150.0, 150.0, n))
        across = info["across"] + 6.0 * np.sin(x / 25_000.0) + rng.normal(0.0, 2.5, n)
        lat, lon, _ = self.orbit.position(t, across)
        along = (x - seg * SEGMENT_LENGTH).astype(np.float32)

        considered = surf[seg].astype(bool)
        near = np.abs(h - surface) < 10.0
        conf = np.full((n, 5), -1, dtype=np.int8)
        level = rng.choice(np.array([4, 3, 2], dtype=np.int8), size=n, p=[0.93, 0.04, 0.03])
        noise_level = np.where(near, np.int8(1), np.int8(0)).astype(np.int8)
        per_photon = np.where(signal, level, noise_level).astype(np.int8)
        for col in range(5):
            conf[considered[:, col], col] = per_photon[considered[:, col]]

        quality = np.zeros(n, dtype=np.int8)
        odd = rng.random(n) < 0.0015
        quality[odd] = rng.choice(np.array([1, 2, 3], dtype=np.int8), size=int(odd.sum()),
                                  p=[0.7, 0.2, 0.1])
        pce = info["pce"]
        channels = np.concatenate([np.arange(1, 21), np.arange(61, 81)]) + 20 * (pce - 1)
        # Strong spots use 16 of their PCE's detector channels, weak ones the other 4.
        own = np.concatenate([channels[:16], channels[20:36]]) if info["strong"] else \
            np.concatenate([channels[16:20], channels[36:40]])
        phase = int(rng.integers(0, 200))
        mframe0 = int(rng.integers(10_000_000, 50_000_000))
        photons = {
            "delta_time": t,
            "dist_ph_across": across.astype(np.float32),
            "dist_ph_along": along,
            "h_ph": h.astype(np.float32),
            "lat_ph": lat,
            "lon_ph": lon,
            "pce_mframe_cnt": (mframe0 + (pulse + phase) // 200).astype(np.uint32),
            "ph_id_channel": rng.choice(own, size=n).astype(np.uint8),
            "ph_id_count": rng.choice(np.array([1, 2, 3, 4], dtype=np.uint8), size=n,
                                      p=[0.9, 0.07, 0.02, 0.01]),
            "ph_id_pulse": ((pulse + phase) % 200 + 1).astype(np.uint8),
            "quality_ph": quality,
            "signal_conf_ph": conf,
        }
        w = np.where(signal, rng.normal(190, 30, n), rng.normal(25, 12, n))
        if self.v7:
            photons["weight_ph"] = np.clip(w * 40.0, 0, 65535).astype(np.uint16)
            cls = np.where(signal, rng.choice(np.array([4, 5, 1], dtype=np.int8), size=n,
                                              p=[0.7, 0.2, 0.1]),
                           np.where(near, np.int8(-1), np.int8(0))).astype(np.int8)
            photons["signal_class_ph"] = cls
        else:
            photons["weight_ph"] = np.clip(w, 0, 255).astype(np.uint8)

        # Segments (spec section 4): counts, 1-based first index (0 = no photons), middle photon
        # as reference photon.
        counts = np.bincount(seg, minlength=self.n_segments).astype(np.int32)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        has = counts > 0
        ph_index_beg = np.where(has, first + 1, 0).astype(np.int64)
        ref_in_seg = np.where(has, counts // 2 + 1, 0).astype(np.int32)
        ref = np.where(has, first + counts // 2, 0)
        seg_t_center = self.t0 + (np.arange(self.n_segments) + 0.5) * SEGMENT_LENGTH / GROUND_SPEED
        seg_lat_c, seg_lon_c, az = self.orbit.position(seg_t_center, info["across"])
        seg_t = np.where(has, t[ref], seg_t_center)
        ref_lat = np.where(has, lat[ref], seg_lat_c)
        ref_lon = np.where(has, lon[ref], seg_lon_c)
        node_dist = self.orbit.along_since_node(self.t0)
        seg_id0 = int(node_dist // SEGMENT_LENGTH) + 1
        self.lat_range = [min(self.lat_range[0], lat.min(), ref_lat.min()),
                          max(self.lat_range[1], lat.max(), ref_lat.max())]
        self.lon_range = [min(self.lon_range[0], lon.min(), ref_lon.min()),
                          max(self.lon_range[1], lon.max(), ref_lon.max())]
        return {
            "info": info, "photons": photons, "surf": surf, "counts": counts,
            "ph_index_beg": ph_index_beg, "ref_in_seg": ref_in_seg, "seg_t": seg_t,
            "ref_lat": ref_lat, "ref_lon": ref_lon, "az": az, "seg_id0": seg_id0,
            "seg_frac": seg_frac,
        }

    # -- segment, background and signal-finding rates ------------------------------------

    def segment_values(self, b):
        rng = self.rng
        m = self.n_segments
        s = np.arange(m, dtype=np.float64)
        slow = np.sin(s / 900.0)

        # Most segment-rate parameters are interpolated from slower ancillary data, so they are
        # smooth at float32 precision; `noise` adds the small measurement scatter some carry.
        def smooth(base, amp, noise, dtype="f4"):
            return (base + amp * slow + rng.normal(0.0, noise, m) * 0.05).astype(dtype)

        seg_id = (b["seg_id0"] + np.arange(m)).astype(np.int32)
        counts = b["counts"]
        surf = b["surf"]
        land_ice = surf[:, 3] == 1
        vel = np.stack([7_000.0 * np.sin(np.radians(b["az"])),
                        7_000.0 * np.cos(np.radians(b["az"])),
                        rng.normal(0.0, 0.05, m)], axis=1).astype(np.float32)
        geoloc = {
            "altitude_sc": 496_000.0 + 4_000.0 * slow + 0.001 * s,
            "bounce_time_offset": smooth(3.1e-6, 1e-8, 1e-10),
            "delta_time": b["seg_t"],
            "full_sat_fract": np.where(counts > 150, rng.random(m) * 0.05, 0).astype("f4"),
            "knn": np.minimum(counts, 20 + rng.integers(0, 5, m)).astype(np.int32),
            "near_sat_fract": np.where(counts > 100, rng.random(m) * 0.1, 0).astype("f4"),
            "neutat_delay_derivative": smooth(-0.00037, 1e-5, 1e-7),
            "neutat_delay_total": smooth(2.30, 0.02, 1e-4),
            "neutat_ht": smooth(0.0, 1.0, 0.01),
            "ph_index_beg": b["ph_index_beg"],
            "pitch": smooth(0.1, 0.01, 1e-4),
            "podppd_flag": np.zeros(m, dtype=np.int8),
            "range_bias_corr": smooth(0.0, 0.0, 1e-4),
            "ref_azimuth": np.radians(b["az"]).astype("f4"),
            "ref_elev": smooth(1.5707, 0.0002, 1e-5),
            "reference_photon_index": b["ref_in_seg"],
            "reference_photon_lat": b["ref_lat"],
            "reference_photon_lon": b["ref_lon"],
            "roll": smooth(0.02, 0.01, 1e-4),
            "segment_dist_x": (seg_id.astype(np.float64) - 1) * SEGMENT_LENGTH,
            "segment_id": seg_id,
            "segment_length": np.full(m, SEGMENT_LENGTH),
            "segment_ph_cnt": counts,
            "sigma_across": smooth(4.9, 0.1, 0.01),
            "sigma_along": smooth(4.9, 0.1, 0.01),
            "sigma_h": np.where(land_ice, smooth(0.35, 0.05, 0.01), smooth(0.09, 0.01, 0.005)),
            "sigma_lat": smooth(4.4e-5, 1e-6, 1e-8),
            "sigma_lon": smooth(1.2e-4, 3e-6, 1e-8),
            "solar_azimuth": smooth(110.0, 30.0, 0.001),
            "solar_elevation": smooth(12.0, 8.0, 0.001),
            "surf_type": surf,
            "tx_pulse_energy": smooth(3.6e-5 if b["info"]["strong"] else 9e-6, 1e-7, 1e-8),
            "tx_pulse_skew_est": smooth(1.5e-11, 1e-12, 1e-13),
            "tx_pulse_width_lower": smooth(7.1e-10, 1e-11, 1e-12),
            "tx_pulse_width_upper": smooth(8.9e-10, 1e-11, 1e-12),
            "velocity_sc": vel,
            "yaw": smooth(-0.5, 0.1, 1e-4),
        }
        geophys = {
            "dac": smooth(0.02, 0.05, 1e-3),
            "delta_time": b["seg_t"],
            "dem_flag": np.where(land_ice, 3, 1).astype(np.int8),
            "dem_h": (surface_height(np.arange(m) * SEGMENT_LENGTH, b["seg_frac"])
                      + rng.normal(0, 2.0, m)).astype("f4"),
            "geoid": smooth(-12.0, 3.0, 0.001),
            "geoid_free2mean": smooth(-0.02, 0.01, 1e-5),
            "tide_earth": smooth(-0.07, 0.05, 1e-5),
            "tide_earth_free2mean": smooth(-0.04, 0.01, 1e-5),
            "tide_equilibrium": smooth(0.005, 0.003, 1e-6),
            "tide_load": smooth(0.01, 0.01, 1e-5),
            "tide_oc_pole": smooth(0.0, 0.001, 1e-6),
            "tide_ocean": np.where(land_ice, FLT_MAX, smooth(0.3, 0.4, 1e-4)).astype("f4"),
            "tide_pole": smooth(0.002, 0.001, 1e-6),
        }
        return geoloc, geophys

    def background_values(self, b):
        rng = self.rng
        rows = max(int(self.duration / 0.005), 1)
        j = np.arange(rows, dtype=np.float64)
        rate = 2.0e6 + 1.5e6 * np.sin(j / 500.0) ** 2 + rng.normal(0, 5e4, rows)
        top = (1500.0 - j * 0.05).astype("f4")
        return {
            "bckgrd_counts": rng.poisson(rate * 0.005 * 1e-3 + 5).astype(np.int32),
            "bckgrd_counts_reduced": rng.poisson(rate * 0.005 * 8e-4 + 4).astype(np.int32),
            "bckgrd_hist_top": top,
            "bckgrd_int_height": np.full(rows, 900.0, dtype="f4"),
            "bckgrd_int_height_reduced": (850.0 + rng.normal(0, 5, rows)).astype("f4"),
            "bckgrd_rate": rate.astype("f4"),
            "delta_time": self.t0 + j * 0.005,
            "pce_mframe_cnt": (int(b["photons"]["pce_mframe_cnt"][0]) + (j // 4)).astype(np.int64),
            "tlm_height_band1": np.full(rows, 900.0, dtype="f4"),
            "tlm_height_band2": np.zeros(rows, dtype="f4"),
            "tlm_top_band1": top,
            "tlm_top_band2": np.zeros(rows, dtype="f4"),
        }

    def signal_find_values(self, b, col):
        """signal_find_output/<surface>: one row per 0.00657 s while that surface is considered."""
        rng = self.rng
        on = b["surf"][:, col] == 1
        if not on.any():
            t = np.zeros(0)
        else:
            seg_t = self.t0 + np.arange(self.n_segments) * SEGMENT_LENGTH / GROUND_SPEED
            t_all = np.arange(self.t0, self.t0 + self.duration, 0.00657)
            idx = np.minimum(np.searchsorted(seg_t, t_all, side="right") - 1,
                             self.n_segments - 1)
            t = t_all[on[idx]]
        k = t.size
        return {
            "bckgrd_mean": (2.0 + rng.gamma(2.0, 0.5, k)).astype("f4"),
            "bckgrd_sigma": (1.0 + rng.gamma(2.0, 0.2, k)).astype("f4"),
            "delta_time": t,
            "t_pc_delta": rng.normal(0.0, 1e-9, k).astype("f4"),
            "z_pc_delta": rng.normal(0.0, 0.1, k).astype("f4"),
        }

    # -- granule-level values ------------------------------------------------------------

    def utc(self, delta_time):
        moment = SDP_EPOCH + datetime.timedelta(seconds=float(delta_time))
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"

    def ancillary_value(self, path, shape, dtype):
        """Plausible constant values for the granule-level ancillary datasets."""
        rng = np.random.default_rng([zlib.crc32(path.encode()), self.args.seed])
        name = path.rsplit("/", 1)[1]
        t_end = self.t0 + self.duration
        rgt, cycle, orbit = 811, 5, 5470
        fixed = {
            "atlas_sdp_gps_epoch": SDP_GPS_EPOCH, "start_delta_time": self.t0,
            "end_delta_time": t_end, "start_rgt": rgt, "end_rgt": rgt, "rgt": rgt,
            "start_cycle": cycle, "end_cycle": cycle, "cycle_number": cycle,
            "start_orbit": orbit, "end_orbit": orbit, "orbit_number": orbit,
            "start_region": 12, "end_region": 12, "start_geoseg": 1_100_000,
            "end_geoseg": 1_100_000 + self.n_segments, "crossing_time": self.t0 - 1234.5,
            "sc_orient_time": self.t0 - 86_400.0,
            "sc_orient": 1 if self.args.sc_orient == "forward" else 0,
            "lan": 123.4, "qa_granule_pass_fail": 0, "qa_granule_fail_reason": 0,
            "delta_time": self.t0, "start_gpsweek": 2080, "end_gpsweek": 2080,
            "start_gpssow": (SDP_GPS_EPOCH + self.t0) % 604_800,
            "end_gpssow": (SDP_GPS_EPOCH + t_end) % 604_800, "tep_tod": self.t0 + 10.0,
        }
        if dtype.kind == "S":
            text = {"release": "006" if not self.v7 else "007", "version": "6" if not self.v7
                    else "7", "data_start_utc": self.utc(self.t0),
                    "data_end_utc": self.utc(t_end), "granule_start_utc": self.utc(self.t0),
                    "granule_end_utc": self.utc(t_end),
                    "control": "PGE atlas_l2a_alt control file, synthetic"}.get(name)
            if text is None:
                text = f"{name.upper()}_CAL_{path.split('/')[-2]}_20181001"
            return np.full(shape, text.encode("ascii"))
        if name in fixed:
            return np.full(shape, fixed[name], dtype=dtype)
        if name.startswith("ds_") or name in ("hist_x", "tep_hist_time"):
            if len(shape) == 1 and name in ("hist_x", "tep_hist_time"):
                return (np.arange(shape[0]) * 5e-11).astype(dtype)
            return np.arange(1, int(np.prod(shape)) + 1, dtype=dtype).reshape(shape)
        if dtype.kind in "iu":
            return rng.integers(0, 3, size=shape).astype(dtype)
        # Calibration lookup tables are smooth and tabulated at limited precision, so they
        # compress well; a smooth surface rounded to 4 decimals behaves alike.
        grid = np.indices(shape, dtype=np.float64).sum(axis=0) if shape else np.float64(0)
        scale = 1.0 + rng.random()
        return np.round(scale * (1.0 + 0.01 * np.sin(grid / 37.0)), 4).astype(dtype)

    # -- writing -------------------------------------------------------------------------

    def dims_of(self, rec):
        """(shape, dimension-scale paths or None per axis) of a DMR dataset record."""
        shape, scales = [], []
        for d in rec["dims"]:
            if d.startswith("/"):
                shape.append(self.scale_size(d))
                scales.append(d)
            else:
                shape.append(int(d))
                scales.append(None)
        return tuple(shape), scales

    def scale_size(self, path):
        if path in ("/ds_surf_type",):
            return 5
        if path == "/ds_xyz":
            return 3
        group, name = path.rsplit("/", 1)
        for dim_name, size in self.spec["groups"].get(group, {}).get("dims", []):
            if dim_name == name:
                return int(size)
        raise KeyError(f"no size for dimension scale {path}")

    def layout_for(self, nbytes):
        if nbytes <= COMPACT_MAX:
            return "compact" if self.compact else "contiguous"
        return "chunked"

    def write(self, out):
        spec = self.spec
        page = self.page
        kw = {}
        if page:
            kw = dict(fs_strategy="page", fs_persist=True, fs_page_size=page, fs_threshold=1)
        tmp = out + ".part"
        with h5py.File(tmp, "w", **kw) as f:
            self.write_root(f)
            for beam in BEAMS:
                b = self.make_beam(beam)
                self.beams[beam] = b
                self.write_beam(f, beam, b)
            self.write_granule_datasets(f)
            self.write_groups_attrs(f)
            self.write_root_attrs(f)
        os.replace(tmp, out)

    def write_root(self, f):
        for path in ("/ds_surf_type", "/ds_xyz"):
            rec = self.spec["datasets"][path]
            n = self.scale_size(path)
            layout = self.layout_for(4 * n)
            d = self.create(f, path[1:], np.arange(1, n + 1, dtype="<i4"), rec, layout=layout,
                            scale=True)
            write_spec_attrs(d, rec["attrs"], dset_dtype=d.dtype)

    def beam_records(self):
        for path, rec in self.spec["datasets"].items():
            if path.startswith("/gt1l/"):
                yield path[len("/gt1l/"):], rec
        if self.v7:
            yield "heights/signal_class_ph", self.signal_class_record()

    def signal_class_record(self):
        """v007's signal_class_ph (spec section 5; attribute texts are [INFER])."""
        delta = self.spec["v7_deltas"]["/gtX/heights/signal_class_ph"]

        def s(v):
            return {"type": "string", "strpad": "NULLTERM", "size": len(v) + 1, "value": v}
        return {
            "dtype": "|i1", "maxshape": [None], "fillvalue": 0, "rate": "photon",
            "filters": [{"id": 2, "cd_values": [1]}, {"id": 1, "cd_values": [6]}],
            "is_dimension_scale": False,
            "attrs": {
                "DIMENSION_LIST": {"value": [["/gt1l/heights/delta_time"]]},
                "contentType": s("qualityInformation"),
                "coordinates": s("delta_time lat_ph lon_ph"),
                "description": s("Classification of each photon event by the v7 signal finding: "
                                 "-1=ignored, 0=likely noise, 1=likely signal, 2=signal below "
                                 "surface, 3=signal above surface, 4=primary signal, 5=fitted "
                                 "signal."),
                "flag_meanings": s("ignored likely_noise likely_signal signal_below signal_above "
                                   "primary_signal fitted_signal"),
                "flag_values": {"type": "int8", "value": delta["flag_values"]},
                "long_name": s("Photon Signal Class"),
                "source": s("ATL03 ATBD, Section 5"),
                "units": s("1"),
                "valid_max": {"type": "int8", "value": 5},
                "valid_min": {"type": "int8", "value": -1},
            },
        }

    def write_beam(self, f, beam, b):
        geoloc, geophys = self.segment_values(b)
        values = {"heights": b["photons"], "geolocation": geoloc, "geophys_corr": geophys,
                  "bckgrd_atlas": self.background_values(b)}
        for col, group in enumerate(SFO_GROUPS):
            values[f"signal_find_output/{group}"] = self.signal_find_values(b, col)
        records = list(self.beam_records())
        # Dimension scales first so the other variables can attach to them.
        records.sort(key=lambda r: not (r[1].get("is_dimension_scale")
                                        or r[1].get("dims", [None])[0] == "/gt1l/" + r[0]))
        created = {}
        for rel, rec in records:
            group, name = rel.rsplit("/", 1)
            data = values[group][name]
            if rec.get("rate") == "photon":
                chunks = (self.photon_chunk,) + tuple(np.shape(data)[1:])
            elif "chunks" in rec:
                chunks = tuple(rec["chunks"])
            else:
                chunks = (10_000,) + tuple(np.shape(data)[1:])
            dtype = np.dtype(rec["dtype"])
            if self.v7 and rel == "heights/weight_ph":
                dtype = np.dtype("<u2")
            data = np.asarray(data).astype(dtype, copy=False)
            is_scale = bool(rec.get("is_dimension_scale")) or \
                rec.get("dims", [None])[0] == "/gt1l/" + rel
            d = self.create(f.require_group(f"{beam}/{group}"), name, data, rec, chunks=chunks,
                            scale=is_scale)
            write_spec_attrs(d, rec["attrs"], dset_dtype=dtype)
            created[rel] = d
        for rel, rec in records:
            d = created[rel]
            scales = self.beam_dim_scales(rel, rec)
            for axis, scale in enumerate(scales):
                if scale is not None:
                    target = f[scale] if scale.startswith("/ds_") else \
                        f[scale.replace("/gt1l/", f"/{beam}/")]
                    d.dims[axis].attach_scale(target)

    def beam_dim_scales(self, rel, rec):
        if rec.get("is_dimension_scale") or rec.get("dims", [None])[0] == "/gt1l/" + rel:
            return []
        if "dims" in rec:  # DMR record
            return [d if d.startswith("/") else None for d in rec["dims"]]
        group = rel.rsplit("/", 1)[0]
        scales = [f"/gt1l/{group}/delta_time"]
        name = rel.rsplit("/", 1)[1]
        if name in ("signal_conf_ph", "surf_type"):
            scales.append("/ds_surf_type")
        elif name == "velocity_sc":
            scales.append("/ds_xyz")
        return scales

    def write_granule_datasets(self, f):
        records = [(p, r) for p, r in self.spec["datasets"].items()
                   if not p.startswith("/gt1l/") and p not in ("/ds_surf_type", "/ds_xyz")]
        records.sort(key=lambda pr: pr[1]["dims"] != [pr[0]])
        made = {}
        for path, rec in records:
            shape, scales = self.dims_of(rec)
            if rec["dtype"].startswith("fixed-length string"):
                data = self.ancillary_value(path, shape, np.dtype("S1"))
                size = max(len(v) for v in data.reshape(-1)) + 1
                data = data.astype(f"S{size}")
            else:
                dtype = np.dtype(rec["dtype"])
                data = self.qa_value(path, shape, dtype)
                if data is None:
                    data = self.ancillary_value(path, shape, dtype)
            layout = self.layout_for(data.nbytes)
            chunks = None
            if layout == "chunked":
                chunks = tuple(min(s, 10_000) if i == 0 else s for i, s in enumerate(shape))
            group, name = path.rsplit("/", 1)
            parent = f.require_group(group or "/")
            d = self.create(parent, name, data, rec, chunks=chunks, layout=layout,
                            scale=scales == [path])
            write_spec_attrs(d, rec["attrs"], dset_dtype=data.dtype)
            made[path] = (d, scales)
        for path, (d, scales) in made.items():
            if scales == [path]:
                continue
            for axis, scale in enumerate(scales):
                if scale is not None:
                    d.dims[axis].attach_scale(f[scale])

    def qa_value(self, path, shape, dtype):
        """quality_assessment/gtXX totals and percentages computed from the photons written."""
        parts = path.split("/")
        if len(parts) != 4 or parts[1] != "quality_assessment" or parts[2] not in self.beams:
            return None
        b = self.beams[parts[2]]
        conf = b["photons"]["signal_conf_ph"]
        name = parts[3]
        levels = {"high": 4, "med": 3, "low": 2}
        if name == "qa_perc_surf_type":
            v = 100.0 * b["surf"].sum(axis=0) / max(self.n_segments, 1)
        else:
            level = levels[name.rsplit("_", 1)[1]]
            total = (conf == level).sum(axis=0)
            v = total if name.startswith("qa_total") else 100.0 * total / max(conf.shape[0], 1)
        return np.asarray(v, dtype=dtype).reshape(shape)

    def write_groups_attrs(self, f):
        for path, rec in self.spec["groups"].items():
            targets = [path]
            if path.startswith("/gt1l"):
                targets = [path.replace("/gt1l", f"/{beam}", 1) for beam in BEAMS]
            for target in targets:
                g = f.require_group(target)
                overrides, rename = {}, None
                if target.count("/") == 1 and target[1:] in self.beams:
                    info = self.beams[target[1:]]["info"]
                    overrides = {
                        "atlas_beam_type": "strong" if info["strong"] else "weak",
                        "atlas_pce": f"pce{info['pce']}",
                        "atlas_spot_number": str(info["spot"]),
                        "atmosphere_profile": f"profile_{info['pair']}",
                        "groundtrack_id": target[1:],
                        "sc_orientation": self.args.sc_orient.capitalize(),
                    }
                if self.v7 and target.endswith("/heights"):
                    rename = {"Description": "description"}
                write_spec_attrs(g, rec["attrs"], overrides=overrides, rename=rename)

    def write_root_attrs(self, f):
        rng = np.random.default_rng(self.args.seed)
        file_uuid = str(uuid.UUID(bytes=rng.bytes(16), version=4))
        t_end = self.t0 + self.duration
        created = "2023-03-29T16:25:54.000000Z" if not self.v7 else "2025-05-01T12:00:00.000000Z"
        overrides = {
            "date_created": created,
            "geospatial_lat_max": float(self.lat_range[1]),
            "geospatial_lat_min": float(self.lat_range[0]),
            "geospatial_lon_max": float(self.lon_range[1]),
            "geospatial_lon_min": float(self.lon_range[0]),
            "history": f"{created};{file_uuid};Created by PGE atlas_l2a_alt (synthetic: coh5 "
                       f"scripts/atl03/generate.py --variant {self.args.variant} --seed "
                       f"{self.args.seed})",
            "identifier_file_uuid": file_uuid,
            "time_coverage_duration": float(round(self.duration)),
            "time_coverage_start": self.utc(self.t0),
            "time_coverage_end": self.utc(t_end),
        }
        if self.v7:
            overrides.update({"identifier_product_doi": "doi:10.5067/ATLAS/ATL03.007",
                              "hdfversion": "HDF5 1.14.4",
                              "identifier_product_format_version": "5.0"})
        attrs = {k: v for k, v in self.spec["root_attrs"].items()
                 if k not in NON_ORIGINAL_ROOT_ATTRS}
        write_spec_attrs(f, attrs, overrides=overrides)


# Added by the harmony subsetter that produced the spec's v006 subset, not by the PGE.
NON_ORIGINAL_ROOT_ATTRS = ("Processing Parameters",)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    with open(args.spec) as fh:
        spec = json.load(fh)
    Granule(args, spec).write(args.output)


if __name__ == "__main__":
    main()
