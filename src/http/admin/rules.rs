//! `/admin/rules`: reload the spam rules without a restart, and try a
//! comment against them without storing anything.

use serde::{Deserialize, Serialize};
use warp::filters::BoxedFilter;
use warp::http::Method;
use warp::reply::Response;
use warp::{Filter, Reply};

use crate::domain::rules::{Subject, Verdict};
use crate::http::auth::{Scope, guard};
use crate::http::{ApiError, AppState, endpoint, json_body, with_state};

/// The rules routes.
pub fn routes(state: AppState) -> BoxedFilter<(Response,)> {
    let reload = warp::path!("admin" / "rules" / "reload")
        .and(warp::post())
        .and(guard(state.clone(), Scope::Admin))
        .and(with_state(state.clone()))
        .then(rules_reload);
    let test = warp::path!("admin" / "rules" / "test")
        .and(warp::post())
        .and(guard(state.clone(), Scope::Admin))
        .and(json_body::<TestRequest>(r#"{"comment": "..."}"#))
        .and(with_state(state))
        .then(rules_test);
    endpoint(Method::POST, "/admin/rules/reload", reload)
        .or(endpoint(Method::POST, "/admin/rules/test", test))
        .unify()
        .boxed()
}

/// POST /admin/rules/reload
///
/// 200 with `{"reloaded": true, "summary"}`; 422 `invalid_rules` naming the
/// file, rule and problem, while the previous rules stay in force.
async fn rules_reload(state: AppState) -> Result<Response, ApiError> {
    let reloaded = state.moderator.reload_rules();
    state.metrics.rules_reloaded(reloaded.is_ok());
    let rules = reloaded.map_err(|e| ApiError::InvalidRules(e.to_string()))?;
    Ok(warp::reply::json(&serde_json::json!({
        "reloaded": true,
        "summary": rules.summary(),
    }))
    .into_response())
}

/// A comment to try: the same names as `rules eval` lines.
#[derive(Debug, Deserialize)]
struct TestRequest {
    #[serde(alias = "text")]
    comment: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    url: String,
    #[serde(default = "default_page")]
    page: String,
}

fn default_page() -> String {
    "/".into()
}

#[derive(Serialize)]
struct TestResponse {
    #[serde(flatten)]
    verdict: Verdict,
    /// Rules that need a live request (honeypot, form token, history,
    /// duplicates, IP) and were not run.
    skipped: Vec<String>,
}

/// POST /admin/rules/test
///
/// 200 with the verdict `{"score","action","hits","skipped"}`, the learned
/// rule's hit included (with its probability and clues); stores and learns
/// nothing. 400 for a body that is not `{"comment": "...", ...}`.
async fn rules_test(request: TestRequest, state: AppState) -> Result<Response, ApiError> {
    let rules = state.moderator.rules();
    let verdict = state
        .moderator
        .try_rules(&Subject {
            author: &request.author,
            email: &request.email,
            url: &request.url,
            comment: &request.comment,
            page: &request.page,
            request: None,
        })
        .await;
    let skipped = rules
        .request_rules()
        .into_iter()
        .map(str::to_owned)
        .collect();
    Ok(warp::reply::json(&TestResponse { verdict, skipped }).into_response())
}
