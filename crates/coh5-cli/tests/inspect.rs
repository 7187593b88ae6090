//! `coh5 inspect` on the synthetic ICESat-2 ATL03 granules of every layout of Lopez et al. 2024
//! (scripts/atl03/generate.py): the verdict tells the layouts apart, and page size, strategy,
//! per-dataset layout, stored size and chunk statistics, and the metadata size agree with what
//! libhdf5 reports through h5py (scripts/inspect-facts.py): metadata + raw data + tracked free
//! space must account for the whole file to within 0.5 %.
//!
//! The same facts are checked against `h5stat` (Debian's hdf5-tools, installed by scripts/test.sh),
//! the printed `h5repack` command is run on an `original` granule and the result re-inspected,
//! and `--plot` is checked pixel by pixel against the report's metadata extents.
//!
//! Needs Python 3 with numpy and h5py, hdf5-tools (h5stat, h5repack) and `../shared` beside the
//! repository; a missing piece fails the test rather than skipping it.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(what: &str, cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(what: &str, out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: bad JSON: {e}"))
}

fn generate(variant: &str, dir: &Path) -> PathBuf {
    let spec = repo().join("../shared/icesat2/atl03_spec_vars.json");
    assert!(spec.is_file(), "ATL03 spec missing: {}", spec.display());
    let file = dir.join(format!("ATL03_{variant}.h5"));
    run(
        "generate.py",
        Command::new("python3")
            .arg(repo().join("scripts/atl03/generate.py"))
            .args([
                "--variant",
                variant,
                "--photons-per-beam",
                "20000",
                "--seed",
                "3",
            ])
            .arg("--spec")
            .arg(&spec)
            .arg("-o")
            .arg(&file),
    );
    file
}

fn inspect(file: &Path, plot: Option<&Path>) -> Value {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_coh5"));
    cmd.args(["inspect", "--json"]).arg(file);
    if let Some(p) = plot {
        cmd.arg("--plot").arg(p);
    }
    json("coh5 inspect --json", &run("coh5 inspect", &mut cmd))
}

/// Checks one granule and returns coh5's report.
fn check(variant: &str, file: &Path, plot: &Path) -> Value {
    let report = inspect(file, Some(plot));
    let facts = json(
        "inspect-facts.py",
        &run(
            "inspect-facts.py",
            Command::new("python3")
                .arg(repo().join("scripts/inspect-facts.py"))
                .arg(file),
        ),
    );
    assert_eq!(report["errors"], serde_json::json!([]), "{variant}");
    assert_eq!(
        report["file_space"]["strategy"], facts["strategy"],
        "{variant}: strategy"
    );
    assert_eq!(
        report["file_space"]["page_size"], facts["page_size"],
        "{variant}: page size"
    );
    let file_size = facts["file_size"].as_u64().expect("file size");
    assert_eq!(report["format"]["file_size"].as_u64(), Some(file_size));

    let datasets = report["datasets"].as_array().expect("datasets");
    let expected = facts["datasets"].as_object().expect("datasets");
    assert_eq!(datasets.len(), expected.len(), "{variant}: dataset count");
    let mut raw = 0;
    for d in datasets {
        let path = d["path"].as_str().expect("path");
        let e = &expected[path];
        assert_eq!(d["layout"], e["layout"], "{variant} {path}: layout");
        if e["layout"] != "compact" {
            assert_eq!(d["stored_bytes"], e["storage_size"], "{variant} {path}");
            raw += e["storage_size"].as_u64().expect("storage size");
        }
        if e["layout"] == "chunked" {
            assert_eq!(d["chunks"], e["chunks"], "{variant} {path}: chunk count");
            for k in ["min", "median", "max"] {
                assert_eq!(d["chunk_sizes"][k], e[k], "{variant} {path}: chunk {k}");
            }
        }
    }
    let meta = report["metadata"]["bytes"]
        .as_u64()
        .expect("metadata bytes");
    let free = facts["free_space"].as_u64().expect("free space");
    let accounted = meta + raw + free;
    assert!(
        accounted <= file_size && file_size - accounted < file_size / 200,
        "{variant}: metadata {meta} + raw {raw} + free {free} vs file {file_size}"
    );
    report
}

