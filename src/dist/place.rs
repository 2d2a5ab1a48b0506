//! Where a worker's graph runs: every variable on a ps task, the rest on this worker, as TF1's
//! `replica_device_setter` placed them (between-graph replication: each worker builds the
//! same graph, so the variables of the same name on the ps tasks are shared).
//!
//! Variables go to the least-loaded ps task by bytes, in the order they are met (Python's
//! `GreedyLoadBalancingStrategy`); an optimizer slot (`v/Adam`) or a variable colocated with
//! another (`_class: loc:@v`) goes where `v` is, so an update op finds all its variables on
//! one task. Ops that take a variable by reference follow it there (TF's placer colocates
//! reference edges); every other op is left unpinned, and a distributed session runs those
//! on its own task.

use std::collections::HashMap;

use crate::proto::{attr_value, GraphDef, NodeDef};

/// This process's part in a cluster: worker `task` of `workers`, variables on `ps` ps tasks.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Worker {
    /// This worker's index (0 is the chief).
    pub task: usize,
    /// Workers in the cluster.
    pub workers: usize,
    /// Parameter server tasks holding the variables.
    pub ps: usize,
    /// Average the workers' gradients every step (`--sync`) instead of applying each as it comes.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sync: bool,
    /// How long a worker waits for the chief and the ps tasks.
    #[serde(skip)]
    pub wait_secs: u64,
}

impl Worker {
    /// Worker 0 initialises, restores and saves.
    pub fn is_chief(&self) -> bool {
        self.task == 0
    }

    /// The devices this worker's sessions see: the ps tasks and itself, not the other workers
    /// (a worker that is down must not stop the others).
    pub fn device_filters(&self) -> Vec<String> {
        vec!["/job:ps".into(), format!("/job:worker/task:{}", self.task)]
    }
}

/// Chooses a ps task for each variable.
#[derive(Clone, Debug)]
pub struct Placer {
    /// Bytes placed on each ps task so far, and how many variables.
    load: Vec<u64>,
    count: Vec<usize>,
    /// Device of each variable placed, by name.
    placed: HashMap<String, String>,
}

impl Placer {
    /// Places on `ps` tasks (at least one), none loaded yet.
    pub fn new(ps: usize) -> Placer {
        Placer { load: vec![0; ps.max(1)], count: vec![0; ps.max(1)], placed: HashMap::new() }
    }

    /// The device of variable `name` holding `bytes`: where `colocate_with` (or the variable
    /// `name` is a slot of) went, else the least-loaded ps task.
    pub fn variable(&mut self, name: &str, bytes: u64, colocate_with: Option<&str>) -> String {
        let owner = colocate_with.and_then(|c| self.placed.get(c)).or_else(|| self.owner(name)).cloned();
        let device = owner.unwrap_or_else(|| {
            let task = (0..self.load.len()).min_by_key(|&t| self.load[t]).unwrap_or(0);
            format!("/job:ps/task:{task}")
        });
        if let Some(t) = device.strip_prefix("/job:ps/task:").and_then(|t| t.parse::<usize>().ok()) {
            self.load[t] += bytes;
            self.count[t] += 1;
        }
        self.placed.insert(name.to_string(), device.clone());
        device
    }

    /// The device of the longest placed variable whose name `name` extends (`v/Adam` → `v`).
    fn owner(&self, name: &str) -> Option<&String> {
        let mut scope = name;
        while let Some((parent, _)) = scope.rsplit_once('/') {
            if let Some(d) = self.placed.get(parent) {
                return Some(d);
            }
            scope = parent;
        }
        None
    }

    /// Bytes on each ps task.
    pub fn load(&self) -> &[u64] {
        &self.load
    }

    /// What each ps task holds, for the user.
    pub fn describe(&self) -> Vec<String> {
        let each = self.load.iter().zip(&self.count).enumerate();
        each.map(|(t, (bytes, n))| format!("ps task {t}: {n} variable(s), {} KB", bytes.div_ceil(1024))).collect()
    }
}

/// Clear every device pin of `gd` and put its variables on the ps tasks; the placer goes on to
/// place the variables built on top.
pub fn place_graph_def(gd: &mut GraphDef, placer: &mut Placer) {
    for node in gd.node.iter_mut() {
        node.device.clear();
        if is_variable(&node.op) {
            let colocate = colocated_with(node);
            node.device = placer.variable(&node.name, node_bytes(node), colocate.as_deref());
        }
    }
}

/// Variable op types (as `graph::var` knows them; not used from there, which builds on this).
fn is_variable(op: &str) -> bool {
    matches!(op, "VariableV2" | "Variable" | "VarHandleOp")
}

/// The op a node's `_class` attribute colocates it with (`loc:@NAME`), if any.
fn colocated_with(node: &NodeDef) -> Option<String> {
    let list = match node.attr.get("_class")?.value.as_ref()? {
        attr_value::Value::List(l) => l,
        _ => return None,
    };
    list.s.iter().filter_map(|s| std::str::from_utf8(s).ok()?.strip_prefix("loc:@").map(String::from)).find(|n| *n != node.name)
}

/// The bytes a variable node holds (4 a value: what the load balance needs, not the dtype's).
fn node_bytes(node: &NodeDef) -> u64 {
    let dims = match node.attr.get("shape").and_then(|a| a.value.as_ref()) {
        Some(attr_value::Value::Shape(s)) => s.dim.iter().map(|d| d.size.max(1) as u64).collect::<Vec<_>>(),
        _ => vec![],
    };
    4 * dims.iter().product::<u64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_balance_by_bytes_and_slots_follow_their_variable() {
        let mut p = Placer::new(2);
        assert_eq!(p.variable("h1/kernel", 4000, None), "/job:ps/task:0");
        assert_eq!(p.variable("h1/bias", 40, None), "/job:ps/task:1");
        assert_eq!(p.variable("h2/kernel", 400, None), "/job:ps/task:1");
        assert_eq!(p.variable("h1/kernel/Adam_1", 4000, None), "/job:ps/task:0", "a slot goes with its variable");
        assert_eq!(p.variable("beta1_power", 4, Some("h2/kernel")), "/job:ps/task:1", "loc:@ wins");
        assert_eq!(p.load(), [8000, 444]);
        assert_eq!(p.describe(), ["ps task 0: 2 variable(s), 8 KB", "ps task 1: 3 variable(s), 1 KB"]);
        let w = Worker { task: 1, workers: 3, ps: 2, sync: false, wait_secs: 1 };
        assert!(!w.is_chief() && Worker { task: 0, ..w.clone() }.is_chief());
        assert_eq!(w.device_filters(), ["/job:ps", "/job:worker/task:1"]);
    }
}
