//! `tfreuse pretrain`: lower layers learnt without labels, saved as a TF1 model whose layers
//! `train --branch-from` reuses (the seed's answer to few labels).

use tfreuse::graph::layers::{Activation, LayerSpec};
use tfreuse::train::Objective;
use tfreuse::Error;

use super::new::{layers, Fresh};
use super::train::{train_on, Schedule};
use super::Global;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub kind: Kind,
}

#[derive(clap::Subcommand, Debug)]
pub enum Kind {
    /// A stacked autoencoder trained end to end to reconstruct its input (labels ignored);
    /// the encoder's layers are then reused.
    Autoencoder(Box<Autoencoder>),
    /// A classifier of real examples against corrupted copies (labels ignored); its lower
    /// layers are then reused.
    Auxiliary(Box<Auxiliary>),
}

#[derive(clap::Args, Debug)]
pub struct Auxiliary {
    /// The task: corrupt (each example as it is, "real", and with the second half of its
    /// values taken from another example, "corrupted"; for a flat MNIST picture, the bottom
    /// 14 rows of another digit).
    #[arg(long, default_value = "corrupt", value_parser = ["corrupt"])]
    pub task: String,
    /// The hidden layers: dense UNITS[:ACTIVATION] (relu by default), e.g.
    /// 100:elu,100:elu; a 2-wide output layer follows.
    #[arg(long, value_name = "LAYERS")]
    pub layers: String,
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

/// The encoder of `spec` and its mirror, ending in a linear layer of `width`: the whole
/// autoencoder, and how many of its layers are the encoder.
fn mirrored(spec: &str, width: usize) -> tfreuse::Result<(Vec<LayerSpec>, usize)> {
    let encoder = encoder(spec)?;
    let k = encoder.len();
    let mut all = encoder.clone();
    all.extend(encoder.into_iter().rev().skip(1));
    all.push(LayerSpec::Dense { units: width, activation: Activation::Linear });
    Ok((all, k))
}

pub fn exec(args: Args, g: &Global) -> anyhow::Result<()> {
    match args.kind {
        Kind::Autoencoder(a) => autoencoder(*a, g),
        Kind::Auxiliary(a) => auxiliary(*a, g),
    }
}

fn autoencoder(a: Autoencoder, g: &Global) -> anyhow::Result<()> {
    a.schedule.check_out(None)?;
    let (data, classes) = a.fresh.data("pretrain autoencoder")?;
    let features = data.training_split()?.feature_shape.clone();
    let [width] = features[..] else {
        return Err(Error::Invalid(format!("an autoencoder takes flat features; these are shaped {features:?}")).into());
    };
    let (all, k) = mirrored(&a.layers, width)?;
    let net = Net { layers: all, reused: k, reused_as: "encoder outputs", scope: "autoencoder/", objective: Objective::Reconstruct };
    pretrain(net, (data, classes), (&a.fresh, &a.schedule), g)
}

fn auxiliary(a: Auxiliary, g: &Global) -> anyhow::Result<()> {
    a.schedule.check_out(None)?;
    let (data, _) = a.fresh.data("pretrain auxiliary")?;
    let data = tfreuse::pretrain::corrupt_halves(&data, a.schedule.seed)?;
    let n = data.training_split()?.len();
    eprintln!("auxiliary task corrupt: {} real and {} corrupted training examples (seed {})", n / 2, n / 2, a.schedule.seed);
    let mut layers = encoder(&a.layers)?;
    let k = layers.len();
    layers.push(LayerSpec::Dense { units: 2, activation: Activation::Linear });
    let net = Net { layers, reused: k, reused_as: "layers to reuse", scope: "auxiliary/", objective: Objective::Classify };
    pretrain(net, (data, 2), (&a.fresh, &a.schedule), g)
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
}

/// Train `net` from nothing on `data`, then name the layers to branch from.
fn pretrain(net: Net, data: (tfreuse::DataSet, usize), (fresh, schedule): (&Fresh, &Schedule), g: &Global) -> anyhow::Result<()> {
    let features = data.0.training_split()?.feature_shape.clone();
    let mut spec = schedule.apply(fresh.spec(features, net.layers, net.scope, g)?, false)?;
    spec.objective = net.objective;
    let names = tfreuse::graph::layers::outputs(&spec.new_layers, &spec.layer_scope);
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
        let (all, k) = mirrored("300:elu,150", 784).unwrap();
        assert_eq!(k, 2);
        let units: Vec<usize> = all.iter().map(|l| if let LayerSpec::Dense { units, .. } = l { *units } else { 0 }).collect();
        assert_eq!(units, [300, 150, 300, 784]);
        assert_eq!(all[1], LayerSpec::Dense { units: 150, activation: Activation::Relu });
        assert_eq!(all[3], LayerSpec::Dense { units: 784, activation: Activation::Linear });
        assert!(mirrored("gap,100", 784).is_err());
    }
}
