//! The pretraining graphs: what layers a pretraining builds on `X:0`, under which names, and
//! what they learn — a stacked autoencoder (its decoder mirroring the encoder, weights tied or
//! not), trained whole or one layer at a time ([`greedy`]); the auxiliary task's classifier of
//! real against corrupted examples; the pairs task's net. The encoder is dense layers only.

use std::path::PathBuf;

use crate::error::{Error, Result, Role};
use crate::graph::layers::{Activation, LayerSpec};
use crate::model::ModelSource;
use crate::train::{Objective, TransferSpec};

/// What a pretraining builds on `X:0`: its layers, how many of them are meant for reuse, their
/// scope and what they learn.
#[derive(Clone, Debug, PartialEq)]
pub struct Net {
    /// Every layer, the encoder's first.
    pub layers: Vec<LayerSpec>,
    /// How many of the first layers are the ones to reuse (the encoder).
    pub reused: usize,
    /// The name scope of the layers below the output layer (`autoencoder/`, `auxiliary/`).
    pub scope: &'static str,
    /// What the net learns.
    pub objective: Objective,
    /// A weight per class of the head (the pairs task's two kinds of pair).
    pub class_weights: Option<Vec<f32>>,
}

impl Net {
    /// `spec` (a fresh model's: [`ModelSource::Fresh`], branching from `X:0`) made to train
    /// this net: its layers, scope, objective and class weights.
    pub fn spec(&self, mut spec: TransferSpec) -> TransferSpec {
        spec.recipe.new_layers = self.layers.clone();
        spec.recipe.layer_scope = self.scope.to_string();
        spec.recipe.objective = self.objective;
        spec.recipe.class_weights = self.class_weights.clone();
        spec
    }
}

/// The output tensors of `spec`'s new layers that have one (dense and tied), in order, as the
/// graph names them (the spec's prefix included).
pub fn outputs(spec: &TransferSpec) -> Vec<String> {
    crate::graph::layers::outputs(&spec.recipe.new_layers, spec.recipe.naming())
        .iter()
        .map(|t| format!("{}{t}", spec.recipe.prefix))
        .collect()
}

/// `encoder` checked: dense layers only, one at least.
fn dense_only(encoder: &[LayerSpec]) -> Result<()> {
    match encoder.iter().find(|l| !matches!(l, LayerSpec::Dense { .. })) {
        Some(l) => Err(Error::arg(Role::NewLayers, None, format!("pretraining takes dense layers only, not {l:?}"))),
        None if encoder.is_empty() => Err(Error::arg(Role::NewLayers, None, "pretraining needs one hidden layer at least")),
        None => Ok(()),
    }
}

