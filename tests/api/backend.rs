//! Which storage backend the tests run on. `TEST_MODERATO_BACKEND=postgres`
//! makes every `TestApp` and every real-binary test use PostgreSQL, each
//! on a fresh database of the server that `TEST_MODERATO_DATABASE_URL`
//! points to (a role allowed to create databases). `tests/with-postgres.sh`
//! starts a throw-away server and sets both; `tests/run.sh` runs the suite
//! once per backend.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use moderato::config::Config;

/// The backend of this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sled,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("TEST_MODERATO_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sled") | Err(_) => Backend::Sled,
        Ok(other) => panic!("TEST_MODERATO_BACKEND={other}: expected sled or postgres"),
    }
}

/// The server's URL for creating databases. Never optional: a test that
/// needs PostgreSQL fails without it rather than passing unseen.
pub fn server_url() -> String {
    std::env::var("TEST_MODERATO_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "TEST_MODERATO_DATABASE_URL is not set: run the tests with `bash tests/run.sh`, \
             or `bash tests/with-postgres.sh cargo test`, which start a throw-away PostgreSQL"
        )
    })
}

/// Runs `statements` (separated by `;`) on the database at `url`, on a
/// thread and runtime of its own, so it works from sync and async code.
pub fn sql(url: &str, statements: &str) {
    let (url, statements) = (url.to_owned(), statements.to_owned());
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(async {
                let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .expect("connect to the test server");
                tokio::spawn(connection);
                client
                    .batch_execute(&statements)
                    .await
                    .unwrap_or_else(|e| panic!("{statements}: {e:?}"));
            });
    })
    .join()
    .expect("sql thread");
}

/// A new, empty database; its URL.
pub fn fresh_database() -> String {
    static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
    let server = server_url();
    let name = format!(
        "t_{}_{}_{}",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed),
        hex::encode(moderato::domain::privacy::random_bytes::<4>().expect("random"))
    );
    sql(&server, &format!("CREATE DATABASE {name}"));
    let mut url = url::Url::parse(&server).expect("TEST_MODERATO_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Writes a new random master key file into `dir` (a new name each time:
/// a test may configure a service and a command in one directory).
pub fn key_file(dir: &Path) -> PathBuf {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
    let path = dir.join(format!(
        "master-{}.key",
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    ));
    let key = moderato::domain::privacy::random_bytes::<32>().expect("random");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(hex::encode(key).as_bytes()))
        .expect("write key file");
    path
}

/// Points `config` at a fresh database (and a key file in `dir`) when the
/// run is on PostgreSQL; leaves sled's data directory otherwise.
pub fn use_backend(config: &mut Config, dir: &Path) {
    if backend() == Backend::Postgres {
        config.database_url = fresh_database();
        config.master_key_file = key_file(dir).display().to_string();
    }
}

/// The environment that puts a real `moderato` process on this run's
/// backend, beside its `MODERATO_DATA_DIR`: a fresh database and a key
/// file in `dir` on PostgreSQL, nothing on sled. Call it once per service
/// and pass the same variables to every restart.
pub fn backend_env(dir: &Path) -> Vec<(&'static str, String)> {
    match backend() {
        Backend::Sled => Vec::new(),
        Backend::Postgres => vec![
            ("MODERATO_DATABASE_URL", fresh_database()),
            (
                "MODERATO_MASTER_KEY_FILE",
                key_file(dir).display().to_string(),
            ),
            // Required with a database URL, as for every replica; the
            // one the tests send, so a service started with these answers
            // them.
            (
                "MODERATO_ADMIN_TOKEN",
                crate::helpers::ADMIN_TOKEN.to_owned(),
            ),
        ],
    }
}

/// The PostgreSQL binaries (`pg_dump`): `TEST_MODERATO_PG_BIN`, or
/// Debian's newest.
pub fn pg_bin(name: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("TEST_MODERATO_PG_BIN") {
        return Path::new(&dir).join(name);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed under /usr/lib/postgresql")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version").join(name)
}

/// Everything in the database at `url`, as `pg_dump` prints it.
pub fn dump(url: &str) -> Vec<u8> {
    let output = std::process::Command::new(pg_bin("pg_dump"))
        .args(["--no-owner", "--dbname", url])
        .output()
        .expect("run pg_dump");
    assert!(
        output.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
