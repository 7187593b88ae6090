#!/usr/bin/env bash
# The cloud benchmark of issue 4 in one command: coh5 against h5py+fsspec, h5coro, kerchunk and
# xarray on synthetic ATL03 granules served by the emulated object store at 20 ms and 100 ms.
#   bash scripts/bench-cloud.sh           # 4M photons per beam (the benchmark; about an hour)
#   bash scripts/bench-cloud.sh --quick   # 200k photons per beam (proves the harness)
# Further options go to bench/cloud/run.py (--help). Granules are cached in target/bench-cloud/.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -r bench/cloud/requirements.txt \
    2>&1 | grep -v "Running pip as the 'root' user" || true
cargo build --release --locked -p coh5-cli -p coh5-store
exec python3 bench/cloud/run.py "$@"
