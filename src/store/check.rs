//! Consistency check of the index trees against the comments tree, and
//! its repair: what `moderato check [--repair]` runs.
//!
//! The comments tree is the truth. For every comment, `by_status`,
//! `by_page` and `by_email` must hold exactly the entry its id, page,
//! status and email key call for (and `by_email`'s value must carry the
//! current status tag); every other index entry is stale. Every comment
//! should be the target of a `fingerprints` entry (the duplicate check);
//! a fingerprint of a deleted comment is left behind by design and is
//! harmless (counted, pruned by a repair, never a problem). `text_seen`
//! holds only timestamps of hashed texts: nothing to check it against.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use super::{Comment, Error, SledStore, decode, keys};
use crate::domain::CommentId;

/// Kinds of mismatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// A comment has no entry in this index.
    Missing,
    /// An index entry points to no comment, or is malformed.
    Stale,
    /// An index entry carries another status than its comment.
    WrongStatus,
    /// A stored comment cannot be decoded (never repaired: it needs a
    /// human, or a backup).
    Corrupt,
    /// A stored count differs from the comments counted (PostgreSQL).
    WrongCount,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Problem::Missing => "missing",
            Problem::Stale => "stale",
            Problem::WrongStatus => "wrong status",
            Problem::Corrupt => "corrupt",
            Problem::WrongCount => "wrong count",
        })
    }
}

/// Most problems described one by one in a report.
const MAX_EXAMPLES: usize = 20;

/// What a check (or repair) found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Comments read.
    pub comments: u64,
    /// Problems found, by tree and kind.
    pub found: BTreeMap<(&'static str, Problem), u64>,
    /// The first few problems, in words.
    pub examples: Vec<String>,
    /// Fingerprints of deleted comments (harmless).
    pub dangling_fingerprints: u64,
    /// Problems fixed (repair only).
    pub repaired: u64,
}

impl Report {
    /// Problems found in all.
    pub fn problems(&self) -> u64 {
        self.found.values().sum()
    }

    /// Problems still there after this run.
    pub fn remaining(&self) -> u64 {
        self.problems() - self.repaired
    }

    /// Whether the database is consistent now.
    pub fn is_consistent(&self) -> bool {
        self.remaining() == 0
    }

    /// Counts one problem, and describes it while examples are few.
    pub(in crate::store) fn found(
        &mut self,
        tree: &'static str,
        problem: Problem,
        what: impl FnOnce() -> String,
    ) {
        *self.found.entry((tree, problem)).or_default() += 1;
        if self.examples.len() < MAX_EXAMPLES {
            self.examples.push(format!("{tree}: {problem}: {}", what()));
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "comments checked: {}", self.comments)?;
        if self.found.is_empty() {
            writeln!(f, "problems: none")?;
        } else {
            writeln!(f, "problems: {}", self.problems())?;
            for ((tree, problem), n) in &self.found {
                writeln!(f, "  {tree:<13} {problem:<13} {n}")?;
            }
            for example in &self.examples {
                writeln!(f, "  - {example}")?;
            }
        }
        writeln!(
            f,
            "fingerprints of deleted comments (harmless): {}",
            self.dangling_fingerprints
        )?;
        if self.repaired > 0 {
            writeln!(f, "repaired: {}", self.repaired)?;
        }
        write!(
            f,
            "{}",
            if self.is_consistent() {
                "consistent"
            } else {
                "INCONSISTENT"
            }
        )
    }
}

/// Computes a comment's commenter-page-text fingerprint (needs the key that
/// only the application holds).
pub type Fingerprinter<'a> = &'a dyn Fn(&Comment) -> [u8; 32];

impl SledStore {
    /// Verifies every index tree against the comments tree; changes nothing.
    ///
    /// # Errors
    /// A database error.
    pub fn check(&self) -> Result<Report, Error> {
        self.verify(false, None)
    }

    /// Like [`Store::check`], then fixes what it can: adds missing index
    /// entries, removes stale ones, prunes fingerprints of deleted
    /// comments. A missing fingerprint needs the key: see
    /// [`Store::repair_with`]. Flushes before it returns.
    ///
    /// # Errors
    /// A database error.
    pub fn repair(&self) -> Result<Report, Error> {
        self.verify(true, None)
    }

    /// [`Store::repair`], also recreating missing fingerprints with
    /// `fingerprint`.
    ///
    /// # Errors
    /// A database error.
    pub fn repair_with(&self, fingerprint: Fingerprinter<'_>) -> Result<Report, Error> {
        self.verify(true, Some(fingerprint))
    }

