//! Building new ops on an imported graph: variables (TF1 ref variables, so Python's Saver
//! and optimizers handle them as their own), dense layers, a softmax cross-entropy loss and
//! an accuracy. Every new op is named under one prefix so it never collides with imported
//! names.

use tensorflow::{DataType, Graph, Operation, OperationDescription, Output, Shape, Tensor, TensorType};

use crate::error::{Error, Result};

/// Activation of a dense layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// A variable tfreuse created, with what a VariableDef needs.
#[derive(Clone, Debug)]
pub struct NewVar {
    pub name: String,
    pub var: Operation,
    pub initializer: Operation,
    pub snapshot: Output,
    pub initial_value: Output,
    pub trainable: bool,
}

/// Adds ops to a graph under a prefix, on an optional device, with deterministic seeds.
pub struct Builder<'g> {
    pub graph: &'g mut Graph,
    pub prefix: String,
    pub device: Option<String>,
    pub seed: i64,
    seed_counter: i64,
}

impl<'g> Builder<'g> {
    pub fn new(graph: &'g mut Graph, prefix: &str, device: Option<String>, seed: i64) -> Self {
        Builder { graph, prefix: prefix.to_string(), device, seed, seed_counter: 0 }
    }

    /// `prefix + base`, made unique with `_1`, `_2` … if taken.
    pub fn name(&self, base: &str) -> String {
        let first = format!("{}{}", self.prefix, base);
        let taken = |n: &str| self.graph.operation_by_name(n).ok().flatten().is_some();
        if !taken(&first) {
            return first;
        }
        (1..).map(|i| format!("{first}_{i}")).find(|n| !taken(n)).expect("some name is free")
    }

