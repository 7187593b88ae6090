#!/usr/bin/env python3
"""Brute-force reference for `coh5 subset`: reads whole variables with h5py and masks them.

It shares no logic with coh5's planner: every photon of every chosen beam is read and tested, so
a photon the planner's segment ranges missed shows up as a difference. Output is JSON with one
entry per column; numbers are given as the integer bit patterns of their stored type so the Rust
test compares exactly, and segment values of photons no segment claims are null.

    subset_reference.py GRANULE --bbox W,S,E,N [--beams all|strong|weak|gt1l,...]
        [--vars lat_ph,...] [--segment-vars solar_elevation,...] [--signal-conf 3,4
        [--surface land|ocean|sea_ice|land_ice|inland_water]] [--signal-class 3,4]
        [--time START,END] -o OUT.json
"""
import argparse
import json
import os

import h5py
import numpy as np

BEAMS = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"]
SURFACES = ["land", "ocean", "sea_ice", "land_ice", "inland_water"]


def chosen_beams(f, text):
    if text == "all":
        return BEAMS
    if text in ("strong", "weak"):
        orient = int(f["orbit_info/sc_orient"][0])
        assert orient in (0, 1), f"sc_orient {orient}"
        strong_left = orient == 0  # backward: left beams strong
        return [b for b in BEAMS if (b.endswith("l") == strong_left) == (text == "strong")]
    return text.split(",")


def bits(values):
    a = np.ascontiguousarray(values)
    if a.dtype.kind == "f":
        a = a.view(np.uint32 if a.dtype.itemsize == 4 else np.uint64)
    return [int(v) for v in a]


def stored_bytes(dset, chunks=None):
    """Compressed bytes of the given chunk numbers along the first dimension (all chunks when
    None); the other dimensions are one chunk wide, as signal_conf_ph's five columns are."""
    if dset.chunks is None:
        return dset.id.get_storage_size()
    if chunks is None:
        return sum(dset.id.get_chunk_info(i).size for i in range(dset.id.get_num_chunks()))
    rest = (0,) * (dset.ndim - 1)
    return sum(dset.id.get_chunk_info_by_coord((int(c) * dset.chunks[0],) + rest).size
               for c in chunks)


def segment_dataset(beam, name):
    if "/" in name:
        return beam[name]
    return beam["geolocation/" + name] if "geolocation/" + name in beam \
        else beam["geophys_corr/" + name]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("granule")
    ap.add_argument("--bbox", required=True)
    ap.add_argument("--beams", default="all")
    ap.add_argument("--vars", default="lat_ph,lon_ph,h_ph,delta_time")
    ap.add_argument("--segment-vars", default="")
    ap.add_argument("--signal-conf")
    ap.add_argument("--surface")
    ap.add_argument("--signal-class")
    ap.add_argument("--time")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    west, south, east, north = (float(v) for v in a.bbox.split(","))
    names = a.vars.split(",")
    seg_names = [s for s in a.segment_vars.split(",") if s]
    columns = {}
    answer = {"photon_chunks": 0, "segment_index": 0}
    order = ["granule", "beam", "photon_index"] + [n.split("/")[-1] for n in names]
    seg_columns = []
    for s in seg_names:
        c = s.split("/")[-1]
        seg_columns.append("segment_" + c if c in order else c)
    order += seg_columns
    for c in order:
        columns[c] = {"dtype": None, "values": []}
    with h5py.File(a.granule, "r") as f:
        for b in chosen_beams(f, a.beams):
            if b not in f:
                continue
            g = f[b]
            lat = g["heights/lat_ph"][:]
            lon = g["heights/lon_ph"][:]
            if west <= east:
                mask = (lon >= west) & (lon <= east)
            else:
                mask = (lon >= west) | (lon <= east)
            mask &= (lat >= south) & (lat <= north)
            if a.time:
                t0, t1 = (float(v) for v in a.time.split(","))
                t = g["heights/delta_time"][:]
                mask &= (t >= t0) & (t <= t1)
            if a.signal_conf:
                conf = g["heights/signal_conf_ph"][:]
                value = conf[:, SURFACES.index(a.surface)] if a.surface else conf.max(axis=1)
                mask &= np.isin(value, [int(v) for v in a.signal_conf.split(",")])
            if a.signal_class:
                cls = g["heights/signal_class_ph"][:]
                mask &= np.isin(cls, [int(v) for v in a.signal_class.split(",")])
            idx = np.nonzero(mask)[0]
            # What an ideal planned read fetches: the photon chunks holding an answer, of every
            # photon variable output or tested by a filter, and the whole segment index of the
            # beam.
            tested = ["lat_ph", "lon_ph"] + (["delta_time"] if a.time else []) \
                + (["signal_class_ph"] if a.signal_class else []) \
                + (["signal_conf_ph"] if a.signal_conf else [])
            for n in names + [t for t in tested if t not in names]:
                d = g[n if "/" in n else "heights/" + n]
                if d.chunks is not None:
                    answer["photon_chunks"] += stored_bytes(d, np.unique(idx // d.chunks[0]))
            for n in ("reference_photon_lat", "reference_photon_lon", "ph_index_beg",
                      "segment_ph_cnt", "delta_time"):
                answer["segment_index"] += stored_bytes(g["geolocation/" + n])
            columns["granule"]["values"] += [os.path.basename(a.granule)] * len(idx)
            columns["beam"]["values"] += [b] * len(idx)
            columns["photon_index"]["values"] += [int(i) for i in idx]
            for n in names:
                path = n if "/" in n else "heights/" + n
                v = g[path][:][idx]
                col = columns[n.split("/")[-1]]
                col["dtype"] = v.dtype.str.lstrip("<>|=")
                col["values"] += bits(v)
            if seg_names:
                beg = g["geolocation/ph_index_beg"][:]
                cnt = g["geolocation/segment_ph_cnt"][:]
                owner = np.full(lat.size, -1, dtype=np.int64)
                for k in np.nonzero(cnt > 0)[0]:
                    owner[beg[k] - 1:beg[k] - 1 + cnt[k]] = k
                for s, c in zip(seg_names, seg_columns):
                    v = segment_dataset(g, s)[:]
                    col = columns[c]
                    col["dtype"] = v.dtype.str.lstrip("<>|=")
                    rows = owner[idx]
                    col["values"] += [None if r < 0 else bits(v[r:r + 1])[0] for r in rows]
    with open(a.output, "w") as out:
        json.dump({"order": order, "columns": columns, "answer_bytes": answer}, out)


if __name__ == "__main__":
    main()
