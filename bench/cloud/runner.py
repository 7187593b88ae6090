"""Runs one benchmark process with a time cap and measures it: wall time, peak RSS, exit status.

Every tool runs in a fresh process so that no cache survives between runs. Peak RSS is measured
by GNU time (`/usr/bin/time -f %M`), not by this process's wait4: a child forked from the
orchestrator inherits its resident high-water mark (numpy and h5py loaded) through exec, so
wait4 would report at least that; GNU time forks the tool from a process of a few MB. The cap
kills the child's whole process group, so helper threads or subprocesses cannot outlive it.
"""
import os
import signal
import subprocess
import tempfile
import threading
import time

GNU_TIME = "/usr/bin/time"


def run_capped(cmd, timeout_s, stdout=subprocess.DEVNULL):
    """Runs `cmd`; returns dict(wall, rss_mib (None when killed), code, timed_out, stderr)."""
    fd, rss_file = tempfile.mkstemp(prefix="bench-rss-")
    os.close(fd)
    start = time.perf_counter()
    proc = subprocess.Popen([GNU_TIME, "-f", "%M", "-o", rss_file, *cmd], stdout=stdout,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    timed_out = threading.Event()

    def kill():
        timed_out.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout_s, kill)
    timer.start()
    # Drain stderr in a thread: a chatty child must not block on a full pipe before it exits.
    err_chunks = []
    reader = threading.Thread(target=lambda: err_chunks.append(proc.stderr.read()))
    reader.start()
    code = proc.wait()
    wall = time.perf_counter() - start
    timer.cancel()
    reader.join()
    rss_mib = None
    with open(rss_file) as f:
        # GNU time writes "Command exited with non-zero status N" before the number on failure.
        last = f.read().strip().splitlines()[-1:]
    os.remove(rss_file)
    if last and last[0].isdigit():
        rss_mib = int(last[0]) / 1024.0
    return {
        "wall": wall,
        "rss_mib": rss_mib,
        "code": code,
        "timed_out": timed_out.is_set(),
        "stderr": "".join(err_chunks)[-2000:],
    }


def serial_waves(intervals):
    """Round trips a run waited for one after another, seen from the store's request log: the
    number of groups of overlapping requests (a request that starts after every earlier one has
    finished begins a new wave)."""
    waves = 0
    busy_until = None
    for start, end in sorted(intervals):
        if busy_until is None or start > busy_until:
            waves += 1
            busy_until = end
        else:
            busy_until = max(busy_until, end)
    return waves
