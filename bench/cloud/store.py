"""Runs `coh5-store` (the emulated object store) for the benchmark and reads its counters.

Requests and bytes of every benchmark run are counted by the store, not by the readers, so that
all tools are measured the same way: the counters are reset before a run and read after it.
"""
import csv
import json
import subprocess
import urllib.request


class Store:
    """One `coh5-store` process serving `root` (whose subdirectories are buckets)."""

    def __init__(self, binary, root, latency_ms, bandwidth, log_path):
        self.log_path = log_path
        # From memory: on a machine that reclaims its page cache within seconds, ranges read
        # from the files would wait for the disk, and the runs would measure it.
        cmd = [binary, root, "--port", "0", "--latency", f"{latency_ms}ms",
               "--bandwidth", bandwidth, "--log", log_path, "--in-memory"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline().strip()
        # The store's first line is "listening on http://ADDR"; anything else means it failed.
        prefix = "listening on "
        if not line.startswith(prefix):
            self.proc.kill()
            err = self.proc.stderr.read()
            raise RuntimeError(f"coh5-store did not start: {line!r} {err.strip()}")
        self.url = line[len(prefix):].rstrip("/")

    def _control(self, method, path):
        req = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.read()

    def warm(self, url):
        """Has the store read the object at `url` into memory before any run is timed (a GET of
        its first byte; the counters are reset before each run)."""
        req = urllib.request.Request(url, headers={"Range": "bytes=0-0"})
        with urllib.request.urlopen(req, timeout=600) as resp:
            resp.read()

    def reset(self):
        self._control("POST", "/_counters/reset")

    def counters(self):
        return json.loads(self._control("GET", "/_counters"))

    def log_mark(self):
        """Lines of the request log written so far: where the next run's slice starts."""
        with open(self.log_path) as f:
            return sum(1 for _ in f)

    def log_since(self, mark):
        """(start, end) of every request logged after `mark` (the log flushes each line)."""
        rows = []
        with open(self.log_path) as f:
            for i, line in enumerate(csv.reader(f)):
                if i < max(mark, 1):
                    continue
                try:
                    rows.append((float(line[0]), float(line[1])))
                except (IndexError, ValueError):
                    continue
        return rows

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False
