//! Serving from memory: the same headers and bytes as from the file (whole objects and
//! ranges), and a file replaced after it was read is read again.

mod common;

use coh5_store::{Config, Server};
use common::{content, get, Tree, BUCKET};

#[test]
fn objects_in_memory_serve_the_files_bytes_and_follow_replacements() {
    let tree = Tree::new(&[("data/x.bin", 300_000)]);
    let server = Server::start(Config::new(tree.root()).in_memory(true)).unwrap();
    let url = format!("/{BUCKET}/data/x.bin");
    let original = tree.bytes("data/x.bin");

    let head = common::exchange(&mut common::connect(server.addr()), "HEAD", &url, &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("300000"));

    let whole = get(server.addr(), &url, &[]);
    assert_eq!((whole.status, whole.body.len()), (200, 300_000));
    assert_eq!(whole.body, original);
    let part = get(server.addr(), &url, &[("Range", "bytes=70000-199999")]);
    assert_eq!(part.status, 206);
    assert_eq!(part.body, original[70_000..200_000]);

    // Replaced by another size: the next read sees the new file, not the one in memory.
    let path = tree.root().join(BUCKET).join("data/x.bin");
    let replacement = content(1000, 7);
    std::fs::write(&path, &replacement).unwrap();
    let again = get(server.addr(), &url, &[]);
    assert_eq!(again.body, replacement);
    let tail = get(server.addr(), &url, &[("Range", "bytes=-10")]);
    assert_eq!(tail.body, replacement[990..]);
}
