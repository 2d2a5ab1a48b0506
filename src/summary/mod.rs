//! TensorBoard event files: TF's own `Event`/`Summary` messages in TFRecord framing (length,
//! masked CRC32C of the length, data, masked CRC32C of the data), the file TensorBoard and
//! `tf.compat.v1.train.summary_iterator` read; and the [`TensorBoard`] sink that turns
//! training's events into scalars, histograms and the graph. [`plot`] draws learning curves,
//! [`draw`] a picture of what a training plan reuses.

pub mod draw;
pub mod plot;
internal_mod! {
    canvas;
    histogram;
}

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use prost::Message;

use crate::error::{Error, Result};
use crate::events::{Event as Report, EventSink};
use crate::proto::{summary, Event, Summary};

/// One `events.out.tfevents.<secs>.<host>` file, written as TF's EventsWriter writes it.
pub struct EventFile {
    path: PathBuf,
    out: BufWriter<File>,
}

impl EventFile {
    /// A new event file in `dir` (made if missing), starting with the file-version record.
    pub fn create(dir: &Path) -> Result<EventFile> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let secs = now().floor() as u64;
        let path = dir.join(format!("events.out.tfevents.{secs:010}.{}", hostname()));
        let f = File::options().write(true).create_new(true).open(&path).map_err(|e| Error::io(&path, e))?;
        let mut file = EventFile { path, out: BufWriter::new(f) };
        file.write(Event {
            wall_time: now(),
            what: Some(crate::proto::event::What::FileVersion("brain.Event:2".into())),
            ..Default::default()
        })?;
        Ok(file)
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A scalar `tag` = `value` at `step`.
    pub fn scalar(&mut self, tag: &str, step: i64, value: f32) -> Result<()> {
        let v = summary::Value { tag: tag.into(), value: Some(summary::value::Value::SimpleValue(value)), ..Default::default() };
        let what = crate::proto::event::What::Summary(Summary { value: vec![v] });
        self.write(Event { wall_time: now(), step, what: Some(what), ..Default::default() })
    }

    /// A histogram of `values` as `tag` at `step`; `false`: skipped, a value not being finite.
    pub(crate) fn histogram(&mut self, tag: &str, step: i64, values: &[f32]) -> Result<bool> {
        let Some(h) = histogram::histogram(values) else { return Ok(false) };
        let v = summary::Value { tag: tag.into(), value: Some(summary::value::Value::Histo(h)), ..Default::default() };
        let what = crate::proto::event::What::Summary(Summary { value: vec![v] });
        self.write(Event { wall_time: now(), step, what: Some(what), ..Default::default() })?;
        Ok(true)
    }

    /// The graph, for TensorBoard's Graphs tab.
    pub fn graph(&mut self, graph_def: Vec<u8>) -> Result<()> {
        self.write(Event { wall_time: now(), what: Some(crate::proto::event::What::GraphDef(graph_def)), ..Default::default() })
    }

    fn write(&mut self, e: Event) -> Result<()> {
        let data = e.encode_to_vec();
        let len = (data.len() as u64).to_le_bytes();
        let io = |err| Error::io(&self.path, err);
        self.out.write_all(&len).map_err(io)?;
        self.out.write_all(&masked_crc(&len).to_le_bytes()).map_err(io)?;
        self.out.write_all(&data).map_err(io)?;
        self.out.write_all(&masked_crc(&data).to_le_bytes()).map_err(io)
    }

    /// Write out what is buffered.
    pub fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io(&self.path, e))
    }
}

/// TFRecord's checksum: CRC32C, rotated and offset so that a CRC of CRCs is not trivial.
pub(crate) fn masked_crc(bytes: &[u8]) -> u32 {
    let c = crc32c::crc32c(bytes);
    c.rotate_right(15).wrapping_add(0xa282_ead8)
}

fn now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let name = if ok { String::from_utf8_lossy(&buf[..buf.iter().position(|&b| b == 0).unwrap_or(0)]).into_owned() } else { String::new() };
    let clean: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || "-._".contains(*c)).collect();
    if clean.is_empty() {
        "localhost".into()
    } else {
        clean
    }
}

/// Training's reports as TensorBoard scalars: the step loss every `log_every` steps
/// (`train/loss`), and per epoch `epoch/train_loss`, `epoch/validation_loss`, `epoch/validation_metric`,
/// (`epoch/test_loss`, `epoch/test_metric` with `--eval-test-every-epoch`),
/// `epoch/learning_rate`, `epoch/examples_per_second`; `test/loss` and `test/metric` at the
/// end; the graph once it is built; with `histograms`, each trained variable's values per
/// epoch (tagged with its name). Steps count training steps from the start of the run.
pub struct TensorBoard {
    file: EventFile,
    log_every: usize,
    learning_rate: Option<f32>,
    histograms: bool,
    last_step: i64,
    /// Warnings not yet taken (see [`EventSink::notices`]).
    warnings: Vec<String>,
}

