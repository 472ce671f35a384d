//! `moderato check [--repair]` on PostgreSQL.
//!
//! The indexes themselves are the database's: they cannot drift. What can
//! is what this schema copies: the columns beside `body` (status, page,
//! email hash, parent, time), the fingerprint of each comment (which only
//! the key can recompute), and the per-status counts. `body` is the truth.
//! A check reads one consistent snapshot and changes nothing; a repair
//! locks the tables against writers (readers go on), fixes every copy from
//! `body`, raises the counters of the pages it touched (so every replica
//! drops its cached copy), and commits once.

use std::collections::HashSet;

use tokio_postgres::IsolationLevel;

use super::{Error, PgStore, decode, status_name, watch};
use crate::domain::{Comment, CommentId, Status};
use crate::store::{Problem, Report};

/// Rows read per round trip.
const BATCH: i32 = 1000;

/// A copy that differs from `body`, to fix in a repair.
struct Fix {
    id: Vec<u8>,
    comment: Comment,
    /// The fingerprint to store (`None`: none, another comment holds it).
    fingerprint: Option<[u8; 32]>,
    /// Pages whose public view the fix changes.
    pages: Vec<String>,
}

impl PgStore {
    /// Compares every copy with the comments' bodies; changes nothing.
    /// `fingerprint` recomputes a comment's duplicate fingerprint (the
    /// caller holds the key).
    ///
    /// # Errors
    /// A database error.
    pub async fn check(&self, fingerprint: &dyn Fn(&Comment) -> [u8; 32]) -> Result<Report, Error> {
        self.verify(false, fingerprint).await
    }

    /// [`PgStore::check`], then fixes every copy from the bodies. Corrupt
    /// bodies are reported and never touched.
    ///
    /// # Errors
    /// A database error; nothing is changed then.
    pub async fn repair(
        &self,
        fingerprint: &dyn Fn(&Comment) -> [u8; 32],
    ) -> Result<Report, Error> {
        self.verify(true, fingerprint).await
    }