#[test]
fn atl03_layouts_are_told_apart() {
    let dir = std::env::temp_dir().join(format!("coh5-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let expect = [
        ("original", "not"),
        ("page-only-4mb", "partly"),
        ("page-only-8mb", "partly"),
        ("rechunked-4mb", "cloud-optimized"),
        ("rechunked-8mb", "cloud-optimized"),
        ("v7", "cloud-optimized"),
    ];
    for (variant, verdict) in expect {
        let file = generate(variant, &dir);
        let plot = dir.join(format!("{variant}.png"));
        let report = check(variant, &file, &plot);
        assert_eq!(report["verdict"], verdict, "{variant}: verdict");
        let (theirs, ours) = h5stat_agrees(variant, &file, &report);
        eprintln!("{variant}: metadata bytes h5stat {theirs}, coh5 {ours}");
        plot_shows_layout(variant, &plot, &report);
        let command = report["command"].as_str().unwrap_or_default();
        match variant {
            // 2.7 MB of metadata with a quarter to spare: 4 MiB pages, and raw data in a second
            // page, exactly the size libhdf5 gave page-only-4mb.
            "original" => {
                assert!(command.contains("-S PAGE -G 4194304 "), "{command}");
                assert!(command.contains("/gt1l/heights/h_ph"), "{command}");
                assert_eq!(report["predicted"]["file_size"], 8 << 20);
                assert!(report["metadata"]["ranges"].as_u64() > Some(100));
                let open = &report["cost"]["open"];
                assert!(open["libhdf5"]["requests"].as_u64() > open["coh5"]["requests"].as_u64());
            }
            v if v.starts_with("page-only") => {
                assert!(!command.contains("-S PAGE"), "{command}");
                assert!(command.contains(":CHUNK=20000 "), "{command}");
            }
            _ => assert_eq!(command, "", "{variant}"),
        }
        // Both clients read h_ph as its chunks and nothing else: libhdf5 read the B-tree root
        // when h5py opened the dataset during the listing, coh5's walk left that block in its
        // cache (measured through the emulated store in BENCHMARKS.md).
        let h_ph = report["datasets"]
            .as_array()
            .and_then(|d| d.iter().find(|d| d["path"] == "/gt1l/heights/h_ph"))
            .expect("h_ph");
        let chunks = &h_ph["chunks"];
        assert_eq!(
            &h_ph["read_cost"]["libhdf5"]["requests"], chunks,
            "{variant}"
        );
        // coh5's planner joins touching chunks into one request.
        let coh5_requests = h_ph["read_cost"]["coh5"]["requests"]
            .as_u64()
            .expect("requests");
        assert!(
            (1..=chunks.as_u64().expect("chunks")).contains(&coh5_requests),
            "{variant}: {coh5_requests} requests for {chunks} chunks"
        );
        if variant != "original" {
            let first = report["metadata"]["in_first_page"].as_u64().expect("share");
            let bytes = report["metadata"]["bytes"].as_u64().expect("bytes");
            assert!(first * 10 >= bytes * 9, "{variant}: {first} of {bytes}");
            // Only the global heap collections, which libhdf5 allocates as raw data, share a page.
            assert!(report["file_space"]["pages"]["mixed"].as_u64() <= Some(1));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `h5stat` output; a missing h5stat fails the test (scripts/test.sh installs hdf5-tools).
fn h5stat(args: &[&str], file: &Path) -> String {
    let out = run("h5stat", Command::new("h5stat").args(args).arg(file));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The first integer after `label` in `text` ("File metadata: 2637106 bytes" → 2637106).
fn stat(text: &str, label: &str) -> u64 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("h5stat printed no `{label}`:\n{text}"));
    let rest = &text[at + label.len()..];
    let digits: String = rest
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number after `{label}`"))
}

/// coh5's metadata bytes may exceed h5stat's by at most this share of h5stat's: h5stat sums the
/// structures it knows by type and leaves the rest "unaccounted" (on these granules 20–24 KB,
/// e.g. the global heap collections of variable-length strings), while coh5 measures every
/// structure a full walk reads (1.0–1.3 % more measured).
const METADATA_TOLERANCE: f64 = 0.02;

/// Page size, strategy, metadata size, raw data size, layouts and filters of the report
/// against `h5stat -S` and `h5stat -d` on the same file. Returns (h5stat, coh5) metadata bytes.
fn h5stat_agrees(variant: &str, file: &Path, report: &Value) -> (u64, u64) {
    let summary = h5stat(&["-S"], file);
    let strategy = report["file_space"]["strategy"].as_str().expect("strategy");
    assert!(
        summary.contains(&format!(
            "File space management strategy: H5F_FSPACE_STRATEGY_{strategy}\n"
        )),
        "{variant}: strategy {strategy} vs\n{summary}"
    );
    if strategy == "PAGE" {
        assert_eq!(
            report["file_space"]["page_size"].as_u64(),
            Some(stat(&summary, "File space page size:")),
            "{variant}: page size"
        );
    } else {
        assert_eq!(report["file_space"]["page_size"], Value::Null, "{variant}");
    }
    let file_size = report["format"]["file_size"].as_u64().expect("size");
    assert_eq!(stat(&summary, "Total space:"), file_size, "{variant}");

    let theirs = stat(&summary, "File metadata:");
    let ours = report["metadata"]["bytes"].as_u64().expect("metadata");
    assert!(
        ours >= theirs && (ours - theirs) as f64 <= theirs as f64 * METADATA_TOLERANCE,
        "{variant}: metadata h5stat {theirs} vs coh5 {ours}"
    );

    let datasets = report["datasets"].as_array().expect("datasets");
    // Both count compact data as raw data too (h5stat also as part of the object headers).
    assert_eq!(
        Some(stat(&summary, "Raw data:")),
        report["metadata"]["raw_data_bytes"].as_u64(),
        "{variant}: raw data"
    );

    let dsets = h5stat(&["-d"], file);
    for (layout, label) in [
        ("compact", "COMPACT"),
        ("contiguous", "CONTIG"),
        ("chunked", "CHUNKED"),
        ("virtual", "VIRTUAL"),
    ] {
        let n = datasets.iter().filter(|d| d["layout"] == layout).count() as u64;
        assert_eq!(
            stat(&dsets, &format!("Dataset layout counts[{label}]:")),
            n,
            "{variant}: {layout} datasets"
        );
    }
    let with = |filter: &str| -> u64 {
        datasets
            .iter()
            .filter(|d| {
                d["filters"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|x| x == filter))
            })
            .count() as u64
    };
    let unfiltered = datasets
        .iter()
        .filter(|d| d["filters"].as_array().is_none_or(Vec::is_empty))
        .count() as u64;
    assert_eq!(stat(&dsets, "NO filter:"), unfiltered, "{variant}");
    assert_eq!(stat(&dsets, "GZIP filter:"), with("deflate"), "{variant}");
    assert_eq!(
        stat(&dsets, "SHUFFLE filter:"),
        with("shuffle"),
        "{variant}"
    );
    assert_eq!(
        stat(&dsets, "FLETCHER32 filter:"),
        with("fletcher32"),
        "{variant}"
    );
    (theirs, ours)
}

/// The layout picture has metadata red at every metadata extent (in the whole-file strip and
/// in the wrapped rows), the largest variable's colour somewhere, and the metadata where the
/// layout puts it: through the whole file for `original`, in the first page when paged (all but a
/// few columns: paged aggregation still places the odd late metadata block, such as a global heap
/// collection written after the raw data, in a later page).
fn plot_shows_layout(variant: &str, plot: &Path, report: &Value) {
    use coh5_plot::layout::{overview_pixel, row_pixel, STRIP_WIDTH, STRIP_X0, WIDTH};
    use coh5_plot::palette::{METADATA, SERIES};
    let (w, h, px) = common::decode_png(plot);
    assert_eq!(w, WIDTH, "{variant}");
    let at = |(x, y): (u32, u32)| -> [u8; 3] {
        assert!(x < w && y < h, "{variant}: ({x}, {y}) outside {w}×{h}");
        let i = (y as usize * w as usize + x as usize) * 3;
        [px[i], px[i + 1], px[i + 2]]
    };
    let size = report["format"]["file_size"].as_u64().expect("size");
    let extents = report["metadata"]["extents"].as_array().expect("extents");
    for e in extents {
        let start = e[0].as_u64().expect("start");
        assert_eq!(at(overview_pixel(start, size)), METADATA, "{variant} {e}");
        assert_eq!(at(row_pixel(start, size)), METADATA, "{variant} {e}");
    }
    let y = overview_pixel(0, size).1;
    let columns = |c: [u8; 3]| -> Vec<u32> {
        (STRIP_X0..STRIP_X0 + STRIP_WIDTH)
            .filter(|&x| at((x, y)) == c)
            .collect()
    };
    assert!(
        !columns(SERIES[0]).is_empty(),
        "{variant}: no dataset colour"
    );
    let red = columns(METADATA);
    let tenths: std::collections::BTreeSet<u32> = red
        .iter()
        .map(|x| (x - STRIP_X0) * 10 / STRIP_WIDTH)
        .collect();
    match report["file_space"]["page_size"].as_u64() {
        None => assert_eq!(tenths.len(), 10, "{variant}: metadata in tenths {tenths:?}"),
        Some(page) => {
            let first_page_end = overview_pixel(page, size).0;
            let outside = red.iter().filter(|&&x| x > first_page_end).count();
            assert!(
                outside * 20 <= red.len(),
                "{variant}: {outside} of {} metadata columns beyond the first page",
                red.len()
            );
        }
    }
}

/// Following the recommendation: the printed `h5repack` command, run verbatim on an `original`
/// granule, gives a file that `coh5 inspect` calls cloud-optimized, no larger than predicted.
#[test]
fn printed_repack_command_makes_original_cloud_optimized() {
    let dir = std::env::temp_dir().join(format!("coh5-inspect-repack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = generate("original", &dir);
    let before = inspect(&file, None);
    let command = before["command"].as_str().expect("a command for original");
    run(
        "the printed h5repack command",
        Command::new("sh").arg("-c").arg(command).current_dir(&dir),
    );
    let repacked = dir.join("repacked.h5");
    let after = inspect(&repacked, None);
    assert_eq!(
        after["verdict"], "cloud-optimized",
        "{command}\n{:#}",
        after["reasons"]
    );
    let original = before["format"]["file_size"].as_u64().expect("size");
    let predicted = before["predicted"]["file_size"]
        .as_u64()
        .expect("prediction");
    let actual = std::fs::metadata(&repacked).expect("repacked").len();
    let page = before["predicted"]["page_size"].as_u64().expect("page");
    eprintln!(
        "original {original} B, predicted {predicted} B ({:+.1} %), repacked {actual} B ({:+.1} %)",
        before["predicted"]["size_change_percent"],
        (actual as f64 / original as f64 - 1.0) * 100.0
    );
    // Both sizes are whole pages. Rechunking changes the compressed raw data by well under a
    // page (3.39 MB → 3.38 MB here), so the repacked file must be within the predicted size and
    // at most one page smaller: the prediction is an upper bound that is not loose.
    assert!(
        actual <= predicted,
        "repacked {actual} B, predicted {predicted} B"
    );
    assert!(
        predicted - actual <= page,
        "repacked {actual} B, predicted {predicted} B"
    );
    // The predicted open-and-list speed-up is what inspecting the repacked file then prices,
    // within 25 % (the repacked metadata is slightly larger: h5repack rewrites every structure).
    let speedup = before["predicted"]["open_speedup"]
        .as_f64()
        .expect("speed-up");
    let seconds = |r: &Value| r["cost"]["open"]["coh5"]["seconds"].as_f64().expect("open");
    let priced = seconds(&before) / seconds(&after);
    eprintln!("open-and-list speed-up predicted ×{speedup:.1}, priced after repack ×{priced:.1}");
    assert!(speedup > 1.0, "{speedup}");
    assert!(
        (speedup / priced - 1.0).abs() <= 0.25,
        "{speedup} vs {priced}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
