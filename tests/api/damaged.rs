//! A damaged data directory: a truncated or overwritten sled file, a
//! missing or wrong master key, a missing database, exposed or unreadable
//! files. Start-up fails with one clear line that says what is wrong and
//! what to do, never a panic, and never a new empty database or a new key
//! over the old data.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::helpers::{
    comment, free_port, moderato_check, require_root, sigterm, start_moderato, wait_healthy,
};

/// A data directory with `n` comments, stopped cleanly.
async fn data_with_comments(root: &Path, n: usize) -> std::path::PathBuf {
    let data = root.join("data");
    let port = free_port();
    let mut child = start_moderato(&data, port, &[]);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;
    for i in 0..n {
        let response = client
            .post(format!("{base}/api/comments"))
            .json(&comment(&format!("/p{i}/"), "Ann", "ann@example.org"))
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), 201);
    }
    assert_eq!(sigterm(&mut child, Duration::from_secs(20)), Some(0));
    data
}

/// Runs the binary on `data` until it exits (it must, by itself).
fn start_and_fail(data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moderato"))
        .env("MODERATO_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("MODERATO_DATA_DIR", data)
        .env(
            "MODERATO_RULES_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        )
        .env("RUST_LOG", "warn")
        .output()
        .expect("run moderato")
}

/// Start-up refused: exit 1, one error line containing every `needle`, no
/// panic.
fn assert_refused(output: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("ERROR")).collect();
    assert_eq!(errors.len(), 1, "one clear line, got:\n{stderr}");
    for needle in needles {
        assert!(
            errors[0].contains(needle),
            "`{needle}` missing in: {}",
            errors[0]
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn a_truncated_sled_file_is_refused_until_repair_accepts_what_is_left() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data_with_comments(dir.path(), 10).await;
    let file = data.join("db/db");
    let size = std::fs::metadata(&file).expect("sled file").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .and_then(|f| f.set_len(size / 2))
        .expect("truncate");

    let output = start_and_fail(&data);
    assert_refused(&output, &["restore", "moderato check --repair"]);

    // The operator accepts what is left: repair seals it, and it starts.
    let (code, report) = moderato_check(&data, &[]);
    assert_ne!(code, Some(0), "check reports the damage: {report}");
    let repair = Command::new(env!("CARGO_BIN_EXE_moderato"))
        .args(["check", "--repair"])
        .env("MODERATO_DATA_DIR", &data)
        .env("RUST_LOG", "warn")
        .output()
        .expect("repair");
    let text = String::from_utf8_lossy(&repair.stdout);
    assert!(text.contains("seal: written"), "{text}");
    let port = free_port();
    let mut child = start_moderato(&data, port, &[]);
    wait_healthy(&reqwest::Client::new(), &format!("http://127.0.0.1:{port}")).await;
    assert_eq!(sigterm(&mut child, Duration::from_secs(20)), Some(0));
}

#[tokio::test]
async fn an_overwritten_sled_file_is_refused_without_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data_with_comments(dir.path(), 10).await;
    let file = data.join("db/db");
    let bytes = std::fs::read(&file).expect("read");
    let mut damaged = bytes.clone();
    for b in damaged
        .iter_mut()
        .skip(bytes.len() / 3)
        .take(bytes.len() / 3)
    {
        *b ^= 0xa5;
    }
    std::fs::write(&file, damaged).expect("write");
    let output = start_and_fail(&data);
    assert_refused(&output, &["restore"]);
}

#[tokio::test]
async fn a_missing_master_key_is_not_replaced_by_a_new_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data_with_comments(dir.path(), 2).await;
    std::fs::remove_file(data.join("secret.key")).expect("remove key");
    let output = start_and_fail(&data);
    assert_refused(&output, &["secret.key", "missing", "backup"]);
    assert!(!data.join("secret.key").exists(), "no new key was written");
}

#[tokio::test]
async fn a_wrong_master_key_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data_with_comments(dir.path(), 2).await;
    let key = data.join("secret.key");
    std::fs::write(&key, format!("{}\n", "ab".repeat(32))).expect("other key");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let output = start_and_fail(&data);
    assert_refused(&output, &["not the key", "backup"]);
}

#[tokio::test]
async fn a_missing_database_next_to_its_key_is_not_replaced_by_an_empty_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data_with_comments(dir.path(), 2).await;
    std::fs::remove_dir_all(data.join("db")).expect("remove db");
    let output = start_and_fail(&data);
    assert_refused(&output, &["no database", "moderato restore"]);
    assert!(!data.join("db").exists(), "no empty database was created");
}

#[tokio::test]
async fn a_key_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data_with_comments(dir.path(), 1).await;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        data.join("secret.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let output = start_and_fail(&data);
    assert_refused(&output, &["secret.key", "chmod 600"]);
}

#[tokio::test]
async fn a_data_directory_of_another_user_is_refused_saying_how_to_fix_it() {
    require_root("the permissions test (it runs the binary as user nobody)");
    let dir = tempfile::tempdir().expect("tempdir");
    let data = data_with_comments(dir.path(), 1).await;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_moderato"))
        .env("MODERATO_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env("MODERATO_DATA_DIR", &data)
        .env(
            "MODERATO_RULES_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        )
        .env("RUST_LOG", "warn")
        .output()
        .expect("setpriv (util-linux)");
    assert_refused(&output, &["ermission denied", "chown"]);
}
