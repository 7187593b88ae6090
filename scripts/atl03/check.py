#!/usr/bin/env python3
"""Verifies a granule written by generate.py against the ATL03 spec (atl03_spec_vars.json).

Checks, reading the file back through h5py/libhdf5 so that a wrong file cannot pass because the
generator and its checker share a mistake in memory:
  * every spec dataset (gt1l replicated to all six beams, v007 additions for --variant v7) is present
    and nothing else is; dtype, rank, layout (compact/contiguous/chunked), chunk shape, filter
    pipeline (shuffle with the element size, deflate level) and fill value are as the spec and the
    variant say;
  * every spec attribute is present with its type: fixed-length ASCII strings with the spec's padding
    (and size, where the value is the spec's), numeric attributes of the spec's or the dataset's type;
  * dimension scales are scales and the other datasets are attached to the right ones;
  * the photon/segment indexing of ATL03_SPEC.md section 4 holds exactly in every beam;
  * file-level: superblock version, file-space strategy and page size of the variant.

Prints a one-line summary per granule (size, page size, photon chunk, bytes of metadata before the
first raw data byte) and exits 1 listing the failures if any check fails.

    python3 scripts/atl03/check.py --variant v7 FILE [--spec atl03_spec_vars.json]
"""
import argparse
import json
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generate import (BEAMS, COMPACT_MAX, DEFAULT_SPEC, NON_ORIGINAL_ROOT_ATTRS,  # noqa: E402
                      VARIANTS)

LAYOUTS = {h5py.h5d.COMPACT: "compact", h5py.h5d.CONTIGUOUS: "contiguous",
           h5py.h5d.CHUNKED: "chunked"}
# Attribute values the generator sets per granule/beam instead of copying the spec's.
PER_GRANULE = {"date_created", "geospatial_lat_max", "geospatial_lat_min", "geospatial_lon_max",
               "geospatial_lon_min", "history", "identifier_file_uuid", "time_coverage_duration",
               "time_coverage_start", "time_coverage_end", "identifier_product_doi", "hdfversion",
               "identifier_product_format_version", "atlas_beam_type", "atlas_pce",
               "atlas_spot_number", "atmosphere_profile", "groundtrack_id", "sc_orientation"}
DIMSCALE_ATTRS = ("DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME")
DATASET_TYPED = ("valid_min", "valid_max", "_FillValue")
NUMERIC = {"int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4",
           "uint32": "u4", "int64": "i8", "float32": "f4", "float64": "f8",
           "Int8": "i1", "UInt8": "u1", "Int16": "i2", "UInt16": "u2", "Int32": "i4",
           "UInt32": "u4", "Int64": "i8", "UInt64": "u8", "Float32": "f4", "Float64": "f8"}


