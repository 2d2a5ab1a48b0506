//! Argument parsing shared by all subcommands, and dispatch.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tfreuse::data::images::{ImageOptions, Preprocess, Record, ResizeMode};
use tfreuse::data::DataSet;
use tfreuse::model::checkpoint::Resolved;
use tfreuse::model::ModelSource;
use tfreuse::tf::runtime::{self as tflib, LoadOptions};
use tfreuse::tf::Jit;
use tfreuse::zoo::{reference as zoo_ref, Entry, Format};
use tfreuse::{Model, Role, SessionConfig, Source};

pub use notices::Notices;

mod cache;
mod console;
mod eval;
mod export;
mod inspect;
mod new;
mod notices;
mod predict;
mod pretrain;
mod recipe;
mod reference;
mod run;
mod schedule;
mod server;
mod sweep;
mod train;
mod worker;
mod zoo;

#[derive(Parser, Debug)]
#[command(name = "tfreuse", version, about = "Reuse TensorFlow 1 checkpoints for transfer learning")]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show what a .meta and its checkpoint hold.
    Inspect(Box<inspect::Args>),
    /// Average scalar metrics (accuracy, loss) of an imported graph over a data split.
    Eval(eval::Args),
    /// Feed any tensors from .npy files and fetch any tensors (saved as .npz).
    Run(run::Args),
    /// Transfer training: reuse, branch and add layers, partial restore, freeze, save.
    Train(Box<train::Args>),
    /// Build a fresh TF1 model (the book's names: dnn/hidden1…, outputs, loss/loss, eval/accuracy, a train_op) and train it from scratch.
    New(Box<new::Args>),
    /// Pretrain layers without labels (autoencoder), saved as a TF1 model to branch from.
    Pretrain(pretrain::Args),
    /// Try the seed's freeze/unfreeze recipe: all reused layers frozen, the top 1-2 unfrozen or dropped, the top replaced, a layer added; a table, the best saved.
    Sweep(Box<sweep::Args>),
    /// Write a trained model out for serving: a TF1 SavedModel and/or a frozen GraphDef (x -> logits, probabilities, classes).
    Export(export::Args),
    /// Classify pictures with a trained model: the likeliest labels and their probabilities.
    Predict(predict::Args),
    /// The feature cache on disk (train --cache-frozen on pictures): info, clear.
    Cache(cache::Args),
    /// Pretrained models named in a manifest: list, show, fetch, verify, remove (use one with --meta zoo:NAME).
    Zoo(zoo::Args),
    /// Run one task (ps or worker) of a TensorFlow cluster over gRPC until stopped; other
    /// commands' sessions reach it with --target grpc://HOST:PORT.
    Server(server::Args),
    /// Print the command and flag reference as Markdown (docs/reference.md; `make reference`).
    #[command(hide = true)]
    Reference,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Directory holding libtensorflow (libtensorflow.so, or a wheel's libtensorflow_cc.so.2); else $TENSORFLOW_DIR, the repo .venv, python3, LD_LIBRARY_PATH, /usr/local/lib.
    #[arg(long, global = true, value_name = "DIR")]
    pub tf_lib: Option<PathBuf>,
    /// Show TensorFlow's own log output.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// oneDNN kernels on or off (TF_ENABLE_ONEDNN_OPTS); set the same as the other side of an
    /// exact comparison. Default: TF_ENABLE_ONEDNN_OPTS if set; else, for training, on when the
    /// graph has convolutions or no layer is frozen, off for dense layers with frozen ones
    /// (--freeze-below, --trainable: as measured), and TF's own default (on) for the other
    /// commands.
    #[arg(long, global = true, value_name = "on|off", value_parser = parse_on_off)]
    pub onednn: Option<bool>,
    /// Threads within one op (0: one per core).
    #[arg(long, global = true, default_value_t = 0, value_name = "N")]
    pub intra_threads: i32,
    /// Ops run in parallel (0: TF's default).
    #[arg(long, global = true, default_value_t = 0, value_name = "N")]
    pub inter_threads: i32,
    /// Compile the graph with XLA: on, off, or auto (training: on for a model's own dense
    /// training op of at least 10 MFLOP a step over at least 4000 steps with oneDNN off, where
    /// it measured 15–25 % faster; off with oneDNN on, for shorter runs, the steps tfreuse
    /// builds, convolutions and the other commands). Bare --jit is on. With XLA the numbers
    /// match Python TF run with the same setting (global_jit_level ON_1), not Python without it.
    #[arg(long, global = true, value_name = "on|off|auto", num_args = 0..=1, default_value = "auto",
          default_missing_value = "on", value_parser = parse_jit)]
    pub jit: Jit,
    /// Run the sessions on a TF server (`tfreuse server`, or Python's tf.distribute.Server):
    /// grpc://HOST:PORT. Its tasks run the ops and hold the variables; files (checkpoints,
    /// --out) are read and written by the server's processes.
    #[arg(long, global = true, value_name = "grpc://HOST:PORT")]
    pub target: Option<String>,
}

