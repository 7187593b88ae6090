#!/usr/bin/env python3
"""Writes samples/sample.h5: a small ATL03-shaped file (groups per beam, chunked and compressed
photon arrays, attributes of many types) for the README's first command and for tests.

The file is committed; rerun this script only to change it:  python3 samples/make_sample.py
"""
import os

import h5py
import numpy as np

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sample.h5")


def main():
    rng = np.random.default_rng(7)
    with h5py.File(OUT, "w", libver=("v108", "latest"), fs_strategy="page",
                   fs_page_size=65536) as f:
        f.attrs["short_name"] = "ATL03"
        f.attrs["description"] = "coh5 sample: a miniature ICESat-2 ATL03 layout"
        f.attrs["granule_version"] = np.int32(7)
        for beam, lat0 in (("gt1l", -67.0), ("gt1r", -67.01), ("gt2l", -66.5)):
            n = 20_000
            g = f.create_group(f"{beam}/heights")
            lat = lat0 - np.linspace(0, 1.5, n)
            lon = -66.2 + 0.05 * np.sin(np.linspace(0, 3, n))
            h = (100 + 20 * np.sin(np.linspace(0, 30, n)) + rng.normal(0, 0.5, n)).astype("f4")
            for name, data in (("lat_ph", lat), ("lon_ph", lon), ("h_ph", h)):
                d = g.create_dataset(name, data=data, chunks=(10_000,), compression="gzip",
                                     compression_opts=6, shuffle=True, maxshape=(None,))
                d.attrs["units"] = "degrees" if name != "h_ph" else "meters"
                d.attrs["long_name"] = name
                d.attrs["valid_min"] = data.min()
            conf = rng.integers(-1, 5, size=(n, 5), dtype="i1")
            c = g.create_dataset("signal_conf_ph", data=conf, chunks=(10_000, 5),
                                 compression="gzip")
            c.attrs["flag_values"] = np.arange(-1, 5, dtype="i1")
            c.attrs["flag_meanings"] = "possible_tep noise buffer low medium high"
            geo = f.create_group(f"{beam}/geolocation")
            seg = n // 100
            geo.create_dataset("ph_index_beg", data=np.arange(seg, dtype="i8") * 100 + 1)
            geo.create_dataset("segment_ph_cnt", data=np.full(seg, 100, dtype="i4"))
        meta = f.create_group("METADATA")
        meta.attrs["vlen"] = ["a", "bc", "déf"]
        meta.attrs["compound"] = np.array([(1, 2.5)], dtype=[("id", "<i4"), ("value", "<f8")])
        f["ancillary_data/atlas_sdp_gps_epoch"] = np.float64(1198800018.0)
        f["ancillary_data/data_start_utc"] = np.bytes_(b"2019-05-26T19:35:52.430Z")


if __name__ == "__main__":
    main()
