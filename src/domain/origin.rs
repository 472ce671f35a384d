//! Where an imported comment comes from: the system that held it, its id
//! there, and what that system knew of the post it was under. Kept on the
//! comment ([`Comment::origin`](super::Comment::origin)) so that the author
//! sees where it came from, a second import of the same file recognizes
//! it, and an export back to WordPress lands on the real posts (its
//! importer matches a post by title and `post_date`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A comment system moderato imports from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A WordPress WXR export.
    Wordpress,
    /// A Disqus XML export.
    Disqus,
    /// An Isso SQLite database.
    Isso,
}

impl Source {
    /// The name stored with an imported comment and shown to the author.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Wordpress => "wordpress",
            Source::Disqus => "disqus",
            Source::Isso => "isso",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// WordPress's own data on a post, kept so that an export back to
/// WordPress lets its importer find the existing post (it matches title and
/// `post_date`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WpPost {
    /// `wp:post_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// `wp:post_type` (`post`, `page`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_type: Option<String>,
    /// `wp:post_name`: the slug.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `wp:post_date`, local time, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// `wp:post_date_gmt`, as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_gmt: Option<String>,
}

/// Where an imported comment comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The system.
    pub source: Source,
    /// Its id there (unique per source file).
    pub id: String,
    /// The title of the post it was under, when the source has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// WordPress's data on that post (WXR imports only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<WpPost>,
}
