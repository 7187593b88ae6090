//! Objects held in memory ([`Config::in_memory`](crate::Config::in_memory)): a file is read
//! whole by its first GET and every later range is a slice of it. A benchmark then measures the
//! emulated latency and bandwidth, not the host's disk: on a machine that reclaims its page
//! cache within seconds, ranges read from the file would wait for the disk, on the runtime
//! threads that serve every connection.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use tokio::sync::OnceCell;

/// The served files read so far, by path.
#[derive(Default)]
pub(crate) struct Memory {
    objects: Mutex<HashMap<PathBuf, Arc<Held>>>,
}

/// One file as it was when read: its size and modification time say whether it still is.
struct Held {
    size: u64,
    modified: SystemTime,
    bytes: OnceCell<Bytes>,
}

impl Memory {
    /// The whole file at `path`, whose metadata now says `size` and `modified`: from memory,
    /// or read once however many requests ask for it at the same time. A file replaced since
    /// (another size or modification time) is read again.
    pub async fn get(&self, path: &Path, size: u64, modified: SystemTime) -> io::Result<Bytes> {
        let held = {
            let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
            match objects.get(path) {
                Some(h) if h.size == size && h.modified == modified => Arc::clone(h),
                _ => {
                    let h = Arc::new(Held {
                        size,
                        modified,
                        bytes: OnceCell::new(),
                    });
                    objects.insert(path.to_path_buf(), Arc::clone(&h));
                    h
                }
            }
        };
        let bytes = held
            .bytes
            .get_or_try_init(|| async {
                let path = path.to_path_buf();
                let data = tokio::task::spawn_blocking(move || std::fs::read(path))
                    .await
                    .map_err(io::Error::other)??;
                if data.len() as u64 != size {
                    return Err(io::Error::other("the file changed while being read"));
                }
                Ok(Bytes::from(data))
            })
            .await?;
        Ok(bytes.clone())
    }
}
