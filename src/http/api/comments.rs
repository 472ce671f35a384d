//! `POST /api/comments`, `GET /api/comments?page=`, `GET /api/comments/{id}`
//! and `GET /api/counts`.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;
use warp::filters::BoxedFilter;
use warp::http::{HeaderValue, Method, StatusCode, header};
use warp::reply::Response;
use warp::{Filter, Reply};

use super::body::{self, BodyKind};
use crate::domain::moderation::ClientInfo;
use crate::domain::thread::{self, Sort, Window};
use crate::domain::{CommentId, FieldErrors, FieldValue, PageId, Status, format_time};
use crate::http::cache::Cached;
use crate::http::views::PublicComment;
use crate::http::{
    ApiError, AppState, MAX_BODY_BYTES, endpoint, post_limited, read_limited, with_state,
};

/// Most pages one `/api/counts` request may ask for.
pub const MAX_COUNT_PAGES: usize = 100;

/// The comment routes under `/api`, without CORS.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let create = warp::path!("comments")
        .and(warp::post())
        .and(post_limited(state.clone()))
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::header::optional::<String>("accept"))
        .and(warp::header::optional::<String>("referer"))
        .and(warp::header::optional::<String>("user-agent"))
        .and(warp::body::content_length_limit(MAX_BODY_BYTES))
        .and(warp::body::bytes())
        .and(with_state(state.clone()))
        .then(comments_create);
    let list = warp::path!("comments")
        .and(warp::get())
        .and(read_limited(state.clone()))
        .and(warp::query::<BTreeMap<String, String>>())
        .and(warp::header::optional::<String>("if-none-match"))
        .and(with_state(state.clone()))
        .then(comments_list);
    let one = warp::path!("comments" / String)
        .and(warp::get())
        .and(read_limited(state.clone()))
        .and(with_state(state.clone()))
        .then(comment_get);
    let counts = warp::path!("counts")
        .and(warp::get())
        .and(read_limited(state.clone()))
        .and(raw_query())
        .and(with_state(state.clone()))
        .then(counts_get);
    let form_token = warp::path!("form-token")
        .and(warp::get())
        .and(read_limited(state.clone()))
        .and(warp::query::<BTreeMap<String, String>>())
        .and(with_state(state))
        .then(form_token_get);
    endpoint(Method::POST, "/api/comments", create)
        .or(endpoint(Method::GET, "/api/comments", list))
        .unify()
        .or(endpoint(Method::GET, "/api/comments/{id}", one))
        .unify()
        .or(endpoint(Method::GET, "/api/counts", counts))
        .unify()
        .or(endpoint(Method::GET, "/api/form-token", form_token))
        .unify()
        .boxed()
}

/// The query string, or "" when there is none (warp rejects by default).
fn raw_query() -> impl Filter<Extract = (String,), Error = std::convert::Infallible> + Clone {
    warp::query::raw().or(warp::any().map(String::new)).unify()
}

/// POST /api/comments
///
/// 201 with `Location` and `{"id","status"}`; 303 back to the page for a
/// browser form post; 400 malformed body; 413 too large; 415 other content
/// types; 422 invalid fields.
#[allow(clippy::too_many_arguments)]
async fn comments_create(
    client_ip: Option<std::net::IpAddr>,
    content_type: Option<String>,
    accept: Option<String>,
    referer: Option<String>,
    user_agent: Option<String>,
    raw: Bytes,
    state: AppState,
) -> Result<Response, ApiError> {
    let kind = body::kind(content_type.as_deref())?;
    let fields = body::decode(kind, &raw)?;
    let client = ClientInfo {
        ip: client_ip,
        user_agent,
    };
    let received = state.moderator.submit(&fields, &client).await?;
    let comment = &received.comment;
    state
        .metrics
        .comment_received(comment.action, comment.status);
    let location = format!("/api/comments/{}", comment.id);

    let wants_json = accept
        .as_deref()
        .is_some_and(|a| a.contains("application/json"));
    let page = match fields.get("page") {
        Some(FieldValue::Text(page)) => page.trim(),
        _ => "/",
    };
    let back = referer.and_then(|r| redirect_target(&r, page, &state.config.allowed_origins));
    if let Some(back) = back.filter(|_| kind == BodyKind::Form && !wants_json) {
        let anchor = match received.public_status {
            Status::Approved => format!("comment-{}", comment.id),
            _ => "comment-pending".to_owned(),
        };
        let mut response = StatusCode::SEE_OTHER.into_response();
        if let Ok(value) = HeaderValue::from_str(&format!("{back}#{anchor}")) {
            response.headers_mut().insert(header::LOCATION, value);
            return Ok(response);
        }
    }

    #[derive(Serialize)]
    struct Created<'a> {
        id: CommentId,
        status: Status,
        /// The writer's credential for `PUT`/`DELETE`, sent once.
        #[serde(skip_serializing_if = "Option::is_none")]
        edit_token: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        editable_until: Option<String>,
    }
    let reply = warp::reply::json(&Created {
        id: comment.id,
        status: received.public_status,
        edit_token: received.edit_token.as_deref(),
        editable_until: comment.edit.as_ref().map(|grant| format_time(grant.until)),
    });
    let mut response = warp::reply::with_status(reply, StatusCode::CREATED).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// The page a form came from, without its fragment, when its origin is
