//! `tfreuse pretrain`: lower layers learnt without labels, saved as a TF1 model whose layers
//! `train --branch-from` reuses (the seed's answer to few labels).

use std::path::PathBuf;

use tfreuse::graph::layers::LayerSpec;
use tfreuse::pretrain::{Corruption, Net};
use tfreuse::train::Objective;
use tfreuse::{DataSet, Error};

use super::headings::{DATA, MODEL};
use super::new::{layers, Fresh, FLAGS};
use super::schedule::{Caching, PerClass, Schedule};
use super::train::{train_on, How};
use super::Global;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub kind: Kind,
}

#[derive(clap::Subcommand, Debug)]
pub enum Kind {
    /// A stacked autoencoder trained to reconstruct its input, end to end or one layer at a
    /// time (--greedy), weights tied or not (labels ignored); the encoder's layers are then reused.
    Autoencoder(Box<Autoencoder>),
    /// A classifier of real examples against corrupted copies (labels ignored), or of pairs
    /// of examples by whether they share a class; its lower layers are then reused.
    Auxiliary(Box<Auxiliary>),
}

#[derive(clap::Args, Debug)]
pub struct Auxiliary {
    /// corrupt (real or corrupted examples, labels ignored) or pairs (same class or not).
    ///
    /// corrupt: each example as it is, "real", and with the second half of its values taken
    /// from another example, "corrupted"; for a flat MNIST picture, the bottom 14 rows of
    /// another digit. pairs, from the labels: whether two examples share a class, each
    /// example against the one as far from the end of its batch as it is from the start, the
    /// two kinds of pair weighted to count the same.
    #[arg(long, default_value = "corrupt", value_parser = ["corrupt", "pairs"], help_heading = MODEL)]
    pub task: String,
    /// How --task corrupt corrupts: halves or patches.
    ///
    /// halves: the second half of the values from another example (any features); patches: a
    /// picture's 4×4 grid of patches shuffled (examples shaped [h, w], [h, w, c] or a flat
    /// square such as MNIST's 784).
    #[arg(long, default_value = "halves", value_parser = ["halves", "patches"], help_heading = MODEL)]
    pub corruption: String,
    /// The hidden layers, e.g. 100:elu,100:elu; a 2-wide output layer follows.
    ///
    /// dense UNITS[:ACTIVATION], relu by default.
    #[arg(long, value_name = "LAYERS", help_heading = MODEL)]
    pub layers: String,
    /// More examples without labels for --task corrupt: npz:FILE.
    ///
    /// Its array x is shaped as the data's examples; they are added to the training split.
    #[arg(long, value_name = "SPEC", help_heading = DATA)]
    pub unlabeled: Option<String>,
    #[command(flatten)]
    pub fresh: Fresh,
    #[command(flatten)]
    pub per_class: PerClass,
    #[command(flatten)]
    pub schedule: Schedule,
    #[command(flatten)]
    pub global: Global,
}

#[derive(clap::Args, Debug)]
pub struct Autoencoder {
    /// The encoder, e.g. 300:elu,150:elu; the decoder mirrors it.
    ///
    /// dense UNITS[:ACTIVATION], relu by default; the decoder of 300:elu,150:elu is 300:elu,
    /// then a linear layer as wide as the input.
    #[arg(long, value_name = "LAYERS", help_heading = MODEL)]
    pub layers: String,
    /// Train one encoder layer at a time, as the book's phases do.
    ///
    /// Phase k trains phasek/hiddenk and a decoder phasek/decoderk that reconstructs the layer
    /// below (X for k = 1), the layers below frozen (and cached); --epochs is per phase. The
    /// saved model holds every phase.
    #[arg(long, help_heading = MODEL)]
    pub greedy: bool,
    /// Tie the weights: each decoder kernel is its encoder kernel transposed.
    ///
    /// Only the biases are the decoder's own (half the weights).
    #[arg(long, help_heading = MODEL)]
    pub tied: bool,
    /// More examples without labels: npz:FILE.
    ///
    /// Its array x is shaped as the data's examples; they are added to the training split
    /// (bytes are scaled as the data's are).
    #[arg(long, value_name = "SPEC", help_heading = DATA)]
    pub unlabeled: Option<String>,
    #[command(flatten)]
    pub fresh: Fresh,
    #[command(flatten)]
    pub schedule: Schedule,
    #[command(flatten)]
    pub caching: Caching,
    #[command(flatten)]
    pub global: Global,
}

