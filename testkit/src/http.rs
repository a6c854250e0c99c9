//! Plain HTTP/1.1 on loopback for tests: a stand-in server ([`HttpStub`]) that answers
//! every request through a handler, for services the node calls out to (an
//! OpenTelemetry collector, an L1 endpoint that misbehaves), and the one-request client
//! ([`post`]) a stand-in uses to relay to the real service behind it.
//!
//! Requests are read with a `content-length` body (what the node's HTTP clients send);
//! kept-alive connections are served one request after another.

use std::{
    io::{BufRead as _, BufReader, Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

/// What a handler answers: the status code and the body.
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    /// 200 with `body` of `content_type`.
    pub fn ok(content_type: &'static str, body: Vec<u8>) -> Self {
        Reply {
            status: 200,
            content_type,
            body,
        }
    }
}

/// A loopback HTTP server answering each request with `handler(path, body)`, on its own
/// threads, until it is dropped.
pub struct HttpStub {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl HttpStub {
    pub fn start(handler: impl Fn(&str, &[u8]) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        let done = stop.clone();
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let Ok((conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                };
                let (handler, done) = (handler.clone(), done.clone());
                std::thread::spawn(move || serve(conn, &*handler, &done));
            }
        });
        HttpStub { addr, stop }
    }

    /// `http://` and the address.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for HttpStub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Serves one connection's requests until it closes or the stub stops.
fn serve(conn: TcpStream, handler: &dyn Fn(&str, &[u8]) -> Reply, done: &AtomicBool) {
    if conn.set_nonblocking(false).is_err()
        || conn.set_read_timeout(Some(Duration::from_secs(2))).is_err()
    {
        return;
    }
    let Ok(read_half) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut conn = conn;
    while !done.load(Ordering::Relaxed) {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(_) => continue,
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let Some(len) = content_length(&mut reader) else {
            return;
        };
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let reply = handler(&path, &body);
        let head = format!(
            "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncontent-length: {}\r\n\r\n",
            reply.status,
            reply.content_type,
            reply.body.len()
        );
        if conn.write_all(head.as_bytes()).is_err() || conn.write_all(&reply.body).is_err() {
            return;
        }
    }
}

/// The largest body a stand-in reads (a larger `content-length` ends the connection).
const MAX_BODY: usize = 64 << 20;

/// Reads a request's or a response's headers up to the blank line: its
/// `content-length` (0 when absent), or `None` when the stream ended first or the
/// length is past [`MAX_BODY`].
fn content_length(reader: &mut impl std::io::BufRead) -> Option<usize> {
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        if h == "\r\n" || h == "\n" {
            return (len <= MAX_BODY).then_some(len);
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
    }
}

/// POSTs `body` (JSON) to `to` on a fresh connection and returns the response's status
/// and body; the response must carry a `content-length`.
pub fn post(to: SocketAddr, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    let mut conn = TcpStream::connect_timeout(&to, Duration::from_secs(5))?;
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        conn,
        "POST / HTTP/1.1\r\nhost: {to}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )?;
    conn.write_all(body)?;
    let mut reader = BufReader::new(conn);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    let code = status
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP status line: {status:?}")))?;
    let len = content_length(&mut reader)
        .ok_or_else(|| std::io::Error::other("the response ended in its headers"))?;
    let mut answer = vec![0; len];
    reader.read_exact(&mut answer)?;
    Ok((code, answer))
}
