//! `tfreuse pretrain`: lower layers learnt without labels, saved as a TF1 model whose layers
//! `train --branch-from` reuses (the seed's answer to few labels).

use std::path::{Path, PathBuf};

use tfreuse::graph::layers::{Activation, LayerSpec};
use tfreuse::model::ModelSource;
use tfreuse::pretrain::Corruption;
use tfreuse::train::Objective;
use tfreuse::Error;

use super::new::{layers, Fresh};
use super::train::{per_class, train_on, How, Schedule};
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
    /// The task: corrupt (labels ignored: each example as it is, "real", and with the second
    /// half of its values taken from another example, "corrupted"; for a flat MNIST picture,
    /// the bottom 14 rows of another digit), or pairs (from the labels: whether two examples
    /// share a class, each example against the one as far from the end of its batch as it is
    /// from the start, the two kinds of pair weighted to count the same).
    #[arg(long, default_value = "corrupt", value_parser = ["corrupt", "pairs"])]
    pub task: String,
    /// How --task corrupt corrupts: halves (the second half of the values from another
    /// example; any features) or patches (a picture's 4×4 grid of patches shuffled; examples
    /// shaped [h, w], [h, w, c] or a flat square such as MNIST's 784).
    #[arg(long, default_value = "halves", value_parser = ["halves", "patches"])]
    pub corruption: String,
    /// The hidden layers: dense UNITS[:ACTIVATION] (relu by default), e.g.
    /// 100:elu,100:elu; a 2-wide output layer follows.
    #[arg(long, value_name = "LAYERS")]
    pub layers: String,
    /// More examples without labels for --task corrupt: npz:FILE whose array x is shaped as
    /// the data's examples, added to the training split.
    #[arg(long, value_name = "SPEC")]
    pub unlabeled: Option<String>,
    #[command(flatten)]
    pub fresh: Fresh,
    #[command(flatten)]
    pub schedule: Schedule,
}

#[derive(clap::Args, Debug)]
pub struct Autoencoder {
    /// The encoder: dense UNITS[:ACTIVATION] (relu by default), e.g. 300:elu,150:elu; the
    /// decoder mirrors it (300:elu, then a linear layer as wide as the input).
    #[arg(long, value_name = "LAYERS")]
    pub layers: String,
    /// Train one encoder layer at a time, as the book's phases do: phase k trains phasek/hiddenk
    /// and a decoder phasek/decoderk that reconstructs the layer below (X for k = 1), the layers
    /// below frozen (and cached); --epochs is per phase. The saved model holds every phase.
    #[arg(long)]
    pub greedy: bool,
    /// Tie the weights: each decoder kernel is the transpose of its encoder kernel, only the
    /// biases are the decoder's own (half the weights).
    #[arg(long)]
    pub tied: bool,
    /// More examples without labels: npz:FILE whose array x is shaped as the data's examples,
    /// added to the training split (bytes are scaled as the data's are).
    #[arg(long, value_name = "SPEC")]
    pub unlabeled: Option<String>,
    #[command(flatten)]
    pub fresh: Fresh,
    #[command(flatten)]
    pub schedule: Schedule,
}

/// The hidden layers of `spec`: dense only, relu unless given (a last layer is appended
/// for the parse, so that no layer of `spec` is taken for the logits).
fn encoder(spec: &str) -> tfreuse::Result<Vec<LayerSpec>> {
    let mut encoder = layers(&format!("{spec},1"))?;
    encoder.pop();
    match encoder.iter().find(|l| !matches!(l, LayerSpec::Dense { .. })) {
        Some(l) => Err(Error::Invalid(format!("--layers {spec}: pretraining takes dense layers only, not {l:?}"))),
        None => Ok(encoder),
    }
}

/// The layer that reconstructs what encoder layer `to` gets, `width` wide with `activation`:
/// dense, or with `to`'s kernel transposed when `tied`.
fn decoder(to: usize, width: usize, activation: Activation, tied: bool) -> LayerSpec {
    match tied {
        true => LayerSpec::Tied { to, activation },
        false => LayerSpec::Dense { units: width, activation },
    }
}

