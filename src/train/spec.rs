//! What a transfer run is asked to do: [`TransferSpec`], every setting in one value, with the
//! book's defaults. Serialized whole, it is also what a resumed run must match.

use std::path::PathBuf;

use crate::graph::layers::{Init, LayerSpec};
use crate::graph::optimizer::{self, UpdateRule};
use crate::model::ModelSource;
use crate::tf::SessionConfig;

/// Which update rule the new training op uses.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum Optimizer {
    /// Plain gradient descent (`GradientDescentOptimizer`).
    Sgd,
    /// Gradient descent with momentum (`MomentumOptimizer`).
    Momentum {
        /// The decay of the running gradient (0.9 by default).
        momentum: f32,
    },
    /// Adam (`AdamOptimizer`), with TF's defaults.
    Adam {
        /// Decay of the first moment (0.9).
        beta1: f32,
        /// Decay of the second moment (0.999).
        beta2: f32,
        /// Added to the denominator (1e-8).
        epsilon: f32,
    },
}

impl Optimizer {
    /// Momentum with its default momentum.
    pub fn momentum() -> Self {
        Optimizer::Momentum { momentum: optimizer::Momentum::default().momentum }
    }

    /// Adam with TF's default settings.
    pub fn adam() -> Self {
        let d = optimizer::Adam::default();
        Optimizer::Adam { beta1: d.beta1, beta2: d.beta2, epsilon: d.epsilon }
    }

    /// The rule that builds the update ops.
    pub(crate) fn rule(self) -> Box<dyn UpdateRule> {
        match self {
            Optimizer::Sgd => Box::new(optimizer::Sgd),
            Optimizer::Momentum { momentum } => Box::new(optimizer::Momentum { momentum }),
            Optimizer::Adam { beta1, beta2, epsilon } => Box::new(optimizer::Adam { beta1, beta2, epsilon }),
        }
    }
}

impl From<optimizer::Sgd> for Optimizer {
    fn from(_: optimizer::Sgd) -> Self {
        Optimizer::Sgd
    }
}

impl From<optimizer::Momentum> for Optimizer {
    fn from(m: optimizer::Momentum) -> Self {
        Optimizer::Momentum { momentum: m.momentum }
    }
}

impl From<optimizer::Adam> for Optimizer {
    fn from(a: optimizer::Adam) -> Self {
        Optimizer::Adam { beta1: a.beta1, beta2: a.beta2, epsilon: a.epsilon }
    }
}

/// What the new head minimises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Softmax cross-entropy against the labels, with an accuracy.
    #[default]
    Classify,
    /// Mean squared error between the last layer and the tensor the layers start from (an
    /// autoencoder); the labels are not used and there is no metric.
    Reconstruct,
    /// Whether two examples share a class: the layers end in [`crate::graph::layers::LayerSpec::Pairs`]
    /// and a 2-wide layer; the label of row i is 1 when `y[i] == y[n−1−i]` (the pairs task).
    Pairs,
}

impl Objective {
    /// How many classes the head tells apart, given the data's: the pairs task's two kinds of
    /// pair whatever the data; none for a reconstruction.
    pub fn classes(self, data_classes: usize) -> Option<usize> {
        match self {
            Objective::Classify => Some(data_classes),
            Objective::Pairs => Some(2),
            Objective::Reconstruct => None,
        }
    }
}

/// Everything a transfer run needs, by concern; defaults follow the book. Serialized flat (the
/// parts' fields side by side), as before the split, so resumption records still compare.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TransferSpec {
    /// What the model is and how it is fed.
    #[serde(flatten)]
    pub model: ModelSpec,
    /// What is reused and what is new.
    #[serde(flatten)]
    pub recipe: RecipeSpec,
    /// How long and in what order.
    #[serde(flatten)]
    pub schedule: ScheduleSpec,
    /// Where and how it runs.
    #[serde(flatten)]
    pub run: RunSpec,
}

