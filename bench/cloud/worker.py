"""Runs one workload with one Python competitor in a fresh process and writes what it saw.

    worker.py TOOL WORKLOAD URL --out RESULT.json [--page-size N] [--refs REFS.json]

TOOL is h5py (fsspec defaults), h5py-informed (fsspec blockcache of 8 MiB, and libhdf5's page
buffer sized from the file's page size), h5coro (its HTTP driver), kerchunk-build (writes the
references to --refs), kerchunk (reads through --refs) or xarray (h5netcdf engine on fsspec).
The timer covers opening and the workload, not the interpreter start or imports, so the numbers
favour the competitors slightly. RESULT holds the time, what was listed and a digest per
dataset read, or the error.
"""
import argparse
import json
import logging
import warnings

from needs import digest
from outcome import run_and_report
from workloads import WORKLOADS

MIB = 1024 * 1024


def http_file(url, informed):
    import fsspec

    fs = fsspec.filesystem("http")
    if informed:
        return fs.open(url, "rb", cache_type="blockcache", block_size=8 * MIB)
    return fs.open(url, "rb")


def run_h5py(args, paths, informed):
    import h5py

    kwargs = {}
    if informed and args.page_size:
        # libhdf5 needs the user to know the page size; an informed user does. Four pages keep
        # the metadata pages resident while data pages come and go.
        kwargs["page_buf_size"] = 4 * args.page_size
    with h5py.File(http_file(args.url, informed), "r", **kwargs) as f:
        if paths is None:
            listed = {"variables": 0, "attributes": 0}

            def visit(_name, obj):
                attrs = dict(obj.attrs)
                listed["attributes"] += len(attrs)
                if isinstance(obj, h5py.Dataset):
                    listed["variables"] += 1
                    (obj.shape, obj.dtype)

            listed["attributes"] += len(dict(f.attrs))
            f.visititems(visit)
            return listed, {}
        return None, {p: digest(f[p][()]) for p in paths}


def run_h5coro(args, paths):
    from h5coro import h5coro, webdriver

    logging.getLogger("h5coro").setLevel(logging.CRITICAL)
    h = h5coro.H5Coro(args.url, webdriver.HTTPDriver, errorChecking=True, verbose=False)
    if paths is None:
        listed = {"variables": 0, "attributes": 0}

        def walk(path):
            variables, attributes, groups = h.list(path, w_attr=True)
            listed["attributes"] += len(attributes)
            for attrs in variables.values():
                listed["variables"] += 1
                listed["attributes"] += len(attrs) - 1  # minus the "__metadata__" entry
            for g in groups:
                walk(f"{path.rstrip('/')}/{g}")

        walk("/")
        return listed, {}
    promise = h.readDatasets(list(paths), block=True)
    return None, {p: digest(promise[p]) for p in paths}


def build_kerchunk(args):
    import fsspec
    from kerchunk.hdf import SingleHdf5ToZarr

    with fsspec.open(args.url, "rb") as f:
        refs = SingleHdf5ToZarr(f, args.url, inline_threshold=300).translate()
    with open(args.refs, "w") as out:
        json.dump(refs, out)
    return {"references": len(refs.get("refs", {}))}, {}


def run_kerchunk(args, paths):
    import fsspec
    import zarr
    from zarr.storage import FsspecStore

    with open(args.refs) as f:
        refs = json.load(f)
    fs = fsspec.filesystem("reference", fo=refs, remote_protocol="http", asynchronous=True,
                           remote_options={"asynchronous": True})
    root = zarr.open_group(FsspecStore(fs, read_only=True), mode="r", zarr_format=2)
    if paths is None:
        listed = {"variables": 0, "attributes": 0}

        # Group.members(max_depth=None) does not descend through kerchunk's reference store,
        # so the walk recurses by hand.
        def walk(group):
            listed["attributes"] += len(dict(group.attrs))
            for _name, arr in group.arrays():
                listed["variables"] += 1
                listed["attributes"] += len(dict(arr.attrs))
                (arr.shape, arr.dtype)
            for _name, sub in group.groups():
                walk(sub)

        walk(root)
        return listed, {}
    return None, {p: digest(root[p.lstrip("/")][:]) for p in paths}


def run_xarray(args, paths):
    import xarray as xr

    opts = dict(engine="h5netcdf", mask_and_scale=False, decode_times=False,
                phony_dims="access")
    if paths is None:
        tree = xr.open_datatree(http_file(args.url, False), **opts)
        listed = {"variables": 0, "attributes": 0}
        for node in tree.subtree:
            listed["attributes"] += len(node.attrs)
            for var in node.ds.variables.values():
                listed["variables"] += 1
                listed["attributes"] += len(var.attrs)
                (var.shape, var.dtype)
        return listed, {}
    by_group = {}
    for p in paths:
        group, name = p.rsplit("/", 1)
        by_group.setdefault(group, []).append(name)
    digests = {}
    for group, names in by_group.items():
        ds = xr.open_dataset(http_file(args.url, False), group=group, **opts)
        for name in names:
            digests[f"{group}/{name}"] = digest(ds[name].values)
    return None, digests


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("tool", choices=("h5py", "h5py-informed", "h5coro", "kerchunk-build",
                                     "kerchunk", "xarray"))
    ap.add_argument("workload", choices=sorted(WORKLOADS))
    ap.add_argument("url")
    ap.add_argument("--out", required=True)
    ap.add_argument("--page-size", type=int, default=0)
    ap.add_argument("--refs")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    paths = WORKLOADS[args.workload]
    def workflow():
        if args.tool in ("h5py", "h5py-informed"):
            listed, digests = run_h5py(args, paths, args.tool == "h5py-informed")
        elif args.tool == "h5coro":
            listed, digests = run_h5coro(args, paths)
        elif args.tool == "kerchunk-build":
            listed, digests = build_kerchunk(args)
        elif args.tool == "kerchunk":
            listed, digests = run_kerchunk(args, paths)
        else:
            listed, digests = run_xarray(args, paths)
        return {"listed": listed, "digests": digests}

    run_and_report(args.out, workflow)

if __name__ == "__main__":
    main()
