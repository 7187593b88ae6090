//! `coh5 get` over HTTP against `coh5-store` serving the bundled sample granule (8 MiB pages,
//! 2.6 MiB of metadata at the front): it opens with 2 MiB instead of the 4 MiB of a walk,
//! fetches only the metadata blocks its paths touch, fetches the chunks the first read already
//! locates together with the metadata that confirms them, and returns the values a local read
//! does. Files made by the scripts beside this one check the reads (and a listing) of other
//! layouts by their round trips and bytes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use coh5_store::{Config, RunningServer, Server};

/// How long the store waits before answering in the tests that count round trips, so that
/// requests made together overlap however fast the machine is.
const STORE_LATENCY: Duration = Duration::from_millis(50);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `coh5 ARGS...`, which must succeed; returns its stdout.
fn coh5<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_coh5"))
        .args(args)
        .output()
        .expect("run coh5");
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
    assert!(
        out.status.success(),
        "coh5 {shown:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Runs `coh5 --trace TRACE ARGS...`; returns stdout and the trace's rows as
/// (offset, bytes received, purpose).
fn traced(args: &[&str], trace: &Path) -> (Vec<u8>, Vec<(u64, u64, String)>) {
    let trace_arg = trace.to_string_lossy();
    let stdout = coh5(&[&["--trace", trace_arg.as_ref()][..], args].concat());
    let csv = std::fs::read_to_string(trace).expect("trace written");
    let rows = csv
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (
                f[3].parse().expect("offset"),
                f[5].parse().expect("bytes"),
                f[6].to_string(),
            )
        })
        .collect();
    (stdout, rows)
}

fn metadata_bytes(rows: &[(u64, u64, String)]) -> u64 {
    rows.iter()
        .filter(|(_, _, purpose)| purpose != "raw-data")
        .map(|(_, bytes, _)| bytes)
        .sum()
}