/// allowed: never an open redirect to a site the author did not list.
///
/// Browsers send only the origin as `Referer` for a cross-origin post (the
/// default `strict-origin-when-cross-origin` policy); the comment's `page`
/// (the post's path) then completes it.
fn redirect_target(referer: &str, page: &str, allowed_origins: &[String]) -> Option<String> {
    let mut url = url::Url::parse(referer).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let origin = url.origin().ascii_serialization();
    if !allowed_origins.is_empty() && !allowed_origins.contains(&origin) {
        return None;
    }
    if url.path() == "/" && url.query().is_none() && page.starts_with('/') {
        url.set_path(page);
    }
    url.set_fragment(None);
    Some(url.to_string())
}

/// Most top-level comments one `GET /api/comments` page may ask for.
pub const MAX_THREAD_LIMIT: usize = 200;

/// GET /api/comments?page=/path&sort=oldest|newest&limit=&cursor=
///
/// 200 with `{"page", "count", "comments", "next_cursor"}`: `limit`
/// top-level comments (all when absent) in `sort` order after `cursor`,
/// each followed by all its replies; `count` is every approved comment of
/// the page; `next_cursor` is null on the last page. An `ETag` per variant;
/// 304 when `If-None-Match` matches; 422 naming an invalid `page`, `sort`,
/// `limit` or `cursor`.
async fn comments_list(
    query: BTreeMap<String, String>,
    if_none_match: Option<String>,
    state: AppState,
) -> Result<Response, ApiError> {
    let page = page_param(query.get("page").map(String::as_str))?;
    let window = thread_window(&query)?;
    let key = format!(
        "{}\0{}\0{}\0{}",
        page.as_str(),
        window.sort.as_str(),
        window.limit.unwrap_or(0),
        window.cursor.map(|c| c.to_string()).unwrap_or_default()
    );
    // Loaded before the comments are read: a change racing with this read
    // bumps it again, so the entry stored below is never taken for newer.
    let generation = state.store().page_generation(page.as_str());
    if let Some(cached) = state.page_cache.get(&key, generation) {
        return Ok(cached.respond(if_none_match.as_deref()));
    }

    #[derive(Serialize)]
    struct Thread<'a> {
        page: &'a str,
        count: usize,
        comments: Vec<PublicComment>,
        next_cursor: Option<CommentId>,
    }
    let approved = state.store().approved_for_page(page.as_str()).await?;
    let cut = thread::page(&approved, window);
    let body = serde_json::to_vec(&Thread {
        page: page.as_str(),
        count: approved.len(),
        comments: cut.comments.into_iter().map(PublicComment::from).collect(),
        next_cursor: cut.next_cursor,
    })
    .map_err(ApiError::internal)?;
    let cached = Cached::new(body);
    state.page_cache.put(&key, generation, cached.clone());
    Ok(cached.respond(if_none_match.as_deref()))
}

