//! A page's public thread cut into pages of top-level comments, each with
//! all its replies: what `GET /api/comments?sort=&limit=&cursor=` serves.
//!
//! The cursor is the id of the last top-level comment of the previous page,
//! and ids sort by creation time, so paging never repeats or skips a
//! comment while new ones arrive: a new top-level comment is younger than
//! every cursor (it shows on a later page when reading oldest first, and
//! never shifts the pages already read when reading newest first), and a
//! reply travels with its top-level comment.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use super::comment::{Comment, CommentId};

/// In which order top-level comments come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Oldest first (a conversation read from its start).
    #[default]
    Oldest,
    /// Newest first.
    Newest,
}

impl Sort {
    /// The name in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Oldest => "oldest",
            Sort::Newest => "newest",
        }
    }
}

impl FromStr for Sort {
    type Err = ();
    fn from_str(s: &str) -> Result<Sort, ()> {
        match s {
            "oldest" => Ok(Sort::Oldest),
            "newest" => Ok(Sort::Newest),
            _ => Err(()),
        }
    }
}

/// Which part of a thread to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    /// Order of the top-level comments.
    pub sort: Sort,
    /// Top-level comments at most; `None`: all of them.
    pub limit: Option<usize>,
    /// Continue after this top-level comment.
    pub cursor: Option<CommentId>,
}

/// One page of a thread.
#[derive(Debug)]
pub struct ThreadPage<'a> {
    /// Each top-level comment followed by all its replies (oldest first
    /// under each parent).
    pub comments: Vec<&'a Comment>,
    /// The cursor for the next page; `None` on the last one.
    pub next_cursor: Option<CommentId>,
}

/// Cuts `approved` (the page's public comments, any order) to `window`.
/// A comment whose parent is not among them (deleted, not public) counts as
/// top-level, so that no public comment is unreachable.
pub fn page(approved: &[Comment], window: Window) -> ThreadPage<'_> {
    let ids: HashSet<CommentId> = approved.iter().map(|c| c.id).collect();
    let mut children: HashMap<CommentId, Vec<&Comment>> = HashMap::new();
    let mut roots: Vec<&Comment> = Vec::new();
    for comment in approved {
        match comment
            .parent
            .filter(|p| ids.contains(p) && *p != comment.id)
        {
            Some(parent) => children.entry(parent).or_default().push(comment),
            None => roots.push(comment),
        }
    }
    for list in children.values_mut() {
        list.sort_by_key(|c| c.id);
    }
    roots.sort_by_key(|c| c.id);
    if window.sort == Sort::Newest {
        roots.reverse();
    }
    let after_cursor = |c: &&Comment| match (window.cursor, window.sort) {
        (None, _) => true,
        (Some(cursor), Sort::Oldest) => c.id > cursor,
        (Some(cursor), Sort::Newest) => c.id < cursor,
    };
    let mut remaining = roots.into_iter().filter(after_cursor).peekable();
    let limit = window.limit.unwrap_or(usize::MAX);
    let mut comments = Vec::new();
    let mut seen = HashSet::new();
    let mut last_root = None;
    for root in remaining.by_ref().take(limit) {
        last_root = Some(root.id);
        // Depth first, iteratively: a long reply chain cannot overflow the
        // stack, and `seen` stops a cycle an import may have made.
        let mut stack = vec![root];
        while let Some(comment) = stack.pop() {
            if !seen.insert(comment.id) {
                continue;
            }
            comments.push(comment);
            if let Some(replies) = children.get(&comment.id) {
                stack.extend(replies.iter().rev());
            }
        }
    }
    let next_cursor = remaining.peek().and(last_root);
    ThreadPage {
        comments,
        next_cursor,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::comment::Status;

    fn comment(n: u64, parent: Option<u64>) -> Comment {
        let id = |n: u64| CommentId(ulid::Ulid::from_parts(n, 0));
        serde_json::from_value(serde_json::json!({
            "id": id(n).to_string(), "page": "/p/", "parent": parent.map(|p| id(p).to_string()),
            "author": "A", "url": null, "text": "t", "html": "t", "email_hash": "00".repeat(32),
            "avatar": "", "ip": null, "user_agent": null, "status": Status::Approved,
            "created_at": n, "updated_at": n,
        }))
        .expect("a comment")
    }

    fn times(page: &ThreadPage<'_>) -> Vec<u64> {
        page.comments
            .iter()
            .map(|c| c.id.0.timestamp_ms())
            .collect()
    }

    #[test]
    fn pages_hold_top_level_comments_with_all_their_replies() {
        // 1 <- 2 <- 5, 3, 4 <- 6; 7's parent is not public.
        let all = [
            comment(1, None),
            comment(2, Some(1)),
            comment(3, None),
            comment(4, None),
            comment(5, Some(2)),
            comment(6, Some(4)),
            comment(7, Some(99)),
        ];
        let first = page(
            &all,
            Window {
                limit: Some(2),
                ..Window::default()
            },
        );
        assert_eq!(times(&first), [1, 2, 5, 3]);
        let second = page(
            &all,
            Window {
                limit: Some(2),
                cursor: first.next_cursor,
                ..Window::default()
            },
        );
        assert_eq!(times(&second), [4, 6, 7]);
        assert_eq!(second.next_cursor, None, "the last page");

        let newest = Window {
            sort: Sort::Newest,
            limit: Some(3),
            cursor: None,
        };
        let first = page(&all, newest);
        assert_eq!(times(&first), [7, 4, 6, 3]);
        let second = page(
            &all,
            Window {
                cursor: first.next_cursor,
                ..newest
            },
        );
        assert_eq!(times(&second), [1, 2, 5]);
        assert_eq!(second.next_cursor, None);

        assert_eq!(
            times(&page(&all, Window::default())).len(),
            7,
            "no limit: all"
        );
    }

    #[test]
    fn a_cycle_from_an_import_neither_loops_nor_repeats() {
        let all = [
            comment(1, None),
            comment(2, Some(3)),
            comment(3, Some(2)),
            comment(4, Some(4)),
        ];
        assert_eq!(times(&page(&all, Window::default())), [1, 4]);
    }
}
