#!/usr/bin/env bash
# The README's first command: build coh5 and run it on the bundled ICESat-2 ATL03 sample granule
# (synthetic, v7 layout: 8 MiB pages, made by scripts/atl03/generate.py).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p coh5-cli
bin=target/release/coh5
sample=samples/ATL03_sample.h5
out=target/demo
mkdir -p "$out"

echo "== coh5 ls -l $sample /gt1l/heights"
"$bin" ls -l "$sample" /gt1l/heights | head -40
echo
echo "== coh5 get: photon heights, latitudes and longitudes of beam gt1l in one planned read"
"$bin" --stats get "$sample" /gt1l/heights/h_ph /gt1l/heights/lat_ph /gt1l/heights/lon_ph \
    -o "$out/gt1l_photons.npz"
echo "wrote $out/gt1l_photons.npz (numpy.load reads it)"
echo
echo "== the first photons of gt1l as JSON"
"$bin" get "$sample" /gt1l/heights/h_ph --slice 0:5
