//! A whole training job, as `tfreuse train` runs it: prepare, cache the frozen layers, train
//! (from where an interrupted run stopped, if resuming), then evaluate on the test split and
//! save; or, when interrupted, save a resumable checkpoint; or, when the loss diverges, say
//! where.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use crate::data::DataSet;
use crate::error::{Error, Result, Role};
use crate::events::{Event, EventSink};
use crate::train::prepare::prepare_with;
use crate::train::resume::{interrupted_prefix, read_progress, resumable, write_sidecar, Fingerprint, Progress};
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
    /// Training ran to its end (the last epoch, or early stopping), then the model was tested
    /// and saved where asked (by the chief, in a cluster).
    Finished,
    /// Stopped on request; a resumable checkpoint was saved at `saved_to`.
    Interrupted {
        /// Where training stood.
        progress: Progress,
        /// The resumable checkpoint's prefix.
        saved_to: PathBuf,
    },
    /// A cluster worker other than the chief stopped on request (it saves nothing); or a job
    /// told to save nothing then ([`Started::save_nothing_on_stop`]).
    Stopped(Progress),
}

/// The frozen layers' rows of jobs on the same model and data that differ only above their cut
/// (a sweep's candidates), by cut: computed by the first job cut there, taken by the others
/// (see [`Started::sharing`]).
pub type SharedCaches = std::collections::HashMap<String, DataSet>;

/// A job prepared: its graph built, its variables restored, its frozen layers cached; ready
/// to [`Started::fit`].
pub struct Started {
    job: Job,
    /// The data as given (what the resume fingerprint digests), pictures decoded unless the
    /// feature cache on disk decodes them.
    source: DataSet,
    /// The frozen layers' output for every split, when cached.
    cached: Option<DataSet>,
    prepared: crate::train::Prepared,
    /// The files saved beside a checkpoint (a picture model's record).
    extras: Vec<(String, Vec<u8>)>,
    /// Where training starts (an interrupted run's progress when resuming).
    start: Progress,
    /// A stop on request saves a checkpoint to resume from (a chief's).
    resumable: bool,
}

impl Started {
    /// Prepare `job` on `data`: a resume that cannot match is refused before any work; then
    /// the graph, the setup report, the frozen layers' cache.
    pub(crate) fn new(job: Job, data: DataSet, classes: usize, stop: &AtomicBool, sink: &mut dyn EventSink) -> Result<Started> {
        Self::build(job, (data, classes), None, stop, sink)
    }

    /// [`Started::new`] for one of several jobs on the same model and data that differ only
    /// above their frozen layers: when the job caches them, the rows of its cut are taken from
    /// `caches` if an earlier job cut at the same tensor computed them, else computed and left
    /// there; a job without a single frozen tensor trains uncached.
    pub(crate) fn sharing(
        job: Job,
        (data, classes): (DataSet, usize),
        caches: &mut SharedCaches,
        stop: &AtomicBool,
        sink: &mut dyn EventSink,
    ) -> Result<Started> {
        Self::build(job, (data, classes), Some(caches), stop, sink)
    }

    fn build(
        job: Job,
        (data, classes): (DataSet, usize),
        shared: Option<&mut SharedCaches>,
        stop: &AtomicBool,
        sink: &mut dyn EventSink,
    ) -> Result<Started> {
        let spec = &job.spec;
        // Pictures not decoded yet go through the feature cache on disk, or are decoded now.
        let disk_cache = job.disk_cache.as_ref().filter(|_| job.cache_max_bytes.is_some() && data.is_pending());
        let data = if data.is_pending() && disk_cache.is_none() { crate::data::images::decode_pending(data)? } else { data };
        // The fingerprint digests the whole data set, so it is only made when a resume needs it.
        let start = match &spec.run.resume_from {
            Some(p) => read_progress(p, &Fingerprint::new(spec, &data)?)?,
            None => Progress::default(),
        };
        let mut prepared = prepare_with(spec, classes, sink)?;
        sink.event(&Event::Setup(Box::new(prepared.report.clone())))?;
        if sink.wants_graph() {
            sink.event(&Event::Graph { graph_def: prepared.model.graph.graph_def()? })?;
        }
        let extras = prepared.side_files(&data)?;
        let cached = match (disk_cache, job.cache_max_bytes, shared) {
            (Some(d), _, _) => {
                // XLA rounds differently, so what prepare chose is part of the key.
                let key = d.key.iter().cloned().chain([("jit".to_string(), prepared.report.jit.on.to_string())]).collect();
                Some(prepared.use_disk_cache(&data, (&d.root, key), stop, sink)?)
            }
            (None, Some(max), Some(shared)) => shared_cache(&mut prepared, (&data, max, spec), shared, sink)?,
            (None, Some(max), None) => Some(prepared.use_cache(&data, max, spec.schedule.batch_size, sink)?),
            (None, None, _) => None,
        };
        Ok(Started { job, source: data, cached, prepared, extras, start, resumable: true })
    }

