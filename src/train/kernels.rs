//! The kernels a training run gets when nobody chose, decided before TF loads: oneDNN is an
//! environment setting TF reads as it starts, so its choice cannot wait for the import. It
//! follows XLA's ([`crate::tf::onednn::for_run`]), which is made here from the stored graph
//! with the same rule and inputs that [`crate::train::prepare`] uses on the imported one.

use std::collections::HashMap;

use crate::error::Result;
use crate::model::MetaGraph;
use crate::proto::{attr_value::Value, GraphDef};
use crate::tf::jit::StepCost;
use crate::train::spec::TransferSpec;

/// oneDNN for training as `spec` says, and why; `remote`: the session will run on a TF server
/// or in a cluster.
pub fn onednn(spec: &TransferSpec, meta: &MetaGraph, remote: bool) -> Result<(bool, String)> {
    let graph = meta.graph_def()?;
    let xla = crate::tf::jit::choose(spec.session.jit, || step_cost(spec, meta, &graph, remote)).on;
    Ok(crate::tf::onednn::for_run(&graph, xla))
}

/// What `--jit auto` reads of the step, from the stored graph. Under `auto` only the model's
/// own training op can get XLA, and it trains the trainable variables.
fn step_cost(spec: &TransferSpec, meta: &MetaGraph, graph: &GraphDef, remote: bool) -> StepCost {
    let nodes: HashMap<&str, _> = graph.node.iter().map(|n| (n.name.as_str(), n)).collect();
    let values = |var: &str| match nodes.get(crate::tf::op_name(var)).and_then(|n| n.attr.get("shape")?.value.as_ref()) {
        Some(Value::Shape(s)) if !s.unknown_rank => s.dim.iter().map(|d| d.size.max(0) as u64).product(),
        _ => 0,
    };
    let trained_weights = meta.variables().unwrap_or_default().iter().filter(|v| v.trainable).map(|v| values(&v.variable_name)).sum();
    StepCost {
        trained_weights,
        batch_size: spec.batch_size,
        steps: spec.steps(),
        imported_op: !spec.builds_train_op(),
        convolution: crate::tf::onednn::convolution(graph),
        remote: remote || spec.session.target.is_some() || spec.worker.is_some(),
    }
}
