//! `tfreuse train`: every transfer recipe of the book from one command.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use tfreuse::events::{Event, EventSink, JsonLines, SetupReport, Tee};
use tfreuse::graph::layers::parse_layers;
use tfreuse::model::checkpoint::{index_path, meta_prefix, resolve};
use tfreuse::train::run::{run, DiskCache, Ended, Job};
use tfreuse::train::{check_labels, Optimizer, TransferSpec};
use tfreuse::Error;

use super::{warn, Global, ModelArgs};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub recipe: Recipe,
    #[command(flatten)]
    pub schedule: Schedule,
    #[command(flatten)]
    pub cluster: super::worker::Args,
}

/// How long `train` (and `new`) trains, on what share of the data, and where the results go.
#[derive(clap::Args, Clone, Debug)]
pub struct Schedule {
    /// Passes over the training split.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Examples per training step.
    #[arg(long, default_value_t = 200)]
    pub batch_size: usize,
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
    /// accuracy; without a metric, as for an autoencoder, the validation loss, lower is better)
    /// and keep the best epoch's weights: they are what the test split sees and what --out saves.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
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

/// What `train` reuses, trains, freezes and caches: the flags `inspect --draw` takes too.
#[derive(clap::Args, Debug)]
pub struct Recipe {
    /// Data set: mnist:DIR, npz:FILE or images:DIR (a folder per class; splits train, validation, test).
    #[arg(long, value_name = "SPEC", default_value = "mnist:data/mnist")]
    pub data: String,
    /// Keep only these classes of the data, renumbered 0…k-1 in this order, e.g. 5,6,7,8,9
    /// (every split; the old ids become the class names).
    #[arg(long, value_name = "IDS")]
    pub classes: Option<String>,
    /// How features become the values fed: S multiplies (MNIST's raw pixels 0..255 by 1/255
    /// by default, as input_data; an npz's values by 1); pictures also take LO,HI (e.g. -1,1)
    /// or mean=M[,M,M],std=S[,S,S] (per channel, on values in [0, 1]). Integer inputs get the
    /// raw pixels whatever the scale.
    #[arg(long, value_name = "S|LO,HI|mean=…,std=…", allow_hyphen_values = true)]
    pub scale: Option<String>,
    #[command(flatten)]
    pub images: super::ImageArgs,
    /// Tensor fed with the features [default: X:0, or a zoo model's input].
    #[arg(long, value_name = "TENSOR")]
    pub input: Option<String>,
    /// Tensor fed with the labels [default: y:0; for new layers on a graph without one (an
    /// exported classifier, a frozen graph) tfreuse makes its own, <prefix>labels:0].
    #[arg(long, value_name = "TENSOR")]
    pub labels: Option<String>,
    /// Build new layers (or, without --new-layers, a new loss) on this tensor, e.g. dnn/hidden4/Relu:0.
    #[arg(long, value_name = "TENSOR")]
    pub branch_from: Option<String>,
    /// New layers: dense UNITS[:ACTIVATION] (relu elu selu leaky_relu tanh sigmoid linear), flatten, gap (global
    /// average pooling of feature maps), dropout:RATE (training steps only); the last is a dense logits layer,
    /// e.g. gap,128:relu,dropout:0.5,5.
    #[arg(long, value_name = "LAYERS")]
    pub new_layers: Option<String>,
    /// How the new dense kernels start: glorot (uniform, tf.layers.dense's default), he
    /// (truncated normal, sqrt(2/fan_in): the book's choice with ELU) or lecun (sqrt(1/fan_in), for SELU).
    #[arg(long, default_value = "glorot", value_parser = ["glorot", "he", "lecun"])]
    pub init: String,
    /// Add λ · Σ sum(kernel²) / 2 over the new dense kernels to the loss (the book's
    /// l2_regularizer); the reported losses include it.
    #[arg(long, value_name = "λ")]
    pub l2: Option<f32>,
    /// Name prefix of every new op and variable.
    #[arg(long, default_value = "new_")]
    pub prefix: String,
    /// Restore only variables whose names match this regex; initialise the rest.
    #[arg(long, value_name = "REGEX")]
    pub restore: Option<String>,
    /// Train only variables whose names match this regex (minimize(var_list=...)).
    #[arg(long, value_name = "REGEX")]
    pub trainable: Option<String>,
    /// Put a stop_gradient on this tensor: nothing below it is trained.
    #[arg(long, value_name = "TENSOR")]
    pub freeze_below: Option<String>,
    /// Update rule of the new training op (default sgd). Given without --branch-from, it
    /// replaces the imported training op too.
    #[arg(long, value_parser = ["sgd", "momentum", "adam"])]
    pub optimizer: Option<String>,
    /// Learning rate of the new training op.
    #[arg(long, default_value_t = 0.01)]
    pub lr: f32,
    /// Momentum of --optimizer momentum.
    #[arg(long, default_value_t = 0.9)]
    pub momentum: f32,
    /// clip_by_value every gradient to [-VALUE, VALUE].
    #[arg(long, value_name = "VALUE")]
    pub clip: Option<f32>,
    /// The imported training op to run (default: the `train_op` collection).
    #[arg(long, value_name = "OP")]
    pub train_op: Option<String>,
    /// Loss tensor of the imported model (default loss/loss:0).
    #[arg(long, value_name = "TENSOR")]
    pub loss: Option<String>,
    /// Metric reported on the validation split (default eval/accuracy:0 or the new accuracy).
    #[arg(long, value_name = "TENSOR")]
    pub metric: Option<String>,
    /// A bool tensor fed true in training steps and false for validation, test and caching,
    /// e.g. inputs/is_training:0 (so batch norm trains in training mode); TENSOR=false
    /// reverses it. Repeatable.
    #[arg(long = "training-flag", value_name = "TENSOR[=true|false]")]
    pub training_flags: Vec<String>,
    /// TENSOR=VALUE: feed a scalar tensor this value in every run (training, validation, test, caching), e.g. keep_prob:0=1 for a
    /// dropout model (cast to the tensor's dtype; true/false for a bool). Repeatable.
    #[arg(long = "set", value_name = "TENSOR=VALUE")]
    pub set: Vec<String>,
    /// TENSOR=VALUE: feed this value in training steps instead of --set's, e.g.
    /// keep_prob:0=0.5. Repeatable.
    #[arg(long = "set-in-training", value_name = "TENSOR=VALUE")]
    pub set_in_training: Vec<String>,
    /// Device for new ops, e.g. /cpu:0 or /gpu:0 (soft placement).
    #[arg(long)]
    pub device: Option<String>,
    /// Compute the frozen layers once for every split and train the upper layers on the cache.
    #[arg(long)]
    pub cache_frozen: bool,
}

impl Recipe {
    /// The spec of `model` these flags describe, with training's defaults for the rest.
    pub fn spec(&self, model: &ModelArgs, g: &Global) -> anyhow::Result<TransferSpec> {
        let mut s = TransferSpec::from_source(model.source());
        s.checkpoint = model.checkpoint.clone();
        s.input = super::input(&self.input).to_string();
        s.labels = self.labels.clone();
        s.branch_from = self.branch_from.clone();
        s.new_layers = match &self.new_layers {
            Some(l) => parse_layers(l)?,
            None => vec![],
        };
        s.init = tfreuse::graph::layers::Init::parse(&self.init)?;
        s.l2 = self.l2;
        s.prefix = self.prefix.clone();
        s.restore = self.restore.clone();
        s.trainable = self.trainable.clone();
        s.freeze_below = self.freeze_below.clone();
        s.optimizer = self.optimizer.as_deref().map(|o| match o {
            "momentum" => Optimizer::Momentum { momentum: self.momentum },
            "adam" => Optimizer::adam(),
            _ => Optimizer::Sgd,
        });
        s.lr = self.lr;
        s.clip = self.clip;
        s.train_op = self.train_op.clone();
        s.loss = self.loss.clone();
        s.metric = self.metric.clone();
        s.device = self.device.clone();
        s.training_flags = self.training_flags.iter().map(|f| parse_flag(f)).collect::<tfreuse::Result<_>>()?;
        s.set = super::parse_sets("--set", &self.set)?;
        s.set_in_training = super::parse_sets("--set-in-training", &self.set_in_training)?;
        s.session = g.session_config();
        Ok(s)
    }

