"""Turns the benchmark's results into Markdown tables and writes them into BENCHMARKS.md
between the markers of this benchmark's section (the rest of the file is left alone)."""
import os

from needs import lower_bound
from workloads import TOOL_TITLES, WORKLOAD_TITLES, WORKLOADS

START = "<!-- bench-cloud: start -->"
END = "<!-- bench-cloud: end -->"
COLUMNS = ("coh5", "h5py", "h5py-informed", "h5coro", "kerchunk", "kerchunk-read", "xarray")
MB = 1e6


def combine_kerchunk(build, read):
    """kerchunk's full cost: building the references, then reading through them."""
    if build is None:
        return None
    if read is None:
        # No read without references: the build's cap or error is the whole story.
        return build if build.get("timed_out") or build.get("error") else None
    if build.get("timed_out") or read.get("timed_out"):
        return {"timed_out": True, "skipped": build.get("skipped") or read.get("skipped")}
    if build.get("error") or read.get("error"):
        return {"error": build.get("error") or read.get("error")}
    return {
        "time": build["time"] + read["time"],
        "requests": build["requests"] + read["requests"],
        "bytes": build["bytes"] + read["bytes"],
        "waves": build["waves"] + read["waves"],
        "rss_mib": max((r["rss_mib"] for r in (build, read) if r.get("rss_mib") is not None),
                       default=None),
        "check": read.get("check"),
    }


def cells(results, latency, variant, workload):
    """Each column's run for one table row (kerchunk columns derived from build and read)."""
    runs = {r["tool"]: r for r in results
            if r["latency_ms"] == latency and r["variant"] == variant
            and r["workload"] in (workload, "build")}
    out = {t: runs.get(t) for t in ("coh5", "h5py", "h5py-informed", "h5coro", "xarray")}
    out["kerchunk-read"] = runs.get("kerchunk")
    out["kerchunk"] = combine_kerchunk(runs.get("kerchunk-build"), runs.get("kerchunk"))
    return out


def time_cell(run, coh5_time, timeout, notes):
    if run is None:
        return "—"
    if run.get("timed_out"):
        return f"> {timeout:.0f} s" + ("†" if run.get("skipped") else "")
    if run.get("error"):
        notes.append(run["error"])
        return f"error [{len(notes)}]"
    text = f"{run['time']:.2f}"
    if coh5_time:
        text += f" ({run['time'] / coh5_time:.1f}×)"
    if run.get("check") not in (None, "ok"):
        notes.append(run["check"])
        text += f" ✗values [{len(notes)}]"
    return text


def io_cell(run):
    if run is None or run.get("requests") is None or run.get("error"):
        return "—"
    rss = f"{run['rss_mib']:.0f}" if run.get("rss_mib") is not None else "?"
    prefix = "(capped) " if run.get("timed_out") else ""
    return f"{prefix}{run['requests']} / {run['waves']} / {run['bytes'] / MB:.1f} / {rss}"


def runs_per_cell(meta):
    """'One run per cell', or which tools' cells are the median of repeated runs."""
    repeated = {t: n for t, n in meta.get("repeats", {}).items() if n > 1}
    if not repeated:
        return "One run per cell"
    tools = ", ".join(f"{TOOL_TITLES.get(t, t)}: median of {n}" for t, n in sorted(repeated.items()))
    return f"One run per cell ({tools})"


