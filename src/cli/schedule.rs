//! How long `train`, `new` and `pretrain` train, on what share of the data, and where the
//! results go: the schedule's flags, turned into the library's job [`Options`].

use std::path::PathBuf;

use tfreuse::train::defaults::Unset;
use tfreuse::train::job::{ClassWeight, Options};
use tfreuse::train::{RecipeSpec, RunSpec, ScheduleSpec, TransferSpec};
use tfreuse::Error;

use super::ModelArgs;

/// How long `train` (and `new`) trains, on what share of the data, and where the results go.
#[derive(clap::Args, Clone, Debug)]
pub struct Schedule {
    /// What --epochs, --batch-size, --patience, --optimizer and --lr are when not given:
    /// `learn` chooses from the data (Adam at 1e-3 for a new training op, batches of 32 or the
    /// whole split when smaller, up to 100 epochs with early stopping after 5 without
    /// improvement; 20 epochs without a validation split), `book` takes the book's (plain SGD
    /// at 0.01, batches of 200, 20 epochs, no early stopping), as its Python does.
    #[arg(long, value_name = "learn|book", default_value = "learn", value_parser = ["learn", "book"])]
    pub defaults: String,
    /// Passes over the training split (at most, with early stopping) [default: see --defaults].
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Examples per training step [default: see --defaults].
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Weigh each example's loss in the new head by its class: `balanced` gives class c the
    /// weight n / (classes × n_c) of the training split, so rare classes count as much as common ones.
    #[arg(long, value_name = "balanced", value_parser = ["balanced"])]
    pub class_weight: Option<String>,
    /// Change the training pictures at random in every batch (validation and test are left
    /// alone): flip (left-right), rotate=DEG, crop=F (a window of 1-F..1 of each side, scaled
    /// back), brightness=F, contrast=F; e.g. flip,rotate=10,crop=0.1. Drawn from --seed. Not
    /// with --cache-frozen: the frozen layers must then see every changed picture.
    #[arg(long, value_name = "CHANGES")]
    pub augment: Option<String>,
    /// Train on N labelled examples of each class only, drawn by --seed from the training
    /// split (validation and test stay whole): the few-labels regime.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub per_class: Option<u64>,
    /// Stop after N epochs without a better validation metric (higher is better, e.g. the
    /// accuracy, ties broken by a lower validation loss; without a metric, as for an
    /// autoencoder, the validation loss, lower is better) and keep the best epoch's weights:
    /// they are what the test split sees and what --out saves. 0: no early stopping
    /// [default: see --defaults].
    #[arg(long, value_name = "N")]
    pub patience: Option<u64>,
    /// Also report the test split's loss and metric after every epoch, for studies (nothing is
    /// chosen by them: early stopping and the sweep look at validation only).
    #[arg(long)]
    pub eval_test_every_epoch: bool,
    /// Seeds the shuffles and the new layers' initial weights: same seed, same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Take the batches in file order every epoch instead of shuffling (as a Python loop over
    /// slices does; makes a run reproducible outside tfreuse).
    #[arg(long)]
    pub no_shuffle: bool,
    /// Where --cache-frozen keeps the features of pictures (images:, csv:) across runs [default:
    /// $TFREUSE_CACHE_DIR, else $XDG_CACHE_HOME/tfreuse/features or ~/.cache/tfreuse/features].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Largest cache --cache-frozen may build in memory (MNIST, npz), in MB.
    #[arg(long, default_value_t = 4096, value_name = "MB")]
    pub cache_max_mb: usize,
    /// Save the trained model to this checkpoint prefix (e.g. runs/my_new_model_final.ckpt).
    #[arg(long, value_name = "PREFIX")]
    pub out: Option<PathBuf>,
    /// Save only what the new output needs: no layers above --branch-from, no old loss, no
    /// slots of the old optimizer (a smaller checkpoint that imports the same).
    #[arg(long)]
    pub prune: bool,
    /// Overwrite an existing --out.
    #[arg(long)]
    pub force: bool,
    /// Continue an interrupted run from the checkpoint it saved (give the same flags).
    #[arg(long, value_name = "PREFIX")]
    pub resume: Option<PathBuf>,
    /// When the loss becomes NaN/Inf, still save the model to --out (for inspection).
    #[arg(long)]
    pub save_on_nan: bool,
    /// Also write per-epoch results as JSON lines to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write TensorBoard event files into DIR/RUN (`tensorboard --logdir DIR` shows the runs
    /// side by side): the loss every --log-every steps, per epoch the train loss, validation
    /// metric, learning rate and examples/s, the test results, and the graph.
    #[arg(long, value_name = "DIR")]
    pub logdir: Option<PathBuf>,
    /// The run's folder under --logdir [default: --out's file name, else run-<unix seconds>].
    #[arg(long, value_name = "NAME", requires = "logdir")]
    pub run_name: Option<String>,
    /// Draw the learning curves (train loss, validation metric per epoch) into FILE.svg or FILE.png.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Earlier runs' --json logs to draw beside this one in --plot (repeatable).
    #[arg(long, value_name = "LOG", requires = "plot")]
    pub plot_compare: Vec<PathBuf>,
    /// Also write histograms of the trained variables to --logdir after each epoch
    /// (TensorBoard's Histograms and Distributions tabs).
    #[arg(long, requires = "logdir")]
    pub histograms: bool,
    /// Log the training loss to --logdir every N steps.
    #[arg(long, default_value_t = 20, value_name = "N", requires = "logdir", value_parser = clap::value_parser!(u64).range(1..))]
    pub log_every: u64,
    /// Add to --json instead of starting it (the later phases of one command).
    #[arg(skip)]
    pub json_append: bool,
}

