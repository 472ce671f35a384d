//! The seal: what the comments tree held at the last clean stop, kept in
//! `data_dir/db.seal`, outside sled's own files.
//!
//! sled recovers what it can read: a data file cut short, or with bytes
//! overwritten, opens without a word and serves what is left. So at a clean
//! stop the service writes the number of comments and a SHA-256 over every
//! comment (key and stored bytes, in key order) with `state = "clean"`; at
//! the next start it compares before serving anything, then marks the seal
//! `running`.
//!
//! What it detects: any change to the comments between a clean stop and
//! the next start (a truncated or corrupted file, a database swapped for an
//! older copy, a record lost to a bad sector). What it cannot: damage after
//! a crash or a SIGKILL (the seal then says `running` and only sled's own
//! recovery checks the files), damage while the service runs, and damage to
//! the index trees alone (which `moderato check` finds and repairs).

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Error, SledStore};
use crate::domain::now_millis;

/// The seal's file name, inside the data directory.
pub const SEAL_FILE: &str = "db.seal";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Seal {
    /// `clean` (written at a clean stop) or `running`.
    state: String,
    /// Comments stored.
    comments: u64,
    /// SHA-256 over every comment's key and value, hex.
    digest: String,
    /// When it was written, ms since the epoch.
    at: i64,
}

/// What a comparison with the seal found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealCheck {
    /// The database holds what it held at the last clean stop.
    Matches,
    /// No seal (a first start, data from before seals) or the last stop
    /// was not clean: nothing to compare with.
    Unknown(&'static str),
    /// The database differs from the last clean stop.
    Differs {
        /// Comments at the clean stop.
        sealed: u64,
        /// Comments now.
        found: u64,
    },
}

impl SledStore {
    /// The number of comments and a digest over all of them.
    fn contents_digest(&self) -> Result<(u64, String), Error> {
        let mut hasher = Sha256::new();
        let mut count = 0u64;
        for entry in self.comments.iter() {
            let (key, value) = entry?;
            hasher.update((key.len() as u64).to_be_bytes());
            hasher.update(&key);
            hasher.update((value.len() as u64).to_be_bytes());
            hasher.update(&value);
            count += 1;
        }
        Ok((count, hex::encode(hasher.finalize())))
    }

    /// Compares the comments with the seal in `data_dir`.
    ///
    /// # Errors
    /// A database error, or an unreadable seal file.
    pub fn check_seal(&self, data_dir: &Path) -> Result<SealCheck, Error> {
        let Some(seal) = read(data_dir)? else {
            return Ok(SealCheck::Unknown("no seal yet"));
        };
        if seal.state != "clean" {
            return Ok(SealCheck::Unknown(
                "the last stop was not clean (a crash or a kill)",
            ));
        }
        let (found, digest) = self.contents_digest()?;
        Ok(if found == seal.comments && digest == seal.digest {
            SealCheck::Matches
        } else {
            SealCheck::Differs {
                sealed: seal.comments,
                found,
            }
        })
    }

    /// Writes the seal: `clean` at a clean stop (after the last flush),
    /// `running` at start.
    ///
    /// # Errors
    /// A database error, or the file cannot be written.
    pub fn write_seal(&self, data_dir: &Path, clean: bool) -> Result<(), Error> {
        let (comments, digest) = if clean {
            self.contents_digest()?
        } else {
            (0, String::new())
        };
        let seal = Seal {
            state: if clean { "clean" } else { "running" }.to_owned(),
            comments,
            digest,
            at: now_millis(),
        };
        write(data_dir, &seal)
    }
}

fn io(e: std::io::Error) -> Error {
    Error::Unavailable {
        reason: super::reopen::io_reason(&e),
    }
}

fn read(data_dir: &Path) -> Result<Option<Seal>, Error> {
    match std::fs::read(data_dir.join(SEAL_FILE)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Corrupt {
                id: SEAL_FILE.into(),
                message: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(e)),
    }
}

/// Written to a temporary file, synced, then renamed over the old seal: a
/// crash leaves the old seal or the new one, never half of one.
fn write(data_dir: &Path, seal: &Seal) -> Result<(), Error> {
    use std::io::Write as _;
    let bytes = serde_json::to_vec(seal).map_err(|e| Error::Corrupt {
        id: SEAL_FILE.into(),
        message: e.to_string(),
    })?;
    let temporary = data_dir.join(format!("{SEAL_FILE}.tmp"));
    let mut file = std::fs::File::create(&temporary).map_err(io)?;
    file.write_all(&bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&temporary, data_dir.join(SEAL_FILE)).map_err(io)?;
    if let Ok(dir) = std::fs::File::open(data_dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_database_no_longer_matches_its_seal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(&dir.path().join("db"), 1 << 20).expect("open");
        assert_eq!(
            store.check_seal(dir.path()).expect("check"),
            SealCheck::Unknown("no seal yet")
        );
        store.write_seal(dir.path(), true).expect("seal");
        assert_eq!(
            store.check_seal(dir.path()).expect("check"),
            SealCheck::Matches
        );
        store
            .comments
            .insert([1u8; 16], b"{}".as_slice())
            .expect("insert");
        assert_eq!(
            store.check_seal(dir.path()).expect("check"),
            SealCheck::Differs {
                sealed: 0,
                found: 1
            }
        );
        store.write_seal(dir.path(), false).expect("running");
        assert!(matches!(
            store.check_seal(dir.path()).expect("check"),
            SealCheck::Unknown(_)
        ));
    }
}