/// The encoder of `spec` and its mirror, ending in a linear layer of `width`: the whole
/// autoencoder, and how many of its layers are the encoder.
fn mirrored(spec: &str, width: usize, tied: bool) -> tfreuse::Result<(Vec<LayerSpec>, usize)> {
    let encoder = encoder(spec)?;
    let k = encoder.len();
    let mut all = encoder.clone();
    for (m, l) in encoder.iter().enumerate().take(k - 1).rev() {
        let LayerSpec::Dense { units, activation } = *l else { unreachable!("dense only") };
        all.push(decoder(m + 1, units, activation, tied));
    }
    all.push(decoder(0, width, Activation::Linear, tied));
    Ok((all, k))
}

/// The phases of a greedy autoencoder: encoder layer k and the decoder of what it gets.
fn phases(encoder: &[LayerSpec], width: usize, tied: bool) -> Vec<[LayerSpec; 2]> {
    let mut below = (width, Activation::Linear);
    let mut out = Vec::new();
    for l in encoder {
        let LayerSpec::Dense { units, activation } = *l else { unreachable!("dense only") };
        out.push([l.clone(), decoder(0, below.0, below.1, tied)]);
        below = (units, activation);
    }
    out
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    match args.kind {
        Kind::Autoencoder(a) => autoencoder(*a, g),
        Kind::Auxiliary(a) if a.task == "pairs" => pairs(*a, g),
        Kind::Auxiliary(a) => corrupt(*a, g),
    }
}

/// The data set with `--unlabeled`'s examples added (said so).
fn unlabeled(data: tfreuse::DataSet, spec: Option<&str>, schedule: &Schedule) -> anyhow::Result<tfreuse::DataSet> {
    let Some(spec) = spec else { return Ok(data) };
    if schedule.per_class.is_some() {
        return Err(Error::Invalid("--per-class with --unlabeled: the unlabelled examples have no class to draw by".into()).into());
    }
    let before = data.training_split()?.len();
    let data = tfreuse::pretrain::with_unlabeled(data, spec)?;
    let after = data.training_split()?.len();
    eprintln!("--unlabeled: {} examples added to the {before} of the training split", after - before);
    Ok(data)
}

fn autoencoder(a: Autoencoder, g: &Global) -> anyhow::Result<()> {
    a.schedule.check_out(None)?;
    let (data, classes) = a.fresh.data("pretrain autoencoder")?;
    let data = unlabeled(data, a.unlabeled.as_deref(), &a.schedule)?;
    let features = data.training_split()?.feature_shape.clone();
    let [width] = features[..] else {
        return Err(Error::Invalid(format!("an autoencoder takes flat features; these are shaped {features:?}")).into());
    };
    if a.greedy {
        return greedy(&a, (data, classes), width, g);
    }
    let (all, k) = mirrored(&a.layers, width, a.tied)?;
    let net = Net {
        layers: all,
        reused: k,
        reused_as: "encoder outputs",
        scope: "autoencoder/",
        objective: Objective::Reconstruct,
        class_weights: None,
    };
    pretrain(net, (data, classes), (&a.fresh, &a.schedule), g)
}

