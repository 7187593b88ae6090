//! `coh5 subset --plot` on the bundled sample granule: the PNG decodes at the documented size,
//! shows each strong beam (or each kept confidence level) in its colour in the profile and the
//! map, and the columns read only for the picture stay out of the output file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use coh5_plot::photons::{beam_colour, confidence_colour, HEIGHT, PROFILE_WIDTH, WIDTH};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn sample() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/ATL03_sample.h5");
    assert!(p.is_file(), "sample granule missing: {}", p.display());
    p
}

fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("coh5-cli-subset-plot");
    std::fs::create_dir_all(&d).expect("temp dir");
    d.join(name)
}

fn subset(extra: &[&str], out: &Path, plot: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coh5"))
        .arg("subset")
        .arg(sample())
        .args(["--bbox=-66.5,-68.5,-66.0,-67.0", "--beams", "strong"])
        .args(extra)
        .arg("-o")
        .arg(out)
        .arg("--plot")
        .arg(plot)
        .output()
        .expect("run coh5")
}

/// Pixels of colour `c` in the columns `xs`.
fn count(img: &(u32, u32, Vec<u8>), xs: std::ops::Range<u32>, c: [u8; 3]) -> usize {
    let (w, h, px) = img;
    xs.flat_map(|x| (0..*h).map(move |y| (y as usize * *w as usize + x as usize) * 3))
        .filter(|&i| px[i..i + 3] == c)
        .count()
}

fn columns(parquet: &Path) -> Vec<String> {
    let r = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(parquet).unwrap())
        .expect("parquet");
    r.schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

#[test]
fn beams_are_drawn_in_their_colours() {
    let (out, plot) = (tmp("beams.parquet"), tmp("beams.png"));
    let o = subset(&[], &out, &plot);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let img = common::decode_png(&plot);
    assert_eq!((img.0, img.1), (WIDTH, HEIGHT));
    let stderr = String::from_utf8_lossy(&o.stderr);
    // The strong beams of the sample (sc_orient decides which); each kept photons.
    let strong: Vec<&str> = ["gt1l", "gt1r", "gt2l", "gt2r", "gt3l", "gt3r"]
        .into_iter()
        .filter(|b| stderr.contains(&format!("{b} ")))
        .collect();
    assert_eq!(strong.len(), 3, "{stderr}");
    for b in strong {
        let c = beam_colour(b);
        assert!(count(&img, 0..PROFILE_WIDTH, c) > 100, "{b} in the profile");
        assert!(count(&img, PROFILE_WIDTH..WIDTH, c) > 10, "{b} on the map");
    }
}

#[test]
fn confidence_colours_and_plot_only_columns_stay_out() {
    let (out, plot) = (tmp("conf.parquet"), tmp("conf.png"));
    let o = subset(
        &["--signal-conf", "3,4", "--vars", "delta_time"],
        &out,
        &plot,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        columns(&out),
        ["granule", "beam", "photon_index", "delta_time"],
        "the plot's lat_ph/lon_ph/h_ph/signal_conf must not reach the output"
    );
    let img = common::decode_png(&plot);
    for level in [3, 4] {
        assert!(
            count(&img, 0..PROFILE_WIDTH, confidence_colour(level)) > 100,
            "level {level}"
        );
    }
    // Filtered out (level 0's grey could also be antialiased text, so only the hues count).
    for level in [1, 2] {
        assert_eq!(count(&img, 0..PROFILE_WIDTH, confidence_colour(level)), 0);
    }
}

#[test]
fn plot_must_be_png() {
    let o = subset(&[], &tmp("x.parquet"), &tmp("x.jpg"));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("PNG"));
}
