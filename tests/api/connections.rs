//! What the server does with slow, idle and oversize clients.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app, test_config};

/// Reads until the server closes the connection; returns what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let result =
        tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut received)).await;
    assert!(
        result.is_ok(),
        "the server should have closed the connection"
    );
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn slow_and_idle_connections_are_closed_after_the_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(&dir);
    config.request_timeout_secs = 1;
    let app = spawn_app(config).await;

    // Idle: connects and sends nothing.
    let mut idle = TcpStream::connect(app.addr).await.expect("connect");
    read_until_closed(&mut idle).await;

    // Slow headers: never finishes them.
    let mut slow = TcpStream::connect(app.addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    read_until_closed(&mut slow).await;

    // Slow body: announces 100 bytes, sends 10.
    let mut body = TcpStream::connect(app.addr).await.expect("connect");
    body.write_all(b"POST /api/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"page\":\"/").await.expect("write");
    let answer = read_until_closed(&mut body).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // The server still serves everyone else.
    let ok = reqwest::get(app.url("/healthz")).await.expect("get");
    assert_eq!(ok.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn oversize_headers_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(test_config(&dir)).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    let huge = "x".repeat(64 * 1024);
    let request = format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let answer = read_until_closed(&mut stream).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
    app.shutdown().await;
}

#[tokio::test]
async fn an_oversize_body_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = spawn_app(test_config(&dir)).await;
    let mut stream = TcpStream::connect(app.addr).await.expect("connect");
    // Announce 10 MiB, send none of it: the answer comes from the header alone.
    stream
        .write_all(b"POST /api/comments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n")
        .await
        .expect("write");
    let mut head = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut head))
        .await
        .expect("answered at once")
        .expect("read");
    assert_eq!(&head, b"HTTP/1.1 413");
    app.shutdown().await;
}