/// The width of an example shaped `features`, which must be flat.
fn flat(features: &[usize]) -> Result<usize> {
    match features {
        [width] => Ok(*width),
        _ => Err(Error::Invalid(format!("an autoencoder takes flat features; these are shaped {features:?}"))),
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

/// A stacked autoencoder on examples shaped `features` (flat): `encoder` (dense layers), then
/// its mirror ending in a linear layer as wide as the input, each decoder kernel the transpose
/// of its encoder kernel when `tied`; it learns to reconstruct its input (labels ignored).
pub fn autoencoder(encoder: &[LayerSpec], features: &[usize], tied: bool) -> Result<Net> {
    let width = flat(features)?;
    dense_only(encoder)?;
    let k = encoder.len();
    let mut layers = encoder.to_vec();
    for (m, l) in encoder.iter().enumerate().take(k - 1).rev() {
        let LayerSpec::Dense { units, activation } = *l else { unreachable!("dense only") };
        layers.push(decoder(m + 1, units, activation, tied));
    }
    layers.push(decoder(0, width, Activation::Linear, tied));
    Ok(Net { layers, reused: k, scope: "autoencoder/", objective: Objective::Reconstruct, class_weights: None })
}

/// The auxiliary task's net: `encoder` (dense layers) and a 2-wide output layer, telling real
/// examples from corrupted ones (see [`crate::pretrain::corrupt`]).
pub fn auxiliary(encoder: &[LayerSpec]) -> Result<Net> {
    dense_only(encoder)?;
    let mut layers = encoder.to_vec();
    layers.push(LayerSpec::Dense { units: 2, activation: Activation::Linear });
    Ok(Net { layers, reused: encoder.len(), scope: "auxiliary/", objective: Objective::Classify, class_weights: None })
}

/// The pairs task's net: `encoder` (dense layers), `(h − reverse(h))²` and a 2-wide layer
/// telling whether two examples share a class, the two kinds of pair weighted by `weights`
/// (`[other, same]`, see [`crate::pretrain::pair_weights`]).
pub fn pairs(encoder: &[LayerSpec], weights: [f32; 2]) -> Result<Net> {
    dense_only(encoder)?;
    let mut layers = encoder.to_vec();
    layers.extend([LayerSpec::Pairs, LayerSpec::Dense { units: 2, activation: Activation::Linear }]);
    let class_weights = Some(weights.to_vec());
    Ok(Net { layers, reused: encoder.len(), scope: "auxiliary/", objective: Objective::Pairs, class_weights })
}

/// The phases of a greedy autoencoder: encoder layer k and the decoder of what it gets.
fn phase_layers(encoder: &[LayerSpec], width: usize, tied: bool) -> Vec<[LayerSpec; 2]> {
    let mut below = (width, Activation::Linear);
    let mut out = Vec::new();
    for l in encoder {
        let LayerSpec::Dense { units, activation } = *l else { unreachable!("dense only") };
        out.push([l.clone(), decoder(0, below.0, below.1, tied)]);
        below = (units, activation);
    }
    out
}

/// One phase of a greedy autoencoder.
#[derive(Clone, Debug)]
pub struct Phase {
    /// What phase k trains: `phasek/hiddenk` and `phasek/decoderk` (every op of the phase under
    /// `phasek/`: the phases share a graph), on the model the phase before saved, branching at
    /// its encoder layer, frozen below it (so cacheable); the schedule settings as the base
    /// spec has them.
    pub spec: TransferSpec,
    /// Where this phase saves for the next one (every phase but the last, which saves where
    /// its caller says), in the temporary folder of [`Greedy`].
    pub out: Option<PathBuf>,
    /// The tensor the phase starts from (`X:0` for the first), its encoder layer's output and
    /// its decoder's.
    pub tensors: [String; 3],
}

/// The phases of [`greedy`], and the temporary folder the phases before the last save in
/// (removed when this is dropped).
pub struct Greedy {
    /// The phases, in order.
    pub phases: Vec<Phase>,
    _dir: tempfile::TempDir,
}

impl Greedy {
    /// The encoder's outputs, one per phase: the tensors to branch from later.
    pub fn encoder_outputs(&self) -> Vec<String> {
        self.phases.iter().map(|p| p.tensors[1].clone()).collect()
    }
}

/// A stacked autoencoder trained one encoder layer at a time, as the book's phases do: phase k
/// trains encoder layer k and a decoder that reconstructs the layer below (X for k = 1), the
/// layers below frozen; each phase starts from the model the one before saved. `base` is a
/// fresh model's spec (its source shaped `features`, which must be flat); the last phase's
/// model holds every phase.
pub fn greedy(base: &TransferSpec, encoder: &[LayerSpec], features: &[usize], tied: bool) -> Result<Greedy> {
    let width = flat(features)?;
    dense_only(encoder)?;
    let dir = tempfile::Builder::new().prefix("tfreuse-greedy-").tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let layers = phase_layers(encoder, width, tied);
    let n = layers.len();
    let (mut phases, mut below) = (Vec::<Phase>::new(), None::<(PathBuf, String)>);
    for (k, layers) in layers.into_iter().enumerate() {
        let mut spec = base.clone();
        spec.recipe.new_layers = layers.to_vec();
        spec.recipe.layer_names = vec![format!("hidden{}", k + 1), format!("decoder{}", k + 1)];
        spec.recipe.prefix = format!("phase{}/", k + 1);
        spec.recipe.objective = Objective::Reconstruct;
        if let Some((prefix, tensor)) = &below {
            spec.model.source = ModelSource::Meta(PathBuf::from(format!("{}.meta", prefix.display())));
            spec.model.checkpoint = Some(prefix.clone());
            spec.recipe.branch_from = Some(tensor.clone());
            spec.recipe.freeze_below = Some(tensor.clone());
        }
        let [hidden, decoded]: [String; 2] = outputs(&spec).try_into().expect("two dense layers");
        let out = (k + 1 < n).then(|| dir.path().join(format!("phase{}", k + 1)));
        let from = below.as_ref().map_or("X:0".to_string(), |b| b.1.clone());
        below = out.clone().map(|o| (o, hidden.clone()));
        phases.push(Phase { spec, out, tensors: [from, hidden, decoded] });
    }
    Ok(Greedy { phases, _dir: dir })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(units: usize, activation: Activation) -> LayerSpec {
        LayerSpec::Dense { units, activation }
    }

    #[test]
    fn the_decoder_mirrors_the_encoder() {
        let encoder = [dense(300, Activation::Elu), dense(150, Activation::Relu)];
        let net = autoencoder(&encoder, &[784], false).unwrap();
        assert_eq!(net.reused, 2);
        let units: Vec<usize> = net.layers.iter().map(|l| if let LayerSpec::Dense { units, .. } = l { *units } else { 0 }).collect();
        assert_eq!(units, [300, 150, 300, 784]);
        assert_eq!(net.layers[1], dense(150, Activation::Relu));
        assert_eq!(net.layers[3], dense(784, Activation::Linear));
        assert!(autoencoder(&[LayerSpec::Gap, dense(100, Activation::Relu)], &[784], false).is_err());
        assert!(autoencoder(&encoder, &[28, 28], false).is_err(), "flat features only");
        let tied = autoencoder(&encoder, &[784], true).unwrap();
        assert_eq!(
            tied.layers[2..],
            [LayerSpec::Tied { to: 1, activation: Activation::Elu }, LayerSpec::Tied { to: 0, activation: Activation::Linear }]
        );
    }

    #[test]
    fn each_phase_reconstructs_the_layer_below() {
        let p = phase_layers(&[dense(300, Activation::Elu), dense(150, Activation::Selu)], 784, false);
        assert_eq!(p[0][1], dense(784, Activation::Linear));
        assert_eq!(p[1][0], dense(150, Activation::Selu));
        assert_eq!(p[1][1], dense(300, Activation::Elu));
        assert_eq!(
            phase_layers(&[dense(300, Activation::Elu)], 784, true)[0][1],
            LayerSpec::Tied { to: 0, activation: Activation::Linear }
        );
    }

    #[test]
    fn each_phase_starts_from_the_one_before() {
        let base = TransferSpec::from_source(ModelSource::Fresh(vec![784]));
        let g = greedy(&base, &[dense(64, Activation::Elu), dense(32, Activation::Elu)], &[784], true).unwrap();
        let [one, two] = &g.phases[..] else { panic!("two phases") };
        assert_eq!(one.tensors[0], "X:0");
        assert_eq!(two.tensors, ["phase1/hidden1/Elu:0", "phase2/hidden2/Elu:0", "phase2/decoder2/Elu:0"]);
        assert_eq!(
            (one.spec.recipe.freeze_below.as_deref(), two.spec.recipe.freeze_below.as_deref()),
            (None, Some("phase1/hidden1/Elu:0"))
        );
        assert_eq!(two.spec.model.checkpoint, one.out, "phase 2 restores what phase 1 saved");
        assert!(two.out.is_none(), "the last phase saves where its caller says");
        assert_eq!(g.encoder_outputs(), ["phase1/hidden1/Elu:0", "phase2/hidden2/Elu:0"]);
    }
}
