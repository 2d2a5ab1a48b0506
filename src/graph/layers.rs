//! New dense layers on an imported tensor (`--new-layers 20:relu,10`): their spec, and the
//! ops Python's `tf.layers.dense` with Glorot-uniform kernels and zero biases builds.

use tensorflow::{DataType, Output, Tensor};

use crate::error::{Error, Result};
use crate::graph::builder::Builder;
use crate::graph::var::Var;

/// Activation of a dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    Relu,
    Elu,
    Selu,
    LeakyRelu,
    Tanh,
    Sigmoid,
    Linear,
}

impl Activation {
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

/// One layer of `--new-layers 20:relu,10`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LayerSpec {
    pub units: usize,
    pub activation: Activation,
}

/// Parse `20:relu,30:elu,10` (the last layer defaults to linear, others to relu).
pub fn parse_layers(s: &str) -> Result<Vec<LayerSpec>> {
    let parts: Vec<&str> = s.split(',').map(str::trim).collect();
    let n = parts.len();
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (u, a) = match p.split_once(':') {
                Some((u, a)) => (u, Some(a)),
                None => (*p, None),
            };
            let units: usize = u.parse().ok().filter(|&u| u > 0).ok_or_else(|| {
                Error::Invalid(format!("--new-layers {s:?}: {p:?} is not UNITS[:ACTIVATION] with UNITS a positive integer"))
            })?;
            let activation = match a {
                None if i + 1 == n => Activation::Linear,
                None => Activation::Relu,
                Some(a) => Activation::parse(a).ok_or_else(|| {
                    Error::Invalid(format!(
                        "--new-layers {s:?}: unknown activation {a:?} (relu, elu, selu, leaky_relu, tanh, sigmoid, linear)"
                    ))
                })?,
            };
            Ok(LayerSpec { units, activation })
        })
        .collect()
}

/// tf.glorot_uniform_initializer: U(-l, l), l = sqrt(6 / (fan_in + fan_out)).
fn glorot_uniform(b: &mut Builder, base: &str, fan_in: u64, fan_out: u64) -> Result<Output> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
    let shape = b.constant(&format!("{base}/shape"), Tensor::from(&[fan_in as i32, fan_out as i32][..]))?;
    let (seed, seed2) = b.next_seed();
    let rnd = b.op("RandomUniform", &format!("{base}/RandomUniform"), &[shape], |d| {
        d.set_attr_type("dtype", DataType::Float)?;
        d.set_attr_int("seed", seed)?;
        Ok(d.set_attr_int("seed2", seed2)?)
    })?;
    let range = b.scalar_f32(&format!("{base}/range"), 2.0 * limit)?;
    let min = b.scalar_f32(&format!("{base}/min"), -limit)?;
    let scaled = b.op1("Mul", &format!("{base}/mul"), &[rnd.into(), range])?;
    b.op1("AddV2", &format!("{base}/value"), &[scaled, min])
}

/// A dense layer `act(x @ kernel + bias)` with variables `<scope>/kernel`, `<scope>/bias`.
pub fn dense(b: &mut Builder, x: Output, fan_in: u64, spec: &LayerSpec, scope: &str) -> Result<(Output, Vec<Var>)> {
    let units = spec.units as u64;
    let kinit = glorot_uniform(b, &format!("{scope}/kernel/Initializer"), fan_in, units)?;
    let kernel = b.variable(&format!("{scope}/kernel"), &[fan_in, units], kinit, true)?;
    let binit = b.zeros(&format!("{scope}/bias/Initializer/zeros"), &[units])?;
    let bias = b.variable(&format!("{scope}/bias"), &[units], binit, true)?;
    let (kread, bread) = (kernel.value(b.graph)?, bias.value(b.graph)?);
    let mm = b.op1("MatMul", &format!("{scope}/MatMul"), &[x, kread])?;
    let mut out = b.op1("BiasAdd", &format!("{scope}/BiasAdd"), &[mm, bread])?;
    if let Some(ty) = spec.activation.op_type() {
        out = b.op1(ty, &format!("{scope}/{ty}"), &[out])?;
    }
    Ok((out, vec![kernel, bias]))
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
                LayerSpec { units: 20, activation: Activation::Relu },
                LayerSpec { units: 30, activation: Activation::Elu },
                LayerSpec { units: 10, activation: Activation::Linear },
            ]
        );
        assert_eq!(parse_layers("50,10").unwrap()[0].activation, Activation::Relu);
        for bad in ["", "20:relux,10", "0,10", "a,10", "20:relu,,10"] {
            assert!(parse_layers(bad).is_err(), "{bad:?}");
        }
    }
}
