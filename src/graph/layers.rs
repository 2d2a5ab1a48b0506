//! New layers on an imported tensor (`--new-layers gap,20:relu,dropout:0.5,10`): their spec,
//! and the ops Python's `tf.layers.dense` (Glorot-uniform kernels, zero biases), `flatten`,
//! global average pooling and dropout build.

use tensorflow::{DataType, Output, Tensor};

use crate::error::{Error, Result, Role};
use crate::graph::builder::Builder;
use crate::graph::var::Var;
use crate::tf::tensors::{dims_text as text, dtype_name, shape_dims};

/// Activation of a dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// max(x, 0).
    Relu,
    /// x for x > 0, else exp(x) − 1.
    Elu,
    /// ELU scaled to keep activations normalised (with LeCun initialisation).
    Selu,
    /// x for x > 0, else 0.2·x (`tf.nn.leaky_relu`'s default).
    LeakyRelu,
    /// tanh(x).
    Tanh,
    /// 1 / (1 + exp(−x)).
    Sigmoid,
    /// x itself: no activation (logits).
    Linear,
}

impl Activation {
    /// The activation named `s` (`relu`, `elu`, `selu`, `leaky_relu`, `tanh`, `sigmoid`,
    /// `linear`), or `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "relu" => Self::Relu,
            "elu" => Self::Elu,
            "selu" => Self::Selu,
            "leaky_relu" => Self::LeakyRelu,
            "tanh" => Self::Tanh,
            "sigmoid" => Self::Sigmoid,
            "linear" => Self::Linear,
            _ => return None,
        })
    }

    fn op_type(self) -> Option<&'static str> {
        Some(match self {
            Self::Relu => "Relu",
            Self::Elu => "Elu",
            Self::Selu => "Selu",
            Self::LeakyRelu => "LeakyRelu",
            Self::Tanh => "Tanh",
            Self::Sigmoid => "Sigmoid",
            Self::Linear => return None,
        })
    }
}

/// One layer of `--new-layers gap,128:relu,dropout:0.5,10`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerSpec {
    /// `UNITS[:ACTIVATION]`: a dense layer.
    Dense {
        /// Its width.
        units: usize,
        /// Its activation.
        activation: Activation,
    },
    /// `flatten`: `[batch, h, w, c]` to `[batch, h*w*c]` (tf.layers.flatten).
    Flatten,
    /// `gap`: global average pooling, the mean over every axis but the batch and the last.
    Gap,
    /// `dropout:RATE`: drops a share RATE of the values in training steps only.
    Dropout {
        /// The share of values dropped.
        rate: f32,
    },
    /// A dense layer whose kernel is the transpose of layer `to`'s (a tied autoencoder's
    /// decoder): only its bias is its own. Made by `pretrain`, not parsed.
    Tied {
        /// The position of the layer whose kernel it shares.
        to: usize,
        /// Its activation.
        activation: Activation,
    },
    /// Each row against the batch in reverse order, `(h − reverse(h))²`: row i meets row
    /// n−1−i (the pairs task compares two examples so). Made by `pretrain`, not parsed.
    Pairs,
}

/// A dense layer, as [`crate::Transfer::layer`] takes it: `Dense::new(20).relu()`; linear
/// (logits) unless an activation is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dense {
    units: usize,
    activation: Activation,
}

impl Dense {
    /// `units` outputs, no activation.
    pub fn new(units: usize) -> Self {
        Dense { units, activation: Activation::Linear }
    }

    /// With this activation.
    pub fn activation(self, activation: Activation) -> Self {
        Dense { activation, ..self }
    }

    /// With a ReLU.
    pub fn relu(self) -> Self {
        self.activation(Activation::Relu)
    }

    /// With an ELU (the book's choice with He initialisation).
    pub fn elu(self) -> Self {
        self.activation(Activation::Elu)
    }

    /// With a SELU (with LeCun initialisation).
    pub fn selu(self) -> Self {
        self.activation(Activation::Selu)
    }

    /// With a tanh.
    pub fn tanh(self) -> Self {
        self.activation(Activation::Tanh)
    }
}

