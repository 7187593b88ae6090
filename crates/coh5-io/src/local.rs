//! `LocalFile`: a byte source over a local file using positional reads (`pread`), so concurrent
//! reads need no seek lock. Each read runs on tokio's blocking pool; nothing else is async.

use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use crate::error::check_range;
use crate::{ByteSource, Error, Result, Stats};

/// A local file opened for reading. The size is taken once at open: HDF5 files being read are
/// assumed not to change underneath the reader.
#[derive(Debug)]
pub struct LocalFile {
    file: Arc<File>,
    location: String,
    size: u64,
    stats: Stats,
}

impl LocalFile {
    /// Opens `path` (blocking: one `open` and one `fstat`). Directories are rejected here rather
    /// than failing on the first read.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        Self::open_named(path, path.display().to_string())
    }

    /// Opens `path`, naming it `location` (such as the `file://` URL it came from) in errors.
    pub(crate) fn open_named(path: &Path, location: String) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(&location, None, e))?;
        let meta = file.metadata().map_err(|e| Error::io(&location, None, e))?;
        if !meta.is_file() {
            return Err(Error::InvalidLocation {
                location,
                reason: "not a regular file".into(),
            });
        }
        Ok(Self {
            file: Arc::new(file),
            location,
            size: meta.len(),
            stats: Stats::new(),
        })
    }
}

#[async_trait::async_trait]
impl ByteSource for LocalFile {
    fn location(&self) -> &str {
        &self.location
    }

    async fn size(&self) -> Result<u64> {
        Ok(self.size)
    }

    async fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        check_range(&self.location, &range, self.size)?;
        if range.is_empty() {
            return Ok(Bytes::new());
        }
        // The range lies within the file, whose size fits in memory addressing on 64-bit hosts;
        // on 32-bit hosts a huge range is refused rather than truncated.
        let len = usize::try_from(range.end - range.start).map_err(|_| Error::OutOfBounds {
            location: self.location.clone(),
            range: range.clone(),
            size: self.size,
        })?;
        let file = Arc::clone(&self.file);
        let start = range.start;
        let started = Instant::now();
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; len];
            file.read_exact_at(&mut buf, start).map(|()| buf)
        })
        .await
        .map_err(|e| Error::Task {
            location: self.location.clone(),
            reason: e.to_string(),
        })?;
        let outcome = match read {
            Ok(buf) => Ok(buf),
            // The file shrank after it was opened.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(Error::ShortRead {
                location: self.location.clone(),
                range: range.clone(),
                got: 0,
            }),
            Err(e) => Err(Error::io(&self.location, Some(range.clone()), e)),
        };
        let got = outcome.as_ref().map_or(0, |b| b.len() as u64);
        let error = outcome.as_ref().err().map(ToString::to_string);
        self.stats
            .request(&self.location, range.clone(), started, got, 1, error);
        let buf = outcome?;
        self.stats.delivered(&self.location, range);
        Ok(Bytes::from(buf))
    }

    fn stats(&self) -> &Stats {
        &self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus_file(name: &str) -> std::path::PathBuf {
        Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus"
        ))
        .join(name)
    }

    /// A small real HDF5 file from h5py's test suite.
    fn some_corpus_file() -> std::path::PathBuf {
        corpus_file("h5py/h5py/tests/data_files/compound-dtype-complex.h5")
    }

    #[tokio::test]
    async fn reads_match_the_file() {
        let path = some_corpus_file();
        let want = std::fs::read(&path).unwrap();
        let src = LocalFile::open(&path).unwrap();
        assert_eq!(src.size().await.unwrap(), want.len() as u64);
        assert_eq!(src.location(), path.display().to_string());
        let n = want.len() as u64;
        assert_eq!(src.read_range(0..8).await.unwrap(), &want[..8]);
        assert_eq!(src.read_range(0..n).await.unwrap(), &want[..]);
        assert_eq!(src.read_range(n..n).await.unwrap(), Bytes::new());
        let ranges = [n - 3..n, 1..4, 0..0, 2..n / 2];
        let got = src.read_ranges(&ranges).await.unwrap();
        for (r, g) in ranges.iter().zip(&got) {
            assert_eq!(g, &want[r.start as usize..r.end as usize]);
        }
        let s = src.stats().snapshot();
        // Empty ranges are answered without touching the file.
        assert_eq!(s.requests, 5);
        assert_eq!(s.bytes, 8 + n + 3 + 3 + (n / 2 - 2));
    }

    #[tokio::test]
    async fn errors_name_the_path() {
        let path = some_corpus_file();
        let src = LocalFile::open(&path).unwrap();
        let n = src.size().await.unwrap();
        let e = src.read_range(n - 1..n + 1).await.unwrap_err();
        assert!(matches!(e, Error::OutOfBounds { .. }));
        let msg = e.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains(&format!("{}..{}", n - 1, n + 1)), "{msg}");

        let missing = corpus_file("definitely-not-here.h5");
        let e = LocalFile::open(&missing).unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e}");
        assert!(e.to_string().contains("definitely-not-here.h5"), "{e}");

        let e = LocalFile::open(corpus_file("")).unwrap_err();
        assert!(matches!(e, Error::InvalidLocation { .. }), "{e}");
    }
}
