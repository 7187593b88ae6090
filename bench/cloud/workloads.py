"""The four workloads of the cloud benchmark (issue 4, item 7) and the tools that run them.

Kept in one module so that the orchestrator (run.py), the competitor runner (worker.py) and the
lower-bound model (needs.py) agree on exactly which datasets each workload reads.
"""

BEAMS = ("gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r")

# W4's photon variables: the per-photon fields a typical ATL03 analysis pulls (time, position,
# height, and the two classification fields), one of them 2-D (signal_conf_ph is [n, 5]).
PHOTON_VARS = ("delta_time", "h_ph", "lat_ph", "lon_ph", "signal_conf_ph", "quality_ph")

WORKLOADS = {
    "W1": None,  # open the granule and list every variable with shape, dtype and attributes
    "W2": ["/gt1l/heights/h_ph"],
    "W3": [f"/gt1l/heights/{v}" for v in ("h_ph", "lat_ph", "lon_ph")],
    "W4": [f"/{b}/heights/{v}" for b in BEAMS for v in PHOTON_VARS],
}

WORKLOAD_TITLES = {
    "W1": "open + list every variable (shape, dtype, attributes)",
    "W2": "read /gt1l/heights/h_ph",
    "W3": "read h_ph, lat_ph, lon_ph of gt1l",
    "W4": "read six photon variables of all six beams",
}

# Order matters: it is the column order of the tables.
TOOLS = ("coh5", "h5py", "h5py-informed", "h5coro", "kerchunk", "xarray")

TOOL_TITLES = {
    "coh5": "coh5",
    "h5py": "h5py+fsspec (default)",
    "h5py-informed": "h5py+fsspec (informed)",
    "h5coro": "h5coro",
    "kerchunk": "kerchunk (build + read)",
    "kerchunk-read": "kerchunk read only",
    "xarray": "xarray+h5netcdf",
}

VARIANTS = ("original", "page-only-4mb", "page-only-8mb", "rechunked-4mb", "rechunked-8mb", "v7")


def granule_name(variant):
    """The object key of a variant's granule inside the bucket."""
    return f"ATL03_{variant}.h5"