/// What the model is and how it is fed: the source, its tensors, the values fed beside the data.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ModelSpec {
    /// Where the model is read from.
    pub source: ModelSource,
    /// The checkpoint to restore from, when not the one beside the model.
    pub checkpoint: Option<PathBuf>,
    /// The tensor fed the features (default `X:0`).
    pub input: String,
    /// The labels tensor; `None`: `y:0`, or when the graph has none and a new head is built,
    /// a placeholder of tfreuse's own (`<prefix>labels:0`).
    pub labels: Option<String>,
    /// The imported training op to run, when no new one is built (default: the `train_op`
    /// collection's).
    pub train_op: Option<String>,
    /// The imported loss, when no new head is built (default `loss/loss:0`).
    pub loss: Option<String>,
    /// The tensor reported as the metric, instead of the head's accuracy.
    pub metric: Option<String>,
    /// Bool tensors (`is_training`) fed this value in training steps and the other one in
    /// validation, test and caching.
    pub training_flags: Vec<(String, bool)>,
    /// Scalar tensors fed this value in every run (`keep_prob:0` = 1)…
    #[serde(default)]
    pub set: Vec<(String, f64)>,
    /// …and these in training steps instead (`keep_prob:0` = 0.5).
    #[serde(default)]
    pub set_in_training: Vec<(String, f64)>,
    /// One example's shape in the data (set by the job): what a probe run feeds an input
    /// whose height and width the graph leaves open (a TF-Slim net's `input`).
    #[serde(skip)]
    pub example_shape: Option<Vec<usize>>,
}

/// The transfer recipe: where the new layers branch, what they are, what is restored, frozen
/// and trained, and how it learns.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RecipeSpec {
    /// The tensor the new layers (or, without any, the new loss) start from.
    pub branch_from: Option<String>,
    /// The new layers, bottom up; the last is the logits.
    pub new_layers: Vec<LayerSpec>,
    /// What the new layers learn.
    #[serde(default)]
    pub objective: Objective,
    /// How the new dense kernels start.
    #[serde(default)]
    pub init: Init,
    /// L2 penalty on the new dense kernels: λ · Σ sum(k²) / 2 joins the loss.
    #[serde(default)]
    pub l2: Option<f32>,
    /// The name prefix of every op tfreuse adds (default `new_`).
    pub prefix: String,
    /// Name scope of the new layers below the logits (`dnn/` gives the book's `dnn/hidden1`);
    /// the logits layer is `outputs`.
    #[serde(default)]
    pub layer_scope: String,
    /// Scopes of the new layers by position, instead of the book's names (`pretrain
    /// autoencoder --greedy` names each phase's two layers).
    #[serde(default)]
    pub layer_names: Vec<String>,
    /// Restore only the variables whose names match this regex; initialise the rest.
    pub restore: Option<String>,
    /// Train only the variables whose names match this regex (`minimize(var_list=…)`).
    pub trainable: Option<String>,
    /// A stop-gradient on this tensor: nothing below it trains.
    pub freeze_below: Option<String>,
    /// Build a new training op even without a branch (needed for --trainable etc.).
    pub optimizer: Option<Optimizer>,
    /// The learning rate of the new training op (default 0.01).
    pub lr: f32,
    /// Clip every gradient to `[-clip, clip]`.
    pub clip: Option<f32>,
    /// A weight per class multiplying each example's loss in the new head (`--class-weight
    /// balanced`: n / (classes × count), as scikit-learn's "balanced").
    #[serde(default)]
    pub class_weights: Option<Vec<f32>>,
    /// Save only what the new output needs (`--prune`): no layers above the branch, no old
    /// loss or optimizer slots.
    #[serde(default)]
    pub prune: bool,
}

/// The schedule: how long, in what batches and order, when to stop early.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ScheduleSpec {
    /// Passes over the training split (default 20).
    pub epochs: usize,
    /// Examples per training step (default 200, the book's).
    pub batch_size: usize,
    /// Seed of the new layers' initial values and of the shuffles (default 42).
    pub seed: u64,
    /// Shuffle the training split every epoch (off: batches in file order, like a plain
    /// Python loop over slices, which makes a run reproducible in Python).
    pub shuffle: bool,
    /// Early stopping: stop after this many epochs without a better validation metric, and
    /// keep the best epoch's variables (`--patience`).
    #[serde(default)]
    pub patience: Option<usize>,
    /// Also evaluate the test split after every epoch (reported, never used to choose).
    #[serde(default)]
    pub eval_test_every_epoch: bool,
    /// Change the training pictures at random in every batch (`--augment`).
    pub augment: Option<crate::data::augment::Augment>,
    /// Training examples an epoch, when known: the run's length is part of `--jit auto`'s choice.
    #[serde(default)]
    pub train_examples: Option<usize>,
}