impl From<Dense> for LayerSpec {
    fn from(d: Dense) -> Self {
        LayerSpec::Dense { units: d.units, activation: d.activation }
    }
}

/// `[batch, h, w, c]` feature maps to `[batch, h·w·c]` rows (`tf.layers.flatten`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flatten;

impl From<Flatten> for LayerSpec {
    fn from(_: Flatten) -> Self {
        LayerSpec::Flatten
    }
}

/// Global average pooling of feature maps: the mean over every axis but the batch and the last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gap;

impl From<Gap> for LayerSpec {
    fn from(_: Gap) -> Self {
        LayerSpec::Gap
    }
}

/// Dropout of a share `rate` (0 < rate < 1) of the values, in training steps only.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout(pub f32);

impl From<Dropout> for LayerSpec {
    fn from(d: Dropout) -> Self {
        LayerSpec::Dropout { rate: d.0 }
    }
}

/// Parse `20:relu,30:elu,10` (a dense layer's activation defaults to linear for the last,
/// relu for the others), with `flatten`, `gap` and `dropout:RATE` between; the last layer is
/// dense (the logits).
pub fn parse_layers(s: &str) -> Result<Vec<LayerSpec>> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let n = parts.len();
    let layers = parts.iter().enumerate().map(|(i, p)| parse_layer(s, p, i + 1 == n)).collect::<Result<Vec<_>>>()?;
    match layers.last() {
        Some(LayerSpec::Dense { .. }) => Ok(layers),
        _ => Err(Error::arg(Role::NewLayers, Some(&format!("{s:?}")), "the last layer must be dense (UNITS: the logits)")),
    }
}

fn parse_layer(s: &str, p: &str, last: bool) -> Result<LayerSpec> {
    let bad = |why: &str| Error::arg(Role::NewLayers, Some(&format!("{s:?}")), format!("{p:?} {why}"));
    let (head, arg) = match p.split_once(':') {
        Some((h, a)) => (h, Some(a)),
        None => (p, None),
    };
    match (head, arg) {
        ("flatten", None) => Ok(LayerSpec::Flatten),
        ("gap", None) => Ok(LayerSpec::Gap),
        ("dropout", Some(r)) => match r.parse::<f32>() {
            Ok(rate) if rate > 0.0 && rate < 1.0 => Ok(LayerSpec::Dropout { rate }),
            _ => Err(bad("needs a rate between 0 and 1 (dropout:0.5)")),
        },
        (u, a) => {
            let units: usize = u
                .parse()
                .ok()
                .filter(|&u| u > 0)
                .ok_or_else(|| bad("is not UNITS[:ACTIVATION] with UNITS a positive integer, nor flatten, gap or dropout:RATE"))?;
            let activation = match a {
                None if last => Activation::Linear,
                None => Activation::Relu,
                Some(a) => Activation::parse(a).ok_or_else(|| {
                    let msg = format!("unknown activation {a:?} (relu, elu, selu, leaky_relu, tanh, sigmoid, linear)");
                    Error::arg(Role::NewLayers, Some(&format!("{s:?}")), msg)
                })?,
            };
            Ok(LayerSpec::Dense { units, activation })
        }
    }
}

/// U(0, 1) floats of `shape`, seeded from the builder (same seed, same numbers).
fn random_uniform(b: &mut Builder, name: &str, shape: Output) -> Result<Output> {
    let (seed, seed2) = b.next_seed();
    let op = b.op("RandomUniform", name, &[shape], |d| {
        d.set_attr_type("dtype", DataType::Float)?;
        d.set_attr_int("seed", seed)?;
        Ok(d.set_attr_int("seed2", seed2)?)
    })?;
    Ok(op.into())
}

/// How new dense kernels start (`--init`); biases start at zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// tf.glorot_uniform_initializer, tf.layers.dense's default: U(-l, l), l = sqrt(6 / (fan_in + fan_out)).
    #[default]
    Glorot,
    /// He (`he_normal`, variance scaling with scale 2; the book's choice with ELU): a
    /// truncated normal of standard deviation sqrt(2 / fan_in).
    He,
    /// LeCun (`lecun_normal`, for SELU): a truncated normal of standard deviation sqrt(1 / fan_in).
    Lecun,
}

