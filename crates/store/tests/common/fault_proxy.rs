//! A loopback HTTP proxy between a client (the store's sync engine, or the browser) and
//! the local stack that misbehaves on purpose: lose the reply after the server did the
//! work, answer 500, or answer 401 as PostgREST does for an expired token, for the next
//! requests or for chosen ones. Every request is logged. One request per connection (it
//! answers `Connection: close`), so keep-alive never carries a request past the fault
//! it was meant for. Shared by the store's tests and the end-to-end tests.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What to do with a matching request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward it, then close the connection without replying.
    DropReply,
    /// Answer 500 without forwarding.
    ServerError,
    /// Answer 401 with PostgREST's expired-token error, without forwarding.
    ExpiredToken,
}

#[derive(Default)]
struct State {
    /// (request line prefix, fault), used in order by the first matching requests.
    faults: Vec<(String, Fault)>,
    /// Request lines seen ("POST /rest/v1/rpc/push_changes").
    log: Vec<String>,
}

pub struct FaultProxy {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// Proxies to `upstream` (`host:port`) from a free loopback port.
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State::default()));
        let upstream = upstream.to_string();
        let shared = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let upstream = upstream.clone();
                let state = shared.clone();
                std::thread::spawn(move || serve(client, &upstream, &state));
            }
        });
        Self { url, state }
    }

    /// The next request whose line starts with `prefix` (e.g. "POST /rest/v1/rpc/push_changes")
    /// gets `fault`; several calls queue several.
    pub fn on_next(&self, prefix: &str, fault: Fault) {
        self.state.lock().expect("state").faults.push((prefix.to_string(), fault));
    }

    /// The next requests, whatever they are, get these faults in order.
    pub fn then(&self, faults: &[Fault]) {
        for fault in faults {
            self.on_next("", *fault);
        }
    }

    /// Faults not used yet.
    pub fn pending(&self) -> usize {
        self.state.lock().expect("state").faults.len()
    }

    /// How many requests so far started with `prefix`.
    pub fn count(&self, prefix: &str) -> usize {
        self.state.lock().expect("state").log.iter().filter(|l| l.starts_with(prefix)).count()
    }
}

/// Reads one request (head and Content-Length body); returns its line and the bytes to
/// forward (asking the server to close after it).
fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(pos) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end - 4]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.to_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let line = head.lines().next().unwrap_or_default().to_string();
    let mut lines: Vec<&str> =
        head.split("\r\n").filter(|l| !l.to_lowercase().starts_with("connection:")).collect();
    lines.push("Connection: close");
    let mut request = format!("{}\r\n\r\n", lines.join("\r\n")).into_bytes();
    request.extend_from_slice(&data[head_end..]);
    Some((line, request))
}

/// An answer made up here, with the CORS header a browser needs to read it.
fn reply(client: &mut TcpStream, status: &str, body: &str) {
    let reply = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nAccess-Control-Allow-Origin: *\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.write_all(reply.as_bytes());
}

fn serve(mut client: TcpStream, upstream: &str, state: &Mutex<State>) {
    let Some((line, request)) = read_request(&mut client) else {
        return;
    };
    let fault = {
        let mut state = state.lock().expect("state");
        state.log.push(line.clone());
        let index = state.faults.iter().position(|(prefix, _)| line.starts_with(prefix.as_str()));
        index.map(|i| state.faults.remove(i).1)
    };
    match fault {
        Some(Fault::ServerError) => {
            return reply(&mut client, "500 Internal Server Error", r#"{"message":"injected failure"}"#);
        }
        Some(Fault::ExpiredToken) => {
            return reply(
                &mut client,
                "401 Unauthorized",
                r#"{"code":"PGRST301","details":null,"hint":null,"message":"JWT expired"}"#,
            );
        }
        Some(Fault::DropReply) | None => {}
    }
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    if server.write_all(&request).is_err() {
        return;
    }
    let mut answer = Vec::new();
    let _ = server.read_to_end(&mut answer);
    if fault == Some(Fault::DropReply) {
        // The server has done the work; the browser hears nothing.
        let _ = client.shutdown(std::net::Shutdown::Both);
        return;
    }
    let _ = client.write_all(&answer);
}
