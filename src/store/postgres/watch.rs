//! What a replica keeps in memory about the shared database, and the task
//! that keeps it true while other replicas write.
//!
//! - **Status counts**: read on every request (the queue cap, `/metrics`),
//!   so they are not a query each time. The count is the database's total
//!   as of the last poll plus this replica's own changes committed since;
//!   the poll replaces both, while this replica's commits wait (see
//!   `Shared::commit_gate`), so its own writes are counted exactly once. Another replica's change shows within
//!   one [`POLL_INTERVAL`].
//! - **Page generations**: the page cache serves a page while its
//!   generation has not moved. This replica bumps a page's generation after
//!   its own commits; for other replicas' commits, the watcher polls the
//!   `page_changes` counters of the pages this replica was asked about and
//!   bumps every page whose counter moved. A page polled for the first time
//!   is bumped once (its cached copy may predate what the first poll saw),
//!   so a cached page is never older than one poll. No LISTEN/NOTIFY: the
//!   poll works on any PostgreSQL-compatible database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError, Weak};
use std::time::Duration;

use deadpool_postgres::Pool;
use tokio_postgres::GenericClient;

use super::{Error, status_of};
use crate::domain::Status;
use crate::store::generations::PageGenerations;

/// How often the watcher reads the counts and the watched pages' counters:
/// a change on another replica is served here within this (plus one query).
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Pages watched at most; the least recently asked is dropped first (and
/// watched anew, with a bump, when it is asked for again).
const MAX_WATCHED: usize = 4096;

/// Polls between two readings of the database's size.
const POLLS_PER_SIZE: u64 = 40;

/// One comment entering, leaving or moving in a page's statuses.
#[derive(Debug, Clone)]
pub(super) struct Change {
    pub page: String,
    pub from: Option<Status>,
    pub to: Option<Status>,
    /// The comment's text or fields changed, not only its status (a
    /// writer's edit): an approved comment's page changes even when its
    /// status stays.
    pub rewritten: bool,
}

impl Change {
    pub fn new(page: &str, from: Option<Status>, to: Option<Status>) -> Change {
        Change {
            page: page.to_owned(),
            from,
            to,
            rewritten: false,
        }
    }

    /// A writer's change of the comment (see [`Change::rewritten`]).
    pub fn rewrite(page: &str, from: Option<Status>, to: Option<Status>) -> Change {
        Change {
            rewritten: true,
            ..Change::new(page, from, to)
        }
    }

    /// Whether the page's public (approved) view changes.
    pub fn touches_public_view(&self) -> bool {
        (self.from != self.to || self.rewritten)
            && (self.from == Some(Status::Approved) || self.to == Some(Status::Approved))
    }
}

#[derive(Debug, Default)]
struct Counts {
    /// The database's totals at the last poll.
    base: [i64; 4],
    /// This replica's changes committed since that poll began.
    local: [i64; 4],
}

#[derive(Debug)]
struct Watch {
    /// The page's `page_changes` counter as last seen; `None` before the
    /// first poll that looked.
    seen: Option<i64>,
    /// When it was last asked for (a tick of `Watched::clock`).
    asked: u64,
}

#[derive(Debug, Default)]
struct Watched {
    pages: HashMap<String, Watch>,
    clock: u64,
}

/// The replica's memory of the database, shared by the store's clones and
/// the watcher (which holds it weakly and stops when the store is gone).
#[derive(Debug)]
pub(super) struct Shared {
    counts: Mutex<Counts>,
    /// Held shared by a writer from just before its commit until its
    /// change is in `counts.local`, and exclusively by a poll while it
    /// reads the totals: so every commit is either in the totals or in
    /// `local`, never in both, and the counts are exact for this replica's
    /// own writes.
    commit_gate: tokio::sync::RwLock<()>,
    generations: PageGenerations,
    watched: Mutex<Watched>,
    /// Write transactions committed by this replica.
    pub commits: AtomicU64,
    /// Bytes of the database, as last read; 0 before the first reading.
    pub size: AtomicU64,
    /// Outbox jobs this process claimed and has not settled.
    claims: Mutex<std::collections::HashSet<crate::domain::outbox::JobId>>,
    /// Held shared by each claim in flight, exclusively by the release.
    claiming: std::sync::Arc<tokio::sync::RwLock<()>>,
    /// Why the last poll failed; `None` while polls succeed. What
    /// `Store::health` (so `/healthz` and `/readyz`) reports.
    problem: Mutex<Option<String>>,
}

impl Shared {
    pub fn new(counts: [i64; 4]) -> Shared {
        Shared {
            counts: Mutex::new(Counts {
                base: counts,
                local: [0; 4],
            }),
            commit_gate: tokio::sync::RwLock::new(()),
            generations: PageGenerations::default(),
            watched: Mutex::default(),
            commits: AtomicU64::new(0),
            size: AtomicU64::new(0),
            claims: Mutex::default(),
            claiming: std::sync::Arc::default(),
            problem: Mutex::default(),
        }
    }

    /// Why the database cannot be used now, as of the last poll (at most
    /// one [`POLL_INTERVAL`] old); `None` when it answered.
    pub fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_problem(&self, problem: Option<String>) {
        *self.problem.lock().unwrap_or_else(PoisonError::into_inner) = problem;
    }

    /// Comments in `status`, all replicas' as of the last poll plus this
    /// one's since.
    pub fn status_count(&self, status: Status) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let i = status.index();
        u64::try_from(counts.base[i] + counts.local[i]).unwrap_or(0)
    }

    /// The page's generation; from now on the watcher watches it.
    pub fn page_generation(&self, page: &str) -> u64 {
        {
            let mut watched = self.watched.lock().unwrap_or_else(PoisonError::into_inner);
            watched.clock += 1;
            let now = watched.clock;
            match watched.pages.get_mut(page) {
                Some(watch) => watch.asked = now,
                None => {
                    if watched.pages.len() >= MAX_WATCHED
                        && let Some(oldest) = watched
                            .pages
                            .iter()
                            .min_by_key(|(_, w)| w.asked)
                            .map(|(p, _)| p.clone())
                    {
                        watched.pages.remove(&oldest);
                    }
                    watched.pages.insert(
                        page.to_owned(),
                        Watch {
                            seen: None,
                            asked: now,
                        },
                    );
                }
            }
        }
        self.generations.get(page)
    }

    /// Taken before a commit, dropped after [`Shared::apply`].
    pub async fn commit_guard(&self) -> tokio::sync::RwLockReadGuard<'_, ()> {
        self.commit_gate.read().await
    }

    /// After this replica committed `changes`, which left the pages'
    /// counters at `generations`.
    pub fn apply(&self, changes: &[Change], generations: &[(String, i64)]) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        {
            let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
            for change in changes {
                if let Some(from) = change.from {
                    counts.local[from.index()] -= 1;
                }
                if let Some(to) = change.to {
                    counts.local[to.index()] += 1;
                }
            }
        }
        if generations.is_empty() {
            return;
        }
        {
            let mut watched = self.watched.lock().unwrap_or_else(PoisonError::into_inner);
            for (page, generation) in generations {
                if let Some(watch) = watched.pages.get_mut(page) {
                    watch.seen = watch.seen.max(Some(*generation));
                }
            }
        }
        for (page, _) in generations {
            self.generations.bump(page);
        }
    }

    /// The outbox jobs this process holds.
    pub fn claims(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashSet<crate::domain::outbox::JobId>> {
        self.claims.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The gate between claims in flight and their release.
    pub fn claiming(&self) -> std::sync::Arc<tokio::sync::RwLock<()>> {
        self.claiming.clone()
    }

    /// Marks a page changed (repairs).
    pub fn bump(&self, page: &str) {
        self.generations.bump(page);
    }

    /// Replaces the counts with the database's (after a repair).
    pub fn reset_counts(&self, totals: [i64; 4]) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.base = totals;
        counts.local = [0; 4];
    }
}

