//! The feature set of one comment as extraction builds it: every feature
//! hashed under the secret key as it is found, its plain text kept beside
//! the hash in one arena for this comment only (to explain the verdict),
//! and the collection capped.
//!
//! Only [`Features::keys`] may outlive the call; the email domain is hashed
//! without its text ever entering the arena.

use std::hash::Hasher as _;

use siphasher::sip::SipHasher24;

use super::features::Namespace;

/// At most this many features are collected per comment, repeats
/// included (the first ones in text order win). A 1 KB comment has about
/// 400; the cap bounds the time of one update and the size of one ledger
/// entry however long a comment is.
pub const MAX_FEATURES_PER_COMMENT: usize = 2_000;

/// The features of one comment: their keys (what a model learns and a
/// ledger stores) and, for this comment only, what each key stands for.
#[derive(Debug, Clone)]
pub struct Features {
    keys: Vec<u64>,
    shown: Vec<Shown>,
    arena: String,
}

/// The plain text of one feature: a namespace and a range of the arena.
#[derive(Debug, Clone, Copy)]
struct Shown {
    key: u64,
    namespace: Namespace,
    start: u32,
    end: u32,
}

impl Features {
    /// The distinct feature keys, sorted. Hashes only: safe to store.
    pub fn keys(&self) -> &[u64] {
        &self.keys
    }

    /// What `key` stands for in this comment, as the author should read it
    /// (`"sugar"`, `link to discreet-encounters.test`, `email domain`).
    pub fn explain(&self, key: u64) -> Option<String> {
        let i = self.shown.binary_search_by_key(&key, |s| s.key).ok()?;
        let s = self.shown[i];
        let text = &self.arena[s.start as usize..s.end as usize];
        Some(match s.namespace {
            Namespace::Word | Namespace::Pair | Namespace::Chars => format!("\"{text}\""),
            Namespace::LinkHost | Namespace::LinkDomain => format!("link to {text}"),
            Namespace::SiteHost | Namespace::SiteDomain => format!("website {text}"),
            Namespace::UrlWord => format!("\"{text}\" in a link"),
            Namespace::Name => format!("name \"{text}\""),
            Namespace::EmailDomain => "email domain".to_owned(),
            Namespace::TextMail => format!("address at {text}"),
            Namespace::Script => format!("{text} script"),
            Namespace::Shape => text.to_owned(),
        })
    }
}

/// Collects features: hashes them, remembers their plain text for this
/// comment, and stops at [`MAX_FEATURES_PER_COMMENT`].
pub(super) struct Sink {
    hasher: SipHasher24,
    shown: Vec<Shown>,
    arena: String,
}

impl Sink {
    pub(super) fn new(hasher: SipHasher24, text_len: usize) -> Self {
        Sink {
            hasher,
            shown: Vec::with_capacity(text_len / 3 + 16),
            arena: String::with_capacity(text_len * 2 + 64),
        }
    }

    pub(super) fn full(&self) -> bool {
        self.shown.len() >= MAX_FEATURES_PER_COMMENT
    }

    fn key(&self, namespace: Namespace, parts: &[&[u8]]) -> u64 {
        let mut h = self.hasher;
        h.write_u8(namespace as u8);
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                // 0xFF never occurs in UTF-8: pairs cannot collide with words.
                h.write_u8(0xFF);
            }
            h.write(part);
        }
        h.finish()
    }

    /// Adds a feature; returns the arena range of its text, for pairs.
    pub(super) fn add(&mut self, namespace: Namespace, text: &str) -> Option<(u32, u32)> {
        if self.full() {
            return None;
        }
        let key = self.key(namespace, &[text.as_bytes()]);
        Some(self.remember(key, namespace, text))
    }

    /// Keeps a word's text for pairs without making it a feature.
    pub(super) fn remember_only(&mut self, text: &str) -> Option<(u32, u32)> {
        if self.full() {
            return None;
        }
        let start = self.arena.len();
        self.arena.push_str(text);
        Some((start as u32, self.arena.len() as u32))
    }

    /// Adds the pair of two features already added (arena ranges).
    pub(super) fn add_pair(&mut self, first: (u32, u32), second: (u32, u32)) {
        if self.full() {
            return;
        }
        let a = &self.arena[first.0 as usize..first.1 as usize];
        let b = &self.arena[second.0 as usize..second.1 as usize];
        let key = self.key(Namespace::Pair, &[a.as_bytes(), b.as_bytes()]);
        let start = self.arena.len();
        self.arena
            .extend_from_within(first.0 as usize..first.1 as usize);
        self.arena.push(' ');
        self.arena
            .extend_from_within(second.0 as usize..second.1 as usize);
        self.push(key, Namespace::Pair, start);
    }

    /// Adds a feature whose text must never be kept, even for this call.
    pub(super) fn add_secret(&mut self, namespace: Namespace, text: &str) {
        if !self.full() {
            let key = self.key(namespace, &[text.as_bytes()]);
            self.push(key, namespace, self.arena.len());
        }
    }

    fn remember(&mut self, key: u64, namespace: Namespace, text: &str) -> (u32, u32) {
        let start = self.arena.len();
        self.arena.push_str(text);
        self.push(key, namespace, start);
        (start as u32, self.arena.len() as u32)
    }

    fn push(&mut self, key: u64, namespace: Namespace, start: usize) {
        self.shown.push(Shown {
            key,
            namespace,
            start: start as u32,
            end: self.arena.len() as u32,
        });
    }

    pub(super) fn finish(mut self) -> Features {
        // Of the same key, the first occurrence (lowest arena start)
        // explains it; `start` makes the cheaper unstable sort stable enough.
        self.shown.sort_unstable_by_key(|s| (s.key, s.start));
        self.shown.dedup_by_key(|s| s.key);
        Features {
            keys: self.shown.iter().map(|s| s.key).collect(),
            shown: self.shown,
            arena: self.arena,
        }
    }
}