def render(meta, info, results, args):
    v = meta["versions"]
    lines = [
        "Reproduce with `bash scripts/bench-cloud.sh" + (" --quick" if meta["quick"] else "")
        + "` (from the workspace root; the full run is the command without `--quick`).",
        "",
        f"Granules: {meta['photons_per_beam']:,} photons per beam, made by "
        "`scripts/atl03/generate.py --seed 0`. Store: `coh5-store`, "
        f"{meta['bandwidth_mbps']:g} MB/s per connection. Readers: {meta['coh5_version']}, "
        f"h5py {v['h5py']} (libhdf5 {v['libhdf5']}) with fsspec {v['fsspec']}, h5coro "
        f"{v['h5coro']}, kerchunk {v['kerchunk']} (zarr {v['zarr']}), xarray {v['xarray']} with "
        f"h5netcdf {v['h5netcdf']}. {runs_per_cell(meta)}, each in a fresh process, capped at "
        f"{meta['timeout']:.0f} s. Machine: {meta['cpus']} cores available, load average "
        f"{meta['load']:.2f} at the end; the whole benchmark took {meta['elapsed_s'] / 60:.0f} "
        "min.",
        "",
        "Times are seconds; (n×) is the competitor's time over coh5's. coh5's time is its whole "
        "process; the Python tools' time excludes interpreter start and imports. "
        "Lower bound = critical-path round trips × latency + bytes needed ÷ bandwidth "
        "(bench/cloud/needs.py). † = not run: the same tool already exceeded the cap on a "
        "smaller workload or at a lower latency. I/O cells are requests / serial waves of "
        "requests / MB fetched / peak RSS MiB, counted by the store and by wait4.",
        "",
        "| variant | size MB | paged | metadata MB |",
        "|---|---:|---|---:|",
    ]
    for variant in args.variants:
        g = info[variant]
        paged = f"{g['page_size'] // (1024 * 1024)} MiB pages" if g["paged"] else "no"
        lines.append(f"| {variant} | {g['file_size'] / MB:.1f} | {paged} | "
                     f"{g['metadata_bytes'] / MB:.2f} |")
    lines.append("")
    for w in args.workloads:
        lines.append(f"* **{w}** {WORKLOAD_TITLES[w]}"
                     + (f" ({len(WORKLOADS[w])} datasets)" if WORKLOADS[w] else ""))
    notes = []
    bandwidth = meta["bandwidth_mbps"] * MB
    for latency in [int(x) for x in args.latencies]:
        lines += ["", f"**{latency} ms first-byte latency — time**", ""]
        head = ["variant", "W", "lower bound (RT)", "coh5 (× bound)", "coh5 fetched ÷ needed"]
        head += [TOOL_TITLES[t] for t in COLUMNS[1:]]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|---|---|" + "---:|" * (len(head) - 2))
        io_rows = []
        for variant in args.variants:
            for w in args.workloads:
                need = info[variant]["workloads"][w]
                bound = lower_bound(need, latency / 1000.0, bandwidth)
                row_cells = cells(results, latency, variant, w)
                coh5 = row_cells["coh5"]
                coh5_ok = coh5 and not coh5.get("timed_out") and not coh5.get("error")
                coh5_time = coh5["time"] if coh5_ok else None
                row = [variant, w, f"{bound:.2f} ({need['round_trips']})"]
                if coh5_ok:
                    c = f"{coh5['time']:.2f} ({coh5['time'] / bound:.1f}×)"
                    if coh5.get("check") not in (None, "ok"):
                        notes.append(coh5["check"])
                        c += f" ✗values [{len(notes)}]"
                    elif coh5.get("check") == "ok":
                        c += " ✓"
                    row.append(c)
                    row.append(f"{coh5['bytes'] / max(need['bytes_needed'], 1):.2f}×")
                else:
                    row += [time_cell(coh5, None, meta["timeout"], notes), "—"]
                for t in COLUMNS[1:]:
                    row.append(time_cell(row_cells[t], coh5_time, meta["timeout"], notes))
                lines.append("| " + " | ".join(row) + " |")
                io_rows.append([variant, w, f"{need['bytes_needed'] / MB:.2f}"]
                               + [io_cell(row_cells[t]) for t in COLUMNS])
        lines += ["", f"**{latency} ms — I/O** (requests / waves / MB / peak RSS MiB)", ""]
        head = ["variant", "W", "MB needed"] + [TOOL_TITLES[t] for t in COLUMNS]
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|---|---|" + "---:|" * (len(head) - 2))
        lines += ["| " + " | ".join(r) + " |" for r in io_rows]
    if notes:
        lines += ["", "Notes:", ""]
        lines += [f"{i}. {n}" for i, n in enumerate(notes, 1)]
    return "\n".join(lines) + "\n"


def write_section(path, text, start=START, end=END):
    """Replaces the text between the markers (appending a section with them if absent)."""
    with open(path) as f:
        doc = f.read()
    block = f"{start}\n{text}{end}"
    if start in doc and end in doc:
        head, rest = doc.split(start, 1)
        _, tail = rest.split(end, 1)
        doc = head + block + tail
    else:
        doc = doc.rstrip("\n") + "\n\n" + block + "\n"
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(doc)
    os.replace(tmp, path)


def versions(packages):
    """Installed versions of `packages` (Python distributions) and of the libhdf5 h5py links."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in packages:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    import h5py

    out["libhdf5"] = h5py.version.hdf5_version
    return out
