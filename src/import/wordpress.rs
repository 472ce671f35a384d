//! WordPress's WXR (1.0, 1.1, 1.2: what Tools > Export writes, see
//! `wp-admin/includes/export.php`), read as a stream of comments.
//!
//! Elements are matched by namespace URI, not prefix, so any
//! `http://wordpress.org/export/1.x/` works whatever it is bound to. Per
//! `<item>`: the page key is the path (and query) of `<link>` (or `/?p=ID`
//! when an item has no link); each `<wp:comment>` becomes a record:
//! `comment_approved` 1 / 0 / `spam` / `trash` -> approved / pending / spam
//! / rejected (`post-trashed` too; anything else pending, with a notice);
//! pingbacks, trackbacks and other comment types are skipped and counted;
//! `comment_date_gmt` is the time, or `comment_date` shifted by the offset
//! between the item's `post_date` and `post_date_gmt` when the GMT field is
//! WordPress's zero date; a `comment_user_id` among the file's
//! `<wp:author>` ids marks the blog author's reply. Replies keep their
//! thread through [`Threader`]; a parent missing from the item makes a
//! top-level comment, with a notice.

use std::collections::HashSet;
use std::io::Read;

use crate::domain::{CommentId, Status};

use super::fields::{self, non_empty};
use super::outbox::{Advance, Outbox, next_item};
use super::thread::{Gone, Threader};
use super::xml::{Ns, Step, Tag, XmlInput, unexpected_eof};
use super::{
    Error, Format, Item, Position, RecordError, SkipReason, Source, SourceRecord, Summary, Thread,
};

/// The comment meta key under which moderato's WXR export writes a
/// comment's moderato id, and under which this reader finds it again.
pub const MODERATO_ID_META: &str = "moderato_id";

pub use crate::domain::WpPost;

/// The elements this reader looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum El {
    Rss,
    Channel,
    Item,
    Title,
    Link,
    WxrVersion,
    Author,
    AuthorId,
    PostId,
    PostDate,
    PostDateGmt,
    PostType,
    PostName,
    Comment,
    CommentId,
    CommentAuthor,
    CommentAuthorEmail,
    CommentAuthorUrl,
    CommentAuthorIp,
    CommentDate,
    CommentDateGmt,
    CommentContent,
    CommentApproved,
    CommentType,
    CommentParent,
    CommentUserId,
    CommentMeta,
    MetaKey,
    MetaValue,
    Other,
}

fn classify(ns: Ns, local: &str) -> El {
    match (ns, local) {
        (Ns::None, "rss") => El::Rss,
        (Ns::None, "channel") => El::Channel,
        (Ns::None, "item") => El::Item,
        (Ns::None, "title") => El::Title,
        (Ns::None, "link") => El::Link,
        (Ns::Wp, name) => match name {
            "wxr_version" => El::WxrVersion,
            "author" => El::Author,
            "author_id" => El::AuthorId,
            "post_id" => El::PostId,
            "post_date" => El::PostDate,
            "post_date_gmt" => El::PostDateGmt,
            "post_type" => El::PostType,
            "post_name" => El::PostName,
            "comment" => El::Comment,
            "comment_id" => El::CommentId,
            "comment_author" => El::CommentAuthor,
            "comment_author_email" => El::CommentAuthorEmail,
            "comment_author_url" => El::CommentAuthorUrl,
            "comment_author_IP" => El::CommentAuthorIp,
            "comment_date" => El::CommentDate,
            "comment_date_gmt" => El::CommentDateGmt,
            "comment_content" => El::CommentContent,
            "comment_approved" => El::CommentApproved,
            "comment_type" => El::CommentType,
            "comment_parent" => El::CommentParent,
            "comment_user_id" => El::CommentUserId,
            "commentmeta" => El::CommentMeta,
            "meta_key" => El::MetaKey,
            "meta_value" => El::MetaValue,
            _ => El::Other,
        },
        _ => El::Other,
    }
}

/// The `<item>` being read.
#[derive(Debug, Default)]
struct ItemState {
    number: u32,
    title: Option<String>,
    link: Option<String>,
    post: WpPost,
    /// The page key, computed at the first comment.
    page: Option<Result<String, String>>,
}