fn parse_on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" | "1" | "true" => Ok(true),
        "off" | "0" | "false" => Ok(false),
        _ => Err("expected on or off".into()),
    }
}

fn parse_jit(s: &str) -> Result<Jit, String> {
    match s {
        "auto" => Ok(Jit::Auto),
        s => parse_on_off(s).map(|on| if on { Jit::On } else { Jit::Off }).map_err(|_| "expected on, off or auto".into()),
    }
}

/// `TENSOR=VALUE` of `--set`-like flags.
fn parse_set(flag: &str, s: &str) -> tfreuse::Result<(String, f64)> {
    let bad = || tfreuse::Error::Invalid(format!("{flag} {s}: expected TENSOR=NUMBER (true/false for a bool)"));
    let (t, v) = s.rsplit_once('=').ok_or_else(bad)?;
    let v = match v {
        "true" => 1.0,
        "false" => 0.0,
        v => v.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or_else(bad)?,
    };
    Ok((t.to_string(), v))
}

fn parse_sets(flag: &str, sets: &[String]) -> tfreuse::Result<Vec<(String, f64)>> {
    sets.iter().map(|s| parse_set(flag, s)).collect()
}

/// How `--data images:DIR` pictures become rows.
#[derive(Args, Debug, Clone)]
pub struct ImageArgs {
    /// images:DIR: the size pictures are resized to, HxW (default: the input's static shape).
    #[arg(long, value_name = "HxW", value_parser = parse_size)]
    pub resize: Option<(u32, u32)>,
    /// images:DIR: stretch (aspect not kept; the default), crop (centre) or pad (letterbox).
    #[arg(long, value_name = "MODE")]
    pub resize_mode: Option<String>,
    /// images:DIR: 1 (gray) or 3 (RGB) (default: the input's last dimension; 1 for a flat input).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3))]
    pub channels: Option<u8>,
    /// images:DIR: percent of each class for validation (by a stable hash of the file name).
    #[arg(long, default_value_t = 10.0, value_name = "PCT")]
    pub validation_pct: f64,
    /// images:DIR: percent of each class for test.
    #[arg(long, default_value_t = 10.0, value_name = "PCT")]
    pub test_pct: f64,
    /// images:DIR: an unreadable picture is an error (default: skipped and counted).
    #[arg(long)]
    pub strict: bool,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (h, w) = s.split_once(['x', 'X']).ok_or("expected HxW, e.g. 224x224")?;
    match (h.parse::<u32>(), w.parse::<u32>()) {
        (Ok(h), Ok(w)) if h > 0 && w > 0 => Ok((h, w)),
        _ => Err("expected HxW with two positive numbers, e.g. 224x224".into()),
    }
}

