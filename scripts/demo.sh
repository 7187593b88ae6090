#!/usr/bin/env bash
# The README's first command: build coh5 and run it on the bundled ICESat-2 ATL03 sample granule
# (synthetic, v7 layout: 8 MiB pages, made by scripts/atl03/generate.py): the photons of the
# strong beams inside a box with medium or high confidence, to Parquet and a plot; then a listing
# and a planned read of three photon variables.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p coh5-cli
bin=target/release/coh5
sample=samples/ATL03_sample.h5
out=target/demo
mkdir -p "$out"

echo "== coh5 subset: strong-beam photons in a box, medium/high confidence, to Parquet and a plot"
"$bin" --stats subset "$sample" --bbox=-66.5,-68.5,-66.0,-67.0 --beams strong --signal-conf 3,4 \
    -o "$out/photons.parquet" --plot "$out/photons.png"
echo "wrote $out/photons.parquet and $out/photons.png"
echo
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
