//! What a reader has ready to yield, and the iteration the three readers
//! share: records the [`Threader`] released go out with their page's
//! [`Thread`] first; a fatal error ends the iteration.

use std::collections::{HashSet, VecDeque};

use super::thread::Threader;
use super::{Error, Item, Summary, Thread};

/// A reader's queue of items.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    items: VecDeque<Item>,
    /// Thread numbers whose `Thread` went out.
    announced: HashSet<u32>,
    /// Page keys with a comment yielded, for `Summary::pages`.
    pages: HashSet<String>,
    /// The file ended, or failed.
    pub(crate) done: bool,
}

impl Outbox {
    /// Queues what `threader` released; `thread` describes thread number
    /// `n` whose comments carry page key `page`.
    pub(crate) fn take(
        &mut self,
        threader: &mut Threader,
        summary: &mut Summary,
        thread: impl Fn(u32, &str) -> Thread,
    ) {
        while let Some((record, n)) = threader.pop() {
            if self.announced.insert(n) {
                if self.pages.insert(record.page.clone()) {
                    summary.pages += 1;
                }
                self.items.push_back(Item::Thread(thread(n, &record.page)));
            }
            summary.comments += 1;
            self.items.push_back(Item::Comment(record));
        }
    }
}

/// A reader that advances through its file one step at a time.
pub(crate) trait Advance {
    /// Its queue.
    fn outbox(&mut self) -> &mut Outbox;
    /// Reads until something is queued or the file ended (`outbox().done`).
    fn step(&mut self) -> Result<(), Error>;
}

/// `Iterator::next` of every reader.
pub(crate) fn next_item(reader: &mut impl Advance) -> Option<Result<Item, Error>> {
    loop {
        let outbox = reader.outbox();
        if let Some(item) = outbox.items.pop_front() {
            return Some(Ok(item));
        }
        if outbox.done {
            return None;
        }
        if let Err(e) = reader.step() {
            let outbox = reader.outbox();
            outbox.done = true;
            outbox.items.clear();
            return Some(Err(e));
        }
    }
}
