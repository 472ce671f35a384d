//! Group commit.
//!
//! [`GroupCommit`]: a write is acknowledged only once it is on disk, but one
//! fsync per request caps the write rate at the disk's fsync rate. Instead,
//! every writer takes a ticket after its transaction committed in memory,
//! and one flusher task flushes on behalf of every ticket taken before the
//! flush started; writers that arrive meanwhile wait for the next round.
//! So under load one fsync covers all the writes of the previous few
//! milliseconds, while a lone writer still gets its own flush at once.
//!
//! Why not one `flush_async` per write, as sled suggests? In sled 0.34.7
//! concurrent `flush_async` calls deadlock: measured here with
//! `examples/flush_probe.rs` (16 or 64 tasks, each insert + `flush_async`,
//! hang within seconds; 4 tasks pass), and known upstream as
//! spacejam/sled#1308 (fixed on sled's main branch, never released). Even
//! without the hang, each call takes a thread of sled's I/O pool and seals
//! a new, often tiny, buffer. Here exactly one flush runs at a time, and it
//! is sled's blocking `flush` on tokio's blocking pool, so sled's
//! `flush_async` (and its pool's one-shot futures) are never used.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

/// How long a writer waits for its flush. A disk that takes longer is
/// treated as failed: the writer is told its write is not durable (it is
/// not acknowledged), and the store reopens the database
/// ([`super::reopen`]). Without a bound, a flush stuck in the kernel would
/// hold every writer, and the service with them, for ever.
pub const FLUSH_DEADLINE: Duration = Duration::from_secs(15);

/// The outcome of one flush round: every ticket up to `covered` is on disk
/// (or the flush failed with `error`, whose I/O kind is kept: a full disk
/// is told apart from other failures).
#[derive(Debug, Clone, Default)]
struct Round {
    covered: u64,
    error: Option<sled::Error>,
}

/// One flusher for the whole database; cloning shares it.
#[derive(Debug, Clone)]
pub struct GroupCommit {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: sled::Db,
    /// Tickets handed out so far.
    requested: AtomicU64,
    /// Flush rounds run so far.
    rounds: AtomicU64,
    /// Whether a flusher task is running; guards its start and stop.
    running: Mutex<bool>,
    done: watch::Sender<Round>,
}

impl GroupCommit {
    /// A flusher for `db` (the store makes one; public for the
    /// `flush_probe` example that measures it against plain `flush_async`).
    pub fn new(db: sled::Db) -> GroupCommit {
        GroupCommit {
            inner: Arc::new(Inner {
                db,
                requested: AtomicU64::new(0),
                rounds: AtomicU64::new(0),
                running: Mutex::new(false),
                done: watch::Sender::new(Round::default()),
            }),
        }
    }

    /// Returns once every write made before the call is on disk.
    ///
    /// # Errors
    /// The flush's I/O error, for every writer of that round; a
    /// [`std::io::ErrorKind::TimedOut`] error after [`FLUSH_DEADLINE`].
    pub async fn flush(&self) -> Result<(), sled::Error> {
        match tokio::time::timeout(FLUSH_DEADLINE, self.flush_unbounded()).await {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::error!(
                    deadline_secs = FLUSH_DEADLINE.as_secs(),
                    "database flush did not finish in time"
                );
                Err(sled::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the disk did not confirm the write in time",
                )))
            }
        }
    }

    async fn flush_unbounded(&self) -> Result<(), sled::Error> {
        let inner = &self.inner;
        let ticket = inner.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut rx = {
            // Subscribing and starting the flusher under the lock that the
            // flusher holds when it publishes a round and decides to stop,
            // so no ticket is left without a round that covers it.
            let mut running = inner.running.lock().unwrap_or_else(PoisonError::into_inner);
            let rx = inner.done.subscribe();
            if !*running {
                *running = true;
                // A task of its own, so that a request dropped mid-flush
                // (client gone) cannot leave the flusher half-run.
                tokio::spawn(self.clone().run());
            }
            rx
        };
        loop {
            {
                let round = rx.borrow_and_update();
                if round.covered >= ticket {
                    return match &round.error {
                        None => Ok(()),
                        Some(error) => Err(error.clone()),
                    };
                }
            }
            if rx.changed().await.is_err() {
                // Unreachable while `inner` (which owns the sender) lives.
                return Err(sled::Error::ReportableBug(
                    "group commit flusher vanished".into(),
                ));
            }
        }
    }

    async fn run(self) {
        let inner = &self.inner;
        let mut contended = false;
        loop {
            if contended {
                gather(&inner.requested).await;
            }
            let target = inner.requested.load(Ordering::SeqCst);
            // The blocking flush on tokio's blocking pool, not sled's
            // `flush_async`: see the module doc.
            let db = inner.db.clone();
            let error = match tokio::task::spawn_blocking(move || db.flush()).await {
                Ok(Ok(_)) => None,
                Ok(Err(e)) => Some(e),
                Err(e) => Some(sled::Error::ReportableBug(format!(
                    "flush task failed: {e}"
                ))),
            };
            if let Some(e) = &error {
                tracing::error!(error = %e, "database flush failed");
            }
            inner.rounds.fetch_add(1, Ordering::Relaxed);
            let mut running = inner.running.lock().unwrap_or_else(PoisonError::into_inner);
            inner.done.send_replace(Round {
                covered: target,
                error,
            });
            if inner.requested.load(Ordering::SeqCst) == target {
                *running = false;
                return;
            }
            // Writers arrived during this flush: the service is busy.
            contended = true;
        }
    }

    /// (flush requests, flush rounds) so far: their ratio is how many
    /// writes one fsync carried on average.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.inner.requested.load(Ordering::Relaxed),
            self.inner.rounds.load(Ordering::Relaxed),
        )
    }
}

/// Turns a busy flusher gives the runtime before its next flush, at most.
const GATHER_TURNS: usize = 8;

/// Before a flush on a busy service: lets the tasks that are ready to run
/// have a turn, as long as each turn brings more writers, so that one flush
/// covers them too. A flush costs the same for one write as for twenty (a
/// buffer written, `sync_file_range`, the waiters woken), and on two cores
/// the requests that have just committed in memory are among the runnable
/// tasks. A turn costs no syscall and no timer (tokio's has 1 ms
/// granularity); a lone writer never waits here, since the flusher starts
/// its first round at once.
async fn gather(requested: &AtomicU64) {
    let mut seen = requested.load(Ordering::SeqCst);
    for _ in 0..GATHER_TURNS {
        tokio::task::yield_now().await;
        let now = requested.load(Ordering::SeqCst);
        if now == seen {
            return;
        }
        seen = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_flushes_share_rounds_and_all_return() {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .expect("temporary db");
        let commit = GroupCommit::new(db.clone());
        let mut tasks = Vec::new();
        for i in 0..200u32 {
            let db = db.clone();
            let commit = commit.clone();
            tasks.push(tokio::spawn(async move {
                db.insert(i.to_be_bytes(), vec![1u8; 100]).expect("insert");
                commit.flush().await.expect("flush");
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
        let (requests, rounds) = commit.stats();
        assert_eq!(requests, 200);
        assert!(rounds >= 1 && rounds <= requests, "{rounds} rounds");
        // A lone writer afterwards still gets its flush.
        commit.flush().await.expect("flush");
        assert_eq!(commit.stats().0, 201);
    }
}
