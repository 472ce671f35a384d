//! Reads of the store: a page's approved comments and their count, the
//! moderation listing with its cursor, and a commenter's history. Nothing
//! here writes; the write paths (and their transactions) are in `mod.rs`.

use super::{Comment, Error, History, SledStore, index_id, keys};
use crate::domain::ports::{ListQuery, Listing};
use crate::domain::privacy::EmailKey;
use crate::domain::{CommentId, Status};

impl SledStore {
    /// Approved comments of a page, oldest first.
    ///
    /// # Errors
    /// A database or decoding error.
    pub fn approved_for_page(&self, page: &str) -> Result<Vec<Comment>, Error> {
        let mut comments = Vec::new();
        for entry in self
            .by_page
            .scan_prefix(keys::page_prefix(page, Some(Status::Approved)))
        {
            let (key, _) = entry?;
            if let Some(comment) = keys::id_suffix(&key)
                .map(|id| self.get(id))
                .transpose()?
                .flatten()
            {
                comments.push(comment);
            }
        }
        Ok(comments)
    }

    /// Number of approved comments of a page.
    ///
    /// # Errors
    /// A database error.
    pub fn approved_count(&self, page: &str) -> Result<usize, Error> {
        let mut n = 0;
        for entry in self
            .by_page
            .scan_prefix(keys::page_prefix(page, Some(Status::Approved)))
        {
            entry?;
            n += 1;
        }
        Ok(n)
    }

    /// Comments in the moderation view: one status (or all), optionally one
    /// page, newest first, `limit` at a time, continuing before `cursor`.
    ///
    /// # Errors
    /// A database or decoding error.
    pub fn list(&self, query: ListQuery<'_>) -> Result<Listing, Error> {
        let ListQuery {
            status,
            page,
            limit,
            before: cursor,
        } = query;
        let ids: Box<dyn Iterator<Item = Result<CommentId, Error>>> = match (status, page) {
            (Some(status), None) => {
                let start = vec![keys::status_tag(status)];
                let end = match cursor {
                    Some(id) => keys::status_key(status, id),
                    None => vec![keys::status_tag(status) + 1],
                };
                Box::new(self.by_status.range(start..end).rev().map(index_id))
            }
            (None, None) => {
                let iter = match cursor {
                    Some(id) => self.comments.range(..id.to_bytes().to_vec()),
                    None => self.comments.iter(),
                };
                Box::new(iter.rev().map(index_id))
            }
            (status, Some(page)) => {
                // A page holds few comments: collect, sort, then page through.
                let mut ids = Vec::new();
                for entry in self.by_page.scan_prefix(keys::page_prefix(page, status)) {
                    let id = index_id(entry)?;
                    if cursor.is_none_or(|c| id < c) {
                        ids.push(id);
                    }
                }
                ids.sort_unstable_by(|a, b| b.cmp(a));
                Box::new(ids.into_iter().map(Ok))
            }
        };
        let mut comments = Vec::with_capacity(limit.min(200));
        let mut more = false;
        for id in ids {
            if comments.len() == limit {
                more = true;
                break;
            }
            if let Some(comment) = self.get(id?)? {
                comments.push(comment);
            }
        }
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

    /// How many of this commenter's comments were approved or marked spam.
    ///
    /// # Errors
    /// A database error.
    pub fn history(&self, email: EmailKey) -> Result<History, Error> {
        let mut history = History::default();
        for entry in self.by_email.scan_prefix(email.0) {
            let (_, tag) = entry?;
            match tag.first().copied().and_then(keys::status_from_tag) {
                Some(Status::Approved) => history.approved += 1,
                Some(Status::Spam) => history.spam += 1,
                _ => {}
            }
        }
        Ok(history)
    }
}
