//! The process's heap: handing memory the service freed back to the
//! operating system.
//!
//! glibc's allocator keeps freed memory in its arenas for reuse and only
//! returns the free top of the main heap, so a service that once needed
//! more (compiling the rules at start-up, a burst of requests, an export
//! assembled in memory, a backup) stays at its highest resident size for
//! good, with the freed pages counted against it. `malloc_trim` gives the
//! free pages of every arena back (with `madvise`, keeping the mappings).
//! It walks the free chunks with each arena locked in turn: 6-17 ms on a
//! fragmented 100 MB heap (measured with a probe program), so it runs on
//! the blocking pool, once the service has started and then every
//! [`TRIM_EVERY`], a stall of a few ms for allocations in that arena at
//! most (BENCHMARKS.md, "Soak", has the figures). Elsewhere than glibc it
//! does nothing.

use std::time::Duration;

/// How often the running service hands freed memory back.
pub const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Returns the free pages of the heap to the operating system.
pub fn release_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            /// glibc, `<malloc.h>`: `int malloc_trim(size_t pad)`.
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: `malloc_trim` takes no pointer, may be called from any
        // thread at any time, and only releases pages that no allocation
        // uses (each arena is locked while it is trimmed).
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Calls [`release_free`] every [`TRIM_EVERY`], for ever; run it as a task.
pub async fn release_periodically() {
    let mut every = tokio::time::interval(TRIM_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        // On the blocking pool: it takes each arena's lock in turn.
        let _ = tokio::task::spawn_blocking(release_free).await;
    }
}
