//! Command line: `moderato [--config FILE] [serve]`, `moderato healthcheck`,
//! `moderato rules check`, `moderato rules eval FILE.jsonl`,
//! `moderato check [--repair]`, `moderato restore FILE [--force]`,
//! `moderato import FILE`, `moderato export`,
//! `moderato learn replay | train | stats | rebuild`.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

mod learn;
mod restore;
mod rules;
mod transfer;

use crate::config::Config;
use crate::domain::Comment;
use crate::domain::moderation::fingerprint;
use crate::domain::privacy::Privacy;
use crate::startup::{self, App, shutdown_signal};
use crate::store::{Report, SealCheck, SledStore};
use crate::{secrets, telemetry};

/// Self-hosted comment moderation for blogs.
#[derive(Debug, Parser)]
#[command(name = "moderato", version, about)]
pub struct Cli {
    /// TOML configuration file (every key can also be set as MODERATO_<KEY>).
    #[arg(long, global = true, env = "MODERATO_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Exit 0 when the service on the configured address answers /healthz
    /// (for container health checks: needs no curl in the image).
    Healthcheck,
    /// Verify the database's indexes, fingerprints and counts against its
    /// comments (sled: stop the service first, the database is locked while
    /// it runs; PostgreSQL: runs beside the replicas). Exit 0 when
    /// consistent, 1 when problems remain.
    Check {
        /// Fix what can be fixed: add missing index entries, remove stale
        /// ones.
        #[arg(long)]
        repair: bool,
    },
    /// Bring a backup (`moderato-backup-*.ndjson.gz`) back into the data
    /// directory (stop the service first). The directory must hold the
    /// backup's master key (secret.key) and no database, unless --force.
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Move an existing database aside (never deleted) and restore.
        #[arg(long)]
        force: bool,
    },
    /// Import comments from WordPress (WXR), Disqus, Isso or moderato's own
    /// export, on a stopped service (a running one holds the database: use
    /// POST /admin/import there). The same file twice adds nothing.
    Import {
        /// The export file (Isso: its SQLite database).
        file: PathBuf,
        /// auto, wordpress, disqus, isso or ndjson.
        #[arg(long, default_value = "auto")]
        format: String,
        /// Report what would be imported; store nothing.
        #[arg(long)]
        dry_run: bool,
        /// Teach the learning spam filter with the imported spam and
        /// approved comments.
        #[arg(long)]
        learn: bool,
        /// Print the report as one JSON object (the last line).
        #[arg(long)]
        json: bool,
    },
    /// Export every comment, on a stopped service: moderato's JSON Lines
    /// (the lossless backup) or a WordPress WXR file.
    Export {
        /// ndjson or wxr.
        #[arg(long, default_value = "ndjson")]
        format: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The blog's address for WXR links (default: the first of
        /// allowed_origins).
        #[arg(long)]
        site: Option<String>,
    },
    /// Check or measure the spam rules.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Measure, teach or inspect the learning filter.
    Learn {
        #[command(subcommand)]
        command: learn::LearnCommand,
    },
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Validate the rule files and summarize them.
    Check {
        /// Rules directory (default: the configured `rules_dir`).
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Run the rules over labeled comments (JSON Lines) and print precision
    /// and recall.
    Eval {
        /// One JSON object a line: `comment` or `text`, optional `author`,
        /// `email`, `url`, and `label` = `spam` | `ham`.
        file: PathBuf,
        /// Rules directory (default: the configured `rules_dir`).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// List every miss with the rules that hit.
        #[arg(long)]
        explain: bool,
        /// Leave the learned rule out (it runs on the shipped seed model
        /// otherwise).
        #[arg(long)]
        rules_only: bool,
    },
}

