//! Request routing: the control endpoints (`/_counters`), path-style S3 addressing
//! (`/<bucket>` for bucket operations, `/<bucket>/<key>` for objects, which doubles as the plain
//! HTTP URL), injected error responses, and the first-byte latency every answer waits for.
//! The store is read-only: other methods get `405 MethodNotAllowed`.

use std::sync::Arc;
use std::time::SystemTime;

use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE, RANGE};
use hyper::{Method, Request, Response, StatusCode};
use percent_encoding::{percent_decode_str, AsciiSet, NON_ALPHANUMERIC};
use tokio::time::Instant;

use crate::body::{Completion, ResponseBody};
use crate::counters::FaultKind;
use crate::faults::{ErrorFault, Plan};
use crate::list::{self, ListParams};
use crate::object::{self, ObjectRequest};
use crate::server::{ConnShared, Shared};
use crate::xml::error_document;

/// Characters left unescaped in a key segment of a URL (RFC 3986 unreserved).
pub(crate) const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// An S3 error response with its XML document.
pub(crate) fn error_response(
    status: StatusCode,
    code: &str,
    message: &str,
    resource: &str,
    request_id: &str,
) -> Response<ResponseBody> {
    let doc = error_document(code, message, resource, request_id);
    let mut resp = Response::new(ResponseBody::full(doc));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    resp
}

fn xml_response(doc: String) -> Response<ResponseBody> {
    let mut resp = Response::new(ResponseBody::full(doc));
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    resp
}

/// What is known about a request before routing, for counting, logging and latency.
struct Arrival {
    at: Instant,
    start: SystemTime,
    method: Method,
    path_and_query: String,
    range: String,
    request_id: String,
}

impl Arrival {
    fn new<B>(shared: &Shared, req: &Request<B>) -> Self {
        Arrival {
            at: Instant::now(),
            start: SystemTime::now(),
            method: req.method().clone(),
            path_and_query: req
                .uri()
                .path_and_query()
                .map_or_else(|| req.uri().path().to_owned(), |pq| pq.as_str().to_owned()),
            range: req
                .headers()
                .get(RANGE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
            request_id: shared.request_id(),
        }
    }

    /// Waits out the first-byte latency (counted from arrival, so the time spent routing is
    /// part of it), then counts and tags the response and arranges for it to be logged.
    async fn finish(
        self,
        shared: &Arc<Shared>,
        mut resp: Response<ResponseBody>,
    ) -> Response<ResponseBody> {
        tokio::time::sleep_until(self.at + shared.config.latency).await;
        shared.counters.status(resp.status());
        if let Ok(id) = HeaderValue::from_str(&self.request_id) {
            resp.headers_mut().insert("x-amz-request-id", id);
        }
        let status = resp.status().as_u16();
        resp.body_mut().set_completion(Completion {
            shared: Arc::clone(shared),
            start: self.start,
            method: self.method.to_string(),
            path: self.path_and_query,
            range: self.range,
            status,
        });
        resp
    }
}

/// Serves one request on a connection within the limit.
pub(crate) async fn handle<B>(
    shared: Arc<Shared>,
    conn: Arc<ConnShared>,
    req: Request<B>,
) -> Response<ResponseBody> {
    let path = req.uri().path();
    if path == "/_counters" || path.starts_with("/_counters/") {
        return control(&shared, &req);
    }
    shared.counters.request(req.method());
    let arrival = Arrival::new(&shared, &req);
    let plan = shared.planner.plan(
        arrival.method.as_str(),
        &arrival.path_and_query,
        &arrival.range,
    );
    let resp = match plan.error {
        Some(fault) => {
            shared.counters.fault(FaultKind::Error);
            injected_error(fault, req.uri().path(), &arrival.request_id)
        }
        None => route(&shared, &conn, &req, &plan, &arrival.request_id).await,
    };
    arrival.finish(&shared, resp).await
}

/// Answers a request on a connection beyond the limit: `503 SlowDown`, then close.
pub(crate) async fn reject<B>(shared: Arc<Shared>, req: Request<B>) -> Response<ResponseBody> {
    shared.counters.request(req.method());
    let arrival = Arrival::new(&shared, &req);
    let mut resp = injected_error(ErrorFault::SlowDown, req.uri().path(), &arrival.request_id);
    resp.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    arrival.finish(&shared, resp).await
}

fn injected_error(fault: ErrorFault, resource: &str, request_id: &str) -> Response<ResponseBody> {
    match fault {
        ErrorFault::SlowDown => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "SlowDown",
            "Please reduce your request rate.",
            resource,
            request_id,
        ),
        ErrorFault::Internal => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            "We encountered an internal error. Please try again.",
            resource,
            request_id,
        ),
    }
}

