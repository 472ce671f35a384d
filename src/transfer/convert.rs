//! A reader's record as the core's input: the moderato ids of the comment
//! and its parent, the origin with its thread's title and post.

use std::collections::HashMap;

use crate::domain::moderation::ImportedComment;
use crate::domain::{CommentId, Origin};
use crate::import::{SourceRecord, Thread, comment_id};

/// What the conversion remembers while a file is read: each page's thread
/// (a few hundred bytes per page), and the ids that comments of the current
/// page carried out of moderato.
#[derive(Debug, Default)]
pub(crate) struct Converter {
    threads: HashMap<String, Thread>,
    /// The page whose carried ids are in `carried`.
    carried_page: String,
    /// Source id -> moderato id, for comments of `carried_page` that came
    /// with a `moderato_id` (a WXR written by moderato): their replies'
    /// parent is that id, not the one computed from the source id. Parents
    /// come before replies on the same page, and a WXR's pages are
    /// contiguous, so one page is enough.
    carried: HashMap<String, CommentId>,
}

impl Converter {
    /// Notes a page's thread.
    pub(crate) fn thread(&mut self, thread: Thread) {
        self.threads.insert(thread.page.clone(), thread);
    }

    /// The core's input for `record`.
    pub(crate) fn comment(&mut self, record: SourceRecord) -> ImportedComment {
        if record.page != self.carried_page {
            self.carried.clear();
            self.carried_page.clone_from(&record.page);
        }
        let id = record.comment_id();
        if record.moderato_id.is_some() {
            self.carried.insert(record.id.clone(), id);
        }
        let parent = record.parent.as_ref().map(|p| {
            self.carried
                .get(&p.id)
                .copied()
                .unwrap_or_else(|| comment_id(record.source, &p.id, p.created_at))
        });
        let thread = self.threads.get(&record.page);
        ImportedComment {
            id,
            parent,
            origin: Origin {
                source: record.source,
                id: record.id,
                title: thread.and_then(|t| t.title.clone()),
                post: thread.and_then(|t| t.post.clone()),
            },
            page: record.page,
            author: record.author,
            email: record.email,
            website: record.website,
            ip: record.ip,
            user_agent: record.user_agent,
            created_at: record.created_at,
            content: record.html,
            status: record.status,
            by_author: record.by_author,
        }
    }
}