    /// A stop on request saves nothing: [`Started::fit`] ends with [`Ended::Stopped`] (a job
    /// nobody resumes, as a sweep's candidate).
    pub fn save_nothing_on_stop(&mut self) {
        self.resumable = false;
    }

    /// The prepared model (its graph, session and the tensors training uses).
    pub fn prepared(&self) -> &crate::train::Prepared {
        &self.prepared
    }

    /// The job's spec, with `f` applied to its schedule settings (epochs, patience…) before
    /// [`Started::fit`]; the graph is built, so what shapes it does not change.
    pub fn reschedule(&mut self, f: impl FnOnce(&mut TransferSpec)) {
        f(&mut self.job.spec);
    }

    /// Train, then evaluate on the test split and save to the job's `out`; or, when
    /// interrupted, save a resumable checkpoint; or, when the loss diverges, say where.
    pub fn fit(&mut self, stop: &AtomicBool, sink: &mut dyn EventSink) -> Result<Ended> {
        let (job, prepared) = (&self.job, &self.prepared);
        let spec = &job.spec;
        let data = self.cached.as_ref().unwrap_or(&self.source);
        let train = data.training_split()?;
        // In a cluster, only the chief watches, evaluates and saves.
        let chief = spec.run.worker.as_ref().is_none_or(|w| w.is_chief());
        let saving = Saving { job, prepared, extras: &self.extras, source: &self.source, fingerprint: Default::default() };
        let checkpoint = |p: &Progress, sink: &mut dyn EventSink| saving.resumable(p, sink).map(|_| ());
        let watch = Watch {
            validation: data.splits.get("validation").filter(|_| chief),
            test: data.splits.get("test").filter(|_| spec.schedule.eval_test_every_epoch && chief),
            every: job.save_every.map(|period| Periodic { period, run: &checkpoint }),
        };
        let outcome = prepared.train(spec, train, watch, std::mem::take(&mut self.start), stop, sink)?;
        let ended = match outcome {
            Outcome::Finished(_) if chief => return saving.finish(data, sink),
            Outcome::Finished(_) => Ended::Finished,
            Outcome::Interrupted(progress) if chief && self.resumable => {
                let saved_to = saving.resumable(&progress, sink)?;
                Ended::Interrupted { progress, saved_to }
            }
            Outcome::Interrupted(progress) => Ended::Stopped(progress),
            Outcome::Diverged { epoch, step, loss } => return Err(saving.diverged((epoch, step, loss), sink)?),
        };
        sink.flush()?;
        Ok(ended)
    }

    /// Save the model as trained so far to `prefix` (a checkpoint and `.meta` Python reads).
    pub fn save(&self, prefix: &std::path::Path, sink: &mut dyn EventSink) -> Result<Vec<PathBuf>> {
        self.prepared.save(prefix, &self.extras, sink)
    }
}

/// The rows of `prepared`'s cut from `shared`, computed by an earlier job cut there, else
/// computed (in at most `max` bytes) and left there; none without a single frozen tensor.
fn shared_cache(
    prepared: &mut crate::train::Prepared,
    (data, max, spec): (&DataSet, usize, &TransferSpec),
    shared: &mut SharedCaches,
    sink: &mut dyn EventSink,
) -> Result<Option<DataSet>> {
    // A cut's rows depend on the restored layers below it and the batches only.
    let Ok(cut) = &prepared.cut else { return Ok(None) };
    let key = format!("{:?} {} {}", spec.recipe.freeze_below, crate::tf::output_name(cut), spec.schedule.batch_size);
    if let Some(rows) = shared.get(&key) {
        prepared.feed_cut()?;
        return Ok(Some(rows.clone()));
    }
    let rows = prepared.use_cache(data, max, spec.schedule.batch_size, sink)?;
    shared.insert(key, rows.clone());
    Ok(Some(rows))
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
                format!("; saved the model as it is to {} ({})", out.display(), Role::SaveOnNan.mention())
            }
            _ => format!("; nothing saved ({} saves anyway)", Role::SaveOnNan.mention()),
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
            // So is the checkpoint this run resumed from, now that --out holds the result.
            if let Some(from) = &self.job.spec.run.resume_from {
                if resumable(from) && !crate::train::resume::holds(from, out) {
                    crate::train::resume::remove_resumable(from)?;
                }
            }
        }
        Ok(Ended::Finished)
    }
}