/// `--greedy`: one run per phase, each on the model the one before saved (in a temporary
/// folder), branching at the layer below; the last saves to --out.
fn greedy(a: &Autoencoder, (data, classes): (tfreuse::DataSet, usize), width: usize, g: &Global) -> anyhow::Result<()> {
    if a.schedule.resume.is_some() {
        return Err(
            Error::Invalid("--resume with --greedy: rerun the command (phases are short and each starts from the last)".into()).into()
        );
    }
    let features = data.training_split()?.feature_shape.clone();
    let phases = phases(&encoder(&a.layers)?, width, a.tied);
    let dir = tempfile::Builder::new().prefix("tfreuse-greedy-").tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let (n, mut below, mut hidden) = (phases.len(), None::<(PathBuf, String)>, Vec::new());
    for (k, layers) in phases.into_iter().enumerate() {
        // Every op of phase k is under phase<k>/ (the loss and training op too: the phases share a graph).
        let mut spec = a.fresh.spec(features.clone(), layers.to_vec(), "", g)?;
        spec.layer_names = vec![format!("hidden{}", k + 1), format!("decoder{}", k + 1)];
        spec.prefix = format!("phase{}/", k + 1);
        spec.objective = Objective::Reconstruct;
        if let Some((prefix, tensor)) = &below {
            spec.source = ModelSource::Meta(PathBuf::from(format!("{}.meta", prefix.display())));
            spec.checkpoint = Some(prefix.clone());
            spec.branch_from = Some(tensor.clone());
            spec.freeze_below = Some(tensor.clone());
        }
        let names: Vec<String> =
            tfreuse::graph::layers::outputs(&spec.new_layers, spec.naming()).iter().map(|t| format!("{}{t}", spec.prefix)).collect();
        eprintln!("phase {}/{n}: {} -> {} -> {}", k + 1, spec.branch_from.as_deref().unwrap_or("X:0"), names[0], names[1]);
        let sched = phase_schedule(&a.schedule, k, n, dir.path());
        let spec = sched.apply(spec, below.is_some())?;
        let how = How { cache_frozen: below.is_some(), ..a.fresh.how() };
        train_on(spec, (data.clone(), classes), &sched, &how, g)?;
        hidden.push(names[0].clone());
        below = sched.out.map(|out| (out, names[0].clone()));
    }
    eprintln!("encoder outputs (train --branch-from one of these): {}", hidden.join(", "));
    Ok(())
}

/// Phase `k` of `n`'s schedule: the last saves to --out and draws --plot; the others save in
/// `dir`; --json gathers every phase, --logdir gets a run per phase.
fn phase_schedule(s: &Schedule, k: usize, n: usize, dir: &Path) -> Schedule {
    let mut phase = s.clone();
    if k + 1 < n {
        phase.out = Some(dir.join(format!("phase{}", k + 1)));
        phase.plot = None;
        phase.prune = false;
    }
    phase.json_append = k > 0;
    let run = s.run_name.clone().or_else(|| s.out.as_ref().and_then(|o| o.file_name()).map(|f| f.to_string_lossy().into_owned()));
    phase.run_name = Some(format!("{}phase{}", run.map(|r| r + "-").unwrap_or_default(), k + 1));
    phase
}

fn corrupt(a: Auxiliary, g: &Global) -> anyhow::Result<()> {
    a.schedule.check_out(None)?;
    let (data, _) = a.fresh.data("pretrain auxiliary")?;
    let data = unlabeled(data, a.unlabeled.as_deref(), &a.schedule)?;
    let how = match a.corruption.as_str() {
        "patches" => Corruption::Patches,
        _ => Corruption::Halves,
    };
    let data = tfreuse::pretrain::corrupt(&data, a.schedule.seed, how)?;
    let n = data.training_split()?.len();
    eprintln!(
        "auxiliary task corrupt ({}): {} real and {} corrupted training examples (seed {})",
        a.corruption,
        n / 2,
        n / 2,
        a.schedule.seed
    );
    let mut layers = encoder(&a.layers)?;
    let k = layers.len();
    layers.push(LayerSpec::Dense { units: 2, activation: Activation::Linear });
    let net =
        Net { layers, reused: k, reused_as: "layers to reuse", scope: "auxiliary/", objective: Objective::Classify, class_weights: None };
    pretrain(net, (data, 2), (&a.fresh, &a.schedule), g)
}

