#!/usr/bin/env bash
# The whole test suite, from a fresh machine: Python fixtures/servers' packages, lint, tests.
# Needs ../shared (the corpus and the conformance scorer) beside the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt \
    2>&1 | grep -v "Running pip as the 'root' user" || true

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --no-fail-fast
