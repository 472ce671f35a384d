//! The outbox on sled: the `outbox` tree holds one record per job, keyed by
//! its id, written in the transaction of the change that caused it
//! ([`enqueue`]). Claims, completions and reschedules are single-key
//! compare-and-swaps, so a job is never handed out twice while its lease
//! runs.
//!
//! sled is one process by construction (it locks its directory), so the
//! leases left by a process that died are cleared when the store opens
//! ([`SledStore::clear_leases`]): its jobs are due again at once.

use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};
use sled::transaction::TransactionalTree;

use super::{Error, SledStore, TxResult};
use crate::domain::outbox::{Job, JobId, QueuedJob, Scheduled};

/// A job as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    job: Job,
    /// Due, ms since the epoch.
    at: i64,
    /// Attempts made.
    attempts: u32,
    /// Held by a worker until then (ms); 0 when free.
    #[serde(default)]
    leased_until: i64,
}

fn encode(record: &Record) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(record).map_err(|e| Error::Corrupt {
        id: "outbox".into(),
        message: e.to_string(),
    })
}

fn decode(key: &[u8], bytes: &[u8]) -> Result<Record, Error> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt {
        id: JobId::from_bytes(key).map_or_else(|| hex::encode(key), |id| id.to_string()),
        message: e.to_string(),
    })
}

/// Writes `jobs` into the outbox inside the caller's transaction.
pub(super) fn enqueue(outbox: &TransactionalTree, jobs: &[Scheduled]) -> TxResult<()> {
    for scheduled in jobs {
        let record = Record {
            job: scheduled.job.clone(),
            at: scheduled.at,
            attempts: 0,
            leased_until: 0,
        };
        let value =
            encode(&record).map_err(sled::transaction::ConflictableTransactionError::Abort)?;
        outbox.insert(&JobId::generate().to_bytes(), value)?;
    }
    Ok(())
}

impl SledStore {
    /// Counts the jobs after a transaction that wrote `n` of them committed.
    pub(super) fn jobs_added(&self, n: usize) {
        self.jobs.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Frees every lease: called at open, when no worker of this database
    /// can be running.
    pub(super) fn clear_leases(&self) -> Result<(), Error> {
        for entry in self.outbox.iter() {
            let (key, value) = entry?;
            let mut record = decode(&key, &value)?;
            if record.leased_until != 0 {
                record.leased_until = 0;
                self.outbox.insert(key, encode(&record)?)?;
            }
        }
        Ok(())
    }

    /// See [`crate::domain::ports::Store::claim_jobs`].
    pub(super) fn claim_jobs(
        &self,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<QueuedJob>, Error> {
        let mut due: Vec<(i64, sled::IVec, sled::IVec, Record)> = Vec::new();
        for entry in self.outbox.iter() {
            let (key, value) = entry?;
            let record = match decode(&key, &value) {
                Ok(record) => record,
                Err(e) => {
                    // A record this version cannot read must not block the
                    // others; it stays for `moderato check` and a human.
                    tracing::error!(error = %e, "outbox record cannot be decoded; skipped");
                    continue;
                }
            };
            if record.at <= now && record.leased_until <= now {
                due.push((record.at, key, value, record));
            }
        }
        due.sort_by_key(|(at, key, ..)| (*at, key.clone()));
        let mut claimed = Vec::new();
        for (_, key, old, mut record) in due {
            if claimed.len() == limit {
                break;
            }
            record.leased_until = now.saturating_add(lease_ms);
            let swapped = self
                .outbox
                .compare_and_swap(&key, Some(old), Some(encode(&record)?))?;
            let Some(id) = JobId::from_bytes(&key) else {
                continue;
            };
            if swapped.is_ok() {
                claimed.push(QueuedJob {
                    id,
                    job: record.job,
                    attempts: record.attempts,
                });
            }
        }
        Ok(claimed)
    }

    /// See [`crate::domain::ports::Store::complete_job`].
    pub(super) fn complete_job(&self, id: JobId) -> Result<(), Error> {
        if self.outbox.remove(id.to_bytes())?.is_some() {
            self.jobs.fetch_sub(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// See [`crate::domain::ports::Store::reschedule_job`].
    pub(super) fn reschedule_job(&self, id: JobId, at: i64, attempts: u32) -> Result<(), Error> {
        let key = id.to_bytes();
        let Some(value) = self.outbox.get(key)? else {
            return Ok(());
        };
        let mut record = decode(&key, &value)?;
        record.at = at;
        record.attempts = attempts;
        record.leased_until = 0;
        self.outbox.insert(key, encode(&record)?)?;
        Ok(())
    }

    /// See [`crate::domain::ports::Store::pending_jobs`].
    pub(super) fn pending_jobs(&self) -> u64 {
        self.jobs.load(Ordering::Relaxed)
    }
}