    /// Add an op; `attrs` sets attributes, `inputs` are single-tensor inputs in order.
    pub fn op(
        &mut self,
        ty: &str,
        base: &str,
        inputs: &[Output],
        attrs: impl FnOnce(&mut OperationDescription<'_>) -> Result<()>,
    ) -> Result<Operation> {
        let name = self.name(base);
        let device = self.device.clone();
        let mut d = self.graph.new_operation(ty, &name).map_err(|_| Error::Invalid(format!("bad op name {name:?}")))?;
        for i in inputs {
            d.add_input(i.clone());
        }
        if let Some(dev) = device {
            d.set_device(&dev).map_err(|_| Error::Invalid("bad --device".into()))?;
        }
        attrs(&mut d)?;
        Ok(d.finish()?)
    }

    pub fn op1(&mut self, ty: &str, base: &str, inputs: &[Output]) -> Result<Output> {
        Ok(self.op(ty, base, inputs, |_| Ok(()))?.into())
    }

    pub fn constant<T: TensorType>(&mut self, base: &str, value: Tensor<T>) -> Result<Output> {
        Ok(self
            .op("Const", base, &[], |d| {
                d.set_attr_type("dtype", T::data_type())?;
                Ok(d.set_attr_tensor("value", value)?)
            })?
            .into())
    }

    pub fn scalar_f32(&mut self, base: &str, v: f32) -> Result<Output> {
        self.constant(base, Tensor::from(v))
    }

    fn next_seed(&mut self) -> i64 {
        self.seed_counter += 1;
        self.seed_counter
    }

    /// A float32 ref variable (VariableV2) with an Assign initializer and a `read` snapshot.
    pub fn variable(&mut self, base: &str, shape: &[u64], init: Output, trainable: bool) -> Result<NewVar> {
        let dims: Vec<Option<i64>> = shape.iter().map(|&d| Some(d as i64)).collect();
        let var = self.op("VariableV2", base, &[], |d| {
            d.set_attr_type("dtype", DataType::Float)?;
            Ok(d.set_attr_shape("shape", &Shape::from(Some(dims)))?)
        })?;
        let name = var.name()?;
        let saved_prefix = std::mem::take(&mut self.prefix);
        let r = (|| {
            let initializer = self.op("Assign", &format!("{name}/Assign"), &[var.output(0), init.clone()], |d| {
                d.set_attr_bool("validate_shape", true)?;
                Ok(d.set_attr_bool("use_locking", true)?)
            })?;
            let snapshot = self.op1("Identity", &format!("{name}/read"), &[var.output(0)])?;
            Ok(NewVar { name: name.clone(), var: var.clone(), initializer, snapshot, initial_value: init, trainable })
        })();
        self.prefix = saved_prefix;
        r
    }

    /// Zeros of a shape, as an initial value.
    pub fn zeros(&mut self, base: &str, shape: &[u64]) -> Result<Output> {
        let t = Tensor::<f32>::new(shape);
        self.constant(base, t)
    }

    /// tf.glorot_uniform_initializer: U(-l, l), l = sqrt(6 / (fan_in + fan_out)).
    pub fn glorot_uniform(&mut self, base: &str, fan_in: u64, fan_out: u64) -> Result<Output> {
        let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
        let shape = self.constant(&format!("{base}/shape"), Tensor::from(&[fan_in as i32, fan_out as i32][..]))?;
        let (seed, seed2) = (self.seed, self.next_seed());
        let rnd = self.op("RandomUniform", &format!("{base}/RandomUniform"), &[shape], |d| {
            d.set_attr_type("dtype", DataType::Float)?;
            d.set_attr_int("seed", seed)?;
            Ok(d.set_attr_int("seed2", seed2)?)
        })?;
        let range = self.scalar_f32(&format!("{base}/range"), 2.0 * limit)?;
        let min = self.scalar_f32(&format!("{base}/min"), -limit)?;
        let scaled = self.op1("Mul", &format!("{base}/mul"), &[rnd.into(), range])?;
        self.op1("AddV2", &format!("{base}/value"), &[scaled, min])
    }

    /// A dense layer `act(x @ kernel + bias)` with variables `<scope>/kernel`, `<scope>/bias`.
    pub fn dense(&mut self, x: Output, fan_in: u64, spec: &LayerSpec, scope: &str) -> Result<(Output, Vec<NewVar>)> {
        let units = spec.units as u64;
        let kinit = self.glorot_uniform(&format!("{scope}/kernel/Initializer"), fan_in, units)?;
        let kernel = self.variable(&format!("{scope}/kernel"), &[fan_in, units], kinit, true)?;
        let binit = self.zeros(&format!("{scope}/bias/Initializer/zeros"), &[units])?;
        let bias = self.variable(&format!("{scope}/bias"), &[units], binit, true)?;
        let mm = self.op1("MatMul", &format!("{scope}/MatMul"), &[x, kernel.snapshot.clone()])?;
        let mut out = self.op1("BiasAdd", &format!("{scope}/BiasAdd"), &[mm, bias.snapshot.clone()])?;
        if let Some(ty) = spec.activation.op_type() {
            out = self.op1(ty, &format!("{scope}/{ty}"), &[out])?;
        }
        Ok((out, vec![kernel, bias]))
    }

    /// Mean softmax cross-entropy of `logits` against integer `labels` (via OneHot: the
    /// sparse op has no C++ gradient).
    pub fn softmax_xent_loss(&mut self, logits: Output, labels: Output, classes: usize) -> Result<Output> {
        let label_type = labels.operation.output_type(labels.index as usize);
        let depth = self.constant("loss/depth", Tensor::from(classes as i32))?;
        let on = self.scalar_f32("loss/on", 1.0)?;
        let off = self.scalar_f32("loss/off", 0.0)?;
        let onehot = self.op("OneHot", "loss/one_hot", &[labels, depth, on, off], |d| {
            d.set_attr_type("TI", label_type)?;
            Ok(d.set_attr_int("axis", -1)?)
        })?;
        let xent = self.op("SoftmaxCrossEntropyWithLogits", "loss/xentropy", &[logits, onehot.into()], |_| Ok(()))?;
        let axes = self.constant("loss/axes", Tensor::from(&[0i32][..]))?;
        self.op1("Mean", "loss/loss", &[xent.output(0), axes])
    }

    /// Fraction of rows whose arg-max equals the label.
    pub fn accuracy(&mut self, logits: Output, labels: Output) -> Result<Output> {
        let label_type = labels.operation.output_type(labels.index as usize);
        let dim = self.constant("eval/dimension", Tensor::from(1i32))?;
        let pred = self.op("ArgMax", "eval/ArgMax", &[logits, dim], |d| Ok(d.set_attr_type("output_type", label_type)?))?;
        let eq = self.op1("Equal", "eval/Equal", &[pred.into(), labels])?;
        let f = self.op("Cast", "eval/Cast", &[eq], |d| Ok(d.set_attr_type("DstT", DataType::Float)?))?;
        let axes = self.constant("eval/axes", Tensor::from(&[0i32][..]))?;
        self.op1("Mean", "eval/accuracy", &[f.into(), axes])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_specs() {
        let l = parse_layers("20:relu,30:elu,10").unwrap();
        assert_eq!(l, [
            LayerSpec { units: 20, activation: Activation::Relu },
            LayerSpec { units: 30, activation: Activation::Elu },
            LayerSpec { units: 10, activation: Activation::Linear },
        ]);
        assert_eq!(parse_layers("50,10").unwrap()[0].activation, Activation::Relu);
        for bad in ["", "20:relux,10", "0,10", "a,10", "20:relu,,10"] {
            assert!(parse_layers(bad).is_err(), "{bad:?}");
        }
    }
}