impl ImageArgs {
    /// The options for pictures fed to `input` of the model `model` names: as `recorded` (a
    /// model trained on pictures), else as the input's shape says; flags override either.
    pub fn options(&self, recorded: Option<&Preprocess>, model: &ModelArgs, input: &str) -> tfreuse::Result<ImageOptions> {
        let pct_ok = |p: f64| (0.0..100.0).contains(&p);
        if !pct_ok(self.validation_pct) || !pct_ok(self.test_pct) || self.validation_pct + self.test_pct >= 100.0 {
            return Err(tfreuse::Error::Invalid("--validation-pct and --test-pct must leave some pictures for training".into()));
        }
        if self.channels == Some(2) {
            return Err(tfreuse::Error::Invalid("--channels 2: pictures give 1 (gray) or 3 (RGB)".into()));
        }
        let mode = self.resize_mode.as_deref().map(ResizeMode::parse).transpose()?;
        let preprocess = match recorded.cloned() {
            Some(mut p) => {
                (p.height, p.width) = self.resize.unwrap_or((p.height, p.width));
                p.channels = self.channels.unwrap_or(p.channels);
                p.mode = mode.unwrap_or(p.mode);
                p
            }
            None => {
                let meta = model.source().read()?;
                let dims = meta.resolve_name(input).ok().and_then(|n| meta.static_dims(&n));
                let mode = mode.unwrap_or(ResizeMode::Stretch);
                Preprocess::for_input(dims.as_deref(), self.resize, self.channels, mode).map_err(|e| e.for_arg(Role::Input))?
            }
        };
        Ok(ImageOptions {
            validation_pct: self.validation_pct,
            test_pct: self.test_pct,
            strict: self.strict,
            ..ImageOptions::new(preprocess)
        })
    }
}

/// A data set from its spec, rescaled when `--scale` (or a record) says so; pictures are fitted to `input`,
/// as the record beside the model's checkpoint says if it has one (returned too).
fn load_data(
    spec: &str,
    scale: Option<&str>,
    images: &ImageArgs,
    model: &ModelArgs,
    input: &str,
    g: &Global,
    lazy: bool,
) -> tfreuse::Result<(DataSet, Option<Recorded>)> {
    let (opts, record) = match tfreuse::data::kind(spec) {
        Some("images" | "csv") => {
            let record = model.record()?;
            let mut opts = images.options(record.as_ref().map(|r| &r.0.preprocess), model, input)?;
            opts.lazy = lazy;
            (Some(opts), record)
        }
        _ => (None, None),
    };
    let mut data = tfreuse::data::load_with(spec, opts.as_ref())?;
    if let Some(opts) = &opts {
        report_pictures(&data, &opts.preprocess, g.verbose);
    }
    // Pictures are fed as the model's record says unless --scale says otherwise.
    let scale = scale.map(tfreuse::data::Scale::parse).transpose()?;
    if let Some(s) = scale.or(record.as_ref().map(|r| r.0.scale)) {
        data.rescale(s)?;
    }
    Ok((data, record))
}

/// A picture model's record and class names (see [`Record`]).
type Recorded = (Record, Vec<String>);

/// Classes, pictures per split and what was skipped, on stderr.
fn report_pictures(data: &DataSet, p: &Preprocess, verbose: bool) {
    let order = |n: &str| ["train", "validation", "test"].iter().position(|s| *s == n);
    let mut splits: Vec<_> = data.splits.iter().collect();
    splits.sort_by_key(|(n, _)| order(n));
    let counts: Vec<String> = splits.iter().map(|(name, s)| format!("{name} {}", s.len())).collect();
    eprintln!(
        "pictures: {} classes ({}); {}; resized to {}x{}x{} ({:?})",
        data.classes.len(),
        data.classes.join(", "),
        counts.join(", "),
        p.height,
        p.width,
        p.channels,
        p.mode
    );
    if !data.skipped.is_empty() {
        let hint = if verbose { ":" } else { " (-v lists them; --strict makes them errors)" };
        eprintln!("tfreuse: warning: skipped {} file(s) that are no readable picture{hint}", data.skipped.len());
        if verbose {
            data.skipped.iter().for_each(|(f, why)| eprintln!("  {}: {why}", f.display()));
        }
    }
}

