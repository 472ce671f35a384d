//! The OpenAPI document (`openapi.json`, served at `/openapi.json`) against
//! the routes: every mounted route is documented, every documented
//! operation is mounted and answers under its template, and what is served
//! is the committed file.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::TestApp;

fn committed() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json"))
        .expect("openapi.json in the repository")
}

fn documented() -> BTreeSet<(String, String)> {
    let doc: Value = serde_json::from_str(&committed()).expect("openapi.json is JSON");
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "post", "put", "patch", "delete", "head", "options"]
                .contains(&method.as_str())
            {
                operations.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    operations
}

/// A concrete path for a template: ids, tokens and actions filled in.
fn concrete(template: &str, id: &str) -> String {
    template
        .replace("{id}", id)
        .replace("{token}", "not-a-token")
        .replace("{action}", "approve")
        + if template == "/api/comments" || template == "/api/form-token" {
            "?page=/p/"
        } else {
            ""
        }
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_operation_is_a_route() {
    let app = TestApp::new();
    let mounted: BTreeSet<(String, String)> = moderato::http::mounted_routes()
        .into_iter()
        .map(|(method, template)| (method, template.to_owned()))
        .collect();
    let documented = documented();
    let undocumented: Vec<_> = mounted.difference(&documented).collect();
    let unmounted: Vec<_> = documented.difference(&mounted).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from openapi.json (add their operations): {undocumented:?}"
    );
    assert!(
        unmounted.is_empty(),
        "openapi.json documents operations no route serves: {unmounted:?}"
    );

    // The table does not lie: each route answers under its own template.
    let id = app.approved_comment("/p/").await;
    for (method, template) in &mounted {
        app.admin(method, &concrete(template, &id)).await;
    }
    let metrics =
        String::from_utf8(app.admin("GET", "/metrics").await.body().to_vec()).expect("utf-8");
    for (method, template) in &mounted {
        assert!(
            metrics.contains(&format!(
                "moderato_http_request_duration_seconds_count{{route=\"{template}\",method=\"{method}\"}}"
            )),
            "{method} {template} was not answered under its template:\n{metrics}"
        );
    }
    assert!(!metrics.contains("route=\"/admin/other\""), "{metrics}");
}

#[tokio::test]
async fn the_served_document_is_the_committed_file_byte_for_byte() {
    let app = TestApp::new();
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.body(), committed().as_bytes());
    let doc: Value = serde_json::from_slice(response.body()).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
}

#[tokio::test]
async fn every_admin_operation_names_its_bearer_token_and_every_status_has_a_description() {
    let doc: Value = serde_json::from_str(&committed()).expect("JSON");
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let responses = operation["responses"].as_object().expect("responses");
            assert!(!responses.is_empty(), "{method} {path} has no responses");
            for (status, response) in responses {
                let described = response.get("$ref").is_some()
                    || response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty());
                assert!(described, "{method} {path} {status} has no description");
            }
            let guarded = path.starts_with("/admin/")
                && !path.starts_with("/admin/decide/")
                && !path.starts_with("/admin/admin.");
            if guarded {
                assert_eq!(
                    operation["security"][0]["adminToken"],
                    Value::Array(vec![]),
                    "{method} {path} must name the admin token"
                );
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} documents 401"
                );
            }
        }
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["adminToken"]["scheme"], "bearer");
    assert_eq!(schemes["metricsToken"]["scheme"], "bearer");
    assert_eq!(
        doc["paths"]["/metrics"]["get"]["security"][1]["metricsToken"],
        Value::Array(vec![])
    );
}
