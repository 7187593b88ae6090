//! `open`: turns a user-supplied location (local path, `file://`, `s3://`, `gs://`, `az://`,
//! `abfs://`, `http(s)://` URL) into a byte source.

use std::sync::Arc;

use object_store::ObjectStoreScheme;
use url::Url;

use crate::connector::build_store;
use crate::{ByteSource, Error, LocalFile, ObjectStoreSource, Result, SourceOptions};

/// Opens `location` for reading.
///
/// Anything without `://` is a local path. Remote objects are checked to exist by the request
/// that learns their size (GETs of the first MiBs, kept for the first reads; see
/// [`ObjectStoreSource`]), so a wrong URL or missing credentials fail here, not on the first
/// read.
pub async fn open(location: &str, options: &SourceOptions) -> Result<Arc<dyn ByteSource>> {
    if !location.contains("://") {
        return open_local(location.into(), location).await;
    }
    let invalid = |reason: String| Error::InvalidLocation {
        location: location.to_owned(),
        reason,
    };
    let url = Url::parse(location).map_err(|e| invalid(format!("invalid URL: {e}")))?;
    if url.scheme() == "file" {
        let path = url
            .to_file_path()
            .map_err(|()| invalid("not a local file URL".into()))?;
        return open_local(path, location).await;
    }
    let (scheme, path) = ObjectStoreScheme::parse(&url)
        .map_err(|_| invalid(format!("unsupported URL scheme {:?}", url.scheme())))?;
    if matches!(scheme, ObjectStoreScheme::Local | ObjectStoreScheme::Memory) {
        return Err(invalid(format!(
            "unsupported URL scheme {:?}",
            url.scheme()
        )));
    }
    if path.as_ref().is_empty() {
        return Err(invalid("the URL names no object".into()));
    }
    let config = options.store_config(&scheme, url.scheme() == "http");
    let path = object_store::path::Path::parse(path)
        .map_err(|e| invalid(format!("invalid object path: {e}")))?;
    let store = build_store(&url, &scheme, &config)
        .map_err(|e| invalid(format!("cannot configure object store: {e}")))?;
    tracing::debug!(%location, ?scheme, %path, "opened object store");
    let source = ObjectStoreSource::new(Arc::from(store), path, location)
        .with_retry(options.retry_policy().clone())
        .with_first_read(options.first_read_bytes());
    source.size().await?;
    Ok(Arc::new(source))
}

/// Opens a local file on the blocking pool (opening may block on network filesystems).
async fn open_local(path: std::path::PathBuf, location: &str) -> Result<Arc<dyn ByteSource>> {
    let name = location.to_owned();
    let file = tokio::task::spawn_blocking(move || LocalFile::open_named(&path, name))
        .await
        .map_err(|e| Error::Task {
            location: location.to_owned(),
            reason: e.to_string(),
        })??;
    Ok(Arc::new(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/h5py/h5py/tests/data_files/compound-dtype-complex.h5"
    );

    #[tokio::test]
    async fn local_paths_and_file_urls() {
        let want = std::fs::read(FILE).unwrap();
        let opts = SourceOptions::default();
        let src = open(FILE, &opts).await.unwrap();
        assert_eq!(src.location(), FILE);
        assert_eq!(src.size().await.unwrap(), want.len() as u64);
        assert_eq!(src.read_range(0..8).await.unwrap(), &want[..8]);

        let canonical = std::fs::canonicalize(FILE).unwrap();
        let url = Url::from_file_path(&canonical).unwrap().to_string();
        let src = open(&url, &opts).await.unwrap();
        assert_eq!(src.location(), url);
        assert_eq!(src.size().await.unwrap(), want.len() as u64);
    }

    #[tokio::test]
    async fn bad_locations_are_errors_naming_them() {
        let opts = SourceOptions::default();
        for loc in [
            "ftp://host/x.h5",
            "memory:///x.h5",
            "s3://bucket",
            "s3://bucket/",
            "http://[::1",
        ] {
            let e = open(loc, &opts).await.unwrap_err();
            assert!(matches!(e, Error::InvalidLocation { .. }), "{loc}: {e}");
            assert!(e.to_string().starts_with(loc), "{e}");
        }
        let e = open("/no/such/file.h5", &opts).await.unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e}");
    }
}
