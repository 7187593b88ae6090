//! Prefetching the metadata of a whole subtree a level at a time, for walks of every object.

use std::collections::HashSet;

use coh5_format::value::heap_ids::collections;
use coh5_format::Context;

use crate::link::LinkKind;
use crate::meta::in_hand_only;
use crate::object::{Group, Object};
use crate::parallel;

/// Levels below the starting group that are prefetched (deeper ones are read by the walk).
const MAX_DEPTH: usize = 64;

impl Group {
    /// Reads the links of every group under this one and the headers of their children, a
    /// level of the tree at a time with the groups of a level that miss the cache on threads
    /// of their own: the dependent reads of all groups at one depth go out together, where a
    /// depth-first walk of an unpaged granule waits for each beam in turn. With `attributes`,
    /// the dense attribute storage of a level's objects (a heap and a name B-tree each, three
    /// dependent reads when a walk reaches it) is read for all of them together, and at the
    /// end the global heap collections holding every variable-length attribute value of the
    /// subtree, for a listing that shows attributes. Errors are left for the walk that
    /// follows, which meets them again; what was read stays cached.
    pub fn prefetch_subtree(&self, attributes: bool) {
        let inner = &self.file().inner;
        let ctx = inner.ctx();
        let mut seen = HashSet::from([self.address()]);
        let mut level = vec![self.clone()];
        let mut heaps = Vec::new();
        if attributes {
            heaps.extend(vlen_heaps(&Object::Group(self.clone()), &ctx));
        }
        for _ in 0..MAX_DEPTH {
            if level.is_empty() {
                break;
            }
            let objects = level_children(&level);
            if attributes {
                // Attributes kept in the headers are in hand already.
                let stores: Vec<(u64, u64)> = objects
                    .iter()
                    .filter_map(Object::dense_attributes)
                    .collect();
                let _purpose = coh5_io::trace::enter(coh5_io::trace::ATTRIBUTES);
                crate::dense::prefetch(inner, &stores);
                heaps.extend(objects.iter().flat_map(|o| vlen_heaps(o, &ctx)));
            }
            level = objects
                .into_iter()
                .filter_map(|o| match o {
                    Object::Group(g) => seen.insert(g.address()).then_some(g),
                    _ => None,
                })
                .collect();
        }
        // Variable-length attribute values (h5py's strings, dimension-scale lists) live in
        // global heap collections, which libhdf5 puts among the raw data: all of them in one
        // wave, not one round trip per attribute as the walk meets them.
        inner.prefetch_global_heaps(&heaps);
    }
}

/// The global heap collections the attribute values of `object` refer to.
fn vlen_heaps(object: &Object, ctx: &Context) -> Vec<u64> {
    let Ok(attrs) = object.attributes() else {
        return Vec::new();
    };
    attrs
        .iter()
        .filter_map(|a| a.decoded.as_ref().ok().map(|d| (a, d)))
        .flat_map(|(a, (dt, space))| {
            collections(dt, &a.data, space.num_elements().unwrap_or(0), ctx)
        })
        .collect()
}

/// The children of every group of a level, in order. Groups whose metadata is all in hand (a
/// paged file's, after its first read) are done here; the others on threads of their own.
fn level_children(level: &[Group]) -> Vec<Object> {
    let mut done: Vec<Option<Vec<Object>>> =
        level.iter().map(|g| in_hand_only(|| children(g))).collect();
    let pending: Vec<usize> = (0..level.len()).filter(|&i| done[i].is_none()).collect();
    let fetched = parallel::each(&pending, |&i| children(&level[i]));
    for (i, objects) in pending.into_iter().zip(fetched) {
        done[i] = objects;
    }
    done.into_iter().flatten().flatten().collect()
}

/// The objects a group's hard links lead to.
fn children(group: &Group) -> Vec<Object> {
    let Ok(links) = group.links() else {
        return Vec::new();
    };
    links
        .iter()
        .filter(|l| matches!(l.kind, LinkKind::Hard(_)))
        .filter_map(|l| group.open_link(l).ok())
        .collect()
}
