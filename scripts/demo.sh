#!/usr/bin/env bash
# The README's first command: build coh5 and run it on the bundled sample.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p coh5-cli
bin=target/release/coh5
echo "== coh5 ls -r -l samples/sample.h5"
"$bin" --stats ls -r -l samples/sample.h5
echo
echo "== coh5 dump --manifest samples/sample.h5 (first 600 characters)"
"$bin" dump --manifest samples/sample.h5 | head -c 600
echo
