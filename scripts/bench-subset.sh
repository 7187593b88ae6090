#!/usr/bin/env bash
# The subset benchmark of issue 5 in one command: the seed notebook's workflow by `coh5 subset`,
# by the notebook's own path (xarray + h5netcdf + fsspec, default and page-buffer settings) and
# by h5coro, on a synthetic v7 ATL03 granule (4M photons per beam) behind the emulated object
# store at 100 ms latency and 50 MB/s per connection. Writes its table into BENCHMARKS.md.
#   bash scripts/bench-subset.sh [--photons-per-beam N] [--timeout S] [--benchmarks-md '']
# The granule is cached in target/bench-subset/ (generating it takes a few minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -r bench/cloud/requirements.txt \
    2>&1 | grep -v "Running pip as the 'root' user" || true
cargo build --release --locked -p coh5-cli -p coh5-store
exec python3 bench/subset/run.py "$@"
