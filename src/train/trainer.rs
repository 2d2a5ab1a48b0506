//! The training loop of a [`Prepared`] model: epochs of shuffled batches fed into the
//! training op, the metric on the validation split after each, events to a sink, a stop flag
//! checked at every step; and what else a prepared model does: evaluate, cache its frozen
//! layers, save.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use tensorflow::{DataType, Operation, Output, SessionRunArgs, Tensor, TensorType};

use crate::data::{DataSet, Split};
use crate::error::{Error, Result, Role};
use crate::eval::{evaluate_outputs, Batch};
use crate::events::{Event, EventSink, SetupReport};
use crate::feed::{FixedFeeds, InputShape, LabelLayout};
use crate::model::metagraph::Extension;
use crate::model::Model;
use crate::tf::output_name;
use crate::tf::tensors::{dtype_name, DynTensor};
use crate::train::resume::{History, Progress};
use crate::train::spec::TransferSpec;

/// A model ready to train.
pub struct Prepared {
    /// The model, with the new ops in its graph and its variables set.
    pub model: Model,
    /// The features' tensor.
    pub x: Output,
    /// What training feeds the features into: `x`, or the cut when training on a cache.
    pub feed: Output,
    /// The tensor below which nothing trains, if there is exactly one (else why not).
    pub cut: std::result::Result<Output, String>,
    /// The labels' tensor.
    pub y: Output,
    /// The loss the training op minimises.
    pub loss: Output,
    /// The metric reported beside it (accuracy), when there is one.
    pub metric: Option<Output>,
    /// The new layers' logits, when tfreuse built them.
    pub logits: Option<Output>,
    /// The training op.
    pub train_op: Operation,
    /// The trained float32 variables' values, by name.
    pub trained_values: Vec<(String, Output)>,
    /// Training flags as training steps feed them…
    pub train_flags: FixedFeeds,
    /// …and as everything else does (validation, test, caching).
    pub eval_flags: FixedFeeds,
    /// What setting up did, for the user.
    pub report: SetupReport,
    /// What a saved `.meta` adds to the imported one.
    pub(crate) extension: Extension,
    /// What [`Prepared::save`] keeps with `--prune`.
    pub(crate) pruned: Option<crate::train::prepare::Pruned>,
    /// Only new ops lie above the cut: fed its rows, training takes batches of any size,
    /// whatever batch the input fixes (the frozen part runs in its own batch when cached).
    pub(crate) cut_any_batch: bool,
}

/// How [`Prepared::train`] ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// Training ran to its end (the last epoch, or early stopping): what each epoch gave.
    Finished(History),
    /// Stopped at a step boundary on request (Ctrl-C / SIGTERM).
    Interrupted(Progress),
    /// The loss became NaN or infinite.
    Diverged {
        /// The epoch, from 1.
        epoch: usize,
        /// The step in the epoch, from 1.
        step: usize,
        /// The loss that step gave.
        loss: f32,
    },
}

/// Labels are stored as i64; the placeholder may want i32.
pub trait FromLabel: TensorType + Copy {
    fn from_label(v: i64) -> Self;
}
impl FromLabel for i64 {
    fn from_label(v: i64) -> Self {
        v
    }
}
impl FromLabel for i32 {
    fn from_label(v: i64) -> Self {
        v as i32
    }
}

/// Batches of a split in a seeded order, built into tensors allocated once (float32
/// features are gathered straight into the tensor; other dtypes are converted per batch).
struct Batches<'a, L: FromLabel> {
    split: &'a Split,
    /// The shape each row is fed in, and the input's dtype.
    row: Vec<usize>,
    dtype: DataType,
    size: usize,
    labels: LabelLayout,
    order: Vec<usize>,
    rng: Option<rand_chacha::ChaCha8Rng>,
    x: DynTensor,
    y: Tensor<L>,
    augmenting: Option<Augmenting>,
}

