//! Streaming XML for the WXR and Disqus readers: quick-xml's namespace-aware
//! reader over a [`TextSource`] (invalid UTF-8 repaired, lines counted), so
//! every element and every error has a line and a column.
//!
//! No DOM is ever built: a reader asks for the next element, the text of the
//! one it is in, or to skip it. Error messages are written here, from the
//! kind of error only: quick-xml's own messages may quote the file.

use std::io::Read;

use quick_xml::errors::{Error as XmlError, IllFormedError};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use super::text::TextSource;
use super::{Error, Position};

/// The namespaces the readers tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    /// No namespace (RSS's own elements).
    None,
    /// `http://wordpress.org/export/1.0/` .. `1.2/`.
    Wp,
    /// `http://disqus.com`.
    Disqus,
    /// `http://disqus.com/disqus-internals`.
    DisqusInternals,
    /// Anything else (content:, dc:, excerpt:, wfw:, ...).
    Other,
}

impl Ns {
    fn of(uri: &str) -> Ns {
        let rest = uri
            .strip_prefix("http://")
            .or_else(|| uri.strip_prefix("https://"))
            .unwrap_or(uri);
        let rest = rest.trim_end_matches('/');
        if let Some(version) = rest.strip_prefix("wordpress.org/export/") {
            return match version {
                "1.0" | "1.1" | "1.2" => Ns::Wp,
                _ => Ns::Other,
            };
        }
        match rest {
            "disqus.com" => Ns::Disqus,
            "disqus.com/disqus-internals" => Ns::DisqusInternals,
            _ => Ns::Other,
        }
    }
}

/// A start (or empty) element.
#[derive(Debug, Clone)]
pub(crate) struct Tag<N> {
    /// What the reader's classifier made of its namespace and local name.
    pub name: N,
    /// `<x/>`: no content, no end event.
    pub empty: bool,
    /// The value of an attribute whose local name is `id` (Disqus's
    /// `dsq:id`), if any.
    pub id_attr: Option<String>,
    /// Where its `<` is.
    pub position: Position,
}

/// One step through the document.
#[derive(Debug)]
pub(crate) enum Step<N> {
    /// An element starts.
    Start(Tag<N>),
    /// The innermost open element ends.
    End,
    /// Text, comments, declarations: nothing a reader needs at this level.
    Other,
    /// The document ended, every element closed.
    Eof,
}

/// An open element: its qualified name and line, for the truncation error.
#[derive(Debug)]
struct Open {
    name: String,
    line: u64,
}

/// The XML stream of one file.
pub(crate) struct XmlInput<R: Read> {
    reader: NsReader<TextSource<R>>,
    buf: Vec<u8>,
    /// Open elements; `depth` of them are live, the rest keep their
    /// allocations for reuse.
    stack: Vec<Open>,
    depth: usize,
}

impl<R: Read> std::fmt::Debug for XmlInput<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XmlInput")
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

impl<R: Read> XmlInput<R> {
    pub(crate) fn new(input: R) -> XmlInput<R> {
        XmlInput {
            reader: NsReader::from_reader(TextSource::new(input)),
            buf: Vec::with_capacity(8 * 1024),
            stack: Vec::new(),
            depth: 0,
        }
    }

    /// How many invalid UTF-8 sequences were replaced so far.
    pub(crate) fn replaced_invalid_utf8(&self) -> u64 {
        self.reader.get_ref().replaced
    }

