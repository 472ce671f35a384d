//! The outbox on PostgreSQL: jobs are rows of `outbox`, inserted in the
//! transaction of the change that caused them ([`enqueue`]). A claim is
//! one statement that leases the oldest due, unleased rows it can lock,
//! skipping rows another replica's claim holds (`FOR UPDATE SKIP
//! LOCKED`): of two replicas claiming at once each gets other jobs, and a
//! job is handed out again only when its lease has ended (its worker died).

use deadpool_postgres::Transaction;

use super::{Error, PgStore};
use crate::domain::outbox::{Job, JobId, QueuedJob, Scheduled};

fn corrupt(id: &[u8], message: String) -> Error {
    Error::Corrupt {
        id: JobId::from_bytes(id).map_or_else(|| hex::encode(id), |id| id.to_string()),
        message,
    }
}

/// Writes `jobs` into the outbox inside the caller's transaction.
pub(super) async fn enqueue(tx: &Transaction<'_>, jobs: &[Scheduled]) -> Result<(), Error> {
    if jobs.is_empty() {
        return Ok(());
    }
    let insert = tx
        .prepare_cached("INSERT INTO outbox (id, job, due_at) VALUES ($1, $2::text::jsonb, $3)")
        .await?;
    for scheduled in jobs {
        let job = serde_json::to_string(&scheduled.job).map_err(|e| Error::Corrupt {
            id: "outbox".into(),
            message: e.to_string(),
        })?;
        tx.execute(
            &insert,
            &[
                &JobId::generate().to_bytes().as_slice(),
                &job,
                &scheduled.at,
            ],
        )
        .await?;
    }
    Ok(())
}

impl PgStore {
    /// See [`crate::domain::ports::Store::claim_jobs`].
    ///
    /// The claim runs as a task of its own and records what it leased
    /// before it ends, even when the worker that asked is aborted (a clean
    /// stop): [`PgStore::release_claims`] waits for it, so no lease taken
    /// by this process outlives its clean stop.
    pub(super) async fn claim_jobs(
        &self,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<QueuedJob>, Error> {
        let in_flight = self.shared.claiming().read_owned().await;
        let store = self.clone();
        tokio::spawn(async move {
            let claimed = store.claim_now(now, lease_ms, limit).await;
            drop(in_flight);
            claimed
        })
        .await
        .map_err(|e| Error::Backend(Box::new(e)))?
    }

    async fn claim_now(
        &self,
        now: i64,
        lease_ms: i64,
        limit: usize,
    ) -> Result<Vec<QueuedJob>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(
                        "UPDATE outbox SET leased_until = $2
                         WHERE id IN (
                             SELECT id FROM outbox
                             WHERE due_at <= $1 AND leased_until <= $1
                             ORDER BY due_at, id
                             LIMIT $3
                             FOR UPDATE SKIP LOCKED)
                         RETURNING id, job::text, attempts, due_at",
                    )
                    .await?,
                &[&now, &now.saturating_add(lease_ms), &limit],
            )
            .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let raw: Vec<u8> = row.get(0);
            let Some(id) = JobId::from_bytes(&raw) else {
                return Err(corrupt(&raw, "not a job id".into()));
            };
            let job: Job = match serde_json::from_str(row.get(1)) {
                Ok(job) => job,
                Err(e) => {
                    // A record this version cannot read must not block the
                    // others; it stays leased and logged for a human.
                    tracing::error!(error = %corrupt(&raw, e.to_string()), "outbox record cannot be decoded; skipped");
                    continue;
                }
            };
            let attempts = u32::try_from(row.get::<_, i32>(2)).unwrap_or(0);
            claimed.push((row.get::<_, i64>(3), id, job, attempts));
        }
        self.shared
            .claims()
            .extend(claimed.iter().map(|(_, id, ..)| *id));
        claimed.sort_by_key(|(due, id, ..)| (*due, *id));
        Ok(claimed
            .into_iter()
            .map(|(_, id, job, attempts)| QueuedJob { id, job, attempts })
            .collect())
    }

    /// See [`crate::domain::ports::Store::complete_job`].
    pub(super) async fn complete_job(&self, id: JobId) -> Result<(), Error> {
        self.shared.claims().remove(&id);
        let client = self.pool.get().await?;
        client
            .execute(
                &client
                    .prepare_cached("DELETE FROM outbox WHERE id = $1")
                    .await?,
                &[&id.to_bytes().as_slice()],
            )
            .await?;
        Ok(())
    }

    /// See [`crate::domain::ports::Store::reschedule_job`].
    pub(super) async fn reschedule_job(
        &self,
        id: JobId,
        at: i64,
        attempts: u32,
    ) -> Result<(), Error> {
        self.shared.claims().remove(&id);
        let attempts = i32::try_from(attempts).unwrap_or(i32::MAX);
        let client = self.pool.get().await?;
        client
            .execute(
                &client
                    .prepare_cached(
                        "UPDATE outbox SET due_at = $2, attempts = $3, leased_until = 0
                         WHERE id = $1",
                    )
                    .await?,
                &[&id.to_bytes().as_slice(), &at, &attempts],
            )
            .await?;
        Ok(())
    }

    /// See [`crate::domain::ports::Store::release_claims`]: the leases of
    /// the jobs this process claimed and did not settle end now. (A replica
    /// killed outright cannot: its jobs wait for their leases to end.)
    pub(super) async fn release_claims(&self) -> Result<(), Error> {
        // Claims still running finish (and record their leases) first.
        let _no_claim_in_flight = self.shared.claiming().write_owned().await;
        let held: Vec<Vec<u8>> = self
            .shared
            .claims()
            .drain()
            .map(|id| id.to_bytes().to_vec())
            .collect();
        if held.is_empty() {
            return Ok(());
        }
        let client = self.pool.get().await?;
        client
            .execute(
                "UPDATE outbox SET leased_until = 0 WHERE id = ANY($1)",
                &[&held],
            )
            .await?;
        Ok(())
    }

    /// See [`crate::domain::ports::Store::pending_jobs`].
    pub(super) async fn pending_jobs(&self) -> Result<u64, Error> {
        let client = self.pool.get().await?;
        let n: i64 = client
            .query_one(
                &client.prepare_cached("SELECT count(*) FROM outbox").await?,
                &[],
            )
            .await?
            .get(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
