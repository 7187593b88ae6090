//! ListObjectsV2 (`GET /<bucket>?list-type=2`): walks the bucket directory, filters by prefix,
//! groups by delimiter into common prefixes, and pages with opaque continuation tokens, as S3
//! does. The listing is bounded (depth and entry count) so a huge or cyclic tree cannot exhaust
//! the server.

use std::fmt::Write;
use std::path::Path;
use std::time::SystemTime;

use crate::object::etag;
use crate::time::iso8601;
use crate::xml::escape;

/// S3's page size ceiling (and default).
const MAX_KEYS: usize = 1000;
/// Directory depth walked below a bucket (also stops symlink cycles).
const MAX_DEPTH: usize = 64;
/// Objects a bucket may hold before listing it is refused.
const MAX_ENTRIES: usize = 1_000_000;

/// A listing request that S3 would reject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadRequest(pub String);

/// The query parameters of a ListObjectsV2 request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ListParams {
    prefix: String,
    delimiter: Option<String>,
    max_keys: usize,
    continuation: Option<String>,
    start_after: Option<String>,
}

impl ListParams {
    pub fn parse(query: &str) -> Result<Self, BadRequest> {
        let mut p = ListParams {
            max_keys: MAX_KEYS,
            ..ListParams::default()
        };
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*name {
                "prefix" => p.prefix = value.into_owned(),
                "delimiter" if !value.is_empty() => p.delimiter = Some(value.into_owned()),
                "start-after" if !value.is_empty() => p.start_after = Some(value.into_owned()),
                "continuation-token" => {
                    p.continuation = Some(decode_token(&value).ok_or_else(|| {
                        BadRequest("The continuation token provided is incorrect".into())
                    })?)
                }
                // S3 caps the page at 1000 whatever is asked; 0 is raised to 1 so a page
                // always makes progress.
                "max-keys" => {
                    let n: usize = value.parse().map_err(|_| {
                        BadRequest(format!("max-keys {value:?} is not a non-negative integer"))
                    })?;
                    p.max_keys = n.clamp(1, MAX_KEYS);
                }
                _ => {}
            }
        }
        Ok(p)
    }
}

/// Tokens are the hex of the last key or common prefix returned: opaque to clients, and
/// stateless here.
fn encode_token(key: &str) -> String {
    key.bytes().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn decode_token(token: &str) -> Option<String> {
    let bytes = token.as_bytes();
    if bytes.len() % 2 != 0 {
        return None;
    }
    let raw = bytes
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(raw).ok()
}

/// One object of a bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: String,
    pub size: u64,
    pub modified: SystemTime,
}

/// All objects under `bucket_dir`, sorted by key. Names that are not UTF-8 or hold control
/// characters (which XML 1.0 cannot carry) are skipped.
pub(crate) fn walk(bucket_dir: &Path) -> Result<Vec<Entry>, String> {
    let mut entries = Vec::new();
    let mut stack = vec![(bucket_dir.to_path_buf(), String::new(), 0usize)];
    while let Some((dir, prefix, depth)) = stack.pop() {
        let listing = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for item in listing {
            let item = item.map_err(|e| format!("{}: {e}", dir.display()))?;
            let Ok(name) = item.file_name().into_string() else {
                continue;
            };
            if name.chars().any(char::is_control) {
                continue;
            }
            // `metadata` follows symlinks, like serving does.
            let Ok(meta) = std::fs::metadata(item.path()) else {
                continue;
            };
            let key = format!("{prefix}{name}");
            if meta.is_dir() {
                if depth < MAX_DEPTH {
                    stack.push((item.path(), format!("{key}/"), depth + 1));
                }
            } else if meta.is_file() {
                if entries.len() >= MAX_ENTRIES {
                    return Err(format!("bucket holds more than {MAX_ENTRIES} objects"));
                }
                entries.push(Entry {
                    key,
                    size: meta.len(),
                    modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                });
            }
        }
    }
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(entries)
}

/// A listed item: an object, or a common prefix standing for every key below it.
enum Item<'a> {
    Object(&'a Entry),
    Prefix(&'a str),
}

impl Item<'_> {
    fn name(&self) -> &str {
        match self {
            Item::Object(e) => &e.key,
            Item::Prefix(p) => p,
        }
    }
}