/// `--task pairs`: the encoder, `(h − reverse(h))²` and a 2-wide layer, on the labelled data
/// (after --per-class), same-class and other-class pairs weighted to count alike.
fn pairs(a: Auxiliary, g: &Global) -> anyhow::Result<()> {
    a.schedule.check_out(None)?;
    if a.unlabeled.is_some() || a.schedule.class_weight.is_some() || a.corruption != "halves" {
        let msg = "--task pairs learns from the labels and weighs its pairs itself: drop --unlabeled, --class-weight and --corruption";
        return Err(Error::Invalid(msg.into()).into());
    }
    let (data, classes) = a.fresh.data("pretrain auxiliary")?;
    let data = per_class(data, a.schedule.per_class, a.schedule.seed, classes)?;
    let schedule = Schedule { per_class: None, ..a.schedule.clone() };
    let (share, weights) = tfreuse::pretrain::pair_weights(&data.training_split()?.y, classes)?;
    eprintln!(
        "auxiliary task pairs: {:.1} % of pairs share a class; weights {:.3} (other class), {:.3} (same class)",
        100.0 * share,
        weights[0],
        weights[1]
    );
    let mut layers = encoder(&a.layers)?;
    let k = layers.len();
    layers.extend([LayerSpec::Pairs, LayerSpec::Dense { units: 2, activation: Activation::Linear }]);
    let class_weights = Some(weights.to_vec());
    let net = Net { layers, reused: k, reused_as: "layers to reuse", scope: "auxiliary/", objective: Objective::Pairs, class_weights };
    pretrain(net, (data, classes), (&a.fresh, &schedule), g)
}

/// What a pretraining builds on `X:0`: its layers, how many of them are meant for reuse, their
/// scope and what they learn.
struct Net {
    layers: Vec<LayerSpec>,
    reused: usize,
    /// What the reused layers are called in the closing line.
    reused_as: &'static str,
    scope: &'static str,
    objective: Objective,
    /// A weight per class of the head (the pairs task's two kinds of pair).
    class_weights: Option<Vec<f32>>,
}

/// Train `net` from nothing on `data`, then name the layers to branch from.
fn pretrain(net: Net, data: (tfreuse::DataSet, usize), (fresh, schedule): (&Fresh, &Schedule), g: &Global) -> anyhow::Result<()> {
    let features = data.0.training_split()?.feature_shape.clone();
    let mut spec = schedule.apply(fresh.spec(features, net.layers, net.scope, g)?, false)?;
    spec.objective = net.objective;
    spec.class_weights = net.class_weights;
    let names = tfreuse::graph::layers::outputs(&spec.new_layers, spec.naming());
    eprintln!("{}: X:0 -> {}", net.scope.trim_end_matches('/'), names.join(" -> "));
    train_on(spec, data, schedule, &fresh.how(), g)?;
    eprintln!("{} (train --branch-from one of these): {}", net.reused_as, names[..net.reused].join(", "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoder_mirrors_the_encoder() {
        let (all, k) = mirrored("300:elu,150", 784, false).unwrap();
        assert_eq!(k, 2);
        let units: Vec<usize> = all.iter().map(|l| if let LayerSpec::Dense { units, .. } = l { *units } else { 0 }).collect();
        assert_eq!(units, [300, 150, 300, 784]);
        assert_eq!(all[1], LayerSpec::Dense { units: 150, activation: Activation::Relu });
        assert_eq!(all[3], LayerSpec::Dense { units: 784, activation: Activation::Linear });
        assert!(mirrored("gap,100", 784, false).is_err());
        let (tied, _) = mirrored("300:elu,150", 784, true).unwrap();
        assert_eq!(
            tied[2..],
            [LayerSpec::Tied { to: 1, activation: Activation::Elu }, LayerSpec::Tied { to: 0, activation: Activation::Linear }]
        );
    }

    #[test]
    fn each_phase_reconstructs_the_layer_below() {
        let p = phases(&encoder("300:elu,150:selu").unwrap(), 784, false);
        assert_eq!(p[0][1], LayerSpec::Dense { units: 784, activation: Activation::Linear });
        assert_eq!(p[1][0], LayerSpec::Dense { units: 150, activation: Activation::Selu });
        assert_eq!(p[1][1], LayerSpec::Dense { units: 300, activation: Activation::Elu });
        assert_eq!(phases(&encoder("300:elu").unwrap(), 784, true)[0][1], LayerSpec::Tied { to: 0, activation: Activation::Linear });
    }
}
