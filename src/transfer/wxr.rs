//! The way back to WordPress: every stored comment written as a WXR file
//! (with [`crate::export::wxr`]'s writer) that WordPress's importer reads,
//! one `<item>` per page whose `<link>` is the site's origin plus the page.
//! Comments imported from a WXR keep their post's title and WordPress data
//! (their [`Origin`](crate::domain::Origin)), so they land on the real
//! posts again.
//!
//! Memory: the page keys and their post data (a few hundred bytes a page),
//! and one page's comments at a time.

use std::collections::BTreeMap;
use std::io::Write;

use crate::domain::moderation::Moderator;
use crate::domain::ports::{ListQuery, StoreError};
use crate::domain::{Comment, WpPost};
use crate::export::wxr::{WxrAuthor, WxrComment, WxrPage, WxrSite, WxrWriter};

/// Comments read from the store at a time.
const BATCH: usize = 512;

/// Why an export (WXR or NDJSON) did not complete.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the store failed.
    #[error("reading the comments failed: {0}")]
    Store(#[from] StoreError),
    /// Writing the file failed.
    #[error("writing the file failed: {0}")]
    Io(#[from] std::io::Error),
}

/// The blog the file describes.
#[derive(Debug, Clone)]
pub struct Blog {
    /// Scheme and host (and port) of the blog, e.g. `https://blog.example`;
    /// a trailing slash is dropped.
    pub origin: String,
    /// The name shown on the author's replies.
    pub author_name: String,
}

/// How many pages and comments were written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Items.
    pub pages: u64,
    /// Comments.
    pub comments: u64,
}

/// Writes every stored comment to `out` as WXR 1.2.
///
/// # Errors
/// [`Error`]: reading or writing failed (`out` then holds a partial file).
pub async fn export<W: Write>(
    moderator: &Moderator,
    blog: &Blog,
    out: W,
) -> Result<(W, Written), ExportError> {
    let store = moderator.store();
    let mut pages: BTreeMap<String, (Option<String>, Option<WpPost>)> = BTreeMap::new();
    let mut after = None;
    loop {
        let batch = store.comments_after(after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        for c in &batch {
            let entry = pages.entry(c.page.clone()).or_default();
            if let Some(origin) = &c.origin {
                if entry.0.is_none() {
                    entry.0.clone_from(&origin.title);
                }
                if entry.1.is_none() {
                    entry.1.clone_from(&origin.post);
                }
            }
        }
    }
    let origin = blog.origin.trim_end_matches('/').to_owned();
    let site = WxrSite {
        title: origin
            .split_once("://")
            .map_or(origin.as_str(), |(_, host)| host)
            .to_owned(),
        origin,
        utc_offset_minutes: 0,
        author: WxrAuthor {
            id: 1,
            login: "moderato-author".to_owned(),
            email: String::new(),
            display_name: blog.author_name.clone(),
        },
    };
    let mut writer = WxrWriter::new(out, site)?;
    let mut written = Written::default();
    for (path, (title, post)) in pages {
        let comments = page_comments(moderator, &path).await?;
        let page = WxrPage { path, title, post };
        written.comments +=
            writer.page(&page, comments.iter().map(|c| wxr_comment(moderator, c)))?;
        written.pages += 1;
    }
    let out = writer.finish()?;
    tracing::info!(
        pages = written.pages,
        comments = written.comments,
        "WXR export"
    );
    Ok((out, written))
}

/// Every comment of `page`, oldest first.
async fn page_comments(moderator: &Moderator, page: &str) -> Result<Vec<Comment>, StoreError> {
    let mut comments = Vec::new();
    let mut before = None;
    loop {
        let listing = moderator
            .store()
            .list(ListQuery {
                status: None,
                page: Some(page),
                limit: BATCH,
                before,
            })
            .await?;
        comments.extend(listing.comments);
        match listing.next_cursor {
            Some(cursor) => before = Some(cursor),
            None => break,
        }
    }
    comments.reverse();
    Ok(comments)
}

/// A stored comment as the writer takes it, the email decrypted.
fn wxr_comment(moderator: &Moderator, c: &Comment) -> WxrComment {
    let email = if c.has_email() {
        match moderator.privacy().decrypt_email(&c.email_sealed) {
            Ok(email) => Some(email),
            Err(e) => {
                tracing::error!(comment_id = %c.id, error = %e, "WXR export: email cannot be decrypted");
                None
            }
        }
    } else {
        None
    };
    WxrComment {
        id: c.id,
        parent: c.parent,
        author: c.author.clone(),
        email,
        url: c.url.clone(),
        ip: c.ip.clone(),
        created_at: c.created_at,
        html: c.html.clone(),
        status: c.status,
        by_author: c.by_author,
    }
}
