//! `coh5 ls`: an h5ls-like listing.

use std::io::Write;

use coh5::format::dataspace::{Dataspace, SpaceKind};
use coh5::format::message::layout::Layout;
use coh5::{filter_name, Dataset, File, Group, LinkKind, Object};

/// Elements of an attribute's value a long listing shows before `...`.
const VALUE_LIMIT: usize = 32;

pub fn list(
    file: &File,
    path: &str,
    recursive: bool,
    long: bool,
    mut out: impl Write,
) -> Result<(), Box<dyn std::error::Error>> {
    match file.object(path)? {
        Object::Group(g) => {
            if recursive {
                g.prefetch_subtree(long);
            }
            // A long listing starts with the group itself, whose attributes (a file's global
            // ones, for the root) would otherwise not show.
            if long {
                writeln!(out, "{}  Group", g.path())?;
                attributes(&g.attributes(), &mut out)?;
            }
            list_group(&g, recursive, long, &mut out, &mut Vec::new())
        }
        Object::Dataset(d) => {
            writeln!(out, "{}", dataset_line(&d, long)?)?;
            Ok(())
        }
        Object::Datatype(t) => {
            writeln!(out, "{}  Type {}", t.path(), t.datatype()?.numpy_dtype())?;
            Ok(())
        }
    }
}

fn list_group(
    g: &Group,
    recursive: bool,
    long: bool,
    out: &mut impl Write,
    entered: &mut Vec<u64>,
) -> Result<(), Box<dyn std::error::Error>> {
    entered.push(g.address());
    for link in g.links_sorted()? {
        let path = coh5::child_path(g.path(), &link.name_str());
        match &link.kind {
            LinkKind::Soft(t) => writeln!(out, "{path}  Soft Link {{{t}}}")?,
            LinkKind::External { file, path: t } => {
                writeln!(out, "{path}  External Link {{{file}/{t}}}")?
            }
            LinkKind::UserDefined(c) => writeln!(out, "{path}  User-defined Link (class {c})")?,
            LinkKind::Hard(_) => match g.open_link(&link) {
                Ok(Object::Group(child)) => {
                    writeln!(out, "{path}  Group")?;
                    if long {
                        attributes(&child.attributes(), out)?;
                    }
                    // A group already on the current path is a cycle: list it, don't enter it.
                    if recursive && !entered.contains(&child.address()) {
                        list_group(&child, recursive, long, out, entered)?;
                    }
                }
                Ok(Object::Dataset(d)) => writeln!(out, "{}", dataset_line(&d, long)?)?,
                Ok(Object::Datatype(t)) => {
                    let dt = t
                        .datatype()
                        .map(|d| d.numpy_dtype())
                        .unwrap_or_else(|e| e.to_string());
                    writeln!(out, "{path}  Type {dt}")?
                }
                Err(e) => writeln!(out, "{path}  error: {e}")?,
            },
        }
    }
    entered.pop();
    Ok(())
}

fn shape(space: &Dataspace) -> String {
    match space.kind {
        SpaceKind::Null => "NULL".into(),
        SpaceKind::Scalar => "SCALAR".into(),
        SpaceKind::Simple => {
            let dims: Vec<String> = space
                .dims
                .iter()
                .enumerate()
                .map(
                    |(i, d)| match space.max_dims.as_ref().and_then(|m| m.get(i)) {
                        Some(&m) if m == u64::MAX => format!("{d}/Inf"),
                        Some(&m) if m != *d => format!("{d}/{m}"),
                        _ => d.to_string(),
                    },
                )
                .collect();
            format!("{{{}}}", dims.join(", "))
        }
    }
}

fn dataset_line(d: &Dataset, long: bool) -> Result<String, Box<dyn std::error::Error>> {
    let space = d.dataspace()?;
    let dt = d.datatype()?;
    let mut line = format!(
        "{}  Dataset {} {}",
        d.path(),
        shape(&space),
        dt.numpy_dtype()
    );
    if long {
        let layout = d.layout()?;
        match &layout {
            Layout::Compact { .. } => line.push_str("  compact"),
            Layout::Contiguous { .. } => line.push_str("  contiguous"),
            Layout::Virtual { .. } => line.push_str("  virtual"),
            Layout::Chunked { chunk_dims, .. } => {
                let dims: Vec<String> = chunk_dims.iter().map(u64::to_string).collect();
                line.push_str(&format!("  chunked {{{}}}", dims.join(", ")));
                for f in d.filters()? {
                    line.push_str(&format!("  {}{:?}", filter_name(&f), f.client_data));
                }
            }
        }
        let mut attrs = Vec::new();
        attributes(&d.attributes(), &mut attrs)?;
        if !attrs.is_empty() {
            line.push('\n');
            line.push_str(String::from_utf8_lossy(&attrs).trim_end());
        }
    }
    Ok(line)
}

fn attributes(
    attrs: &coh5::Result<Vec<coh5::Attribute>>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    match attrs {
        Ok(attrs) => {
            for a in attrs {
                let desc = match &a.decoded {
                    Ok((dt, space)) => {
                        let value = match a.value_text(VALUE_LIMIT) {
                            Ok(Some(text)) => format!(" = {text}"),
                            Ok(None) => String::new(),
                            Err(e) => format!(" = error: {e}"),
                        };
                        format!("{} {}{value}", shape(space), dt.numpy_dtype())
                    }
                    Err(e) => format!("error: {e}"),
                };
                writeln!(out, "    Attribute: {} {desc}", a.name_str())?;
            }
        }
        Err(e) => writeln!(out, "    Attributes: error: {e}")?,
    }
    Ok(())
}