    /// Open elements right now (the document element counts 1).
    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    /// The next step; `classify` names an element from its namespace and
    /// local name.
    pub(crate) fn next<N>(&mut self, classify: impl Fn(Ns, &str) -> N) -> Result<Step<N>, Error> {
        self.reader.get_mut().mark();
        let position = self
            .reader
            .get_ref()
            .position_of(self.reader.buffer_position());
        self.buf.clear();
        let (ns, event) = match self.reader.read_resolved_event_into(&mut self.buf) {
            Ok((ns, event)) => (resolve(ns), event),
            Err(e) => return Err(self.xml_error(&e)),
        };
        match event {
            Event::Start(start) => {
                let tag = Tag {
                    name: classify(ns, start.local_name().into_inner()),
                    empty: false,
                    id_attr: id_attribute(&start),
                    position,
                };
                let name = start.name().into_inner();
                let line = match position {
                    Position::Text { line, .. } => line,
                    Position::Row { .. } => 0,
                };
                if let Some(open) = self.stack.get_mut(self.depth) {
                    open.name.clear();
                    open.name.push_str(name);
                    open.line = line;
                } else {
                    self.stack.push(Open {
                        name: name.to_owned(),
                        line,
                    });
                }
                self.depth += 1;
                Ok(Step::Start(tag))
            }
            Event::Empty(start) => Ok(Step::Start(Tag {
                name: classify(ns, start.local_name().into_inner()),
                empty: true,
                id_attr: id_attribute(&start),
                position,
            })),
            Event::End(_) => {
                self.depth = self.depth.saturating_sub(1);
                Ok(Step::End)
            }
            Event::Decl(decl) => {
                if let Some(Ok(encoding)) = decl.encoding() {
                    let encoding = encoding.trim();
                    if !encoding.eq_ignore_ascii_case("utf-8")
                        && !encoding.eq_ignore_ascii_case("utf8")
                    {
                        return Err(Error::Encoding(safe_name(encoding)));
                    }
                }
                Ok(Step::Other)
            }
            Event::Eof if self.depth == 0 => Ok(Step::Eof),
            Event::Eof => Err(self.truncated()),
            Event::Text(_)
            | Event::CData(_)
            | Event::GeneralRef(_)
            | Event::Comment(_)
            | Event::PI(_)
            | Event::DocType(_) => Ok(Step::Other),
        }
    }

    /// The text of the element `tag` just started (CDATA sections joined,
    /// references resolved, nested elements' text included), up to its end.
    pub(crate) fn text<N>(&mut self, tag: &Tag<N>) -> Result<String, Error> {
        let mut text = String::new();
        if tag.empty {
            return Ok(text);
        }
        let mut nested = 0usize;
        loop {
            self.reader.get_mut().mark();
            self.buf.clear();
            let event = match self.reader.read_event_into(&mut self.buf) {
                Ok(event) => event,
                Err(e) => return Err(self.xml_error(&e)),
            };
            match event {
                Event::Text(t) => text.push_str(&t.xml10_content()),
                Event::CData(c) => text.push_str(&c.xml10_content()),
                Event::GeneralRef(r) => push_reference(&mut text, &r),
                Event::Start(_) => nested += 1,
                Event::End(_) if nested == 0 => {
                    self.depth -= 1;
                    return Ok(text);
                }
                Event::End(_) => nested -= 1,
                Event::Eof => return Err(self.truncated()),
                _ => {}
            }
        }
    }

    /// Skips the rest of the element `tag` just started.
    pub(crate) fn skip<N>(&mut self, tag: &Tag<N>) -> Result<(), Error> {
        if tag.empty {
            return Ok(());
        }
        let mut nested = 0usize;
        loop {
            self.reader.get_mut().mark();
            self.buf.clear();
            match self.reader.read_event_into(&mut self.buf) {
                Ok(Event::Start(_)) => nested += 1,
                Ok(Event::End(_)) if nested == 0 => {
                    self.depth -= 1;
                    return Ok(());
                }
                Ok(Event::End(_)) => nested -= 1,
                Ok(Event::Eof) => return Err(self.truncated()),
                Ok(_) => {}
                Err(e) => return Err(self.xml_error(&e)),
            }
        }
    }

    /// The file ended with elements open: names the innermost one that
    /// [`XmlInput::next`] opened (`text` and `skip` read below it).
    fn truncated(&self) -> Error {
        let position = self
            .reader
            .get_ref()
            .position_of(self.reader.buffer_position());
        match self.stack[..self.depth].last() {
            Some(open) => Error::Truncated {
                position,
                element: safe_name(&open.name),
                opened_line: open.line,
            },
            None => Error::Xml {
                position,
                message: "unexpected end of file".into(),
            },
        }
    }

