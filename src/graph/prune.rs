//! `--prune`: what a saved model keeps when it is to hold only what its new output needs —
//! the ops the loss, metric, logits and training op depend on (data and control edges), the
//! variables among them with their initializers, and a saver over those variables. Layers
//! above the branch, the old loss and the old optimizer's slots are left out.

use std::collections::HashSet;

use tensorflow::Operation;

use crate::graph::Var;

/// Every op the `roots` depend on through data and control edges, themselves included.
pub fn needed(roots: &[Operation]) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut stack: Vec<Operation> = roots.to_vec();
    while let Some(op) = stack.pop() {
        let Ok(name) = op.name() else { continue };
        if seen.insert(name) {
            stack.extend((0..op.num_inputs()).map(|i| op.input(i).0));
            stack.extend(op.control_inputs());
        }
    }
    seen
}

/// The variables among `ops`.
pub fn kept<'v>(vars: &[&'v Var], ops: &HashSet<String>) -> Vec<&'v Var> {
    vars.iter().copied().filter(|v| ops.contains(&v.name)).collect()
}
