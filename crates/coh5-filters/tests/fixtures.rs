//! Decodes every stored chunk listed in tests/fixtures/index.tsv (made by make_fixtures.py with h5py,
//! hdf5plugin and libhdf5) and compares the result with libhdf5's decoding, byte for byte, over the
//! part of each chunk inside the dataset extent.

use coh5_filters::{decode_pipeline, FilterSpec};
use std::io::Read;
use std::path::PathBuf;

struct Filter {
    id: u16,
    flags: u16,
    name: Vec<u8>,
    cd: Vec<u32>,
}

fn parse_pipeline(s: &str) -> Vec<Filter> {
    s.split(';')
        .map(|item| {
            let parts: Vec<&str> = item.split('/').collect();
            let name = (0..parts[2].len() / 2)
                .map(|i| u8::from_str_radix(&parts[2][2 * i..2 * i + 2], 16).unwrap())
                .collect();
            let cd = if parts[3].is_empty() {
                Vec::new()
            } else {
                parts[3].split(',').map(|v| v.parse().unwrap()).collect()
            };
            Filter {
                id: parts[0].parse().unwrap(),
                flags: parts[1].parse().unwrap(),
                name,
                cd,
            }
        })
        .collect()
}

fn shape(s: &str) -> Vec<usize> {
    s.split(',').map(|v| v.parse().unwrap()).collect()
}

/// Byte ranges of the valid (in-extent) region of a C-order chunk.
fn valid_ranges(chunk: &[usize], valid: &[usize], esize: usize) -> Vec<(usize, usize)> {
    let rank = chunk.len();
    let row = valid[rank - 1] * esize;
    let mut ranges = Vec::new();
    let outer: usize = valid[..rank - 1].iter().product();
    let mut idx = vec![0usize; rank.saturating_sub(1)];
    for _ in 0..outer {
        let mut lin = 0;
        for d in 0..rank - 1 {
            lin = lin * chunk[d] + idx[d];
        }
        let start = lin * chunk[rank - 1] * esize;
        ranges.push((start, start + row));
        for d in (0..rank - 1).rev() {
            idx[d] += 1;
            if idx[d] < valid[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    ranges
}

#[test]
fn fixtures_match_libhdf5() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let index = std::fs::read_to_string(dir.join("index.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in index.lines().skip(1).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (case, stem, mask, esize) = (
            cols[0],
            cols[1],
            cols[2].parse::<u32>().unwrap(),
            cols[3].parse::<usize>().unwrap(),
        );
        let (chunk, valid) = (shape(cols[4]), shape(cols[5]));
        let pipeline = parse_pipeline(cols[6]);
        let specs: Vec<FilterSpec> = pipeline
            .iter()
            .map(|f| FilterSpec {
                id: f.id,
                name: Some(&f.name),
                flags: f.flags,
                client_data: &f.cd,
            })
            .collect();
        let stored = std::fs::read(dir.join("chunks").join(format!("{stem}.stored"))).unwrap();
        let mut expected = Vec::new();
        flate2::read::ZlibDecoder::new(
            std::fs::File::open(dir.join("chunks").join(format!("{stem}.raw.z"))).unwrap(),
        )
        .read_to_end(&mut expected)
        .unwrap();
        checked += 1;
        match decode_pipeline(&specs, mask, stored, esize, expected.len()) {
            Err(e) => failures.push(format!("{case} ({stem}): {e}")),
            Ok(got) => {
                if got.len() != expected.len() {
                    failures.push(format!(
                        "{case} ({stem}): {} bytes, expected {}",
                        got.len(),
                        expected.len()
                    ));
                    continue;
                }
                for (a, b) in valid_ranges(&chunk, &valid, esize) {
                    if got[a..b] != expected[a..b] {
                        let first = (a..b).find(|&i| got[i] != expected[i]).unwrap();
                        failures.push(format!("{case} ({stem}): first difference at byte {first}"));
                        break;
                    }
                }
            }
        }
    }
    assert!(checked > 300, "only {checked} fixtures");
    assert!(
        failures.is_empty(),
        "{} of {checked} chunks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Truncated and bit-flipped versions of every fixture must give errors or wrong data, never panics.
/// `COH5_FUZZ_ROUNDS` raises the number of bit-flipped variants per chunk (default 12).
#[test]
fn corrupted_fixtures_do_not_panic() {
    let rounds: usize = std::env::var("COH5_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let index = std::fs::read_to_string(dir.join("index.tsv")).unwrap();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for line in index.lines().skip(1).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (stem, esize) = (cols[1], cols[3].parse::<usize>().unwrap());
        let chunk_len: usize = shape(cols[4]).iter().product::<usize>() * esize;
        let pipeline = parse_pipeline(cols[6]);
        let specs: Vec<FilterSpec> = pipeline
            .iter()
            .map(|f| FilterSpec {
                id: f.id,
                name: Some(&f.name),
                flags: f.flags,
                client_data: &f.cd,
            })
            .collect();
        let stored = std::fs::read(dir.join("chunks").join(format!("{stem}.stored"))).unwrap();
        for cut in [
            0,
            1,
            4,
            12,
            16,
            21,
            40,
            stored.len() / 2,
            stored.len().saturating_sub(1),
        ] {
            let cut = cut.min(stored.len());
            let _ = decode_pipeline(&specs, 0, stored[..cut].to_vec(), esize, chunk_len);
        }
        for _ in 0..rounds {
            let mut bad = stored.clone();
            if bad.is_empty() {
                break;
            }
            for _ in 0..(1 + next() % 3) {
                let at = (next() % bad.len() as u64) as usize;
                bad[at] ^= 1 << (next() % 8);
            }
            if let Ok(out) = decode_pipeline(&specs, 0, bad, esize, chunk_len) {
                assert!(out.len() <= chunk_len);
            }
        }
    }
}
