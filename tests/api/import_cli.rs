//! `moderato import` and `moderato export`: the real binary on a stopped
//! service's data directory, its report, its exit codes, its logs, and its
//! refusal when the service holds the database.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::backend::{self, Backend};
use crate::helpers::{spawn_app, test_config};
use crate::import::{emails_in, fixture};

/// A configuration file for a data directory in `dir`, on this run's
/// backend (a fresh PostgreSQL database and key file, or sled there).
fn config_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("moderato.toml");
    let mut toml = format!("data_dir = {:?}\n", dir.join("data").display().to_string());
    for (name, value) in backend::backend_env(dir) {
        let key = name.trim_start_matches("MODERATO_").to_lowercase();
        toml.push_str(&format!("{key} = {value:?}\n"));
    }
    std::fs::write(&path, toml).expect("write config");
    path
}

fn moderato(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_moderato"))
        .arg("--config")
        .arg(config)
        .args(args)
        // Every log line there is, to look for addresses in.
        .env("RUST_LOG", "debug")
        .output()
        .expect("the binary runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The `--json` report: the last line of standard output.
fn report(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(output)))
}

fn exported_lines(config: &Path) -> usize {
    let out = moderato(config, &["export"]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn the_command_imports_reports_and_a_second_run_adds_nothing() {
    // Arrange
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_file(dir.path());
    let file = fixture("wordpress-1.2.xml");
    let file_arg = file.to_str().expect("utf-8 path");
    let emails = emails_in(&std::fs::read_to_string(&file).expect("fixture"));

    // Act
    let first = moderato(&config, &["import", file_arg, "--json"]);
    let second = moderato(
        &config,
        &["import", file_arg, "--format", "wordpress", "--json"],
    );
    let human = moderato(&config, &["import", file_arg]);

    // Assert
    assert!(first.status.success(), "{}", text(&first));
    let report = report(&first);
    assert_eq!(report["imported"], 15);
    assert_eq!(
        report["by_status"],
        json!({ "approved": 10, "pending": 3, "rejected": 1, "spam": 1 })
    );
    assert_eq!(report["pages"], 3);
    let again = self::report(&second);
    assert_eq!(
        (&again["imported"], &again["already_present"]),
        (&json!(0), &json!(15))
    );
    assert!(
        String::from_utf8_lossy(&human.stdout)
            .starts_with("import (wordpress): imported 0 comments on 3 pages; 15 already present"),
        "{}",
        text(&human)
    );
    for output in [&first, &second, &human] {
        for email in &emails {
            assert!(
                !text(output).contains(email.as_str()),
                "{email} in {}",
                text(output)
            );
        }
    }
    assert_eq!(exported_lines(&config), 15);
}

#[test]
fn a_dry_run_and_a_damaged_file_store_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = config_file(dir.path());

    let dry = moderato(
        &config,
        &[
            "import",
            fixture("disqus.xml").to_str().expect("path"),
            "--dry-run",
            "--json",
        ],
    );
    assert!(dry.status.success(), "{}", text(&dry));
    assert_eq!(report(&dry)["imported"], 9);
    assert_eq!(report(&dry)["dry_run"], true);

    let damaged = moderato(
        &config,
        &[
            "import",
            fixture("wordpress-truncated.xml").to_str().expect("path"),
            "--json",
        ],
    );
    assert_eq!(damaged.status.code(), Some(1), "{}", text(&damaged));
    assert!(
        text(&damaged).contains("line 142, column 24"),
        "{}",
        text(&damaged)
    );
    assert!(
        report(&damaged)["error"]
            .as_str()
            .expect("error")
            .contains("line 142")
    );

    // A dry run with --learn teaches nothing either.
    let learn = moderato(
        &config,
        &[
            "import",
            fixture("disqus.xml").to_str().expect("path"),
            "--learn",
            "--dry-run",
            "--json",
        ],
    );
    assert!(learn.status.success(), "{}", text(&learn));
    assert!(report(&learn).get("learned").is_none(), "{}", text(&learn));
    let stats = moderato(&config, &["learn", "stats", "--json"]);
    assert!(stats.status.success(), "{}", text(&stats));
    let stats: Value = serde_json::from_slice(&stats.stdout).expect("stats json");
    assert_eq!(stats["learned"], json!({"spam": 0, "ham": 0}));

    let unknown = moderato(&config, &["import", "/no/such/file.xml"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert_eq!(exported_lines(&config), 0);

    // And for real: the import's spam and approved comments are learned.
    let learn = moderato(
        &config,
        &[
            "import",
            fixture("disqus.xml").to_str().expect("path"),
            "--learn",
            "--json",
        ],
    );
    assert!(learn.status.success(), "{}", text(&learn));
    let taught = report(&learn)["learned"].clone();
    assert!(taught["spam"].as_u64().expect("spam") + taught["ham"].as_u64().expect("ham") > 0);
    let stats = moderato(&config, &["learn", "stats", "--json"]);
    let stats: Value = serde_json::from_slice(&stats.stdout).expect("stats json");
    assert_eq!(stats["learned"], taught);
}

#[test]
fn wxr_written_by_the_command_imports_into_an_empty_data_directory() {
    // Arrange
    let (a, b) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let (config_a, config_b) = (config_file(a.path()), config_file(b.path()));
    let imported = moderato(
        &config_a,
        &[
            "import",
            fixture("disqus.xml").to_str().expect("path"),
            "--json",
        ],
    );
    assert!(imported.status.success(), "{}", text(&imported));
    let wxr = a.path().join("out.xml");

    // Act
    let exported = moderato(
        &config_a,
        &[
            "export",
            "--format",
            "wxr",
            "--site",
            "https://blog.example",
            "--out",
            wxr.to_str().expect("path"),
        ],
    );
    let back = moderato(
        &config_b,
        &["import", wxr.to_str().expect("path"), "--json"],
    );

    // Assert
    assert!(exported.status.success(), "{}", text(&exported));
    assert!(back.status.success(), "{}", text(&back));
    assert_eq!(report(&back)["format"], "wordpress");
    assert_eq!(report(&back)["imported"], 9);
    let ids = |config: &Path| -> Vec<String> {
        let out = moderato(config, &["export"]);
        let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).expect("json")["id"]
                    .as_str()
                    .expect("id")
                    .to_owned()
            })
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&config_b), ids(&config_a));
    let no_site = moderato(&config_a, &["export", "--format", "wxr"]);
    assert_eq!(no_site.status.code(), Some(2));
}

