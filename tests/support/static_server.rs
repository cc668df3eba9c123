//! A tiny static file server for the Trunk-built `dist/`, with the single-page-app
//! fallback (unknown paths serve `index.html`), on a free loopback port, at the site's
//! root or under a sub-path.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A running server; it stops when dropped.
pub struct StaticServer {
    pub url: String,
    stop: Arc<AtomicBool>,
    served: Arc<Served>,
}

/// What the server has sent: (path, body bytes) per response.
#[derive(Default)]
struct Served {
    log: Mutex<Vec<(String, u64)>>,
}

impl StaticServer {
    /// Serves `root` on 127.0.0.1 and a free port.
    pub fn start(root: &Path) -> Self {
        Self::start_under(root, "")
    }

    /// Serves `root` under `prefix` (e.g. `/tunebook`): `url` ends with it, and paths
    /// outside it are not found.
    pub fn start_under(root: &Path, prefix: &str) -> Self {
        let prefix = prefix.trim_end_matches('/').to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind static server");
        let url = format!("http://{}{prefix}", listener.local_addr().expect("local addr"));
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(Served::default());
        let root = root.to_path_buf();
        let stopping = stop.clone();
        let log = served.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                if let Ok(stream) = stream {
                    let root = root.clone();
                    let log = log.clone();
                    let prefix = prefix.clone();
                    std::thread::spawn(move || serve(stream, &root, &prefix, &log));
                }
            }
        });
        Self { url, stop, served }
    }

    /// The responses sent so far, as (path, body bytes), and forgets them.
    pub fn take_served(&self) -> Vec<(String, u64)> {
        std::mem::take(&mut *self.served.log.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let authority = self.url.trim_start_matches("http://").split('/').next().unwrap_or_default();
        let _ = TcpStream::connect(authority);
    }
}

fn serve(mut stream: TcpStream, root: &Path, prefix: &str, served: &Served) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        // Skip headers; only GET without a body is served.
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
        }
        let path = request_line.split_whitespace().nth(1).unwrap_or("/");
        let path = path.split(['?', '#']).next().unwrap_or("/");
        let (status, file) = match path.strip_prefix(prefix) {
            Some(inner) if inner.is_empty() || inner.starts_with('/') => resolve(root, inner),
            _ => ("404 Not Found", root.join("404-does-not-exist")),
        };
        let body = std::fs::read(&file).unwrap_or_default();
        let header = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\n\r\n",
            content_type(&file),
            body.len()
        );
        if stream.write_all(header.as_bytes()).is_err() || stream.write_all(&body).is_err() {
            return;
        }
        served.log.lock().unwrap_or_else(|e| e.into_inner()).push((path.to_string(), body.len() as u64));
    }
}

fn resolve(root: &Path, path: &str) -> (&'static str, PathBuf) {
    let relative = path.trim_start_matches('/');
    if !relative.split('/').any(|part| part == "..") {
        let candidate = root.join(relative);
        if candidate.is_file() {
            return ("200 OK", candidate);
        }
        // A sub-app (the benchmark page under /bench/) has its own index.html.
        if !relative.is_empty() && candidate.join("index.html").is_file() {
            return ("200 OK", candidate.join("index.html"));
        }
    }
    // A path with a file extension is a missing asset; anything else is an app route.
    if Path::new(relative).extension().is_some() {
        ("404 Not Found", root.join("404-does-not-exist"))
    } else {
        ("200 OK", root.join("index.html"))
    }
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("svg") => "image/svg+xml",
        Some("json") | Some("webmanifest") => "application/json",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}
