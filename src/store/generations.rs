//! Per-page change generations: a counter per page (hashed into a fixed
//! table) that the store bumps after every committed change to a page's
//! public view, so a cache of that view can tell in one atomic load whether
//! it is still current. Collisions only cost a needless rebuild.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// Slots in the generation table: 32 KiB, whatever the number of pages.
const GENERATION_SLOTS: usize = 4096;

/// Change counters per page, hashed into a fixed table.
#[derive(Debug)]
pub(super) struct PageGenerations {
    slots: Box<[AtomicU64]>,
}

impl Default for PageGenerations {
    fn default() -> Self {
        PageGenerations {
            slots: (0..GENERATION_SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl PageGenerations {
    fn slot(&self, page: &str) -> &AtomicU64 {
        let mut hasher = DefaultHasher::new();
        page.hash(&mut hasher);
        &self.slots[(hasher.finish() % GENERATION_SLOTS as u64) as usize]
    }

    /// The page's current generation.
    pub(super) fn get(&self, page: &str) -> u64 {
        self.slot(page).load(Ordering::Acquire)
    }

    /// Marks the page changed. Call after the change is visible to readers:
    /// a reader that loads the generation before reading the data then
    /// never keeps stale data under the new generation.
    pub(super) fn bump(&self, page: &str) {
        self.slot(page).fetch_add(1, Ordering::AcqRel);
    }

    /// Marks every page changed: after the database was reopened, what a
    /// cache holds may include writes that never reached the disk.
    pub(super) fn bump_all(&self) {
        for slot in &self.slots {
            slot.fetch_add(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bump_changes_only_that_pages_generation_here() {
        let generations = PageGenerations::default();
        let (a, b) = (generations.get("/a/"), generations.get("/b/"));
        generations.bump("/a/");
        assert_eq!(generations.get("/a/"), a + 1);
        // "/b/" may share a slot with "/a/" by chance; it never goes back.
        assert!(generations.get("/b/") >= b);
    }
}
