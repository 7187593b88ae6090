#!/bin/sh
# Seeds the corpus of every fuzz target with the small files of the shared HDF5 corpus: real
# files reach deep decoder paths at once, and small ones keep each execution fast.
# Usage: fuzz/seed_corpus.sh [shared-corpus-dir] [max-bytes]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-"$here/../../shared/corpus"}
max=${2:-65536}
for target in open_manifest open_paths; do
    dest="$here/corpus/$target"
    mkdir -p "$dest"
    find "$src" -path "$src/golden" -prune -o -type f -size -"$max"c -print |
        while IFS= read -r f; do
            # Name seeds by content so re-running the script adds no duplicates.
            cp "$f" "$dest/$(sha1sum "$f" | cut -c1-40)"
        done
    echo "$(ls "$dest" | wc -l) seeds in $dest"
done
