"""Runs the seed workflow with one Python competitor in a fresh process and writes its answer.

    worker.py TOOL URL --bbox W,S,E,N --out RESULT.json [--page-size N]

The workflow: the photons of the strong beams inside the box whose signal_conf_ph (maximum over
surface types) is medium or high (3, 4), with lat_ph, lon_ph, h_ph and delta_time.

TOOL is
  notebook           the seed notebook's path: xarray + h5netcdf over fsspec HTTP with default
                     settings, opening each beam's heights group, reading lat/lon, masking;
  notebook-paged     the same with the page-buffer settings (fsspec blockcache of 8 MiB blocks
                     and libhdf5's page buffer, 4 pages);
  h5coro             h5coro's HTTP driver used as SlideRule does: the segment index of every
                     beam in one call, the photon range the box covers from it, then one
                     hyperslice of every photon variable per beam in a second call.

The timer covers opening and the workflow, not the interpreter start or imports. RESULT holds the
time and, per beam, the kept photon count and a digest of the kept values (raw stored values,
concatenated in column order), so the orchestrator can compare answers.
"""
import argparse
import hashlib
import logging
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cloud"))
from outcome import run_and_report  # noqa: E402

MIB = 1024 * 1024
VARS = ("lat_ph", "lon_ph", "h_ph", "delta_time")
LEVELS = (3, 4)


def strong_beams(sc_orient):
    # sc_orient 0 (backward): the left beams are strong; 1 (forward): the right ones.
    side = "l" if sc_orient == 0 else "r"
    return [f"gt{i}{side}" for i in (1, 2, 3)]


def in_box(lat, lon, box):
    west, south, east, north = box
    return (lat >= south) & (lat <= north) & (lon >= west) & (lon <= east)


def answer(columns):
    """Kept photon count and a digest of every column's values."""
    h = hashlib.sha256()
    for name in VARS:
        h.update(np.ascontiguousarray(columns[name]).tobytes())
    return {"photons": int(len(columns["lat_ph"])), "sha256": h.hexdigest()}


def run_notebook(args, box, paged):
    import fsspec
    import h5py
    import xarray as xr

    fs = fsspec.filesystem("http")

    def http_file():
        if paged:
            return fs.open(args.url, "rb", cache_type="blockcache", block_size=8 * MIB)
        return fs.open(args.url, "rb")

    kwds = {"page_buf_size": 4 * args.page_size} if paged and args.page_size else None
    with h5py.File(http_file(), "r") as f:
        orient = int(f["orbit_info/sc_orient"][0])
    out = {}
    for beam in strong_beams(orient):
        ds = xr.open_dataset(http_file(), group=f"{beam}/heights", engine="h5netcdf",
                             mask_and_scale=False, decode_times=False, phony_dims="access",
                             driver_kwds=kwds)
        mask = in_box(ds["lat_ph"].values, ds["lon_ph"].values, box)
        conf = ds["signal_conf_ph"].values.max(axis=1)
        mask &= np.isin(conf, LEVELS)
        out[beam] = answer({v: ds[v].values[mask] for v in VARS})
    return out


def run_h5coro(args, box):
    from h5coro import h5coro, webdriver

    logging.getLogger("h5coro").setLevel(logging.CRITICAL)
    h = h5coro.H5Coro(args.url, webdriver.HTTPDriver, errorChecking=True, verbose=False)
    orient = int(h.readDatasets(["/orbit_info/sc_orient"], block=True)["/orbit_info/sc_orient"][0])
    beams = strong_beams(orient)
    index = ("reference_photon_lat", "reference_photon_lon", "ph_index_beg", "segment_ph_cnt")
    paths = [f"/{b}/geolocation/{v}" for b in beams for v in index]
    seg = h.readDatasets(paths, block=True)
    west, south, east, north = box
    # A margin of a few segments either side, as any segment-based subsetter needs.
    pad = 0.01
    slices = {}
    for b in beams:
        lat = seg[f"/{b}/geolocation/reference_photon_lat"]
        lon = seg[f"/{b}/geolocation/reference_photon_lon"]
        beg = seg[f"/{b}/geolocation/ph_index_beg"]
        cnt = seg[f"/{b}/geolocation/segment_ph_cnt"]
        hit = np.nonzero((lat >= south - pad) & (lat <= north + pad) & (lon >= west - pad)
                         & (lon <= east + pad) & (cnt > 0))[0]
        if hit.size:
            first = int(beg[hit[0]]) - 1
            last = int(beg[hit[-1]] - 1 + cnt[hit[-1]])
            slices[b] = (first, last)
    reads = [{"dataset": f"/{b}/heights/{v}", "hyperslice": [r]}
             for b, r in slices.items() for v in VARS + ("signal_conf_ph",)]
    got = h.readDatasets(reads, block=True) if reads else {}
    out = {}
    for b in beams:
        if b not in slices:
            out[b] = answer({v: np.array([]) for v in VARS})
            continue
        col = {v: got[f"/{b}/heights/{v}"] for v in VARS}
        conf = np.asarray(got[f"/{b}/heights/signal_conf_ph"]).reshape(-1, 5).max(axis=1)
        mask = in_box(col["lat_ph"], col["lon_ph"], box) & np.isin(conf, LEVELS)
        out[b] = answer({v: np.asarray(col[v])[mask] for v in VARS})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tool", choices=("notebook", "notebook-paged", "h5coro"))
    ap.add_argument("url")
    ap.add_argument("--bbox", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--page-size", type=int, default=0)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    box = tuple(float(v) for v in args.bbox.split(","))
    def workflow():
        if args.tool == "h5coro":
            return {"beams": run_h5coro(args, box)}
        return {"beams": run_notebook(args, box, args.tool == "notebook-paged")}

    run_and_report(args.out, workflow)

if __name__ == "__main__":
    main()
