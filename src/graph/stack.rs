//! The reusable layers of an imported model: the dense and convolution layers on the path to
//! a tensor, in input → output order, each named by its output (after bias, activation and
//! pooling), e.g. `dnn/hidden1/Relu:0` … `dnn/hidden4/Relu:0`. What `sweep` cuts, drops and
//! unfreezes; the whole stack up to the logits (with a flatten or global pool between two
//! layers) is what `inspect` lists and what a misspelled branch tensor's error offers.

use std::collections::HashSet;

use serde::Serialize;
use tensorflow::{Graph, Operation, Output};

use crate::error::{Error, Result, Role};
use crate::graph::freeze::upstream;
use crate::graph::VarKind;
use crate::tf::tensors::shape_dims;
use crate::tf::{find_output, output_name};

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

/// One reusable layer, or a step between two (a flatten, a global pool).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Layer {
    /// Its name scope (`dnn/hidden4`); a step's op name.
    pub name: String,
    /// Its output tensor.
    pub output: String,
    /// The tensor it reads (the input placeholder, or the output below).
    pub input: String,
    /// Its output's static shape, -1 where unknown (the batch); None when even the rank is.
    pub shape: Option<Vec<i64>>,
    /// How many values its weights hold (variables or constants); None when not all known.
    pub params: Option<u64>,
    /// What it is: `dense+relu`, `conv2d+relu+maxpool`, `flatten`, `logits` …
    pub kind: String,
    /// Whether new layers may start from it (a branch or freeze tensor): all but the logits.
    pub branch: bool,
    /// The last dimension of the output (units or channels), -1 if unknown.
    #[serde(skip)]
    pub width: i64,
    /// The activation op type, if one follows (`Relu`, `Elu` …).
    pub activation: Option<String>,
}

/// The layers below `top` (itself a layer's output, or the tensor the last one feeds).
pub fn layers_below(graph: &Graph, top: &Output) -> Result<Vec<Layer>> {
    let path: HashSet<String> = upstream(&top.operation, |_| false).iter().filter_map(|o| o.name().ok()).collect();
    let on_path = |c: &Operation| c.name().is_ok_and(|n| path.contains(&n));
    let mut found: Vec<(usize, Layer)> = Vec::new();
    for name in &path {
        let Some(op) = graph.operation_by_name(name)? else { continue };
        if !LAYERS.contains(&op.op_type()?.as_str()) {
            continue;
        }
        let chain = follow(op, &on_path)?;
        let depth = upstream(&chain[chain.len() - 1], |_| false).len();
        found.push((depth, describe(graph, &chain)?));
    }
    found.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.output.cmp(&b.1.output)));
    let layers: Vec<Layer> = found.into_iter().map(|(_, l)| l).collect();
    if layers.is_empty() {
        return Err(Error::arg(Role::BranchFrom, Some(&output_name(top)), "no dense or convolution layer lies below it"));
    }
    Ok(layers)
}

/// The model's own layers, input → logits: those below its deepest dense or convolution
/// layer outside the gradients, with the tensor between two layers listed when it is not the
/// lower one's output (a flatten, a global pool). Empty when the graph has no such layer.
pub fn model_layers(graph: &Graph) -> Result<Vec<Layer>> {
    let deepest = graph.operation_iter().filter(is_forward_layer).max_by_key(|op| upstream(op, |_| false).len());
    let Some(op) = deepest else { return Ok(vec![]) };
    // The gradients and summaries also read a layer's tensors: only a follower extends it.
    let follower = |c: &Operation| {
        c.name().is_ok_and(|n| !in_gradients(&n)) && c.op_type().is_ok_and(|t| FOLLOWERS.contains(&t.as_str()))
    };
    let chain = follow(op, &follower)?;
    let layers = layers_below(graph, &chain[chain.len() - 1].output(0))?;
    let last = layers.len() - 1;
    let mut out: Vec<Layer> = Vec::new();
    for (i, mut l) in layers.into_iter().enumerate() {
        if i > 0 && out.last().is_some_and(|below| below.output != l.input) {
            out.push(step(graph, &l.input)?);
        }
        if i == last {
            l.branch = false;
            l.kind = if l.kind == "dense" { "logits".into() } else { format!("{} (output)", l.kind) };
        }
        out.push(l);
    }
    Ok(out)
}

/// The tensor named for `role` (the branch or freeze tensor); when the graph lacks it, the
/// error lists the model's layers to branch from, on the same line.
pub fn find_branch(graph: &Graph, name: &str, role: Role) -> Result<Output> {
    find_output(graph, name).map_err(|e| match e {
        Error::NotFound(msg) => {
            let outs: Vec<String> =
                model_layers(graph).unwrap_or_default().into_iter().filter(|l| l.branch).map(|l| l.output).collect();
            let msg = if outs.is_empty() { msg } else { format!("{msg}; layers to branch from: {}", outs.join(", ")) };
            Error::NotFound(msg).for_arg(role)
        }
        e => e.for_arg(role),
    })
}