/// Augmentation of training batches: the changes, the pictures' geometry and value range, and
/// what seeds each batch's draws (seed, epoch, step: a resumed run draws the same).
struct Augmenting {
    augment: crate::data::augment::Augment,
    geometry: (usize, usize, usize),
    range: Option<(f32, f32)>,
    seed: u64,
    epoch: usize,
}

impl Augmenting {
    /// Change each row of `x` (float32 batches only: augmentation works on values).
    fn apply(&self, x: &mut DynTensor, step: usize) {
        let DynTensor::F32(t) = x else { return };
        let mix = self.seed ^ ((self.epoch as u64) << 40) ^ ((step as u64) << 8) ^ 0xA5A5;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(mix);
        let (h, w, c) = self.geometry;
        for row in t.chunks_mut(h * w * c) {
            self.augment.apply(row, self.geometry, self.range, &mut rng);
        }
    }
}

impl<'a, L: FromLabel> Batches<'a, L> {
    /// Replaying the shuffles of the epochs already done (`done`) puts the generator, and the
    /// order, exactly where an interrupted run left them.
    fn new(
        split: &'a Split,
        feed: (Vec<usize>, DataType),
        size: usize,
        labels: LabelLayout,
        shuffle: bool,
        seed: u64,
        done: usize,
    ) -> Self {
        let (row, dtype) = feed;
        let mut rng = shuffle.then(|| rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        let mut order: Vec<usize> = (0..split.len()).collect();
        if let Some(r) = rng.as_mut() {
            (0..done).for_each(|_| order.shuffle(r));
        }
        let (x, y) = Self::tensors(&row, size, labels);
        Batches { split, row, dtype, size, labels, order, rng, x: DynTensor::F32(x), y, augmenting: None }
    }

    /// Augment every training batch (`done` epochs already done).
    fn augmented(mut self, augment: Option<&crate::data::augment::Augment>, seed: u64, done: usize) -> Result<Self> {
        let Some(augment) = augment else { return Ok(self) };
        let geometry = crate::data::augment::geometry(&self.split.feature_shape).ok_or_else(|| {
            Error::Invalid(format!(
                "{} needs pictures; the training rows are shaped {:?}",
                Role::Augment.mention(),
                self.split.feature_shape
            ))
        })?;
        if self.dtype != DataType::Float {
            return Err(Error::Invalid(format!("{} needs a float32 input", Role::Augment.mention())));
        }
        let range = self.split.x.scale().map(|s| s.range());
        self.augmenting = Some(Augmenting { augment: augment.clone(), geometry, range, seed, epoch: done });
        Ok(self)
    }

    fn tensors(row: &[usize], n: usize, labels: LabelLayout) -> (Tensor<f32>, Tensor<L>) {
        let mut dims: Vec<u64> = vec![n as u64];
        dims.extend(row.iter().map(|&d| d as u64));
        let y: Vec<u64> = labels.dims(n).iter().map(|&d| d as u64).collect();
        (Tensor::new(&dims), Tensor::new(&y))
    }

    fn steps(&self) -> usize {
        self.split.len().div_ceil(self.size)
    }

    fn next_epoch(&mut self) {
        if let Some(r) = self.rng.as_mut() {
            self.order.shuffle(r);
        }
        if let Some(a) = self.augmenting.as_mut() {
            a.epoch += 1;
        }
    }

    /// Run `f` on batch `step` of this epoch's order; returns its result and the batch size.
    fn with_batch<T>(&mut self, step: usize, f: impl FnOnce(&DynTensor, &Tensor<L>) -> Result<T>) -> Result<(T, usize)> {
        let n = self.split.len();
        let idx = &self.order[step * self.size..((step + 1) * self.size).min(n)];
        if idx.len() != self.size {
            let (x, mut y) = Self::tensors(&self.row, idx.len(), self.labels);
            let mut x = DynTensor::F32(x);
            fill(&mut x, &mut y, self.split, idx, self.dtype, &self.row)?;
            if let Some(a) = &self.augmenting {
                a.apply(&mut x, step);
            }
            return Ok((f(&x, &y)?, idx.len()));
        }
        fill(&mut self.x, &mut self.y, self.split, idx, self.dtype, &self.row)?;
        if let Some(a) = &self.augmenting {
            a.apply(&mut self.x, step);
        }
        Ok((f(&self.x, &self.y)?, idx.len()))
    }
}

/// Gather the rows: float32 straight into the tensor's buffer, other dtypes converted (raw
/// pixels for an integer input, see [`Split::rows`]).
fn fill<L: FromLabel>(x: &mut DynTensor, y: &mut Tensor<L>, split: &Split, idx: &[usize], dtype: DataType, row: &[usize]) -> Result<()> {
    for (i, &r) in idx.iter().enumerate() {
        y[i] = L::from_label(split.y[r]);
    }
    match x {
        DynTensor::F32(t) if dtype == DataType::Float => {
            let len = split.row_len();
            idx.iter().enumerate().for_each(|(i, &r)| split.copy_row(r, &mut t[i * len..(i + 1) * len]));
        }
        _ => *x = split.gather(idx).tensor(0, idx.len(), dtype, row)?,
    }
    Ok(())
}

/// Early stopping: the best epoch so far (by the validation metric, higher is better, ties
/// broken by the validation loss — a small validation split's accuracy moves in steps while
/// the loss still improves; without a metric, by the validation loss, lower is better), its
/// variables saved by the model's own saver into a private folder, removed when done.
struct Best {
    patience: usize,
    on_loss: bool,
    dir: PathBuf,
    epoch: usize,
    /// The watched value of the best epoch.
    metric: f64,
    /// Its validation loss.
    loss: f64,
}

impl Best {
    fn new(patience: usize, on_loss: bool) -> Result<Best> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("tfreuse-best-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Best { patience: patience.max(1), on_loss, dir, epoch: 0, metric: f64::NAN, loss: f64::NAN })
    }

