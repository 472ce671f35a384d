//! The few server-made HTML pages (the decision links of the author's
//! mails, the confirmation and unsubscribe pages of readers' mails): one
//! page frame with the headers such pages need, and the one escaper of text
//! for HTML and XML.

use warp::Reply;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

pub use crate::domain::sanitize::escape;

/// A complete HTML page; `body` is already escaped HTML, `title` is text.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title} - moderato</title>\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}}\
         dt{{font-weight:600}}blockquote{{white-space:pre-wrap;border-left:3px solid #ccc;margin:1rem 0;padding:0 1rem}}\
         button{{font-size:1.1rem;padding:.6rem 1.4rem}}.note{{color:#555}}</style></head>\
         <body><h1>{title}</h1>{body}</body></html>",
        title = escape(title),
    );
    let mut response = warp::reply::with_status(warp::reply::html(html), status).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        // The URL is a credential: never send it on as a Referer.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