impl Init {
    /// The initialiser named `s` (`glorot`, `he`, `lecun`).
    pub fn parse(s: &str) -> Result<Init> {
        match s {
            "glorot" => Ok(Init::Glorot),
            "he" => Ok(Init::He),
            "lecun" => Ok(Init::Lecun),
            _ => Err(Error::arg(Role::Init, Some(&format!("{s:?}")), "expected he, glorot or lecun")),
        }
    }

    fn kernel(self, b: &mut Builder, base: &str, fan_in: u64, fan_out: u64) -> Result<Output> {
        // Keras' VarianceScaling: a normal truncated at 2σ has 0.8796… of σ as its deviation.
        let scaled = |scale: f64| ((scale / fan_in as f64).sqrt() / 0.879_625_661_034_239_8) as f32;
        match self {
            Init::Glorot => glorot_uniform(b, base, fan_in, fan_out),
            Init::He => truncated_normal(b, base, fan_in, fan_out, scaled(2.0)),
            Init::Lecun => truncated_normal(b, base, fan_in, fan_out, scaled(1.0)),
        }
    }
}

/// N(0, stddev²) truncated at 2 stddev, as TF's TruncatedNormal draws it.
fn truncated_normal(b: &mut Builder, base: &str, fan_in: u64, fan_out: u64, stddev: f32) -> Result<Output> {
    let shape = b.constant(&format!("{base}/shape"), Tensor::from(&[fan_in as i32, fan_out as i32][..]))?;
    let (seed, seed2) = b.next_seed();
    let rnd: Output = b
        .op("TruncatedNormal", &format!("{base}/TruncatedNormal"), &[shape], |d| {
            d.set_attr_type("dtype", DataType::Float)?;
            d.set_attr_int("seed", seed)?;
            Ok(d.set_attr_int("seed2", seed2)?)
        })?
        .into();
    let sd = b.scalar_f32(&format!("{base}/stddev"), stddev)?;
    b.op1("Mul", &format!("{base}/value"), &[rnd, sd])
}

/// tf.glorot_uniform_initializer: U(-l, l), l = sqrt(6 / (fan_in + fan_out)).
fn glorot_uniform(b: &mut Builder, base: &str, fan_in: u64, fan_out: u64) -> Result<Output> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
    let shape = b.constant(&format!("{base}/shape"), Tensor::from(&[fan_in as i32, fan_out as i32][..]))?;
    let rnd = random_uniform(b, &format!("{base}/RandomUniform"), shape)?;
    let range = b.scalar_f32(&format!("{base}/range"), 2.0 * limit)?;
    let min = b.scalar_f32(&format!("{base}/min"), -limit)?;
    let scaled = b.op1("Mul", &format!("{base}/mul"), &[rnd, range])?;
    b.op1("AddV2", &format!("{base}/value"), &[scaled, min])
}

/// `[batch, d1, d2, …]` to `[batch, d1*d2*…]`.
pub(crate) fn flatten(b: &mut Builder, x: Output, width: i64, scope: &str) -> Result<Output> {
    let shape = b.constant(&format!("{scope}/shape"), Tensor::from(&[-1i32, width as i32][..]))?;
    b.op1("Reshape", &format!("{scope}/Reshape"), &[x, shape])
}

/// The mean over axes `1..rank-1` (global average pooling of NHWC feature maps).
pub(crate) fn global_average_pool(b: &mut Builder, x: Output, rank: usize, scope: &str) -> Result<Output> {
    let axes: Vec<i32> = (1..rank as i32 - 1).collect();
    let axes = b.constant(&format!("{scope}/axes"), Tensor::from(&axes[..]))?;
    b.op1("Mean", &format!("{scope}/Mean"), &[x, axes])
}

