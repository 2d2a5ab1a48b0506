//! [`Transfer`]: the book's transfer recipes as typed Rust — branch from a tensor, add layers,
//! freeze or restore what to reuse, cache the frozen part — then [`Training::fit`] and
//! [`Training::save`] (a checkpoint and `.meta` Python TF reads back).
//!
//! It builds a [`TransferSpec`] and a job's [`Options`], as `tfreuse train` does from its
//! flags, and runs the same stages ([`crate::train::job`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::data::DataSet;
use crate::error::{Error, Result};
use crate::events::EventSink;
use crate::graph::layers::{Init, LayerSpec};
use crate::model::{Model, Source};
use crate::runtime::Runtime;
use crate::train::job::{ClassWeight, Job, Options};
use crate::train::run::{Ended, Started};
use crate::train::{Optimizer, TransferSpec};

/// A transfer recipe on an opened model, built step by step.
#[derive(Clone, Debug)]
pub struct Transfer {
    source: Option<Source>,
    spec: TransferSpec,
    opts: Options,
}

impl Transfer {
    /// Reuse `model` (opened by [`Runtime::open`]): by default it keeps training with its own
    /// training op, the book's `X:0` and `y:0` fed.
    pub fn new(model: &Model) -> Self {
        Self::from_source(model.origin.clone())
    }

    /// Reuse the model at `source`, imported afresh when prepared.
    pub fn from_source(source: Option<Source>) -> Self {
        let mut spec = TransferSpec::from_source(crate::model::ModelSource::Meta(PathBuf::new()));
        if let Some(s) = &source {
            spec.model.source = s.kind().clone();
            spec.model.checkpoint = s.checkpoint_arg().map(Path::to_path_buf);
        }
        Transfer { source, spec, opts: Options::default() }
    }

    /// Build new layers (or, without any, a new loss) on this tensor, e.g. `dnn/hidden4/Relu:0`.
    pub fn branch_from(mut self, tensor: &str) -> Self {
        self.spec.recipe.branch_from = Some(tensor.into());
        self
    }

    /// Append a new layer: [`crate::Dense`], [`crate::Flatten`], [`crate::Gap`],
    /// [`crate::Dropout`]; the last is the logits, as wide as there are classes.
    pub fn layer(mut self, layer: impl Into<LayerSpec>) -> Self {
        self.spec.recipe.new_layers.push(layer.into());
        self
    }

    /// Put a stop-gradient on this tensor: nothing below it trains.
    pub fn freeze_below(mut self, tensor: &str) -> Self {
        self.spec.recipe.freeze_below = Some(tensor.into());
        self
    }

    /// Train only the variables whose names match this regex (`minimize(var_list=…)`).
    pub fn trainable(mut self, regex: &str) -> Self {
        self.spec.recipe.trainable = Some(regex.into());
        self
    }

    /// Restore only the variables whose names match this regex; initialise the rest.
    pub fn restore(mut self, regex: &str) -> Self {
        self.spec.recipe.restore = Some(regex.into());
        self
    }

    /// Compute the frozen layers once for every split and train the layers above on that.
    pub fn cache_frozen(mut self) -> Self {
        self.opts.cache_frozen = true;
        self
    }

    /// The update rule of the new training op: [`crate::Sgd`], [`crate::Momentum`],
    /// [`crate::Adam`].
    pub fn optimizer(mut self, rule: impl Into<Optimizer>) -> Self {
        self.spec.recipe.optimizer = Some(rule.into());
        self
    }

    /// The learning rate of the new training op (default 0.01).
    pub fn learning_rate(mut self, lr: f32) -> Self {
        self.spec.recipe.lr = lr;
        self
    }

    /// Clip every gradient to `[-value, value]`.
    pub fn clip(mut self, value: f32) -> Self {
        self.spec.recipe.clip = Some(value);
        self
    }

    /// How new dense kernels start (default Glorot-uniform).
    pub fn init(mut self, init: Init) -> Self {
        self.spec.recipe.init = init;
        self
    }

