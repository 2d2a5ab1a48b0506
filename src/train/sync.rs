//! `--sync`: the workers' gradients averaged every step, as TF1's `SyncReplicasOptimizer`
//! does it, with TF's own ops on the ps tasks:
//!
//! - each variable's gradient goes into a `ConditionalAccumulator` beside it, tagged with the
//!   global step it was computed at (`sync/global_step`, a ps variable);
//! - the chief takes the mean of `workers` gradients from each accumulator (blocking until they
//!   are in), applies it with the update rule, advances the global step and puts
//!   `workers − 1` tokens into a queue on ps task 0;
//! - every other worker, its gradients in, takes a token before its next step.
//!
//! So step k of every worker computes on the variables of update k−1. With `--sync` every
//! worker trains on shards of the same size, so all take the same number of steps.

use tensorflow::{DataType, Operation, Output, Shape, Tensor};

use crate::dist::Worker;
use crate::error::Result;
use crate::graph::optimizer::Pair;
use crate::graph::{Builder, Var};

/// The accumulators between the gradients and the update rule.
pub struct Aggregation {
    global_step: Var,
    queue: Output,
    /// This worker's gradients put into the accumulators.
    applied: Vec<Operation>,
}

const SCOPE: &str = "sync";

/// Put every gradient of `pairs` into its accumulator; the pairs the update rule takes
/// instead (each variable with the mean of `workers` gradients).
pub fn aggregate(b: &mut Builder, worker: &Worker, pairs: Vec<Pair>) -> Result<(Aggregation, Vec<Pair>)> {
    let zero = b.scalar_f32(&format!("{SCOPE}/global_step/initial_value"), 0.0)?;
    let global_step = b.variable(&format!("{SCOPE}/global_step"), &[], zero, false)?;
    let step = global_step.value(b.graph)?;
    let local_step = b.op("Cast", &format!("{SCOPE}/local_step"), &[step], |d| {
        d.set_attr_type("SrcT", DataType::Float)?;
        Ok(d.set_attr_type("DstT", DataType::Int64)?)
    })?;
    let required = b.constant(&format!("{SCOPE}/replicas"), Tensor::from(worker.workers as i32))?;
    let (mut applied, mut taken) = (Vec::new(), Vec::new());
    for p in pairs {
        let scope = format!("{SCOPE}/{}", p.var.name);
        let accumulator = accumulator(b, &scope, &p.var)?;
        let apply =
            b.op("AccumulatorApplyGradient", &format!("{scope}/apply"), &[accumulator.clone(), local_step.output(0), p.grad], |d| {
                Ok(d.set_attr_type("dtype", DataType::Float)?)
            })?;
        let take = b.op("AccumulatorTakeGradient", &format!("{scope}/take"), &[accumulator, required.clone()], |d| {
            d.add_control_input(&apply);
            Ok(d.set_attr_type("dtype", DataType::Float)?)
        })?;
        applied.push(apply);
        taken.push(Pair { var: p.var, grad: take.into() });
    }
    let queue = b.on_device("/job:ps/task:0".into(), |b| {
        b.op("FIFOQueueV2", &format!("{SCOPE}/token_queue"), &[], |d| {
            d.set_attr_type_list("component_types", &[DataType::Float])?;
            d.set_attr_shape_list("shapes", &[Shape::from(Some(vec![]))])?;
            d.set_attr_int("capacity", -1)?;
            Ok(d.set_attr_string("shared_name", &format!("{SCOPE}/token_queue"))?)
        })
    })?;
    Ok((Aggregation { global_step, queue: queue.into(), applied }, taken))
}

/// A mean-taking accumulator of `var`'s gradients, on `var`'s device, shared by name.
fn accumulator(b: &mut Builder, scope: &str, var: &Var) -> Result<Output> {
    let device = var.op.device()?;
    let shape = Shape::from(Some(var.shape.iter().map(|&d| Some(d)).collect::<Vec<_>>()));
    let op = b.on_device(device, |b| {
        b.op("ConditionalAccumulator", &format!("{scope}/grad_accum"), &[], |d| {
            d.set_attr_type("dtype", DataType::Float)?;
            d.set_attr_shape("shape", &shape)?;
            d.set_attr_string("reduction_type", "MEAN")?;
            Ok(d.set_attr_string("shared_name", &format!("{}/grad_accum", var.name))?)
        })
    })?;
    Ok(op.into())
}

impl Aggregation {
    /// This worker's training op: the chief's runs `update` (the rule over the mean
    /// gradients), advances the global step and hands out the tokens; another worker's takes
    /// a token once its gradients are in.
    pub fn step(&self, b: &mut Builder, worker: &Worker, update: &Operation) -> Result<Operation> {
        if !worker.is_chief() {
            let applied = self.applied.clone();
            return b.op("QueueDequeueV2", &format!("{SCOPE}/token"), std::slice::from_ref(&self.queue), |d| {
                applied.iter().for_each(|a| d.add_control_input(a));
                Ok(d.set_attr_type_list("component_types", &[DataType::Float])?)
            });
        }
        let one = b.scalar_f32(&format!("{SCOPE}/one"), 1.0)?;
        let advance = b.op("AssignAdd", &format!("{SCOPE}/advance"), &[self.global_step.handle(), one], |d| {
            d.add_control_input(update);
            Ok(d.set_attr_type("T", DataType::Float)?)
        })?;
        let n = b.constant(&format!("{SCOPE}/tokens/n"), Tensor::from(&[(worker.workers - 1) as i32][..]))?;
        let zero = b.scalar_f32(&format!("{SCOPE}/tokens/value"), 0.0)?;
        let tokens = b.op1("Fill", &format!("{SCOPE}/tokens"), &[n, zero])?;
        b.op("QueueEnqueueManyV2", &format!("{SCOPE}/hand_out"), std::slice::from_ref(&self.queue), |d| {
            d.add_input_list(&[tokens]);
            d.add_control_input(&advance);
            Ok(d.set_attr_type_list("Tcomponents", &[DataType::Float])?)
        })
    }

    /// What the chief initialises besides the model (the global step).
    pub fn initializer(&self, b: &Builder) -> Result<Operation> {
        self.global_step.initializer(b.graph)
    }
}
