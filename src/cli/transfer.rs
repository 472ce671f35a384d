//! `moderato import FILE` and `moderato export`: moving a blog's comments
//! in and out on a stopped service (they open the data directory, which
//! the running service holds locked: then they say so and point to the
//! HTTP routes). The work is [`crate::transfer`]'s.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::import::Format;
use crate::startup;
use crate::transfer::{self, Blog, Options, Report};

/// What the command needs to import.
#[derive(Debug)]
pub struct ImportArgs {
    /// The file.
    pub file: PathBuf,
    /// `None` for auto-detection.
    pub format: Option<Format>,
    /// Store nothing.
    pub dry_run: bool,
    /// Teach the learning filter.
    pub learn: bool,
    /// Print the report as one JSON line.
    pub json: bool,
}

/// The formats `--format` takes.
pub fn parse_format(raw: &str) -> Result<Option<Format>, String> {
    match raw {
        "auto" => Ok(None),
        other => other.parse::<Format>().map(Some).map_err(|()| {
            format!("unknown format {other:?}: use auto, wordpress, disqus, isso or ndjson")
        }),
    }
}

/// `moderato import`: exit 0 when the file was read to its end (record
/// errors are in the report), 1 when the file cannot be imported (nothing
/// stored), 2 when the data directory cannot be opened.
pub fn import_command(config: &Config, args: ImportArgs) -> ExitCode {
    if !args.file.is_file() {
        tracing::error!(file = %args.file.display(), "no such file");
        return ExitCode::FAILURE;
    }
    let runtime = runtime();
    // The PostgreSQL store starts its watcher on the runtime it opens in.
    let _entered = runtime.enter();
    let core = match open(config) {
        Ok(core) => core,
        Err(code) => return code,
    };
    let options = Options {
        format: args.format,
        dry_run: args.dry_run,
        learn: args.learn,
    };
    let progress = progress_line();
    let result = runtime.block_on(async {
        // A long import frees as much as it allocates: hand it back as it goes.
        let trimmer = tokio::spawn(crate::memory::release_periodically());
        let result =
            transfer::import_file(core.moderator.clone(), &args.file, options, &|handled| {
                if let Some(bar) = &progress {
                    bar.set_position(handled);
                }
            })
            .await;
        trimmer.abort();
        // What was stored is kept (and sealed) whether or not the file
        // was read to its end.
        close(core).await;
        result
    });
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    match result {
        Ok(report) => {
            print_report(&report, args.json);
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{}: {e}", args.file.display());
            if args.json {
                let body = serde_json::json!({ "error": e.to_string() });
                let _ = writeln!(std::io::stdout().lock(), "{body}");
            }
            if e.is_file_error() {
                ExitCode::FAILURE
            } else {
                ExitCode::from(2)
            }
        }
    }
}

/// What the command needs to export.
#[derive(Debug)]
pub struct ExportArgs {
    /// `ndjson` or `wxr`.
    pub format: String,
    /// Where to write; standard output when `None`.
    pub out: Option<PathBuf>,
    /// The blog's origin for WXR links.
    pub site: Option<String>,
}

