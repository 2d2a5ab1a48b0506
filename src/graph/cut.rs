//! The cut: the tensor below which nothing trains, so that it can be computed once and fed
//! instead of the input (the book's caching of frozen layers).

use std::collections::{HashMap, HashSet};

use tensorflow::{Graph, Operation, Output};

use crate::graph::var::VarKind;

/// Ops whose output changes from run to run: a cut must have none of them upstream.
const RANDOM_OPS: &[&str] = &[
    "RandomUniform",
    "RandomUniformInt",
    "RandomStandardNormal",
    "TruncatedNormal",
    "Multinomial",
    "RandomShuffle",
    "RandomGamma",
    "RandomPoisson",
    "RandomPoissonV2",
    "RandomCrop",
];

fn name(op: &Operation) -> String {
    op.name().unwrap_or_default()
}

/// The highest tensor between `x` and `loss` whose whole upstream holds no trained variable,
/// no random op and no placeholder but `x`, when the loss depends on `x` only through it.
/// Ops named in `constants` (training flags, fed a fixed value while caching) count as clean.
pub fn find_cut(graph: &Graph, x: &Output, loss: &Output, trained: &HashSet<String>, constants: &[String]) -> Result<Output, String> {
    let anc: HashSet<String> = crate::graph::freeze::upstream(&loss.operation, |_| false).iter().map(name).collect();
    let x_name = name(&x.operation);
    if !anc.contains(&x_name) {
        return Err(format!("the loss does not depend on {x_name}"));
    }
    // Ops on a path x -> loss.
    let mut path = HashSet::new();
    let mut stack = vec![x.operation.clone()];
    while let Some(op) = stack.pop() {
        let n = name(&op);
        if !anc.contains(&n) || !path.insert(n) {
            continue;
        }
        for i in 0..op.num_outputs() {
            stack.extend(op.output_consumers(i).into_iter().map(|(c, _)| c));
        }
    }
    let mut memo: HashMap<String, bool> = constants.iter().map(|c| (c.clone(), true)).collect();
    let mut frontier: Vec<Output> = Vec::new();
    for op_name in &path {
        let Some(op) = graph.operation_by_name(op_name).ok().flatten() else { continue };
        if !clean(&op, &x_name, trained, &mut memo) {
            continue;
        }
        for i in 0..op.num_outputs() {
            let feeds_dirty = op.output_consumers(i).iter().any(|(c, _)| path.contains(&name(c)) && !clean(c, &x_name, trained, &mut memo));
            if feeds_dirty {
                frontier.push(Output { operation: op.clone(), index: i as i32 });
            }
        }
    }
    if let Some(lowest) = dominating(&frontier, &x_name) {
        frontier = vec![lowest];
    }
    match frontier.as_slice() {
        [] => Err("nothing between the input and the loss is frozen".into()),
        [one] if name(&one.operation) == x_name => Err("the first layer trains, so nothing below it is frozen".into()),
        [one] if !crate::graph::freeze::upstream(&one.operation, |_| false).iter().any(computes) => {
            Err(format!("no frozen layer lies below {}:{}: caching it would save nothing", name(&one.operation), one.index))
        }
        [one] => Ok(one.clone()),
        many => Err(format!(
            "the frozen part reaches the trained part through {} tensors ({}), not one",
            many.len(),
            many.iter().map(|o| format!("{}:{}", name(&o.operation), o.index)).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// The frontier tensor through which `x` reaches every other one, when there is one: the
/// others are then computed from it (as a parameterless pool beside the convolutions of an
/// Inception block, on the block's input), so it alone is the cut.
fn dominating(frontier: &[Output], x_name: &str) -> Option<Output> {
    if frontier.len() < 2 {
        return None;
    }
    let through = |t: &Output, from: &Output| {
        let mut seen = HashSet::new();
        let mut stack = vec![from.operation.clone()];
        while let Some(op) = stack.pop() {
            let n = name(&op);
            if n == x_name {
                return false;
            }
            if !seen.insert(n) {
                continue;
            }
            for i in 0..op.num_inputs() {
                let (up, index) = op.input(i);
                if !(name(&up) == name(&t.operation) && index as i32 == t.index) {
                    stack.push(up);
                }
            }
        }
        true
    };
    frontier.iter().find(|t| frontier.iter().all(|f| std::ptr::eq(*t, f) || through(t, f))).cloned()
}

/// Ops that only move or relabel their input: a cut with nothing else below it (a cast or
/// reshape of the input) is not worth caching.
const MOVES: &[&str] =
    &["Placeholder", "PlaceholderWithDefault", "Const", "Identity", "Cast", "Reshape", "Squeeze", "ExpandDims", "Shape", "StopGradient"];

fn computes(op: &Operation) -> bool {
    !MOVES.contains(&op.op_type().unwrap_or_default().as_str())
}

fn clean(op: &Operation, x_name: &str, trained: &HashSet<String>, memo: &mut HashMap<String, bool>) -> bool {
    let n = name(op);
    if let Some(&c) = memo.get(&n) {
        return c;
    }
    let ty = op.op_type().unwrap_or_default();
    let c = if n == x_name {
        true
    } else if VarKind::of_op_type(&ty).is_some() {
        !trained.contains(&n)
    } else if ty.starts_with("Placeholder") || RANDOM_OPS.contains(&ty.as_str()) || VarKind::of_op_type(&ty).is_some() {
        false
    } else {
        memo.insert(n.clone(), false); // cycles (none in a DAG) stay dirty
        (0..op.num_inputs()).all(|i| clean(&op.input(i).0, x_name, trained, memo))
    };
    memo.insert(n, c);
    c
}

/// Whether every op on a data path from `cut` up to one of `ends` is named under `prefix`
/// (ops tfreuse built, none of which bakes in a batch size): the cut's rows may then be fed
/// in batches of any size, even when a fixed batch of the input fixed its static shape.
pub fn only_new_above(cut: &Output, ends: &[Output], prefix: &str) -> bool {
    let below_ends: HashSet<String> = ends.iter().flat_map(|e| crate::graph::freeze::upstream(&e.operation, |_| false)).map(|o| name(&o)).collect();
    let mut seen = HashSet::new();
    let mut stack: Vec<Operation> = cut.operation.output_consumers(cut.index as usize).into_iter().map(|(c, _)| c).collect();
    while let Some(op) = stack.pop() {
        let n = name(&op);
        if !below_ends.contains(&n) || !seen.insert(n.clone()) {
            continue;
        }
        if !n.starts_with(prefix) {
            return false;
        }
        for i in 0..op.num_outputs() {
            stack.extend(op.output_consumers(i).into_iter().map(|(c, _)| c));
        }
    }
    !seen.is_empty()
}

/// Declare placeholder `op` of `gd` to take batches of any size when it declared a fixed
/// batch (its `shape` attribute's first dimension made -1); the batch it fixed, if it did.
pub fn relax_batch(gd: &mut crate::proto::GraphDef, op: &str) -> Option<usize> {
    let node = gd.node.iter_mut().find(|n| n.name == op && n.op.starts_with("Placeholder"))?;
    let Some(crate::proto::attr_value::Value::Shape(shape)) = node.attr.get_mut("shape").and_then(|a| a.value.as_mut()) else {
        return None;
    };
    let first = shape.dim.first_mut().filter(|d| d.size > 0 && !shape.unknown_rank)?;
    let batch = usize::try_from(first.size).ok()?;
    first.size = -1;
    Some(batch)
}
