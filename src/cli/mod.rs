//! Argument parsing shared by all subcommands, and dispatch.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tfreuse::tf::runtime::{self as tflib, LoadOptions};
use tfreuse::tf::Jit;
use tfreuse::SessionConfig;

pub use flags::{message, render, warn, Exit, Flags};
use model::zoo_model;
pub use model::ModelArgs;
pub use notices::Notices;
pub use pictures::{load_data, ImageArgs};

mod cache;
mod console;
mod eval;
mod export;
mod flags;
mod inspect;
mod model;
mod new;
mod notices;
mod pictures;
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

/// The tensor fed with the features: as given, else X:0 (the book's name).
pub fn input(given: &Option<String>) -> &str {
    given.as_deref().unwrap_or("X:0")
}