/// `GET /_counters` and `POST /_counters/reset`: not counted, no latency, no faults.
fn control<B>(shared: &Shared, req: &Request<B>) -> Response<ResponseBody> {
    let status = match (req.method(), req.uri().path()) {
        (&Method::GET, "/_counters") => StatusCode::OK,
        (&Method::POST, "/_counters/reset") => {
            shared.counters.reset();
            StatusCode::OK
        }
        (_, "/_counters" | "/_counters/reset") => StatusCode::METHOD_NOT_ALLOWED,
        _ => StatusCode::NOT_FOUND,
    };
    let body = if status == StatusCode::OK {
        shared.counters.snapshot().to_json().to_string()
    } else {
        String::new()
    };
    let mut resp = Response::new(ResponseBody::full(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// Why a path cannot name a bucket or object.
enum BadPath {
    /// Not valid in a URL or not representable as a file (`..`, NUL, invalid UTF-8): `400`.
    Invalid,
    /// Valid for S3 but impossible as a file path here (empty segment): `404`.
    Absent,
}

/// Decodes and checks one path segment.
fn segment(raw: &str) -> Result<String, BadPath> {
    let s = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| BadPath::Invalid)?;
    match &*s {
        "" => Err(BadPath::Absent),
        "." | ".." => Err(BadPath::Invalid),
        s if s.contains('\0') || s.contains('/') => Err(BadPath::Invalid),
        s => Ok(s.to_owned()),
    }
}

async fn route<B>(
    shared: &Arc<Shared>,
    conn: &Arc<ConnShared>,
    req: &Request<B>,
    plan: &Plan,
    request_id: &str,
) -> Response<ResponseBody> {
    let resource = req.uri().path();
    let method = req.method();
    if method != Method::GET && method != Method::HEAD {
        let mut resp = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "This store is read-only: only GET and HEAD are allowed.",
            resource,
            request_id,
        );
        // Its body was not read, so the connection cannot carry another request.
        resp.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
        return resp;
    }
    let bad = |why: BadPath| match why {
        BadPath::Invalid => error_response(
            StatusCode::BAD_REQUEST,
            "InvalidURI",
            "Couldn't parse the specified URI.",
            resource,
            request_id,
        ),
        BadPath::Absent => error_response(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
            resource,
            request_id,
        ),
    };
    let trimmed = resource.trim_start_matches('/');
    let (bucket_raw, key_raw) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    if bucket_raw.is_empty() {
        return error_response(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "ListBuckets is not supported; address a bucket.",
            resource,
            request_id,
        );
    }
    let bucket = match segment(bucket_raw) {
        Ok(b) => b,
        Err(why) => return bad(why),
    };
    if key_raw.is_empty() {
        return bucket_request(shared, req, &bucket, request_id).await;
    }
    let segments = match key_raw
        .split('/')
        .map(segment)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(s) => s,
        Err(why) => return bad(why),
    };
    object::serve(
        shared,
        conn,
        ObjectRequest {
            req,
            bucket: &bucket,
            segments: &segments,
            resource,
            plan,
            request_id,
        },
    )
    .await
}

/// HeadBucket and ListObjectsV2.
async fn bucket_request<B>(
    shared: &Arc<Shared>,
    req: &Request<B>,
    bucket: &str,
    request_id: &str,
) -> Response<ResponseBody> {
    let resource = req.uri().path();
    let dir = shared.root.join(bucket);
    if !tokio::fs::metadata(&dir).await.is_ok_and(|m| m.is_dir()) {
        return error_response(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist.",
            resource,
            request_id,
        );
    }
    if req.method() == Method::HEAD {
        return Response::new(ResponseBody::empty());
    }
    let query = req.uri().query().unwrap_or("");
    let is_v2 = form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "list-type" && v == "2");
    if !is_v2 {
        return error_response(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "Only ListObjectsV2 (list-type=2) is supported.",
            resource,
            request_id,
        );
    }
    let params = match ListParams::parse(query) {
        Ok(p) => p,
        Err(list::BadRequest(message)) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                "InvalidArgument",
                &message,
                resource,
                request_id,
            )
        }
    };
    let entries = match tokio::task::spawn_blocking(move || list::walk(&dir)).await {
        Ok(Ok(entries)) => entries,
        Ok(Err(message)) => {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                &message,
                resource,
                request_id,
            )
        }
        Err(_) => {
            return error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                "listing failed",
                resource,
                request_id,
            )
        }
    };
    xml_response(list::render(bucket, &params, &entries))
}