/// From a MatMul/Conv2D, on along its single consumer that `next` accepts while it is a
/// follower: the layer's ops, its own first.
fn follow(op: Operation, next: &dyn Fn(&Operation) -> bool) -> Result<Vec<Operation>> {
    let mut chain = vec![op];
    loop {
        let last = &chain[chain.len() - 1];
        let consumers: Vec<Operation> = last.output_consumers(0).into_iter().map(|(c, _)| c).filter(|c| next(c)).collect();
        match consumers.as_slice() {
            [one] if FOLLOWERS.contains(&one.op_type()?.as_str()) => chain.push(one.clone()),
            _ => return Ok(chain),
        }
    }
}

/// A layer from its ops (see [`follow`]).
fn describe(graph: &Graph, chain: &[Operation]) -> Result<Layer> {
    let first = &chain[0];
    let out = chain[chain.len() - 1].output(0);
    let shape = shape_dims(&graph.tensor_shape(out.clone())?);
    let mut kind = vec![match first.op_type()?.as_str() {
        "MatMul" => "dense".to_string(),
        "Conv2D" => "conv2d".to_string(),
        _ => "depthwise conv2d".to_string(),
    }];
    let mut activation = None;
    for op in &chain[1..] {
        let ty = op.op_type()?;
        match ty.as_str() {
            "BiasAdd" | "Add" | "AddV2" => {}
            "MaxPool" | "AvgPool" => kind.push(ty.to_lowercase()),
            t if t.starts_with("FusedBatchNorm") => kind.push("batchnorm".into()),
            _ => {
                kind.push(ty.to_lowercase());
                activation = Some(ty);
            }
        }
    }
    let name = first.name()?;
    Ok(Layer {
        name: name.rsplit_once('/').map_or(name.as_str(), |(scope, _)| scope).to_string(),
        output: output_name(&out),
        input: input_name(first, 0),
        width: shape.as_ref().and_then(|d| d.last().copied()).unwrap_or(-1),
        shape,
        params: params(graph, chain),
        kind: kind.join("+"),
        branch: true,
        activation,
    })
}

/// A tensor between two layers that is not the lower one's output.
fn step(graph: &Graph, tensor: &str) -> Result<Layer> {
    let out = find_output(graph, tensor)?;
    let ty = out.operation.op_type()?;
    let shape = shape_dims(&graph.tensor_shape(out.clone())?);
    let flat = shape.as_ref().is_some_and(|d| d.len() == 2);
    let kind = match ty.as_str() {
        "Reshape" | "Flatten" if flat => "flatten".to_string(),
        "Mean" if flat => "global average pool".to_string(),
        "Max" if flat => "global max pool".to_string(),
        _ => ty.to_lowercase(),
    };
    Ok(Layer {
        name: out.operation.name()?,
        output: tensor.to_string(),
        input: if out.operation.num_inputs() > 0 { input_name(&out.operation, 0) } else { String::new() },
        width: shape.as_ref().and_then(|d| d.last().copied()).unwrap_or(-1),
        shape,
        params: Some(0),
        kind,
        branch: true,
        activation: None,
    })
}

fn input_name(op: &Operation, i: usize) -> String {
    let (src, index) = op.input(i);
    output_name(&Output { operation: src, index: index as i32 })
}

/// A dense or convolution layer of the model itself: not a gradient's (those live in a
/// `gradients` scope; the weights' gradient MatMul transposes its first input), reading weights
/// held by a variable or a constant.
fn is_forward_layer(op: &Operation) -> bool {
    let Ok(ty) = op.op_type() else { return false };
    if !LAYERS.contains(&ty.as_str()) || op.name().map_or(true, |n| in_gradients(&n)) || op.num_inputs() != 2 {
        return false;
    }
    !(ty == "MatMul" && op.get_attr_bool("transpose_a").unwrap_or(false)) && storage(op.input(1).0).is_some()
}

fn in_gradients(name: &str) -> bool {
    name.split('/').any(|s| s.starts_with("gradients"))
}

/// How many values the layer's weights hold: every input of its ops but the one the data
/// flows through, each traced to a variable or a constant.
fn params(graph: &Graph, chain: &[Operation]) -> Option<u64> {
    let mut total = 0;
    for (k, op) in chain.iter().enumerate() {
        for i in 0..op.num_inputs() {
            let src = op.input(i).0;
            let data = if k == 0 { i == 0 } else { src.name().ok() == chain[k - 1].name().ok() };
            if !data {
                total += stored_values(graph, storage(src)?)?;
            }
        }
    }
    Some(total)
}

/// The variable or constant behind a read (`Identity`, `ReadVariableOp` …), if any.
fn storage(mut op: Operation) -> Option<Operation> {
    for _ in 0..8 {
        let ty = op.op_type().ok()?;
        if ty == "Const" || VarKind::of_op_type(&ty).is_some() {
            return Some(op);
        }
        if !matches!(ty.as_str(), "Identity" | "ReadVariableOp" | "Enter" | "Snapshot" | "Cast") || op.num_inputs() == 0 {
            return None;
        }
        op = op.input(0).0;
    }
    None
}

fn stored_values(graph: &Graph, op: Operation) -> Option<u64> {
    let dims = if op.op_type().ok()? == "Const" {
        shape_dims(&graph.tensor_shape(op.output(0)).ok()?)?
    } else {
        shape_dims(&op.get_attr_shape("shape").ok()?)?
    };
    dims.iter().try_fold(1u64, |n, &d| u64::try_from(d).ok().map(|d| n * d))
}
