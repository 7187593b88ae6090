//! Prefetching the metadata of a whole subtree a level at a time, for walks of every object.

use std::collections::HashSet;

use crate::link::LinkKind;
use crate::object::{Group, Object};
use crate::parallel;

/// Levels below the starting group that are prefetched (deeper ones are read by the walk).
const MAX_DEPTH: usize = 64;

impl Group {
    /// Reads the links of every group under this one and the headers of their children, a
    /// level of the tree at a time with the groups of a level on threads of their own: the
    /// dependent reads of all groups at one depth go out together, where a depth-first walk of
    /// an unpaged granule waits for each beam in turn. Errors are left for the walk that
    /// follows, which meets them again; what was read stays cached.
    pub fn prefetch_subtree(&self) {
        let mut seen = HashSet::from([self.address()]);
        let mut level = vec![self.clone()];
        for _ in 0..MAX_DEPTH {
            if level.is_empty() {
                break;
            }
            level = parallel::each(&level, child_groups)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|g| seen.insert(g.address()))
                .collect();
        }
    }
}

/// The groups a group's hard links lead to (its other children's headers are read too).
fn child_groups(group: &Group) -> Vec<Group> {
    let Ok(links) = group.links() else {
        return Vec::new();
    };
    links
        .iter()
        .filter(|l| matches!(l.kind, LinkKind::Hard(_)))
        .filter_map(|l| match group.open_link(l) {
            Ok(Object::Group(child)) => Some(child),
            _ => None,
        })
        .collect()
}
