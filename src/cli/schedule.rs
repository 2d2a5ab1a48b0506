//! How long `train`, `new` and `pretrain` train, on what share of the data, and where the
//! results go: the schedule's flags, in parts a command takes as it uses them, turned into
//! the library's job [`Options`].

use std::path::PathBuf;

use tfreuse::train::defaults::Unset;
use tfreuse::train::job::{ClassWeight, Options};
use tfreuse::train::{RecipeSpec, RunSpec, ScheduleSpec, TransferSpec};
use tfreuse::Error;

use super::headings::{DATA, OUTPUT, PERFORMANCE, SCHEDULE};
use super::ModelArgs;

/// What a training command's schedule says: how long ([`Length`]) and where the results go
/// ([`Output`]), which every training command takes, and the parts only some take: which
/// examples ([`Sampling`]), the feature cache ([`Caching`]) and pruning (`train`'s). Those a
/// command does not take keep their defaults.
#[derive(clap::Args, Clone, Debug)]
pub struct Schedule {
    #[command(flatten)]
    pub length: Length,
    #[command(flatten)]
    pub output: Output,
    #[arg(skip)]
    pub sampling: Sampling,
    #[arg(skip)]
    pub caching: Caching,
    #[arg(skip)]
    pub prune: bool,
    /// Add to --json instead of starting it (the later phases of one command).
    #[arg(skip)]
    pub json_append: bool,
}

/// How long training runs and in what order.
#[derive(clap::Args, Clone, Debug)]
pub struct Length {
    /// The settings not given: learn (from the data) or book (the book's).
    ///
    /// Covers --epochs, --batch-size, --patience, --optimizer and --lr. `learn`: Adam at 1e-3
    /// for a new training op, batches of 32 or the whole split when smaller, up to 100 epochs
    /// with early stopping after 5 without improvement (20 epochs without a validation split).
    /// `book`: plain SGD at 0.01, batches of 200, 20 epochs, no early stopping, as its Python
    /// does.
    #[arg(long, value_name = "learn|book", default_value = "learn", value_parser = ["learn", "book"], help_heading = SCHEDULE)]
    pub defaults: String,
    /// Passes over the training split, at most [default: see --defaults].
    #[arg(long, value_name = "N", help_heading = SCHEDULE)]
    pub epochs: Option<usize>,
    /// Examples per training step [default: see --defaults].
    #[arg(long, value_name = "N", help_heading = SCHEDULE)]
    pub batch_size: Option<usize>,
    /// Early stopping after N epochs without improvement (0: none) [default: see --defaults].
    ///
    /// Improvement: a higher validation metric (e.g. the accuracy), ties broken by a lower
    /// validation loss; without a metric, as for an autoencoder, a lower validation loss. The
    /// best epoch's weights are kept: they are what the test split sees and what --out saves.
    #[arg(long, value_name = "N", help_heading = SCHEDULE)]
    pub patience: Option<u64>,
    /// Also report the test split's loss and metric after every epoch.
    ///
    /// For studies: nothing is chosen by them (early stopping and the sweep look at validation
    /// only).
    #[arg(long, help_heading = SCHEDULE)]
    pub eval_test_every_epoch: bool,
    /// Seeds the shuffles and the new layers' initial weights: same seed, same bytes.
    #[arg(long, default_value_t = 42, help_heading = SCHEDULE)]
    pub seed: u64,
    /// Take the batches in file order every epoch instead of shuffling.
    ///
    /// As a Python loop over slices does; makes a run reproducible outside tfreuse.
    #[arg(long, help_heading = SCHEDULE)]
    pub no_shuffle: bool,
}

/// Which training examples, changed and weighed how: commands that learn from the labels.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Sampling {
    #[command(flatten)]
    pub per_class: PerClass,
    /// balanced: weigh each example's loss by its class, rare classes counting as much.
    ///
    /// Class c gets the weight n / (classes × n_c) of the training split, in the new head's loss.
    #[arg(long, value_name = "balanced", value_parser = ["balanced"], help_heading = DATA)]
    pub class_weight: Option<String>,
    /// Change the training pictures at random in every batch, e.g. flip,rotate=10,crop=0.1.
    ///
    /// flip (left-right), rotate=DEG, crop=F (a window of 1-F..1 of each side, scaled back),
    /// brightness=F, contrast=F; drawn from --seed; validation and test are left alone. Not
    /// with --cache-frozen: the frozen layers must then see every changed picture.
    #[arg(long, value_name = "CHANGES", help_heading = DATA)]
    pub augment: Option<String>,
}

/// The few-labels regime.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct PerClass {
    /// Train on N labelled examples of each class only, drawn by --seed.
    ///
    /// From the training split; validation and test stay whole.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..), help_heading = DATA)]
    pub per_class: Option<u64>,
}

/// Where cached features are kept: commands that cache frozen layers.
#[derive(clap::Args, Clone, Debug)]
pub struct Caching {
    /// Where the features of cached pictures are kept across runs.
    ///
    /// For --cache-frozen on images: and csv: data [default: $TFREUSE_CACHE_DIR, else
    /// $XDG_CACHE_HOME/tfreuse/features or ~/.cache/tfreuse/features].
    #[arg(long, value_name = "DIR", help_heading = PERFORMANCE)]
    pub cache_dir: Option<PathBuf>,
    /// Largest feature cache built in memory (MNIST, npz), in MB.
    #[arg(long, default_value_t = 4096, value_name = "MB", help_heading = PERFORMANCE)]
    pub cache_max_mb: usize,
}

impl Default for Caching {
    fn default() -> Caching {
        Caching { cache_dir: None, cache_max_mb: 4096 }
    }
}

