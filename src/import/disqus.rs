//! Disqus's XML export (`<disqus>` with `<category>`, `<thread dsq:id>`
//! and `<post dsq:id>` children), read as a stream of comments.
//!
//! A post names its thread by `dsq:id`, and threads may come before or
//! after their posts, so the file is read twice: the first pass (in
//! [`DisqusReader::new`]) learns every thread's link and every post id;
//! the second yields the posts in file order. Memory holds the threads and
//! the post ids, never the messages. The page key is the path of the
//! thread's `<link>` (its `<id>` is often empty); `isDeleted` posts are
//! skipped and counted, their replies re-attached; `isSpam` -> spam, an
//! `isApproved` of `false` (when present) -> pending, otherwise approved;
//! authors without `<email>` are imported without one.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};

use crate::domain::Status;

use super::fields::{self, non_empty};
use super::outbox::{Advance, Outbox, next_item};
use super::thread::{Gone, Threader};
use super::xml::{Ns, Step, Tag, XmlInput, unexpected_eof};
use super::{
    Error, Format, Item, Position, RecordError, SkipReason, Source, SourceRecord, Summary, Thread,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum El {
    Disqus,
    Thread,
    Post,
    Id,
    Link,
    Title,
    Message,
    CreatedAt,
    IsDeleted,
    IsSpam,
    IsApproved,
    Author,
    Email,
    Name,
    Username,
    IpAddress,
    Parent,
    Other,
}

fn classify(ns: Ns, local: &str) -> El {
    if !matches!(ns, Ns::Disqus | Ns::None) {
        return El::Other;
    }
    match local {
        "disqus" => El::Disqus,
        "thread" => El::Thread,
        "post" => El::Post,
        "id" => El::Id,
        "link" => El::Link,
        "title" => El::Title,
        "message" => El::Message,
        "createdAt" => El::CreatedAt,
        "isDeleted" => El::IsDeleted,
        "isSpam" => El::IsSpam,
        "isApproved" => El::IsApproved,
        "author" => El::Author,
        "email" => El::Email,
        "name" => El::Name,
        "username" => El::Username,
        "ipAddress" => El::IpAddress,
        "parent" => El::Parent,
        _ => El::Other,
    }
}

/// A `<thread>` as written.
#[derive(Debug, Default)]
struct RawThread {
    dsq_id: Option<String>,
    id: String,
    link: String,
    title: String,
}

/// A `<post>` as written.
#[derive(Debug, Default)]
struct RawPost {
    dsq_id: Option<String>,
    message: String,
    created_at: String,
    deleted: String,
    spam: String,
    approved: Option<String>,
    email: String,
    name: String,
    username: String,
    ip: String,
    thread: Option<String>,
    parent: Option<String>,
    position: Option<Position>,
}

enum Entity {
    Thread(RawThread),
    /// Boxed: a post is three times a thread.
    Post(Box<RawPost>),
}

/// What the first pass learnt of a thread.
#[derive(Debug)]
struct ThreadEntry {
    /// The page key, or why there is none.
    page: Result<String, String>,
    title: Option<String>,
    link: Option<String>,
}

/// The threads of the file, learnt by the first pass.
#[derive(Debug, Default)]
struct Catalog {
    /// Thread numbers by `dsq:id`.
    numbers: HashMap<String, u32>,
    /// Entries by number.
    threads: Vec<ThreadEntry>,
}

impl Catalog {
    /// The number of the thread `dsq_id`, made on first sight (a post may
    /// name it before the thread element comes).
    fn number(&mut self, dsq_id: &str) -> u32 {
        if let Some(&n) = self.numbers.get(dsq_id) {
            return n;
        }
        let n = u32::try_from(self.threads.len()).unwrap_or(u32::MAX - 1);
        self.threads.push(ThreadEntry {
            page: Err(format!("its thread (dsq:id {dsq_id}) is not in the file")),
            title: None,
            link: None,
        });
        self.numbers.insert(dsq_id.to_owned(), n);
        n
    }

    fn learn(&mut self, raw: RawThread) {
        let Some(dsq_id) = raw.dsq_id.as_deref() else {
            return;
        };
        let n = self.number(dsq_id);
        let page = match (non_empty(&raw.link), non_empty(&raw.id)) {
            (Some(link), _) => fields::page_key(&link),
            (None, Some(id)) if id.starts_with('/') => fields::page_key(&id),
            _ => Err(format!("its thread (dsq:id {dsq_id}) has no <link>")),
        };
        let Some(entry) = self.threads.get_mut(n as usize) else {
            return;
        };
        // Disqus repeats some threads as empty elements: the one with a link wins.
        if entry.page.is_err() || page.is_ok() {
            *entry = ThreadEntry {
                page,
                title: non_empty(&raw.title),
                link: non_empty(&raw.link),
            };
        }
    }
}

/// Streams the posts of a Disqus export. See the module doc.
#[derive(Debug)]
pub struct DisqusReader<R: Read + Seek> {
    xml: XmlInput<R>,
    catalog: Catalog,
    threader: Threader,
    summary: Summary,
    outbox: Outbox,
    saw_root: bool,
}

impl<R: Read + Seek> DisqusReader<R> {
    /// Reads `input` once for its threads and post ids, then rewinds it for
    /// the iteration.
    ///
    /// # Errors
    /// The file cannot be read, is not well-formed XML or is not a Disqus
    /// export: found by the first pass, before anything is yielded.
    pub fn new(mut input: R) -> Result<DisqusReader<R>, Error> {
        let mut catalog = Catalog::default();
        let mut threader = Threader::new(true);
        let mut saw_root = false;
        {
            let mut first = XmlInput::new(&mut input);
            while let Some(entity) = next_entity(&mut first, &mut saw_root, true)? {
                match entity {
                    Entity::Thread(thread) => catalog.learn(thread),
                    Entity::Post(post) => {
                        let Some(id) = post.dsq_id.as_deref() else {
                            continue;
                        };
                        let thread = post.thread.as_deref().map(|t| catalog.number(t));
                        threader.expect(id, thread.unwrap_or(u32::MAX), 0, None);
                    }
                }
            }
        }
        if !saw_root {
            return Err(Error::WrongFormat {
                format: Format::Disqus,
                reason: "the file has no <disqus> element".into(),
            });
        }
        input.seek(SeekFrom::Start(0))?;
        Ok(DisqusReader {
            xml: XmlInput::new(input),
            catalog,
            threader,
            summary: Summary::default(),
            outbox: Outbox::default(),
            saw_root: false,
        })
    }

    /// What was set aside so far; complete once the iteration ended.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    fn read_step(&mut self) -> Result<(), Error> {
        match next_entity(&mut self.xml, &mut self.saw_root, false)? {
            Some(Entity::Post(post)) => {
                self.accept(*post);
                self.drain();
            }
            Some(Entity::Thread(_)) => {}
            None => {
                self.threader.close(&mut self.summary);
                self.drain();
                self.outbox.done = true;
            }
        }
        self.summary.replaced_invalid_utf8 = self.xml.replaced_invalid_utf8();
        Ok(())
    }

    fn accept(&mut self, post: RawPost) {
        let position = post
            .position
            .unwrap_or(Position::Text { line: 0, column: 0 });
        let Some(id) = post.dsq_id.clone() else {
            self.summary.error(RecordError {
                position,
                id: None,
                message: "a <post> without dsq:id".into(),
            });
            return;
        };
        let thread = post
            .thread
            .as_deref()
            .and_then(|t| self.catalog.numbers.get(t).copied());
        let parent = post.parent.clone().filter(|p| !p.is_empty());
        let created_at = fields::rfc3339(&post.created_at);
        let gone = |reader: &mut Self, why: Gone| {
            reader.threader.gone(
                &id,
                thread.unwrap_or(u32::MAX),
                created_at.unwrap_or(0),
                parent.as_deref(),
                why,
                &mut reader.summary,
            );
        };
        let skip = if is_true(&post.deleted) {
            Some(SkipReason::Deleted)
        } else if post.message.trim().is_empty() {
            Some(SkipReason::Empty)
        } else {
            None
        };
        if let Some(reason) = skip {
            gone(self, Gone::Skipped(reason));
            return;
        }
        let page = match thread {
            Some(n) => self
                .catalog
                .threads
                .get(n as usize)
                .map_or_else(|| Err("it names no thread".to_owned()), |t| t.page.clone()),
            None => Err("it names no thread".to_owned()),
        };
        let (created_at, page) = match (created_at, page) {
            (Some(created_at), Ok(page)) => (created_at, page),
            (created_at, page) => {
                let message = match (created_at, page) {
                    (_, Err(message)) => message,
                    _ => "<createdAt> is not an RFC 3339 time".to_owned(),
                };
                self.summary.error(RecordError {
                    position,
                    id: Some(id.clone()),
                    message,
                });
                gone(self, Gone::Invalid);
                return;
            }
        };
        let status = if is_true(&post.spam) {
            Status::Spam
        } else if post.approved.as_deref().is_some_and(|a| !is_true(a)) {
            Status::Pending
        } else {
            Status::Approved
        };
        let record = SourceRecord {
            source: Source::Disqus,
            id: id.clone(),
            page,
            parent: None,
            original_parent: parent,
            author: non_empty(&post.name)
                .or_else(|| non_empty(&post.username))
                .unwrap_or_default(),
            email: non_empty(&post.email),
            website: None,
            ip: non_empty(&post.ip),
            created_at,
            html: post.message.trim().to_owned(),
            status,
            by_author: false,
            user_agent: None,
            moderato_id: None,
            position,
        };
        let thread = thread.unwrap_or(u32::MAX);
        self.threader.push(record, thread, &mut self.summary);
    }

    /// Queues what the threader released, each thread's `Thread` first.
    fn drain(&mut self) {
        let threads = &self.catalog.threads;
        self.outbox
            .take(&mut self.threader, &mut self.summary, |n, page| {
                let entry = threads.get(n as usize);
                Thread {
                    source: Source::Disqus,
                    page: page.to_owned(),
                    title: entry.and_then(|e| e.title.clone()),
                    link: entry.and_then(|e| e.link.clone()),
                    post: None,
                }
            });
    }
}