/// Dropout where `training` (a bool scalar) is true: `x * mask / (1 - rate)`, mask 1 with
/// probability 1 - rate; `x` unchanged elsewhere. Arithmetic, not control flow, so TF's C++
/// gradients go through it.
pub(crate) fn dropout(b: &mut Builder, x: Output, rate: f32, training: Output, scope: &str) -> Result<Output> {
    let shape = b.op1("Shape", &format!("{scope}/Shape"), std::slice::from_ref(&x))?;
    let rnd = random_uniform(b, &format!("{scope}/random_uniform"), shape)?;
    let rate_t = b.scalar_f32(&format!("{scope}/rate"), rate)?;
    let keep = b.op1("GreaterEqual", &format!("{scope}/GreaterEqual"), &[rnd, rate_t])?;
    let mask = cast_float(b, keep, &format!("{scope}/mask"))?;
    let scale = b.scalar_f32(&format!("{scope}/scale"), 1.0 / (1.0 - rate))?;
    // factor = on * mask * scale + (1 - on): the mask in training, 1 elsewhere.
    let on = cast_float(b, training, &format!("{scope}/on"))?;
    let one = b.scalar_f32(&format!("{scope}/one"), 1.0)?;
    let off = b.op1("Sub", &format!("{scope}/off"), &[one, on.clone()])?;
    let scaled = b.op1("Mul", &format!("{scope}/scaled_mask"), &[mask, scale])?;
    let masked = b.op1("Mul", &format!("{scope}/on_mask"), &[on, scaled])?;
    let factor = b.op1("AddV2", &format!("{scope}/factor"), &[masked, off])?;
    b.op1("Mul", &format!("{scope}/mul"), &[x, factor])
}

fn cast_float(b: &mut Builder, x: Output, name: &str) -> Result<Output> {
    Ok(b.op("Cast", name, &[x], |d| Ok(d.set_attr_type("DstT", DataType::Float)?))?.into())
}

/// A dense layer `act(x @ kernel + bias)` with variables `<scope>/kernel`, `<scope>/bias`.
pub(crate) fn dense(
    b: &mut Builder,
    x: Output,
    (fan_in, units): (u64, usize),
    (activation, init): (Activation, Init),
    scope: &str,
) -> Result<(Output, Vec<Var>)> {
    let units = units as u64;
    let kinit = init.kernel(b, &format!("{scope}/kernel/Initializer"), fan_in, units)?;
    let kernel = b.variable(&format!("{scope}/kernel"), &[fan_in, units], kinit, true)?;
    let bias = zero_bias(b, units, scope)?;
    let kread = kernel.value(b.graph)?;
    let mm = b.op1("MatMul", &format!("{scope}/MatMul"), &[x, kread])?;
    let out = biased(b, mm, &bias, activation, scope)?;
    Ok((out, vec![kernel, bias]))
}

/// `<scope>/bias`: `units` zeros to start.
fn zero_bias(b: &mut Builder, units: u64, scope: &str) -> Result<Var> {
    let binit = b.zeros(&format!("{scope}/bias/Initializer/zeros"), &[units])?;
    b.variable(&format!("{scope}/bias"), &[units], binit, true)
}

/// `act(mm + bias)`, named as tf.layers.dense names it.
fn biased(b: &mut Builder, mm: Output, bias: &Var, activation: Activation, scope: &str) -> Result<Output> {
    let bread = bias.value(b.graph)?;
    let mut out = b.op1("BiasAdd", &format!("{scope}/BiasAdd"), &[mm, bread])?;
    if let Some(ty) = activation.op_type() {
        out = b.op1(ty, &format!("{scope}/{ty}"), &[out])?;
    }
    Ok(out)
}

/// A dense layer on the transpose of `kernel` (`[units, fan_in]`): `act(x @ kernelᵀ + bias)`,
/// with a bias `<scope>/bias` of its own.
fn tied(b: &mut Builder, x: Output, kernel: &Var, activation: Activation, scope: &str) -> Result<(Output, Var)> {
    let units =
        kernel.shape.first().copied().filter(|&d| d > 0).ok_or_else(|| Error::Invalid(format!("{}: unknown shape", kernel.name)))? as u64;
    let bias = zero_bias(b, units, scope)?;
    let kread = kernel.value(b.graph)?;
    let mm: Output = b.op("MatMul", &format!("{scope}/MatMul"), &[x, kread], |d| Ok(d.set_attr_bool("transpose_b", true)?))?.into();
    Ok((biased(b, mm, &bias, activation, scope)?, bias))
}

