//! The conformance manifest of `coh5 dump --manifest` (shared/conformance/SPEC.md): every object
//! reachable by hard links from the root, with types, shapes, attributes and value hashes.

use std::collections::HashMap;

use coh5_format::dataspace::{Dataspace, SpaceKind};
use coh5_format::datatype::Datatype;
use coh5_format::message::filter_pipeline::Filter;
use coh5_format::message::layout::Layout;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::attribute::Attribute;
use crate::error::Result;
use crate::file::File;
use crate::link::{Link, LinkKind};
use crate::object::{child_path, Dataset, Group, Object};

/// What the manifest includes beyond metadata.
#[derive(Debug, Clone, Copy)]
pub struct ManifestOptions {
    /// Hash dataset contents (`data_sha256`).
    pub data: bool,
    /// Datasets larger than this (NumPy bytes) are marked `skipped` instead of hashed, as the
    /// golden producer does (SPEC.md §4.2); so are datasets whose stored elements exceed twice
    /// this, which only a corrupt datatype size produces.
    pub max_data_bytes: u64,
}

impl Default for ManifestOptions {
    fn default() -> Self {
        ManifestOptions {
            data: true,
            max_data_bytes: 64 << 20,
        }
    }
}

/// Builds the manifest of `file`. Problems with single objects are recorded in the manifest
/// (`errors`, per-object `read_error`) rather than failing the whole walk.
pub fn manifest(file: &File, options: ManifestOptions) -> Result<Value> {
    let root = file.root()?;
    // The walk below visits objects one after another; over a network each miss would be a
    // round trip. The headers, dense attributes and variable-length attribute values of the
    // whole tree are fetched first, a level at a time.
    root.prefetch_subtree(true);
    let mut walk = Walk {
        options,
        objects: Map::new(),
        errors: Vec::new(),
        visited: HashMap::from([(root.address(), "/".to_string())]),
    };
    let entry = walk.group_entry(&root);
    walk.objects.insert("/".into(), entry);
    walk.walk(&root);
    Ok(json!({
        "file": file.location(),
        "reader": concat!("coh5 ", env!("CARGO_PKG_VERSION")),
        "objects": Value::Object(walk.objects),
        "errors": walk.errors,
    }))
}

/// Serializes a manifest, restoring the `\udcXX` escapes of names that were not UTF-8.
pub fn to_json(manifest: &Value) -> String {
    let text = manifest.to_string();
    text.replace(crate::names::ESCAPE, "\\udc")
}

struct Walk {
    options: ManifestOptions,
    objects: Map<String, Value>,
    errors: Vec<String>,
    visited: HashMap<u64, String>,
}

impl Walk {
    /// Depth-first, pre-order, links in name order (SPEC.md §3); a group is entered once.
    /// An explicit stack keeps deep or malicious hierarchies off the call stack.
    fn walk(&mut self, root: &Group) {
        let mut stack: Vec<(Group, std::vec::IntoIter<Link>)> = Vec::new();
        match root.links_sorted() {
            Ok(links) => stack.push((root.clone(), links.into_iter())),
            Err(e) => self.errors.push(e.to_string()),
        }
        while let Some((group, links)) = stack.last_mut() {
            let Some(link) = links.next() else {
                stack.pop();
                continue;
            };
            let group = group.clone();
            let path = child_path(group.path(), &link.name_str());
            let entry = match &link.kind {
                LinkKind::Soft(target) => json!({"kind": "soft", "target": target}),
                LinkKind::External { file, path } => {
                    json!({"kind": "external", "file": file, "target": path})
                }
                LinkKind::UserDefined(class) => json!({"kind": "ud", "type": class}),
                LinkKind::Hard(addr) => {
                    if let Some(first) = self.visited.get(addr) {
                        json!({"kind": "hardlink", "target": first})
                    } else {
                        self.visited.insert(*addr, path.clone());
                        match group.open_link(&link) {
                            Ok(Object::Group(g)) => {
                                let entry = self.group_entry(&g);
                                self.objects.insert(path.clone(), entry);
                                match g.links_sorted() {
                                    Ok(children) => stack.push((g, children.into_iter())),
                                    Err(e) => self.errors.push(e.to_string()),
                                }
                                continue;
                            }
                            Ok(Object::Dataset(d)) => self.dataset_entry(&d),
                            Ok(Object::Datatype(t)) => {
                                let dtype = t.datatype().map(|d| d.numpy_dtype());
                                let mut e = json!({"kind": "datatype"});
                                match dtype {
                                    Ok(s) => e["dtype"] = s.into(),
                                    Err(err) => e["error"] = err.to_string().into(),
                                }
                                e["attrs"] = self.attrs(t.attributes());
                                e
                            }
                            Err(e) => {
                                self.errors.push(e.to_string());
                                json!({"kind": "error", "error": e.to_string()})
                            }
                        }
                    }
                }
            };
            self.objects.insert(path, entry);
        }
    }

    fn group_entry(&mut self, g: &Group) -> Value {
        let links = match g.links() {
            Ok(mut links) => {
                if g.tracks_creation_order() {
                    links.sort_by_key(|l| l.creation_order);
                } else {
                    links.sort_by(|a, b| a.name.cmp(&b.name));
                }
                Value::from(links.iter().map(Link::name_str).collect::<Vec<_>>())
            }
            Err(e) => {
                self.errors.push(e.to_string());
                Value::Null
            }
        };
        json!({"kind": "group", "attrs": self.attrs(g.attributes()), "links": links})
    }

