//! A WordPress WXR 1.2 writer for moderato's comments, laid out the way
//! WordPress's own exporter writes (`wp-admin/includes/export.php`), so that
//! WordPress's importer (`wordpress-importer`: its SimpleXML, XML and regex
//! parsers alike) reads it back.
//!
//! One `<item>` per page, whose `<link>` is the site's origin plus the page
//! path. WordPress's importer attaches comments to an existing post only if
//! one has the same title and `post_date` (`post_exists()`); otherwise it
//! creates the post, so items are always written as drafts: a page this
//! file does not know the title and date of becomes a draft holding its
//! comments, never an empty public post. Each comment carries its moderato
//! id as comment meta ([`MODERATO_ID_META`]) so that it keeps that id when
//! it comes back through moderato's WXR import.
//!
//! Memory is bounded by one page: a page's comment numbers are kept to map
//! parents, then forgotten.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};

use quick_xml::Writer;
use quick_xml::events::{BytesCData, BytesEnd, BytesStart, BytesText, Event};
use time::OffsetDateTime;

use crate::domain::{CommentId, Status};
use crate::import::WpPost;

pub use crate::import::wordpress::MODERATO_ID_META;

/// The blog's author, whose replies carry `wp:comment_user_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WxrAuthor {
    /// `wp:author_id`, the WordPress user id.
    pub id: u64,
    /// `wp:author_login`: WordPress's importer maps authors by login.
    pub login: String,
    /// The author's own address (not a reader's).
    pub email: String,
    /// Shown name.
    pub display_name: String,
}

/// The site the file describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WxrSite {
    /// Scheme and host (and port), without a trailing slash:
    /// `https://blog.example`.
    pub origin: String,
    /// The blog's name.
    pub title: String,
    /// The site's offset from UTC, for WordPress's local `comment_date`
    /// (its importer de-duplicates comments by author and local date).
    pub utc_offset_minutes: i32,
    /// The blog's author.
    pub author: WxrAuthor,
}

/// A page and what is known of its WordPress post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WxrPage {
    /// The page key (`/2020/01/grief/`, `/?p=4`).
    pub path: String,
    /// The post's title; WordPress matches existing posts by it.
    pub title: Option<String>,
    /// The post's WordPress data, when the comments came from a WXR.
    pub post: Option<WpPost>,
}

/// One comment to write.
#[derive(Clone, PartialEq)]
pub struct WxrComment {
    /// Its moderato id.
    pub id: CommentId,
    /// The comment it replies to; written as a reply when that comment was
    /// written earlier on the same page, as top-level otherwise.
    pub parent: Option<CommentId>,
    /// Display name.
    pub author: String,
    /// Plain email address (decrypted by the caller). Private.
    pub email: Option<String>,
    /// Website.
    pub url: Option<String>,
    /// Client address as stored. Private.
    pub ip: Option<String>,
    /// Milliseconds since the epoch (WXR keeps seconds).
    pub created_at: i64,
    /// The comment's HTML.
    pub html: String,
    /// Its status: approved / pending / spam / rejected are written as
    /// `1` / `0` / `spam` / `trash`.
    pub status: Status,
    /// Written by the blog's author: gets the author's user id and email.
    pub by_author: bool,
}

impl fmt::Debug for WxrComment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WxrComment")
            .field("id", &self.id)
            .field("parent", &self.parent)
            .field("author", &self.author)
            .field("email", &self.email.as_ref().map(|_| "<redacted>"))
            .field("ip", &self.ip.as_ref().map(|_| "<redacted>"))
            .field("created_at", &self.created_at)
            .field("status", &self.status)
            .field("by_author", &self.by_author)
            .finish_non_exhaustive()
    }
}

/// Writes a WXR file: [`WxrWriter::new`], one [`WxrWriter::page`] per page,
/// then [`WxrWriter::finish`].
pub struct WxrWriter<W: Write> {
    xml: Writer<W>,
    site: WxrSite,
    /// The next `wp:comment_id`: numbered through the file.
    next_id: u64,
}

impl<W: Write> fmt::Debug for WxrWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WxrWriter")
            .field("site", &self.site)
            .field("next_id", &self.next_id)
            .finish_non_exhaustive()
    }
}