    fn prefix(&self) -> PathBuf {
        self.dir.join("best")
    }

    /// Keep the epoch just ended if it is the best; whether to stop.
    fn after_epoch(&mut self, prepared: &Prepared, p: &Progress) -> Result<bool> {
        let last = |v: &[Option<f64>]| v.last().copied().flatten().unwrap_or(f64::NAN);
        let loss = last(&p.history.validation_loss);
        let value = if self.on_loss { loss } else { last(&p.history.metric) };
        let better = if self.on_loss { value < self.metric } else { value > self.metric || (value == self.metric && loss < self.loss) };
        if better || self.epoch == 0 {
            (self.epoch, self.metric, self.loss) = (p.epoch, value, loss);
            prepared.snapshot(&self.prefix(), false)?;
        }
        Ok(p.epoch - self.epoch >= self.patience)
    }

    /// Put the best epoch's variables back if later ones were worse, and say so.
    fn finish(self, prepared: &Prepared, p: &Progress, stopped_early: bool, sink: &mut dyn EventSink) -> Result<()> {
        let restored = self.epoch != p.epoch;
        if restored {
            prepared.snapshot(&self.prefix(), true)?;
        }
        sink.event(&Event::Best { epoch: self.epoch, metric: self.metric, on_loss: self.on_loss, restored, stopped_early })
    }
}

impl Drop for Best {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What one [`Prepared::train`] call trains on and reports to.
/// The splits evaluated after every epoch: validation (the metric early stopping watches) and,
/// for studies, test (`--eval-test-every-epoch`).
#[derive(Clone, Copy, Default)]
pub struct Watch<'a> {
    /// Evaluated after every epoch; early stopping watches it.
    pub validation: Option<&'a Split>,
    /// Evaluated after every epoch, for studies (never to choose by).
    pub test: Option<&'a Split>,
    /// Called at the first step boundary after every period (a cluster chief's checkpoints).
    pub every: Option<Periodic<'a>>,
}

/// Something to do at a step boundary once a period has passed since it was last done.
#[derive(Clone, Copy)]
pub struct Periodic<'a> {
    /// How often.
    pub period: std::time::Duration,
    /// What to do, given how far training got.
    pub run: &'a dyn Fn(&Progress, &mut dyn EventSink) -> Result<()>,
}