/// The `ListBucketResult` document for one page.
pub(crate) fn render(bucket: &str, params: &ListParams, entries: &[Entry]) -> String {
    let after = params
        .continuation
        .as_deref()
        .or(params.start_after.as_deref());
    let mut page: Vec<Item<'_>> = Vec::new();
    let mut truncated = false;
    for entry in entries {
        let Some(rest) = entry.key.strip_prefix(&params.prefix) else {
            continue;
        };
        // Keys sharing a common prefix are contiguous in sorted order, so comparing with the
        // previous item (and with the token) removes every duplicate.
        let item = params
            .delimiter
            .as_deref()
            .and_then(|d| rest.find(d).map(|i| params.prefix.len() + i + d.len()))
            .and_then(|cut| entry.key.get(..cut))
            .map_or(Item::Object(entry), Item::Prefix);
        if after.is_some_and(|a| item.name() <= a) {
            continue;
        }
        if page.last().is_some_and(|last| last.name() == item.name()) {
            continue;
        }
        if page.len() == params.max_keys {
            truncated = true;
            break;
        }
        page.push(item);
    }

    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    let _ = write!(
        x,
        "<Name>{}</Name><Prefix>{}</Prefix><KeyCount>{}</KeyCount><MaxKeys>{}</MaxKeys>",
        escape(bucket),
        escape(&params.prefix),
        page.len(),
        params.max_keys
    );
    if let Some(d) = &params.delimiter {
        let _ = write!(x, "<Delimiter>{}</Delimiter>", escape(d));
    }
    let _ = write!(x, "<IsTruncated>{truncated}</IsTruncated>");
    if let Some(token) = &params.continuation {
        let _ = write!(
            x,
            "<ContinuationToken>{}</ContinuationToken>",
            encode_token(token)
        );
    }
    if let Some(start) = &params.start_after {
        let _ = write!(x, "<StartAfter>{}</StartAfter>", escape(start));
    }
    if truncated {
        if let Some(last) = page.last() {
            let _ = write!(
                x,
                "<NextContinuationToken>{}</NextContinuationToken>",
                encode_token(last.name())
            );
        }
    }
    for item in &page {
        if let Item::Object(e) = item {
            let _ = write!(
                x,
                "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>{}</ETag>\
                 <Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
                escape(&e.key),
                iso8601(e.modified),
                escape(&etag(e.size, e.modified)),
                e.size
            );
        }
    }
    for item in &page {
        if let Item::Prefix(p) = item {
            let _ = write!(
                x,
                "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
                escape(p)
            );
        }
    }
    x.push_str("</ListBucketResult>");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(keys: &[&str]) -> Vec<Entry> {
        keys.iter()
            .map(|k| Entry {
                key: (*k).to_owned(),
                size: 1,
                modified: SystemTime::UNIX_EPOCH,
            })
            .collect()
    }

    fn keys_of(doc: &str, tag: &str) -> Vec<String> {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        doc.split(&open)
            .skip(1)
            .filter_map(|s| s.split(&close).next())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn tokens_round_trip() {
        assert_eq!(decode_token(&encode_token("a/é b")), Some("a/é b".into()));
        assert_eq!(decode_token("zz"), None);
        assert_eq!(decode_token("abc"), None);
    }

    #[test]
    fn pages_with_delimiter() {
        let all = entries(&["a/1", "a/2", "b", "c/x/y", "d"]);
        let mut params = ListParams::parse("list-type=2&delimiter=/&max-keys=2").unwrap();
        let mut seen = Vec::new();
        loop {
            let doc = render("bk", &params, &all);
            seen.extend(keys_of(&doc, "Key"));
            seen.extend(
                keys_of(&doc, "Prefix")
                    .into_iter()
                    .filter(|p| !p.is_empty()),
            );
            match keys_of(&doc, "NextContinuationToken").pop() {
                Some(t) => params.continuation = decode_token(&t),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(seen, ["a/", "b", "c/", "d"]);
    }

    #[test]
    fn prefix_and_start_after() {
        let all = entries(&["x/1", "x/2", "x/3", "y"]);
        let params = ListParams::parse("prefix=x/&start-after=x/1").unwrap();
        assert_eq!(keys_of(&render("bk", &params, &all), "Key"), ["x/2", "x/3"]);
        assert!(ListParams::parse("max-keys=lots").is_err());
        assert!(ListParams::parse("continuation-token=q").is_err());
    }
}
