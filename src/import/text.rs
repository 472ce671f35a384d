//! The bytes of an XML export as valid UTF-8, with line accounting: what
//! quick-xml reads through, so that a stray byte costs one character and
//! every offset has a line and a column.

use std::io::{self, BufRead, Read};

use super::Position;

/// Where the stream was at the last mark.
#[derive(Debug, Clone, Copy, Default)]
struct Mark {
    offset: u64,
    line: u64,
    line_start: u64,
}

/// The bytes of a file as valid UTF-8 (a leading byte-order mark dropped,
/// invalid sequences replaced by U+FFFD, counted), with line accounting.
///
/// quick-xml rejects invalid UTF-8 outright; one stray Latin-1 byte in a
/// 200 MB export should cost one character, not the import. Positions are
/// counted in this repaired stream, so a column after a replaced byte may be
/// off by two; lines are exact.
pub(crate) struct TextSource<R> {
    inner: R,
    /// Raw bytes read; between reads only an incomplete UTF-8 tail.
    raw: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    started: bool,
    eof: bool,
    /// Invalid sequences replaced so far.
    pub(crate) replaced: u64,
    /// Bytes consumed by the XML reader so far.
    offset: u64,
    line: u64,
    line_start: u64,
    /// The position at the last [`TextSource::mark`], and the newlines
    /// consumed since: enough to place any error of the event read since.
    mark: Mark,
    newlines: Vec<u64>,
}

const CHUNK: usize = 64 * 1024;

impl<R: Read> TextSource<R> {
    pub(crate) fn new(inner: R) -> TextSource<R> {
        TextSource {
            inner,
            raw: Vec::with_capacity(CHUNK + 4),
            out: Vec::with_capacity(CHUNK + 16),
            out_pos: 0,
            started: false,
            eof: false,
            replaced: 0,
            offset: 0,
            line: 1,
            line_start: 0,
            mark: Mark {
                offset: 0,
                line: 1,
                line_start: 0,
            },
            newlines: Vec::new(),
        }
    }

    /// Notes the current position: [`TextSource::position_of`] places
    /// offsets from here on.
    pub(crate) fn mark(&mut self) {
        self.mark = Mark {
            offset: self.offset,
            line: self.line,
            line_start: self.line_start,
        };
        self.newlines.clear();
    }

    /// The line and column of byte `at`, which lies at or after the mark
    /// (earlier offsets get the mark's position).
    pub(crate) fn position_of(&self, at: u64) -> Position {
        if at <= self.mark.offset {
            let column = self.mark.offset.saturating_sub(self.mark.line_start) + 1;
            return Position::Text {
                line: self.mark.line,
                column,
            };
        }
        let before = self.newlines.partition_point(|&n| n < at);
        let line_start = match before {
            0 => self.mark.line_start,
            k => self.newlines[k - 1] + 1,
        };
        Position::Text {
            line: self.mark.line + before as u64,
            column: at.saturating_sub(line_start) + 1,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.out_pos = 0;
        while self.out.is_empty() && !self.eof {
            let tail = self.raw.len();
            self.raw.resize(tail + CHUNK, 0);
            let n = loop {
                match self.inner.read(&mut self.raw[tail..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        self.raw.truncate(tail);
                        return Err(e);
                    }
                }
            };
            self.raw.truncate(tail + n);
            self.eof = n == 0;
            if !self.started {
                if self.raw.len() < 3 && !self.eof {
                    continue;
                }
                if self.raw.starts_with(b"\xEF\xBB\xBF") {
                    self.raw.drain(..3);
                }
                self.started = true;
            }
            self.repair();
        }
        Ok(())
    }

    /// Moves the valid UTF-8 of `raw` to `out`, replacing invalid sequences
    /// and keeping an incomplete tail for the next read.
    fn repair(&mut self) {
        const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();
        let mut start = 0;
        while start < self.raw.len() {
            match std::str::from_utf8(&self.raw[start..]) {
                Ok(valid) => {
                    self.out.extend_from_slice(valid.as_bytes());
                    start = self.raw.len();
                }
                Err(e) => {
                    let valid_end = start + e.valid_up_to();
                    self.out.extend_from_slice(&self.raw[start..valid_end]);
                    match e.error_len() {
                        Some(len) => {
                            self.out.extend_from_slice(REPLACEMENT);
                            self.replaced += 1;
                            start = valid_end + len;
                        }
                        None if self.eof => {
                            self.out.extend_from_slice(REPLACEMENT);
                            self.replaced += 1;
                            start = self.raw.len();
                        }
                        None => {
                            start = valid_end;
                            break;
                        }
                    }
                }
            }
        }
        self.raw.drain(..start);
    }
}

impl<R: Read> Read for TextSource<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for TextSource<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.out_pos >= self.out.len() {
            self.refill()?;
        }
        Ok(&self.out[self.out_pos..])
    }

    fn consume(&mut self, amt: usize) {
        let end = (self.out_pos + amt).min(self.out.len());
        let consumed = &self.out[self.out_pos..end];
        for i in memchr::memchr_iter(b'\n', consumed) {
            let at = self.offset + i as u64;
            self.line += 1;
            self.line_start = at + 1;
            self.newlines.push(at);
        }
        self.offset += consumed.len() as u64;
        self.out_pos = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads every byte through a `TextSource` fed `chunk` bytes at a time.
    fn repaired(input: &[u8], chunk: usize) -> (String, u64) {
        struct Trickle<'a>(&'a [u8], usize);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut source = TextSource::new(Trickle(input, chunk));
        let mut out = Vec::new();
        source.read_to_end(&mut out).expect("in memory");
        (String::from_utf8(out).expect("repaired"), source.replaced)
    }

    #[test]
    fn multibyte_characters_split_across_reads_survive() {
        let text = "é😀中文עברית";
        for chunk in 1..8 {
            assert_eq!(
                repaired(text.as_bytes(), chunk),
                (text.to_owned(), 0),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn invalid_bytes_become_replacement_characters_and_are_counted() {
        let input = b"caf\xE9 au lait \xF0\x9F";
        for chunk in [1, 2, 64] {
            assert_eq!(
                repaired(input, chunk),
                ("caf\u{FFFD} au lait \u{FFFD}".to_owned(), 2),
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        assert_eq!(repaired(b"\xEF\xBB\xBF<rss/>", 1).0, "<rss/>");
    }
}
