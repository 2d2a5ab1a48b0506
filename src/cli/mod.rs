//! Argument parsing shared by all subcommands, and dispatch.

use clap::{Parser, Subcommand};

pub use flags::{message, render, warn, Exit, Flags};
pub use global::{Global, Kernels, Library};
pub use model::ModelArgs;
use model::{found_feeds, zoo_model};
pub use notices::Notices;
pub use pictures::{load_data, ImageArgs};

mod about;
pub mod arg_error;
mod cache;
mod console;
mod eval;
mod export;
mod flags;
mod global;
mod headings;
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
pub mod sandbox;
mod schedule;
mod server;
mod sweep;
mod train;
mod worker;
mod zoo;

#[derive(Parser, Debug)]
#[command(name = "tfreuse", version, about = "Reuse TensorFlow 1 checkpoints for transfer learning")]
#[command(disable_version_flag = true, arg_required_else_help = true)]
pub struct Cli {
    /// Print the versions of tfreuse and of the libtensorflow it finds (and where), and
    /// oneDNN's default.
    #[arg(short = 'V', long, exclusive = true)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
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
    /// Pretrain layers without labels (autoencoder, auxiliary task), saved as a TF1 model to branch from.
    Pretrain(pretrain::Args),
    /// Try the seed's freeze/unfreeze advice in full: all reused layers frozen, the top 1, 2, … all unfrozen, the top 1-2 dropped, the top replaced, a layer added; a table, the best on validation saved.
    Sweep(Box<sweep::Args>),
    /// Write a trained model out for serving: a TF1 SavedModel and/or a frozen GraphDef (x -> logits, probabilities, classes).
    Export(export::Args),
    /// Classify pictures with a trained model: the likeliest labels and their probabilities.
    Predict(predict::Args),
    /// The feature cache on disk (train --cache-frozen on pictures): info, clear.
    Cache(cache::Args),
    /// Pretrained models named in a manifest: list, show, fetch, add, verify, remove (use one with --meta zoo:NAME).
    Zoo(zoo::Args),
    /// Run one task (ps or worker) of a TensorFlow cluster over gRPC until stopped; other
    /// commands' sessions reach it with --target grpc://HOST:PORT.
    Server(server::Args),
    /// Print a shell's completion script, e.g. `tfreuse completions bash > ~/.local/share/bash-completion/completions/tfreuse`.
    Completions(about::Completions),
    /// Print the command and flag reference as Markdown (docs/reference.md; `make reference`).
    #[command(hide = true)]
    Reference,
    /// Write the man pages into DIR (docs/man; `make man`).
    #[command(hide = true)]
    Man { dir: std::path::PathBuf },
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

pub fn exec(cli: Cli) -> anyhow::Result<()> {
    let Some(command) = cli.command else {
        // clap shows the help when nothing is given, so only --version gets here.
        return about::version();
    };
    match command {
        Command::Inspect(mut a) => {
            let g = &Global::from_parts(a.library.clone(), Kernels::default());
            match a.draw.is_some() {
                true => {
                    let r = &mut a.recipe;
                    _ = zoo_model(&mut a.model, &mut r.input, &mut r.images.fit, &mut r.scale, Some(&mut r.branch_from))?;
                    found_feeds(&a.model, &mut r.input, Some(&mut r.labels))?;
                }
                false => _ = a.model.resolve_zoo()?,
            }
            inspect::exec(*a, g)
        }
        Command::Eval(mut a) => {
            a.global.safety.trust_graph |= zoo_model(&mut a.model, &mut a.input, &mut a.images.fit, &mut a.scale, None)?;
            let g = &a.global.checked()?.clone();
            found_feeds(&a.model, &mut a.input, Some(&mut a.labels))?;
            eval::exec(a, g)
        }
        Command::Run(mut a) => {
            a.global.safety.trust_graph |= zoo_model(&mut a.model, &mut a.input, &mut a.images.fit, &mut a.scale, None)?;
            let g = &a.global.checked()?.clone();
            if a.data.is_some() {
                found_feeds(&a.model, &mut a.input, None)?;
            }
            run::exec(a, g)
        }
        Command::Predict(mut a) => {
            a.global.safety.trust_graph |= zoo_model(&mut a.model, &mut a.input, &mut a.fit, &mut a.scale, None)?;
            let g = &a.global.checked()?.clone();
            found_feeds(&a.model, &mut a.input, None)?;
            predict::exec(a, g)
        }
        Command::Train(mut a) => {
            let r = &mut a.recipe;
            a.global.safety.trust_graph |=
                zoo_model(&mut a.model, &mut r.input, &mut r.images.fit, &mut r.scale, Some(&mut r.branch_from))?;
            let g = &a.global.checked()?.clone();
            found_feeds(&a.model, &mut r.input, Some(&mut r.labels))?;
            train::exec(*a, g)
        }
        Command::Sweep(mut a) => {
            let r = &mut a.recipe;
            a.global.safety.trust_graph |=
                zoo_model(&mut a.model, &mut r.input, &mut r.images.fit, &mut r.scale, Some(&mut r.branch_from))?;
            let g = &a.global.checked()?.clone();
            found_feeds(&a.model, &mut r.input, Some(&mut r.labels))?;
            sweep::exec(*a, g)
        }
        Command::New(a) => {
            let g = a.global.checked()?.clone();
            new::exec(*a, &g)
        }
        Command::Pretrain(a) => {
            let g = a.global()?;
            pretrain::exec(a, &g)
        }
        Command::Export(a) => {
            let g = a.global.checked()?.clone();
            export::exec(a, &g)
        }
        Command::Cache(a) => cache::exec(a),
        Command::Zoo(a) => zoo::exec(a),
        Command::Server(a) => server::exec(a),
        Command::Completions(a) => about::completions(a),
        Command::Reference => {
            print!("{}", reference::markdown(&<Cli as clap::CommandFactory>::command()));
            Ok(())
        }
        Command::Man { dir } => about::man(&dir),
    }
}

/// The tensor fed with the features: as given, else X:0 (the book's name).
pub fn input(given: &Option<String>) -> &str {
    given.as_deref().unwrap_or("X:0")
}
