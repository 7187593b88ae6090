#!/usr/bin/env python3
"""A small threaded HTTP server with byte-range support, for coh5's I/O tests.

Serves the files under --dir (read-only) on --host:--port. Supports GET and HEAD, single-range
requests (`bytes=a-b`, `bytes=a-`, `bytes=-n`) answered with 206 and Content-Range, 416 for
unsatisfiable ranges, and sends Content-Length, Accept-Ranges, ETag and Last-Modified. Malformed
or multi-range Range headers are ignored (the whole file is sent with 200), as RFC 9110 allows.

With --port 0 the OS picks the port; the chosen port is written to --port-file (if given) once
the socket is listening, so callers can wait for readiness without guessing free ports.

Standard library only.
"""

import argparse
import email.utils
import http.server
import os
import re
import sys

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 1 << 16


def parse_range(header, size):
    """Returns (start, end_exclusive), "unsatisfiable", or None (ignore the header)."""
    m = RANGE_RE.match(header.strip())
    if not m:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        # Suffix range: the last n bytes.
        n = int(last)
        if n == 0:
            return "unsatisfiable"
        return (max(0, size - n), size)
    start = int(first)
    if last != "" and int(last) < start:
        return None
    if start >= size:
        return "unsatisfiable"
    end = size if last == "" else min(int(last) + 1, size)
    return (start, end)


class RangeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "coh5-range-server/1"
    root = "."

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(), fmt % args))

    def resolve(self):
        """Maps the URL path to a file under root, refusing anything outside it."""
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        from urllib.parse import unquote

        rel = unquote(path).lstrip("/")
        full = os.path.realpath(os.path.join(self.root, rel))
        root = os.path.realpath(self.root)
        if full != root and not full.startswith(root + os.sep):
            return None
        return full if os.path.isfile(full) else None

    def send_plain(self, status, body=b"", extra=()):
        self.send_response(status)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.serve()

    def do_GET(self):
        self.serve()

    def serve(self):
        full = self.resolve()
        if full is None:
            self.send_plain(404, b"not found\n")
            return
        st = os.stat(full)
        size = st.st_size
        etag = '"%x-%x"' % (st.st_mtime_ns, size)
        common = [
            ("Accept-Ranges", "bytes"),
            ("ETag", etag),
            ("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True)),
            ("Content-Type", "application/octet-stream"),
        ]
        start, end, status = 0, size, 200
        header = self.headers.get("Range")
        if header is not None:
            parsed = parse_range(header, size)
            if parsed == "unsatisfiable":
                self.send_plain(416, b"", common + [("Content-Range", "bytes */%d" % size)])
                return
            if parsed is not None:
                start, end = parsed
                status = 206
        self.send_response(status)
        for k, v in common:
            self.send_header(k, v)
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, end - 1, size))
        self.send_header("Content-Length", str(end - start))
        self.end_headers()
        if self.command == "HEAD":
            return
        with open(full, "rb") as f:
            f.seek(start)
            left = end - start
            while left > 0:
                chunk = f.read(min(CHUNK, left))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", required=True, help="directory to serve")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    ap.add_argument("--port-file", help="write the listening port here when ready")
    args = ap.parse_args()

    RangeHandler.root = os.path.realpath(args.dir)
    server = Server((args.host, args.port), RangeHandler)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    sys.stderr.write("serving %s on http://%s:%d/\n" % (RangeHandler.root, args.host, port))
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
