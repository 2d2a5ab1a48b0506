//! A training job from data to saved model, as `tfreuse train`, `new`, `pretrain` and
//! [`crate::Transfer`] run it, in stages:
//!
//! 1. [`Job::new`] — without TensorFlow: per-class sampling, the settings left unsaid chosen
//!    from the data ([`crate::train::defaults`]), a cluster worker's shard, the
//!    batch checked against the training split, balanced class weights;
//! 2. [`load_options`] — whether TF's oneDNN kernels suit the graph, decided before the
//!    library loads (TF reads it once, from the environment);
//! 3. [`Job::run`] — the cluster task started, then prepare, cache, train, test and save
//!    ([`Job::start`], then [`crate::train::Started::fit`]).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use crate::data::DataSet;
use crate::error::{Error, Result, Role};
use crate::events::{Event, EventSink};
use crate::model::Source;
use crate::runtime::Runtime;
use crate::tf::runtime::LoadOptions;
use crate::train::defaults::{Ground, Unset};
use crate::train::joining::Joining;
use crate::train::run::{DiskCache, Ended, Started};
use crate::train::TransferSpec;

/// How examples of each class weigh in the new head's loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassWeight {
    /// Class c weighs n / (classes × n_c) (scikit-learn's "balanced"): rare classes count as
    /// much as common ones.
    Balanced,
}

/// How a job treats its data and where it saves: everything but the recipe ([`TransferSpec`]).
#[derive(Clone, Debug)]
pub struct Options {
    /// Train on this many examples of each class, drawn by the spec's seed.
    pub per_class: Option<usize>,
    /// Weigh the examples' losses by class.
    pub class_weight: Option<ClassWeight>,
    /// Compute the frozen layers once and train on their output.
    pub cache_frozen: bool,
    /// The largest cache built in memory (MNIST, npz), in bytes.
    pub cache_max_bytes: usize,
    /// Where the feature cache of pictures lives (default: the user's cache folder).
    pub cache_dir: Option<PathBuf>,
    /// Save the trained model to this checkpoint prefix.
    pub out: Option<PathBuf>,
    /// Save to `out` even when the loss diverged.
    pub save_on_nan: bool,
    /// The spec's settings left to tfreuse, chosen from the data ([`crate::train::defaults`]).
    pub unset: Unset,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            per_class: None,
            class_weight: None,
            cache_frozen: false,
            cache_max_bytes: 4096 << 20,
            cache_dir: None,
            out: None,
            save_on_nan: false,
            unset: Unset::default(),
        }
    }
}

/// The settings `unset` leaves to tfreuse chosen for `data` (said so); a cluster's workers
/// cannot stop early (only the chief evaluates) and count the whole training split.
fn choose_defaults(spec: &mut TransferSpec, data: &DataSet, unset: Unset, cluster: bool, sink: &mut dyn EventSink) -> Result<()> {
    let can_stop_early = !cluster && data.has_validation();
    let ground = Ground { train_examples: data.training_split()?.len(), can_stop_early };
    match crate::train::defaults::choose(spec, unset, ground) {
        Some(e) => sink.event(&e),
        None => Ok(()),
    }
}

/// A job whose data is ready; TensorFlow not needed yet.
pub struct Job {
    spec: TransferSpec,
    data: DataSet,
    classes: usize,
    opts: Options,
    joining: Option<Joining>,
}

impl Job {
    /// Stage 1: `data` (labels in `0..classes`) made ready for `spec` as `opts` say; a
    /// worker of a cluster takes its shard.
    pub fn new(
        mut spec: TransferSpec,
        (data, classes): (DataSet, usize),
        opts: Options,
        joining: Option<Joining>,
        sink: &mut dyn EventSink,
    ) -> Result<Job> {
        if opts.cache_frozen && !spec.recipe.freezes() {
            if let Some(branch) = spec.recipe.branch_from.clone() {
                sink.event(&Event::FrozenForCache { below: branch.clone() })?;
                spec.recipe.freeze_below = Some(branch);
            }
        }
        let mut data = sample(data, opts.per_class, spec.schedule.seed, classes, sink)?;
        choose_defaults(&mut spec, &data, opts.unset, joining.is_some(), sink)?;
        if let Some(j) = &joining {
            data = j.shard(data, &mut spec, opts.out.as_deref(), sink)?;
        }
        let n_train = data.training_split()?.len();
        if spec.schedule.batch_size > n_train {
            let msg = format!("is larger than the {n_train} training examples");
            return Err(Error::arg(Role::BatchSize, Some(&spec.schedule.batch_size.to_string()), msg));
        }
        if opts.class_weight == Some(ClassWeight::Balanced) {
            let w = balanced_weights(&data.training_split()?.y, classes);
            let weights = w.iter().enumerate().map(|(c, v)| (crate::predict::label(&data.classes, c), *v)).collect();
            sink.event(&Event::ClassWeights { weights })?;
            spec.recipe.class_weights = Some(w);
        }
        spec.schedule.train_examples = Some(n_train);
        spec.model.example_shape = Some(data.training_split()?.feature_shape.clone());
        Ok(Job { spec, data, classes, opts, joining })
    }