impl Global {
    /// Load libtensorflow (once) as these options say.
    pub fn load_tf(&self) -> tfreuse::Result<()> {
        tflib::load(&self.load_options(self.onednn))?;
        Ok(())
    }

    fn load_options(&self, onednn: Option<bool>) -> LoadOptions {
        LoadOptions { lib_dir: self.tf_lib.clone(), verbose: self.verbose, onednn }
    }

    /// libtensorflow loaded as these options say, sessions opened with them.
    pub fn runtime(&self) -> tfreuse::Result<tfreuse::Runtime> {
        Ok(tfreuse::Runtime::load(self.load_options(self.onednn))?.with_session(self.session_config()))
    }

    /// [`Global::runtime`] for training `spec`: unless `--onednn` or `TF_ENABLE_ONEDNN_OPTS`
    /// chose, oneDNN as the library decides for its graph (said so).
    pub fn runtime_for_training(&self, spec: &tfreuse::TransferSpec) -> tfreuse::Result<tfreuse::Runtime> {
        let (opts, why) = tfreuse::train::job::load_options(spec, self.load_options(self.onednn));
        if let (Some(on), Some(why)) = (opts.onednn, why) {
            eprintln!("oneDNN: {} ({why}; --onednn on|off to choose)", if on { "on" } else { "off" });
        }
        Ok(tfreuse::Runtime::load(opts)?.with_session(self.session_config()))
    }

    pub fn session_config(&self) -> SessionConfig {
        SessionConfig {
            intra_op_threads: self.intra_threads,
            inter_op_threads: self.inter_threads,
            target: self.target.clone(),
            jit: self.jit,
            device_filters: vec![],
        }
    }
}

/// `--meta` and `--checkpoint`, shared by the commands that load a model.
#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// The MetaGraphDef written by tf.train.Saver (e.g. my_model_final.ckpt.meta).
    #[arg(long, value_name = "FILE", required_unless_present_any = ["graph", "saved_model"], conflicts_with_all = ["graph", "saved_model"])]
    pub meta: Option<PathBuf>,
    /// A frozen GraphDef instead (.pb binary, .pbtxt text; weights as constants, no checkpoint),
    /// as retrain.py reused Inception's.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["checkpoint", "saved_model"])]
    pub graph: Option<PathBuf>,
    /// A TF1 SavedModel directory instead (saved_model.pb + variables/); tensor names may then
    /// be given by signature key: @KEY (serving_default) or @SIGNATURE/KEY.
    #[arg(long, value_name = "DIR", conflicts_with = "checkpoint")]
    pub saved_model: Option<PathBuf>,
    /// The tags of the SavedModel's MetaGraph to take (comma-separated).
    #[arg(long, default_value = "serve", requires = "saved_model")]
    pub tag: String,
    /// Checkpoint prefix, or a directory with a `checkpoint` file (default: the .meta's directory).
    #[arg(long, value_name = "PREFIX|DIR")]
    pub checkpoint: Option<PathBuf>,
    #[command(flatten)]
    pub zoo: zoo::ZooArgs,
}

impl ModelArgs {
    /// Where the model comes from, as the flags say.
    pub fn source(&self) -> Source {
        let kind = match (&self.meta, &self.graph, &self.saved_model) {
            (_, _, Some(d)) => ModelSource::SavedModel(d.clone(), self.tag.clone()),
            (_, Some(g), None) => ModelSource::Graph(g.clone()),
            (Some(m), None, None) => ModelSource::Meta(m.clone()),
            (None, None, None) => unreachable!("clap requires --meta, --graph or --saved-model"),
        };
        match &self.checkpoint {
            Some(c) => Source::from(kind).checkpoint(c),
            None => Source::from(kind),
        }
    }

