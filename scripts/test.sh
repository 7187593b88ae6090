#!/usr/bin/env bash
# The whole test suite, from a fresh machine: Python fixtures/servers' packages, lint, tests.
# Needs ../shared (the corpus and the conformance scorer) beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt \
    2>&1 | grep -v "Running pip as the 'root' user" || true

# h5stat and h5repack are the oracles of the `coh5 inspect` tests, which fail without them.
if ! command -v h5stat >/dev/null || ! command -v h5repack >/dev/null; then
    apt-get install -y --no-install-recommends hdf5-tools \
        || { apt-get update && apt-get install -y --no-install-recommends hdf5-tools; }
fi

# A one-off build gains nothing from incremental state, which only takes disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --no-fail-fast
