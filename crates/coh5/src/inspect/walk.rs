//! The metadata walk of `coh5 inspect`: every group, link, object header and attribute of the
//! file, visited in the order a listing client (`h5ls -r`, h5py's `visititems`) needs them, while
//! the file's read log records which bytes each step touches.
//!
//! Two things come out besides the objects: where the open-and-list phase ends in the log (the
//! cost model prices that phase on its own), and the longest chain of dependent reads, since each
//! read of that chain needs the bytes of the one before it and so costs a full round trip however
//! many requests a client may keep in flight.

use std::collections::{HashSet, VecDeque};

use crate::file::File;
use crate::link::LinkKind;
use crate::object::{Dataset, Object};

/// What the walk found.
pub(crate) struct Walked {
    pub datasets: Vec<Dataset>,
    /// Log length when every object header and link had been read (before attributes).
    pub open_end: usize,
    /// Distinct reads on the longest superblock → group → … → object header chain.
    pub dependent_reads: usize,
    pub objects: usize,
    /// Objects or attributes that could not be decoded, as messages naming them.
    pub errors: Vec<String>,
}

/// Counts reads of ranges not read before, so re-reads that a metadata cache would serve (ours,
/// or libhdf5's) do not lengthen a chain.
pub(crate) struct Fresh {
    seen: HashSet<(u64, u64)>,
    pos: usize,
}

impl Fresh {
    pub fn new() -> Self {
        Fresh {
            seen: HashSet::new(),
            pos: 0,
        }
    }

    /// Reads since the last call that were of new ranges.
    pub fn take(&mut self, file: &File) -> usize {
        let meta = &file.inner.meta;
        let new = meta.log_from(self.pos);
        self.pos += new.len();
        new.into_iter()
            .filter(|r| self.seen.insert((r.start, r.end)))
            .count()
    }
}

/// Walks the whole file breadth first from the root group. Errors of single objects are
/// collected and the walk goes on, so one broken object does not hide the rest of the file.
pub(crate) fn walk(file: &File) -> crate::Result<Walked> {
    let mut fresh = Fresh::new();
    let root = file.root()?;
    let root_depth = fresh.take(file);
    let mut visited = HashSet::from([root.address()]);
    let mut queue = VecDeque::from([(root.clone(), root_depth)]);
    let mut objects = vec![Object::Group(root)];
    let mut datasets = Vec::new();
    let mut errors = Vec::new();
    let mut dependent_reads = root_depth;
    while let Some((group, depth)) = queue.pop_front() {
        let links = match group.links() {
            Ok(l) => l,
            Err(e) => {
                errors.push(e.to_string());
                continue;
            }
        };
        let listed = depth + fresh.take(file);
        dependent_reads = dependent_reads.max(listed);
        for link in &links {
            let LinkKind::Hard(addr) = link.kind else {
                continue;
            };
            if !visited.insert(addr) {
                continue;
            }
            let object = match group.open_link(link) {
                Ok(o) => o,
                Err(e) => {
                    errors.push(e.to_string());
                    continue;
                }
            };
            let d = listed + fresh.take(file);
            dependent_reads = dependent_reads.max(d);
            match &object {
                Object::Group(g) => queue.push_back((g.clone(), d)),
                Object::Dataset(ds) => datasets.push(ds.clone()),
                Object::Datatype(_) => {}
            }
            objects.push(object);
        }
    }
    let open_end = file.inner.meta.log_len();
    for object in &objects {
        read_attributes(object, &mut errors);
    }
    Ok(Walked {
        datasets,
        open_end,
        dependent_reads,
        objects: objects.len(),
        errors,
    })
}

/// Decodes every attribute of `object` with its value, which reaches dense attribute storage
/// and the global heap collections of variable-length values: metadata too.
fn read_attributes(object: &Object, errors: &mut Vec<String>) {
    match object.attributes() {
        Ok(attrs) => {
            for a in attrs {
                if let Err(e) = a.canonical() {
                    errors.push(e.to_string());
                }
            }
        }
        Err(e) => errors.push(e.to_string()),
    }
}