    /// Fetch the model a `zoo:NAME` flag names (unless cached) and point the flags at it, as
    /// the entry's format says (whichever of the three flags named it); the entry, for the
    /// defaults it gives.
    pub fn resolve_zoo(&mut self) -> tfreuse::Result<Option<Entry>> {
        let named = [&self.meta, &self.graph, &self.saved_model].into_iter().flatten().find_map(|p| zoo_ref(p).map(str::to_string));
        let Some(name) = named else { return Ok(None) };
        let z = self.zoo.open(None)?;
        let e = z.entry(&name)?.clone();
        let path = z.fetch(&e, &mut Notices::default())?;
        eprintln!("zoo:{name}: {} {}", e.format.as_str(), path.display());
        (self.meta, self.graph, self.saved_model) = (None, None, None);
        match e.format {
            Format::Meta => self.meta = Some(path),
            Format::Graph => self.graph = Some(path),
            Format::SavedModel => self.saved_model = Some(path),
        }
        Ok(Some(e))
    }

    /// The checkpoint to restore: a SavedModel's own, the one `--checkpoint` / the `.meta`
    /// resolve to, or none (a frozen graph).
    pub fn checkpoint(&self) -> tfreuse::Result<Option<Resolved>> {
        self.source().resolved_checkpoint()
    }

    /// The source's graph; what reading changed goes to stderr.
    pub fn read(&self) -> tfreuse::Result<tfreuse::MetaGraph> {
        let meta = self.source().read()?;
        meta.notes.iter().for_each(|n| warn(Some(n)));
        Ok(meta)
    }

    /// The record saved beside the checkpoint of a model trained on pictures, if any (an
    /// unresolvable checkpoint is reported when the model loads).
    pub fn record(&self) -> tfreuse::Result<Option<Recorded>> {
        match self.checkpoint() {
            Ok(Some(c)) => Record::read(&c.prefix),
            _ => Ok(None),
        }
    }

    /// Load TF, import the graph and restore the checkpoint; warnings go to stderr.
    pub fn load_restored(&self, g: &Global) -> anyhow::Result<Model> {
        let model = g.runtime()?.open(self.source())?;
        model.meta.notes.iter().for_each(|n| warn(Some(n)));
        if let Some(prefix) = &model.restored {
            eprintln!("restored {}", prefix.display());
        }
        Ok(model)
    }
}

/// The flag that gives an argument of `role`.
pub fn flag(role: Role) -> &'static str {
    match role {
        Role::Input => "--input",
        Role::Labels => "--labels",
        Role::BranchFrom => "--branch-from",
        Role::NewLayers => "--new-layers",
        Role::Prefix => "--prefix",
        Role::Restore => "--restore",
        Role::Trainable => "--trainable",
        Role::FreezeBelow => "--freeze-below",
        Role::LearningRate => "--lr",
        Role::Clip => "--clip",
        Role::TrainOp => "--train-op",
        Role::Loss => "--loss",
        Role::Metric => "--metric",
        Role::BatchSize => "--batch-size",
        Role::Cache => "--cache-frozen",
        Role::CacheLimit => "--cache-max-mb",
        Role::Resume => "--resume",
        Role::Out => "--out",
        Role::Device => "--device",
        Role::Data => "--data",
        Role::Scale => "--scale",
        Role::Split => "--split",
        Role::Fetch => "--fetch",
        Role::Feed => "--feed",
        Role::TrainingFlag => "--training-flag",
        Role::Set => "--set",
        Role::Checkpoint => "--checkpoint",
        Role::Tag => "--tag",
        Role::SetInTraining => "--set-in-training",
        Role::ClassWeight => "--class-weight",
        Role::Patience => "--patience",
        Role::Prune => "--prune",
        Role::Init => "--init",
        Role::L2 => "--l2",
        Role::Optimizer => "--optimizer",
        Role::Classes => "--classes",
        Role::PerClass => "--per-class",
        Role::Augment => "--augment",
        Role::Resize => "--resize",
        Role::ResizeMode => "--resize-mode",
        Role::Strict => "--strict",
        Role::Cluster => "--cluster",
        Role::Job => "--job",
        Role::Task => "--task",
        Role::Target => "--target",
        Role::WaitSecs => "--wait-secs",
        Role::Sync => "--sync",
        Role::Plot => "--plot",
        Role::Draw => "--draw",
        Role::Json => "--json",
        Role::Unlabeled => "--unlabeled",
        Role::Corruption => "--corruption",
        Role::Manifest => "--manifest",
        Role::ZooDir => "--zoo-dir",
        Role::CacheDir => "--cache-dir",
        Role::TfLib => "--tf-lib",
        Role::SaveOnNan => "--save-on-nan",
        Role::Graph => "--graph",
        Role::Meta => "--meta",
        Role::Force => "--force",
    }
}