impl TensorBoard {
    /// A sink writing into `file`: the step loss every `log_every` steps, and `learning_rate`
    /// (when given) each epoch.
    pub fn new(file: EventFile, log_every: usize, learning_rate: Option<f32>) -> Self {
        TensorBoard { file, log_every: log_every.max(1), learning_rate, histograms: false, last_step: 0, warnings: vec![] }
    }

    /// Also write histograms of the trained variables after each epoch.
    pub fn with_histograms(mut self, on: bool) -> Self {
        self.histograms = on;
        self
    }
}

impl EventSink for TensorBoard {
    fn event(&mut self, e: &Report) -> Result<()> {
        match e {
            Report::Graph { graph_def } => self.file.graph(graph_def.clone()),
            Report::Variables { values, .. } => {
                for (name, v) in values {
                    if !self.file.histogram(name, self.last_step, v)? {
                        self.warnings.push(format!("{name} holds NaN or Inf at step {}: no histogram", self.last_step));
                    }
                }
                Ok(())
            }
            Report::Step { epoch, step, steps, loss } => {
                self.last_step = ((epoch - 1) * steps + step) as i64;
                match step % self.log_every == 0 || step == steps {
                    true => self.file.scalar("train/loss", self.last_step, *loss),
                    false => Ok(()),
                }
            }
            Report::Epoch { train_loss, validation_loss, metric, train_seconds, examples, .. } => {
                let s = self.last_step;
                self.file.scalar("epoch/train_loss", s, *train_loss as f32)?;
                if let Some(m) = metric {
                    self.file.scalar("epoch/validation_metric", s, *m as f32)?;
                }
                if let Some(l) = validation_loss {
                    self.file.scalar("epoch/validation_loss", s, *l as f32)?;
                }
                if let Some(lr) = self.learning_rate {
                    self.file.scalar("epoch/learning_rate", s, lr)?;
                }
                self.file.scalar("epoch/examples_per_second", s, (*examples as f64 / train_seconds.max(1e-9)) as f32)?;
                self.file.flush()
            }
            Report::EpochTest { loss, metric, .. } => {
                self.file.scalar("epoch/test_loss", self.last_step, *loss as f32)?;
                match metric {
                    Some(m) => self.file.scalar("epoch/test_metric", self.last_step, *m as f32),
                    None => Ok(()),
                }
            }
            Report::Test { loss, metric, .. } => {
                self.file.scalar("test/loss", self.last_step, *loss as f32)?;
                if let Some(m) = metric {
                    self.file.scalar("test/metric", self.last_step, *m as f32)?;
                }
                self.file.flush()
            }
            _ => Ok(()),
        }
    }

    fn flush(&mut self) -> Result<()> {
        self.file.flush()
    }

    fn wants_graph(&self) -> bool {
        true
    }

    fn wants_variables(&self) -> bool {
        self.histograms
    }

    fn notices(&mut self) -> Vec<Report> {
        self.warnings.drain(..).map(|message| Report::Warning { message }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_framed_as_tfrecord() {
        // CRC32C("123456789") is 0xE3069283 (RFC 3720); the mask is TF's.
        assert_eq!(crc32c::crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(masked_crc(b"123456789"), 0xe306_9283u32.rotate_right(15).wrapping_add(0xa282_ead8));
        let dir = tempfile::tempdir().unwrap();
        let mut f = EventFile::create(dir.path()).unwrap();
        f.scalar("a", 3, 0.5).unwrap();
        f.flush().unwrap();
        let bytes = std::fs::read(f.path()).unwrap();
        let mut at = 0;
        let mut events = Vec::new();
        while at < bytes.len() {
            let len = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
            assert_eq!(masked_crc(&bytes[at..at + 8]), u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()));
            let data = &bytes[at + 12..at + 12 + len];
            assert_eq!(masked_crc(data), u32::from_le_bytes(bytes[at + 12 + len..at + 16 + len].try_into().unwrap()));
            events.push(Event::decode(data).unwrap());
            at += 16 + len;
        }
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].what, Some(crate::proto::event::What::FileVersion("brain.Event:2".into())));
        assert_eq!(events[1].step, 3);
    }
}
