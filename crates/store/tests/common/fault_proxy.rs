//! A loopback HTTP proxy that can misbehave on purpose: answer 500 without forwarding,
//! or forward the request and then drop the connection before the reply (the server did
//! the work; the client never hears of it).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the proxy does with the next requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward and relay the reply.
    None,
    /// Answer 500 Internal Server Error, forwarding nothing.
    ServerError,
    /// Forward, then close the connection without replying.
    DropReply,
}

pub struct FaultProxy {
    pub url: String,
    /// Faults for the next requests, in order; when empty, requests pass.
    script: Arc<Mutex<Vec<Fault>>>,
}

impl FaultProxy {
    /// Proxies to `upstream` (`host:port`) from a free loopback port.
    pub fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let script: Arc<Mutex<Vec<Fault>>> = Arc::new(Mutex::new(Vec::new()));
        let upstream = upstream.to_string();
        let faults = script.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let fault = {
                    let mut faults = faults.lock().expect("script");
                    if faults.is_empty() { Fault::None } else { faults.remove(0) }
                };
                let upstream = upstream.clone();
                std::thread::spawn(move || serve(client, &upstream, fault));
            }
        });
        Self { url, script }
    }

    /// Queues faults for the next requests.
    pub fn then(&self, faults: &[Fault]) {
        self.script.lock().expect("script").extend_from_slice(faults);
    }

    /// Faults queued and not yet used by a request.
    pub fn pending(&self) -> usize {
        self.script.lock().expect("script").len()
    }
}

/// Reads one HTTP/1.1 request (head and Content-Length body).
fn read_request(stream: &mut TcpStream) -> Option<Vec<u8>> {
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
    let head = String::from_utf8_lossy(&data[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    // One request per connection keeps the relay simple.
    let head = String::from_utf8_lossy(&data[..head_end - 4]).into_owned();
    let mut lines: Vec<&str> =
        head.split("\r\n").filter(|l| !l.to_lowercase().starts_with("connection:")).collect();
    lines.push("Connection: close");
    let mut request = format!("{}\r\n\r\n", lines.join("\r\n")).into_bytes();
    request.extend_from_slice(&data[head_end..]);
    Some(request)
}

fn serve(mut client: TcpStream, upstream: &str, fault: Fault) {
    let Some(request) = read_request(&mut client) else {
        return;
    };
    if fault == Fault::ServerError {
        let body = r#"{"message":"injected failure"}"#;
        let reply = format!(
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = client.write_all(reply.as_bytes());
        return;
    }
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    if server.write_all(&request).is_err() {
        return;
    }
    let mut reply = Vec::new();
    let _ = server.read_to_end(&mut reply);
    if fault == Fault::DropReply {
        // The server has done the work; the client hears nothing.
        let _ = client.shutdown(std::net::Shutdown::Both);
        return;
    }
    let _ = client.write_all(&reply);
}
