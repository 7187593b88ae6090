//! GetObject and HeadObject: maps a key to a file below the bucket directory (refusing
//! anything that would leave it), derives the validators (ETag from size and modification
//! time, Last-Modified), evaluates conditional headers and the Range header, and builds the
//! `200`/`206`/`304`/`412`/`416` response with the object stream as its body.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::header::{
    HeaderValue, ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, LAST_MODIFIED,
    RANGE,
};
use hyper::{Method, Request, Response, StatusCode};

use crate::body::{ObjectReader, ResponseBody};
use crate::conditional::{self, Verdict};
use crate::faults::Plan;
use crate::handler::error_response;
use crate::range::{self, Span};
use crate::server::{ConnShared, Shared};
use crate::time::http_date;

/// The quoted ETag of a file: stable while the file's size and modification time are.
pub(crate) fn etag(size: u64, modified: SystemTime) -> String {
    let nanos = modified
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("\"{size:x}-{nanos:x}\"")
}

/// One object request, already routed.
pub(crate) struct ObjectRequest<'a, B> {
    pub req: &'a Request<B>,
    pub bucket: &'a str,
    /// Validated key segments.
    pub segments: &'a [String],
    pub resource: &'a str,
    pub plan: &'a Plan,
    pub request_id: &'a str,
}

fn header(value: impl ToString) -> HeaderValue {
    // Every value built here is ASCII (numbers, quoted hex, HTTP dates); fall back to an empty
    // value rather than panic should that ever change.
    HeaderValue::from_str(&value.to_string()).unwrap_or(HeaderValue::from_static(""))
}

pub(crate) async fn serve<B>(
    shared: &Arc<Shared>,
    conn: &Arc<ConnShared>,
    r: ObjectRequest<'_, B>,
) -> Response<ResponseBody> {
    let bucket_dir = shared.root.join(r.bucket);
    let not_found = |bucket_exists: bool| {
        if bucket_exists {
            error_response(
                StatusCode::NOT_FOUND,
                "NoSuchKey",
                "The specified key does not exist.",
                r.resource,
                r.request_id,
            )
        } else {
            error_response(
                StatusCode::NOT_FOUND,
                "NoSuchBucket",
                "The specified bucket does not exist.",
                r.resource,
                r.request_id,
            )
        }
    };
    let path: PathBuf = r.segments.iter().fold(bucket_dir.clone(), |p, s| p.join(s));
    // Looked up on the runtime's thread, as bodies are read (body.rs): the metadata is cached
    // by the kernel, and a blocking-pool hop would cost more than the call.
    let meta = match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => m,
        _ => return not_found(std::fs::metadata(&bucket_dir).is_ok_and(|m| m.is_dir())),
    };
    // Symlinks may point anywhere; serve only what resolves inside the root.
    match std::fs::canonicalize(&path) {
        Ok(real) if real.starts_with(&shared.root) => {}
        _ => return not_found(true),
    }

    let size = meta.len();
    let modified = meta.modified().unwrap_or(UNIX_EPOCH);
    let etag = etag(size, modified);
    let last_modified = http_date(modified);
    let honour_range = match conditional::evaluate(r.req.headers(), &etag, modified) {
        Verdict::Proceed { honour_range } => honour_range,
        Verdict::PreconditionFailed => {
            return error_response(
                StatusCode::PRECONDITION_FAILED,
                "PreconditionFailed",
                "At least one of the pre-conditions you specified did not hold",
                r.resource,
                r.request_id,
            )
        }
        Verdict::NotModified => {
            let mut resp = Response::new(ResponseBody::empty());
            *resp.status_mut() = StatusCode::NOT_MODIFIED;
            resp.headers_mut().insert(ETAG, header(&etag));
            resp.headers_mut()
                .insert(LAST_MODIFIED, header(&last_modified));
            return resp;
        }
    };
    let range_header = r.req.headers().get(RANGE).and_then(|v| v.to_str().ok());
    let span = if honour_range {
        range::resolve(range_header, size)
    } else {
        Span::Full
    };
    let (status, start, end) = match span {
        Span::Full => (StatusCode::OK, 0, size),
        Span::Partial { start, end } => (StatusCode::PARTIAL_CONTENT, start, end + 1),
        Span::Unsatisfiable => {
            let mut resp = error_response(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "InvalidRange",
                "The requested range is not satisfiable",
                r.resource,
                r.request_id,
            );
            resp.headers_mut()
                .insert(CONTENT_RANGE, header(format!("bytes */{size}")));
            return resp;
        }
    };
    let len = end - start;
    let body = if r.req.method() == Method::HEAD {
        ResponseBody::empty()
    } else {
        let held = if shared.config.in_memory {
            match shared.memory.get(&path, size, modified).await {
                Ok(bytes) => Some(bytes),
                Err(e) => {
                    return error_response(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "InternalError",
                        &format!("reading the object failed: {e}"),
                        r.resource,
                        r.request_id,
                    )
                }
            }
        } else {
            None
        };
        let reader = ObjectReader {
            held,
            path,
            start,
            end,
            fault: r.plan.body_fault_at(len),
            shared: Arc::clone(shared),
            conn: Arc::clone(conn),
        };
        ResponseBody::stream(len, reader.into_stream())
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_LENGTH, header(len));
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(ETAG, header(&etag));
    h.insert(LAST_MODIFIED, header(&last_modified));
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            CONTENT_RANGE,
            header(format!("bytes {start}-{}/{size}", end - 1)),
        );
    }
    resp
}
