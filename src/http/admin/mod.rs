//! The admin API and page. Every `/admin` API route passes the same guard
//! ([`crate::http::auth::guard`]) after its path and method; the page and
//! its files need no token (they hold no data), and a decision link is its
//! own credential.

mod bulk;
mod comments;
mod data;
mod decide;
mod learning;
mod page;
mod replies;
mod rules;
mod stats;

pub use bulk::MAX_BULK_IDS;
pub use page::CONTENT_SECURITY_POLICY;

use warp::Filter;
use warp::filters::BoxedFilter;
use warp::reply::Response;

use super::AppState;

/// Every admin route. The bulk and reply routes come before the comment
/// routes, whose `comments/{id}` would otherwise be tried first.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    page::routes()
        .or(decide::routes(state.clone()))
        .unify()
        .or(bulk::routes(state.clone()))
        .unify()
        .or(stats::routes(state.clone()))
        .unify()
        .or(learning::routes(state.clone()))
        .unify()
        .or(replies::routes(state.clone()))
        .unify()
        .or(comments::routes(state.clone()))
        .unify()
        .or(rules::routes(state.clone()))
        .unify()
        .or(data::routes(state))
        .unify()
        .boxed()
}