    /// The data set, loaded as training loads it (pictures only listed when caching), and
    /// the number of classes its labels take.
    pub fn data(&self, model: &ModelArgs, g: &Global) -> anyhow::Result<(tfreuse::data::DataSet, usize)> {
        let (data, _) =
            super::load_data(&self.data, self.scale.as_deref(), &self.images, model, super::input(&self.input), g, self.cache_frozen)?;
        Ok(classes_of(data, self.classes.as_deref())?)
    }
}

/// `--classes IDS` applied (said so), and the number of classes the labels take, checked.
pub(super) fn classes_of(mut data: tfreuse::DataSet, keep: Option<&str>) -> tfreuse::Result<(tfreuse::DataSet, usize)> {
    if let Some(keep) = keep {
        let keep = tfreuse::data::select::parse_classes(keep)?;
        data = data.keep_classes(&keep)?;
        let shown: Vec<String> = keep.iter().enumerate().map(|(i, c)| format!("{c}→{i}")).collect();
        eprintln!("classes kept and renumbered: {}", shown.join(", "));
    }
    let classes = match data.classes.len() {
        0 => data.splits.values().map(|s| s.num_classes()).max().unwrap_or(0),
        named => named,
    };
    check_labels(&data, classes)?;
    Ok((data, classes))
}

impl Schedule {
    /// `--out` checked before any work (see [`check_out`]); `model`: the source, if any.
    pub(super) fn check_out(&self, model: Option<&ModelArgs>) -> tfreuse::Result<()> {
        self.out.as_deref().map_or(Ok(()), |out| check_out(out, self.force, model))
    }