    fn verify(
        &self,
        repair: bool,
        fingerprint: Option<Fingerprinter<'_>>,
    ) -> Result<Report, Error> {
        let mut report = Report::default();
        let mut ids: HashSet<CommentId> = HashSet::new();

        // Pass 1: every comment has its entries.
        for entry in self.comments.iter() {
            let (key, value) = entry?;
            report.comments += 1;
            let comment = match decode(&value) {
                Ok(c) if c.id.to_bytes()[..] == key[..] => c,
                Ok(_) | Err(_) => {
                    report.found(keys::COMMENTS, Problem::Corrupt, || hex::encode(&key));
                    continue;
                }
            };
            ids.insert(comment.id);
            let tag = keys::status_tag(comment.status);
            let expected = [
                (
                    keys::BY_STATUS,
                    &self.by_status,
                    keys::status_key(comment.status, comment.id),
                    Vec::new(),
                ),
                (
                    keys::BY_PAGE,
                    &self.by_page,
                    keys::page_key(&comment.page, comment.status, comment.id),
                    Vec::new(),
                ),
                (
                    keys::BY_EMAIL,
                    &self.by_email,
                    keys::email_key(comment.email_key(), comment.id),
                    vec![tag],
                ),
            ];
            for (name, tree, key, value) in expected {
                let problem = match tree.get(&key)? {
                    None => Problem::Missing,
                    Some(v) if v[..] != value[..] => Problem::WrongStatus,
                    Some(_) => continue,
                };
                report.found(name, problem, || format!("comment {}", comment.id));
                if repair {
                    tree.insert(key, value)?;
                    report.repaired += 1;
                    if name == keys::BY_PAGE {
                        self.generations.bump(&comment.page);
                    }
                }
            }
        }

        // Pass 2: every index entry belongs to a comment as it is now.
        for (name, tree) in [
            (keys::BY_STATUS, &self.by_status),
            (keys::BY_PAGE, &self.by_page),
            (keys::BY_EMAIL, &self.by_email),
        ] {
            for entry in tree.iter() {
                let (key, _) = entry?;
                let comment = match keys::id_suffix(&key) {
                    Some(id) => match self.comments.get(id.to_bytes())? {
                        Some(bytes) => match decode(&bytes) {
                            Ok(c) => Some(c),
                            // Counted in pass 1; its entries stay until a
                            // human decides.
                            Err(_) => continue,
                        },
                        None => None,
                    },
                    None => None,
                };
                let problem = match &comment {
                    None => Problem::Stale,
                    Some(c) => {
                        let (expected, same_but_status) = match name {
                            keys::BY_STATUS => (keys::status_key(c.status, c.id), true),
                            keys::BY_PAGE => (
                                keys::page_key(&c.page, c.status, c.id),
                                key.starts_with(&keys::page_prefix(&c.page, None)),
                            ),
                            _ => (keys::email_key(c.email_key(), c.id), false),
                        };
                        if expected[..] == key[..] {
                            continue;
                        }
                        if same_but_status {
                            Problem::WrongStatus
                        } else {
                            Problem::Stale
                        }
                    }
                };
                report.found(name, problem, || match &comment {
                    Some(c) => format!("entry {} of comment {}", hex::encode(&key), c.id),
                    None => format!("entry {} without a comment", hex::encode(&key)),
                });
                if repair {
                    tree.remove(&key)?;
                    report.repaired += 1;
                    if let Some(c) = comment.as_ref().filter(|_| name == keys::BY_PAGE) {
                        self.generations.bump(&c.page);
                    }
                }
            }
        }

        // Pass 3: fingerprints.
        let mut referenced = HashSet::new();
        for entry in self.fingerprints.iter() {
            let (key, value) = entry?;
            match CommentId::from_bytes(&value) {
                Some(id) if ids.contains(&id) => {
                    referenced.insert(id);
                    continue;
                }
                Some(id) if self.comments.contains_key(id.to_bytes())? => {
                    // A corrupt comment: pass 1 counted it.
                    continue;
                }
                Some(_) => report.dangling_fingerprints += 1,
                None => report.found(keys::FINGERPRINTS, Problem::Stale, || {
                    format!(
                        "entry {} with value {}",
                        hex::encode(&key),
                        hex::encode(&value)
                    )
                }),
            }
            if repair {
                self.fingerprints.remove(&key)?;
                if CommentId::from_bytes(&value).is_none() {
                    report.repaired += 1;
                }
            }
        }
        for id in ids.difference(&referenced) {
            report.found(keys::FINGERPRINTS, Problem::Missing, || {
                format!("comment {id}")
            });
            if let (true, Some(fingerprint)) = (repair, fingerprint)
                && let Some(comment) = self.get(*id)?
            {
                self.fingerprints
                    .insert(fingerprint(&comment), &id.to_bytes())?;
                report.repaired += 1;
            }
        }

        if repair {
            self.recount();
            self.db.flush()?;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;
    use crate::store::Fingerprints;

    fn comment(n: u8, page: &str) -> Comment {
        let id = CommentId(ulid::Ulid::from_parts(1_000 + u64::from(n), u128::from(n)));
        Comment {
            id,
            page: page.into(),
            parent: None,
            author: "Ann".into(),
            url: None,
            text: format!("text {n}"),
            html: format!("<p>text {n}</p>"),
            email_sealed: vec![1, 2, 3],
            email_hash: [n; 32],
            avatar: "x".into(),
            ip: None,
            user_agent: None,
            status: Status::Pending,
            score: 0,
            hits: Vec::new(),
            action: None,
            by_author: false,
            decisions: Vec::new(),
            edit: None,
            deleted: false,
            notify: Default::default(),
            origin: None,
            created_at: 1_000 + i64::from(n),
            updated_at: 1_000 + i64::from(n),
        }
    }

    fn print_of(c: &Comment) -> [u8; 32] {
        let mut print = [0u8; 32];
        print[..16].copy_from_slice(&c.id.to_bytes());
        print
    }

    async fn store_with(n: u8) -> (SledStore, Vec<Comment>) {
        let store = SledStore::temporary().expect("store");
        let mut comments = Vec::new();
        for i in 0..n {
            let c = comment(i, if i % 2 == 0 { "/a/" } else { "/b/" });
            let prints = Fingerprints {
                commenter_text: print_of(&c),
                text: [i; 32],
            };
            store.insert(&c, &prints, &[]).await.expect("insert");
            comments.push(c);
        }
        store
            .set_status(
                comments[0].id,
                Status::Approved,
                crate::store::Via::Admin,
                &[],
            )
            .await
            .expect("approve");
        (store, comments)
    }

    #[tokio::test]
    async fn a_healthy_database_is_consistent() {
        let (store, _) = store_with(6).await;
        let report = store.check().expect("check");
        assert!(report.is_consistent(), "{report}");
        assert_eq!(report.comments, 6);
        assert_eq!(report.problems(), 0);
    }

    #[tokio::test]
    async fn every_kind_of_corrupted_index_is_found_then_repaired() {
        let (store, comments) = store_with(6).await;
        let approved = &comments[0];
        // A missing by_status entry, a by_page entry with the wrong status
        // (and so a missing right one), a stale by_email entry of a comment
        // that does not exist, a wrong status tag in by_email, a missing
        // fingerprint and one fingerprint of a deleted comment.
        store
            .by_status
            .remove(keys::status_key(Status::Pending, comments[1].id))
            .expect("remove");
        store
            .by_page
            .remove(keys::page_key("/a/", Status::Approved, approved.id))
            .expect("remove");
        store
            .by_page
            .insert(keys::page_key("/a/", Status::Spam, approved.id), &[])
            .expect("insert");
        let ghost = comment(99, "/a/");
        store
            .by_email
            .insert(keys::email_key(ghost.email_key(), ghost.id), b"p")
            .expect("insert");
        store
            .by_email
            .insert(
                keys::email_key(comments[2].email_key(), comments[2].id),
                b"s",
            )
            .expect("insert");
        store
            .fingerprints
            .remove(print_of(&comments[3]))
            .expect("remove");
        store
            .fingerprints
            .insert([7u8; 32], &ghost.id.to_bytes())
            .expect("insert");

        let report = store.check().expect("check");
        assert!(!report.is_consistent());
        let found = |tree, problem| report.found.get(&(tree, problem)).copied().unwrap_or(0);
        assert_eq!(found(keys::BY_STATUS, Problem::Missing), 1, "{report}");
        assert_eq!(found(keys::BY_PAGE, Problem::Missing), 1, "{report}");
        assert_eq!(found(keys::BY_PAGE, Problem::WrongStatus), 1, "{report}");
        assert_eq!(found(keys::BY_EMAIL, Problem::Stale), 1, "{report}");
        assert_eq!(found(keys::BY_EMAIL, Problem::WrongStatus), 1, "{report}");
        assert_eq!(found(keys::FINGERPRINTS, Problem::Missing), 1, "{report}");
        assert_eq!(report.problems(), 6, "{report}");
        assert_eq!(report.dangling_fingerprints, 1);
        // The damaged page is invisible until repaired.
        assert!(store.approved_for_page("/a/").expect("list").is_empty());

        // Without the key the missing fingerprint stays a problem.
        let partial = store.repair().expect("repair");
        assert_eq!(partial.repaired, 5, "{partial}");
        assert_eq!(partial.remaining(), 1);
        let report = store.repair_with(&print_of).expect("repair");
        assert_eq!(report.problems(), 1);
        assert!(report.is_consistent(), "{report}");

        let after = store.check().expect("check");
        assert!(after.is_consistent(), "{after}");
        assert_eq!(after.problems(), 0);
        assert_eq!(after.dangling_fingerprints, 0);
        assert_eq!(store.approved_for_page("/a/").expect("list").len(), 1);
        assert_eq!(store.status_count(Status::Approved), 1);
        assert_eq!(store.status_count(Status::Pending), 5);
    }

    #[tokio::test]
    async fn a_corrupt_comment_is_reported_and_never_repaired_away() {
        let (store, _) = store_with(2).await;
        let key = CommentId(ulid::Ulid::from_parts(5_000, 5)).to_bytes();
        store
            .comments
            .insert(key, &b"not json"[..])
            .expect("insert");
        let report = store.repair().expect("repair");
        assert_eq!(
            report.found.get(&(keys::COMMENTS, Problem::Corrupt)),
            Some(&1)
        );
        assert!(!report.is_consistent());
        assert!(store.comments.contains_key(key).expect("get"));
    }
}