    /// The tensors fed with the features and the labels (default `X:0`, `y:0`).
    pub fn feed(mut self, input: &str, labels: &str) -> Self {
        self.spec.model.input = input.into();
        self.spec.model.labels = Some(labels.into());
        self
    }

    /// Examples per training step (default 200, the book's).
    pub fn batch_size(mut self, n: usize) -> Self {
        self.spec.schedule.batch_size = n;
        self
    }

    /// Seed of the new layers' initial values and of the shuffles (default 42).
    pub fn seed(mut self, seed: u64) -> Self {
        self.spec.schedule.seed = seed;
        self
    }

    /// Weigh each example's loss by its class, so rare classes count as much as common ones.
    pub fn balanced_classes(mut self) -> Self {
        self.opts.class_weight = Some(ClassWeight::Balanced);
        self
    }

    /// Train on `n` examples of each class only, drawn by the seed.
    pub fn per_class(mut self, n: usize) -> Self {
        self.opts.per_class = Some(n);
        self
    }

    /// The spec built so far (what `tfreuse train` would be given).
    pub fn spec(&self) -> &TransferSpec {
        &self.spec
    }

    /// Build the graph for `data`: new layers, loss, training op; restore; cache the frozen
    /// layers.
    pub fn prepare(self, data: &DataSet) -> Result<Training> {
        self.prepare_with(data, &mut crate::events::Memory::default())
    }

    /// [`Transfer::prepare`], reporting the setup and the caching to `sink`.
    pub fn prepare_with(self, data: &DataSet, sink: &mut dyn EventSink) -> Result<Training> {
        if self.source.is_none() {
            return Err(Error::Invalid("the model was not opened by Runtime::open, so where it came from is unknown".into()));
        }
        let rt = Runtime::current()?;
        let classes = data.splits.values().map(|s| s.num_classes()).max().unwrap_or(0).max(data.classes.len());
        crate::train::check_labels(data, classes)?;
        let job = Job::new(self.spec, (data.clone(), classes), self.opts, None, sink)?;
        let stop = AtomicBool::new(false);
        Ok(Training { started: job.start(&rt, None, &stop, sink)? })
    }
}

/// How long to train and on what batches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    /// Passes over the training split.
    pub epochs: usize,
    /// Stop after this many epochs without a better validation metric, keeping the best
    /// epoch's weights.
    pub patience: Option<usize>,
    /// Shuffle the training split every epoch (else file order, like a plain Python loop).
    pub shuffle: bool,
}

impl Schedule {
    /// `n` epochs, shuffled, no early stopping.
    pub fn epochs(n: usize) -> Self {
        Schedule { epochs: n, patience: None, shuffle: true }
    }

    /// Stop after `n` epochs without improvement on the validation split.
    pub fn patience(self, n: usize) -> Self {
        Schedule { patience: Some(n), ..self }
    }
}

/// A prepared transfer: train it, then save it.
pub struct Training {
    started: Started,
}

impl Training {
    /// Train as `schedule` says, then evaluate on the test split; events (epochs, the test
    /// result) go to `sink`, which may be a closure `|e: &Event| …`.
    pub fn fit(&mut self, schedule: Schedule, sink: &mut dyn EventSink) -> Result<Ended> {
        self.started.reschedule(|s| {
            s.schedule.epochs = schedule.epochs;
            s.schedule.patience = schedule.patience;
            s.schedule.shuffle = schedule.shuffle;
        });
        self.started.fit(&AtomicBool::new(false), sink)
    }

    /// Save the model as trained to checkpoint `prefix` (its `.index`, `.data-*` and `.meta`,
    /// written atomically); Python TF's `import_meta_graph` + `restore` read it back.
    pub fn save(&self, prefix: impl AsRef<Path>) -> Result<Vec<PathBuf>> {
        self.started.save(prefix.as_ref(), &mut crate::events::Memory::default())
    }

    /// The trained model: its graph, session, and the tensors training made.
    pub fn prepared(&self) -> &crate::train::Prepared {
        self.started.prepared()
    }
}