/// The `sort`, `limit` and `cursor` of a thread request.
fn thread_window(query: &BTreeMap<String, String>) -> Result<Window, ApiError> {
    let sort = match query.get("sort").map(|s| s.trim()) {
        None | Some("") => Sort::default(),
        Some(raw) => raw
            .parse()
            .map_err(|()| field_error("sort", "Sort by oldest or newest.".into()))?,
    };
    let limit = match query.get("limit").map(|s| s.trim()) {
        None | Some("") => None,
        Some(raw) => Some(
            raw.parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_THREAD_LIMIT).contains(n))
                .ok_or_else(|| {
                    field_error(
                        "limit",
                        format!("The limit must be a number from 1 to {MAX_THREAD_LIMIT}."),
                    )
                })?,
        ),
    };
    let cursor = match query.get("cursor").map(|s| s.trim()) {
        None | Some("") => None,
        Some(raw) => Some(raw.parse::<CommentId>().map_err(|()| {
            field_error("cursor", "The cursor is not one this service gave.".into())
        })?),
    };
    Ok(Window {
        sort,
        limit,
        cursor,
    })
}

/// GET /api/comments/{id}
///
/// 200 with the public view of an approved comment; 404 otherwise (a
/// pending comment is not public yet).
async fn comment_get(id: String, state: AppState) -> Result<Response, ApiError> {
    let id: CommentId = id.parse().map_err(|()| ApiError::NotFound)?;
    match state.store().get(id).await? {
        Some(c) if c.status == Status::Approved => {
            Ok(warp::reply::json(&PublicComment::from(&c)).into_response())
        }
        _ => Err(ApiError::NotFound),
    }
}

/// GET /api/counts?page=/a&page=/b
///
/// 200 with `{"/a": 3, "/b": 0}` (approved comments); 422 for an invalid
/// page or more than [`MAX_COUNT_PAGES`] pages.
async fn counts_get(query: String, state: AppState) -> Result<Response, ApiError> {
    let mut counts = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != "page" {
            continue;
        }
        if counts.len() == MAX_COUNT_PAGES {
            return Err(field_error(
                "page",
                format!("Ask for at most {MAX_COUNT_PAGES} pages at once."),
            ));
        }
        let page = page_param(Some(&value))?;
        let count = state.store().approved_count(page.as_str()).await?;
        counts.insert(page.as_str().to_owned(), count);
    }
    Ok(warp::reply::json(&counts).into_response())
}

/// GET /api/form-token?page=/path
///
/// 200 with `{"token": "..."}`: a signed token the form sends back as
/// `form_token`, so the `min_time` rule can tell a human who read the page
/// from a bot that posts at once. 422 for an invalid page.
async fn form_token_get(
    query: BTreeMap<String, String>,
    state: AppState,
) -> Result<Response, ApiError> {
    let page = page_param(query.get("page").map(String::as_str))?;
    let token = state
        .moderator
        .form_tokens()
        .issue(page.as_str(), std::time::SystemTime::now());
    let mut response = warp::reply::json(&serde_json::json!({ "token": token })).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn page_param(raw: Option<&str>) -> Result<PageId, ApiError> {
    PageId::parse(raw.unwrap_or("")).map_err(|message| field_error("page", message))
}

fn field_error(name: &'static str, message: String) -> ApiError {
    let mut fields = FieldErrors::new();
    fields.insert(name, message);
    ApiError::Validation { fields }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_only_go_to_allowed_origins() {
        let allowed = vec!["https://blog.example.org".to_owned()];
        let cases: &[(&str, &[String], Option<&str>, &str)] = &[
            (
                "https://blog.example.org/post/#reply",
                &allowed,
                Some("https://blog.example.org/post/"),
                "full referer",
            ),
            (
                "https://blog.example.org/",
                &allowed,
                Some("https://blog.example.org/p/"),
                "origin-only referer",
            ),
            ("https://evil.example/", &allowed, None, "unlisted origin"),
            ("javascript:alert(1)", &[], None, "not http"),
            (
                "http://anywhere.example/x",
                &[],
                Some("http://anywhere.example/x"),
                "any origin when none listed",
            ),
        ];
        for (referer, allowed, expected, case) in cases {
            assert_eq!(
                redirect_target(referer, "/p/", allowed).as_deref(),
                *expected,
                "{case}"
            );
        }
    }
}