    /// The spec as the job will train it.
    pub fn spec(&self) -> &TransferSpec {
        &self.spec
    }

    /// Stage 3: train until done or `stop` is set.
    pub fn run(mut self, rt: &Runtime, stop: &AtomicBool, sink: &mut dyn EventSink) -> Result<Ended> {
        let joining = self.joining.take();
        let ended = (|| {
            if let Some(j) = &joining {
                j.start(&mut self.spec, sink)?;
            }
            let save_every = joining.as_ref().and_then(|j| j.save_every);
            self.start(rt, save_every, stop, sink)?.fit(stop, sink)
        })();
        ended.map_err(|e| match &joining {
            Some(j) => j.explain(e),
            None => e,
        })
    }

    /// Prepare the model and cache its frozen layers, ready to fit; a chief saves a
    /// checkpoint to resume from every `save_every`.
    pub fn start(
        self,
        _rt: &Runtime,
        save_every: Option<std::time::Duration>,
        stop: &AtomicBool,
        sink: &mut dyn EventSink,
    ) -> Result<Started> {
        let disk_cache = match (self.data.is_pending(), &self.spec.model.source) {
            (true, crate::model::ModelSource::Fresh(_)) | (false, _) => None,
            (true, _) => Some(self.disk_cache()?),
        };
        let job = crate::train::run::Job {
            cache_max_bytes: self.opts.cache_frozen.then_some(self.opts.cache_max_bytes),
            disk_cache,
            out: self.opts.out.clone(),
            save_on_nan: self.opts.save_on_nan,
            save_every,
            spec: self.spec,
        };
        Started::new(job, self.data, self.classes, stop, sink)
    }

    /// Where the feature cache on disk is, and what its values depend on besides the graph
    /// below the cut: the model's files, which variables are restored (the others get the
    /// seed's initial values) and oneDNN (it rounds differently; XLA is added once the step
    /// is known).
    fn disk_cache(&self) -> Result<DiskCache> {
        let spec = &self.spec;
        let root = match &self.opts.cache_dir {
            Some(d) => d.clone(),
            None => crate::cache::store::default_root()?,
        };
        let mut source = Source::from(spec.model.source.clone());
        if let Some(c) = &spec.model.checkpoint {
            source = source.checkpoint(c);
        }
        let mut key = vec![("model".to_string(), crate::cache::store::files_digest(&source.files()?)?)];
        if let Some(r) = &spec.recipe.restore {
            key.push(("restore".into(), r.clone()));
            key.push(("seed".into(), spec.schedule.seed.to_string()));
        }
        key.push(("onednn".into(), std::env::var("TF_ENABLE_ONEDNN_OPTS").unwrap_or_default()));
        Ok(DiskCache { root, key })
    }
}

/// `opts` with oneDNN chosen for training `spec` unless someone chose (`opts`, or
/// `TF_ENABLE_ONEDNN_OPTS`); the reason, when it was chosen here.
pub fn load_options(spec: &TransferSpec, opts: LoadOptions) -> (LoadOptions, Option<String>) {
    if opts.onednn.is_some() || std::env::var_os("TF_ENABLE_ONEDNN_OPTS").is_some() {
        return (opts, None);
    }
    // An unreadable graph is reported where it is imported.
    let Ok(graph) = spec.model.source.read().and_then(|m| m.graph_def()) else { return (opts, None) };
    let (on, why) = crate::tf::onednn::for_run(&graph, spec.recipe.freezes());
    (LoadOptions { onednn: Some(on), ..opts }, Some(why))
}

/// `n` training examples of each class, drawn by `seed` (and said so).
pub fn sample(data: DataSet, n: Option<usize>, seed: u64, classes: usize, sink: &mut dyn EventSink) -> Result<DataSet> {
    let Some(n) = n else { return Ok(data) };
    let data = data.per_class(n, seed)?;
    let examples = data.training_split()?.len();
    sink.event(&Event::Sampled { per_class: n, examples, classes, seed })?;
    Ok(data)
}

/// n / (classes × n_c) for each class c of `labels` (scikit-learn's "balanced"); 0 for a class
/// with no example (its weight never applies in training).
fn balanced_weights(labels: &[i64], classes: usize) -> Vec<f32> {
    let mut counts = vec![0usize; classes];
    labels.iter().filter(|&&l| l >= 0 && (l as usize) < classes).for_each(|&l| counts[l as usize] += 1);
    counts.iter().map(|&c| if c == 0 { 0.0 } else { (labels.len() as f64 / (classes * c) as f64) as f32 }).collect()
}
