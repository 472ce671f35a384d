//! Secrets kept in the data directory: the admin token and the master key
//! (or, for replicas sharing PostgreSQL, a key file of its own and the
//! token from the configuration).
//!
//! Both are generated on the first start that needs them, written with mode
//! 0600, and read back on every later start. The master key is never
//! generated next to an existing database (a new key would make every
//! stored email unreadable), and its key check value (`key.check`, see
//! [`crate::domain::privacy::Privacy::key_check`]) is kept beside it, so a
//! wrong key is refused before it writes anything, whatever the backend. The master key never leaves
//! this process; [`crate::domain::privacy`] derives one sub-key per purpose from it,
//! so that a leak of one derived value does not expose the others.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::domain::privacy::random_bytes;

/// File name of the generated admin token, inside the data directory.
pub const ADMIN_TOKEN_FILE: &str = "admin_token";
/// File name of the 32-byte master key (hex), inside the data directory.
pub const MASTER_KEY_FILE: &str = "secret.key";
/// File name of the master key's check value, inside the data directory.
pub const KEY_CHECK_FILE: &str = "key.check";

/// Why a secret could not be read or created.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing the file failed.
    #[error("secret file {path}: {source}{}", permission_hint(source))]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file exists but does not hold what it should.
    #[error("secret file {path} is damaged: {problem}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: &'static str,
    },
    /// The master key is missing while a database exists.
    #[error(
        "the master key {path} is missing, but the data directory holds a database: \
         restore secret.key from your backup (without it no stored email can be read); \
         no new key is made over existing data"
    )]
    MissingKey {
        /// Where the key should be.
        path: PathBuf,
    },
    /// The master key is not the one the data was written with.
    #[error(
        "the master key {path} is not the key this data directory was written with \
         (its check value differs from key.check): put the right secret.key back \
         (from your backup)"
    )]
    WrongKey {
        /// The key file.
        path: PathBuf,
    },
    /// A secret file can be read by other users.
    #[error("secret file {path} can be read by other users (mode {mode:o}): run chmod 600 on it")]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The operating system gave no random bytes.
    #[error("no randomness available: {0}")]
    Random(#[from] getrandom::Error),
}

/// The admin token as read or generated, and whether this start generated
/// it.
#[derive(Clone)]
pub struct TokenFile {
    /// The token itself.
    pub token: String,
    /// True on the start that created it: the caller prints it once.
    pub generated: bool,
}

impl std::fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFile")
            .field("generated", &self.generated)
            .finish_non_exhaustive()
    }
}

/// Creates the data directory (mode 0700) if it is missing.
///
/// # Errors
/// [`Error::Io`] when it cannot be created.
pub fn ensure_data_dir(dir: &Path) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    if !dir.exists() {
        fs::create_dir_all(dir).map_err(io)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    Ok(())
}

/// Returns the configured token, or the one in the data directory, or a new
/// one written there.
///
/// # Errors
/// [`Error`] when the file cannot be read or written.
pub fn admin_token(data_dir: &Path, configured: Option<&str>) -> Result<TokenFile, Error> {
    if let Some(token) = configured {
        return Ok(TokenFile {
            token: token.trim().to_owned(),
            generated: false,
        });
    }
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    if let Some(text) = read_existing(&path)? {
        let token = text.trim().to_owned();
        if token.len() < 16 {
            return Err(Error::Damaged {
                path,
                problem: "the token is shorter than 16 characters",
            });
        }
        return Ok(TokenFile {
            token,
            generated: false,
        });
    }
    let token = hex::encode(random_bytes::<24>()?);
    write_new(&path, token.as_bytes())?;
    Ok(TokenFile {
        token,
        generated: true,
    })
}

/// Returns the master key from the data directory, generating it on first
/// use, that is only when `data_exists` is false: a missing key next to
/// existing data is [`Error::MissingKey`].
///
/// # Errors
/// [`Error`] when the file cannot be read, written or decoded.
pub fn master_key(data_dir: &Path, data_exists: bool) -> Result<[u8; 32], Error> {
    let path = data_dir.join(MASTER_KEY_FILE);
    if path.exists() {
        return master_key_from_file(&path);
    }
    if data_exists {
        return Err(Error::MissingKey { path });
    }
    let key = random_bytes::<32>()?;
    write_new(&path, hex::encode(key).as_bytes())?;
    Ok(key)
}