    fn attrs(&mut self, attrs: Result<Vec<Attribute>>) -> Value {
        let attrs = match attrs {
            Ok(a) => a,
            Err(e) => {
                self.errors.push(e.to_string());
                return json!({});
            }
        };
        // libhdf5 iterates attributes in one pass that stops at the first one it cannot
        // decode, so h5py (and the golden manifests) list none of them then.
        if let Some(bad) = attrs.iter().find_map(|a| a.decoded.as_ref().err()) {
            self.errors.push(format!("attributes: {bad}"));
            return json!({});
        }
        let mut out = Map::new();
        for a in attrs {
            out.insert(a.name_str(), attribute_entry(&a));
        }
        Value::Object(out)
    }

    fn dataset_entry(&mut self, d: &Dataset) -> Value {
        let mut e = json!({"kind": "dataset"});
        match dataset_metadata(d, &mut e) {
            Ok((dt, space)) => {
                let nbytes = space
                    .num_elements()
                    .and_then(|n| n.checked_mul(dt.numpy_itemsize()));
                if let Some(n) = nbytes {
                    e["nbytes"] = n.into();
                }
                // Reading buffers the stored elements first. A legitimate stored element is at
                // most twice its NumPy size (a 16-byte variable-length reference becomes an
                // 8-byte object), but the size comes from the file and a corrupt one can claim
                // gigabytes per element.
                let stored = space
                    .num_elements()
                    .and_then(|n| n.checked_mul(u64::from(dt.size)));
                let limit = self.options.max_data_bytes;
                if space.kind == SpaceKind::Null {
                    e["empty"] = true.into();
                } else if nbytes.is_none_or(|n| n > limit)
                    || stored.is_none_or(|n| n > limit.saturating_mul(2))
                {
                    e["skipped"] =
                        format!("nbytes above {} bytes", self.options.max_data_bytes).into();
                } else if self.options.data {
                    match crate::read::read_canonical(d, &dt, &space) {
                        Ok(bytes) => e["data_sha256"] = sha256_hex(&bytes).into(),
                        Err(err) => e["read_error"] = err.to_string().into(),
                    }
                }
            }
            Err(err) => {
                self.errors.push(err.to_string());
                e["read_error"] = err.to_string().into();
            }
        }
        e["attrs"] = self.attrs(d.attributes());
        e
    }
}

fn dataset_metadata(d: &Dataset, e: &mut Value) -> Result<(Datatype, Dataspace)> {
    let space = d.dataspace()?;
    let dt = d.datatype()?;
    let (shape, maxshape) = shapes(&space);
    e["shape"] = shape;
    e["maxshape"] = maxshape;
    e["dtype"] = dt.numpy_dtype().into();
    e["hdf5_class"] = dt.hdf5_class().into();
    let layout = d.layout()?;
    let (name, chunks) = match &layout {
        Layout::Compact { .. } => ("compact", Value::Null),
        Layout::Contiguous { .. } => ("contiguous", Value::Null),
        Layout::Chunked { chunk_dims, .. } => ("chunked", json!(chunk_dims)),
        Layout::Virtual { .. } => ("virtual", Value::Null),
    };
    e["layout"] = name.into();
    e["chunks"] = chunks;
    let filters = if matches!(layout, Layout::Chunked { .. }) {
        d.filters()?
    } else {
        Vec::new()
    };
    e["filters"] = filters.iter().map(filter_entry).collect::<Vec<_>>().into();
    Ok((dt, space))
}

/// `shape` and `maxshape` as SPEC.md §4.2 writes them: `[]` for scalar, `null` for null,
/// `-1` for an unlimited maximum.
fn shapes(space: &Dataspace) -> (Value, Value) {
    match space.kind {
        SpaceKind::Null => (Value::Null, Value::Null),
        SpaceKind::Scalar => (json!([]), json!([])),
        SpaceKind::Simple => {
            let max: Vec<i64> = match &space.max_dims {
                Some(m) => m
                    .iter()
                    .map(|&x| if x == u64::MAX { -1 } else { x as i64 })
                    .collect(),
                None => space.dims.iter().map(|&x| x as i64).collect(),
            };
            (json!(space.dims), json!(max))
        }
    }
}

fn filter_entry(f: &Filter) -> Value {
    json!([f.id, crate::filters::filter_name(f), f.client_data])
}

fn attribute_entry(a: &Attribute) -> Value {
    let (dt, space) = match &a.decoded {
        Ok(d) => d,
        Err(e) => return json!({"error": e}),
    };
    let (shape, _) = shapes(space);
    let mut e = json!({"shape": shape, "dtype": dt.numpy_dtype()});
    match a.canonical() {
        Ok(None) => e["empty"] = true.into(),
        Ok(Some(bytes)) => e["sha256"] = sha256_hex(&bytes).into(),
        Err(err) => e["error"] = err.to_string().into(),
    }
    e
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// tvldtypes1.h5 with its variable-length datatype sizes corrupted (found by the robustness
    /// test): one dataset's stored elements claim 16 GiB while its NumPy size stays 32 bytes.
    #[test]
    fn corrupt_element_size_is_skipped_not_allocated() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/corpus/hdf5/tools/test/h5dump/testfiles/tvldtypes1.h5"
        );
        let mut data = std::fs::read(path).expect("corpus file tvldtypes1.h5");
        data[0x647] ^= 0xff;
        data[0xb6d] ^= 0xff;
        let source = Arc::new(coh5_io::MemorySource::new(data, "mutant"));
        let file = File::from_source(source).unwrap();
        let m = manifest(&file, ManifestOptions::default()).unwrap();
        let skipped: Vec<&str> = m["objects"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| v.get("skipped").is_some())
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(skipped, ["/Dataset2.0"], "{m:#}");
    }
}
