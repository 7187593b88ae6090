//! Differential test on randomized files: scripts/randomized/make_file.py writes a file per
//! seed with libhdf5 (format knobs, groups, datatypes, layouts, filters, links drawn at random;
//! every fourth seed make_netcdf.py writes a netCDF-4 file through netCDF-C instead), the
//! shared golden.py dumps it with h5py, `coh5 dump --manifest` dumps it, and the shared
//! compare.py must find them equal; so must the manifest read over HTTP from coh5-store, which
//! injects errors, resets and truncated bodies. `COH5_RANDOMIZED_SEEDS=START:END` widens the run.
//!
//! Needs `../shared` beside the repository and Python 3 with h5py, hdf5plugin and netCDF4
//! (scripts/test.sh installs them).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use coh5_store::{Config, Faults, Server};

const DEFAULT_SEEDS: &str = "0:120";

#[test]
fn randomized_files_match_libhdf5() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let seeds = std::env::var("COH5_RANDOMIZED_SEEDS").unwrap_or_else(|_| DEFAULT_SEEDS.into());
    let workdir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("randomized");
    let _ = std::fs::remove_dir_all(&workdir);
    std::fs::create_dir_all(&workdir).expect("work directory");
    // Serves the work directory as a bucket; the faults are well inside the retry budget.
    let faults = Faults {
        seed: 7,
        error_rate: 0.03,
        reset_rate: 0.02,
        truncate_rate: 0.02,
        ..Faults::default()
    };
    let server = Server::start(
        Config::new(workdir.parent().expect("parent"))
            .latency(Duration::from_millis(2))
            .faults(faults),
    )
    .expect("start coh5-store");
    let out = Command::new("python3")
        .arg(root.join("scripts/randomized/check.py"))
        .arg("--coh5")
        .arg(env!("CARGO_BIN_EXE_coh5"))
        .arg("--shared")
        .arg(root.join("../shared"))
        .arg("--seeds")
        .arg(&seeds)
        .arg("--workdir")
        .arg(&workdir)
        .arg("--base-url")
        .arg(server.base_url())
        .output()
        .expect("python3 with h5py must be installed (scripts/test.sh installs it)");
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("{report}{}", String::from_utf8_lossy(&out.stderr));
    let summary = report.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("randomized:"),
        "check.py did not finish"
    );
    assert!(
        out.status.success(),
        "coh5 disagrees with libhdf5 (files kept in {}):\n{report}",
        workdir.display()
    );
}