impl Schedule {
    /// `--out` checked before any work (see [`check_out`]); `model`: the source, if any.
    pub(super) fn check_out(&self, model: Option<&ModelArgs>) -> tfreuse::Result<()> {
        let source = model.map(ModelArgs::source);
        self.out.as_deref().map_or(Ok(()), |out| tfreuse::model::save::check_out(out, self.force, source.as_ref()))
    }

    /// Whether the book's settings stand for the ones not given (`--defaults book`).
    pub(super) fn book(&self) -> bool {
        self.defaults == "book"
    }

    /// The schedule's settings left to choose from the data, beside `recipe`'s.
    fn unset(&self, recipe: Unset) -> Unset {
        if self.book() {
            return Unset::default();
        }
        Unset { batch_size: self.batch_size.is_none(), epochs: self.epochs.is_none(), patience: self.patience.is_none(), ..recipe }
    }

    /// How the job treats its data and where it saves; `caching`: the frozen layers are
    /// cached; `recipe`: the recipe's settings left to choose.
    pub(super) fn options(&self, caching: bool, recipe: Unset) -> Options {
        Options {
            unset: self.unset(recipe),
            per_class: self.per_class.map(|n| n as usize),
            class_weight: self.class_weight.as_ref().map(|_| ClassWeight::Balanced),
            cache_frozen: caching,
            cache_max_bytes: self.cache_max_mb << 20,
            cache_dir: self.cache_dir.clone(),
            out: self.out.clone(),
            save_on_nan: self.save_on_nan,
        }
    }

    /// `spec` with the parts these flags own (the schedule, pruning, where to resume)
    /// replaced; `caching`: the frozen layers are cached (no --augment then).
    pub(super) fn apply(&self, spec: TransferSpec, caching: bool) -> anyhow::Result<TransferSpec> {
        Ok(TransferSpec {
            schedule: self.spec(caching)?,
            recipe: RecipeSpec { prune: self.prune, ..spec.recipe },
            run: RunSpec { resume_from: self.resume.clone(), ..spec.run },
            model: spec.model,
        })
    }

    fn spec(&self, caching: bool) -> anyhow::Result<ScheduleSpec> {
        let augment = self.augment.as_deref().map(tfreuse::data::augment::Augment::parse).transpose()?;
        if augment.is_some() && caching {
            return Err(Error::Invalid(
                "--augment with --cache-frozen: augmented pictures change every step, so the frozen layers must run on each; drop --cache-frozen (or --augment)".into(),
            )
            .into());
        }
        let book = ScheduleSpec::default();
        Ok(ScheduleSpec {
            epochs: self.epochs.unwrap_or(book.epochs),
            batch_size: self.batch_size.unwrap_or(book.batch_size),
            seed: self.seed,
            shuffle: !self.no_shuffle,
            patience: self.patience.filter(|&n| n > 0).map(|n| n as usize),
            eval_test_every_epoch: self.eval_test_every_epoch,
            augment,
            train_examples: None,
        })
    }
}