/// One line for an error: library errors name arguments by their flags (the command's own,
/// when it put [`Flags`] on the error).
pub fn render(err: &anyhow::Error) -> String {
    let flags = err.downcast_ref::<Flags>().copied().unwrap_or(Flags(|_| None));
    render_with(err, |r| flags.name(r).to_string())
}

/// One line for an error, arguments named by `name_of`.
pub fn render_with(err: &anyhow::Error, name_of: impl Fn(Role) -> String) -> String {
    match err.downcast_ref::<tfreuse::Error>() {
        Some(e @ tfreuse::Error::Arg { .. }) => e.render_with(name_of),
        Some(e) => with_feed_hint(e.render_with(name_of)),
        None => with_feed_hint(err.to_string()),
    }
}

/// A library error's line with the usual flags (for messages built around one).
pub fn message(err: &tfreuse::Error) -> String {
    err.render_with(|r| flag(r).to_string())
}

/// The flags of a command that names some roles otherwise than [`flag`] (`new --layers`): the
/// context it puts on its errors, which [`render`] reads.
#[derive(Clone, Copy, Debug)]
pub struct Flags(pub fn(Role) -> Option<&'static str>);

impl Flags {
    /// The flag that gives `role` in this command.
    pub fn name(self, role: Role) -> &'static str {
        (self.0)(role).unwrap_or_else(|| flag(role))
    }
}

impl std::fmt::Display for Flags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("as this command names its flags")
    }
}

/// TF's "You must feed a value for placeholder tensor 'keep_prob'" names no way to do it.
fn with_feed_hint(msg: String) -> String {
    const MUST: &str = "You must feed a value for placeholder tensor '";
    match msg.split_once(MUST).and_then(|(_, rest)| rest.split_once('\'')) {
        Some((name, _)) => format!("{msg} (a second input: give it a value with --set {name}:0=VALUE)"),
        None => msg,
    }
}

/// A warning on stderr; the arguments it mentions named by their flags.
pub fn warn(msg: Option<&str>) {
    if let Some(m) = msg {
        eprintln!("tfreuse: warning: {}", tfreuse::error::render_roles(m, |r| flag(r).to_string()));
    }
}