/// How and where it runs: device, session, cluster, resumption. The default: TF's placement,
/// the default session, one process, a fresh start.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RunSpec {
    /// The device the new ops are placed on (`/cpu:0` …), when not TF's choice.
    pub device: Option<String>,
    /// The session's settings (threads, XLA, the target).
    pub session: SessionConfig,
    /// Training as one worker of a cluster: variables on the ps tasks (see [`crate::dist`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<crate::dist::Worker>,
    /// Restore every variable (new ones and optimizer slots too) from this checkpoint,
    /// written by an interrupted run with the same spec. Not part of what must match.
    #[serde(skip)]
    pub resume_from: Option<PathBuf>,
}

impl TransferSpec {
    /// A spec for the model of a `.meta` (see [`TransferSpec::from_source`]).
    pub fn new(meta: impl Into<PathBuf>) -> Self {
        Self::from_source(ModelSource::Meta(meta.into()))
    }

    /// A spec for the model `source` names, with the book's defaults.
    pub fn from_source(source: ModelSource) -> Self {
        TransferSpec {
            model: ModelSpec::new(source),
            recipe: RecipeSpec::default(),
            schedule: ScheduleSpec::default(),
            run: RunSpec::default(),
        }
    }
}

impl ModelSpec {
    /// The model `source` names, fed at `X:0`, its labels found as [`ModelSpec::labels`] says.
    pub fn new(source: ModelSource) -> Self {
        ModelSpec {
            source,
            checkpoint: None,
            input: "X:0".into(),
            labels: None,
            train_op: None,
            loss: None,
            metric: None,
            training_flags: vec![],
            set: vec![],
            set_in_training: vec![],
            example_shape: None,
        }
    }
}

impl Default for RecipeSpec {
    /// No new layers, Glorot kernels, the `new_` prefix, a learning rate of 0.01.
    fn default() -> Self {
        RecipeSpec {
            branch_from: None,
            new_layers: vec![],
            objective: Objective::Classify,
            init: Init::Glorot,
            l2: None,
            prefix: "new_".into(),
            layer_scope: String::new(),
            layer_names: vec![],
            restore: None,
            trainable: None,
            freeze_below: None,
            optimizer: None,
            lr: 0.01,
            clip: None,
            class_weights: None,
            prune: false,
        }
    }
}

impl RecipeSpec {
    /// How the new dense layers are named.
    pub fn naming(&self) -> crate::graph::layers::Naming<'_> {
        crate::graph::layers::Naming { scope: &self.layer_scope, names: &self.layer_names }
    }

    /// Whether some layers stay frozen (a freeze point or a trainable pattern).
    pub fn freezes(&self) -> bool {
        self.freeze_below.is_some() || self.trainable.is_some()
    }

    /// Whether tfreuse builds its own training op (else the imported one runs).
    pub fn builds_train_op(&self) -> bool {
        self.branch_from.is_some()
            || self.optimizer.is_some()
            || self.trainable.is_some()
            || self.freeze_below.is_some()
            || self.clip.is_some()
    }
}

impl Default for ScheduleSpec {
    /// The book's: 20 epochs of shuffled batches of 200, seed 42, no early stopping.
    fn default() -> Self {
        ScheduleSpec {
            epochs: 20,
            batch_size: 200,
            seed: 42,
            shuffle: true,
            patience: None,
            eval_test_every_epoch: false,
            augment: None,
            train_examples: None,
        }
    }
}

impl ScheduleSpec {
    /// Training steps in the whole run, when the number of training examples is known.
    pub fn steps(&self) -> Option<u64> {
        self.train_examples.map(|n| (self.epochs * n.div_ceil(self.batch_size.max(1))) as u64)
    }
}

