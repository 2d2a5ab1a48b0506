//! A small HTTP/1.1 server for the tests, on 127.0.0.1 and a free port, one thread per
//! connection, stopped when dropped. Each path serves bytes, or misbehaves as a test asks: a
//! status, a stall, a connection cut mid-body (once), a slow body. It honours `Range` and
//! records every request's path and range.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub enum Route {
    /// 200 with these bytes (206 for a range).
    Bytes(Vec<u8>),
    /// Only this status, no body.
    Status(u16),
    /// Read the request, then say nothing (until the server stops, at most 30 s).
    Stall,
    /// The first request without a range gets the headers and this many bytes, then the
    /// connection closes; later requests are served.
    CutOnce(Vec<u8>, usize),
    /// The bytes in 8 pieces over this many milliseconds.
    Slow(Vec<u8>, u64),
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    pub range: Option<String>,
}

pub struct Server {
    pub port: u16,
    stop: Arc<AtomicBool>,
    pub log: Arc<Mutex<Vec<Request>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    routes: HashMap<String, Route>,
    cut_done: Mutex<Vec<String>>,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    pub fn start(routes: HashMap<String, Route>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new(Shared { routes, cut_done: Mutex::new(Vec::new()), stop: stop.clone(), log: log.clone() });
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &shared);
                });
            }
        });
        Server { port, stop, log, thread: Some(thread) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    pub fn requests(&self, path: &str) -> Vec<Request> {
        self.log.lock().unwrap().iter().filter(|r| r.path == format!("/{path}")).cloned().collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(conn: TcpStream, shared: &Shared) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_string());
            }
        }
    }
    shared.log.lock().unwrap().push(Request { path: path.clone(), range: range.clone() });
    let mut out = conn;
    match shared.routes.get(path.trim_start_matches('/')).cloned() {
        None => respond(&mut out, 404, &[], None),
        Some(Route::Status(s)) => respond(&mut out, s, &[], None),
        Some(Route::Bytes(b)) => respond_range(&mut out, &b, range.as_deref()),
        Some(Route::Stall) => {
            let t = Instant::now();
            while !shared.stop.load(Ordering::SeqCst) && t.elapsed() < Duration::from_secs(30) {
                std::thread::sleep(Duration::from_millis(50));
            }
            Ok(())
        }
        Some(Route::CutOnce(b, at)) => {
            let first_time = range.is_none() && !shared.cut_done.lock().unwrap().contains(&path);
            if !first_time {
                return respond_range(&mut out, &b, range.as_deref());
            }
            shared.cut_done.lock().unwrap().push(path);
            write!(out, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n", b.len())?;
            out.write_all(&b[..at])?;
            out.flush()
        }
        Some(Route::Slow(b, ms)) => {
            write!(out, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", b.len())?;
            for piece in b.chunks(b.len().div_ceil(8).max(1)) {
                std::thread::sleep(Duration::from_millis(ms / 8));
                out.write_all(piece)?;
                out.flush()?;
            }
            Ok(())
        }
    }
}

fn respond_range(out: &mut TcpStream, b: &[u8], range: Option<&str>) -> std::io::Result<()> {
    let start = range.and_then(|r| r.strip_prefix("bytes=")).and_then(|r| r.strip_suffix('-')).and_then(|s| s.parse::<usize>().ok());
    match start {
        Some(s) if s < b.len() => respond(out, 206, &b[s..], Some(format!("bytes {s}-{}/{}", b.len() - 1, b.len()))),
        Some(_) => respond(out, 416, &[], None),
        None => respond(out, 200, b, None),
    }
}

fn respond(out: &mut TcpStream, status: u16, body: &[u8], content_range: Option<String>) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        _ => "Status",
    };
    write!(out, "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len())?;
    if let Some(cr) = content_range {
        write!(out, "Content-Range: {cr}\r\n")?;
    }
    write!(out, "\r\n")?;
    out.write_all(body)?;
    out.flush()
}