/// `--layers`: the hidden layers, relu unless given (a last layer is appended for the parse,
/// so that none of them is taken for the logits); the library takes dense ones only.
fn encoder(spec: &str) -> tfreuse::Result<Vec<LayerSpec>> {
    let mut encoder = layers(&format!("{spec},1"))?;
    encoder.pop();
    Ok(encoder)
}

impl Args {
    /// The TensorFlow options of the kind given, `--target` checked.
    pub fn global(&self) -> tfreuse::Result<Global> {
        let g = match &self.kind {
            Kind::Autoencoder(a) => &a.global,
            Kind::Auxiliary(a) => &a.global,
        };
        Ok(g.checked()?.clone())
    }
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    let done = match args.kind {
        Kind::Autoencoder(a) => autoencoder(*a, g),
        Kind::Auxiliary(a) if a.task == "pairs" => pairs(*a, g),
        Kind::Auxiliary(a) => corrupt(*a, g),
    };
    done.map_err(|e| e.context(FLAGS))
}

/// The data set with `--unlabeled`'s examples added (said so).
fn unlabeled(data: DataSet, spec: Option<&str>, schedule: &Schedule) -> anyhow::Result<DataSet> {
    let Some(spec) = spec else { return Ok(data) };
    if schedule.sampling.per_class.per_class.is_some() {
        return Err(Error::Invalid("--per-class with --unlabeled: the unlabelled examples have no class to draw by".into()).into());
    }
    let before = data.training_split()?.len();
    let data = tfreuse::pretrain::with_unlabeled(data, spec)?;
    let after = data.training_split()?.len();
    eprintln!("--unlabeled: {} examples added to the {before} of the training split", after - before);
    Ok(data)
}

fn autoencoder(mut a: Autoencoder, g: &Global) -> anyhow::Result<()> {
    a.schedule.caching = a.caching.clone();
    a.schedule.check_out(None)?;
    let (data, classes) = a.fresh.data("pretrain autoencoder", g)?;
    let data = unlabeled(data, a.unlabeled.as_deref(), &a.schedule)?;
    let features = Fresh::features(&data, &[])?;
    if a.greedy {
        return greedy(&a, (data, classes), features, g);
    }
    let net = tfreuse::pretrain::autoencoder(&encoder(&a.layers)?, &features, a.tied)?;
    pretrain(net, (data, classes), (&a.fresh, &a.schedule), g)
}

/// `--greedy`: one run per phase, each on the model the one before saved (in a temporary
/// folder), branching at the layer below; the last saves to --out.
fn greedy(a: &Autoencoder, (data, classes): (DataSet, usize), features: Vec<usize>, g: &Global) -> anyhow::Result<()> {
    if a.schedule.output.resume.is_some() {
        let msg = "--resume with --greedy: rerun the command (phases are short and each starts from the last)";
        return Err(Error::Invalid(msg.into()).into());
    }
    let base = a.fresh.spec(features.clone(), vec![], "", g)?;
    let greedy = tfreuse::pretrain::greedy(&base, &encoder(&a.layers)?, &features, a.tied)?;
    let n = greedy.phases.len();
    for (k, phase) in greedy.phases.iter().enumerate() {
        let [from, hidden, decoder] = &phase.tensors;
        eprintln!("phase {}/{n}: {from} -> {hidden} -> {decoder}", k + 1);
        let sched = phase_schedule(&a.schedule, k, phase.out.clone());
        let cached = phase.spec.recipe.freeze_below.is_some();
        let spec = sched.apply(phase.spec.clone(), cached)?;
        train_on(spec, (data.clone(), classes), &sched, How { cache_frozen: cached, ..a.fresh.how() }, g)?;
    }
    eprintln!("encoder outputs (train --branch-from one of these): {}", greedy.encoder_outputs().join(", "));
    Ok(())
}

