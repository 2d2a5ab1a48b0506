//! A whole training job, as `tfreuse train` runs it: prepare, cache the frozen layers, train
//! (from where an interrupted run stopped, if resuming), then evaluate on the test split and
//! save; or, when interrupted, save a resumable checkpoint; or, when the loss diverges, say
//! where.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use crate::data::DataSet;
use crate::error::{Error, Result};
use crate::events::{Event, EventSink};
use crate::train::prepare::prepare;
use crate::train::resume::{interrupted_prefix, read_progress, write_sidecar, Fingerprint, Progress};
use crate::train::trainer::{Outcome, Periodic, Watch};
use crate::train::TransferSpec;

/// What to do around the training itself.
#[derive(Clone, Debug)]
pub struct Job {
    pub spec: TransferSpec,
    /// Cache the frozen layers, in at most this many bytes.
    pub cache_max_bytes: Option<usize>,
    /// Pictures go through the feature cache on disk (with `cache_max_bytes` set).
    pub disk_cache: Option<DiskCache>,
    /// Save the trained model here.
    pub out: Option<PathBuf>,
    /// Save to `out` even when the loss diverged (for inspection).
    pub save_on_nan: bool,
    /// Save a resumable checkpoint this often while training (a cluster chief's).
    pub save_every: Option<std::time::Duration>,
}

/// Where the feature cache on disk is, and what its values depend on outside the graph.
#[derive(Clone, Debug)]
pub struct DiskCache {
    pub root: PathBuf,
    pub key: Vec<(String, String)>,
}

/// How a job ended, when it did not fail.
#[derive(Clone, Debug)]
pub enum Ended {
    Finished,
    /// Stopped on request; a resumable checkpoint was saved at `saved_to`.
    Interrupted {
        progress: Progress,
        saved_to: PathBuf,
    },
    /// A cluster worker other than the chief stopped on request (it saves nothing).
    Stopped(Progress),
}

/// Run `job` on `data` (labels in 0..classes) until it ends or `stop` is set.
pub fn run(job: &Job, data: &DataSet, classes: usize, stop: &AtomicBool, sink: &mut dyn EventSink) -> Result<Ended> {
    let spec = &job.spec;
    // Pictures not decoded yet go through the feature cache on disk, or are decoded now.
    let disk_cache = job.disk_cache.as_ref().filter(|_| job.cache_max_bytes.is_some() && data.is_pending());
    let decoded;
    let data = if data.is_pending() && disk_cache.is_none() {
        decoded = crate::data::images::decode_pending(data.clone())?;
        &decoded
    } else {
        data
    };
    // What the resume fingerprint digests (`data` becomes the cached set below).
    let source = data;
    // A resume that cannot match is refused before any work. The fingerprint digests the
    // whole data set, so it is only made when a resume or an interrupt needs it.
    let start = match &spec.resume_from {
        Some(p) => read_progress(p, &Fingerprint::new(spec, data)?)?,
        None => Progress::default(),
    };
    let mut prepared = prepare(spec, classes)?;
    sink.event(&Event::Setup(Box::new(prepared.report.clone())))?;
    if sink.wants_graph() {
        sink.event(&Event::Graph { graph_def: prepared.model.graph.graph_def()? })?;
    }
    let extras = prepared.side_files(data)?;
    let cached = match (disk_cache, job.cache_max_bytes) {
        (Some(d), _) => {
            // XLA rounds differently, so what prepare chose is part of the key.
            let key = d.key.iter().cloned().chain([("jit".to_string(), prepared.report.jit.on.to_string())]).collect();
            Some(prepared.use_disk_cache(data, (&d.root, key), stop, sink)?)
        }
        (None, Some(max)) => Some(prepared.use_cache(data, max, spec.batch_size, sink)?),
        (None, None) => None,
    };
    let data = cached.as_ref().unwrap_or(data);
    let train = data.training_split()?;
    // In a cluster, only the chief watches, evaluates and saves.
    let chief = spec.worker.as_ref().map_or(true, |w| w.is_chief());
    let saving = Saving { job, prepared: &prepared, extras: &extras, source, fingerprint: Default::default() };
    let checkpoint = |p: &Progress, sink: &mut dyn EventSink| saving.resumable(p, sink).map(|_| ());
    let watch = Watch {
        validation: data.splits.get("validation").filter(|_| chief),
        test: data.splits.get("test").filter(|_| spec.eval_test_every_epoch && chief),
        every: job.save_every.map(|period| Periodic { period, run: &checkpoint }),
    };
    let outcome = prepared.train(spec, train, watch, start, stop, sink)?;
    let ended = match outcome {
        Outcome::Finished(_) if chief => return saving.finish(data, sink),
        Outcome::Finished(_) => Ended::Finished,
        Outcome::Interrupted(progress) if chief => {
            let saved_to = saving.resumable(&progress, sink)?;
            Ended::Interrupted { progress, saved_to }
        }
        Outcome::Interrupted(progress) => Ended::Stopped(progress),
        Outcome::Diverged { epoch, step, loss } => return Err(saving.diverged((epoch, step, loss), sink)?),
    };
    sink.flush()?;
    Ok(ended)
}

/// What saves need: the job, the model, the files beside it, the data the fingerprint digests.
struct Saving<'a> {
    job: &'a Job,
    prepared: &'a crate::train::Prepared,
    extras: &'a [(String, Vec<u8>)],
    source: &'a DataSet,
    /// Digested once (it reads the whole data set), at the first resumable save.
    fingerprint: std::cell::OnceCell<Fingerprint>,
}

impl Saving<'_> {
    /// A checkpoint to resume from, with its sidecar; where it is.
    fn resumable(&self, progress: &Progress, sink: &mut dyn EventSink) -> Result<PathBuf> {
        let saved_to = interrupted_prefix(self.job.out.as_deref());
        self.prepared.save_whole(&saved_to, self.extras, sink)?;
        if self.fingerprint.get().is_none() {
            let _ = self.fingerprint.set(Fingerprint::new(&self.job.spec, self.source)?);
        }
        write_sidecar(&saved_to, self.fingerprint.get().expect("set above"), progress)?;
        Ok(saved_to)
    }

    /// The loss diverged: save only if asked to, and say where it happened.
    fn diverged(&self, (epoch, step, loss): (usize, usize, f32), sink: &mut dyn EventSink) -> Result<Error> {
        let saved = match (&self.job.out, self.job.save_on_nan) {
            (Some(out), true) => {
                self.prepared.save(out, self.extras, sink)?;
                format!("; saved the model as it is to {} (--save-on-nan)", out.display())
            }
            _ => "; nothing saved (--save-on-nan saves anyway)".to_string(),
        };
        sink.flush()?;
        Ok(Error::Diverged(format!("the loss became {loss} at epoch {epoch} step {step}; try a smaller learning rate or clipping{saved}")))
    }

    /// Evaluate on the test split, save to `--out`.
    fn finish(&self, data: &DataSet, sink: &mut dyn EventSink) -> Result<Ended> {
        if let Ok(test) = data.split("test") {
            let v = self.prepared.evaluate(test)?;
            sink.event(&Event::Test { loss: v[0], metric: v.get(1).copied(), examples: test.len() })?;
        }
        sink.flush()?;
        if let Some(out) = &self.job.out {
            self.prepared.save(out, self.extras, sink)?;
            // The chief's periodic checkpoint is done with: a rerun starts afresh.
            if self.job.save_every.is_some() {
                crate::train::resume::remove_resumable(&interrupted_prefix(Some(out)))?;
            }
        }
        Ok(Ended::Finished)
    }
}