impl<R: Read + Seek> Advance for DisqusReader<R> {
    fn outbox(&mut self) -> &mut Outbox {
        &mut self.outbox
    }

    fn step(&mut self) -> Result<(), Error> {
        self.read_step()
    }
}

impl<R: Read + Seek> Iterator for DisqusReader<R> {
    type Item = Result<Item, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        next_item(self)
    }
}

fn is_true(value: &str) -> bool {
    matches!(value.trim(), "true" | "1")
}

/// The next `<thread>` or `<post>` of the document; `None` at its end.
/// `ids_only` (the first pass) leaves message and author text unread.
fn next_entity<R: Read>(
    xml: &mut XmlInput<R>,
    saw_root: &mut bool,
    ids_only: bool,
) -> Result<Option<Entity>, Error> {
    loop {
        let tag = match xml.next(classify)? {
            Step::Start(tag) => tag,
            Step::End | Step::Other => continue,
            Step::Eof => return Ok(None),
        };
        if !*saw_root {
            *saw_root = true;
            if tag.name != El::Disqus {
                return Err(Error::WrongFormat {
                    format: Format::Disqus,
                    reason: "the document element is not <disqus>".into(),
                });
            }
            continue;
        }
        // Children of <disqus> only: its depth is 1.
        let depth = xml.depth() - usize::from(!tag.empty);
        match (depth, tag.name) {
            (1, El::Thread) => return read_thread(xml, &tag).map(|t| Some(Entity::Thread(t))),
            (1, El::Post) => {
                return read_post(xml, &tag, ids_only).map(|p| Some(Entity::Post(Box::new(p))));
            }
            _ => xml.skip(&tag)?,
        }
    }
}

