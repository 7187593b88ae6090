//! One slow request does not hold back the rest of a read.
//!
//! A read fetches its chunks in batches under a window of bytes that may wait for decoding. A
//! request that stalls (a slow object-store node, a retry) must not keep the other batches'
//! chunks from being decoded, or their room in the window is never given back and the read
//! stops fetching until the stalled request ends. Here the first chunk's request is held until
//! a dozen other chunks have been fetched, far more than the window holds: the read completes
//! only if chunks behind the stalled one are decoded while it waits.

use std::ops::Range;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use bytes::Bytes;
use coh5::{ByteSource, File, Object, Selection};
use coh5_io::{MemorySource, Stats};
use tokio::sync::Notify;

/// Chunks of 64 KiB each.
const CHUNKS: usize = 64;
const CHUNK_ELEMENTS: usize = 16384;
/// Four chunks' worth of fetched-but-undecoded bytes at most.
const WINDOW: u64 = 4 * 65536;
/// Chunks fetched behind the stalled one before it is let through.
const RELEASE_AFTER: usize = 12;

const WRITER: &str = r#"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("d", data=np.arange(int(sys.argv[2]), dtype=np.int32),
                     chunks=(int(sys.argv[3]),))
"#;

/// A source over the file's bytes that, once armed, holds its next read until
/// [`RELEASE_AFTER`] later reads have completed.
#[derive(Debug)]
struct Staller {
    inner: MemorySource,
    armed: AtomicBool,
    done_behind: AtomicUsize,
    progress: Notify,
}

#[async_trait::async_trait]
impl ByteSource for Staller {
    fn location(&self) -> &str {
        self.inner.location()
    }

    async fn size(&self) -> coh5_io::Result<u64> {
        self.inner.size().await
    }

    async fn read_range(&self, range: Range<u64>) -> coh5_io::Result<Bytes> {
        if self.armed.swap(false, Ordering::SeqCst) {
            while self.done_behind.load(Ordering::SeqCst) < RELEASE_AFTER {
                let wake = self.progress.notified();
                if self.done_behind.load(Ordering::SeqCst) >= RELEASE_AFTER {
                    break;
                }
                wake.await;
            }
            return self.inner.read_range(range).await;
        }
        let bytes = self.inner.read_range(range).await;
        self.done_behind.fetch_add(1, Ordering::SeqCst);
        self.progress.notify_waiters();
        bytes
    }

    fn read_ahead(&self) -> u64 {
        WINDOW
    }

    fn stats(&self) -> &Stats {
        self.inner.stats()
    }
}

#[test]
fn chunks_behind_a_stalled_request_are_decoded_while_it_waits() {
    let path = std::env::temp_dir().join(format!("coh5-stalled-{}.h5", std::process::id()));
    let status = Command::new("python3")
        .args(["-c", WRITER])
        .arg(&path)
        .arg((CHUNKS * CHUNK_ELEMENTS).to_string())
        .arg(CHUNK_ELEMENTS.to_string())
        .status()
        .expect("python3 with h5py is required");
    assert!(status.success(), "writing the test file failed");
    let bytes = std::fs::read(&path).expect("test file");
    std::fs::remove_file(&path).ok();

    let source = Arc::new(Staller {
        inner: MemorySource::new(bytes, "stalled.h5"),
        armed: AtomicBool::new(false),
        done_behind: AtomicUsize::new(0),
        progress: Notify::new(),
    });
    let file = File::from_source(source.clone()).expect("open");
    let Object::Dataset(d) = file.object("/d").expect("/d") else {
        panic!("/d is not a dataset");
    };
    let all = Selection::all(&d.shape().expect("shape"));
    // A first read brings the chunk index into the metadata cache, so that once the source is
    // armed the read's first request is a chunk's.
    let expected: Vec<u8> = (0..(CHUNKS * CHUNK_ELEMENTS) as i32)
        .flat_map(i32::to_le_bytes)
        .collect();
    assert_eq!(d.read_raw(&all).expect("first read"), expected);

    source.done_behind.store(0, Ordering::SeqCst);
    source.armed.store(true, Ordering::SeqCst);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(d.read_raw(&all));
    });
    let got = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the read waited for the stalled request before decoding the chunks behind it");
    assert_eq!(got.expect("second read"), expected);
    assert!(source.done_behind.load(Ordering::SeqCst) >= RELEASE_AFTER);
}