    /// `spec` with these settings; `caching`: the frozen layers are cached (no --augment then).
    pub(super) fn apply(&self, mut s: TransferSpec, caching: bool) -> anyhow::Result<TransferSpec> {
        s.epochs = self.epochs;
        s.batch_size = self.batch_size;
        s.seed = self.seed;
        s.shuffle = !self.no_shuffle;
        s.resume_from = self.resume.clone();
        s.patience = self.patience.map(|n| n as usize);
        s.eval_test_every_epoch = self.eval_test_every_epoch;
        s.prune = self.prune;
        s.augment = self.augment.as_deref().map(tfreuse::data::augment::Augment::parse).transpose()?;
        if s.augment.is_some() && caching {
            return Err(Error::Invalid(
                "--augment with --cache-frozen: augmented pictures change every step, so the frozen layers must run on each; drop --cache-frozen (or --augment)".into(),
            )
            .into());
        }
        Ok(s)
    }
}

/// `--per-class N`: N training examples of each class, drawn by `seed` (and said so).
pub(super) fn per_class(data: tfreuse::DataSet, n: Option<u64>, seed: u64, classes: usize) -> tfreuse::Result<tfreuse::DataSet> {
    let Some(n) = n else { return Ok(data) };
    let data = data.per_class(n as usize, seed)?;
    eprintln!("--per-class {n}: training on {} examples ({classes} classes, seed {seed})", data.training_split()?.len());
    Ok(data)
}

/// `TENSOR` or `TENSOR=true|false`: the tensor and its value in training steps.
fn parse_flag(f: &str) -> tfreuse::Result<(String, bool)> {
    match f.rsplit_once('=') {
        None => Ok((f.to_string(), true)),
        Some((t, "true")) => Ok((t.to_string(), true)),
        Some((t, "false")) => Ok((t.to_string(), false)),
        Some(_) => Err(Error::Invalid(format!("--training-flag {f}: expected TENSOR or TENSOR=true|false"))),
    }
}

/// `--out` must not be the source checkpoint (under any spelling), must not exist unless
/// `--force`, and must be in a writable directory: checked before any work.
pub(super) fn check_out(out: &Path, force: bool, model: Option<&ModelArgs>) -> tfreuse::Result<()> {
    let index = index_path(out);
    // The source: the .meta's own prefix and the checkpoint it would restore.
    let mut sources: Vec<PathBuf> = Vec::new();
    if let Some((meta, model)) = model.and_then(|m| Some((m.meta.as_ref()?, m))) {
        sources.extend(meta_prefix(meta).iter().map(|p| index_path(p)));
        if let Ok(r) = resolve(model.checkpoint.as_deref(), meta) {
            sources.push(index_path(&r.prefix));
        }
    }
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if sources.iter().any(|s| same(s, &index)) {
        return Err(Error::Invalid(format!("--out {}: that is the source checkpoint; choose another prefix", out.display())));
    }
    if index.exists() && !force {
        return Err(Error::Invalid(format!("--out {}: a checkpoint exists there; pass --force to replace it", out.display())));
    }
    let mut probe = tfreuse::atomic::parent_dir(out);
    while !probe.exists() {
        probe = probe.parent().unwrap_or(Path::new("."));
    }
    let md = std::fs::metadata(probe).map_err(|e| Error::io(probe, e))?;
    if md.permissions().readonly() || !md.is_dir() {
        return Err(Error::Invalid(format!("--out {}: {} is not a writable directory", out.display(), probe.display())));
    }
    Ok(())
}

fn print_setup(r: &SetupReport, caching: bool) {
    for w in &r.warnings {
        warn(Some(w));
    }
    if !r.placement.is_empty() {
        eprintln!("variables on the ps tasks: {}", r.placement.join("; "));
    }
    eprintln!("jit: {} ({}; --jit on|off to choose)", if r.jit.on { "on" } else { "off" }, r.jit.why);
    eprintln!("checkpoint: {}", r.checkpoint);
    if !r.restored.is_empty() {
        eprintln!("restored ({}): {}", r.restored.len(), r.restored.join(", "));
    }
    if !r.initialized.is_empty() {
        eprintln!("initialised ({}): {}", r.initialized.len(), r.initialized.join(", "));
    }
    eprintln!("training op {} on loss {}: trains {} variable(s): {}", r.train_op, r.loss, r.trained.len(), r.trained.join(", "));
    if !r.frozen.is_empty() {
        eprintln!("not trained (frozen, or not on the path to the loss): {}", r.frozen.join(", "));
    }
    if let Some(logits) = &r.logits {
        eprintln!("new logits: {logits} (export --logits, predict)");
    }
    if let (Some(cut), false) = (&r.cut, caching) {
        eprintln!("hint: nothing below {cut} trains; --cache-frozen would compute it once and train faster");
    }
}

/// What the user sees: the setup, a progress bar on a terminal (plain epoch lines
/// otherwise), the test result, the save.
struct Console {
    tty: bool,
    caching: bool,
    metric: String,
    bar: Option<ProgressBar>,
}

impl Console {
    fn bar(&mut self, len: usize, template: &str) -> &ProgressBar {
        self.bar.get_or_insert_with(|| {
            let b = ProgressBar::new(len as u64);
            b.set_style(ProgressStyle::with_template(template).expect("valid template").progress_chars("=> "));
            b
        })
    }

