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

/// The encoder of `spec` and its mirror, ending in a linear layer of `width`: the whole
/// autoencoder, and how many of its layers are the encoder.
fn mirrored(spec: &str, width: usize) -> tfreuse::Result<(Vec<LayerSpec>, usize)> {
    // A last layer is appended so that every encoder layer keeps relu as its default.
    let mut encoder = layers(&format!("{spec},{width}"))?;
    encoder.pop();
    if let Some(l) = encoder.iter().find(|l| !matches!(l, LayerSpec::Dense { .. })) {
        return Err(Error::Invalid(format!("--layers {spec}: an autoencoder takes dense layers only, not {l:?}")));
    }
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
    if let Some(out) = &a.schedule.out {
        super::train::check_out(out, a.schedule.force, None)?;
    }
    let (data, classes) = a.fresh.data("pretrain autoencoder")?;
    let features = data.training_split()?.feature_shape.clone();
    let [width] = features[..] else {
        return Err(Error::Invalid(format!("an autoencoder takes flat features; these are shaped {features:?}")).into());
    };
    let (all, k) = mirrored(&a.layers, width)?;
    let mut spec = a.schedule.apply(a.fresh.spec(features, all, "autoencoder/", g)?, false)?;
    spec.objective = Objective::Reconstruct;
    let names = tfreuse::graph::layers::outputs(&spec.new_layers, &spec.layer_scope);
    eprintln!("autoencoder: X:0 -> {} (reconstructs X:0; labels unused)", names.join(" -> "));
    train_on(spec, (data, classes), &a.schedule, &a.fresh.how(), g)?;
    eprintln!("encoder outputs (train --branch-from one of these): {}", names[..k].join(", "));
    Ok(())
}

fn auxiliary(a: Auxiliary, g: &Global) -> anyhow::Result<()> {
    if let Some(out) = &a.schedule.out {
        super::train::check_out(out, a.schedule.force, None)?;
    }
    let (data, _) = a.fresh.data("pretrain auxiliary")?;
    let data = tfreuse::pretrain::corrupt_halves(&data, a.schedule.seed)?;
    let n = data.training_split()?.len();
    eprintln!("auxiliary task corrupt: {} real and {} corrupted training examples (seed {})", n / 2, n / 2, a.schedule.seed);
    let (mut layers, k) = mirrored(&a.layers, 2)?;
    layers.truncate(k);
    layers.push(LayerSpec::Dense { units: 2, activation: Activation::Linear });
    let features = data.training_split()?.feature_shape.clone();
    let spec = a.schedule.apply(a.fresh.spec(features, layers, "auxiliary/", g)?, false)?;
    let names = tfreuse::graph::layers::outputs(&spec.new_layers, &spec.layer_scope);
    eprintln!("auxiliary classifier: X:0 -> {}", names.join(" -> "));
    train_on(spec, (data, 2), &a.schedule, &a.fresh.how(), g)?;
    eprintln!("layers to reuse (train --branch-from one of these): {}", names[..k].join(", "));
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