    fn xml_error(&self, e: &XmlError) -> Error {
        let position = self
            .reader
            .get_ref()
            .position_of(self.reader.error_position());
        let message = match e {
            XmlError::Io(io) => format!("read error ({})", io.kind()),
            XmlError::Syntax(syntax) => syntax.to_string(),
            XmlError::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => format!(
                "expected </{}> but found </{}>",
                safe_name(expected),
                safe_name(found)
            ),
            XmlError::IllFormed(IllFormedError::UnmatchedEndTag(name)) => {
                format!("</{}> closes no open element", safe_name(name))
            }
            XmlError::IllFormed(_) => "ill-formed markup".into(),
            XmlError::InvalidAttr(_) => "invalid attribute".into(),
            XmlError::Encoding(_) => "invalid text encoding".into(),
            XmlError::Escape(_) => "invalid character or entity reference".into(),
            XmlError::Namespace(_) => "undeclared or invalid namespace prefix".into(),
        };
        Error::Xml { position, message }
    }
}

/// The end of the file inside `tag`: [`XmlInput::next`] reports it as
/// [`Error::Truncated`] first, so a reader only needs this to avoid a panic.
pub(crate) fn unexpected_eof<N>(tag: &Tag<N>) -> Error {
    Error::Xml {
        position: tag.position,
        message: "unexpected end of file".into(),
    }
}

fn resolve(ns: ResolveResult<'_>) -> Ns {
    match ns {
        ResolveResult::Bound(uri) => Ns::of(uri.into_inner()),
        ResolveResult::Unbound => Ns::None,
        ResolveResult::Unknown(_) => Ns::Other,
    }
}

fn id_attribute(start: &quick_xml::events::BytesStart<'_>) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().into_inner() == "id")
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.trim().to_owned())
        })
}

/// Appends a reference (`&amp;`, `&#233;`, ...). Entities XML does not
/// define (`&nbsp;` without a DTD) are kept as written: the content is
/// HTML-ish, and the sanitizer reads them later.
fn push_reference(text: &mut String, reference: &quick_xml::events::BytesRef<'_>) {
    if reference.is_char_ref() {
        // An invalid number (`&#0;`, out of range) is dropped.
        if let Ok(Some(c)) = reference.resolve_char_ref() {
            text.push(c);
        }
        return;
    }
    let name: &str = reference;
    match name {
        "amp" => text.push('&'),
        "lt" => text.push('<'),
        "gt" => text.push('>'),
        "quot" => text.push('"'),
        "apos" => text.push('\''),
        other => {
            text.push('&');
            text.push_str(other);
            text.push(';');
        }
    }
}

/// An element or encoding name for a message: XML names cannot hold an
/// address, but a broken file can put anything where a name should be.
fn safe_name(name: &str) -> String {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-' | '.'));
    if ok {
        name.to_owned()
    } else {
        "(unreadable name)".to_owned()
    }
}

/// The local name of the document element of an XML text's beginning:
/// skips the declaration, comments, processing instructions and a doctype.
pub(crate) fn root_element(text: &str) -> Option<&str> {
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("<?") {
            rest = &after[after.find("?>")? + 2..];
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = &after[after.find("-->")? + 3..];
        } else if let Some(after) = rest.strip_prefix("<!") {
            rest = &after[after.find('>')? + 1..];
        } else if let Some(after) = rest.strip_prefix('<') {
            let end = after
                .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .unwrap_or(after.len());
            let name = &after[..end];
            return Some(name.rsplit(':').next().unwrap_or(name));
        } else {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_element_skips_the_prolog() {
        let text = "<?xml version=\"1.0\"?>\n<!-- c -->\n<!DOCTYPE x>\n<dsq:disqus xmlns=\"\">";
        assert_eq!(root_element(text), Some("disqus"));
        assert_eq!(root_element("plain text"), None);
    }

    #[test]
    fn names_that_could_hold_anything_are_withheld() {
        assert_eq!(safe_name("wp:comment"), "wp:comment");
        assert_eq!(safe_name("reader@example.org"), "(unreadable name)");
    }
}
