//! `coh5 subset` end to end on the bundled sample granule (samples/ATL03_sample.h5, v007
//! layout): the same photons land in Parquet, CSV and Arrow IPC files (read back here with the
//! Parquet and Arrow readers), and a granule that fails is reported while the others are
//! written. Row-for-row correctness against h5py is the coh5-icesat2 reference test's job.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn sample() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/ATL03_sample.h5");
    assert!(p.is_file(), "sample granule missing: {}", p.display());
    p
}

fn subset(sources: &[&Path], out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coh5"))
        .arg("subset")
        .args(sources)
        .args(["--bbox=-66.5,-68.5,-66.0,-67.0", "--beams", "strong"])
        .args([
            "--signal-conf",
            "3,4",
            "--vars",
            "lat_ph,lon_ph,h_ph,delta_time",
        ])
        .arg("-o")
        .arg(out)
        .output()
        .expect("run coh5")
}

fn tmp(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("coh5-cli-subset");
    std::fs::create_dir_all(&d).expect("temp dir");
    d.join(name)
}

#[test]
fn parquet_csv_and_arrow_hold_the_same_rows() {
    let mut counts = Vec::new();
    for ext in ["parquet", "csv", "arrow"] {
        let out = tmp(&format!("s.{ext}"));
        let o = subset(&[&sample()], &out);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains("photons kept"), "{stderr}");
        let rows = match ext {
            "parquet" => {
                let r =
                    ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&out).unwrap())
                        .unwrap()
                        .build()
                        .unwrap();
                r.map(|b| b.unwrap().num_rows()).sum::<usize>()
            }
            "arrow" => {
                let r = arrow_ipc::reader::FileReader::try_new(
                    std::fs::File::open(&out).unwrap(),
                    None,
                )
                .unwrap();
                let names: Vec<String> = r
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                assert_eq!(
                    names,
                    [
                        "granule",
                        "beam",
                        "photon_index",
                        "lat_ph",
                        "lon_ph",
                        "h_ph",
                        "delta_time"
                    ]
                );
                r.map(|b| b.unwrap().num_rows()).sum::<usize>()
            }
            _ => std::fs::read_to_string(&out).unwrap().lines().count() - 1,
        };
        counts.push(rows);
    }
    assert!(counts[0] > 1000, "{counts:?}");
    assert!(counts.iter().all(|&c| c == counts[0]), "{counts:?}");
}

#[test]
fn a_failing_granule_is_reported_and_the_others_written() {
    let out = tmp("partial.csv");
    let missing = tmp("no-such-granule.h5");
    let o = subset(&[&sample(), &missing, &sample()], &out);
    assert!(!o.status.success(), "a failed granule fails the run");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("no-such-granule.h5: FAILED"), "{stderr}");
    assert!(stderr.contains("1 of 3 granules failed"), "{stderr}");
    let lines = std::fs::read_to_string(&out).unwrap().lines().count();
    assert!(lines > 2000, "both good granules written: {lines} lines");
}

#[test]
fn bad_requests_fail_before_reading() {
    let o = subset(&[&sample()], &tmp("s.txt"));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains(".parquet, .csv or .arrow"));
    let o = Command::new(env!("CARGO_BIN_EXE_coh5"))
        .args(["subset", "x.h5", "--bbox", "1,2,3", "-o"])
        .arg(tmp("t.csv"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("W,S,E,N"));
}
