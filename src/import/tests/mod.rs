//! Tests of the readers against the fixtures in `tests/fixtures/import/`,
//! which are written the way WordPress, Disqus and Isso write their files.

mod damage;
mod detect;
mod disqus;
mod isso;
mod wordpress;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::import::{Error, Format, Item, NoticeKind, Reader, SourceRecord, Summary, Thread, open};

pub(super) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

/// Everything one reader yielded.
#[derive(Debug)]
pub(super) struct Outcome {
    pub threads: Vec<Thread>,
    pub comments: Vec<SourceRecord>,
    pub error: Option<Error>,
    pub summary: Summary,
    /// Every `Debug` and `Display` text the caller could log.
    pub printed: String,
}

impl Outcome {
    pub fn comment(&self, id: &str) -> &SourceRecord {
        self.comments
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("comment {id} was not yielded"))
    }

    pub fn parent_of(&self, id: &str) -> Option<&str> {
        self.comment(id).parent.as_ref().map(|p| p.id.as_str())
    }

    pub fn by_status(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for c in &self.comments {
            *counts.entry(c.status.as_str()).or_default() += 1;
        }
        counts
    }

    pub fn skipped(&self) -> BTreeMap<&'static str, u64> {
        self.summary
            .skipped
            .iter()
            .map(|(reason, n)| (reason.as_str(), *n))
            .collect()
    }

    pub fn pages(&self) -> Vec<&str> {
        self.threads.iter().map(|t| t.page.as_str()).collect()
    }

    pub fn notices(&self) -> Vec<(&str, NoticeKind)> {
        self.summary
            .notices
            .iter()
            .map(|n| (n.id.as_str(), n.kind))
            .collect()
    }

    pub fn ids(&self) -> Vec<&str> {
        self.comments.iter().map(|c| c.id.as_str()).collect()
    }
}

pub(super) fn read_reader(mut reader: Reader) -> Outcome {
    let (mut threads, mut comments, mut error, mut printed) = (vec![], vec![], None, String::new());
    for item in reader.by_ref() {
        match item {
            Ok(Item::Thread(t)) => {
                printed.push_str(&format!("{t:?}\n"));
                threads.push(t);
            }
            Ok(Item::Comment(c)) => {
                printed.push_str(&format!("{c:?}\n"));
                comments.push(c);
            }
            Err(e) => {
                printed.push_str(&format!("{e}\n{e:?}\n"));
                error = Some(e);
            }
        }
    }
    let summary = reader.summary().clone();
    printed.push_str(&format!("{summary:?}\n"));
    for e in &summary.errors {
        printed.push_str(&format!("{e}\n"));
    }
    for n in &summary.notices {
        printed.push_str(&format!("{n}\n"));
    }
    Outcome {
        threads,
        comments,
        error,
        summary,
        printed,
    }
}

pub(super) fn read(name: &str, format: Format) -> Outcome {
    read_reader(open(&fixture(name), Some(format)).expect("the fixture opens"))
}

/// Every address written in a fixture file.
pub(super) fn emails_in(text: &str) -> Vec<String> {
    let pattern = regex::Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]+").expect("valid");
    let emails: Vec<String> = pattern
        .find_iter(text)
        .map(|m| m.as_str().to_owned())
        .collect();
    assert!(!emails.is_empty(), "the fixture has addresses to look for");
    emails
}

pub(super) fn assert_no_email(printed: &str, emails: &[String]) {
    for email in emails {
        assert!(
            !printed.contains(email.as_str()),
            "{email} appears in what a caller could log"
        );
    }
}

pub(super) fn status_counts(pairs: &[(&'static str, usize)]) -> BTreeMap<&'static str, usize> {
    pairs.iter().copied().collect()
}
