//! The store against the clients it exists for: object_store's HttpStore and AmazonS3 (real
//! reqwest clients over real sockets) for reads, ranges, heads, conditional reads, listings
//! with prefixes, delimiters and pagination, and S3 errors.

mod common;

use std::sync::Arc;

use coh5_store::{Config, RunningServer, Server};
use common::{Tree, BUCKET};
use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::http::HttpBuilder;
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::path::Path;
use object_store::{ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt};

fn s3(server: &RunningServer) -> AmazonS3 {
    AmazonS3Builder::new()
        .with_endpoint(server.base_url())
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .with_bucket_name(BUCKET)
        .with_region("us-east-1")
        // Signed requests: the store must accept any signature.
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .build()
        .unwrap()
}

fn http(server: &RunningServer) -> Arc<dyn ObjectStore> {
    Arc::new(
        HttpBuilder::new()
            .with_url(format!("{}/{BUCKET}", server.base_url()))
            .with_client_options(ClientOptions::new().with_allow_http(true))
            .build()
            .unwrap(),
    )
}

const FILES: &[(&str, usize)] = &[
    ("data/a.h5", 300_000),
    ("data/b.h5", 10),
    ("data/nested/c.h5", 5),
    ("empty.bin", 0),
    ("odd name+plus.bin", 7),
    ("z.bin", 1),
];

#[tokio::test]
async fn reads_through_both_clients() {
    let tree = Tree::new(FILES);
    let server = Server::start(Config::new(tree.root())).unwrap();
    let a = tree.bytes("data/a.h5");
    let stores: [Arc<dyn ObjectStore>; 2] = [Arc::new(s3(&server)), http(&server)];
    for store in stores {
        let path = Path::from("data/a.h5");
        let all = store.get(&path).await.unwrap().bytes().await.unwrap();
        assert_eq!(all.as_ref(), &a[..], "{store}");
        let part = store.get_range(&path, 1000..70_000).await.unwrap();
        assert_eq!(part.as_ref(), &a[1000..70_000], "{store}");
        let ranges = store
            .get_ranges(&path, &[0..1, 299_990..300_000])
            .await
            .unwrap();
        assert_eq!(ranges[1].as_ref(), &a[299_990..], "{store}");
        let suffix = store
            .get_opts(
                &path,
                GetOptions {
                    range: Some(GetRange::Suffix(100)),
                    ..Default::default()
                },
            )
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(suffix.as_ref(), &a[a.len() - 100..], "{store}");
        let meta = store.head(&path).await.unwrap();
        assert_eq!(meta.size, 300_000);
        assert!(meta.e_tag.is_some());

        let odd = store.get(&Path::from("odd name+plus.bin")).await.unwrap();
        assert_eq!(
            odd.bytes().await.unwrap().as_ref(),
            &tree.bytes("odd name+plus.bin")[..]
        );
        let empty = store.get(&Path::from("empty.bin")).await.unwrap();
        assert!(empty.bytes().await.unwrap().is_empty());

        let missing = store.get(&Path::from("nope.h5")).await.unwrap_err();
        assert!(
            matches!(missing, object_store::Error::NotFound { .. }),
            "{store}: {missing}"
        );
    }
}

#[tokio::test]
async fn conditional_reads_pin_a_version() {
    let tree = Tree::new(FILES);
    let server = Server::start(Config::new(tree.root())).unwrap();
    let store = s3(&server);
    let path = Path::from("data/b.h5");
    let etag = store.head(&path).await.unwrap().e_tag.unwrap();
    let pinned = GetOptions {
        if_match: Some(etag.clone()),
        range: Some((2..5).into()),
        ..Default::default()
    };
    let ok = store.get_opts(&path, pinned).await.unwrap();
    assert_eq!(
        ok.bytes().await.unwrap().as_ref(),
        &tree.bytes("data/b.h5")[2..5]
    );
    let stale = GetOptions {
        if_match: Some("\"other-version\"".into()),
        ..Default::default()
    };
    let err = store.get_opts(&path, stale).await.unwrap_err();
    assert!(
        matches!(err, object_store::Error::Precondition { .. }),
        "{err}"
    );
    let unchanged = GetOptions {
        if_none_match: Some(etag),
        ..Default::default()
    };
    let err = store.get_opts(&path, unchanged).await.unwrap_err();
    assert!(
        matches!(err, object_store::Error::NotModified { .. }),
        "{err}"
    );
    let c = server.counters();
    assert_eq!(c.by_status.get(&412), Some(&1));
    assert_eq!(c.by_status.get(&304), Some(&1));
}

#[tokio::test]
async fn lists_with_prefix_delimiter_and_pages() {
    let tree = Tree::new(FILES);
    let server = Server::start(Config::new(tree.root())).unwrap();
    let store = s3(&server);

    let mut all: Vec<String> = store
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    all.sort();
    let mut expected: Vec<String> = FILES.iter().map(|(k, _)| k.to_string()).collect();
    expected.sort();
    assert_eq!(all, expected);

    let data: Vec<_> = store
        .list(Some(&Path::from("data")))
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(data.len(), 3);
    let a = data
        .iter()
        .find(|m| m.location.as_ref() == "data/a.h5")
        .unwrap();
    assert_eq!(a.size, 300_000);

    let top = store.list_with_delimiter(None).await.unwrap();
    let prefixes: Vec<_> = top.common_prefixes.iter().map(|p| p.to_string()).collect();
    assert_eq!(prefixes, ["data"]);
    assert_eq!(top.objects.len(), 3);

    // Pages of two, following continuation tokens, see every key exactly once.
    let mut token = None;
    let mut paged = Vec::new();
    let mut pages = 0;
    loop {
        let page = store
            .list_paginated(
                None,
                PaginatedListOptions {
                    max_keys: Some(2),
                    page_token: token.take(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        pages += 1;
        assert!(page.result.objects.len() <= 2);
        paged.extend(
            page.result
                .objects
                .into_iter()
                .map(|m| m.location.to_string()),
        );
        match page.page_token {
            Some(t) => token = Some(t),
            None => break,
        }
    }
    assert_eq!(paged, expected);
    assert_eq!(pages, 3);

    let after: Vec<_> = store
        .list_with_offset(None, &Path::from("data/b.h5"))
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        after,
        [
            "data/nested/c.h5",
            "empty.bin",
            "odd name+plus.bin",
            "z.bin"
        ]
    );
}

#[tokio::test]
async fn missing_bucket_is_an_s3_error() {
    let tree = Tree::new(FILES);
    let server = Server::start(Config::new(tree.root())).unwrap();
    let raw = common::get(server.addr(), "/nobucket/x", &[]);
    assert_eq!(raw.status, 404);
    assert!(String::from_utf8_lossy(&raw.body).contains("<Code>NoSuchBucket</Code>"));
    let raw = common::get(server.addr(), "/bk/data/nope", &[]);
    assert!(String::from_utf8_lossy(&raw.body).contains("<Code>NoSuchKey</Code>"));
    let raw = common::get(server.addr(), "/bk/%2E%2E/x", &[]);
    assert_eq!(raw.status, 400);
    let raw = common::get(server.addr(), "/bk?list-type=2&max-keys=many", &[]);
    assert_eq!(raw.status, 400);
}