/// The database's comments per status (the sum of each status's shards).
///
/// # Errors
/// The database's error.
pub(super) async fn read_counts(client: &impl GenericClient) -> Result<[i64; 4], Error> {
    let rows = client
        .query(
            "SELECT status, sum(n)::bigint FROM status_counts GROUP BY status",
            &[],
        )
        .await?;
    let mut totals = [0i64; 4];
    for row in rows {
        totals[status_of(row.get(0))?.index()] = row.get(1);
    }
    Ok(totals)
}

/// Polls every [`POLL_INTERVAL`] until the store is dropped. A failing
/// poll is logged when it starts failing and when it recovers, not every
/// time.
pub(super) async fn run(shared: Weak<Shared>, pool: Pool) {
    let mut every = tokio::time::interval(POLL_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    let mut polls: u64 = 0;
    loop {
        every.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let outcome = poll(&shared, &pool, polls.is_multiple_of(POLLS_PER_SIZE)).await;
        shared.set_problem(outcome.as_ref().err().map(|e| match e {
            Error::Unavailable { reason } => reason.clone(),
            _ => "the database server does not answer".to_owned(),
        }));
        match outcome {
            Ok(()) if failing => {
                tracing::info!("reading the shared database's changes again");
                failing = false;
            }
            Ok(()) => {}
            Err(e) if !failing => {
                tracing::warn!(error = %e, "cannot read the shared database's changes; cached pages and counts may be stale until it recovers");
                failing = true;
            }
            Err(_) => {}
        }
        polls += 1;
    }
}

async fn poll(shared: &Shared, pool: &Pool, with_size: bool) -> Result<(), Error> {
    let client = pool.get().await?;
    {
        // No commit of this replica is in flight while the totals are
        // read: each one is in them (and dropped from `local`) or after.
        let _gate = shared.commit_gate.write().await;
        let totals = read_counts(&**client).await?;
        let mut counts = shared.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.base = totals;
        counts.local = [0; 4];
    }

    let pages: Vec<String> = shared
        .watched
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pages
        .keys()
        .cloned()
        .collect();
    if !pages.is_empty() {
        let rows = client
            .query(
                &client
                    .prepare_cached(
                        "SELECT page, generation FROM page_changes WHERE page = ANY($1)",
                    )
                    .await?,
                &[&pages],
            )
            .await?;
        let current: HashMap<&str, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let mut moved = Vec::new();
        {
            let mut watched = shared
                .watched
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            for page in &pages {
                let now = current.get(page.as_str()).copied().unwrap_or(0);
                if let Some(watch) = watched.pages.get_mut(page)
                    && watch.seen.is_none_or(|seen| now > seen)
                {
                    watch.seen = Some(now);
                    moved.push(page);
                }
            }
        }
        for page in moved {
            shared.generations.bump(page);
        }
    }

    if with_size {
        let size: i64 = client
            .query_one("SELECT pg_database_size(current_database())", &[])
            .await?
            .get(0);
        shared
            .size
            .store(u64::try_from(size).unwrap_or(0), Ordering::Relaxed);
    }
    Ok(())
}