    fn clear(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl EventSink for Console {
    fn event(&mut self, e: &Event) -> tfreuse::Result<()> {
        match e {
            Event::Setup(r) => {
                self.metric = r.metric.clone().unwrap_or_else(|| "metric".into());
                print_setup(r, self.caching);
            }
            Event::CacheProgress { split, done, total } if self.tty => {
                let b = self.bar(*total, "caching {msg} [{bar:30}] {pos}/{len}");
                b.set_length(*total as u64);
                b.set_position(*done as u64);
                b.set_message(split.clone());
            }
            Event::CacheProgress { done, .. } => test_hooks::cache_step(*done),
            Event::Cached { tensor, megabytes, seconds } => {
                self.clear();
                eprintln!("cached {tensor} for every split: {megabytes:.1} MB in {seconds:.2}s");
            }
            Event::DiskCache { tensor, dir, hits, misses, damaged, skipped, megabytes, seconds, .. } => {
                self.clear();
                if *damaged > 0 {
                    warn(Some(&format!(
                        "{damaged} damaged record(s) in the feature cache were ignored; their pictures were computed again"
                    )));
                }
                if !skipped.is_empty() {
                    let more = if skipped.len() > 3 { "; …" } else { "" };
                    let first = skipped[..skipped.len().min(3)].join("; ");
                    warn(Some(&format!("skipped {} file(s) that are no readable picture: {first}{more}", skipped.len())));
                }
                eprintln!(
                    "feature cache ({}): {tensor}: {hits} hit(s), {misses} computed; {megabytes:.1} MB; {seconds:.2}s",
                    dir.display()
                );
            }
            Event::Step { epoch, step, steps, loss } if self.tty => {
                let b = self.bar(*steps, "epoch {prefix} [{bar:30}] {pos}/{len} {per_sec} loss {msg}");
                b.set_prefix(epoch.to_string());
                b.set_position(*step as u64);
                if *step % 10 == 0 || step == steps {
                    b.set_message(format!("{loss:.4}"));
                }
            }
            Event::Epoch { epoch, train_loss, validation_loss, metric, seconds, .. } => {
                self.clear();
                let l = validation_loss.map_or(String::new(), |l| format!("  validation loss {l:.4}"));
                let m = metric.map_or(String::new(), |m| format!("  {} {m:.4}", self.metric));
                eprintln!("epoch {epoch:>3}  train loss {train_loss:.4}{l}{m}  {seconds:.2}s");
            }
            Event::EpochTest { loss, metric, .. } => {
                let m = metric.map_or(String::new(), |m| format!("  {} {m:.4}", self.metric));
                eprintln!("           test loss {loss:.4}{m}");
            }
            Event::Best { epoch, metric, on_loss, restored, stopped_early } => {
                let why = match (stopped_early, restored) {
                    (true, _) => "stopped early; its weights were put back",
                    (false, true) => "later epochs were worse; its weights were put back",
                    (false, false) => "the last epoch",
                };
                let watched = if *on_loss { "loss" } else { &self.metric };
                eprintln!("best epoch {epoch}: validation {watched} {metric:.4} ({why})");
            }
            Event::Test { loss, metric, examples } => {
                let m = metric.map_or(String::new(), |m| format!(", {} {m:.4}", self.metric));
                println!("test: loss {loss:.4}{m} ({examples} examples)");
            }
            Event::SaveStep { step } => {
                if *step == 0 {
                    self.clear();
                }
                test_hooks::save_step(*step)
            }
            Event::Saved { prefix, files } => eprintln!("saved {} (+ {files} files)", prefix.display()),
            _ => {}
        }
        Ok(())
    }

    fn flush(&mut self) -> tfreuse::Result<()> {
        self.clear();
        Ok(())
    }
}

/// With the `test-hooks` feature, `TFREUSE_TEST_SAVE_PAUSE_MS` makes every step of a save
/// announce itself on stderr (`save step N`) and pause, so a test can kill the process at
/// every point of a save; `TFREUSE_TEST_CACHE_PAUSE_MS` does the same for each batch the
/// feature cache computes (`cache step N`). Without the feature, nothing.
mod test_hooks {
    pub fn save_step(step: usize) {
        pause("TFREUSE_TEST_SAVE_PAUSE_MS", "save step", step);
    }

    pub fn cache_step(done: usize) {
        pause("TFREUSE_TEST_CACHE_PAUSE_MS", "cache step", done);
    }

    #[cfg(feature = "test-hooks")]
    fn pause(var: &str, what: &str, n: usize) {
        if let Some(ms) = std::env::var(var).ok().and_then(|v| v.parse::<u64>().ok()) {
            eprintln!("{what} {n}");
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
    }

    #[cfg(not(feature = "test-hooks"))]
    fn pause(_: &str, _: &str, _: usize) {}
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    let spec = args.schedule.apply(args.recipe.spec(&args.model, g)?, args.recipe.cache_frozen)?;
    args.schedule.check_out(Some(&args.model))?;
    let joining = args.cluster.joining(args.schedule.out.as_deref(), g)?;
    // With a feature cache on disk, pictures are only listed and digested here: the cache
    // decodes the ones it lacks.
    let (data, classes) = args.recipe.data(&args.model, g)?;
    let r = &args.recipe;
    let how = How {
        cache_frozen: r.cache_frozen,
        own_lr: (r.branch_from.is_some() || r.optimizer.is_some()).then_some(r.lr),
        model: Some(&args.model),
        joining: joining.as_ref(),
    };
    train_on(spec, (data, classes), &args.schedule, &how, g)
}

/// What [`train_on`] needs besides the spec and the schedule.
pub(super) struct How<'a> {
    pub cache_frozen: bool,
    /// The learning rate of tfreuse's own training op (an imported one's is the graph's).
    pub own_lr: Option<f32>,
    /// The model's flags (for the feature cache's key); `None`: a new model.
    pub model: Option<&'a ModelArgs>,
    /// Training as a worker of a cluster.
    pub joining: Option<&'a super::worker::Joining>,
}

/// Train as `spec` and `sched` say on `data`, with the console, --json, --logdir and --plot
/// watching; Ctrl-C saves a resumable checkpoint and exits 130.
pub(super) fn train_on(
    mut spec: TransferSpec,
    (data, classes): (tfreuse::DataSet, usize),
    sched: &Schedule,
    how: &How,
    g: &Global,
) -> anyhow::Result<()> {
    let mut data = per_class(data, sched.per_class, sched.seed, classes)?;
    if let Some(j) = how.joining {
        data = j.shard(data, &mut spec, sched)?;
    }
    // Fail fast, before loading TensorFlow.
    let n_train = data.training_split()?.len();
    if sched.batch_size > n_train {
        return Err(Error::Invalid(format!("--batch-size {} is larger than the {n_train} training examples", sched.batch_size)).into());
    }
    if sched.class_weight.is_some() {
        let w = balanced_weights(&data.training_split()?.y, classes);
        let shown: Vec<String> =
            w.iter().enumerate().map(|(c, v)| format!("{}: {v:.4}", tfreuse::predict::label(&data.classes, c))).collect();
        eprintln!("class weights (balanced): {}", shown.join(", "));
        spec.class_weights = Some(w);
    }
    spec.train_examples = Some(n_train);
    g.load_tf_for_training(&spec)?;
    how.joining.map(|j| j.start(&mut spec)).transpose()?;
    let disk_cache = match (data.is_pending(), how.model) {
        (true, Some(model)) => Some(disk_cache(sched, model, &spec)?),
        _ => None,
    };
    let job = Job {
        spec,
        cache_max_bytes: how.cache_frozen.then_some(sched.cache_max_mb << 20),
        disk_cache,
        out: sched.out.clone(),
        save_on_nan: sched.save_on_nan,
        save_every: how.joining.and_then(|j| j.save_every),
    };
    let mut console = Console { tty: std::io::stderr().is_terminal(), caching: how.cache_frozen, metric: "metric".into(), bar: None };
    let mut json = sched.json.as_deref().map(|p| JsonLines::open(p, sched.json_append)).transpose()?;
    let mut board = tensorboard(sched, how.own_lr)?;
    // The plot's path and earlier runs are checked before training.
    sched.plot.as_deref().map(|p| tfreuse::summary::plot::check_path(p, "--plot")).transpose()?;
    let compared =
        sched.plot_compare.iter().map(|p| tfreuse::summary::plot::Curve::from_json_log(p)).collect::<tfreuse::Result<Vec<_>>>()?;
    let mut curve = tfreuse::summary::plot::Collect::default();
    let mut sinks: Vec<&mut dyn EventSink> = vec![&mut console];
    if let Some(j) = json.as_mut() {
        sinks.push(j);
    }
    if let Some(b) = board.as_mut() {
        sinks.push(b);
    }
    if sched.plot.is_some() {
        sinks.push(&mut curve);
    }
    let stop = tfreuse::train::interrupt::stop_on_signals()?;
    let ended = run(&job, &data, classes, &stop, &mut Tee(sinks)).map_err(|e| match how.joining {
        Some(j) => j.explain(e),
        None => e,
    });
    match ended? {
        Ended::Finished => plot(sched, curve.0, compared),
        Ended::Interrupted { progress, saved_to } => {
            eprintln!(
                "interrupted at epoch {} step {}: saved a resumable checkpoint to {}; continue with the same flags plus --resume {}",
                progress.epoch + 1,
                progress.step,
                saved_to.display(),
                saved_to.display()
            );
            std::process::exit(130);
        }
        Ended::Stopped(progress) => {
            eprintln!("interrupted at epoch {} step {} (a worker saves nothing; the chief does)", progress.epoch + 1, progress.step);
            std::process::exit(130);
        }
    }
}

/// `--plot`: this run's curve (named as its --out, else "this run") beside the compared ones.
fn plot(sched: &Schedule, mut this: tfreuse::summary::plot::Curve, mut curves: Vec<tfreuse::summary::plot::Curve>) -> anyhow::Result<()> {
    let Some(path) = &sched.plot else { return Ok(()) };
    this.name = sched.out.as_ref().and_then(|o| o.file_name()).map_or("this run".into(), |n| n.to_string_lossy().into_owned());
    curves.push(this);
    tfreuse::summary::plot::draw(path, &curves)?;
    eprintln!("plot: {}", path.display());
    Ok(())
}

/// The TensorBoard sink `--logdir` asks for, its event file made (and named on stderr).
fn tensorboard(sched: &Schedule, lr: Option<f32>) -> anyhow::Result<Option<tfreuse::summary::TensorBoard>> {
    let Some(dir) = &sched.logdir else { return Ok(None) };
    let name = match (&sched.run_name, &sched.out) {
        (Some(n), _) => n.clone(),
        (None, Some(out)) => out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into()),
        (None, None) => {
            format!("run-{}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
        }
    };
    if name.is_empty() || name.contains('/') || name == ".." {
        return Err(Error::Invalid(format!("--run-name {name:?}: one folder name, please")).into());
    }
    let file = tfreuse::summary::EventFile::create(&dir.join(&name))?;
    eprintln!("tensorboard: {} (tensorboard --logdir {})", file.path().display(), dir.display());
    Ok(Some(tfreuse::summary::TensorBoard::new(file, sched.log_every as usize, lr).with_histograms(sched.histograms)))
}

/// Where the feature cache on disk is, and what its values depend on besides the graph below
/// the cut: the model's files, which variables are restored (the others get the seed's
/// initial values) and oneDNN (it rounds differently; XLA is added once the step is known).
fn disk_cache(sched: &Schedule, model: &ModelArgs, spec: &TransferSpec) -> tfreuse::Result<DiskCache> {
    let root = match &sched.cache_dir {
        Some(d) => d.clone(),
        None => tfreuse::cache::store::default_root()?,
    };
    let mut key = vec![("model".to_string(), tfreuse::cache::store::files_digest(&model.files()?)?)];
    if let Some(r) = &spec.restore {
        key.push(("restore".into(), r.clone()));
        key.push(("seed".into(), spec.seed.to_string()));
    }
    key.push(("onednn".into(), std::env::var("TF_ENABLE_ONEDNN_OPTS").unwrap_or_default()));
    Ok(DiskCache { root, key })
}

/// n / (classes × n_c) for each class c of `labels` (scikit-learn's "balanced"); 0 for a class
/// with no example (its weight never applies in training).
fn balanced_weights(labels: &[i64], classes: usize) -> Vec<f32> {
    let mut counts = vec![0usize; classes];
    labels.iter().filter(|&&l| l >= 0 && (l as usize) < classes).for_each(|&l| counts[l as usize] += 1);
    counts.iter().map(|&c| if c == 0 { 0.0 } else { (labels.len() as f64 / (classes * c) as f64) as f32 }).collect()
}