#[tokio::test]
async fn on_a_running_service_the_command_points_to_the_route() {
    // Arrange: the service holds the data directory (on sled; PostgreSQL
    // takes the command beside it).
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = config_file(dir.path());
    let mut config = test_config(&dir);
    config.data_dir = dir.path().join("data");
    let text_config = std::fs::read_to_string(&config_path).expect("config");
    for line in text_config.lines() {
        if let Some(url) = line.strip_prefix("database_url = ") {
            config.database_url = url.trim_matches('"').to_owned();
        }
        if let Some(key) = line.strip_prefix("master_key_file = ") {
            config.master_key_file = key.trim_matches('"').to_owned();
        }
    }
    let app = spawn_app(config).await;

    // Act
    let output = tokio::task::spawn_blocking(move || {
        moderato(
            &config_path,
            &[
                "import",
                fixture("disqus.xml").to_str().expect("path"),
                "--json",
            ],
        )
    })
    .await
    .expect("the command ran");

    // Assert
    match backend::backend() {
        Backend::Sled => {
            assert_eq!(output.status.code(), Some(2), "{}", text(&output));
            let said = text(&output);
            assert!(said.contains("stop it first"), "{said}");
            assert!(said.contains("/admin/import"), "{said}");
        }
        Backend::Postgres => {
            assert!(output.status.success(), "{}", text(&output));
            assert_eq!(report(&output)["imported"], 9);
        }
    }
    app.shutdown().await;
}