/// `(x − reverse(x))²` over the batch axis, under `scope`.
fn pairs(b: &mut Builder, x: Output, scope: &str) -> Result<Output> {
    let axis = b.constant(&format!("{scope}/axis"), Tensor::from(&[0i32][..]))?;
    let other = b.op1("ReverseV2", &format!("{scope}/partner"), &[x.clone(), axis])?;
    let diff = b.op1("Sub", &format!("{scope}/sub"), &[x, other])?;
    b.op1("Square", &format!("{scope}/Square"), &[diff])
}

/// How new dense layers are named: `<scope>hidden<i>` and `outputs` (the book's), or the
/// scopes given, by position.
#[derive(Clone, Copy, Debug)]
pub struct Naming<'a> {
    /// The name scope of the hidden layers (`dnn/` gives `dnn/hidden1`).
    pub scope: &'a str,
    /// Scopes of the layers by position (empty, or shorter: the book's names for the rest).
    pub names: &'a [String],
}

impl Naming<'_> {
    /// The scope of dense layer `i` of `n`.
    fn dense(&self, i: usize, n: usize) -> String {
        match self.names.get(i) {
            Some(name) => name.clone(),
            None if i + 1 == n => "outputs".to_string(),
            None => format!("{}hidden{}", self.scope, i + 1),
        }
    }
}

/// What [`build`] made.
pub(crate) struct Built {
    /// The last layer's output and its width.
    pub output: Output,
    pub width: i64,
    pub vars: Vec<Var>,
    /// The bool placeholder (default false) dropout layers read: fed true in training steps.
    pub training: Option<Output>,
}

/// The static dimensions of `t` (-1: unknown; `None`: unknown rank).
fn dims_of(b: &Builder, t: &Output) -> Result<Option<Vec<i64>>> {
    Ok(shape_dims(&b.graph.tensor_shape(t.clone())?))
}

/// Build `layers` on `t` (float32) in order: dense layers named by `naming`,
/// `<scope>flatten<i>`, `<scope>gap<i>`, `<scope>dropout<i>`, `<scope>pairs<i>`, `i` counting
/// from 1 over all layers.
pub(crate) fn build(b: &mut Builder, layers: &[LayerSpec], (init, naming): (Init, Naming), mut t: Output, branch: &str) -> Result<Built> {
    let scope = naming.scope;
    let dtype = crate::tf::tensors::output_dtype(&t);
    let mut dims = dims_of(b, &t)?.filter(|_| dtype == DataType::Float).ok_or_else(|| {
        Error::arg(
            Role::BranchFrom,
            Some(branch),
            format!("has dtype {} or unknown rank; new layers need a float32 tensor", dtype_name(dtype)),
        )
    })?;
    let (mut vars, mut training) = (Vec::new(), None);
    let mut kernels: Vec<Option<Var>> = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let where_ =
            |what: &str| Error::arg(Role::NewLayers, None, format!("layer {} ({what}) gets a tensor of shape {}", i + 1, text(&dims)));
        t = match l {
            LayerSpec::Dense { units, activation } => {
                let width = match dims[..] {
                    [_, w] if w >= 0 => w,
                    _ => return Err(where_("dense: needs [batch, width]; put flatten or gap before it")),
                };
                let (out, v) = dense(b, t, (width as u64, *units), (*activation, init), &naming.dense(i, layers.len()))?;
                kernels.push(v.first().cloned());
                vars.extend(v);
                out
            }
            LayerSpec::Tied { to, activation } => {
                let Some(Some(kernel)) = kernels.get(*to) else {
                    return Err(where_(&format!("tied: layer {} is not an earlier dense layer", to + 1)));
                };
                let units = kernel.shape.get(1).copied().unwrap_or(-1);
                if !matches!(dims[..], [_, w] if w == units) {
                    return Err(where_(&format!("tied to {}: needs [batch, {units}]", kernel.name)));
                }
                let (out, bias) = tied(b, t, kernel, *activation, &naming.dense(i, layers.len()))?;
                vars.push(bias);
                out
            }
            LayerSpec::Pairs => pairs(b, t, &format!("{scope}pairs{}", i + 1))?,
            LayerSpec::Flatten => {
                let known = dims.len() >= 2 && dims[1..].iter().all(|&d| d >= 0);
                let Some(width) = known.then(|| dims[1..].iter().product()) else {
                    return Err(where_("flatten: needs every dimension but the batch known"));
                };
                flatten(b, t, width, &format!("{scope}flatten{}", i + 1))?
            }
            LayerSpec::Gap if dims.len() >= 3 => global_average_pool(b, t, dims.len(), &format!("{scope}gap{}", i + 1))?,
            LayerSpec::Gap => return Err(where_("gap: needs [batch, …, channels] feature maps")),
            LayerSpec::Dropout { rate } => {
                let flag = match &training {
                    Some(f) => f,
                    None => training.insert(training_flag(b)?),
                };
                dropout(b, t, *rate, flag.clone(), &format!("{scope}dropout{}", i + 1))?
            }
        };
        dims = dims_of(b, &t)?.unwrap_or_default();
        kernels.resize(i + 1, None);
    }
    let width = if dims.len() == 2 { dims[1] } else { -1 };
    Ok(Built { output: t, width, vars, training })
}

