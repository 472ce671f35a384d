use std::path::PathBuf;

use super::{Outcome, assert_no_email, emails_in, fixture, read_reader, status_counts};
use crate::import::{Error, Format, NoticeKind, Position, SkipReason, open};

/// Builds an Isso database from a `.sql` fixture in a temporary directory.
fn database(sql_fixture: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("comments.db");
    let sql = std::fs::read_to_string(fixture(sql_fixture)).expect("fixture");
    // Python's sqlite3, which Isso uses, leaves foreign keys off, so Isso
    // databases can hold comments of threads that are gone.
    rusqlite::Connection::open(&path)
        .and_then(|c| c.execute_batch(&format!("PRAGMA foreign_keys = OFF;\n{sql}")))
        .expect("the fixture builds");
    (dir, path)
}

fn read_isso() -> (Outcome, String) {
    let (_dir, path) = database("isso.sql");
    let reader = open(&path, None).expect("detected and opened");
    assert_eq!(reader.format(), Format::Isso);
    let sql = std::fs::read_to_string(fixture("isso.sql")).expect("fixture");
    (read_reader(reader), sql)
}

#[test]
fn isso_counts_statuses_skips_errors_and_pages() {
    // Act
    let (out, _) = read_isso();

    // Assert
    assert_eq!(out.error, None);
    assert_eq!(
        out.by_status(),
        status_counts(&[("approved", 5), ("pending", 3)])
    );
    assert_eq!(
        out.skipped(),
        [("deleted", 1), ("empty", 1)].into_iter().collect()
    );
    assert_eq!(out.summary.pages, 2);
    assert_eq!(out.pages(), ["/2020/03/loss/", "/notes/caf%C3%A9/"]);
    assert_eq!(out.threads[1].title.as_deref(), Some("Café notes"));
    let errors: Vec<(Position, &str)> = out
        .summary
        .errors
        .iter()
        .map(|e| (e.position, e.message.as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            (
                Position::Row {
                    table: "comments",
                    id: 8
                },
                "the thread uri \"not a path\" is not a path"
            ),
            (
                Position::Row {
                    table: "comments",
                    id: 12
                },
                "its thread (threads.id 99) is not in the database"
            ),
        ]
    );
}

#[test]
fn isso_deleted_comments_give_their_replies_to_their_parent() {
    let (out, _) = read_isso();

    assert_eq!(out.ids(), ["1", "2", "4", "5", "6", "7", "9", "10"]);
    assert_eq!(out.parent_of("2"), Some("1"));
    // Comment 3 is mode 4: its replies become top-level, in their order.
    assert_eq!(out.parent_of("4"), None);
    assert_eq!(out.parent_of("5"), None);
    assert_eq!(out.comment("4").original_parent.as_deref(), Some("3"));
    assert_eq!(out.parent_of("7"), Some("6"));
    assert_eq!(out.parent_of("9"), None);
    assert_eq!(
        out.notices(),
        [
            ("4", NoticeKind::ParentSkipped(SkipReason::Deleted)),
            ("5", NoticeKind::ParentSkipped(SkipReason::Deleted)),
            ("9", NoticeKind::ParentMissing),
            ("10", NoticeKind::UnknownStatus),
        ]
    );
}

#[test]
fn isso_fields_markdown_and_times() {
    let (out, _) = read_isso();

    let lena = out.comment("1");
    assert_eq!(lena.html, "<p>Thank you. <em>This</em> helped.</p>\n");
    assert_eq!(lena.created_at, 1_583_020_800_500);
    assert_eq!(lena.email.as_deref(), Some("lena@example.org"));
    assert_eq!(lena.website.as_deref(), Some("https://lena.example"));
    assert_eq!(lena.ip.as_deref(), Some("203.0.113.0"));
    assert_eq!(
        lena.position,
        Position::Row {
            table: "comments",
            id: 1
        }
    );
    assert_eq!(out.comment("2").email, None);
    assert_eq!(
        out.comment("2").html,
        "<p>Agreed with <strong>Lena</strong>.</p>\n"
    );
    assert_eq!(out.comment("5").html, "<p>Me too — 多谢</p>\n");
    assert_eq!(
        out.comment("6").html,
        "<p>Pending: שלום 👋</p>\n<pre><code>code ]]&gt; here\n</code></pre>\n"
    );
    assert_eq!(
        out.comment("7").author,
        "",
        "Isso allows anonymous comments"
    );
    assert_eq!(
        out.comment("7").html,
        "<blockquote>\n<p>a quote</p>\n</blockquote>\n<p>and an answer</p>\n"
    );
    assert!(out.comments.iter().all(|c| !c.by_author));
}

#[test]
fn a_database_missing_a_table_is_refused() {
    let (_dir, path) = database("isso-missing-table.sql");
    let error = open(&path, Some(Format::Isso)).expect_err("no comments table");
    assert_eq!(
        error,
        Error::WrongFormat {
            format: Format::Isso,
            reason: "the table `comments` is missing".into()
        }
    );
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let error = open(&fixture("disqus.xml"), Some(Format::Isso)).expect_err("not SQLite");
    assert!(matches!(error, Error::Database(_)), "{error:?}");
}

#[test]
fn reading_an_isso_database_changes_nothing_in_it() {
    let (_dir, path) = database("isso.sql");
    let before = std::fs::read(&path).expect("the database");
    let _ = read_reader(open(&path, Some(Format::Isso)).expect("opens"));
    assert_eq!(std::fs::read(&path).expect("the database"), before);
}

#[test]
fn no_isso_output_or_error_shows_an_email() {
    let (out, sql) = read_isso();
    assert_no_email(&out.printed, &emails_in(&sql));
}
