//! Whether a model's own saver reads and writes only the checkpoint tfreuse names: its file
//! ops' paths must come from the SaverDef's filename tensor (which tfreuse feeds) through
//! string plumbing alone. A TF1 `tf.train.Saver` has its ops in the graph; a TF2 SavedModel
//! calls a function (`StatefulPartitionedCall` of `__inference__traced_restore_…`) with the
//! filename as an argument, whose body must then hold nothing but checkpoint ops, variable
//! reads and assignments, and plumbing.

use std::collections::{BTreeMap, HashSet};

use crate::proto::{attr_value, FunctionDef, GraphDef, NodeDef};
use crate::tf::op_name;

/// Ops a checkpoint path passes through: pure functions of strings and constants (TF2's
/// saver picks its temporary suffix with `StaticRegexFullMatch` and `Select`).
const PLUMBING: &[&str] = &[
    "Const",
    "Identity",
    "PlaceholderWithDefault",
    "Placeholder",
    "StringJoin",
    "ShardedFilename",
    "Pack",
    "StaticRegexFullMatch",
    "Select",
    "SelectV2",
];

/// The other ops a TF2 saver function holds: the checkpoint's own ops and moving values
/// between it and the variables.
const SAVER_BODY: &[&str] =
    &["RestoreV2", "SaveV2", "MergeV2Checkpoints", "AssignVariableOp", "ReadVariableOp", "DisableCopyOnRead", "NoOp"];

/// Whether saver op `n`'s path (input 0) comes from node `filename` through plumbing and
/// constants only.
pub(crate) fn prefix_from(n: &NodeDef, filename: &str, by_name: &BTreeMap<&str, &NodeDef>) -> bool {
    n.input.first().is_some_and(|i| from_filename(i, filename, by_name))
}

/// Whether graph tensor `input` comes from node `filename` through plumbing and constants.
fn from_filename(input: &str, filename: &str, by_name: &BTreeMap<&str, &NodeDef>) -> bool {
    let mut stack = vec![op_name(input)];
    let (mut seen, mut reached) = (HashSet::new(), false);
    while let Some(s) = stack.pop() {
        let Some(node) = by_name.get(s).filter(|_| seen.insert(s)) else { continue };
        if !PLUMBING.contains(&node.op.as_str()) {
            return false;
        }
        reached |= s == filename;
        stack.extend(node.input.iter().filter(|i| !i.starts_with('^')).map(|i| op_name(i)));
    }
    reached
}

/// Whether `call` calls a TF2 saver function whose every file op's path comes from its
/// arguments, each fed from node `filename` through plumbing.
pub(crate) fn saver_call(call: &NodeDef, filename: &str, graph: &GraphDef, by_name: &BTreeMap<&str, &NodeDef>) -> bool {
    let Some(f) = called(call).and_then(|name| function(graph, name)) else { return false };
    let body = &f.node_def;
    if !body.iter().all(|n| PLUMBING.contains(&n.op.as_str()) || SAVER_BODY.contains(&n.op.as_str())) {
        return false;
    }
    let args: Vec<&str> = f.signature.iter().flat_map(|s| &s.input_arg).map(|a| a.name.as_str()).collect();
    let Some(used) = path_args(body, &args) else { return false };
    !used.is_empty() && used.iter().all(|&i| call.input.get(i).is_some_and(|input| from_filename(input, filename, by_name)))
}

/// The function `call` calls (`StatefulPartitionedCall`, `PartitionedCall`).
fn called(call: &NodeDef) -> Option<&str> {
    if !matches!(call.op.as_str(), "StatefulPartitionedCall" | "PartitionedCall") {
        return None;
    }
    match call.attr.get("f").and_then(|a| a.value.as_ref()) {
        Some(attr_value::Value::Func(f)) => Some(f.name.as_str()),
        _ => None,
    }
}

fn function<'g>(graph: &'g GraphDef, name: &str) -> Option<&'g FunctionDef> {
    graph.library.iter().flat_map(|l| &l.function).find(|f| f.signature.as_ref().is_some_and(|s| s.name == name))
}

/// The indices of the arguments the file ops of `body` take their paths from; `None` when a
/// path passes through anything but plumbing.
fn path_args(body: &[NodeDef], args: &[&str]) -> Option<Vec<usize>> {
    // Inside a function an input is `arg` or `node:output_name:index`.
    let head = |i: &str| i.trim_start_matches('^').split(':').next().unwrap_or_default().to_string();
    let by_name: BTreeMap<&str, &NodeDef> = body.iter().map(|n| (n.name.as_str(), n)).collect();
    let paths = body.iter().flat_map(|n| match n.op.as_str() {
        "RestoreV2" | "SaveV2" => n.input.iter().take(1).collect::<Vec<_>>(),
        "MergeV2Checkpoints" => n.input.iter().take(2).collect(),
        _ => vec![],
    });
    let mut stack: Vec<String> = paths.map(|i| head(i)).collect();
    let (mut seen, mut used) = (HashSet::new(), Vec::new());
    while let Some(s) = stack.pop() {
        if !seen.insert(s.clone()) {
            continue;
        }
        if let Some(i) = args.iter().position(|a| *a == s) {
            used.push(i);
            continue;
        }
        let node = by_name.get(s.as_str())?;
        if !PLUMBING.contains(&node.op.as_str()) {
            return None;
        }
        stack.extend(node.input.iter().filter(|i| !i.starts_with('^')).map(|i| head(i)));
    }
    Some(used)
}
