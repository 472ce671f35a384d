//! Over a real TCP socket: smoke tests, restart durability, shutdown.

use std::process::Command;

use serde_json::Value;

use crate::helpers::{ADMIN_TOKEN, comment, free_port, spawn_app, test_config, wait_healthy};

#[tokio::test]
async fn a_comment_travels_the_whole_path_over_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(test_config(&dir)).await;
    let client = reqwest::Client::new();

    let created = client
        .post(app.url("/api/comments"))
        .json(&comment("/p/", "Ann", "ann@example.org"))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let approved = client
        .post(app.url(&format!("/admin/comments/{id}/approve")))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("approve");
    assert_eq!(approved.status(), 200);

    let thread: Value = client
        .get(app.url("/api/comments?page=/p/"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(thread["comments"][0]["id"], id.as_str());
    app.shutdown().await;
}

#[tokio::test]
async fn cors_preflight_is_answered_for_an_allowed_origin_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(&dir);
    config.allowed_origins = vec!["https://blog.example.org".into()];
    let app = spawn_app(config).await;
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, app.url("/api/comments"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("https://blog.example.org")
        .await
        .expect("preflight");
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://blog.example.org"
    );
    let refused = preflight("https://evil.example").await.expect("preflight");
    assert_eq!(refused.status(), 403);
    app.shutdown().await;
}

#[tokio::test]
async fn a_restarted_server_sees_every_acknowledged_comment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    let mut config = test_config(&dir);
    config.rate_limits_enabled = false;
    {
        let app = spawn_app(config.clone()).await;
        for i in 0..10 {
            let response = client
                .post(app.url("/api/comments"))
                .json(&comment(&format!("/p{i}/"), "Ann", "ann@example.org"))
                .send()
                .await
                .expect("post");
            assert_eq!(response.status(), 201);
            ids.push(
                response.json::<Value>().await.expect("json")["id"]
                    .as_str()
                    .expect("id")
                    .to_owned(),
            );
        }
        app.shutdown().await;
    }
    let app = spawn_app(config).await;
    for id in &ids {
        let response = client
            .get(app.url(&format!("/admin/comments/{id}")))
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("get");
        assert_eq!(response.status(), 200, "comment {id} after restart");
        assert_eq!(
            response.json::<Value>().await.expect("json")["email"],
            "ann@example.org"
        );
    }
    app.shutdown().await;
}

/// SIGKILL leaves no chance to flush at exit: whatever got a 201 must
/// already be on disk.
#[tokio::test]
async fn a_201_survives_sigkill_of_the_real_binary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let backend = crate::backend::backend_env(dir.path());
    let start = |port: u16| {
        crate::helpers::Running(
            Command::new(env!("CARGO_BIN_EXE_moderato"))
                .envs(backend.iter().map(|(k, v)| (k, v)))
                .env("MODERATO_LISTEN", format!("127.0.0.1:{port}"))
                .env("MODERATO_DATA_DIR", &data)
                .env("MODERATO_ADMIN_TOKEN", ADMIN_TOKEN)
                .env("RUST_LOG", "warn")
                .spawn()
                .expect("start moderato"),
        )
    };
    let client = reqwest::Client::new();
    let port = free_port();
    let mut child = start(port);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&client, &base).await;
    let response = client
        .post(format!("{base}/api/comments"))
        .json(&comment("/p/", "Ann", "ann@example.org"))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status(), 201);
    let id = response.json::<Value>().await.expect("json")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    child.kill().expect("SIGKILL");
    child.wait().expect("wait");

    let port = free_port();
    let mut child = start(port);
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&client, &base).await;
    let response = client
        .get(format!("{base}/admin/comments/{id}"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("get");
    assert_eq!(
        response.status(),
        200,
        "the acknowledged comment is gone after SIGKILL"
    );
    child.kill().expect("kill");
    child.wait().expect("wait");
}

#[tokio::test]
async fn sigterm_stops_the_binary_cleanly_with_exit_0() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = crate::helpers::Running(
        Command::new(env!("CARGO_BIN_EXE_moderato"))
            .env("MODERATO_LISTEN", format!("127.0.0.1:{port}"))
            .env("MODERATO_DATA_DIR", dir.path().join("data"))
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("start"),
    );
    let client = reqwest::Client::new();
    wait_healthy(&client, &format!("http://127.0.0.1:{port}")).await;
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
    // The first start generated a token file, mode 0600.
    let token = dir.path().join("data/admin_token");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&token)
        .expect("token file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn a_bad_configuration_stops_start_up_naming_the_key() {
    let output = Command::new(env!("CARGO_BIN_EXE_moderato"))
        .env("MODERATO_MAX_PENDING", "lots")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("MODERATO_MAX_PENDING"), "{stderr}");
}