impl ItemState {
    /// Local time minus UTC, from the post's two dates, for comments whose
    /// GMT date is zero.
    fn utc_offset_ms(&self) -> i64 {
        let local = self.post.date.as_deref().and_then(fields::wp_datetime);
        let gmt = self.post.date_gmt.as_deref().and_then(fields::wp_datetime);
        match (local, gmt) {
            (Some(local), Some(gmt)) => local - gmt,
            _ => 0,
        }
    }

    fn page(&mut self) -> Result<String, String> {
        if self.page.is_none() {
            let key = match (&self.link, self.post.id) {
                (Some(link), _) => fields::page_key(link),
                (None, Some(id)) => Ok(format!("/?p={id}")),
                (None, None) => Err("the item has neither <link> nor <wp:post_id>".into()),
            };
            self.page = Some(key);
        }
        self.page.clone().unwrap_or_else(|| Err(String::new()))
    }

    fn thread(&self, page: String) -> Thread {
        let post = &self.post;
        let has_post = post.id.is_some() || post.date.is_some() || post.post_type.is_some();
        Thread {
            source: Source::Wordpress,
            page,
            title: self.title.clone(),
            link: self.link.clone(),
            post: has_post.then(|| post.clone()),
        }
    }
}

/// A `<wp:comment>` as written.
#[derive(Debug, Default)]
struct RawComment {
    id: String,
    author: String,
    email: String,
    url: String,
    ip: String,
    date: String,
    date_gmt: String,
    content: String,
    approved: String,
    kind: String,
    parent: String,
    user_id: String,
    moderato_id: Option<CommentId>,
}

/// Streams the comments of a WXR file. See the module doc for the mapping.
#[derive(Debug)]
pub struct WxrReader<R: Read> {
    xml: XmlInput<R>,
    threader: Threader,
    summary: Summary,
    /// `wp:author_id`s of the channel: the blog's own users.
    authors: HashSet<String>,
    item: Option<ItemState>,
    items: u32,
    outbox: Outbox,
    saw_root: bool,
    saw_wxr: bool,
}

impl<R: Read> WxrReader<R> {
    /// A reader of `input` (buffer it: the reader reads in 64 KiB chunks).
    pub fn new(input: R) -> WxrReader<R> {
        WxrReader {
            xml: XmlInput::new(input),
            threader: Threader::new(false),
            summary: Summary::default(),
            authors: HashSet::new(),
            item: None,
            items: 0,
            outbox: Outbox::default(),
            saw_root: false,
            saw_wxr: false,
        }
    }

    /// What was set aside so far; complete once the iteration ended.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Reads one element (a whole comment at item level).
    fn read_step(&mut self) -> Result<(), Error> {
        match self.xml.next(classify)? {
            Step::Start(tag) => self.start(tag)?,
            Step::End => {
                // `</item>`: its depth is 3 (rss, channel, item) before the end.
                if self.item.is_some() && self.xml.depth() == 2 {
                    self.threader.close(&mut self.summary);
                    self.drain();
                    self.threader.forget();
                    self.item = None;
                }
            }
            Step::Other => {}
            Step::Eof => {
                if !self.saw_wxr {
                    return Err(Error::WrongFormat {
                        format: Format::Wordpress,
                        reason: "no WXR namespace (http://wordpress.org/export/1.x/) in the file"
                            .into(),
                    });
                }
                self.threader.close(&mut self.summary);
                self.drain();
                self.outbox.done = true;
            }
        }
        self.summary.replaced_invalid_utf8 = self.xml.replaced_invalid_utf8();
        Ok(())
    }