/// Phase `k`'s schedule: one that saves in `out` (all but the last) neither draws --plot nor
/// prunes; --json gathers every phase, --logdir gets a run per phase.
fn phase_schedule(s: &Schedule, k: usize, out: Option<PathBuf>) -> Schedule {
    let mut phase = s.clone();
    if out.is_some() {
        (phase.output.out, phase.output.plot, phase.prune) = (out, None, false);
    }
    phase.json_append = k > 0;
    let run =
        s.output.run_name.clone().or_else(|| s.output.out.as_ref().and_then(|o| o.file_name()).map(|f| f.to_string_lossy().into_owned()));
    phase.output.run_name = Some(format!("{}phase{}", run.map(|r| r + "-").unwrap_or_default(), k + 1));
    phase
}

fn corrupt(mut a: Auxiliary, g: &Global) -> anyhow::Result<()> {
    a.schedule.sampling.per_class = a.per_class.clone();
    a.schedule.check_out(None)?;
    let (data, _) = a.fresh.data("pretrain auxiliary", g)?;
    let data = unlabeled(data, a.unlabeled.as_deref(), &a.schedule)?;
    let how = if a.corruption == "patches" { Corruption::Patches } else { Corruption::Halves };
    let seed = a.schedule.length.seed;
    let data = tfreuse::pretrain::corrupt(&data, seed, how)?;
    let n = data.training_split()?.len() / 2;
    eprintln!("auxiliary task corrupt ({}): {n} real and {n} corrupted training examples (seed {seed})", a.corruption);
    let net = tfreuse::pretrain::auxiliary(&encoder(&a.layers)?)?;
    pretrain(net, (data, 2), (&a.fresh, &a.schedule), g)
}

/// `--task pairs`, on the labelled data (after --per-class).
fn pairs(a: Auxiliary, g: &Global) -> anyhow::Result<()> {
    a.schedule.check_out(None)?;
    if a.unlabeled.is_some() || a.corruption != "halves" {
        let msg = "--task pairs learns from the labels: drop --unlabeled and --corruption";
        return Err(Error::Invalid(msg.into()).into());
    }
    let (data, classes) = a.fresh.data("pretrain auxiliary", g)?;
    let per_class = a.per_class.per_class.map(|n| n as usize);
    let data = tfreuse::train::job::sample(data, per_class, a.schedule.length.seed, classes, &mut super::console::Console::new(false))?;
    let schedule = a.schedule.clone();
    let (share, [other, same]) = tfreuse::pretrain::pair_weights(&data.training_split()?.y, classes)?;
    let share = 100.0 * share;
    eprintln!("auxiliary task pairs: {share:.1} % of pairs share a class; weights {other:.3} (other class), {same:.3} (same class)");
    let net = tfreuse::pretrain::pairs(&encoder(&a.layers)?, [other, same])?;
    pretrain(net, (data, classes), (&a.fresh, &schedule), g)
}

/// Train `net` from nothing on `data`, then name the layers to branch from.
fn pretrain(net: Net, data: (DataSet, usize), (fresh, schedule): (&Fresh, &Schedule), g: &Global) -> anyhow::Result<()> {
    let features = Fresh::features(&data.0, &[])?;
    let spec = net.spec(schedule.apply(fresh.spec(features, net.layers.clone(), net.scope, g)?, false)?);
    let names = tfreuse::pretrain::outputs(&spec);
    eprintln!("{}: X:0 -> {}", net.scope.trim_end_matches('/'), names.join(" -> "));
    train_on(spec, data, schedule, fresh.how(), g)?;
    let reused_as = if net.objective == Objective::Reconstruct { "encoder outputs" } else { "layers to reuse" };
    eprintln!("{reused_as} (train --branch-from one of these): {}", names[..net.reused].join(", "));
    Ok(())
}