/// Where a training command's results go.
#[derive(clap::Args, Clone, Debug)]
pub struct Output {
    /// Save the trained model to this checkpoint prefix, e.g. runs/my_model_final.ckpt.
    #[arg(long, value_name = "PREFIX", help_heading = OUTPUT)]
    pub out: Option<PathBuf>,
    /// Overwrite an existing --out.
    #[arg(long, help_heading = OUTPUT)]
    pub force: bool,
    /// Continue an interrupted run from the checkpoint it saved (give the same flags).
    #[arg(long, value_name = "PREFIX", help_heading = OUTPUT)]
    pub resume: Option<PathBuf>,
    /// When the loss becomes NaN/Inf, still save the model to --out (for inspection).
    #[arg(long, help_heading = OUTPUT)]
    pub save_on_nan: bool,
    /// Also write per-epoch results as JSON lines to FILE.
    #[arg(long, value_name = "FILE", help_heading = OUTPUT)]
    pub json: Option<PathBuf>,
    /// Write TensorBoard event files into DIR/RUN.
    ///
    /// `tensorboard --logdir DIR` shows the runs side by side: the loss every --log-every
    /// steps, per epoch the train loss, validation metric, learning rate and examples/s, the
    /// test results, and the graph.
    #[arg(long, value_name = "DIR", help_heading = OUTPUT)]
    pub logdir: Option<PathBuf>,
    /// The run's folder under --logdir [default: --out's file name, else run-<unix seconds>].
    #[arg(long, value_name = "NAME", requires = "logdir", help_heading = OUTPUT)]
    pub run_name: Option<String>,
    /// Draw the learning curves into FILE.svg or FILE.png.
    ///
    /// The train loss and the validation metric per epoch.
    #[arg(long, value_name = "FILE", help_heading = OUTPUT)]
    pub plot: Option<PathBuf>,
    /// Earlier runs' --json logs to draw beside this one in --plot (repeatable).
    #[arg(long, value_name = "LOG", requires = "plot", help_heading = OUTPUT)]
    pub plot_compare: Vec<PathBuf>,
    /// Also write histograms of the trained variables to --logdir after each epoch.
    ///
    /// TensorBoard's Histograms and Distributions tabs.
    #[arg(long, requires = "logdir", help_heading = OUTPUT)]
    pub histograms: bool,
    /// Log the training loss to --logdir every N steps.
    #[arg(long, default_value_t = 20, value_name = "N", requires = "logdir", value_parser = clap::value_parser!(u64).range(1..), help_heading = OUTPUT)]
    pub log_every: u64,
}

impl Schedule {
    /// `--out` checked before any work (see [`check_out`]); `model`: the source, if any.
    pub(super) fn check_out(&self, model: Option<&ModelArgs>) -> tfreuse::Result<()> {
        let source = model.map(ModelArgs::source);
        self.output.out.as_deref().map_or(Ok(()), |out| tfreuse::model::save::check_out(out, self.output.force, source.as_ref()))
    }

    /// Whether the book's settings stand for the ones not given (`--defaults book`).
    pub(super) fn book(&self) -> bool {
        self.length.defaults == "book"
    }

    /// The schedule's settings left to choose from the data, beside `recipe`'s.
    fn unset(&self, recipe: Unset) -> Unset {
        if self.book() {
            return Unset::default();
        }
        let l = &self.length;
        Unset { batch_size: l.batch_size.is_none(), epochs: l.epochs.is_none(), patience: l.patience.is_none(), ..recipe }
    }

    /// How the job treats its data and where it saves; `caching`: the frozen layers are
    /// cached; `recipe`: the recipe's settings left to choose.
    pub(super) fn options(&self, caching: bool, recipe: Unset) -> Options {
        Options {
            unset: self.unset(recipe),
            per_class: self.sampling.per_class.per_class.map(|n| n as usize),
            class_weight: self.sampling.class_weight.as_ref().map(|_| ClassWeight::Balanced),
            cache_frozen: caching,
            cache_max_bytes: self.caching.cache_max_mb << 20,
            cache_dir: self.caching.cache_dir.clone(),
            out: self.output.out.clone(),
            save_on_nan: self.output.save_on_nan,
        }
    }

    /// `spec` with the parts these flags own (the schedule, pruning, where to resume)
    /// replaced; `caching`: the frozen layers are cached (no --augment then).
    pub(super) fn apply(&self, spec: TransferSpec, caching: bool) -> anyhow::Result<TransferSpec> {
        Ok(TransferSpec {
            schedule: self.spec(caching)?,
            recipe: RecipeSpec { prune: self.prune, ..spec.recipe },
            run: RunSpec { resume_from: self.output.resume.clone(), ..spec.run },
            model: spec.model,
        })
    }

    fn spec(&self, caching: bool) -> anyhow::Result<ScheduleSpec> {
        let augment = self.sampling.augment.as_deref().map(tfreuse::data::augment::Augment::parse).transpose()?;
        if augment.is_some() && caching {
            return Err(Error::Invalid(
                "--augment with --cache-frozen: augmented pictures change every step, so the frozen layers must run on each; drop --cache-frozen (or --augment)".into(),
            )
            .into());
        }
        let (book, l) = (ScheduleSpec::default(), &self.length);
        Ok(ScheduleSpec {
            epochs: l.epochs.unwrap_or(book.epochs),
            batch_size: l.batch_size.unwrap_or(book.batch_size),
            seed: l.seed,
            shuffle: !l.no_shuffle,
            patience: l.patience.filter(|&n| n > 0).map(|n| n as usize),
            eval_test_every_epoch: l.eval_test_every_epoch,
            augment,
            train_examples: None,
        })
    }
}
