//! moderato's own export format (JSON Lines, the lossless backup): written
//! by [`export`], a line per comment ([`Moderator::export_line`]), and read
//! back as an import by [`Lines`] a line at a time with its line number. A
//! line that is not JSON makes the file malformed (nothing is stored); a
//! JSON line that is not a valid comment is a record error, and the other
//! lines import.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::wxr::ExportError;
use crate::domain::moderation::Moderator;

use crate::import::Position;

/// Longest line read, in bytes: a comment of 65,535 characters with its
/// fields fits many times over; a longer one is not a line of ours.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// The lines of an NDJSON file, blank ones left out.
#[derive(Debug)]
pub struct Lines {
    input: BufReader<File>,
    line: u64,
    buffer: Vec<u8>,
}

/// A file that is not JSON Lines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{position}: {message}")]
pub struct Malformed {
    /// The line.
    pub position: Position,
    /// What is wrong.
    pub message: String,
}

impl Lines {
    /// Opens `path`.
    ///
    /// # Errors
    /// It cannot be opened.
    pub fn open(path: &Path) -> std::io::Result<Lines> {
        Ok(Lines {
            input: BufReader::with_capacity(256 * 1024, File::open(path)?),
            line: 0,
            buffer: Vec::with_capacity(4096),
        })
    }

    /// The next non-blank line and where it is; `None` at the end.
    ///
    /// # Errors
    /// [`Malformed`] for a line that is not a JSON object (or too long),
    /// or when the file cannot be read.
    pub fn next_line(&mut self) -> Result<Option<(Position, &[u8])>, Malformed> {
        loop {
            self.buffer.clear();
            self.line += 1;
            let position = Position::Text {
                line: self.line,
                column: 1,
            };
            let read = Read::take(&mut self.input, MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut self.buffer)
                .map_err(|e| Malformed {
                    position,
                    message: format!("cannot read the file: {e}"),
                })?;
            if read == 0 {
                return Ok(None);
            }
            if self.buffer.len() > MAX_LINE_BYTES {
                return Err(Malformed {
                    position,
                    message: format!("the line is longer than {MAX_LINE_BYTES} bytes"),
                });
            }
            // A byte order mark, as Windows editors write it, is not part
            // of the first record.
            if self.line == 1 && self.buffer.starts_with(b"\xEF\xBB\xBF") {
                self.buffer.drain(..3);
            }
            let raw = self.buffer.trim_ascii();
            if raw.is_empty() {
                continue;
            }
            if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(raw) {
                return Err(Malformed {
                    position,
                    message: format!("not valid JSON: {e}"),
                });
            }
            let start = self.buffer.len() - self.buffer.trim_ascii_start().len();
            let end = start + raw.len();
            return Ok(Some((position, &self.buffer[start..end])));
        }
    }
}

/// Comments read from the store at a time while exporting.
const EXPORT_BATCH: usize = 512;

/// Writes every stored comment to `out`, oldest first, one line each, with
/// the decrypted email, then every reader's mail address record. How many
/// comments.
///
/// # Errors
/// Reading or writing failed (`out` then holds a partial file).
pub async fn export<W: std::io::Write>(
    moderator: &Moderator,
    mut out: W,
) -> Result<(W, u64), ExportError> {
    let encoding = |e: serde_json::Error| ExportError::Io(std::io::Error::other(e));
    let mut count = 0u64;
    let mut after = None;
    loop {
        let batch = moderator
            .store()
            .comments_after(after, EXPORT_BATCH)
            .await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.id);
        for comment in &batch {
            out.write_all(&moderator.export_line(comment).map_err(encoding)?)?;
            count += 1;
        }
    }
    let mut readers = 0u64;
    let mut after = None;
    loop {
        let batch = moderator
            .store()
            .subscribers_after(after, EXPORT_BATCH)
            .await?;
        let Some(last) = batch.last() else { break };
        after = Some(last.email_key());
        for record in &batch {
            if let Some(line) = moderator.export_subscriber_line(record).map_err(encoding)? {
                out.write_all(&line)?;
                readers += 1;
            }
        }
    }
    out.flush()?;
    tracing::info!(comments = count, readers, "NDJSON export");
    Ok((out, count))
}