pub fn exec(cli: Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    g.target.as_deref().map(tfreuse::dist::check_target).transpose()?;
    match cli.command {
        Command::Inspect(mut a) => {
            match a.draw.is_some() {
                true => zoo_model(
                    &mut a.model,
                    &mut a.recipe.input,
                    &mut a.recipe.images,
                    &mut a.recipe.scale,
                    Some(&mut a.recipe.branch_from),
                )?,
                false => _ = a.model.resolve_zoo()?,
            }
            inspect::exec(*a, g)
        }
        Command::Eval(mut a) => {
            zoo_model(&mut a.model, &mut a.input, &mut a.images, &mut a.scale, None)?;
            eval::exec(a, g)
        }
        Command::Run(mut a) => {
            zoo_model(&mut a.model, &mut a.input, &mut a.images, &mut a.scale, None)?;
            run::exec(a, g)
        }
        Command::Predict(mut a) => {
            zoo_model(&mut a.model, &mut a.input, &mut a.images, &mut a.scale, None)?;
            predict::exec(a, g)
        }
        Command::Train(mut a) => {
            zoo_model(&mut a.model, &mut a.recipe.input, &mut a.recipe.images, &mut a.recipe.scale, Some(&mut a.recipe.branch_from))?;
            train::exec(*a, g)
        }
        Command::Sweep(mut a) => {
            zoo_model(&mut a.model, &mut a.recipe.input, &mut a.recipe.images, &mut a.recipe.scale, Some(&mut a.recipe.branch_from))?;
            sweep::exec(*a, g)
        }
        Command::New(a) => new::exec(*a, g),
        Command::Pretrain(a) => pretrain::exec(a, g),
        Command::Export(a) => export::exec(a, g),
        Command::Cache(a) => cache::exec(a),
        Command::Zoo(a) => zoo::exec(a),
        Command::Server(a) => server::exec(a, g),
        Command::Reference => {
            print!("{}", reference::markdown(&<Cli as clap::CommandFactory>::command()));
            Ok(())
        }
    }
}

/// A command's way out with an exit code of its own, after saying why on stderr (Ctrl-C: 130).
#[derive(Debug)]
pub struct Exit(pub i32);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}", self.0)
    }
}

impl std::error::Error for Exit {}

/// The tensor fed with the features: as given, else X:0 (the book's name).
pub fn input(given: &Option<String>) -> &str {
    given.as_deref().unwrap_or("X:0")
}

/// Resolve a `zoo:NAME` model, and fill the flags left out from its entry.
fn zoo_model(
    model: &mut ModelArgs,
    input: &mut Option<String>,
    images: &mut ImageArgs,
    scale: &mut Option<String>,
    branch: Option<&mut Option<String>>,
) -> tfreuse::Result<()> {
    if let Some(e) = model.resolve_zoo()? {
        ZooDefaults::new(&e).apply(input, images, scale, branch);
    }
    Ok(())
}

/// What a zoo entry says where the user said nothing.
struct ZooDefaults<'a> {
    entry: &'a Entry,
    filled: Vec<String>,
}

impl<'a> ZooDefaults<'a> {
    fn new(entry: &'a Entry) -> Self {
        ZooDefaults { entry, filled: Vec::new() }
    }

    /// Fill the flags left out from the entry, and say which.
    fn apply(
        mut self,
        input: &mut Option<String>,
        images: &mut ImageArgs,
        scale: &mut Option<String>,
        branch: Option<&mut Option<String>>,
    ) {
        let e = self.entry;
        self.fill("--input", input, e.input.clone());
        self.fill("--scale", scale, e.scale.clone());
        if let Some(b) = branch {
            self.fill("--branch-from", b, e.branch.first().cloned());
        }
        if images.resize.is_none() {
            if let Some(size) = e.size.as_deref().and_then(|s| parse_size(s).ok()) {
                images.resize = Some(size);
                self.filled.push(format!("--resize {}x{}", size.0, size.1));
            }
        }
        if !self.filled.is_empty() {
            eprintln!("zoo:{}: {} (from its manifest entry)", e.name, self.filled.join(" "));
        }
    }

    fn fill(&mut self, flag: &str, slot: &mut Option<String>, value: Option<String>) {
        if let (None, Some(v)) = (slot.as_ref(), value) {
            self.filled.push(format!("{flag} {v}"));
            *slot = Some(v);
        }
    }
}
