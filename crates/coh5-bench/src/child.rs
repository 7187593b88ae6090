//! `coh5-bench read-one`: one timed full read of one dataset with coh5, in its own process.
//!
//! Prints one line of `key=value` fields, the same fields the h5py child script prints, so the
//! parent treats both alike: the read time, peak and baseline resident memory, bytes read, and
//! the stored size of one chunk (the memory target allows one chunk per thread).

use std::time::Instant;

use coh5::format::message::layout::Layout;
use coh5::{Object, Selection};

pub fn run(args: &[String]) -> Result<(), String> {
    let [file, dataset, threads] = args else {
        return Err("read-one takes FILE DATASET THREADS".into());
    };
    let threads: usize = threads
        .parse()
        .map_err(|_| format!("THREADS must be a number, not {threads:?}"))?;
    // The decoding pool is rayon's global pool; sizing it is what "threads" means here.
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| format!("cannot size the rayon pool: {e}"))?;
    let f = coh5::File::open(file).map_err(|e| e.to_string())?;
    let Object::Dataset(d) = f.object(dataset).map_err(|e| e.to_string())? else {
        return Err(format!("{dataset} is not a dataset"));
    };
    let shape = d.dataspace().map_err(|e| e.to_string())?.dims;
    let element = u64::from(d.datatype().map_err(|e| e.to_string())?.size);
    let chunk_bytes = match d.layout().map_err(|e| e.to_string())? {
        Layout::Chunked { chunk_dims, .. } => chunk_dims.iter().product::<u64>() * element,
        _ => 0,
    };
    let sel = Selection::all(&shape);
    let baseline = status_kib("VmRSS")?;
    let started = Instant::now();
    let data = d.read_raw(&sel).map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    let peak = status_kib("VmHWM")?;
    println!(
        "seconds={seconds:.6} peak_kib={peak} baseline_kib={baseline} bytes={} \
         chunk_bytes={chunk_bytes} version=coh5-{}",
        data.len(),
        env!("CARGO_PKG_VERSION")
    );
    Ok(())
}

/// A memory field of /proc/self/status in KiB (VmRSS: now; VmHWM: the peak so far).
fn status_kib(field: &str) -> Result<u64, String> {
    let text = std::fs::read_to_string("/proc/self/status")
        .map_err(|e| format!("cannot read /proc/self/status: {e}"))?;
    text.lines()
        .filter_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .find_map(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("no {field} in /proc/self/status"))
}
