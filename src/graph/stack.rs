//! The reusable layers of an imported model: the dense and convolution layers on the path to
//! a tensor, in input → output order, each named by its output (after bias, activation and
//! pooling), e.g. `dnn/hidden1/Relu:0` … `dnn/hidden4/Relu:0`. What `sweep` cuts, drops and
//! unfreezes.

use std::collections::HashSet;

use tensorflow::{Graph, Operation, Output};

use crate::error::{Error, Result, Role};
use crate::graph::freeze::upstream;
use crate::tf::output_name;

/// Ops that make the layer they follow (bias, activation, normalization, pooling).
const FOLLOWERS: &[&str] = &[
    "BiasAdd",
    "Add",
    "AddV2",
    "Relu",
    "Relu6",
    "Elu",
    "Selu",
    "LeakyRelu",
    "Tanh",
    "Sigmoid",
    "Softplus",
    "FusedBatchNorm",
    "FusedBatchNormV2",
    "FusedBatchNormV3",
    "MaxPool",
    "AvgPool",
];
const LAYERS: &[&str] = &["MatMul", "Conv2D", "DepthwiseConv2dNative"];

/// One reusable layer.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// Its output tensor.
    pub output: String,
    /// The last dimension of the output (units or channels), -1 if unknown.
    pub width: i64,
    /// The activation op type, if one follows (`Relu`, `Elu` …).
    pub activation: Option<String>,
}

/// The layers below `top` (itself a layer's output, or the tensor the last one feeds).
pub fn layers_below(graph: &Graph, top: &Output) -> Result<Vec<Layer>> {
    let path: HashSet<String> = upstream(&top.operation, |_| false).iter().filter_map(|o| o.name().ok()).collect();
    let mut found: Vec<(usize, Layer)> = Vec::new();
    for name in &path {
        let Some(op) = graph.operation_by_name(name)? else { continue };
        if !LAYERS.contains(&op.op_type()?.as_str()) {
            continue;
        }
        let (out, activation) = follow(op, &path)?;
        let depth = upstream(&out, |_| false).len();
        let dims = crate::tf::tensors::shape_dims(&graph.tensor_shape(out.output(0))?).unwrap_or_default();
        let layer = Layer { output: output_name(&out.output(0)), width: dims.last().copied().unwrap_or(-1), activation };
        found.push((depth, layer));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.output.cmp(&b.1.output)));
    let layers: Vec<Layer> = found.into_iter().map(|(_, l)| l).collect();
    if layers.is_empty() {
        return Err(Error::arg(Role::BranchFrom, Some(&output_name(top)), "no dense or convolution layer lies below it"));
    }
    Ok(layers)
}

/// From a MatMul/Conv2D, on along the single consumer on `path` while it is a follower.
fn follow(mut op: Operation, path: &HashSet<String>) -> Result<(Operation, Option<String>)> {
    let mut activation = None;
    loop {
        let next: Vec<Operation> =
            op.output_consumers(0).into_iter().map(|(c, _)| c).filter(|c| c.name().is_ok_and(|n| path.contains(&n))).collect();
        match next.as_slice() {
            [one] if FOLLOWERS.contains(&one.op_type()?.as_str()) => {
                let ty = one.op_type()?;
                if !matches!(ty.as_str(), "BiasAdd" | "Add" | "AddV2" | "MaxPool" | "AvgPool") && !ty.starts_with("FusedBatchNorm") {
                    activation = Some(ty);
                }
                op = one.clone();
            }
            _ => return Ok((op, activation)),
        }
    }
}