/// Reads the master key from a file of its own (`master_key_file`: the
/// replicas of one database share it). Never creates one: a replica that
/// made up its own key would write what no other replica can read. Like
/// every secret file it must not be readable by other users.
///
/// # Errors
/// [`Error`] when the file is missing, unreadable or not 64 hex characters.
pub fn master_key_from_file(path: &Path) -> Result<[u8; 32], Error> {
    let text = read_existing(path)?.ok_or_else(|| Error::Io {
        path: path.to_owned(),
        source: std::io::ErrorKind::NotFound.into(),
    })?;
    let mut key = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut key).map_err(|_| Error::Damaged {
        path: path.to_owned(),
        problem: "expected 64 hexadecimal characters",
    })?;
    Ok(key)
}

/// Compares the master key's check value (`check`) with the one kept in
/// the data directory, writing it there when there is none yet (the first
/// start, or data written before check values existed).
///
/// # Errors
/// [`Error::WrongKey`] when they differ; [`Error::Io`].
pub fn verify_key_check(data_dir: &Path, check: &str) -> Result<(), Error> {
    let path = data_dir.join(KEY_CHECK_FILE);
    match read_existing(&path)? {
        Some(kept) if kept.trim() == check => Ok(()),
        Some(_) => Err(Error::WrongKey {
            path: data_dir.join(MASTER_KEY_FILE),
        }),
        None => write_new(&path, check.as_bytes()),
    }
}

/// The key check value kept in the data directory, if any.
///
/// # Errors
/// [`Error::Io`] when it cannot be read.
pub fn kept_key_check(data_dir: &Path) -> Result<Option<String>, Error> {
    Ok(read_existing(&data_dir.join(KEY_CHECK_FILE))?.map(|text| text.trim().to_owned()))
}

/// A hint for the most common start-up failure with a data directory.
fn permission_hint(error: &std::io::Error) -> &'static str {
    if error.kind() == std::io::ErrorKind::PermissionDenied {
        " (the data directory and its files must belong to the user moderato runs as: \
         chown -R that user, chmod 700 the directory)"
    } else {
        ""
    }
}

fn read_existing(path: &Path) -> Result<Option<String>, Error> {
    match fs::read_to_string(path) {
        Ok(text) => {
            let mode = fs::metadata(path)
                .map_err(|source| Error::Io {
                    path: path.to_owned(),
                    source,
                })?
                .permissions()
                .mode();
            if mode & 0o077 != 0 && path.file_name().is_some_and(|n| n != KEY_CHECK_FILE) {
                return Err(Error::Exposed {
                    path: path.to_owned(),
                    mode: mode & 0o777,
                });
            }
            Ok(Some(text))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Writes a new secret with mode 0600 from the first byte on (never readable
/// by others, not even briefly), and syncs it before anything depends on it.
fn write_new(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    file.write_all(contents).map_err(io)?;
    file.write_all(b"\n").map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_private_and_stable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = admin_token(dir.path(), None).expect("generate");
        assert!(first.generated);
        let second = admin_token(dir.path(), None).expect("read back");
        assert!(
            !second.generated,
            "printed only at the start that created it"
        );
        assert_eq!(first.token, second.token);

        let key = master_key(dir.path(), false).expect("generate key");
        assert_eq!(key, master_key(dir.path(), true).expect("read key"));

        for name in [ADMIN_TOKEN_FILE, MASTER_KEY_FILE] {
            let mode = fs::metadata(dir.path().join(name))
                .expect("metadata")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name} must be mode 0600");
        }
    }

    #[test]
    fn configured_token_wins_and_writes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let token = admin_token(dir.path(), Some("configured-token-0123")).expect("token");
        assert_eq!(token.token, "configured-token-0123");
        assert!(!dir.path().join(ADMIN_TOKEN_FILE).exists());
    }

    #[test]
    fn a_damaged_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(MASTER_KEY_FILE), "not hex").expect("write");
        fs::set_permissions(
            dir.path().join(MASTER_KEY_FILE),
            fs::Permissions::from_mode(0o600),
        )
        .expect("chmod");
        assert!(matches!(
            master_key(dir.path(), false),
            Err(Error::Damaged { .. })
        ));
    }

    #[test]
    fn no_key_is_made_next_to_existing_data_and_a_wrong_key_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            master_key(dir.path(), true),
            Err(Error::MissingKey { .. })
        ));
        assert!(!dir.path().join(MASTER_KEY_FILE).exists());
        verify_key_check(dir.path(), "aaaa").expect("first start writes it");
        verify_key_check(dir.path(), "aaaa").expect("same key");
        assert!(matches!(
            verify_key_check(dir.path(), "bbbb"),
            Err(Error::WrongKey { .. })
        ));
    }

    #[test]
    fn a_secret_readable_by_others_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        master_key(dir.path(), false).expect("generate");
        let path = dir.path().join(MASTER_KEY_FILE);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
        let error = master_key(dir.path(), true).expect_err("exposed");
        assert!(error.to_string().contains("chmod 600"), "{error}");
    }
}
