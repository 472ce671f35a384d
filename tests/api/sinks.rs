//! Real local receivers for notifications: a minimal SMTP server speaking
//! the protocol over TCP (EHLO, MAIL, RCPT, DATA, QUIT), and an HTTP
//! webhook receiver (warp on a real socket).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use warp::Filter;

/// One message as the SMTP server received it.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, dot-unstuffed, CRLF line ends.
    pub data: String,
}

impl Mail {
    /// The body with quoted-printable soft breaks and escapes decoded.
    pub fn body(&self) -> String {
        let (headers, body) = self.data.split_once("\r\n\r\n").expect("headers and body");
        if headers
            .to_ascii_lowercase()
            .contains("content-transfer-encoding: quoted-printable")
        {
            decode_quoted_printable(body)
        } else {
            assert!(
                !headers.to_ascii_lowercase().contains("base64"),
                "test mails are ASCII: {headers}"
            );
            body.to_owned()
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        let (headers, _) = self.data.split_once("\r\n\r\n")?;
        let prefix = format!("{}:", name.to_ascii_lowercase());
        headers
            .split("\r\n")
            .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
            .map(|line| line[prefix.len()..].trim().to_owned())
    }
}

pub fn decode_quoted_printable(body: &str) -> String {
    let joined = body.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("utf-8 body")
}

/// A running SMTP server; received mails arrive on `mails`.
pub struct SmtpSink {
    pub addr: SocketAddr,
    pub mails: mpsc::UnboundedReceiver<Mail>,
}

/// Starts an SMTP server that answers `451` (try again later) to the first
/// `fail_first` transactions, then accepts every message.
pub async fn smtp_sink(fail_first: usize) -> SmtpSink {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
    let addr = listener.local_addr().expect("addr");
    let (tx, mails) = mpsc::unbounded_channel();
    let failures = Arc::new(AtomicUsize::new(fail_first));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            let failures = failures.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read);
                if !reply(&mut write, "220 sink.test ESMTP test sink\r\n").await {
                    return;
                }
                let (mut from, mut to) = (String::new(), Vec::new());
                let mut line = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let command = line.trim_end().to_owned();
                    let verb = command
                        .split([' ', ':'])
                        .next()
                        .unwrap_or("")
                        .to_ascii_uppercase();
                    let answer = match verb.as_str() {
                        "EHLO" | "HELO" => {
                            "250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n".to_owned()
                        }
                        "MAIL" => {
                            let failing = failures
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                    n.checked_sub(1)
                                })
                                .is_ok();
                            if failing {
                                "451 4.3.0 try again later\r\n".to_owned()
                            } else {
                                from = command.clone();
                                to.clear();
                                "250 OK\r\n".to_owned()
                            }
                        }
                        "RCPT" => {
                            to.push(command.clone());
                            "250 OK\r\n".to_owned()
                        }
                        "DATA" => {
                            if !reply(&mut write, "354 end with <CRLF>.<CRLF>\r\n").await {
                                return;
                            }
                            let mut data = String::new();
                            loop {
                                line.clear();
                                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                                    return;
                                }
                                if line == ".\r\n" {
                                    break;
                                }
                                let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                                data.push_str(unstuffed);
                            }
                            let _ = tx.send(Mail {
                                from: from.clone(),
                                to: to.clone(),
                                data,
                            });
                            "250 OK queued\r\n".to_owned()
                        }
                        "RSET" | "NOOP" => "250 OK\r\n".to_owned(),
                        "QUIT" => {
                            let _ = reply(&mut write, "221 bye\r\n").await;
                            return;
                        }
                        _ => "502 command not implemented\r\n".to_owned(),
                    };
                    if !reply(&mut write, &answer).await {
                        return;
                    }
                }
            });
        }
    });
    SmtpSink { addr, mails }
}

async fn reply(w: &mut tokio::net::tcp::OwnedWriteHalf, text: &str) -> bool {
    w.write_all(text.as_bytes()).await.is_ok()
}

/// One webhook request as received.
#[derive(Debug, Clone)]
pub struct Hook {
    pub signature: Option<String>,
    pub event: Option<String>,
    pub content_type: Option<String>,
    pub body: Bytes,
}

/// A running webhook receiver at `http://{addr}/hook`.
pub struct HookSink {
    pub addr: SocketAddr,
    pub hooks: mpsc::UnboundedReceiver<Hook>,
}

impl HookSink {
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }
}

/// Starts a webhook receiver that answers 503 to the first `fail_first`
/// requests (recording them all), then 204.
pub async fn hook_sink(fail_first: usize) -> HookSink {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind hook");
    let addr = listener.local_addr().expect("addr");
    let (tx, hooks) = mpsc::unbounded_channel();
    let failures = Arc::new(AtomicUsize::new(fail_first));
    let route = warp::path!("hook")
        .and(warp::post())
        .and(warp::header::optional::<String>("x-moderato-signature"))
        .and(warp::header::optional::<String>("x-moderato-event"))
        .and(warp::header::optional::<String>("content-type"))
        .and(warp::body::bytes())
        .map(move |signature, event, content_type, body: Bytes| {
            let _ = tx.send(Hook {
                signature,
                event,
                content_type,
                body,
            });
            let failing = failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if failing {
                warp::http::StatusCode::SERVICE_UNAVAILABLE
            } else {
                warp::http::StatusCode::NO_CONTENT
            }
        });
    tokio::spawn(warp::serve(route).incoming(listener).run());
    HookSink { addr, hooks }
}