class Checker:
    def __init__(self, path, variant, spec):
        self.f = h5py.File(path, "r")
        self.path = path
        self.variant = variant
        self.page, self.photon_chunk, self.compact, self.v7 = VARIANTS[variant]
        self.spec = spec
        self.failures = []

    def fail(self, where, msg):
        self.failures.append(f"{where}: {msg}")

    # -- expected inventory ------------------------------------------------------------------

    def expected_datasets(self):
        out = {}
        for path, rec in self.spec["datasets"].items():
            if path.startswith("/gt1l/"):
                for beam in BEAMS:
                    out[path.replace("/gt1l/", f"/{beam}/", 1)] = (rec, path)
            else:
                out[path] = (rec, path)
        if self.v7:
            for beam in BEAMS:
                out[f"/{beam}/heights/signal_class_ph"] = (None, None)
        return out

    def run(self):
        expected = self.expected_datasets()
        found = {}
        self.f.visititems(lambda n, o: found.__setitem__("/" + n, o)
                          if isinstance(o, h5py.Dataset) else None)
        for missing in sorted(set(expected) - set(found)):
            self.fail(missing, "missing")
        for extra in sorted(set(found) - set(expected)):
            self.fail(extra, "not in the spec")
        for path in sorted(set(expected) & set(found)):
            rec, spec_path = expected[path]
            if rec is None:
                self.check_signal_class(found[path])
            else:
                self.check_dataset(path, found[path], rec, spec_path)
        self.check_groups()
        self.check_root()
        for beam in BEAMS:
            if f"/{beam}/heights/delta_time" in found:
                self.check_indexing(beam)
        self.check_file()
        return self.failures

    # -- datasets ------------------------------------------------------------------------------

    def expected_dtype(self, path, rec):
        if self.v7 and path.endswith("/heights/weight_ph"):
            return np.dtype("<u2")
        if rec["dtype"].startswith("fixed-length string"):
            return None
        return np.dtype(rec["dtype"])

    def check_dataset(self, path, d, rec, spec_path):
        dtype = self.expected_dtype(path, rec)
        if dtype is None:
            if d.dtype.kind != "S":
                self.fail(path, f"dtype {d.dtype}, expected a fixed-length string")
        elif d.dtype != dtype:
            self.fail(path, f"dtype {d.dtype}, expected {dtype}")
        dcpl = d.id.get_create_plist()
        layout = LAYOUTS.get(dcpl.get_layout(), "other")
        beam_var = spec_path.startswith("/gt1l/")
        if beam_var:
            want_layout = "chunked"
        elif d.nbytes <= COMPACT_MAX:
            want_layout = "compact" if self.compact else "contiguous"
        else:
            want_layout = "chunked"
        if layout != want_layout:
            self.fail(path, f"layout {layout}, expected {want_layout}")
        if "maxshape" in rec and list(d.maxshape) != rec["maxshape"]:
            self.fail(path, f"maxshape {d.maxshape}, expected {rec['maxshape']}")
        if "dims" in rec and len(d.shape) != len(rec["dims"]):
            self.fail(path, f"rank {len(d.shape)}, expected {len(rec['dims'])}")
        if layout == "chunked":
            if rec.get("rate") == "photon":
                want = (self.photon_chunk,) + tuple(d.shape[1:])
            elif "chunks" in rec:
                want = tuple(rec["chunks"])
            elif beam_var:
                want = (10_000,) + tuple(d.shape[1:])
            else:
                want = tuple(min(s, 10_000) if i == 0 else s for i, s in enumerate(d.shape))
            if d.chunks != want:
                self.fail(path, f"chunks {d.chunks}, expected {want}")
            self.check_filters(path, d, dcpl, rec)
        self.check_fill(path, d, rec)
        is_scale = bool(rec.get("is_dimension_scale")) or rec.get("dims") == [spec_path]
        if is_scale != d.is_scale:
            self.fail(path, f"is_scale {d.is_scale}, expected {is_scale}")
        self.check_attrs(path, d, rec["attrs"], d.dtype)
        self.check_dims(path, d, rec, spec_path)

    def check_filters(self, path, d, dcpl, rec):
        got = []
        for i in range(dcpl.get_nfilters()):
            code, flags, cd, _name = dcpl.get_filter(i)
            got.append((code, tuple(cd)))
        if "filters" in rec:
            want = [(flt["id"], tuple(flt["cd_values"])) for flt in rec["filters"]]
            if self.v7 and path.endswith("/heights/weight_ph"):
                want = [(2, (2,)) if code == 2 else (code, cd) for code, cd in want]
        else:  # DMR record: spec section 3's rule (floats deflate, integers shuffle+deflate)
            want = [] if d.dtype.kind in "fS" else [(2, (d.dtype.itemsize,))]
            want.append((1, (6,)))
        if got != want:
            self.fail(path, f"filters {got}, expected {want}")

    def check_fill(self, path, d, rec):
        if d.dtype.kind not in "iuf":
            return
        want = rec.get("fillvalue")
        if want is None:
            fv = rec["attrs"].get("_FillValue")
            want = 0 if fv is None else float(fv["value"][0] if isinstance(fv["value"], list)
                                              else fv["value"])
        got = d.fillvalue
        if not np.isclose(float(got), float(np.asarray(want).astype(d.dtype)), rtol=0, atol=0):
            self.fail(path, f"fill value {got}, expected {want}")

    def check_dims(self, path, d, rec, spec_path):
        if d.is_scale:
            return
        beam = path.split("/")[1]
        if "dims" in rec:
            want = [s if s.startswith("/") else None for s in rec["dims"]]
        elif "DIMENSION_LIST" in rec["attrs"]:
            group = spec_path.rsplit("/", 1)[0]
            want = [f"{group}/delta_time"]
            name = spec_path.rsplit("/", 1)[1]
            if name in ("signal_conf_ph", "surf_type"):
                want.append("/ds_surf_type")
            elif name == "velocity_sc":
                want.append("/ds_xyz")
        else:
            return
        for axis, scale in enumerate(want):
            if axis >= len(d.dims):
                break
            got = [s.name for s in d.dims[axis].values()]
            expect = [] if scale is None else [scale.replace("/gt1l/", f"/{beam}/", 1)]
            if got != expect:
                self.fail(path, f"dimension {axis} scales {got}, expected {expect}")

    def check_signal_class(self, d):
        path = d.name
        if d.dtype != np.dtype("i1") or d.chunks != (self.photon_chunk,):
            self.fail(path, f"dtype {d.dtype} chunks {d.chunks}")
        values = d[()]
        if values.size and (values.min() < -1 or values.max() > 5):
            self.fail(path, "values outside -1..5")
        for name in ("flag_values", "flag_meanings", "valid_min", "valid_max", "long_name"):
            if name not in d.attrs:
                self.fail(path, f"attribute {name} missing")

    # -- attributes ----------------------------------------------------------------------------

    def check_attrs(self, path, obj, attrs, dset_dtype=None, rename=None, skip=()):
        for name, a in attrs.items():
            if name in DIMSCALE_ATTRS or name in skip:
                continue
            name_in_file = (rename or {}).get(name, name)
            if name_in_file not in obj.attrs:
                self.fail(path, f"attribute {name_in_file} missing")
                continue
            aid = h5py.h5a.open(obj.id, name_in_file.encode())
            tid = aid.get_type()
            is_string = a.get("type") == "string" or a.get("dap_type") == "String"
            if is_string:
                if not isinstance(tid, h5py.h5t.TypeStringID) or tid.is_variable_str():
                    self.fail(path, f"attribute {name} is not a fixed-length string")
                    continue
                pad = tid.get_strpad()
                want_pad = h5py.h5t.STR_NULLPAD if a.get("strpad") == "NULLPAD" \
                    else h5py.h5t.STR_NULLTERM
                if pad != want_pad:
                    self.fail(path, f"attribute {name} string padding {pad}")
                if tid.get_cset() != h5py.h5t.CSET_ASCII:
                    self.fail(path, f"attribute {name} is not ASCII")
                if "size" in a and name not in PER_GRANULE and tid.get_size() != a["size"]:
                    self.fail(path, f"attribute {name} size {tid.get_size()}, want {a['size']}")
                value = obj.attrs[name_in_file]
                if name not in PER_GRANULE and a.get("type") == "string" and a.get("shape") == \
                        "scalar" and value.decode("ascii") != a["value"]:
                    self.fail(path, f"attribute {name} value differs from the spec")
                continue
            kind = a.get("type") or a.get("dap_type")
            want = np.dtype(NUMERIC[kind])
            if name in DATASET_TYPED and dset_dtype is not None and dset_dtype.kind in "iuf":
                want = dset_dtype
            got = obj.attrs[name_in_file]
            if np.asarray(got).dtype != want.newbyteorder("="):
                self.fail(path, f"attribute {name} dtype {np.asarray(got).dtype}, want {want}")

    def check_groups(self):
        for path, rec in self.spec["groups"].items():
            targets = [path.replace("/gt1l", f"/{b}", 1) for b in BEAMS] \
                if path.startswith("/gt1l") else [path]
            for target in targets:
                if target not in self.f or not isinstance(self.f[target], h5py.Group):
                    self.fail(target, "group missing")
                    continue
                rename = {"Description": "description"} \
                    if self.v7 and target.endswith("/heights") else None
                self.check_attrs(target, self.f[target], rec["attrs"], rename=rename)

    def check_root(self):
        attrs = {k: v for k, v in self.spec["root_attrs"].items()
                 if k not in NON_ORIGINAL_ROOT_ATTRS}
        self.check_attrs("/", self.f, attrs)
        for name in NON_ORIGINAL_ROOT_ATTRS:
            if name in self.f.attrs:
                self.fail("/", f"attribute {name} is the subsetter's, not the PGE's")

    # -- spec section 4 ------------------------------------------------------------------------

    def check_indexing(self, beam):
        h = self.f[f"{beam}/heights"]
        g = self.f[f"{beam}/geolocation"]
        t = h["delta_time"][()]
        lat, lon = h["lat_ph"][()], h["lon_ph"][()]
        n = t.size
        where = f"/{beam}"
        beg = g["ph_index_beg"][()]
        cnt = g["segment_ph_cnt"][()]
        ref = g["reference_photon_index"][()]
        if np.any(np.diff(t) < 0):
            self.fail(where, "heights/delta_time is not monotonic")
        if np.any(np.diff(g["delta_time"][()]) < 0):
            self.fail(where, "geolocation/delta_time is not monotonic")
        if int(cnt.sum()) != n:
            self.fail(where, f"sum(segment_ph_cnt) {int(cnt.sum())} != photons {n}")
        has = cnt > 0
        if np.any((beg == 0) != ~has):
            self.fail(where, "ph_index_beg is 0 exactly where segment_ph_cnt is 0 fails")
            return
        starts = beg[has] - 1
        want_starts = np.concatenate([[0], np.cumsum(cnt[has])[:-1]])
        if not np.array_equal(starts, want_starts):
            self.fail(where, "ph_index_beg is not the 1-based running start of each segment")
            return
        if np.any(ref[has] < 1) or np.any(ref[has] > cnt[has]) or np.any(ref[~has] != 0):
            self.fail(where, "reference_photon_index outside its segment")
            return
        idx = beg[has] - 1 + ref[has] - 1
        if not np.array_equal(g["delta_time"][()][has], t[idx]):
            self.fail(where, "segment delta_time != reference photon delta_time")
        if not np.array_equal(g["reference_photon_lat"][()][has], lat[idx]) or \
                not np.array_equal(g["reference_photon_lon"][()][has], lon[idx]):
            self.fail(where, "reference_photon_lat/lon != the reference photon's lat_ph/lon_ph")
        seg_id = g["segment_id"][()]
        if seg_id.size and np.any(np.diff(seg_id) != 1):
            self.fail(where, "segment_id is not sequential")
        conf = h["signal_conf_ph"][()]
        if conf.shape != (n, 5) or (n and (conf.min() < -2 or conf.max() > 4)):
            self.fail(where, f"signal_conf_ph shape {conf.shape} or values out of -2..4")
        # A surface column is -1 exactly where the photon's segment does not flag that surface.
        seg_of_photon = np.repeat(np.arange(cnt.size), cnt)
        surf = g["surf_type"][()][seg_of_photon].astype(bool)
        if np.any((conf == -1) != ~surf):
            self.fail(where, "signal_conf_ph is -1 where surf_type does not flag the surface")
        pulse = h["ph_id_pulse"][()]
        if n and (pulse.min() < 1 or pulse.max() > 200):
            self.fail(where, "ph_id_pulse outside 1..200")
        chan = h["ph_id_channel"][()]
        if n and (chan.min() < 1 or chan.max() > 120):
            self.fail(where, "ph_id_channel outside 1..120")
        # Photons sharing a pulse (same major frame and pulse id) share delta_time.
        frame = h["pce_mframe_cnt"][()].astype(np.int64) * 200 + pulse
        same = frame[1:] == frame[:-1]
        if np.any(t[1:][same] != t[:-1][same]):
            self.fail(where, "photons of one pulse have different delta_time")

    # -- file level ----------------------------------------------------------------------------

    def check_file(self):
        fcpl = self.f.id.get_create_plist()
        superblock = fcpl.get_version()[0]
        strategy, persist, _threshold = fcpl.get_file_space_strategy()
        page = fcpl.get_file_space_page_size()
        if self.page is None:
            if superblock != 0:
                self.fail("file", f"superblock v{superblock}, expected v0 like v006")
            if strategy == h5py.h5f.FSPACE_STRATEGY_PAGE:
                self.fail("file", "paged, expected the default strategy")
        else:
            if superblock < 2:
                self.fail("file", f"superblock v{superblock}, paged files need v2+")
            if strategy != h5py.h5f.FSPACE_STRATEGY_PAGE or not persist:
                self.fail("file", f"strategy {strategy} persist {persist}, expected PAGE+persist")
            if page != self.page:
                self.fail("file", f"page size {page}, expected {self.page}")

    def summary(self):
        fcpl = self.f.id.get_create_plist()
        first, compact = None, 0

        def visit(_name, o):
            nonlocal first, compact
            if not isinstance(o, h5py.Dataset):
                return
            layout = o.id.get_create_plist().get_layout()
            offsets = []
            if layout == h5py.h5d.CHUNKED:
                o.id.chunk_iter(lambda ci: offsets.append(ci.byte_offset))
            elif layout == h5py.h5d.CONTIGUOUS and o.id.get_offset() is not None:
                offsets.append(o.id.get_offset())
            elif layout == h5py.h5d.COMPACT:
                compact += 1
            if offsets:
                first = min(offsets) if first is None else min(first, min(offsets))

        self.f.visititems(visit)
        page = fcpl.get_file_space_page_size() if self.page else None
        return {
            "file": os.path.basename(self.path), "variant": self.variant,
            "bytes": os.path.getsize(self.path), "superblock": fcpl.get_version()[0],
            "page_size": page, "photon_chunk": self.f["gt1l/heights/h_ph"].chunks[0],
            "photons_per_beam": int(self.f["gt1l/heights/h_ph"].shape[0]),
            "compact_datasets": compact, "metadata_bytes_before_first_raw_byte": first,
        }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("--variant", choices=sorted(VARIANTS), required=True)
    ap.add_argument("--spec", default=DEFAULT_SPEC)
    args = ap.parse_args(argv)
    with open(args.spec) as fh:
        spec = json.load(fh)
    checker = Checker(args.file, args.variant, spec)
    failures = checker.run()
    print(json.dumps(checker.summary()))
    if failures:
        for line in failures[:200]:
            print("FAIL", line)
        print(f"{len(failures)} failure(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
