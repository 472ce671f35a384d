//! Damaged files: every reader must end with records or an error, never a
//! panic, whatever a file holds.

use std::io::Cursor;

use super::fixture;
use crate::import::{DisqusReader, Format, WxrReader, open};

/// Every `step`-th prefix of `bytes`, and copies with one byte replaced by
/// each of a few troublesome bytes at many places.
fn damaged(bytes: &[u8], step: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = (0..bytes.len())
        .step_by(step)
        .map(|n| bytes[..n].to_vec())
        .collect();
    for (i, bad) in [b'<', b'&', b'>', b']', b'"', 0xFF, 0xE2, 0]
        .into_iter()
        .enumerate()
    {
        for at in (i * 13..bytes.len()).step_by(step * 7) {
            let mut copy = bytes.to_vec();
            copy[at] = bad;
            out.push(copy);
        }
    }
    out
}

#[test]
fn damaged_wxr_files_end_without_a_panic() {
    let bytes = std::fs::read(fixture("wordpress-1.2.xml")).expect("fixture");
    for file in damaged(&bytes, 29) {
        let reader = WxrReader::new(Cursor::new(file));
        // Fused after an error: the loop ends.
        assert!(reader.count() <= 40);
    }
}

#[test]
fn damaged_disqus_files_end_without_a_panic() {
    let bytes = std::fs::read(fixture("disqus.xml")).expect("fixture");
    for file in damaged(&bytes, 29) {
        if let Ok(reader) = DisqusReader::new(Cursor::new(file)) {
            assert!(reader.count() <= 40);
        }
    }
}

#[test]
fn damaged_isso_databases_end_without_a_panic() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let good = dir.path().join("good.db");
    let sql = std::fs::read_to_string(fixture("isso.sql")).expect("fixture");
    rusqlite::Connection::open(&good)
        .and_then(|c| c.execute_batch(&format!("PRAGMA foreign_keys = OFF;\n{sql}")))
        .expect("the fixture builds");
    let bytes = std::fs::read(&good).expect("the database");
    let bad = dir.path().join("bad.db");
    for at in (100..bytes.len()).step_by(97) {
        let mut copy = bytes.clone();
        copy[at] ^= 0xA5;
        std::fs::write(&bad, &copy).expect("written");
        if let Ok(reader) = open(&bad, Some(Format::Isso)) {
            assert!(reader.count() <= 40);
        }
    }
}
