//! Keeping threads whole: every reader passes its records through a
//! [`Threader`], which resolves each record's parent, holds a reply back
//! until its parent was yielded, re-attaches replies of skipped comments to
//! the nearest imported ancestor, and turns replies whose parent never comes
//! into top-level comments (with a notice).
//!
//! WordPress keeps a post's comments inside its `<item>`, so the WXR reader
//! learns ids as it goes and closes a scope at each `</item>`; Disqus and
//! Isso are read twice, so their readers announce every id in advance
//! ([`Threader::expect`]) and a missing parent is known at once.

use std::collections::{HashMap, VecDeque};

use super::{Notice, NoticeKind, ParentRef, RecordError, SkipReason, SourceRecord, Summary};

/// Why a known comment will not be yielded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gone {
    /// Skipped for this reason.
    Skipped(SkipReason),
    /// Could not be read.
    Invalid,
}

/// An id as a map key. WordPress, Disqus and Isso ids are decimal numbers:
/// those are kept without a heap allocation (the map holds every post id
/// of a Disqus file).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    Number(u64),
    Text(Box<str>),
}

impl Key {
    fn of(id: &str) -> Key {
        let canonical = !id.is_empty()
            && id.len() <= 19
            && id.bytes().all(|b| b.is_ascii_digit())
            && (id == "0" || !id.starts_with('0'));
        match id.parse() {
            Ok(n) if canonical => Key::Number(n),
            _ => Key::Text(id.into()),
        }
    }

