//! `TestApp`: the real application state on a temporary data directory,
//! with request helpers; `spawn_app`: the same, served on a real socket.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use moderato::config::Config;
use moderato::http::{self, AppState};
use moderato::notify::Notifier;
use moderato::startup::{self, App};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use warp::filters::BoxedFilter;
use warp::http::Response;
use warp::reply::Response as WarpResponse;

/// The admin token every test app uses.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A configuration for tests: temporary data directory, port 0, no
/// environment read.
/// On PostgreSQL runs (`crate::backend`), a fresh database and key file.
pub fn test_config(dir: &TempDir) -> Config {
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().join("data"),
        rules_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        admin_token: Some(ADMIN_TOKEN.into()),
        ..Config::default()
    };
    crate::backend::use_backend(&mut config, dir.path());
    config
}

/// The application's state and routes on a fresh data directory.
pub struct TestApp {
    pub state: AppState,
    pub notifier: Notifier,
    pub routes: BoxedFilter<(WarpResponse,)>,
    pub dir: TempDir,
}

impl TestApp {
    pub fn new() -> TestApp {
        TestApp::with(|_| {})
    }

    pub fn with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = test_config(&dir);
        adjust(&mut config);
        let parts = startup::build(config).expect("open state");
        TestApp {
            routes: http::routes(parts.state.clone()),
            state: parts.state,
            notifier: parts.notifier,
            dir,
        }
    }

    pub async fn post_json(&self, body: &Value) -> Response<Bytes> {
        warp::test::request()
            .method("POST")
            .path("/api/comments")
            .header("content-type", "application/json")
            .json(body)
            .reply(&self.routes)
            .await
    }

    pub async fn post_raw(&self, content_type: &str, body: &[u8]) -> Response<Bytes> {
        warp::test::request()
            .method("POST")
            .path("/api/comments")
            .header("content-type", content_type)
            .header("content-length", body.len().to_string())
            .body(body)
            .reply(&self.routes)
            .await
    }

    pub async fn get(&self, path: &str) -> Response<Bytes> {
        warp::test::request().path(path).reply(&self.routes).await
    }

    pub async fn admin(&self, method: &str, path: &str) -> Response<Bytes> {
        warp::test::request()
            .method(method)
            .path(path)
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .reply(&self.routes)
            .await
    }

    /// Posts a valid comment and returns its id.
    pub async fn post_comment(&self, page: &str, author: &str, email: &str) -> String {
        let response = self.post_json(&comment(page, author, email)).await;
        assert_eq!(response.status(), 201, "{:?}", response.body());
        body_json(&response)["id"].as_str().expect("id").to_owned()
    }

    /// Posts and approves a comment; returns its id.
    pub async fn approved_comment(&self, page: &str) -> String {
        let id = self.post_comment(page, "Ann", "ann@example.org").await;
        let response = self
            .admin("POST", &format!("/admin/comments/{id}/approve"))
            .await;
        assert_eq!(response.status(), 200);
        id
    }

    /// Every comment in the store, any status.
    pub async fn stored(&self) -> Vec<Value> {
        let response = self
            .admin("GET", "/admin/comments?status=all&limit=200")
            .await;
        assert_eq!(response.status(), 200);
        body_json(&response)["comments"]
            .as_array()
            .expect("array")
            .clone()
    }
}

/// A valid comment body; each call's text differs, so two calls are never
/// duplicates of each other.
pub fn comment(page: &str, author: &str, email: &str) -> Value {
    static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
    let n = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    json!({
        "page": page,
        "author": author,
        "email": email,
        "comment": format!("Thank you for writing this. It helped me through a hard week ({n})."),
    })
}

pub fn body_json(response: &Response<Bytes>) -> Value {
    serde_json::from_slice(response.body()).unwrap_or_else(|e| {
        panic!(
            "body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(response.body())
        )
    })
}

/// A server on a real socket; dropping `stop` (or sending on it) stops it.
pub struct RunningApp {
    pub addr: SocketAddr,
    /// The running service's state (its core, for what no route shows).
    pub state: AppState,
    pub stop: oneshot::Sender<()>,
    pub done: tokio::task::JoinHandle<()>,
}

impl RunningApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends the stop signal and waits until the server flushed and returned.
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        self.done.await.expect("server task");
    }
}