    fn start(&mut self, tag: Tag<El>) -> Result<(), Error> {
        if !self.saw_root {
            self.saw_root = true;
            if tag.name != El::Rss {
                return Err(Error::WrongFormat {
                    format: Format::Wordpress,
                    reason: "the document element is not <rss>".into(),
                });
            }
            return Ok(());
        }
        // Ancestors of this element: 0 for <rss>, 3 for a <wp:comment>.
        let depth = self.xml.depth() - usize::from(!tag.empty);
        let in_item = self.item.is_some();
        match (depth, tag.name) {
            (1, El::Channel) => {}
            (2, El::WxrVersion) => {
                self.saw_wxr = true;
                self.xml.skip(&tag)?;
            }
            (2, El::Author) => self.author(&tag)?,
            (2, El::Item) if !tag.empty => {
                self.items += 1;
                self.item = Some(ItemState {
                    number: self.items,
                    ..ItemState::default()
                });
            }
            (3, El::Comment) if in_item => {
                self.saw_wxr = true;
                let comment = self.comment(&tag)?;
                self.accept(comment, tag.position);
                self.drain();
            }
            (
                3,
                El::Title
                | El::Link
                | El::PostId
                | El::PostType
                | El::PostName
                | El::PostDate
                | El::PostDateGmt,
            ) if in_item => {
                let value = non_empty(&self.xml.text(&tag)?);
                let Some(item) = self.item.as_mut() else {
                    return Ok(());
                };
                match tag.name {
                    El::Title => item.title = value,
                    El::Link => item.link = value,
                    El::PostType => item.post.post_type = value,
                    El::PostName => item.post.name = value,
                    El::PostDate => item.post.date = value,
                    El::PostDateGmt => item.post.date_gmt = value,
                    _ => {
                        self.saw_wxr = true;
                        item.post.id = value.and_then(|v| v.parse().ok());
                    }
                }
            }
            (d, _) if d >= 2 => self.xml.skip(&tag)?,
            _ => {}
        }
        Ok(())
    }

    fn author(&mut self, tag: &Tag<El>) -> Result<(), Error> {
        self.saw_wxr = true;
        if tag.empty {
            return Ok(());
        }
        loop {
            match self.xml.next(classify)? {
                Step::Start(child) if child.name == El::AuthorId => {
                    let id = self.xml.text(&child)?;
                    if let Some(id) = non_empty(&id) {
                        self.authors.insert(id);
                    }
                }
                Step::Start(child) => self.xml.skip(&child)?,
                Step::End => return Ok(()),
                Step::Other => {}
                Step::Eof => return Err(unexpected_eof(tag)),
            }
        }
    }

    fn comment(&mut self, tag: &Tag<El>) -> Result<RawComment, Error> {
        let mut c = RawComment::default();
        if tag.empty {
            return Ok(c);
        }
        loop {
            let child = match self.xml.next(classify)? {
                Step::Start(child) => child,
                Step::End => return Ok(c),
                Step::Other => continue,
                Step::Eof => return Err(unexpected_eof(tag)),
            };
            let slot = match child.name {
                El::CommentId => &mut c.id,
                El::CommentAuthor => &mut c.author,
                El::CommentAuthorEmail => &mut c.email,
                El::CommentAuthorUrl => &mut c.url,
                El::CommentAuthorIp => &mut c.ip,
                El::CommentDate => &mut c.date,
                El::CommentDateGmt => &mut c.date_gmt,
                El::CommentContent => &mut c.content,
                El::CommentApproved => &mut c.approved,
                El::CommentType => &mut c.kind,
                El::CommentParent => &mut c.parent,
                El::CommentUserId => &mut c.user_id,
                El::CommentMeta => {
                    if let Some(id) = self.comment_meta(&child)? {
                        c.moderato_id = Some(id);
                    }
                    continue;
                }
                _ => {
                    self.xml.skip(&child)?;
                    continue;
                }
            };
            *slot = self.xml.text(&child)?;
        }
    }

    /// A `<wp:commentmeta>`: the moderato id an export of ours wrote.
    fn comment_meta(&mut self, tag: &Tag<El>) -> Result<Option<CommentId>, Error> {
        let (mut key, mut value) = (String::new(), String::new());
        if tag.empty {
            return Ok(None);
        }
        loop {
            match self.xml.next(classify)? {
                Step::Start(child) if child.name == El::MetaKey => key = self.xml.text(&child)?,
                Step::Start(child) if child.name == El::MetaValue => {
                    value = self.xml.text(&child)?;
                }
                Step::Start(child) => self.xml.skip(&child)?,
                Step::End => break,
                Step::Other => {}
                Step::Eof => return Err(unexpected_eof(tag)),
            }
        }
        Ok((key.trim() == MODERATO_ID_META)
            .then(|| value.trim().parse().ok())
            .flatten())
    }

