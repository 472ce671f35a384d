//! `/admin/decide/{token}`: the one-click decision links of notification
//! emails. No bearer token here: the signed link is the credential.
//!
//! GET only shows a confirmation page (mail scanners and link previews
//! follow links, and must not decide anything); its form POSTs to the same
//! URL, and only that POST acts, once.

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{Method, StatusCode};
use warp::reply::Response;

use crate::domain::Comment;
use crate::domain::moderation::LinkRefusal;
use crate::http::html::{escape, page};
use crate::http::views::format_time;
use crate::http::{AppState, endpoint, with_state};

/// The decision routes (no bearer token: the link is the credential).
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let show = warp::path!("admin" / "decide" / String)
        .and(warp::get())
        .and(with_state(state.clone()))
        .then(decide_show);
    let act = warp::path!("admin" / "decide" / String)
        .and(warp::post())
        // The body (an empty form) is never read, so none is required:
        // `curl -X POST` without a Content-Length works too.
        .and(with_state(state))
        .then(decide_act);
    endpoint(Method::GET, "/admin/decide/{token}", show)
        .or(endpoint(Method::POST, "/admin/decide/{token}", act))
        .unify()
        .boxed()
}

/// The page that says why a link leads to no decision.
fn refused(refusal: LinkRefusal) -> Response {
    match refusal {
        LinkRefusal::Invalid => page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "<p>This link is not valid. Copy the whole link from the email, or decide in the admin page.</p>",
        ),
        LinkRefusal::Expired => page(
            StatusCode::GONE,
            "Link expired",
            "<p>This link has expired. Decide in the admin page instead.</p>",
        ),
        LinkRefusal::Used => page(
            StatusCode::CONFLICT,
            "Link already used",
            "<p>This link was already used; it works once. The admin page shows the comment as it is now.</p>",
        ),
        LinkRefusal::Gone => page(
            StatusCode::NOT_FOUND,
            "Comment not found",
            "<p>This comment no longer exists.</p>",
        ),
        LinkRefusal::Fault(crate::domain::moderation::Error::Store(
            crate::domain::ports::StoreError::Unavailable { reason },
        )) => {
            tracing::warn!(reason = %reason, "decision link refused: the store cannot write now");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again in a moment",
                "<p>The decision cannot be stored right now. The link still works: try it again in a minute.</p>",
            )
        }
        LinkRefusal::Fault(e) => {
            tracing::error!(error = %e, "decision link failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "<p>The decision could not be stored. Try again, or use the admin page.</p>",
            )
        }
    }
}

/// GET /admin/decide/{token}
///
/// 200 with a confirmation page and a form; 404 for a forged or malformed
/// token or a deleted comment; 409 once used; 410 once expired. Changes
/// nothing.
async fn decide_show(token: String, state: AppState) -> Response {
    let (verified, comment) = match state.moderator.inspect_link(&token).await {
        Ok(found) => found,
        Err(refusal) => return refused(refusal),
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
/// 200 once the decision is stored; 404, 409 or 410 as for GET; 503
/// while the store cannot write (the link stays usable); 500 on a fault.
async fn decide_act(token: String, state: AppState) -> Response {
    match state.moderator.decide_by_link(&token).await {
        Ok(transition) => {
            let status = transition.comment.status;
            let body = format!(
                "<p>The comment is now <strong>{status}</strong>.</p>{}",
                details(&transition.comment)
            );
            page(StatusCode::OK, &format!("Done: {status}"), &body)
        }
        Err(refusal) => refused(refusal),
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