/// `moderato export`: exit 0 when the file is complete.
pub fn export_command(config: &Config, args: ExportArgs) -> ExitCode {
    let site = match args.format.as_str() {
        "ndjson" => None,
        "wxr" => {
            let site = args
                .site
                .or_else(|| config.allowed_origins.first().cloned())
                .filter(|o| o.starts_with("http://") || o.starts_with("https://"));
            match site {
                Some(site) => Some(site),
                None => {
                    tracing::error!(
                        "a WXR export needs the blog's address: pass --site https://your.blog or set allowed_origins"
                    );
                    return ExitCode::from(2);
                }
            }
        }
        other => {
            tracing::error!("unknown export format {other:?}: use ndjson or wxr");
            return ExitCode::from(2);
        }
    };
    let runtime = runtime();
    let _entered = runtime.enter();
    let core = match open(config) {
        Ok(core) => core,
        Err(code) => return code,
    };
    let moderator = core.moderator.clone();
    let out: Box<dyn Write + Send> = match &args.out {
        Some(path) => match File::create(path) {
            Ok(file) => Box::new(BufWriter::new(file)),
            Err(e) => {
                tracing::error!(file = %path.display(), "cannot create the file: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => Box::new(BufWriter::new(std::io::stdout())),
    };
    let result = runtime.block_on(async {
        let result = match site {
            None => transfer::ndjson::export(&moderator, out).await.map(|_| ()),
            Some(origin) => {
                let blog = Blog {
                    origin,
                    author_name: config.author_name.clone(),
                };
                transfer::wxr::export(&moderator, &blog, out)
                    .await
                    .map(|_| ())
            }
        };
        close(core).await;
        result
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("export: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The core over the data directory, or the exit code after saying why not.
fn open(config: &Config) -> Result<startup::Offline, ExitCode> {
    match startup::offline_moderator(config) {
        Ok(core) => Ok(core),
        Err(e @ (startup::Error::Store(_) | startup::Error::InUse(_))) => {
            tracing::error!(
                path = %config.db_path().display(),
                "cannot open the database: {e}. If the service is running it holds the database: \
                 stop it first, or send the file to the running service instead: \
                 curl -X POST -H \"Authorization: Bearer $TOKEN\" --data-binary @FILE \
                 'http://{}/admin/import?format=auto' (and GET /admin/export?format=wxr)",
                config.listen
            );
            Err(ExitCode::from(2))
        }
        Err(e) => {
            tracing::error!("{e}");
            Err(ExitCode::from(2))
        }
    }
}

/// Ends the command's hold on the database as a clean stop does (the
/// final flush, sled's seal); a failure is logged: what was stored is on
/// disk either way.
async fn close(core: startup::Offline) {
    if let Err(e) = core.close().await {
        tracing::error!("closing the database: {e}");
    }
}

/// Two workers store (the import's storing tasks), one blocking thread
/// reads and prepares: the import has nothing else to run, and every extra
/// thread is another malloc arena in the resident memory.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(transfer::run::STORERS)
        .max_blocking_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime can be built (it only fails without threads or timers)")
}

/// A progress line on standard error, when it is a terminal.
fn progress_line() -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {human_pos} comments ({per_sec}) {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    Some(bar)
}

/// The report: a few lines for a person, or one JSON object as the last
/// line with `--json`.
fn print_report(report: &Report, json: bool) {
    let mut out = std::io::stdout().lock();
    if json {
        let line = serde_json::to_string(report).unwrap_or_else(|e| {
            serde_json::json!({ "error": format!("the report cannot be encoded: {e}") }).to_string()
        });
        let _ = writeln!(out, "{line}");
        return;
    }
    let verb = if report.dry_run {
        "would import"
    } else {
        "imported"
    };
    let _ = writeln!(
        out,
        "{} ({}): {verb} {} comments on {} pages; {} already present",
        if report.dry_run { "dry run" } else { "import" },
        report.format,
        report.imported,
        report.pages,
        report.already_present
    );
    let statuses: Vec<String> = report
        .by_status
        .iter()
        .map(|(status, n)| format!("{status} {n}"))
        .collect();
    let _ = writeln!(out, "  by status: {}", statuses.join(", "));
    if !report.skipped.is_empty() {
        let skipped: Vec<String> = report
            .skipped
            .iter()
            .map(|(why, n)| format!("{why} {n}"))
            .collect();
        let _ = writeln!(out, "  skipped: {}", skipped.join(", "));
    }
    for (what, n) in &report.adjusted {
        let _ = writeln!(out, "  adjusted: {what} {n}");
    }
    if let Some(learned) = report.learned {
        let _ = writeln!(
            out,
            "  learned: {} spam, {} ham (as the author's decisions)",
            learned.spam, learned.ham
        );
    }
    for notice in &report.notices {
        let _ = writeln!(out, "  notice: {}", notice.message);
    }
    if report.notices_total > report.notices.len() as u64 {
        let _ = writeln!(out, "  ... {} notices in all", report.notices_total);
    }
    for error in &report.errors {
        let _ = writeln!(out, "  error: {}", error.message);
    }
    if report.errors_total > report.errors.len() as u64 {
        let _ = writeln!(out, "  ... {} errors in all", report.errors_total);
    }
}