fn read_thread<R: Read>(xml: &mut XmlInput<R>, tag: &Tag<El>) -> Result<RawThread, Error> {
    let mut thread = RawThread {
        dsq_id: tag.id_attr.clone(),
        ..RawThread::default()
    };
    if tag.empty {
        return Ok(thread);
    }
    loop {
        let child = match xml.next(classify)? {
            Step::Start(child) => child,
            Step::End => return Ok(thread),
            Step::Other => continue,
            Step::Eof => return Err(unexpected_eof(tag)),
        };
        match child.name {
            El::Id => thread.id = xml.text(&child)?,
            El::Link => thread.link = xml.text(&child)?,
            El::Title => thread.title = xml.text(&child)?,
            _ => xml.skip(&child)?,
        }
    }
}

fn read_post<R: Read>(
    xml: &mut XmlInput<R>,
    tag: &Tag<El>,
    ids_only: bool,
) -> Result<RawPost, Error> {
    let mut post = RawPost {
        dsq_id: tag.id_attr.clone(),
        position: Some(tag.position),
        ..RawPost::default()
    };
    if tag.empty {
        return Ok(post);
    }
    loop {
        let child = match xml.next(classify)? {
            Step::Start(child) => child,
            Step::End => return Ok(post),
            Step::Other => continue,
            Step::Eof => return Err(unexpected_eof(tag)),
        };
        match child.name {
            El::Thread => {
                post.thread = child.id_attr.clone();
                xml.skip(&child)?;
            }
            El::Parent => {
                post.parent = child.id_attr.clone();
                xml.skip(&child)?;
            }
            _ if ids_only => xml.skip(&child)?,
            El::Message => post.message = xml.text(&child)?,
            El::CreatedAt => post.created_at = xml.text(&child)?,
            El::IsDeleted => post.deleted = xml.text(&child)?,
            El::IsSpam => post.spam = xml.text(&child)?,
            El::IsApproved => post.approved = Some(xml.text(&child)?),
            El::IpAddress => post.ip = xml.text(&child)?,
            El::Author => read_author(xml, &child, &mut post)?,
            _ => xml.skip(&child)?,
        }
    }
}

fn read_author<R: Read>(
    xml: &mut XmlInput<R>,
    tag: &Tag<El>,
    post: &mut RawPost,
) -> Result<(), Error> {
    if tag.empty {
        return Ok(());
    }
    loop {
        let child = match xml.next(classify)? {
            Step::Start(child) => child,
            Step::End => return Ok(()),
            Step::Other => continue,
            Step::Eof => return Err(unexpected_eof(tag)),
        };
        match child.name {
            El::Email => post.email = xml.text(&child)?,
            El::Name => post.name = xml.text(&child)?,
            El::Username => post.username = xml.text(&child)?,
            _ => xml.skip(&child)?,
        }
    }
}
