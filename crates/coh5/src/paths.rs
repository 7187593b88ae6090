//! The name libhdf5 gives an object reached by reference (`H5Iget_name`): the first path found by
//! a depth-first, pre-order search from the root that takes each group's links in storage order
//! and enters each group once (SPEC.md §8, "Object reference paths").

use std::collections::{HashMap, HashSet};

use crate::file::Inner;
use crate::link::{read_links, Link, LinkKind};
use crate::object::{child_path, classify, ObjectKind};

/// Groups entered by the search at most; bounds the work a malicious file can cause.
const MAX_GROUPS: usize = 1 << 20;

struct Frame {
    path: String,
    links: Vec<Link>,
    next: usize,
}

fn frame(inner: &Inner, addr: u64, path: String) -> Frame {
    let links = inner
        .header(addr)
        .and_then(|h| read_links(inner, &h))
        .unwrap_or_default();
    Frame {
        path,
        links,
        next: 0,
    }
}

pub(crate) fn storage_paths(inner: &Inner) -> &HashMap<u64, String> {
    inner.storage_paths.get_or_init(|| {
        let root = inner.superblock.root_object_header;
        let mut names = HashMap::from([(root, "/".to_string())]);
        let mut entered = HashSet::from([root]);
        // An explicit stack keeps deep hierarchies off the call stack.
        let mut stack = vec![frame(inner, root, "/".to_string())];
        while let Some(top) = stack.last_mut() {
            let Some(link) = top.links.get(top.next) else {
                stack.pop();
                continue;
            };
            top.next += 1;
            let LinkKind::Hard(target) = link.kind else {
                continue;
            };
            let child = child_path(&top.path, &link.name_str());
            names.entry(target).or_insert_with(|| child.clone());
            let is_group = inner
                .header(target)
                .is_ok_and(|h| classify(&h) == Some(ObjectKind::Group));
            if is_group && entered.len() < MAX_GROUPS && entered.insert(target) {
                stack.push(frame(inner, target, child));
            }
        }
        names
    })
}
