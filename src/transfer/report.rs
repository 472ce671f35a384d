//! What an import did, as the one JSON object the route answers and the
//! command prints: counts, what was set aside and why, and where in the
//! file each problem is. No private field ever enters it: the readers'
//! and the core's messages name fields, never their values.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::domain::Status;
use crate::domain::learn::Experience;
use crate::domain::moderation::{Adjustments, Taught};
use crate::import::{self, MAX_LISTED, Position};

/// The import report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The format read (`wordpress`, `disqus`, `isso`, `ndjson`).
    pub format: String,
    /// Whether this was a dry run (nothing stored).
    pub dry_run: bool,
    /// Comments stored now (in a dry run: that would be).
    pub imported: u64,
    /// Comments whose id was stored already: a second import adds nothing.
    pub already_present: u64,
    /// The imported comments per moderato status.
    pub by_status: BTreeMap<&'static str, u64>,
    /// Records of the file not imported, per reason (`pingback`,
    /// `trackback`, `deleted`, `empty`, `other_type`).
    pub skipped: BTreeMap<&'static str, u64>,
    /// Threads (page keys) with at least one comment in the file.
    pub pages: u64,
    /// Records that could not be imported, each with where it is; the
    /// first [`MAX_LISTED`] are listed.
    pub errors: Vec<ReportError>,
    /// Every such record, listed or not.
    pub errors_total: u64,
    /// What was changed to import a record (a reply whose parent is
    /// missing imported at the top level, ...); the first [`MAX_LISTED`].
    pub notices: Vec<ReportNotice>,
    /// Every notice, listed or not.
    pub notices_total: u64,
    /// Fields left out of comments that were imported: an invalid
    /// address or website, a missing name (shown as "Anonymous").
    pub adjusted: BTreeMap<&'static str, u64>,
    /// Invalid UTF-8 sequences replaced by U+FFFD.
    pub replaced_invalid_utf8: u64,
    /// Readers' mail address records stored (moderato's own files; a
    /// reader already known here keeps their record).
    #[serde(skip_serializing_if = "is_zero")]
    pub readers: u64,
    /// With `learn`: the imported comments the learning filter was taught,
    /// spam and ham (approved); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learned: Option<Experience>,
}

/// A record not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportError {
    /// Where it starts in the file.
    #[serde(serialize_with = "position")]
    pub position: Position,
    /// Its id in the file, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What is wrong, with the position (never a private value).
    pub message: String,
}

/// A change made to import a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportNotice {
    /// Where it starts in the file.
    #[serde(serialize_with = "position")]
    pub position: Position,
    /// Its id in the file.
    pub id: String,
    /// `parent_missing`, `parent_skipped`, `parent_invalid`,
    /// `parent_cycle`, `unknown_status`.
    pub kind: &'static str,
    /// In words, with the position.
    pub message: String,
}

/// `{"line": 3, "column": 5}` or `{"table": "comments", "row": 7}`.
fn position<S: Serializer>(position: &Position, s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(2))?;
    match *position {
        Position::Text { line, column } => {
            map.serialize_entry("line", &line)?;
            map.serialize_entry("column", &column)?;
        }
        Position::Row { table, id } => {
            map.serialize_entry("table", table)?;
            map.serialize_entry("row", &id)?;
        }
    }
    map.end()
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Report {
    /// An empty report for `format`.
    pub(crate) fn new(format: &str, dry_run: bool) -> Report {
        let mut report = Report {
            format: format.to_owned(),
            dry_run,
            ..Report::default()
        };
        for status in Status::ALL {
            report.by_status.insert(status.as_str(), 0);
        }
        report
    }

    /// A batch taught the learning filter (`learn`).
    pub(crate) fn learned(&mut self, taught: &Taught) {
        let learned = self.learned.get_or_insert_with(Experience::default);
        learned.spam += taught.learned.spam;
        learned.ham += taught.learned.ham;
    }

    /// One comment imported.
    pub(crate) fn imported(&mut self, status: Status, adjusted: Adjustments) {
        self.imported += 1;
        *self.by_status.entry(status.as_str()).or_default() += 1;
        for (counted, name) in [
            (adjusted.email_dropped, "email_invalid"),
            (adjusted.website_dropped, "website_invalid"),
            (adjusted.anonymous, "anonymous"),
        ] {
            if counted {
                *self.adjusted.entry(name).or_default() += 1;
            }
        }
    }

    /// One record not imported.
    pub(crate) fn error(&mut self, position: Position, id: Option<String>, what: &str) {
        self.errors_total += 1;
        if self.errors.len() < MAX_LISTED {
            let message = match &id {
                Some(id) => format!("{position}: comment {id}: {what}"),
                None => format!("{position}: {what}"),
            };
            self.errors.push(ReportError {
                position,
                id,
                message,
            });
        }
    }

    /// Adds what a reader set aside or changed.
    pub(crate) fn add_summary(&mut self, summary: &import::Summary) {
        for (reason, count) in &summary.skipped {
            *self.skipped.entry(reason.as_str()).or_default() += count;
        }
        for e in &summary.errors {
            if self.errors.len() < MAX_LISTED {
                self.errors.push(ReportError {
                    position: e.position,
                    id: e.id.clone(),
                    message: e.to_string(),
                });
            }
        }
        self.errors_total += summary.errors_total;
        for n in &summary.notices {
            if self.notices.len() < MAX_LISTED {
                self.notices.push(ReportNotice {
                    position: n.position,
                    id: n.id.clone(),
                    kind: n.kind.as_str(),
                    message: n.to_string(),
                });
            }
        }
        self.notices_total += summary.notices_total;
        self.pages = summary.pages;
        self.replaced_invalid_utf8 = summary.replaced_invalid_utf8;
    }
}
