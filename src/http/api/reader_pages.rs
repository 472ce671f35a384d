//! The pages behind the links of readers' mails:
//! `/notifications/confirm/{token}` (double opt-in) and
//! `/notifications/unsubscribe/{token}` (RFC 8058 one-click, plus "stop all
//! mail from this site"). No bearer token: the signed link is the
//! credential, and the request log never shows it.
//!
//! `GET` only shows what the button would do (mail scanners follow links
//! and must not confirm or unsubscribe anyone); the `POST` does it. The
//! one-click `POST` of a mail client carries `List-Unsubscribe=One-Click`.

use bytes::Bytes;
use warp::Filter;
use warp::filters::BoxedFilter;
use warp::http::{Method, StatusCode};
use warp::reply::Response;

use crate::domain::now_millis;
use crate::domain::subscription::pages::LinkRefusal;
use crate::http::html::{escape, page};
use crate::http::{AppState, MAX_BODY_BYTES, endpoint, post_limited, read_limited, with_state};

/// The prefix the request log hides (its tokens are credentials).
pub const PREFIX: &str = "/notifications/";

/// The reader-page routes (no CORS: they are pages, not API).
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let confirm_show = warp::path!("notifications" / "confirm" / String)
        .and(warp::get())
        .and(read_limited(state.clone()))
        .and(with_state(state.clone()))
        .then(confirm_show);
    let confirm_act = warp::path!("notifications" / "confirm" / String)
        .and(warp::post())
        .and(post_limited(state.clone()))
        .and(with_state(state.clone()))
        .then(confirm_act);
    let unsubscribe_show = warp::path!("notifications" / "unsubscribe" / String)
        .and(warp::get())
        .and(read_limited(state.clone()))
        .and(with_state(state.clone()))
        .then(unsubscribe_show);
    let unsubscribe_act = warp::path!("notifications" / "unsubscribe" / String)
        .and(warp::post())
        .and(post_limited(state.clone()))
        .and(warp::body::content_length_limit(MAX_BODY_BYTES))
        .and(warp::body::bytes())
        .and(with_state(state))
        .then(unsubscribe_act);
    endpoint(Method::GET, "/notifications/confirm/{token}", confirm_show)
        .or(endpoint(
            Method::POST,
            "/notifications/confirm/{token}",
            confirm_act,
        ))
        .unify()
        .or(endpoint(
            Method::GET,
            "/notifications/unsubscribe/{token}",
            unsubscribe_show,
        ))
        .unify()
        .or(endpoint(
            Method::POST,
            "/notifications/unsubscribe/{token}",
            unsubscribe_act,
        ))
        .unify()
        .boxed()
}

fn refused(refusal: LinkRefusal) -> Response {
    match refusal {
        LinkRefusal::Invalid => page(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "<p>This link is not valid. Copy the whole link from the email.</p>",
        ),
        LinkRefusal::Expired => page(
            StatusCode::GONE,
            "Link expired",
            "<p>This confirmation link has expired. Tick the box again the next time you comment, and a new link will be sent.</p>",
        ),
        LinkRefusal::Fault(crate::domain::ports::StoreError::Unavailable { reason }) => {
            tracing::warn!(reason = %reason, "reader link refused: the store cannot write now");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again in a moment",
                "<p>This cannot be saved right now. The link still works: try it again in a minute.</p>",
            )
        }
        LinkRefusal::Fault(e) => {
            tracing::error!(error = %e, "reader link failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "<p>This could not be saved. Please try again in a moment.</p>",
            )
        }
    }
}

/// GET /notifications/confirm/{token}
///
/// 200 with a button; 404 not a link of this service; 410 expired.
/// Changes nothing.
async fn confirm_show(token: String, state: AppState) -> Response {
    match state
        .moderator
        .subscriptions()
        .check_confirmation(&token, now_millis())
        .await
    {
        Ok(found) if found.subscriber.is_confirmed() => page(
            StatusCode::OK,
            "Already confirmed",
            "<p>This address is confirmed: you will get the emails you asked for.</p>",
        ),
        Ok(_) => page(
            StatusCode::OK,
            "Confirm email notifications",
            "<p>Do you want to get the emails you asked for when you commented (replies to your comment, or the news that it was approved)?</p>\
             <form method=\"post\" action=\"\"><button type=\"submit\">Yes, send me these emails</button></form>\
             <p class=\"note\">Nothing changes until you press the button. Every email has a link to stop them.</p>",
        ),
        Err(refusal) => refused(refusal),
    }
}

/// POST /notifications/confirm/{token}
///
/// 200 once confirmed (again is fine); 404; 410.
async fn confirm_act(token: String, _ip: Option<std::net::IpAddr>, state: AppState) -> Response {
    match state
        .moderator
        .subscriptions()
        .confirm(&token, now_millis())
        .await
    {
        Ok(_) => page(
            StatusCode::OK,
            "Confirmed",
            "<p>Thank you. You will get the emails you asked for; each one has a link to stop them.</p>",
        ),
        Err(refusal) => refused(refusal),
    }
}

/// GET /notifications/unsubscribe/{token}
///
/// 200 with two buttons: this thread, or all mail of this site; 404.
/// Changes nothing.
async fn unsubscribe_show(token: String, state: AppState) -> Response {
    match state
        .moderator
        .subscriptions()
        .check_unsubscribe(&token)
        .await
    {
        Ok(found) => {
            let about = found.comment.as_ref().map_or_else(String::new, |c| {
                format!(
                    "<p>Your comment on <strong>{}</strong>:</p><blockquote>{}</blockquote>",
                    escape(&c.page),
                    escape(&c.text)
                )
            });
            page(
                StatusCode::OK,
                "Stop these emails?",
                &format!(
                    "{about}<form method=\"post\" action=\"\"><input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
                     <button type=\"submit\">Stop emails about this comment</button></form>\
                     <form method=\"post\" action=\"\"><input type=\"hidden\" name=\"scope\" value=\"all\">\
                     <button type=\"submit\">Stop all mail from this site</button></form>\
                     <p class=\"note\">Nothing changes until you press a button.</p>"
                ),
            )
        }
        Err(refusal) => refused(refusal),
    }
}

/// POST /notifications/unsubscribe/{token} (`List-Unsubscribe=One-Click`,
/// or `scope=all` from the page)
///
/// 200 once done (again is fine); 404.
async fn unsubscribe_act(
    token: String,
    _ip: Option<std::net::IpAddr>,
    body: Bytes,
    state: AppState,
) -> Response {
    let all = form_urlencoded::parse(&body).any(|(name, value)| name == "scope" && value == "all");
    let subscriptions = state.moderator.subscriptions();
    let done = if all {
        subscriptions.unsubscribe_all(&token).await.map(|_| {
            page(
                StatusCode::OK,
                "No more mail",
                "<p>This site will send you no more mail. If you tick a box again when you comment, you will be asked to confirm first.</p>",
            )
        })
    } else {
        subscriptions.unsubscribe_thread(&token).await.map(|_| {
            page(
                StatusCode::OK,
                "Unsubscribed",
                "<p>You will get no more emails about this comment.</p>\
                 <form method=\"post\" action=\"\"><input type=\"hidden\" name=\"scope\" value=\"all\">\
                 <button type=\"submit\">Stop all mail from this site</button></form>",
            )
        })
    };
    done.unwrap_or_else(refused)
}
