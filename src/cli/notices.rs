//! The library's notices on stderr: warnings, zoo downloads (with a progress bar on a
//! terminal), waits. The texts are the CLI's; the library only sends [`Event`]s.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tfreuse::events::FetchStep;
use tfreuse::tf::jit::Choice;
use tfreuse::{Event, EventSink};

use super::warn;

/// Renders [`Event::Warning`], [`Event::Fetch`] and [`Event::Waiting`]; ignores the rest (a
/// command's own sink hands them to [`line`]).
#[derive(Default)]
pub struct Notices {
    bar: Option<ProgressBar>,
}

/// The notices that are one line each ([`Event::Fetch`]'s progress is a bar, in [`Notices`]).
pub fn line(e: &Event) {
    match e {
        Event::Warning { message } => warn(Some(message)),
        Event::Waiting { who, what } => eprintln!("{who}: waiting for {what}"),
        Event::Fetch { name, url, step } => match step {
            FetchStep::Waiting => eprintln!("zoo:{name}: another tfreuse is fetching it; waiting"),
            FetchStep::Started => eprintln!("zoo:{name}: fetching {url}"),
            FetchStep::Retrying { reason, wait_seconds } => {
                eprintln!("tfreuse: {url}: {reason} (retrying in {:.0?})", Duration::from_secs_f64(*wait_seconds))
            }
            FetchStep::Resuming { from } => eprintln!("tfreuse: resuming {url} at {:.1} MB", *from as f64 / 1e6),
            FetchStep::TrustedOnFirstUse { sha256, record } => {
                eprintln!("zoo:{name}: no published SHA-256; trusted on first use: sha256 {sha256} (recorded in {})", record.display())
            }
            FetchStep::Unpacked { dir, megabytes } => {
                eprintln!("zoo:{name}: unpacked into {} ({megabytes:.1} MB)", dir.display())
            }
            FetchStep::Progress { .. } => {}
        },
        _ => {}
    }
}

impl Notices {
    /// The download's bar, on a terminal only.
    fn progress(&mut self, url: &str, done: u64, total: Option<u64>) {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let bar = total.map_or_else(ProgressBar::new_spinner, ProgressBar::new);
            let style = "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}";
            bar.set_style(ProgressStyle::with_template(style).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> "));
            bar.set_message(url.rsplit('/').next().unwrap_or(url).to_string());
            bar
        });
        bar.set_position(done);
    }

    fn clear(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl EventSink for Notices {
    fn event(&mut self, e: &Event) -> tfreuse::Result<()> {
        match e {
            Event::Fetch { url, step: FetchStep::Progress { done, total }, .. } => self.progress(url, *done, *total),
            _ => {
                self.clear();
                line(e);
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> tfreuse::Result<()> {
        self.clear();
        Ok(())
    }
}

impl Drop for Notices {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Why XLA is on or off, in the CLI's words: `--jit on` when the flag chose.
pub fn jit_reason(c: &Choice) -> String {
    match c.asked {
        true => format!("--jit {}", if c.on { "on" } else { "off" }),
        false => c.why.clone(),
    }
}