/// Parses the arguments and runs the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init("info");
    // A panic (a bug) is one log line like every other error, not a
    // backtrace dump on standard error.
    std::panic::set_hook(Box::new(|info| {
        tracing::error!("internal error (please report it): {info}");
    }));
    let config = match Config::load(
        cli.config.as_deref(),
        std::env::vars().filter(|(k, _)| k != "MODERATO_CONFIG"),
    ) {
        Ok(config) => config,
        Err(e) => {
            tracing::error!("configuration: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Healthcheck => healthcheck(&config),
        Command::Rules { command } => rules_command(command, &config),
        Command::Check { repair } => check_command(&config, repair),
        Command::Restore { file, force } => print_outcome(
            restore::restore(&config, &file, force).map_err(|e| format!("restore: {e}")),
        ),
        Command::Import {
            file,
            format,
            dry_run,
            learn,
            json,
        } => match transfer::parse_format(&format) {
            Ok(format) => transfer::import_command(
                &config,
                transfer::ImportArgs {
                    file,
                    format,
                    dry_run,
                    learn,
                    json,
                },
            ),
            Err(e) => {
                tracing::error!("{e}");
                ExitCode::from(2)
            }
        },
        Command::Export { format, out, site } => {
            transfer::export_command(&config, transfer::ExportArgs { format, out, site })
        }
        Command::Learn { command } => print_outcome(learn::run(command, &config)),
    }
}

/// Prints a command's product to standard output (not the log), or logs
/// why it failed.
fn print_outcome(outcome: Result<String, String>) -> ExitCode {
    match outcome {
        Ok(text) => {
            let _ = writeln!(std::io::stdout().lock(), "{}", text.trim_end());
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// `moderato check [--repair]`: prints a summary to standard output.
fn check_command(config: &Config, repair: bool) -> ExitCode {
    if config.uses_postgres() {
        // No seal on PostgreSQL: the server keeps its own files whole.
        return print_report(check_postgres(config, repair), |_| true);
    }
    let (store, report) = match check_sled(config, repair) {
        Ok(checked) => checked,
        Err(code) => return code,
    };
    print_report(report, |report| {
        seal_line(&store, config, repair && report.is_consistent())
    })
}

/// Prints a check's report, then whatever `and_then` adds (the seal on
/// sled); exit 0 only when both found nothing wrong, 2 when the database
/// could not be read.
fn print_report(
    report: Result<Report, String>,
    and_then: impl FnOnce(&Report) -> bool,
) -> ExitCode {
    match report {
        Ok(report) => {
            let _ = writeln!(std::io::stdout().lock(), "{report}");
            let rest_ok = and_then(&report);
            if report.is_consistent() && rest_ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            tracing::error!("check failed: {e}");
            ExitCode::from(2)
        }
    }
}

/// The check on PostgreSQL: online (a repair briefly holds writers back).
/// The key file is required with `database_url`, so fingerprints are
/// always verified.
fn check_postgres(config: &Config, repair: bool) -> Result<Report, String> {
    let master = secrets::master_key_from_file(std::path::Path::new(&config.master_key_file))
        .map_err(|e| e.to_string())?;
    let privacy = Privacy::new(&master);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let store =
            startup::open_postgres(config, privacy.key_check()).map_err(|e| e.to_string())?;
        let print = |c: &Comment| fingerprint::of_stored(&privacy, c);
        let report = if repair {
            store.repair(&print).await
        } else {
            store.check(&print).await
        };
        report.map_err(|e| with_sources(&e))
    })
}

/// An error and every cause under it, for the one line that reports it.
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The check on sled: the service must be stopped (sled locks its files).
fn check_sled(
    config: &Config,
    repair: bool,
) -> Result<(SledStore, Result<Report, String>), ExitCode> {
    let db_path = config.db_path();
    if !db_path.is_dir() {
        tracing::error!(path = %db_path.display(), "no database here (is data_dir right?)");
        return Err(ExitCode::from(2));
    }
    let store = match SledStore::open(&db_path, config.cache_capacity_mb * 1024 * 1024) {
        Ok(store) => store,
        Err(e) => {
            tracing::error!("cannot open the database (is the service still running?): {e}");
            return Err(ExitCode::from(2));
        }
    };
    let report = if repair {
        // Missing fingerprints can be recomputed with the master key; the
        // data directory exists, so this reads the key and creates nothing.
        match secrets::master_key(&config.data_dir, true) {
            Ok(master) => {
                let privacy = Privacy::new(&master);
                store.repair_with(&|c: &Comment| fingerprint::of_stored(&privacy, c))
            }
            Err(e) => {
                tracing::warn!("no master key, fingerprints cannot be recreated: {e}");
                store.repair()
            }
        }
    } else {
        store.check()
    };
    let report = report.map_err(|e| e.to_string());
    Ok((store, report))
}

/// Compares the database with its seal (what it held at the last clean
/// stop) and prints the outcome; after a repair, seals what is there now:
/// the operator has accepted it. Whether nothing is wrong.
fn seal_line(store: &SledStore, config: &Config, reseal: bool) -> bool {
    let mut stdout = std::io::stdout().lock();
    if reseal {
        return match store.write_seal(&config.data_dir, true) {
            Ok(()) => {
                let _ = writeln!(
                    stdout,
                    "seal: written (the database is accepted as it is now)"
                );
                true
            }
            Err(e) => {
                tracing::error!("the seal could not be written: {e}");
                false
            }
        };
    }
    match store.check_seal(&config.data_dir) {
        Ok(SealCheck::Matches) => {
            let _ = writeln!(stdout, "seal: matches the last clean stop");
            true
        }
        Ok(SealCheck::Unknown(why)) => {
            let _ = writeln!(stdout, "seal: not compared ({why})");
            true
        }
        Ok(SealCheck::Differs { sealed, found }) => {
            let _ = writeln!(
                stdout,
                "seal: DIFFERS from the last clean stop ({sealed} comments then, {found} now): \
                 restore a backup, or run `moderato check --repair` to accept what is left"
            );
            false
        }
        Err(e) => {
            tracing::error!("the seal cannot be read: {e}");
            false
        }
    }
}

fn rules_command(command: RulesCommand, config: &Config) -> ExitCode {
    let output = match command {
        RulesCommand::Check { rules } => {
            rules::check_command(rules.as_deref().unwrap_or(&config.rules_dir))
        }
        RulesCommand::Eval {
            file,
            rules,
            json,
            explain,
            rules_only,
        } => rules::eval_command(
            &file,
            rules.as_deref().unwrap_or(&config.rules_dir),
            json,
            explain,
            rules_only,
        ),
    };
    print_outcome(output.map_err(|e| e.to_string()))
}

fn serve(config: Config) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        let app = match App::build(config).await {
            Ok(app) => app,
            Err(e) => {
                tracing::error!("cannot start: {e}");
                return ExitCode::FAILURE;
            }
        };
        match app.run_until(shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e}");
                ExitCode::FAILURE
            }
        }
    });
    // Dropping a runtime waits for its blocking threads without limit; a
    // flush stuck in the kernel (a failed disk) would keep the process
    // alive after SIGTERM. Everything acknowledged is on disk already.
    runtime.shutdown_timeout(SHUTDOWN_GRACE);
    code
}

/// How long stopping waits for blocking work (a flush) still running.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A plain HTTP/1.1 GET over a TCP socket: no client library, no curl.
fn healthcheck(config: &Config) -> ExitCode {
    let Some(mut addr) = config.listen_addr() else {
        return ExitCode::FAILURE;
    };
    // A wildcard listen address is reached on loopback.
    if addr.ip().is_unspecified() {
        let loopback = match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        };
        addr = SocketAddr::new(loopback, addr.port());
    }
    match probe(addr) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            tracing::error!(%addr, "healthz did not answer 200");
            ExitCode::FAILURE
        }
        Err(e) => {
            tracing::error!(%addr, error = %e, "healthz unreachable");
            ExitCode::FAILURE
        }
    }
}

fn probe(addr: SocketAddr) -> std::io::Result<bool> {
    let timeout = Duration::from_secs(3);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    Ok(head.starts_with(b"HTTP/1.1 200"))
}