    async fn verify(
        &self,
        repair: bool,
        fingerprint: &dyn Fn(&Comment) -> [u8; 32],
    ) -> Result<Report, Error> {
        let mut client = self.pool.get().await?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .start()
            .await?;
        if repair {
            tx.batch_execute("LOCK TABLE comments, status_counts IN SHARE ROW EXCLUSIVE MODE")
                .await?;
        }
        let mut report = Report::default();
        let mut counted = [0i64; 4];
        let mut held: HashSet<Vec<u8>> = HashSet::new();
        // (row id, comment, stored fingerprint, columns agree)
        let mut rows_read = Vec::new();
        let statement = tx
            .prepare(
                "SELECT id, page, status, email_hash, parent, created_at, fingerprint, body::text
                 FROM comments ORDER BY id",
            )
            .await?;
        let portal = tx.bind(&statement, &[]).await?;
        loop {
            let batch = tx.query_portal(&portal, BATCH).await?;
            if batch.is_empty() {
                break;
            }
            for row in &batch {
                report.comments += 1;
                let id: Vec<u8> = row.get(0);
                let stored_print: Option<Vec<u8>> = row.get(6);
                if let Some(print) = &stored_print {
                    held.insert(print.clone());
                }
                let comment = match decode(&id, row.get(7)) {
                    Ok(c) if c.id.to_bytes()[..] == id[..] => c,
                    Ok(_) | Err(_) => {
                        report.found("comments", Problem::Corrupt, || hex::encode(&id));
                        continue;
                    }
                };
                counted[comment.status.index()] += 1;
                let status: &str = row.get(2);
                let page: &str = row.get(1);
                let mut columns_agree = true;
                if status != status_name(comment.status) {
                    report.found("comments.status", Problem::WrongStatus, || {
                        format!("comment {}: column {status}", comment.id)
                    });
                    columns_agree = false;
                }
                let others_agree = page == comment.page
                    && row.get::<_, &[u8]>(3) == comment.email_hash.as_slice()
                    && row.get::<_, Option<Vec<u8>>>(4)
                        == comment.parent.map(|p| p.to_bytes().to_vec())
                    && row.get::<_, i64>(5) == comment.created_at;
                if !others_agree {
                    report.found("comments.columns", Problem::Stale, || {
                        format!("comment {}", comment.id)
                    });
                    columns_agree = false;
                }
                let old_page = (!columns_agree).then(|| page.to_owned());
                rows_read.push((id, comment, stored_print, old_page));
            }
        }

        let mut fixes = Vec::new();
        for (id, comment, stored, old_page) in rows_read {
            let expected = fingerprint(&comment);
            let print_ok = match &stored {
                Some(print) => print[..] == expected[..],
                // An imported copy of a comment whose fingerprint another
                // comment holds.
                None => held.contains(expected.as_slice()),
            };
            if !print_ok {
                let problem = if stored.is_none() {
                    Problem::Missing
                } else {
                    Problem::Stale
                };
                report.found("fingerprint", problem, || format!("comment {}", comment.id));
            }
            if print_ok && old_page.is_none() {
                continue;
            }
            let fixed_print = if print_ok {
                stored.as_deref().and_then(|p| <[u8; 32]>::try_from(p).ok())
            } else if held.contains(expected.as_slice()) {
                None
            } else {
                held.insert(expected.to_vec());
                Some(expected)
            };
            let mut pages = vec![comment.page.clone()];
            pages.extend(old_page.filter(|p| *p != comment.page));
            fixes.push(Fix {
                id,
                comment,
                fingerprint: fixed_print,
                pages,
            });
        }

        let stored_counts = watch::read_counts(&*tx).await?;
        for status in Status::ALL {
            let (stored, actual) = (stored_counts[status.index()], counted[status.index()]);
            if stored != actual {
                report.found("status_counts", Problem::WrongCount, || {
                    format!("{status}: stored {stored}, counted {actual}")
                });
            }
        }

        if !repair {
            return Ok(report);
        }
        let mut touched = Vec::new();
        let update = tx
            .prepare(
                "UPDATE comments SET page = $2, status = $3, email_hash = $4, parent = $5,
                 created_at = $6, fingerprint = $7 WHERE id = $1",
            )
            .await?;
        // Fingerprints move between rows: clear every one that changes
        // first, so the unique constraint never sees two holders.
        let clear = tx
            .prepare("UPDATE comments SET fingerprint = NULL WHERE id = $1")
            .await?;
        for fix in &fixes {
            tx.execute(&clear, &[&fix.id]).await?;
        }
        for fix in fixes {
            let c = &fix.comment;
            tx.execute(
                &update,
                &[
                    &fix.id,
                    &c.page,
                    &status_name(c.status),
                    &c.email_hash.as_slice(),
                    &c.parent.map(|p: CommentId| p.to_bytes().to_vec()),
                    &c.created_at,
                    &fix.fingerprint.as_ref().map(|p| p.as_slice()),
                ],
            )
            .await?;
            report.repaired += 1;
            touched.extend(fix.pages);
        }
        if stored_counts != counted {
            let reset = tx
                .prepare(
                    "UPDATE status_counts SET n = CASE WHEN shard = 0 THEN $2::bigint ELSE 0 END
                     WHERE status = $1",
                )
                .await?;
            for status in Status::ALL {
                if stored_counts[status.index()] != counted[status.index()] {
                    tx.execute(&reset, &[&status_name(status), &counted[status.index()]])
                        .await?;
                    report.repaired += 1;
                }
            }
        }
        touched.sort_unstable();
        touched.dedup();
        let bump = tx
            .prepare(
                "INSERT INTO page_changes (page, generation) VALUES ($1, 1)
                 ON CONFLICT (page) DO UPDATE SET generation = page_changes.generation + 1",
            )
            .await?;
        for page in &touched {
            tx.execute(&bump, &[page]).await?;
        }
        let gate = self.shared.commit_guard().await;
        tx.commit().await?;
        self.shared.reset_counts(counted);
        drop(gate);
        for page in &touched {
            self.shared.bump(page);
        }
        Ok(report)
    }
}
