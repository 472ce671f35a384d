//! `GET /feed.atom?page=/path/` (the approved comments of one page) and
//! `GET /feed.atom` (the latest approved comments of the site): Atom 1.0
//! (RFC 4287), built from the public view of each comment only, so a feed
//! can hold nothing a reader's page could not show (no email, no address,
//! no score). Each answer has an `ETag` and answers `If-None-Match` with 304.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::Method;
use warp::reply::Response;

use crate::domain::ports::ListQuery;
use crate::domain::{Comment, PageId, PublicComment, Status, format_time};
use crate::http::cache::Cached;
use crate::http::html::escape;
use crate::http::{ApiError, AppState, endpoint, read_limited, with_state};

/// Entries of the site's feed.
pub const SITE_FEED_ENTRIES: usize = 50;
/// Entries of a page's feed at most (its newest).
pub const PAGE_FEED_ENTRIES: usize = 200;

const ATOM: &str = "application/atom+xml; charset=utf-8";

/// `GET /feed.atom` (and `HEAD`).
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let feed = warp::path!("feed.atom")
        .and(warp::get().or(warp::head()).unify())
        .and(read_limited(state.clone()))
        .and(warp::query::<BTreeMap<String, String>>())
        .and(warp::header::optional::<String>("if-none-match"))
        .and(with_state(state))
        .then(feed_get);
    endpoint(Method::GET, "/feed.atom", feed)
}

/// GET /feed.atom[?page=/path/]
///
/// 200 `application/atom+xml` with an `ETag`, newest entries first; 304
/// when `If-None-Match` matches; 422 for an invalid page.
async fn feed_get(
    query: BTreeMap<String, String>,
    if_none_match: Option<String>,
    state: AppState,
) -> Result<Response, ApiError> {
    let feed = match query.get("page") {
        Some(raw) => {
            let page = PageId::parse(raw.trim()).map_err(|message| {
                ApiError::from(crate::domain::moderation::Error::field("page", message))
            })?;
            let key = format!("feed\0{}", page.as_str());
            let generation = state.store().page_generation(page.as_str());
            if let Some(cached) = state.page_cache.get(&key, generation) {
                return Ok(cached.respond(if_none_match.as_deref()));
            }
            let mut comments = state.store().approved_for_page(page.as_str()).await?;
            comments.reverse();
            let feed = Cached::typed(
                atom(&state, Some(page.as_str()), comments, PAGE_FEED_ENTRIES),
                ATOM,
            );
            state.page_cache.put(&key, generation, feed.clone());
            feed
        }
        None => {
            let listing = state
                .store()
                .list(ListQuery {
                    status: Some(Status::Approved),
                    page: None,
                    limit: SITE_FEED_ENTRIES,
                    before: None,
                })
                .await?;
            Cached::typed(
                atom(&state, None, listing.comments, SITE_FEED_ENTRIES),
                ATOM,
            )
        }
    };
    Ok(feed.respond(if_none_match.as_deref()))
}

/// The feed document of `comments` (newest first), at most `max` entries.
fn atom(state: &AppState, page: Option<&str>, comments: Vec<Comment>, max: usize) -> Vec<u8> {
    let blog = blog_origin(&state.config.allowed_origins);
    let base = state.config.public_base_url();
    let entries: Vec<(PublicComment, &Comment)> = comments
        .iter()
        .filter(|c| !c.deleted)
        .take(max)
        .map(|c| (PublicComment::from(c), c))
        .collect();
    let updated = entries
        .iter()
        .map(|(_, c)| c.updated_at.max(c.created_at))
        .max()
        .unwrap_or(0);
    let (title, scope) = match page {
        Some(page) => (format!("Comments on {page}"), page),
        None => ("Latest comments".to_owned(), ""),
    };
    let mut xml = String::with_capacity(1024 + entries.len() * 1024);
    xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    xml.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    push_element(&mut xml, "id", &urn_uuid(&digest_id(base, scope)));
    push_element(&mut xml, "title", &title);
    push_element(&mut xml, "updated", &format_time(updated));
    push_element(&mut xml, "generator", "moderato");
    if !base.is_empty() {
        let query = page.map_or_else(String::new, |p| format!("?page={}", query_value(p)));
        push_link(&mut xml, "self", ATOM, &format!("{base}/feed.atom{query}"));
    }
    if let (Some(blog), Some(page)) = (&blog, page) {
        push_link(&mut xml, "alternate", "text/html", &format!("{blog}{page}"));
    }
    for (public, comment) in &entries {
        xml.push_str("<entry>\n");
        push_element(&mut xml, "id", &urn_uuid(&public.id.to_bytes()));
        let verb = if public.parent.is_some() {
            "Reply"
        } else {
            "Comment"
        };
        let title = format!("{verb} by {} on {}", public.author, comment.page);
        push_element(&mut xml, "title", &title);
        push_element(&mut xml, "published", &public.created_at);
        push_element(
            &mut xml,
            "updated",
            &format_time(comment.updated_at.max(comment.created_at)),
        );
        xml.push_str("<author>");
        push_element(&mut xml, "name", &public.author);
        if let Some(url) = &public.url {
            push_element(&mut xml, "uri", url);
        }
        xml.push_str("</author>\n");
        if let Some(blog) = &blog {
            let href = format!("{blog}{}#comment-{}", comment.page, public.id);
            push_link(&mut xml, "alternate", "text/html", &href);
        }
        xml.push_str("<content type=\"html\">");
        xml.push_str(&escape(&public.html));
        xml.push_str("</content>\n</entry>\n");
    }
    xml.push_str("</feed>\n");
    xml.into_bytes()
}

/// The blog's origin when exactly one is configured: where entries link.
fn blog_origin(allowed: &[String]) -> Option<String> {
    match allowed {
        [one] => Some(one.trim_end_matches('/').to_owned()),
        _ => None,
    }
}

fn push_element(xml: &mut String, name: &str, text: &str) {
    xml.push('<');
    xml.push_str(name);
    xml.push('>');
    xml.push_str(&escape(text));
    xml.push_str("</");
    xml.push_str(name);
    xml.push_str(">\n");
}

fn push_link(xml: &mut String, rel: &str, media_type: &str, href: &str) {
    xml.push_str(&format!(
        "<link rel=\"{rel}\" type=\"{media_type}\" href=\"{}\"/>\n",
        escape(href)
    ));
}

/// A page path as a query value.
fn query_value(page: &str) -> String {
    form_urlencoded::byte_serialize(page.as_bytes()).collect()
}

/// A stable feed id: the first 16 bytes of a digest of the service's URL
/// and the feed's scope.
fn digest_id(base: &str, scope: &str) -> [u8; 16] {
    let digest =
        Sha256::digest([b"moderato feed\0", base.as_bytes(), b"\0", scope.as_bytes()].concat());
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

/// 16 bytes as a `urn:uuid:` IRI (a comment's ULID bytes, or a digest).
fn urn_uuid(bytes: &[u8; 16]) -> String {
    let hex = hex::encode(bytes);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::CommentId;

    #[test]
    fn ids_are_uuid_urns() {
        let id: CommentId = "01ARZ3NDEKTSV4RRFFQ69G5FAV".parse().expect("ulid");
        let urn = urn_uuid(&id.to_bytes());
        assert_eq!(urn.len(), "urn:uuid:".len() + 36);
        assert_eq!(urn, "urn:uuid:01563e3a-b5d3-d676-4c61-efb99302bd5b");
        assert_ne!(digest_id("", "/a/"), digest_id("", "/b/"));
    }
}
