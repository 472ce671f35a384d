//! Reads an export with moderato's import readers and prints what a
//! caller would get, how fast, and the peak resident memory: the reading
//! half of the import benchmark (the whole import, stored: `benches/import.sh`).
//!
//! ```text
//! cargo run --release --example gen_wxr -- 200 /tmp/wxr-200mb.xml
//! cargo run --release --example import_read -- /tmp/wxr-200mb.xml
//! ```
//!
//! The format is detected unless given: `import_read FILE wordpress`.

use std::time::Instant;

use moderato::import::{self, Format, Item};

/// Peak resident memory of this process, from Linux's `/proc`.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: import_read FILE [wordpress|disqus|isso]");
        std::process::exit(2);
    };
    let format = args.next().map(|f| {
        f.parse::<Format>().unwrap_or_else(|()| {
            eprintln!("unknown format {f}");
            std::process::exit(2)
        })
    });
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let start = Instant::now();
    let mut reader = match import::open(path.as_ref(), format) {
        Ok(reader) => reader,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    };
    let (mut comments, mut threads, mut html_bytes) = (0u64, 0u64, 0u64);
    for item in reader.by_ref() {
        match item {
            Ok(Item::Comment(c)) => {
                comments += 1;
                html_bytes += c.html.len() as u64;
            }
            Ok(Item::Thread(_)) => threads += 1,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1)
            }
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let summary = reader.summary();
    let skipped: u64 = summary.skipped.values().sum();
    println!(
        "{{\"format\":\"{}\",\"bytes\":{bytes},\"comments\":{comments},\"threads\":{threads},\
         \"skipped\":{skipped},\"errors\":{},\"notices\":{},\"html_bytes\":{html_bytes},\
         \"seconds\":{seconds:.3},\"comments_per_second\":{:.0},\"mb_per_second\":{:.1},\
         \"peak_rss_kib\":{}}}",
        reader.format(),
        summary.errors_total,
        summary.notices_total,
        comments as f64 / seconds,
        bytes as f64 / 1_048_576.0 / seconds,
        peak_rss_kib().map_or("null".to_owned(), |k| k.to_string()),
    );
}