    fn to_id(&self) -> String {
        match self {
            Key::Number(n) => n.to_string(),
            Key::Text(t) => t.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Announced, not met yet.
    Expected,
    /// Met, held back for its parent.
    Waiting,
    /// Yielded.
    Yielded,
    /// Never yielded; see `Threader::gone` for where its replies go.
    Gone,
}

#[derive(Debug)]
struct Known {
    thread: u32,
    state: State,
    created_at: i64,
}

enum Resolution {
    /// The parent (or the nearest ancestor) was yielded.
    Attach(ParentRef, Option<NoticeKind>),
    /// No ancestor left: top level.
    TopLevel(Option<NoticeKind>),
    /// Wait for this id.
    Wait(Key),
}

/// The parent resolution of one reader. Records go in with [`push`] and come
/// out of [`pop`] with their thread number, parents first.
///
/// [`push`]: Threader::push
/// [`pop`]: Threader::pop
#[derive(Debug)]
pub(crate) struct Threader {
    known: HashMap<Key, Known>,
    /// For `Gone` ids: the parent their replies go to, and why.
    gone: HashMap<Key, (Option<Key>, Gone)>,
    /// Held-back records by the id they wait for.
    waiting: HashMap<Key, Vec<(SourceRecord, u32)>>,
    ready: VecDeque<(SourceRecord, u32)>,
    /// Every id was announced: an unknown parent is missing, not late.
    complete: bool,
}

impl Threader {
    /// `complete`: the reader announces every id with [`Threader::expect`]
    /// before pushing any record.
    pub(crate) fn new(complete: bool) -> Threader {
        Threader {
            known: HashMap::new(),
            gone: HashMap::new(),
            waiting: HashMap::new(),
            ready: VecDeque::new(),
            complete,
        }
    }

    /// Announces a comment of the file: `gone` with its parent when it will
    /// not be yielded (deleted, empty, unreadable).
    pub(crate) fn expect(
        &mut self,
        id: &str,
        thread: u32,
        created_at: i64,
        gone: Option<(Option<&str>, Gone)>,
    ) {
        let key = Key::of(id);
        let state = match gone {
            None => State::Expected,
            Some((parent, why)) => {
                self.gone.insert(key.clone(), (parent.map(Key::of), why));
                State::Gone
            }
        };
        self.known.insert(
            key,
            Known {
                thread,
                state,
                created_at,
            },
        );
    }

    /// Records that `id` will not be yielded, so its replies re-attach to
    /// `parent`, and counts a skip; releases replies waiting for it.
    pub(crate) fn gone(
        &mut self,
        id: &str,
        thread: u32,
        created_at: i64,
        parent: Option<&str>,
        why: Gone,
        summary: &mut Summary,
    ) {
        if let Gone::Skipped(reason) = why {
            summary.skip(reason);
        }
        let key = Key::of(id);
        self.gone.insert(key.clone(), (parent.map(Key::of), why));
        match self.known.get_mut(&key) {
            Some(known) => known.state = State::Gone,
            None => {
                self.known.insert(
                    key.clone(),
                    Known {
                        thread,
                        state: State::Gone,
                        created_at,
                    },
                );
            }
        }
        self.release(&key, summary);
    }

    /// Takes a record of thread `thread`; its `original_parent` is resolved
    /// into `parent` now or once the parent was yielded. A second record
    /// with an id already taken is refused as a record error.
    pub(crate) fn push(&mut self, record: SourceRecord, thread: u32, summary: &mut Summary) {
        let key = Key::of(&record.id);
        match self.known.get(&key) {
            Some(Known {
                state: State::Expected,
                ..
            })
            | None => {}
            Some(_) => {
                summary.error(RecordError {
                    position: record.position,
                    id: Some(record.id),
                    message: "its id was already used by an earlier comment".into(),
                });
                return;
            }
        }
        self.known.insert(
            key,
            Known {
                thread,
                state: State::Waiting,
                created_at: record.created_at,
            },
        );
        self.place(record, thread, summary);
    }

    /// The next record, parents first, with its thread number.
    pub(crate) fn pop(&mut self) -> Option<(SourceRecord, u32)> {
        self.ready.pop_front()
    }

    /// The scope ended (WXR `</item>`, end of file): replies still waiting
    /// will not see their parent and become top-level, in file order.
    pub(crate) fn close(&mut self, summary: &mut Summary) {
        while !self.waiting.is_empty() {
            let mut never: Vec<Key> = self
                .waiting
                .keys()
                .filter(|key| {
                    !matches!(
                        self.known.get(*key),
                        Some(Known {
                            state: State::Waiting,
                            ..
                        })
                    )
                })
                .cloned()
                .collect();
            let kind = if never.is_empty() {
                // Only replies waiting for replies: a cycle. Break it at the
                // record that comes first in the file.
                let first = self
                    .waiting
                    .iter()
                    .flat_map(|(key, records)| records.iter().map(move |(r, _)| (r.position, key)))
                    .min()
                    .map(|(_, key)| key.clone());
                never.extend(first);
                NoticeKind::ParentCycle
            } else {
                NoticeKind::ParentMissing
            };
            let mut orphans: Vec<(SourceRecord, u32)> = never
                .iter()
                .filter_map(|key| self.waiting.remove(key))
                .flatten()
                .collect();
            orphans.sort_by_key(|(r, _)| r.position);
            for (mut record, thread) in orphans {
                record.parent = None;
                note(summary, &record, kind);
                self.emit(record, thread, summary);
            }
        }
    }

    /// Forgets the ids of a closed scope (WXR: parents never cross items).
    pub(crate) fn forget(&mut self) {
        self.known.clear();
        self.gone.clear();
    }

    fn place(&mut self, mut record: SourceRecord, thread: u32, summary: &mut Summary) {
        let Some(parent) = record.original_parent.clone() else {
            record.parent = None;
            self.emit(record, thread, summary);
            return;
        };
        match self.resolve(thread, &parent) {
            Resolution::Attach(parent, notice) => {
                if let Some(kind) = notice {
                    note(summary, &record, kind);
                }
                record.parent = Some(parent);
                self.emit(record, thread, summary);
            }
            Resolution::TopLevel(notice) => {
                if let Some(kind) = notice {
                    note(summary, &record, kind);
                }
                record.parent = None;
                self.emit(record, thread, summary);
            }
            Resolution::Wait(id) => self.waiting.entry(id).or_default().push((record, thread)),
        }
    }

    fn resolve(&self, thread: u32, parent: &str) -> Resolution {
        let mut current = Key::of(parent);
        let mut skipped: Option<NoticeKind> = None;
        // Each hop climbs one gone ancestor; more hops than ids is a cycle.
        for _ in 0..=self.known.len() {
            let Some(known) = self.known.get(&current) else {
                return if self.complete {
                    Resolution::TopLevel(Some(skipped.unwrap_or(NoticeKind::ParentMissing)))
                } else {
                    Resolution::Wait(current)
                };
            };
            if known.thread != thread {
                return Resolution::TopLevel(Some(NoticeKind::ParentMissing));
            }
            match known.state {
                State::Yielded => {
                    let parent = ParentRef {
                        id: current.to_id(),
                        created_at: known.created_at,
                    };
                    return Resolution::Attach(parent, skipped);
                }
                State::Expected | State::Waiting => return Resolution::Wait(current),
                State::Gone => {
                    let (parent, why) = self
                        .gone
                        .get(&current)
                        .cloned()
                        .unwrap_or((None, Gone::Invalid));
                    skipped = Some(match why {
                        Gone::Skipped(reason) => NoticeKind::ParentSkipped(reason),
                        Gone::Invalid => NoticeKind::ParentInvalid,
                    });
                    match parent {
                        Some(p) => current = p,
                        None => return Resolution::TopLevel(skipped),
                    }
                }
            }
        }
        Resolution::TopLevel(Some(NoticeKind::ParentCycle))
    }

    /// Yields `record` and re-places the replies that waited for it.
    fn emit(&mut self, record: SourceRecord, thread: u32, summary: &mut Summary) {
        let key = Key::of(&record.id);
        if let Some(known) = self.known.get_mut(&key) {
            known.state = State::Yielded;
        }
        self.ready.push_back((record, thread));
        self.release(&key, summary);
    }

    fn release(&mut self, key: &Key, summary: &mut Summary) {
        if let Some(replies) = self.waiting.remove(key) {
            for (record, thread) in replies {
                self.place(record, thread, summary);
            }
        }
    }
}

fn note(summary: &mut Summary, record: &SourceRecord, kind: NoticeKind) {
    summary.notice(Notice {
        position: record.position,
        id: record.id.clone(),
        kind,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;
    use crate::import::{Position, Source};

    fn record(id: &str, parent: Option<&str>, line: u64) -> SourceRecord {
        SourceRecord {
            source: Source::Wordpress,
            id: id.into(),
            page: "/p/".into(),
            parent: None,
            original_parent: parent.map(Into::into),
            author: "A".into(),
            email: None,
            website: None,
            ip: None,
            created_at: line as i64 * 1000,
            html: "x".into(),
            status: Status::Approved,
            by_author: false,
            user_agent: None,
            moderato_id: None,
            position: Position::Text { line, column: 1 },
        }
    }

    fn drain(threader: &mut Threader) -> Vec<(String, Option<String>)> {
        std::iter::from_fn(|| threader.pop())
            .map(|(r, _)| (r.id, r.parent.map(|p| p.id)))
            .collect()
    }

    fn pair(id: &str, parent: Option<&str>) -> (String, Option<String>) {
        (id.into(), parent.map(Into::into))
    }

    #[test]
    fn a_reply_before_its_parent_waits_for_it() {
        let (mut t, mut s) = (Threader::new(false), Summary::default());
        t.push(record("2", Some("1"), 1), 0, &mut s);
        assert_eq!(drain(&mut t), vec![]);
        t.push(record("1", None, 2), 0, &mut s);
        assert_eq!(drain(&mut t), vec![pair("1", None), pair("2", Some("1"))]);
        assert_eq!(s.notices_total, 0);
    }

    #[test]
    fn a_missing_parent_becomes_top_level_when_the_scope_closes() {
        let (mut t, mut s) = (Threader::new(false), Summary::default());
        t.push(record("2", Some("9"), 1), 0, &mut s);
        t.push(record("3", Some("2"), 2), 0, &mut s);
        t.close(&mut s);
        assert_eq!(drain(&mut t), vec![pair("2", None), pair("3", Some("2"))]);
        assert_eq!(s.notices[0].kind, NoticeKind::ParentMissing);
        assert_eq!(s.notices_total, 1);
    }

    #[test]
    fn replies_of_a_gone_comment_go_to_its_parent() {
        let (mut t, mut s) = (Threader::new(false), Summary::default());
        t.push(record("1", None, 1), 0, &mut s);
        t.gone(
            "2",
            0,
            0,
            Some("1"),
            Gone::Skipped(SkipReason::Pingback),
            &mut s,
        );
        t.push(record("3", Some("2"), 3), 0, &mut s);
        assert_eq!(drain(&mut t), vec![pair("1", None), pair("3", Some("1"))]);
        assert_eq!(
            s.notices[0].kind,
            NoticeKind::ParentSkipped(SkipReason::Pingback)
        );
    }

    #[test]
    fn a_cycle_is_broken_at_its_first_record() {
        let (mut t, mut s) = (Threader::new(false), Summary::default());
        t.push(record("1", Some("2"), 1), 0, &mut s);
        t.push(record("2", Some("1"), 2), 0, &mut s);
        t.close(&mut s);
        assert_eq!(drain(&mut t), vec![pair("1", None), pair("2", Some("1"))]);
        assert_eq!(s.notices[0].kind, NoticeKind::ParentCycle);
    }

    #[test]
    fn with_every_id_announced_a_missing_parent_is_known_at_once() {
        let (mut t, mut s) = (Threader::new(true), Summary::default());
        t.expect("1", 0, 1000, None);
        t.expect("2", 0, 2000, None);
        t.push(record("2", Some("1"), 2), 0, &mut s);
        t.push(record("3", Some("8"), 3), 0, &mut s);
        assert_eq!(drain(&mut t), vec![pair("3", None)]);
        t.push(record("1", None, 1), 0, &mut s);
        assert_eq!(drain(&mut t), vec![pair("1", None), pair("2", Some("1"))]);
    }

    #[test]
    fn a_parent_on_another_thread_is_missing() {
        let (mut t, mut s) = (Threader::new(false), Summary::default());
        t.push(record("1", None, 1), 0, &mut s);
        t.push(record("2", Some("1"), 2), 1, &mut s);
        assert_eq!(drain(&mut t), vec![pair("1", None), pair("2", None)]);
        assert_eq!(s.notices[0].kind, NoticeKind::ParentMissing);
    }

    #[test]
    fn ids_that_look_alike_stay_apart() {
        assert_eq!(Key::of("17"), Key::Number(17));
        assert_ne!(Key::of("017"), Key::of("17"));
        assert_eq!(Key::of("017").to_id(), "017");
        assert_eq!(
            Key::of("99999999999999999999").to_id(),
            "99999999999999999999"
        );
    }

    #[test]
    fn the_same_id_twice_is_refused() {
        let (mut t, mut s) = (Threader::new(false), Summary::default());
        t.push(record("1", None, 1), 0, &mut s);
        t.push(record("1", None, 2), 0, &mut s);
        assert_eq!(drain(&mut t), vec![pair("1", None)]);
        assert_eq!(s.errors_total, 1);
        assert_eq!(s.errors[0].position, Position::Text { line: 2, column: 1 });
    }
}
