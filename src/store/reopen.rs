//! [`ReopeningStore`]: the sled store as the running service holds it,
//! which refuses writes cleanly when the disk cannot take them and
//! recovers by itself when it can again.
//!
//! Two things can stop writes:
//!
//! - **Too little free space.** Before each write the free space of the
//!   data directory's file system is read (one `statvfs`); below the
//!   configured reserve the write is refused before sled sees it, so sled
//!   never meets a full disk in the middle of writing its log.
//! - **An I/O error inside sled** (the disk filled up anyway, the file
//!   system went read-only, the disk failed, a flush took longer than
//!   [`super::commit::FLUSH_DEADLINE`]). sled 0.34 then keeps the error as
//!   its *global error* and fails every later write with it, for good: a
//!   write after a hole in its log would be lost at the next start. Only a
//!   new handle recovers, so the database is reopened: sled's recovery reads
//!   the log up to the last complete write, which includes every write that
//!   was acknowledged (each waited for its flush) and drops only writes that
//!   were refused.
//!
//! In both cases the refused write answers [`StoreError::Unavailable`]
//! (the HTTP shell says 503 with `Retry-After`), [`Store::health`] says
//! why, and one task (`heal`) waits, with growing pauses, until a probe
//! file can be written and synced and enough space is free; then it
//! reopens the database (after an I/O error) and takes writes again.
//!
//! [`Store::health`]: crate::domain::ports::Store::health

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use super::SledStore;
use super::generations::PageGenerations;
use crate::domain::ports::{StoreError, StoreHealth};

/// The file the healer writes and syncs to learn whether the disk takes
/// writes again (inside the data directory, next to `db/`).
const PROBE_FILE: &str = ".write-probe";

/// Pauses between recovery attempts: from the first to the last, doubling.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const LAST_PAUSE: Duration = Duration::from_secs(8);

/// How long the healer waits for requests still holding the broken handle.
const RELEASE_WAIT: Duration = Duration::from_secs(20);

/// Why writes are refused now.
#[derive(Debug, Clone)]
struct Fault {
    reason: String,
    /// sled failed and keeps failing: the database must be reopened.
    /// `false` when the free-space check refused before sled was asked.
    broken: bool,
}

/// The service's store: a [`SledStore`] that is replaced by a fresh handle
/// after an I/O failure. Cloning shares it.
#[derive(Debug, Clone)]
pub struct ReopeningStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    cache_capacity: u64,
    /// Writes are refused while less than this is free.
    reserve_bytes: u64,
    /// Kept across reopens, so the page cache never takes a page of the
    /// new handle for one it cached from the old.
    generations: Arc<PageGenerations>,
    /// `None` only while the database is being reopened.
    current: RwLock<Option<Arc<SledStore>>>,
    fault: Mutex<Option<Fault>>,
    healing: AtomicBool,
}

/// A few words for an I/O error, without paths or data: what
/// [`StoreError::Unavailable`] and `/healthz` say.
pub fn io_reason(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    // sled hands its errors on as copies that keep the kind and put the
    // original into the message, so match both.
    let text = format!("{error:?}");
    let has = |needle: &str| text.contains(needle);
    let reason = match error.kind() {
        ErrorKind::StorageFull => "no space left on device",
        ErrorKind::ReadOnlyFilesystem => "read-only file system",
        ErrorKind::QuotaExceeded => "disk quota exceeded",
        ErrorKind::TimedOut => "the disk did not confirm a write in time",
        ErrorKind::PermissionDenied => "permission denied",
        _ if has("code: 28") => "no space left on device",
        _ if has("code: 30") => "read-only file system",
        _ if has("code: 122") => "disk quota exceeded",
        _ if has("could not acquire lock") => IN_USE,
        _ => "input/output error",
    };
    reason.to_owned()
}

/// The reason while less than the disk reserve is free.
const LOW_SPACE: &str = "no space left on device (less than the reserve is free)";

/// The reason of a database that another process holds open (sled's file
/// lock): a running service, or a command.
pub const IN_USE: &str = "the database is in use by another process (is moderato already running?)";

