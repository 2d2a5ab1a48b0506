//! Downloads: http(s) through reqwest over rustls, or file:// copies, into a partial file that a
//! later attempt resumes with an HTTP Range request. Timeouts bound every connect and read;
//! failures that may pass (timeouts, cuts, 5xx, 429) are retried with back-off, others not.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::events::FetchStep;

/// How downloads behave.
#[derive(Clone, Debug)]
pub struct Net {
    /// Bound on connecting and on each read.
    pub timeout: Duration,
    /// Attempts after the first.
    pub retries: u32,
    /// Wait before the first retry; doubled each time.
    pub backoff: Duration,
}

impl Default for Net {
    fn default() -> Self {
        Net { timeout: Duration::from_secs(30), retries: 3, backoff: Duration::from_secs(1) }
    }
}

/// Why one attempt failed, and whether another may succeed.
struct Failure {
    msg: String,
    retry: bool,
}

impl Net {
    fn client(&self) -> Result<reqwest::blocking::Client> {
        reqwest::blocking::Client::builder()
            .connect_timeout(self.timeout)
            .timeout(self.timeout)
            .user_agent(concat!("tfreuse/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Invalid(format!("cannot start an HTTP client: {}", chain(&e))))
    }

    /// Download `url` into `part`, continuing what a cut attempt left there; at most `max`
    /// bytes in all when given. Progress, retries and resumes are told `on`.
    pub fn download(&self, url: &str, part: &Path, max: Option<u64>, on: &mut dyn FnMut(FetchStep) -> Result<()>) -> Result<()> {
        if let Some(path) = url.strip_prefix("file://") {
            return copy_local(Path::new(path), part, max);
        }
        let client = self.client()?;
        let mut wait = self.backoff;
        for attempt in 0..=self.retries {
            match self.attempt(&client, url, part, max, on) {
                Ok(()) => return Ok(()),
                Err(f) if f.retry && attempt < self.retries => {
                    on(FetchStep::Retrying { reason: f.msg, wait_seconds: wait.as_secs_f64() })?;
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
                Err(f) => {
                    let tries = if attempt > 0 { format!(" (after {} attempts)", attempt + 1) } else { String::new() };
                    return Err(Error::Fetch(format!("{url}: {}{tries}", f.msg)));
                }
            }
        }
        unreachable!("the last attempt returns")
    }

    /// One request: resume from what `part` holds when the server allows it.
    fn attempt(
        &self,
        client: &reqwest::blocking::Client,
        url: &str,
        part: &Path,
        max: Option<u64>,
        on: &mut dyn FnMut(FetchStep) -> Result<()>,
    ) -> std::result::Result<(), Failure> {
        let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        let mut req = client.get(url);
        if have > 0 {
            req = req.header(reqwest::header::RANGE, format!("bytes={have}-"));
        }
        let resp = req.send().map_err(|e| Failure { msg: chain(&e.without_url()), retry: true })?;
        let status = resp.status();
        let resumed = match status.as_u16() {
            206 if starts_at(&resp) == Some(have) => true,
            200 | 206 => false,
            // Everything is here already: the hash decides.
            416 if have > 0 => return Ok(()),
            s => {
                let retry = s == 429 || status.is_server_error();
                return Err(Failure { msg: format!("HTTP {status}"), retry });
            }
        };
        let start = if resumed { have } else { 0 };
        let total = resp.content_length().map(|n| n + start);
        if let (Some(t), Some(m)) = (total, max) {
            if t > m {
                return Err(Failure { msg: format!("the server sends {t} bytes, more than the {m} the manifest gives"), retry: false });
            }
        }
        let io = |e: std::io::Error| Failure { msg: format!("{}: {e}", part.display()), retry: false };
        let mut out = OpenOptions::new().create(true).write(true).append(resumed).truncate(!resumed).open(part).map_err(io)?;
        let told = |e: Error| Failure { msg: e.to_string(), retry: false };
        if resumed {
            on(FetchStep::Resuming { from: start }).map_err(told)?;
        }
        let limit = max.map_or(u64::MAX, |m| m + 1 - start.min(m + 1));
        let n = copy_body(resp.take(limit), &mut out, (start, total), on)?;
        out.sync_all().map_err(io)?;
        match (max, total) {
            (Some(m), _) if start + n > m => Err(Failure { msg: format!("more than the {m} bytes the manifest gives"), retry: false }),
            (_, Some(t)) if start + n < t => {
                Err(Failure { msg: format!("the connection ended after {} of {t} bytes", start + n), retry: true })
            }
            _ => Ok(()),
        }
    }

    /// A small text (a manifest) from `url`, at most `max` bytes.
    pub fn text(&self, url: &str, max: u64) -> Result<String> {
        let fail = |m: String| Error::Fetch(format!("{url}: {m}"));
        let resp = self.client()?.get(url).send().map_err(|e| fail(chain(&e.without_url())))?;
        if !resp.status().is_success() {
            return Err(fail(format!("HTTP {}", resp.status())));
        }
        let mut bytes = Vec::new();
        resp.take(max + 1).read_to_end(&mut bytes).map_err(|e| fail(e.to_string()))?;
        if bytes.len() as u64 > max {
            return Err(fail(format!("larger than {max} bytes")));
        }
        String::from_utf8(bytes).map_err(|_| fail("not UTF-8 text".into()))
    }
}

/// The first byte a 206 response holds, from its Content-Range.
fn starts_at(resp: &reqwest::blocking::Response) -> Option<u64> {
    let v = resp.headers().get(reqwest::header::CONTENT_RANGE)?.to_str().ok()?;
    v.strip_prefix("bytes ")?.split('-').next()?.trim().parse().ok()
}

/// Copy `body` to `out`, telling `on` the bytes there are of `total`, `start` already being
/// there; the bytes copied.
fn copy_body(
    mut body: impl Read,
    out: &mut File,
    (start, total): (u64, Option<u64>),
    on: &mut dyn FnMut(FetchStep) -> Result<()>,
) -> std::result::Result<u64, Failure> {
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        let k = body.read(&mut buf).map_err(|e| Failure { msg: io_chain(&e), retry: true })?;
        if k == 0 {
            return Ok(n);
        }
        out.write_all(&buf[..k]).map_err(|e| Failure { msg: e.to_string(), retry: true })?;
        n += k as u64;
        on(FetchStep::Progress { done: start + n, total }).map_err(|e| Failure { msg: e.to_string(), retry: false })?;
    }
}

fn copy_local(src: &Path, part: &Path, max: Option<u64>) -> Result<()> {
    let f = File::open(src).map_err(|e| Error::io(src, e))?;
    let mut out = File::create(part).map_err(|e| Error::io(part, e))?;
    let n = std::io::copy(&mut f.take(max.map_or(u64::MAX, |m| m + 1)), &mut out).map_err(|e| Error::io(part, e))?;
    if max.is_some_and(|m| n > m) {
        return Err(Error::bad_file(src, format!("more than the {} bytes the manifest gives", max.unwrap_or(0))));
    }
    out.sync_all().map_err(|e| Error::io(part, e))
}

/// An error and its causes on one line (reqwest's own message hides the cause).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        let m = s.to_string();
        if !parts.iter().any(|p| p.contains(&m)) {
            parts.push(m);
        }
        src = s.source();
    }
    parts.join(": ")
}

fn io_chain(e: &std::io::Error) -> String {
    match e.get_ref() {
        Some(inner) => chain(inner),
        None => e.to_string(),
    }
}
