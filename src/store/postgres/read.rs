//! The read paths: single statements on the indexes of `comments`, each
//! seeing every transaction committed before it began (whichever replica
//! committed it).

use tokio_postgres::Row;

use super::{Error, PgStore, decode, id_bytes, status_name, status_of};
use crate::domain::comment::History;
use crate::domain::ports::{ListQuery, Listing};
use crate::domain::privacy::EmailKey;
use crate::domain::{Comment, CommentId, Status};

/// `id, body::text` of a row, decoded.
fn comment_of(row: &Row) -> Result<Comment, Error> {
    decode(row.get(0), row.get(1))
}

impl PgStore {
    pub(super) async fn get(&self, id: CommentId) -> Result<Option<Comment>, Error> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &client
                    .prepare_cached("SELECT id, body::text FROM comments WHERE id = $1")
                    .await?,
                &[&id_bytes(id)],
            )
            .await?;
        row.as_ref().map(comment_of).transpose()
    }

    pub(super) async fn approved_for_page(&self, page: &str) -> Result<Vec<Comment>, Error> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(
                        "SELECT id, body::text FROM comments
                         WHERE page = $1 AND status = 'approved' ORDER BY id",
                    )
                    .await?,
                &[&page],
            )
            .await?;
        rows.iter().map(comment_of).collect()
    }

    pub(super) async fn approved_count(&self, page: &str) -> Result<usize, Error> {
        let client = self.pool.get().await?;
        let n: i64 = client
            .query_one(
                &client
                    .prepare_cached(
                        "SELECT count(*) FROM comments WHERE page = $1 AND status = 'approved'",
                    )
                    .await?,
                &[&page],
            )
            .await?
            .get(0);
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// One statement per combination of filters (at most eight, each
    /// prepared once per connection), so each uses its index.
    pub(super) async fn list(&self, query: ListQuery<'_>) -> Result<Listing, Error> {
        let status = query.status.map(status_name);
        let before = query.before.map(id_bytes);
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX - 1) + 1;
        let mut sql = String::from("SELECT id, body::text FROM comments WHERE true");
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = Vec::new();
        if let Some(status) = &status {
            params.push(status);
            sql.push_str(&format!(" AND status = ${}", params.len()));
        }
        if let Some(page) = &query.page {
            params.push(page);
            sql.push_str(&format!(" AND page = ${}", params.len()));
        }
        if let Some(before) = &before {
            params.push(before);
            sql.push_str(&format!(" AND id < ${}", params.len()));
        }
        params.push(&limit);
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", params.len()));
        let client = self.pool.get().await?;
        let rows = client
            .query(&client.prepare_cached(&sql).await?, &params)
            .await?;
        let mut comments = rows.iter().map(comment_of).collect::<Result<Vec<_>, _>>()?;
        let more = comments.len() > query.limit;
        comments.truncate(query.limit);
        let next_cursor = if more {
            comments.last().map(|c| c.id)
        } else {
            None
        };
        Ok(Listing {
            comments,
            next_cursor,
        })
    }

    pub(super) async fn comments_after(
        &self,
        after: Option<CommentId>,
        limit: usize,
    ) -> Result<Vec<Comment>, Error> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let after = after.map_or_else(Vec::new, id_bytes);
        let client = self.pool.get().await?;
        // Every id is 16 bytes, so the empty id sorts before all of them.
        let rows = client
            .query(
                &client
                    .prepare_cached(
                        "SELECT id, body::text FROM comments WHERE id > $1 ORDER BY id LIMIT $2",
                    )
                    .await?,
                &[&after, &limit],
            )
            .await?;
        rows.iter().map(comment_of).collect()
    }

    pub(super) async fn history(&self, email: EmailKey) -> Result<History, Error> {
        let client = self.pool.get().await?;
        let rows = client
            .query(
                &client
                    .prepare_cached(
                        "SELECT status, count(*) FROM comments
                         WHERE email_hash = $1 AND status IN ('approved', 'spam')
                         GROUP BY status",
                    )
                    .await?,
                &[&email.0.as_slice()],
            )
            .await?;
        let mut history = History::default();
        for row in rows {
            let n = u32::try_from(row.get::<_, i64>(1)).unwrap_or(u32::MAX);
            match status_of(row.get(0))? {
                Status::Approved => history.approved = n,
                Status::Spam => history.spam = n,
                Status::Pending | Status::Rejected => {}
            }
        }
        Ok(history)
    }

    pub(super) async fn text_last_seen(&self, text: &[u8; 32]) -> Result<Option<i64>, Error> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &client
                    .prepare_cached("SELECT last_seen FROM text_seen WHERE hash = $1")
                    .await?,
                &[&text.as_slice()],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    pub(super) async fn link_used(&self, mac: &[u8; 32]) -> Result<bool, Error> {
        let client = self.pool.get().await?;
        let row = client
            .query_opt(
                &client
                    .prepare_cached("SELECT 1 FROM used_links WHERE mac = $1")
                    .await?,
                &[&mac.as_slice()],
            )
            .await?;
        Ok(row.is_some())
    }
}