impl ReopeningStore {
    /// Opens the database in `path` (`data_dir/db`). Writes are refused
    /// while less than `reserve_bytes` are free on its file system.
    ///
    /// # Errors
    /// [`StoreError`] when sled cannot open it.
    pub fn open(
        path: &Path,
        cache_capacity: u64,
        reserve_bytes: u64,
    ) -> Result<ReopeningStore, StoreError> {
        let generations = Arc::new(PageGenerations::default());
        let store = SledStore::open_with(path, cache_capacity, generations.clone())?;
        Ok(ReopeningStore {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                cache_capacity,
                reserve_bytes,
                generations,
                current: RwLock::new(Some(Arc::new(store))),
                fault: Mutex::new(None),
                healing: AtomicBool::new(false),
            }),
        })
    }

    /// The handle for a read: the current one, even while writes are
    /// refused (sled serves reads after a write failed).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] while the database is being reopened.
    pub fn readable(&self) -> Result<Arc<SledStore>, StoreError> {
        self.inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| StoreError::Unavailable {
                reason: "the database is being reopened".into(),
            })
    }

    /// The handle for a write, after the free-space check.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] while writes are refused.
    pub fn writable(&self) -> Result<Arc<SledStore>, StoreError> {
        if let Some(fault) = self.fault() {
            return Err(StoreError::Unavailable {
                reason: fault.reason,
            });
        }
        if let Some(free) = self.free_bytes()
            && free < self.inner.reserve_bytes
        {
            let reason = LOW_SPACE.to_owned();
            self.fail(reason.clone(), false);
            return Err(StoreError::Unavailable { reason });
        }
        self.readable()
    }

    /// Passes a write's outcome on; an [`StoreError::Unavailable`] from
    /// sled marks the database broken and starts the recovery.
    ///
    /// # Errors
    /// `outcome`'s error.
    pub fn observe<T>(&self, outcome: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(StoreError::Unavailable { reason }) = &outcome {
            self.fail(reason.clone(), true);
        }
        outcome
    }

    /// The page's generation (see [`SledStore::page_generation`]), kept
    /// across reopens.
    pub fn page_generation(&self, page: &str) -> u64 {
        self.inner.generations.get(page)
    }

    /// Whether writes and reads are served now.
    pub fn health(&self) -> StoreHealth {
        let readable = self
            .inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        // Below the reserve the next write is refused: say so before it is.
        let reason = self.fault().map(|f| f.reason).or_else(|| {
            self.free_bytes()
                .is_some_and(|free| free < self.inner.reserve_bytes)
                .then(|| LOW_SPACE.to_owned())
        });
        StoreHealth {
            writable: readable && reason.is_none(),
            readable,
            problem: reason
                .or_else(|| (!readable).then(|| "the database is being reopened".to_owned())),
        }
    }

    fn fault(&self) -> Option<Fault> {
        self.inner
            .fault
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn free_bytes(&self) -> Option<u64> {
        if self.inner.reserve_bytes == 0 {
            return None;
        }
        fs2::available_space(self.data_dir()).ok()
    }

    fn data_dir(&self) -> &Path {
        self.inner.path.parent().unwrap_or(&self.inner.path)
    }

    /// Refuses writes from now on, and starts the healer (once).
    fn fail(&self, reason: String, broken: bool) {
        {
            let mut fault = self
                .inner
                .fault
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            match fault.as_mut() {
                Some(f) => f.broken |= broken,
                None => {
                    tracing::error!(
                        reason = %reason,
                        "the store cannot write; writes are refused with 503 until it recovers"
                    );
                    *fault = Some(Fault { reason, broken });
                }
            }
        }
        if !self.inner.healing.swap(true, Ordering::AcqRel) {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(self.clone().heal());
                }
                // Outside a runtime (a command-line tool): nothing to heal
                // in the background; the tool reports the error.
                Err(_) => self.inner.healing.store(false, Ordering::Release),
            }
        }
    }

    /// Waits until the disk takes writes again, reopens the database when
    /// sled failed, and lifts the refusal.
    async fn heal(self) {
        let mut pause = FIRST_PAUSE;
        loop {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LAST_PAUSE);
            if let Err(problem) = self.disk_takes_writes().await {
                tracing::debug!(problem = %problem, "the disk does not take writes yet");
                continue;
            }
            let broken = self.fault().is_some_and(|f| f.broken);
            if broken {
                match self.reopen().await {
                    Ok(()) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the database could not be reopened yet");
                        continue;
                    }
                }
            }
            {
                let mut fault = self
                    .inner
                    .fault
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                // A write that failed since the check may have marked the
                // new handle broken: then go round again.
                if fault.as_ref().is_some_and(|f| f.broken && !broken) {
                    continue;
                }
                *fault = None;
                self.inner.healing.store(false, Ordering::Release);
            }
            tracing::info!("the store takes writes again");
            return;
        }
    }

    /// Writes and syncs a probe file next to the database, and checks the
    /// reserve: whether a write would succeed now.
    async fn disk_takes_writes(&self) -> Result<(), String> {
        let dir = self.data_dir().to_owned();
        let reserve = self.inner.reserve_bytes;
        let probe = tokio::task::spawn_blocking(move || -> Result<(), String> {
            let path = dir.join(PROBE_FILE);
            let written = std::fs::File::create(&path).and_then(|mut file| {
                file.write_all(&[0u8; 4096])?;
                file.sync_all()
            });
            let _ = std::fs::remove_file(&path);
            written.map_err(|e| io_reason(&e))?;
            if reserve > 0 {
                let free = fs2::available_space(&dir).map_err(|e| io_reason(&e))?;
                if free < reserve.saturating_mul(2) {
                    return Err(format!("{free} bytes free"));
                }
            }
            Ok(())
        });
        probe.await.map_err(|e| format!("probe task failed: {e}"))?
    }

    /// Drops the broken handle (once no request holds it), opens a new one
    /// and checks that it can write and flush.
    async fn reopen(&self) -> Result<(), StoreError> {
        let old = self
            .inner
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(old) = old {
            let mut waited = Duration::ZERO;
            while Arc::strong_count(&old) > 1 && waited < RELEASE_WAIT {
                tokio::time::sleep(Duration::from_millis(10)).await;
                waited += Duration::from_millis(10);
            }
            // sled's drop may touch the disk: not on a runtime thread.
            let _ = tokio::task::spawn_blocking(move || drop(old)).await;
        }
        let (path, capacity, generations) = (
            self.inner.path.clone(),
            self.inner.cache_capacity,
            self.inner.generations.clone(),
        );
        let opened = tokio::task::spawn_blocking(move || {
            // sled lets go of its file lock a moment after the last handle
            // is dropped (its threads hold it briefly).
            let mut attempt = 0;
            loop {
                match SledStore::open_with(&path, capacity, generations.clone()) {
                    Ok(store) => {
                        let probe = store.probe_write();
                        break Ok((store, probe));
                    }
                    Err(_) if attempt < 100 => {
                        attempt += 1;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err(e) => break Err(e),
                }
            }
        })
        .await
        .map_err(|e| StoreError::Unavailable {
            reason: format!("reopen task failed: {e}"),
        })?;
        let (store, probe) = opened?;
        self.inner.generations.bump_all();
        // Kept for reads even when it cannot write yet.
        *self
            .inner
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(store));
        probe?;
        tracing::info!("the database was reopened after a write failure");
        Ok(())
    }
}
