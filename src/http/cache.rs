//! The read cache: each page's public JSON, kept in memory with its ETag.
//!
//! An entry is valid while the store's generation of its page
//! ([`crate::domain::ports::Store::page_generation`]) has not moved; the store bumps
//! it after every change to the page's approved comments, whichever write
//! path made it, so the cache holds no invalidation logic of its own. A hit
//! costs one atomic load, one short lock and a reference-count increment;
//! `If-None-Match` is answered from the stored ETag without touching the
//! body.
//!
//! Bounded by entries and by bytes, least recently used out first, so a
//! flood of distinct page names costs at most [`MAX_BYTES`] of memory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::asset::ETag;
use bytes::Bytes;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::{Reply, Response};

/// Most pages kept.
pub const MAX_ENTRIES: usize = 1024;
/// Most bytes of JSON kept.
pub const MAX_BYTES: usize = 16 * 1024 * 1024;
/// Larger pages are served but not kept.
pub const MAX_ENTRY_BYTES: usize = MAX_BYTES / 8;

/// A body (JSON unless said otherwise) with its strong ETag; cloning is
/// cheap.
#[derive(Debug, Clone)]
pub struct Cached {
    body: Bytes,
    etag: ETag,
    content_type: &'static str,
}

impl Cached {
    /// A JSON body; computes the ETag (a digest of the body).
    pub fn new(body: Vec<u8>) -> Cached {
        Cached::typed(body, "application/json")
    }

    /// A body of another media type (a feed).
    pub fn typed(body: Vec<u8>, content_type: &'static str) -> Cached {
        Cached {
            etag: ETag::of(&body),
            body: Bytes::from(body),
            content_type,
        }
    }

    /// The body with its type and `ETag`, or a bare 304 when
    /// `if_none_match` lists it. `no-cache`: browsers revalidate every
    /// time, so an approved comment shows on the next load.
    pub fn respond(&self, if_none_match: Option<&str>) -> Response {
        let mut response = if self.etag.matches(if_none_match) {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            let mut response = Response::new(self.body.clone().into());
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            );
            response
        };
        let headers = response.headers_mut();
        headers.insert(header::ETAG, self.etag.header());
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        response
    }

    fn len(&self) -> usize {
        self.body.len()
    }
}

#[derive(Debug)]
struct Entry {
    generation: u64,
    value: Cached,
    last_used: u64,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<String, Entry>,
    bytes: usize,
    clock: u64,
}

/// Counters and size of the cache, for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Reads served from memory.
    pub hits: u64,
    /// Reads that rebuilt the page.
    pub misses: u64,
    /// Pages kept.
    pub entries: usize,
    /// Bytes of JSON kept.
    pub bytes: usize,
}

/// Public JSON of pages, keyed by page.
#[derive(Debug, Default)]
pub struct PageCache {
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl PageCache {
    /// The page's JSON if it was cached at `generation`.
    pub fn get(&self, page: &str, generation: u64) -> Option<Cached> {
        let found = {
            let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            inner.clock += 1;
            let now = inner.clock;
            match inner.map.get_mut(page) {
                Some(entry) if entry.generation == generation => {
                    entry.last_used = now;
                    Some(entry.value.clone())
                }
                _ => None,
            }
        };
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `value` as the page's JSON at `generation` (built from data
    /// read after the generation was loaded), evicting the least recently
    /// used pages as needed.
    pub fn put(&self, page: &str, generation: u64, value: Cached) {
        if value.len() > MAX_ENTRY_BYTES {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = inner.map.remove(page) {
            inner.bytes -= old.value.len();
        }
        while !inner.map.is_empty()
            && (inner.map.len() >= MAX_ENTRIES || inner.bytes + value.len() > MAX_BYTES)
        {
            // A linear scan, only when full: at most MAX_ENTRIES entries,
            // and far cheaper than the rebuild that led here.
            let Some(oldest) = inner
                .map
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(old) = inner.map.remove(&oldest) {
                inner.bytes -= old.value.len();
            }
        }
        inner.clock += 1;
        let last_used = inner.clock;
        inner.bytes += value.len();
        inner.map.insert(
            page.to_owned(),
            Entry {
                generation,
                value,
                last_used,
            },
        );
    }

    /// Hits, misses and size so far.
    pub fn stats(&self) -> Stats {
        let inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        Stats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: inner.map.len(),
            bytes: inner.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_served_only_at_its_generation() {
        let cache = PageCache::default();
        cache.put("/a/", 3, Cached::new(b"{}".to_vec()));
        assert!(cache.get("/a/", 3).is_some());
        assert!(cache.get("/a/", 4).is_none());
        assert!(cache.get("/b/", 3).is_none());
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses, stats.entries), (1, 2, 1));
    }

    #[test]
    fn a_flood_of_pages_stays_within_bounds_and_keeps_the_hot_one() {
        let cache = PageCache::default();
        cache.put("/hot/", 1, Cached::new(vec![b'x'; 1000]));
        for i in 0..(MAX_ENTRIES * 3) {
            cache.put(&format!("/p{i}/"), 1, Cached::new(vec![b'y'; 100]));
            assert!(cache.get("/hot/", 1).is_some(), "evicted after {i}");
        }
        let stats = cache.stats();
        assert!(stats.entries <= MAX_ENTRIES);
        for i in 0..40 {
            cache.put(
                &format!("/big{i}/"),
                1,
                Cached::new(vec![b'z'; MAX_ENTRY_BYTES]),
            );
        }
        assert!(cache.stats().bytes <= MAX_BYTES);
        cache.put("/huge/", 1, Cached::new(vec![b'z'; MAX_ENTRY_BYTES + 1]));
        assert!(cache.get("/huge/", 1).is_none());
    }

    #[test]
    fn etags_match_weak_and_listed_forms() {
        let cached = Cached::new(b"{}".to_vec());
        let etag = cached.respond(None).headers()[header::ETAG]
            .to_str()
            .expect("ascii")
            .to_owned();
        for header in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"x\", {etag}"),
            "*".into(),
        ] {
            assert_eq!(
                cached.respond(Some(&header)).status(),
                StatusCode::NOT_MODIFIED,
                "If-None-Match: {header}"
            );
        }
        assert_eq!(cached.respond(Some("\"other\"")).status(), StatusCode::OK);
    }
}
