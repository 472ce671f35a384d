//! What a reader sets aside or changes, for the import report: skips by
//! reason, record errors and notices (each with its position), counts.

use std::collections::BTreeMap;
use std::fmt;

use super::Position;

/// How many record errors and notices a [`Summary`] lists one by one; past
/// that it only counts them, so a broken 200 MB file cannot fill memory.
pub const MAX_LISTED: usize = 1000;

/// Why a record of the source was not imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// A WordPress pingback: not a reader's words.
    Pingback,
    /// A WordPress trackback: not a reader's words.
    Trackback,
    /// Another WordPress comment type (plugins' notes, ...).
    OtherType,
    /// Deleted in the source (Disqus `isDeleted`, Isso mode 4).
    Deleted,
    /// No text.
    Empty,
}

impl SkipReason {
    /// The name in an import report.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Pingback => "pingback",
            SkipReason::Trackback => "trackback",
            SkipReason::OtherType => "other_type",
            SkipReason::Deleted => "deleted",
            SkipReason::Empty => "empty",
        }
    }
}

/// A record that could not be read (a missing id, an invalid date, a thread
/// that is not in the file, ...): not imported, the rest goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    /// Where the record starts.
    pub position: Position,
    /// Its id, when it has one.
    pub id: Option<String>,
    /// What is wrong; names fields, never their private values.
    pub message: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{}: comment {id}: {}", self.position, self.message),
            None => write!(f, "{}: {}", self.position, self.message),
        }
    }
}

/// Something a reader changed to import a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    /// The parent is not in the file (or not on this page): imported as a
    /// top-level comment.
    ParentMissing,
    /// The parent was not imported (why): attached to the nearest imported
    /// ancestor, or top level when there is none.
    ParentSkipped(SkipReason),
    /// The parent could not be read: as `ParentSkipped`.
    ParentInvalid,
    /// The parents form a cycle: imported as a top-level comment.
    ParentCycle,
    /// The source's status value is unknown: imported as pending.
    UnknownStatus,
}

impl NoticeKind {
    /// The name in an import report.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::ParentMissing => "parent_missing",
            NoticeKind::ParentSkipped(_) => "parent_skipped",
            NoticeKind::ParentInvalid => "parent_invalid",
            NoticeKind::ParentCycle => "parent_cycle",
            NoticeKind::UnknownStatus => "unknown_status",
        }
    }
}

/// One [`NoticeKind`] for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Where the record starts.
    pub position: Position,
    /// Its id in the source.
    pub id: String,
    /// What was changed.
    pub kind: NoticeKind,
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            NoticeKind::ParentMissing => {
                "its parent is not on this page of the file: imported as a top-level comment"
                    .to_owned()
            }
            NoticeKind::ParentSkipped(reason) => format!(
                "its parent was skipped ({}): attached to the nearest imported ancestor",
                reason.as_str()
            ),
            NoticeKind::ParentInvalid => {
                "its parent could not be read: attached to the nearest imported ancestor".to_owned()
            }
            NoticeKind::ParentCycle => {
                "its parents form a cycle: imported as a top-level comment".to_owned()
            }
            NoticeKind::UnknownStatus => "unknown status: imported as pending".to_owned(),
        };
        write!(f, "{}: comment {}: {what}", self.position, self.id)
    }
}

/// What a reader set aside or changed, complete once the iteration ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Comments yielded.
    pub comments: u64,
    /// Distinct page keys with at least one comment yielded.
    pub pages: u64,
    /// Records not imported, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    /// The first [`MAX_LISTED`] record errors.
    pub errors: Vec<RecordError>,
    /// Every record error, listed or not.
    pub errors_total: u64,
    /// The first [`MAX_LISTED`] notices.
    pub notices: Vec<Notice>,
    /// Every notice, listed or not.
    pub notices_total: u64,
    /// Invalid UTF-8 sequences replaced by U+FFFD (XML formats).
    pub replaced_invalid_utf8: u64,
}

impl Summary {
    pub(crate) fn skip(&mut self, reason: SkipReason) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    pub(crate) fn error(&mut self, error: RecordError) {
        self.errors_total += 1;
        if self.errors.len() < MAX_LISTED {
            self.errors.push(error);
        }
    }

    /// A status value the reader does not know: imported as pending.
    pub(crate) fn unknown_status(&mut self, position: Position, id: &str) {
        self.notice(Notice {
            position,
            id: id.to_owned(),
            kind: NoticeKind::UnknownStatus,
        });
    }

    pub(crate) fn notice(&mut self, notice: Notice) {
        self.notices_total += 1;
        if self.notices.len() < MAX_LISTED {
            self.notices.push(notice);
        }
    }
}