/// The names the new dense layers' outputs get, in order (`dnn/hidden1/Elu:0`, …,
/// `outputs/BiasAdd:0`), on a graph where those scopes are free.
pub fn outputs(layers: &[LayerSpec], naming: Naming) -> Vec<String> {
    let n = layers.len();
    let dense = layers.iter().enumerate().filter_map(|(i, l)| match l {
        LayerSpec::Dense { activation, .. } | LayerSpec::Tied { activation, .. } => Some((i, *activation)),
        _ => None,
    });
    dense.map(|(i, a)| format!("{}/{}:0", naming.dense(i, n), a.op_type().unwrap_or("BiasAdd"))).collect()
}

/// `t` declared to have `dims` (-1: any), for a branch whose shape only a run could tell:
/// `EnsureShape` checks it in every run, and a `Reshape` to that checked shape carries it to
/// shape inference (EnsureShape itself has no C++ gradient; Reshape does, and the gradient
/// does not flow into a shape).
pub(crate) fn with_shape(b: &mut Builder, t: Output, dims: &[i64]) -> Result<Output> {
    let shape = tensorflow::Shape::from(Some(dims.iter().map(|&d| (d >= 0).then_some(d)).collect::<Vec<_>>()));
    let checked = b.op("EnsureShape", "branch_shape/check", std::slice::from_ref(&t), |d| Ok(d.set_attr_shape("shape", &shape)?))?;
    let size = b.op1("Shape", "branch_shape/shape", &[checked.into()])?;
    b.op1("Reshape", "branch_shape", &[t, size])
}

/// `training`: a bool scalar placeholder that is false unless fed.
fn training_flag(b: &mut Builder) -> Result<Output> {
    let no = b.constant("training/default", Tensor::from(false))?;
    let op = b.op("PlaceholderWithDefault", "training", &[no], |d| {
        d.set_attr_type("dtype", DataType::Bool)?;
        Ok(d.set_attr_shape("shape", &tensorflow::Shape::from(Some(vec![])))?)
    })?;
    Ok(op.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_specs() {
        let l = parse_layers("20:relu,30:elu,10").unwrap();
        assert_eq!(
            l,
            [
                LayerSpec::Dense { units: 20, activation: Activation::Relu },
                LayerSpec::Dense { units: 30, activation: Activation::Elu },
                LayerSpec::Dense { units: 10, activation: Activation::Linear },
            ]
        );
        assert_eq!(parse_layers("50,10").unwrap()[0], LayerSpec::Dense { units: 50, activation: Activation::Relu });
        let conv = parse_layers("gap,128:relu,dropout:0.5,5").unwrap();
        assert_eq!(conv[0], LayerSpec::Gap);
        assert_eq!(conv[2], LayerSpec::Dropout { rate: 0.5 });
        assert_eq!(parse_layers("flatten,10").unwrap()[0], LayerSpec::Flatten);
        for bad in ["", "20:relux,10", "0,10", "a,10", "20:relu,,10", "10,gap", "dropout:1,10", "dropout,10", "gap:2,10"] {
            assert!(parse_layers(bad).is_err(), "{bad:?}");
        }
    }
}