impl<W: Write> WxrWriter<W> {
    /// Writes the head of the file: the channel and the blog's author.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn new(out: W, site: WxrSite) -> io::Result<WxrWriter<W>> {
        let mut w = WxrWriter {
            xml: Writer::new(out),
            site,
            next_id: 1,
        };
        w.raw(concat!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n",
            "<!-- This is a WordPress eXtended RSS file generated by moderato as an export of its comments. -->\n",
            "<!-- Each page is an item whose link is the page; its comments follow it. -->\n",
            "<!-- To import it into WordPress: Tools > Import > WordPress, then upload this file. -->\n",
            "<!-- Comments attach to an existing post of the same title and date; -->\n",
            "<!-- pages this file knows no post for become drafts holding their comments. -->\n\n",
            "<rss version=\"2.0\"\n",
            "\txmlns:excerpt=\"http://wordpress.org/export/1.2/excerpt/\"\n",
            "\txmlns:content=\"http://purl.org/rss/1.0/modules/content/\"\n",
            "\txmlns:wfw=\"http://wellformedweb.org/CommentAPI/\"\n",
            "\txmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n",
            "\txmlns:wp=\"http://wordpress.org/export/1.2/\"\n",
            ">\n\n<channel>\n"
        ))?;
        let (origin, title) = (w.site.origin.clone(), w.site.title.clone());
        let now = rfc2822(OffsetDateTime::now_utc().unix_timestamp() * 1000);
        w.leaf(1, "title", &title)?;
        w.leaf(1, "link", &origin)?;
        w.leaf(1, "description", "")?;
        w.leaf(1, "pubDate", &now)?;
        w.leaf(1, "wp:wxr_version", "1.2")?;
        w.leaf(1, "wp:base_site_url", &origin)?;
        w.leaf(1, "wp:base_blog_url", &origin)?;
        w.raw("\n\t")?;
        // export.php writes each author on one line; the regex parser needs it.
        let author = w.site.author.clone();
        w.start("wp:author")?;
        w.inline("wp:author_id", &author.id.to_string())?;
        w.inline_cdata("wp:author_login", &author.login)?;
        w.inline_cdata("wp:author_email", &author.email)?;
        w.inline_cdata("wp:author_display_name", &author.display_name)?;
        w.inline_cdata("wp:author_first_name", "")?;
        w.inline_cdata("wp:author_last_name", "")?;
        w.end("wp:author")?;
        w.raw("\n\n")?;
        Ok(w)
    }

    /// Writes `page` as an `<item>` with `comments`, which should come in
    /// id order (parents before replies). Returns how many were written.
    ///
    /// # Errors
    /// Writing failed.
    pub fn page<I>(&mut self, page: &WxrPage, comments: I) -> io::Result<u64>
    where
        I: IntoIterator<Item = WxrComment>,
    {
        let post = page.post.clone().unwrap_or_default();
        let link = format!("{}{}", self.site.origin, page.path);
        let title = page.title.clone().unwrap_or_else(|| page.path.clone());
        let date_gmt = post.date_gmt.clone().unwrap_or_default();
        let pub_date = crate::import::fields::wp_datetime(&date_gmt)
            .map(rfc2822)
            .unwrap_or_default();
        let login = self.site.author.login.clone();
        self.raw("\t")?;
        self.start("item")?;
        self.leaf(2, "title", &title)?;
        self.leaf(2, "link", &link)?;
        self.leaf(2, "pubDate", &pub_date)?;
        self.leaf_cdata(2, "dc:creator", &login)?;
        self.indent(2)?;
        self.xml.write_event(Event::Start(
            BytesStart::new("guid").with_attributes([("isPermaLink", "false")]),
        ))?;
        self.text(&link)?;
        self.end("guid")?;
        self.leaf(2, "description", "")?;
        self.leaf_cdata(2, "content:encoded", "")?;
        self.leaf_cdata(2, "excerpt:encoded", "")?;
        let post_id = post.id.unwrap_or(0).to_string();
        self.leaf(2, "wp:post_id", &post_id)?;
        let slug = post.name.clone().unwrap_or_else(|| slug_of(&page.path));
        let post_type = post.post_type.clone().unwrap_or_else(|| "post".to_owned());
        // Modern export.php wraps these in CDATA; integers stay bare.
        for (name, value) in [
            ("wp:post_date", post.date.as_deref().unwrap_or_default()),
            ("wp:post_date_gmt", &date_gmt),
            ("wp:comment_status", "open"),
            ("wp:ping_status", "closed"),
            ("wp:post_name", &slug),
            ("wp:status", "draft"),
        ] {
            self.leaf_cdata(2, name, value)?;
        }
        self.leaf(2, "wp:post_parent", "0")?;
        self.leaf(2, "wp:menu_order", "0")?;
        self.leaf_cdata(2, "wp:post_type", &post_type)?;
        self.leaf_cdata(2, "wp:post_password", "")?;
        self.leaf(2, "wp:is_sticky", "0")?;
        let mut numbers: HashMap<CommentId, u64> = HashMap::new();
        let mut written = 0;
        for comment in comments {
            let number = self.next_id;
            self.next_id += 1;
            let parent = comment
                .parent
                .and_then(|p| numbers.get(&p).copied())
                .unwrap_or(0);
            numbers.insert(comment.id, number);
            self.comment(&comment, number, parent)?;
            written += 1;
        }
        self.raw("\n\t")?;
        self.end("item")?;
        self.raw("\n")?;
        Ok(written)
    }

    /// Closes the channel and returns the output.
    ///
    /// # Errors
    /// Writing failed.
    pub fn finish(mut self) -> io::Result<W> {
        self.raw("</channel>\n</rss>\n")?;
        let mut out = self.xml.into_inner();
        out.flush()?;
        Ok(out)
    }

    fn comment(&mut self, c: &WxrComment, number: u64, parent: u64) -> io::Result<()> {
        let offset = i64::from(self.site.utc_offset_minutes) * 60_000;
        let (email, user_id) = if c.by_author {
            let author = &self.site.author;
            (author.email.clone(), author.id.to_string())
        } else {
            (c.email.clone().unwrap_or_default(), "0".to_owned())
        };
        let approved = match c.status {
            Status::Approved => "1",
            Status::Pending => "0",
            Status::Spam => "spam",
            Status::Rejected => "trash",
        };
        self.indent(2)?;
        self.start("wp:comment")?;
        self.leaf(3, "wp:comment_id", &number.to_string())?;
        self.leaf_cdata(3, "wp:comment_author", &c.author)?;
        self.leaf_cdata(3, "wp:comment_author_email", &email)?;
        self.leaf(
            3,
            "wp:comment_author_url",
            c.url.as_deref().unwrap_or_default(),
        )?;
        self.leaf_cdata(
            3,
            "wp:comment_author_IP",
            c.ip.as_deref().unwrap_or_default(),
        )?;
        self.leaf_cdata(3, "wp:comment_date", &wp_datetime(c.created_at + offset))?;
        self.leaf_cdata(3, "wp:comment_date_gmt", &wp_datetime(c.created_at))?;
        self.leaf_cdata(3, "wp:comment_content", &c.html)?;
        self.leaf_cdata(3, "wp:comment_approved", approved)?;
        self.leaf_cdata(3, "wp:comment_type", "comment")?;
        self.leaf(3, "wp:comment_parent", &parent.to_string())?;
        self.leaf(3, "wp:comment_user_id", &user_id)?;
        self.indent(3)?;
        self.start("wp:commentmeta")?;
        self.leaf_cdata(4, "wp:meta_key", MODERATO_ID_META)?;
        self.leaf_cdata(4, "wp:meta_value", &c.id.to_string())?;
        self.indent(3)?;
        self.end("wp:commentmeta")?;
        self.indent(2)?;
        self.end("wp:comment")
    }

    fn raw(&mut self, markup: &str) -> io::Result<()> {
        self.xml
            .write_event(Event::Text(BytesText::from_escaped(markup)))
    }

    fn indent(&mut self, depth: usize) -> io::Result<()> {
        self.raw(&format!("\n{}", "\t".repeat(depth)))
    }

    fn start(&mut self, name: &str) -> io::Result<()> {
        self.xml.write_event(Event::Start(BytesStart::new(name)))
    }

    fn end(&mut self, name: &str) -> io::Result<()> {
        self.xml.write_event(Event::End(BytesEnd::new(name)))
    }

    fn text(&mut self, value: &str) -> io::Result<()> {
        self.xml
            .write_event(Event::Text(BytesText::new(&xml_chars(value))))
    }

    /// WordPress's `wxr_cdata()`: one CDATA section, `]]>` inside split as
    /// `]]]]><![CDATA[>`.
    fn cdata(&mut self, value: &str) -> io::Result<()> {
        let value = xml_chars(value);
        let mut parts = value.split("]]>").peekable();
        let mut first = true;
        while let Some(part) = parts.next() {
            let last = parts.peek().is_none();
            let section = format!(
                "{}{part}{}",
                if first { "" } else { ">" },
                if last { "" } else { "]]" }
            );
            self.xml
                .write_event(Event::CData(BytesCData::new(section)))?;
            first = false;
        }
        Ok(())
    }

    fn inline(&mut self, name: &str, value: &str) -> io::Result<()> {
        self.start(name)?;
        self.text(value)?;
        self.end(name)
    }

    fn inline_cdata(&mut self, name: &str, value: &str) -> io::Result<()> {
        self.start(name)?;
        self.cdata(value)?;
        self.end(name)
    }

    fn leaf(&mut self, depth: usize, name: &str, value: &str) -> io::Result<()> {
        self.indent(depth)?;
        self.inline(name, value)
    }

    fn leaf_cdata(&mut self, depth: usize, name: &str, value: &str) -> io::Result<()> {
        self.indent(depth)?;
        self.inline_cdata(name, value)
    }
}

/// Drops what XML 1.0 cannot hold (control characters other than tab and
/// newlines, U+FFFE, U+FFFF): one such character would make WordPress
/// reject the whole file.
fn xml_chars(s: &str) -> Cow<'_, str> {
    let bad = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
    };
    if s.chars().any(bad) {
        Cow::Owned(s.chars().filter(|&c| !bad(c)).collect())
    } else {
        Cow::Borrowed(s)
    }
}

/// `YYYY-MM-DD HH:MM:SS` of milliseconds since the epoch.
fn wp_datetime(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// RSS's `D, d M Y H:i:s +0000`.
fn rfc2822(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let weekday = &t.weekday().to_string()[..3];
    let month = &t.month().to_string()[..3];
    format!(
        "{weekday}, {:02} {month} {:04} {:02}:{:02}:{:02} +0000",
        t.day(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A slug for a page without WordPress data: its last path segment.
fn slug_of(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned()
}
