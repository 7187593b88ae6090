//! The name libhdf5 gives an object reached by reference (`H5Iget_name`): the first path found by
//! a depth-first, pre-order search from the root that takes each group's links in storage order
//! and enters each group once (SPEC.md §8, "Object reference paths").

use std::collections::{HashMap, HashSet};

use crate::file::{lock, File, Inner};
use crate::link::{read_links, Link, LinkKind};
use crate::object::{child_path, classify, ObjectKind};

/// Groups entered by the search at most; bounds the work a malicious file can cause.
const MAX_GROUPS: usize = 1 << 20;
/// Links followed up from an object towards the root at most by [`unique_path`].
const MAX_UNIQUE_DEPTH: usize = 256;

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
        // From a cold cache over a network the search below would wait for each group in
        // turn: the tree is first fetched a level at a time.
        if let Some(root) = inner
            .me
            .upgrade()
            .and_then(|i| File { inner: i }.root().ok())
        {
            root.prefetch_subtree(false);
        }
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

/// The path of the object at `address` when the links read so far lead to it from the root
/// and every object on the way has a single hard link (reference count 1): that path is then
/// the only one, so it is the name libhdf5 gives the object, found without searching the
/// whole tree (a variable's `DIMENSION_LIST` naming its sibling scale, say).
pub(crate) fn unique_path(inner: &Inner, address: u64) -> Option<String> {
    let root = inner.superblock.root_object_header;
    let mut chain = Vec::new();
    {
        let parents = lock(&inner.parents);
        let mut at = address;
        while at != root {
            if chain.len() >= MAX_UNIQUE_DEPTH {
                return None;
            }
            let (parent, name) = parents.get(&at)?;
            chain.push((at, name.clone()));
            at = *parent;
        }
    }
    let mut path = "/".to_string();
    for (at, name) in chain.iter().rev() {
        if inner.header(*at).ok()?.refcount != 1 {
            return None;
        }
        path = child_path(&path, &crate::names::decode(name));
    }
    Some(path)
}
