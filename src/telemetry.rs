//! Logging: `tracing` with an `EnvFilter` (`RUST_LOG` overrides the
//! default) to standard error.
//!
//! warp's path filter traces every path segment it reads; some segments are
//! credentials (decision links, readers' confirmation and unsubscribe
//! links), so that one target never logs below `debug`, whatever
//! `RUST_LOG` asks.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls do nothing.
pub fn init(default_filter: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(default_filter))
        .add_directive(
            "warp::filters::path=debug"
                .parse()
                .expect("a valid directive"),
        );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