struct Run<'a> {
    spec: &'a TransferSpec,
    train: &'a Split,
    /// The shape each training row is fed in.
    row: Vec<usize>,
    watch: Watch<'a>,
    stop: &'a AtomicBool,
    sink: &'a mut dyn EventSink,
}

fn unix_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl Prepared {
    /// Run the epochs of `spec` on `train` from `start` (a fresh [`Progress`], or one saved
    /// by an interrupted run), evaluating the loss and metric on the `watch`ed splits after each epoch.
    /// Checks `stop` after every step: when set, returns [`Outcome::Interrupted`].
    pub fn train(
        &self,
        spec: &TransferSpec,
        train: &Split,
        watch: Watch,
        start: Progress,
        stop: &AtomicBool,
        sink: &mut dyn EventSink,
    ) -> Result<Outcome> {
        if train.is_empty() {
            return Err(Error::Invalid("the training split is empty".into()));
        }
        if spec.schedule.batch_size > train.len() {
            let msg = format!("is larger than the {} training examples", train.len());
            return Err(Error::arg(Role::BatchSize, Some(&spec.schedule.batch_size.to_string()), msg));
        }
        let row = self.check_batches(spec.schedule.batch_size, train)?;
        if spec.schedule.patience.is_some() && watch.validation.is_none() {
            return Err(Error::arg(Role::Patience, None, "needs a validation split to watch: the data has none"));
        }
        let run = Run { spec, train, row, watch, stop, sink };
        match crate::tf::tensors::output_dtype(&self.y) {
            DataType::Int64 => self.epochs::<i64>(run, start),
            DataType::Int32 => self.epochs::<i32>(run, start),
            other => Err(Error::Invalid(format!("labels of dtype {} are not supported", dtype_name(other)))),
        }
    }

    fn epochs<L: FromLabel>(&self, run: Run, start: Progress) -> Result<Outcome> {
        let Run { spec, train, row, watch, stop, sink } = run;
        let labels = LabelLayout::of(&self.model.graph, &self.y)?;
        let dtype = crate::tf::tensors::output_dtype(&self.feed);
        let mut batches = Batches::<L>::new(train, (row, dtype), spec.schedule.batch_size, labels, spec.schedule.shuffle, spec.schedule.seed, start.epoch).augmented(
            spec.schedule.augment.as_ref(),
            spec.schedule.seed,
            start.epoch,
        )?;
        let mut p = start;
        let mut first = p.epoch == 0 && p.step == 0;
        let mut best = spec.schedule.patience.map(|n| Best::new(n, self.metric.is_none())).transpose()?;
        let frozen = self.through_frozen()?;
        if let Some(f) = &frozen {
            let (input, tensor) = (output_name(&self.x), output_name(f.cut));
            sink.event(&Event::FrozenBatch { input, batch: f.fixed.unwrap_or(1), tensor, cached: false })?;
        }
        let mut last = Instant::now();
        while p.epoch < spec.schedule.epochs {
            let t0 = Instant::now();
            if p.step == 0 {
                p.loss_sum = 0.0;
            }
            batches.next_epoch();
            let steps = batches.steps();
            for step in p.step..steps {
                if stop.load(Ordering::SeqCst) {
                    return Ok(Outcome::Interrupted(p));
                }
                let (loss, n) = batches.with_batch(step, |x, y| match &frozen {
                    Some(f) => self.step(f.cut, &DynTensor::F32(f.rows(x)?), y),
                    None => self.step(&self.feed, x, y),
                })?;
                p.step = step + 1;
                if !loss.is_finite() {
                    return Ok(Outcome::Diverged { epoch: p.epoch + 1, step: step + 1, loss });
                }
                p.loss_sum += loss as f64 * n as f64;
                if std::mem::take(&mut first) {
                    sink.event(&Event::FirstStep { unix_time: unix_now() })?;
                }
                sink.event(&Event::Step { epoch: p.epoch + 1, step: step + 1, steps, loss })?;
                if let Some(every) = watch.every.filter(|e| last.elapsed() >= e.period) {
                    (every.run)(&p, sink)?;
                    last = Instant::now();
                }
            }
            self.end_epoch(&mut p, train.len(), watch, t0, sink)?;
            if let Some(b) = best.as_mut() {
                if b.after_epoch(self, &p)? {
                    break;
                }
            }
        }
        // No epoch ran (all done before a resume, or --epochs 0): nothing to choose from.
        if let Some(b) = best.filter(|b| b.epoch > 0) {
            b.finish(self, &p, p.epoch < spec.schedule.epochs, sink)?;
        }
        Ok(Outcome::Finished(p.history))
    }

    /// The input takes the data's rows (returns the shape they are fed in), and every
    /// training batch has the rows a fixed batch dimension demands (none when training on the
    /// cut's cached rows with only new layers above it).
    fn check_batches(&self, batch_size: usize, train: &Split) -> Result<Vec<usize>> {
        let shape = InputShape::of(&self.model.graph, &self.feed)?;
        let row = shape.row_dims(Role::Input, &train.feature_shape)?;
        // Only new layers above the cut: they take any batch, fed the cut's rows from the cache
        // or from the frozen part run in its own batch inside each step.
        match shape.fixed_batch().filter(|_| !self.cut_any_batch) {
            Some(b) if b != batch_size => {
                let msg = format!("must be {b}: the input takes batches of exactly {b} rows");
                Err(Error::arg(Role::BatchSize, Some(&batch_size.to_string()), msg))
            }
            Some(b) => shape.batch(Role::Input, b, train.len()).map(|_| row),
            None => Ok(row),
        }
    }

    /// Training feeds the cut's rows, in batches of any size (see [`Prepared::cut_any_batch`]).
    fn cut_fed_any_batch(&self) -> bool {
        self.cut_any_batch && output_name(&self.feed) != output_name(&self.x)
    }

    /// The frozen part, when training runs it in the input's fixed batch inside each step and
    /// feeds the cut's rows to the new layers (uncached, only new layers above the cut, as
    /// retrain.py does when distortions turn its bottleneck cache off).
    fn through_frozen(&self) -> Result<Option<crate::cache::Frozen<'_>>> {
        let cut = match &self.cut {
            Ok(cut) if self.cut_any_batch && output_name(&self.feed) == output_name(&self.x) => cut,
            _ => return Ok(None),
        };
        let frozen = crate::cache::Frozen::new(&self.model, &self.x, cut, &self.eval_flags)?;
        Ok(frozen.fixed.is_some().then_some(frozen))
    }

    /// The rows per run the input fixes, when training on the cut's rows frees the new layers
    /// from it: what the cache is computed in (`None`: no such batch).
    pub fn frozen_batch(&self) -> Result<Option<usize>> {
        let input = InputShape::of(&self.model.graph, &self.x)?.fixed_batch();
        Ok(input.filter(|_| self.cut_any_batch))
    }

    /// Tell `sink` the cache was computed in the input's fixed batch, if it has one that the
    /// new layers need not take.
    fn say_frozen_batch(&self, sink: &mut dyn EventSink) -> Result<()> {
        match self.frozen_batch()? {
            Some(batch) => sink.event(&Event::FrozenBatch { input: output_name(&self.x), batch, tensor: output_name(&self.feed), cached: true }),
            None => Ok(()),
        }
    }

    /// The validation loss and metric, the epoch's record and event (and the test split's, when
    /// watched); on to the next epoch.
    fn end_epoch(&self, p: &mut Progress, n: usize, watch: Watch, t0: Instant, sink: &mut dyn EventSink) -> Result<()> {
        let train_seconds = t0.elapsed().as_secs_f64();
        let (validation_loss, metric) = match watch.validation {
            Some(v) => {
                let got = self.evaluate(v)?;
                (Some(got[0]), got.get(1).copied())
            }
            None => (None, None),
        };
        let seconds = t0.elapsed().as_secs_f64();
        let train_loss = p.loss_sum / n as f64;
        p.history.train_loss.push(train_loss);
        p.history.metric.push(metric);
        p.history.validation_loss.push(validation_loss);
        p.history.seconds.push(seconds);
        if sink.wants_variables() {
            sink.event(&Event::Variables { epoch: p.epoch + 1, values: self.trained_variables()? })?;
        }
        sink.event(&Event::Epoch { epoch: p.epoch + 1, train_loss, validation_loss, metric, seconds, train_seconds, examples: n })?;
        if let Some(test) = watch.test {
            let got = self.evaluate(test)?;
            sink.event(&Event::EpochTest { epoch: p.epoch + 1, loss: got[0], metric: got.get(1).copied() })?;
        }
        p.epoch += 1;
        p.step = 0;
        Ok(())
    }

    /// Write every variable to checkpoint `prefix` with the model's saver, or (`restore`) read
    /// them back from it.
    fn snapshot(&self, prefix: &Path, restore: bool) -> Result<()> {
        let saver = &self.extension.saver_def;
        let filename = crate::tf::find_output(&self.model.graph, &saver.filename_tensor_name)?;
        let op = match restore {
            true => crate::tf::find_operation(&self.model.graph, &saver.restore_op_name)?,
            false => crate::tf::find_output(&self.model.graph, &saver.save_tensor_name)?.operation,
        };
        self.model
            .run_with_prefix(&filename, &op, prefix)
            .map_err(|e| Error::bad_file(prefix, format!("cannot keep the best epoch's variables: {e}")))
    }

    /// The values of the trained float32 variables now.
    pub fn trained_variables(&self) -> Result<Vec<(String, Vec<f32>)>> {
        let mut args = SessionRunArgs::new();
        let tokens: Vec<_> = self.trained_values.iter().map(|(_, o)| args.request_fetch(&o.operation, o.index)).collect();
        self.model.gate.check(&self.trained_values.iter().map(|(_, o)| &o.operation).collect::<Vec<_>>(), &[])?;
        self.model.session.run(&mut args)?;
        let values = tokens.into_iter().map(|t| args.fetch::<f32>(t).map(|v| v.to_vec())).collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(self.trained_values.iter().map(|(n, _)| n.clone()).zip(values).collect())
    }

    /// One training step on `x` fed to `at` (the input, or the cut).
    fn step<L: TensorType>(&self, at: &Output, x: &DynTensor, y: &Tensor<L>) -> Result<f32> {
        let mut args = SessionRunArgs::new();
        x.feed(&mut args, &at.operation, at.index);
        args.add_feed(&self.y.operation, self.y.index, y);
        self.train_flags.add_to(&mut args);
        args.add_target(&self.train_op);
        let tok = args.request_fetch(&self.loss.operation, self.loss.index);
        self.model.gate.check(&[&self.loss.operation, &self.train_op], &self.train_flags.fed(&[at, &self.y]))?;
        self.model.session.run(&mut args)?;
        let l: Tensor<f32> = args.fetch(tok)?;
        Ok(l.first().copied().unwrap_or(f32::NAN))
    }

    /// The loss and the metric (if any) on a split: all at once, or in the batch the input
    /// fixes; the new layers all at once when only they lie above the cut (fed its cached
    /// rows, or those of the frozen part run in its batch first).
    pub fn evaluate(&self, split: &Split) -> Result<Vec<f64>> {
        let mut fetches = vec![self.loss.clone()];
        fetches.extend(self.metric.clone());
        if let Some(f) = self.through_frozen()? {
            let rows = crate::cache::compute(&self.model, &self.x, f.cut, split, 0, &self.eval_flags, &mut |_| {})?;
            return evaluate_outputs(&self.model, &rows, f.cut, &self.y, &fetches, Batch::Any, &self.eval_flags);
        }
        let batch = if self.cut_fed_any_batch() { Batch::Any } else { Batch::Rows(0) };
        evaluate_outputs(&self.model, split, &self.feed, &self.y, &fetches, batch, &self.eval_flags)
    }

    /// Train on the cut's rows from the feature cache on disk under `root` from now on,
    /// computing (and adding) those it lacks; `data` holds pictures not yet decoded. `key`
    /// names what the values depend on outside the graph (model files, restore settings);
    /// the cut, the preprocessing, the scale and every fixed feed are added here.
    pub fn use_disk_cache(
        &mut self,
        data: &DataSet,
        (root, mut key): (&Path, Vec<(String, String)>),
        stop: &AtomicBool,
        sink: &mut dyn EventSink,
    ) -> Result<DataSet> {
        let t0 = Instant::now();
        let cut = self.cut.clone().map_err(|why| Error::arg(Role::Cache, None, format!("no single frozen tensor to cache: {why}")))?;
        key.push(("cut".into(), output_name(&cut)));
        key.push(("preprocess".into(), serde_json::to_string(&data.preprocess).unwrap_or_default()));
        key.push(("scale".into(), data.training_split()?.x.scale().map(|s| s.spec()).unwrap_or_default()));
        key.push(("feeds".into(), self.eval_flags.describe().join(" ")));
        let net = crate::cache::pictures::Net { model: &self.model, x: &self.x, cut: &cut, flags: &self.eval_flags, stop };
        let mut result = Ok(());
        let (cached, report) = crate::cache::through_store(&net, data, root, key, &mut |split, done, total| {
            if result.is_ok() {
                result = sink.event(&Event::CacheProgress { split: split.to_string(), done, total });
            }
        })?;
        result?;
        self.feed = cut;
        if let Some(why) = &report.newer {
            sink.event(&Event::Warning { message: why.clone() })?;
        }
        sink.event(&Event::DiskCache {
            tensor: output_name(&self.feed),
            dir: report.dir,
            hits: report.hits,
            misses: report.misses,
            damaged: report.damaged,
            skipped: report.skipped.iter().map(|(f, why)| format!("{}: {why}", f.display())).collect(),
            megabytes: report.megabytes,
            seconds: t0.elapsed().as_secs_f64(),
            tf_seconds: report.tf_seconds,
        })?;
        self.say_frozen_batch(sink)?;
        Ok(cached)
    }

    /// Train on rows of the cut computed before (by [`Prepared::use_cache`] of a model with the
    /// same layers below it) from now on.
    pub fn feed_cut(&mut self) -> Result<()> {
        self.feed = self.cut.clone().map_err(|why| Error::arg(Role::Cache, None, format!("no single frozen tensor to cache: {why}")))?;
        Ok(())
    }

    /// Compute the cut for every split of `data` and train on it from now on (splits must
    /// then be taken from the returned set). Refuses above `max_bytes`.
    ///
    /// Each split is computed in the batches it would otherwise run in: the training split in
    /// `train_batch` rows, the others whole (as evaluation runs them). TF's MatMul may round a
    /// row differently depending on the batch it is in, so only this makes a cached run
    /// byte-identical to an uncached one whose batches are the same (`--no-shuffle`).
    pub fn use_cache(&mut self, data: &DataSet, max_bytes: usize, train_batch: usize, sink: &mut dyn EventSink) -> Result<DataSet> {
        let t0 = Instant::now();
        let cut = self.cut.clone().map_err(|why| Error::arg(Role::Cache, None, format!("no single frozen tensor to cache: {why}")))?;
        let bytes = crate::cache::cache_bytes(&self.model.graph, &cut, data)?;
        if bytes > max_bytes {
            let msg = format!(
                "the cache of {} would take {} MB, over the limit of {} MB; raise it or cache less",
                output_name(&cut),
                bytes.div_ceil(1 << 20),
                max_bytes >> 20
            );
            return Err(Error::arg(Role::CacheLimit, None, msg));
        }
        let training = data.training_split_name()?;
        let mut splits = std::collections::BTreeMap::new();
        for (name, split) in &data.splits {
            let (n, mut done, mut result) = (split.len(), 0, Ok(()));
            let batch = if name == training { train_batch } else { n.max(1) };
            let cached = crate::cache::compute(&self.model, &self.x, &cut, split, batch, &self.eval_flags, &mut |k| {
                done += k;
                if result.is_ok() {
                    result = sink.event(&Event::CacheProgress { split: name.clone(), done, total: n });
                }
            })?;
            result?;
            splits.insert(name.clone(), cached);
        }
        self.feed = cut;
        let cached = DataSet {
            source: format!("{} (cached at {})", data.source, output_name(&self.feed)),
            splits,
            classes: data.classes.clone(),
            ..Default::default()
        };
        let megabytes = cached.splits.values().map(|s| s.x.bytes()).sum::<usize>() as f64 / (1 << 20) as f64;
        sink.event(&Event::Cached { tensor: output_name(&self.feed), megabytes, seconds: t0.elapsed().as_secs_f64() })?;
        self.say_frozen_batch(sink)?;
        Ok(cached)
    }

    /// The files saved beside a checkpoint of this model trained on `data` (the labels and
    /// the preprocessing of pictures).
    pub fn side_files(&self, data: &DataSet) -> Result<Vec<(String, Vec<u8>)>> {
        crate::data::images::side_files(data, &output_name(&self.x), self.logits.as_ref().map(output_name).as_deref())
    }

    /// Write `.meta`, `.index`, `.data-*` and `checkpoint` for prefix `out`, atomically
    /// (each step of the save is reported as an [`Event::SaveStep`]).
    /// Save to prefix `out`, with `extras` (`(suffix, bytes)`: `.labels.txt` …) beside it.
    pub fn save(&self, out: &Path, extras: &[(String, Vec<u8>)], sink: &mut dyn EventSink) -> Result<Vec<PathBuf>> {
        self.save_as(out, extras, sink, self.pruned.as_ref())
    }

    /// [`Prepared::save`] of every variable even with `--prune` (a checkpoint to resume from).
    pub fn save_whole(&self, out: &Path, extras: &[(String, Vec<u8>)], sink: &mut dyn EventSink) -> Result<Vec<PathBuf>> {
        self.save_as(out, extras, sink, None)
    }

    fn save_as(
        &self,
        out: &Path,
        extras: &[(String, Vec<u8>)],
        sink: &mut dyn EventSink,
        pruned: Option<&crate::train::prepare::Pruned>,
    ) -> Result<Vec<PathBuf>> {
        let ext = match pruned {
            Some(p) => Extension { saver_def: p.saver_def.clone(), ..self.extension.clone() },
            None => self.extension.clone(),
        };
        let mut meta = self.model.meta.extended(&self.model.graph, &ext)?;
        if let Some(p) = pruned {
            meta.prune(&p.keep)?;
        }
        let mut result = Ok(());
        let files =
            crate::model::save::save_checkpoint(&self.model, &ext.saver_def, &meta, out, extras, &mut |step| {
                if result.is_ok() {
                    result = sink.event(&Event::SaveStep { step });
                }
            })?;
        result?;
        sink.event(&Event::Saved { prefix: out.to_path_buf(), files: files.len() })?;
        Ok(files)
    }
}

/// Check a data set against the model before any work: labels in range for `classes`.
pub fn check_labels(data: &DataSet, classes: usize) -> Result<()> {
    for (name, s) in &data.splits {
        if let Some(&bad) = s.y.iter().find(|&&l| l < 0 || l as usize >= classes) {
            return Err(Error::Invalid(format!("{}: split {name} has label {bad}, outside 0..{classes}", data.source)));
        }
    }
    Ok(())
}
