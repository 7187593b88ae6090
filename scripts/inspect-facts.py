#!/usr/bin/env python3
"""libhdf5's view (through h5py) of the facts `coh5 inspect` reports, for its test.

Prints JSON: the file space strategy and page size from the file creation property list, the
file size and tracked free space, and for every dataset its storage size and, for chunked
datasets, the stored size of every chunk (H5Dget_chunk_info) summarised as count / min / lower
median / max, the same statistics `coh5 inspect` computes from the chunk index.
"""
import json
import sys

import h5py

STRATEGIES = {0: "FSM_AGGR", 1: "PAGE", 2: "AGGR", 3: "NONE"}


def main(path):
    out = {"datasets": {}}
    with h5py.File(path, "r") as f:
        fcpl = f.id.get_create_plist()
        strategy, persist, threshold = fcpl.get_file_space_strategy()
        out["strategy"] = STRATEGIES.get(strategy, str(strategy))
        out["persist"] = bool(persist)
        out["page_size"] = fcpl.get_file_space_page_size() if strategy == 1 else None
        out["userblock"] = fcpl.get_userblock()
        out["file_size"] = f.id.get_filesize()
        out["free_space"] = f.id.get_freespace()

        def visit(name, obj):
            if not isinstance(obj, h5py.Dataset):
                return
            d = {"storage_size": obj.id.get_storage_size(), "chunked": obj.chunks is not None}
            layout = obj.id.get_create_plist().get_layout()
            d["layout"] = {0: "compact", 1: "contiguous", 2: "chunked", 3: "virtual"}[layout]
            if obj.chunks is not None:
                sizes = sorted(obj.id.get_chunk_info(i).size for i in range(obj.id.get_num_chunks()))
                d["chunks"] = len(sizes)
                if sizes:
                    d["min"], d["median"], d["max"] = sizes[0], sizes[(len(sizes) - 1) // 2], sizes[-1]
            out["datasets"]["/" + name] = d

        f.visititems(visit)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