#[test]
fn get_reads_the_metadata_its_paths_touch_and_the_values_of_a_local_read() {
    let server = Server::start(Config::new(repo())).expect("start coh5-store");
    let url = server.url("samples", "ATL03_sample.h5");
    let dir = std::env::temp_dir().join(format!("coh5-get-remote-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let paths = ["/gt1l/heights/h_ph", "/gt2r/heights/lat_ph"];

    let (_, walk) = traced(&["ls", "-r", &url], &dir.join("walk.csv"));
    let (remote, get) = traced(
        &[&["get", url.as_str()][..], &paths, &["--format", "json"]].concat(),
        &dir.join("get.csv"),
    );

    // A walk's open fetches the first 4 MiB in four parallel GETs; a read of two paths 2 MiB,
    // in four GETs of 512 KiB.
    assert_eq!(
        walk.iter().filter(|r| r.2 == "superblock").count(),
        4,
        "{walk:?}"
    );
    let part = 512 << 10;
    let first: Vec<_> = (0..4)
        .map(|k| (k * part, part, "superblock".to_string()))
        .collect();
    assert_eq!(get[..4], first, "{get:?}");
    assert!(
        !get.iter().any(|r| r.0 == 2 << 20 && r.2 == "superblock"),
        "no speculative part follows the first 2 MiB: {get:?}"
    );
    let (read, listed) = (metadata_bytes(&get), metadata_bytes(&walk));
    assert!(
        read < listed && read <= 3 << 20,
        "the read fetched {read} bytes of metadata, the walk {listed}: {get:?}"
    );
    assert!(get.iter().any(|r| r.2 == "raw-data"), "{get:?}");

    let file = repo().join("samples/ATL03_sample.h5");
    let file = file.to_string_lossy();
    let local = coh5(&[&["get", file.as_ref()][..], &paths, &["--format", "json"]].concat());
    assert_eq!(
        String::from_utf8_lossy(&remote),
        String::from_utf8_lossy(&local),
        "the same values over HTTP as from the local file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every group's symbol table message lies in the continuation libhdf5 writes at close, next
/// to the superblock extension, but the groups' names, the dataset's header and its chunk
/// tree are in the first 2 MiB: the chunks are fetched together with that continuation, so a
/// whole dataset costs the first read and one more round trip. A slice is read once the
/// continuation has confirmed the path: a third. (The store answers after 50 ms, so requests
/// made together overlap however fast the machine is.)
#[test]
fn one_path_takes_two_round_trips_and_a_slice_three() {
    let server =
        Server::start(Config::new(repo()).latency(STORE_LATENCY)).expect("start coh5-store");
    let url = server.url("samples", "ATL03_sample.h5");
    let whole = get_in_round_trips(&url, "/gt1l/heights/h_ph", 2, &[]);
    let sliced = get_in_round_trips(&url, "/gt1l/heights/h_ph", 3, &["--slice", ":"]);
    assert_eq!(whole, sliced);
}

/// Runs `coh5 --stats get URL PATH --format json`, which must succeed with `round_trips` on
/// the critical path; returns its stdout.
fn get_in_round_trips(url: &str, path: &str, round_trips: usize, more: &[&str]) -> String {
    let (stdout, took) = get_with_stats(url, path, more);
    assert_eq!(took, round_trips, "{path}");
    stdout
}

/// Runs `coh5 --stats get URL PATH --format json MORE...`, which must succeed; returns its
/// stdout and the round trips on the critical path it reports.
fn get_with_stats(url: &str, path: &str, more: &[&str]) -> (String, usize) {
    let args = [&["get", url, path, "--format", "json"][..], more].concat();
    let (stdout, took) = with_stats(&args, "round trips on the critical path");
    (stdout, took as usize)
}

/// Runs `coh5 --stats ARGS...`, which must succeed; returns its stdout and the figure of its
/// `--stats` line that `what` names (`bytes fetched`, `round trips on the critical path`).
fn with_stats(args: &[&str], what: &str) -> (String, u64) {
    let out = Command::new(env!("CARGO_BIN_EXE_coh5"))
        .arg("--stats")
        .args(args)
        .output()
        .expect("run coh5");
    let stats = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stats}");
    let suffix = format!(" {what}");
    let figure = stats
        .split(", ")
        .find_map(|part| part.strip_suffix(suffix.as_str()))
        .and_then(|n| n.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {what} in {stats}"));
    (String::from_utf8_lossy(&out.stdout).into_owned(), figure)
}

/// Writes `dir/b/name` with the Python script `script` (which takes the output path) and
/// serves `dir` with coh5-store, answering after `latency`.
fn serve_made(script: &str, dir: &Path, name: &str, latency: Duration) -> (RunningServer, String) {
    std::fs::create_dir_all(dir.join("b")).unwrap();
    let made = Command::new("python3")
        .arg(repo().join("crates/coh5-cli/tests").join(script))
        .arg(dir.join("b").join(name))
        .output()
        .expect("python3 with h5py must be installed (scripts/test.sh installs it)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let server =
        Server::start(Config::new(dir.to_path_buf()).latency(latency)).expect("start coh5-store");
    let url = server.url("b", name);
    (server, url)
}

/// In a file written without aggregated metadata, a dataset's header continuation and the
/// leaves of its chunk tree lie far from its header and from each other: the leaves, which
/// the tree's root (next to the header) names, are asked for with the continuation, so the
/// read costs the first read, that one wave and the chunks.
#[test]
fn a_distant_continuation_and_the_chunk_tree_leaves_come_in_one_round_trip() {
    let dir = std::env::temp_dir().join(format!("coh5-far-continuation-{}", std::process::id()));
    let (_server, url) = serve_made("far_continuation.py", &dir, "far.h5", STORE_LATENCY);
    let got = get_in_round_trips(&url, "/d", 3, &[]);
    let values: Vec<i64> = (0..3200).collect();
    assert_eq!(got, format!("{{\"/d\":{values:?}}}\n").replace(' ', ""));
    let _ = std::fs::remove_dir_all(&dir);
}

/// In a file that grew by appends, in the latest format, the root's links are in dense storage
/// (a name B-tree over a fractal heap) and the chunk indexes of `/ea` (an extensible array with
/// secondary blocks) and `/bt2` (a version 2 B-tree of depth 2) are spread over 20 MB. Each
/// level of each structure is asked for in one wave: the reads take 6 and 5 round trips, where
/// fetching each block as it was needed took 11 and 15. (The store answers after 50 ms.)
#[test]
fn dense_links_and_latest_format_chunk_indexes_are_read_a_level_at_a_time() {
    let dir = std::env::temp_dir().join(format!("coh5-spread-indexes-{}", std::process::id()));
    let (_server, url) = serve_made("spread_indexes.py", &dir, "spread.h5", STORE_LATENCY);
    let values: Vec<i32> = (0..4800).collect();

    let (ea, took) = get_with_stats(&url, "/ea", &[]);
    assert!(took <= 6, "/ea took {took} round trips");
    assert_eq!(ea, format!("{{\"/ea\":{values:?}}}\n").replace(' ', ""));

    let (bt2, took) = get_with_stats(&url, "/bt2", &[]);
    assert!(took <= 5, "/bt2 took {took} round trips");
    let rows: Vec<&[i32]> = values.chunks(4).collect();
    assert_eq!(bt2, format!("{{\"/bt2\":{rows:?}}}\n").replace(' ', ""));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The characters of variable-length strings live in global heap collections, some 200 for
/// these 100,000 strings: they are fetched together once the elements name them, so the read
/// takes 4 round trips, where looking each collection up as an element needed it took 36.
#[test]
fn the_heap_collections_of_variable_length_strings_come_in_one_wave() {
    let dir = std::env::temp_dir().join(format!("coh5-vlen-strings-{}", std::process::id()));
    let (_server, url) = serve_made("vlen_strings.py", &dir, "vs.h5", STORE_LATENCY);
    let (got, took) = get_with_stats(&url, "/s", &[]);
    assert!(took <= 4, "/s took {took} round trips");
    let values: Vec<String> = (0..100_000)
        .map(|i| format!("string number {i} {}", "x".repeat(i % 50)))
        .collect();
    assert_eq!(got, format!("{{\"/s\":{values:?}}}\n").replace(", ", ","));
    let _ = std::fs::remove_dir_all(&dir);
}

/// In a file without pages whose headers lie between raw data (variables written as they are
/// made), a listing fetches the metadata blocks it needs, not the data around them: 128 KiB
/// blocks bring about 7 MB of the 31 MB file (the first 4 MiB included), where 512 KiB blocks
/// brought 16 MB in as many round trips.
#[test]
fn a_listing_of_an_unpaged_file_fetches_its_headers_not_the_data_between_them() {
    let dir = std::env::temp_dir().join(format!("coh5-spread-headers-{}", std::process::id()));
    let (_server, url) = serve_made("spread_headers.py", &dir, "sh.h5", STORE_LATENCY);
    let (listing, fetched) = with_stats(&["ls", "-r", "-l", &url], "bytes fetched");
    assert!(fetched <= 8_000_000, "{fetched} bytes fetched");

    for g in 0..24 {
        for v in 0..4 {
            let line = format!("/g{g:02}/v{v}  Dataset {{40000}} <f8  contiguous\n");
            assert!(listing.contains(&line), "{line} missing from {listing}");
        }
    }
    assert_eq!(listing.matches("Attribute: long_name").count(), 96);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A long listing of one variable shows its dimension list by the scale's path. The scale is
/// a sibling with a single hard link, so the links read to reach the variable name it: the
/// listing takes the open's round trip, the group's names and the dimension list's heap
/// collection, not a walk of the whole granule to index every path.
#[test]
fn one_variable_names_its_dimension_scale_without_walking_the_file() {
    let server = Server::start(Config::new(repo()).latency(STORE_LATENCY)).expect("coh5-store");
    let url = server.url("samples", "ATL03_sample.h5");
    let args = ["ls", "-l", url.as_str(), "/gt1l/heights/h_ph"];
    let (listing, took) = with_stats(&args, "round trips on the critical path");
    assert!(
        listing.ends_with("    Attribute: DIMENSION_LIST {1} |O = [[/gt1l/heights/delta_time]]\n"),
        "{listing}"
    );
    assert!(took <= 3, "the listing took {took} round trips");
}

/// A long listing shows attribute values, and h5py's string attributes keep theirs in global
/// heap collections that libhdf5 makes among the raw data (here nine, 1.9 MB apart): the walk
/// asks for all of them in one wave once it has the attributes, instead of one round trip per
/// collection as the listing reaches them. A manifest walks the same way: 13 round trips
/// before it prefetched the tree, 8 now.
#[test]
fn attribute_values_in_scattered_global_heaps_come_in_one_wave() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("spread-attribute-heaps");
    let (_server, url) = serve_made("spread_attribute_heaps.py", &dir, "sah.h5", STORE_LATENCY);
    let walk = ["ls", "-r", "-l", url.as_str()];
    let (listing, took) = with_stats(&walk, "round trips on the critical path");
    assert!(took <= 8, "the listing took {took} round trips");
    assert!(listing.starts_with(
        "/  Group\n    Attribute: title SCALAR |O = \"attributes in global heaps\"\n"
    ));
    assert!(listing.contains("/g07  Group\n    Attribute: about SCALAR |O = \"group 7\"\n"));
    let x = "x".repeat(62);
    let line =
        format!("    Attribute: comment SCALAR |O = \"comment of variable 2 in group 11: {x}\"\n");
    assert!(listing.contains(&line), "{line} missing from {listing}");
    assert_eq!(listing.matches(" |O = \"").count(), 1 + 12 + 12 * 4 * 6);

    let dump = ["dump", "--manifest", "--skip-data", url.as_str()];
    let (_, took) = with_stats(&dump, "round trips on the critical path");
    assert!(took <= 8, "the manifest took {took} round trips");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A dataset whose attributes were added after other data continues its header far away; its
/// data (and chunk tree) lie next to the header, in the first read. The data goes out with the
/// continuation, and the read takes it once the header is whole: two round trips, not three.
#[test]
fn data_next_to_a_header_comes_with_its_distant_continuation() {
    let dir = std::env::temp_dir().join(format!("coh5-late-attributes-{}", std::process::id()));
    let (_server, url) = serve_made("late_attributes.py", &dir, "late.h5", STORE_LATENCY);
    let values: Vec<i32> = (0..100_000).collect();
    for path in ["/c", "/k"] {
        let got = get_in_round_trips(&url, path, 2, &[]);
        assert_eq!(got, format!("{{\"{path}\":{values:?}}}\n").replace(' ', ""));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