    /// Turns one `<wp:comment>` into a record, a skip or an error.
    fn accept(&mut self, c: RawComment, position: Position) {
        let Some(item) = self.item.as_ref() else {
            return;
        };
        let (thread, offset) = (item.number, item.utc_offset_ms());
        let id = c.id.trim().to_owned();
        if id.is_empty() {
            self.summary.error(RecordError {
                position,
                id: None,
                message: "a <wp:comment> without <wp:comment_id>".into(),
            });
            return;
        }
        let parent = non_empty(&c.parent).filter(|p| p != "0");
        let created_at = fields::wp_datetime(&c.date_gmt)
            .or_else(|| fields::wp_datetime(&c.date).map(|local| local - offset));
        let gone = Gone::Invalid;
        let gone_as = |reader: &mut Self, why: Gone| {
            let time = created_at.unwrap_or(0);
            let parent = parent.as_deref();
            reader
                .threader
                .gone(&id, thread, time, parent, why, &mut reader.summary);
        };
        let skip = match c.kind.trim() {
            "" | "comment" => None,
            "pingback" => Some(SkipReason::Pingback),
            "trackback" => Some(SkipReason::Trackback),
            _ => Some(SkipReason::OtherType),
        }
        .or_else(|| c.content.trim().is_empty().then_some(SkipReason::Empty));
        if let Some(reason) = skip {
            gone_as(self, Gone::Skipped(reason));
            return;
        }
        let page = self.item.as_mut().map(ItemState::page);
        let (created_at, page) = match (created_at, page) {
            (Some(created_at), Some(Ok(page))) => (created_at, page),
            (created_at, page) => {
                let message = match (created_at, page) {
                    (None, _) => {
                        "neither <wp:comment_date_gmt> nor <wp:comment_date> is a valid date"
                            .to_owned()
                    }
                    (_, Some(Err(message))) => message,
                    _ => "the comment is outside an item".to_owned(),
                };
                self.summary.error(RecordError {
                    position,
                    id: Some(id.clone()),
                    message,
                });
                gone_as(self, gone);
                return;
            }
        };
        let status = match c.approved.trim() {
            "1" | "approve" => Status::Approved,
            "0" | "hold" => Status::Pending,
            "spam" => Status::Spam,
            "trash" | "post-trashed" => Status::Rejected,
            _ => {
                self.summary.unknown_status(position, &id);
                Status::Pending
            }
        };
        let user_id = c.user_id.trim();
        let record = SourceRecord {
            source: Source::Wordpress,
            id: id.clone(),
            page,
            parent: None,
            original_parent: parent.clone(),
            author: fields::decode_entities(c.author.trim()).into_owned(),
            email: non_empty(&c.email),
            website: non_empty(&c.url),
            ip: non_empty(&c.ip),
            created_at,
            html: c.content.trim().to_owned(),
            status,
            by_author: !user_id.is_empty() && user_id != "0" && self.authors.contains(user_id),
            user_agent: None,
            moderato_id: c.moderato_id,
            position,
        };
        self.threader.push(record, thread, &mut self.summary);
    }

    /// Queues what the threader released, each item's `Thread` first.
    fn drain(&mut self) {
        let item = &self.item;
        self.outbox.take(
            &mut self.threader,
            &mut self.summary,
            |_, page| match item {
                Some(item) => item.thread(page.to_owned()),
                None => ItemState::default().thread(page.to_owned()),
            },
        );
    }
}

impl<R: Read> Advance for WxrReader<R> {
    fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }

    fn step(&mut self) -> Result<(), Error> {
        self.read_step()
    }
}

impl<R: Read> Iterator for WxrReader<R> {
    type Item = Result<Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        next_item(self)
    }
}
