//! `/admin/decide/{token}`: the one-click decision links of notification
//! emails. No bearer token here: the signed link is the credential.
//!
//! GET only shows a confirmation page (mail scanners and link previews
//! follow links, and must not decide anything); its form POSTs to the same
//! URL, and only that POST acts, once.

use std::time::{Duration, SystemTime};

use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::api::{format_time, with_state};
use crate::notify::LinkSigner;
use crate::notify::links::{Refused, Verified};
use crate::state::AppState;
use crate::domain::{Comment, Via};

/// The decision routes under `/admin` (mounted before the auth filter).
pub fn routes(
    state: AppState,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    let show = warp::path!("decide" / String)
        .and(warp::get())
        .and(with_state(state.clone()))
        .then(decide_show);
    let act = warp::path!("decide" / String)
        .and(warp::post())
        // The body (an empty form) is never read, so none is required:
        // `curl -X POST` without a Content-Length works too.
        .and(with_state(state))
        .then(decide_act);
    show.or(act)
}

fn signer(state: &AppState) -> LinkSigner {
    LinkSigner::new(
        state.privacy.decision_link_key(),
        Duration::from_secs(state.config.link_ttl_hours.saturating_mul(3600)),
    )
}

/// Why a link does not lead to a decision.
enum Refusal {
    Link(Refused),
    Used,
    Internal(String),
}

impl Refusal {
    fn into_page(self) -> Response {
        match self {
            Refusal::Link(Refused::Invalid) => page(
                StatusCode::NOT_FOUND,
                "Link not valid",
                "<p>This link is not valid. Copy the whole link from the email, or decide in the admin page.</p>",
            ),
            Refusal::Link(Refused::Expired) => page(
                StatusCode::GONE,
                "Link expired",
                "<p>This link has expired. Decide in the admin page instead.</p>",
            ),
            Refusal::Used => already_used(),
            Refusal::Internal(cause) => internal(&cause),
        }
    }
}

/// Checks signature, expiry and use.
fn check(token: &str, state: &AppState) -> Result<Verified, Refusal> {
    let verified = signer(state)
        .verify(token, SystemTime::now())
        .map_err(Refusal::Link)?;
    match state.store.link_used(&verified.mac) {
        Ok(false) => Ok(verified),
        Ok(true) => Err(Refusal::Used),
        Err(e) => Err(Refusal::Internal(e.to_string())),
    }
}

/// GET /admin/decide/{token}
///
/// 200 with a confirmation page and a form; 404 for a forged or malformed
/// token or a deleted comment; 409 once used; 410 once expired. Changes
/// nothing.
async fn decide_show(token: String, state: AppState) -> Response {
    let verified = match check(&token, &state) {
        Ok(v) => v,
        Err(refusal) => return refusal.into_page(),
    };
    let comment = match state.store.get(verified.id) {
        Ok(Some(c)) => c,
        Ok(None) => return gone_comment(),
        Err(e) => return internal(&e.to_string()),
    };
    let verb = verified.decision.verb();
    let body = format!(
        "{details}<form method=\"post\" action=\"\"><button type=\"submit\">{verb}</button></form>\
         <p class=\"note\">Nothing changes until you press the button. The link works once.</p>",
        details = details(&comment),
        verb = escape(verb),
    );
    page(StatusCode::OK, &format!("{verb} this comment?"), &body)
}

/// POST /admin/decide/{token}
///
/// 200 once the decision is stored; 404, 409 or 410 as for GET.
async fn decide_act(token: String, state: AppState) -> Response {
    let verified = match check(&token, &state) {
        Ok(v) => v,
        Err(refusal) => return refusal.into_page(),
    };
    match state.store.claim_link(&verified.mac).await {
        Ok(true) => {}
        Ok(false) => return already_used(),
        Err(e) => return internal(&e.to_string()),
    }
    let status = verified.decision.status();
    match state
        .store
        .set_status(verified.id, status, Via::EmailLink)
        .await
    {
        Ok(Some(comment)) => {
            tracing::info!(comment_id = %verified.id, status = %status, via = "email link", "decision");
            let body = format!(
                "<p>The comment is now <strong>{status}</strong>.</p>{}",
                details(&comment)
            );
            page(StatusCode::OK, &format!("Done: {status}"), &body)
        }
        Ok(None) => gone_comment(),
        Err(e) => {
            // The decision did not happen: let the link be used again.
            if let Err(release) = state.store.release_link(&verified.mac) {
                tracing::error!(error = %release, "cannot release a decision link");
            }
            internal(&e.to_string())
        }
    }
}

fn details(c: &Comment) -> String {
    let website = match &c.url {
        Some(url) => format!("<dt>Website</dt><dd>{}</dd>", escape(url)),
        None => String::new(),
    };
    format!(
        "<dl><dt>Page</dt><dd>{page}</dd><dt>Author</dt><dd>{author}</dd>{website}\
         <dt>Received</dt><dd>{time}</dd><dt>Status now</dt><dd>{status}</dd>\
         <dt>Score</dt><dd>{score}</dd></dl><blockquote>{text}</blockquote>",
        page = escape(&c.page),
        author = escape(&c.author),
        time = escape(&format_time(c.created_at)),
        status = c.status,
        score = c.score,
        text = escape(&c.text),
    )
}

fn already_used() -> Response {
    page(
        StatusCode::CONFLICT,
        "Link already used",
        "<p>This link was already used; it works once. The admin page shows the comment as it is now.</p>",
    )
}

fn gone_comment() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "Comment not found",
        "<p>This comment no longer exists.</p>",
    )
}

fn internal(cause: &str) -> Response {
    tracing::error!(error = %cause, "decision link failed");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "<p>The decision could not be stored. Try again, or use the admin page.</p>",
    )
}

/// A complete HTML page; `body` is already escaped HTML, `title` is text.
fn page(status: StatusCode, title: &str, body: &str) -> Response {
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

/// Escapes text for HTML element content and quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }
}