/// Builds and serves the app. Retries for a moment because sled releases
/// the lock of a database closed in this process a little after the close.
pub async fn spawn_app(config: Config) -> RunningApp {
    let mut attempts = 0;
    let app = loop {
        match App::build(config.clone()).await {
            Ok(app) => break app,
            Err(_) if attempts < 100 => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("build app: {e}"),
        }
    };
    let addr = app.addr();
    let state = app.state().clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(async move {
        app.run_until(async {
            let _ = stopped.await;
        })
        .await
        .expect("clean shutdown");
    });
    RunningApp {
        addr,
        state,
        stop,
        done,
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

pub async fn wait_healthy(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("{base}/healthz")).send().await
            && response.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("moderato did not become healthy at {base}");
}

/// An app where every comment waits for the author.
pub fn held_app() -> TestApp {
    TestApp::with(|c| c.moderation = moderato::config::ModerationMode::All)
}

/// An admin request with a JSON body.
pub async fn admin_json(app: &TestApp, method: &str, path: &str, body: &Value) -> Response<Bytes> {
    warp::test::request()
        .method(method)
        .path(path)
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .header("content-type", "application/json")
        .json(body)
        .reply(&app.routes)
        .await
}

/// A comment's status, through the admin API.
pub async fn status_of(app: &TestApp, id: &str) -> Value {
    body_json(&app.admin("GET", &format!("/admin/comments/{id}")).await)["status"].clone()
}

/// Three pending comments from three readers.
pub async fn three_pending(app: &TestApp) -> Vec<String> {
    let mut ids = Vec::new();
    for (name, email) in [
        ("Ann", "ann@example.org"),
        ("Bo", "bo@example.org"),
        ("Cy", "cy@example.org"),
    ] {
        ids.push(app.post_comment("/p/", name, email).await);
    }
    ids
}

/// A `moderato` process that is killed (and reaped) when the test ends,
/// however it ends: a failed assertion never leaves a server running.
/// Derefs to its [`std::process::Child`].
#[derive(Debug)]
pub struct Running(pub std::process::Child);

impl Running {
    /// Spawns `command` under the guard.
    pub fn spawn(command: &mut std::process::Command) -> Running {
        Running(command.spawn().expect("start moderato"))
    }
}

impl std::ops::Deref for Running {
    type Target = std::process::Child;
    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Already gone (waited for) is fine: kill then fails, wait returns.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the real binary on `data` and `port`, rules from the repository,
/// the test token, rate limits off, plus `env` (e.g. the backend's).
pub fn start_moderato(data: &std::path::Path, port: u16, env: &[(&str, &str)]) -> Running {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_moderato"));
    command
        .env("MODERATO_LISTEN", format!("127.0.0.1:{port}"))
        .env("MODERATO_DATA_DIR", data)
        .env(
            "MODERATO_RULES_DIR",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        )
        .env("MODERATO_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("MODERATO_RATE_LIMITS_ENABLED", "false")
        .env("RUST_LOG", "warn");
    for (key, value) in env {
        command.env(key, value);
    }
    Running::spawn(&mut command)
}

/// Sends SIGTERM and waits at most `limit` for the exit; its code, or a
/// panic saying the process did not stop.
pub fn sigterm(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    let started = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status.code();
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("moderato did not stop within {limit:?} of SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `moderato check` on `data` (plus `env`, e.g. the backend's): its exit
/// code and its report.
pub fn moderato_check(data: &std::path::Path, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_moderato"))
        .arg("check")
        .envs(env.iter().copied())
        .env("MODERATO_DATA_DIR", data)
        .env("RUST_LOG", "warn")
        .output()
        .expect("moderato check");
    (
        output.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// Every stored comment id, any status, through the admin listing.
pub async fn all_ids(client: &reqwest::Client, base: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10_000 {
        let mut url = format!("{base}/admin/comments?status=all&limit=200");
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let page: Value = client
            .get(url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let comments = page["comments"]
            .as_array()
            .unwrap_or_else(|| panic!("a listing, not: {page}"));
        for c in comments {
            ids.push(c["id"].as_str().expect("id").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
    }
    panic!("listing did not end");
}

/// Panics, saying why, unless the tests run as root (CI does): a test
/// that needs to mount a file system must fail loudly elsewhere, never
/// pass without having run.
pub fn require_root(what: &str) {
    let uid = std::process::Command::new("id")
        .arg("-u")
        .output()
        .expect("id -u");
    assert_eq!(
        String::from_utf8_lossy(&uid.stdout).trim(),
        "0",
        "{what} needs root (it mounts a small file system; CI runs as root): \
         run the tests as root"
    );
}

/// Every file under `dir` with its contents.
pub fn files_under(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).expect("read file");
            files.push((path.display().to_string(), bytes));
        }
    }
    files
}
