//! Whether a run may go ahead: a model is a program (see [`super::audit`]), so every run is
//! walked back from what it fetches and runs, through the live graph, and refused when it
//! would execute one of the imported graph's nodes that reach outside the process — unless
//! the graph is trusted.
//!
//! The walk follows data and control inputs and stops at fed tensors (TensorFlow does not
//! run what produces a fed tensor). A node calling a function of the graph's library that
//! holds such a node (directly or through other functions) is refused like the node itself.
//! The graph's own saver ops are allowed only in a run that feeds the saver's filename
//! tensor — the checkpoint prefix tfreuse gives — and only when their path comes from that
//! tensor through string plumbing (in the graph, or in a TF2 saver function it calls:
//! [`super::saver_path`]); a saver op whose path comes from anywhere else is refused.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tensorflow::{Operation, Output};

use crate::error::{Error, Result, Role};
use crate::graph::audit::{reaches, Class, Reach, SAVER_OPS};
use crate::graph::saver_path::{prefix_from, saver_call};
use crate::proto::{attr_value, GraphDef, NodeDef, SaverDef};
use crate::tf::op_name;

/// What may run of one imported graph.
#[derive(Debug, Default)]
pub struct Gate {
    /// The file the graph came from (errors name it).
    path: PathBuf,
    /// Every run is allowed.
    trusted: bool,
    /// Imported nodes no run may execute, by name.
    refused: HashMap<String, Reach>,
    /// The graph's own saver ops: only in runs that feed `filename`.
    saver: HashMap<String, Reach>,
    /// The op of the saver's filename tensor.
    filename: Option<String>,
    /// Runs already walked (their roots and fed tensors, by name).
    checked: Mutex<HashSet<Vec<String>>>,
}

impl Gate {
    /// A gate that allows every run of the graph read from `path`.
    pub fn trusted_graph(path: &Path) -> Gate {
        Gate { path: path.to_path_buf(), trusted: true, ..Default::default() }
    }

    /// The gate for `graph` (read from `path`, with its own `saver`), given the op types the
    /// loaded TensorFlow knows.
    pub fn new(path: &Path, graph: &GraphDef, saver: Option<&SaverDef>, registry: &BTreeSet<String>) -> Gate {
        let mut gate = Gate { path: path.to_path_buf(), ..Default::default() };
        gate.filename = saver.map(|s| op_name(&s.filename_tensor_name).to_string());
        let by_name: BTreeMap<&str, &NodeDef> = graph.node.iter().map(|n| (n.name.as_str(), n)).collect();
        let mut in_functions = BTreeMap::new();
        for r in reaches(graph, saver, registry) {
            match &r.function {
                // A function's refusal names its worst node: anything before a checkpoint op.
                Some(f) => match in_functions.entry(f.clone()) {
                    Entry::Occupied(mut o) if checkpoint_op(o.get()) && !checkpoint_op(&r) => drop(o.insert(r)),
                    Entry::Occupied(_) => {}
                    Entry::Vacant(v) => drop(v.insert(r)),
                },
                None if r.own_saver && gate.filename.as_deref().is_some_and(|f| prefix_from(by_name[r.node.as_str()], f, &by_name)) => {
                    gate.saver.insert(r.node.clone(), r);
                }
                None => drop(gate.refused.insert(r.node.clone(), r)),
            }
        }
        let own = saver.map(|s| [s.restore_op_name.as_str(), op_name(&s.save_tensor_name)]).unwrap_or_default();
        for (node, r) in function_calls(graph, in_functions) {
            let filename = gate.filename.as_deref().filter(|_| own.contains(&node.as_str()));
            if filename.is_some_and(|f| saver_call(by_name[node.as_str()], f, graph, &by_name)) {
                gate.saver.insert(node, Reach { own_saver: true, ..r });
            } else {
                gate.refused.entry(node).or_insert(r);
            }
        }
        gate
    }

    /// Whether runs are refused nothing.
    pub fn trusted(&self) -> bool {
        self.trusted
    }

    /// The nodes no run may execute.
    pub fn refused(&self) -> impl Iterator<Item = &Reach> {
        self.refused.values()
    }

    /// A run of `roots` (fetched tensors' ops and targets) with `fed` fed: an error naming the
    /// first node it would execute that reaches outside the process, unless trusted.
    pub fn check(&self, roots: &[&Operation], fed: &[&Output]) -> Result<()> {
        if self.trusted || (self.refused.is_empty() && self.saver.is_empty()) {
            return Ok(());
        }
        let fed: HashSet<(String, usize)> = fed.iter().map(|o| (name(&o.operation), o.index as usize)).collect();
        let mut key: Vec<String> = roots.iter().map(|o| name(o)).chain(fed.iter().map(|(n, i)| format!("{n}:{i}"))).collect();
        key.sort();
        if self.checked.lock().is_ok_and(|c| c.contains(&key)) {
            return Ok(());
        }
        self.walk(roots, &fed)?;
        if let Ok(mut c) = self.checked.lock() {
            c.insert(key);
        }
        Ok(())
    }

    /// Every op `roots` would execute, checked.
    fn walk(&self, roots: &[&Operation], fed: &HashSet<(String, usize)>) -> Result<()> {
        let feeds_filename = self.filename.as_ref().is_some_and(|f| fed.iter().any(|(n, _)| n == f));
        let mut stack: Vec<(Operation, usize)> = roots.iter().enumerate().map(|(i, o)| ((*o).clone(), i)).collect();
        let mut seen = HashSet::new();
        while let Some((op, root)) = stack.pop() {
            let n = name(&op);
            if !seen.insert(n.clone()) {
                continue;
            }
            let bad = self.refused.get(&n).or(self.saver.get(&n).filter(|_| !feeds_filename));
            if let Some(r) = bad {
                return Err(self.refusal(r, &name(roots[root])));
            }
            for i in 0..op.num_inputs() {
                let (src, index) = op.input(i);
                if !fed.contains(&(name(&src), index)) {
                    stack.push((src, root));
                }
            }
            stack.extend(op.control_inputs().into_iter().map(|c| (c, root)));
        }
        Ok(())
    }

    /// The one-line refusal of running `root`, which needs `r`.
    fn refusal(&self, r: &Reach, root: &str) -> Error {
        let what = match r.class {
            Class::Files => "reads or writes files",
            Class::Network => "talks to other processes",
            Class::Unknown => "is an op this TensorFlow does not know",
        };
        let args = if r.arguments.is_empty() { String::new() } else { format!(" {}", r.arguments.join(" ")) };
        let saver = if r.own_saver { ", the model's saver run without the checkpoint tfreuse gives" } else { "" };
        Error::bad_file(
            &self.path,
            format!(
                "refused: running {root} would run {} ({}{args}), which {what}{saver}; a model is a program: \
                 run it only if you trust its author ({})",
                r.node,
                r.op,
                Role::TrustGraph.mention()
            ),
        )
    }
}

/// Whether `r` is a checkpoint read or write (what a TF2 saver function holds).
fn checkpoint_op(r: &Reach) -> bool {
    SAVER_OPS.contains(&r.op.as_str())
}

fn name(op: &Operation) -> String {
    op.name().unwrap_or_default()
}

/// The graph's nodes that call a function holding a node of `in_functions` (function name →
/// its first such node), directly or through other functions; each with what it reaches.
fn function_calls(graph: &GraphDef, mut tainted: BTreeMap<String, Reach>) -> Vec<(String, Reach)> {
    let functions: Vec<(String, &[NodeDef])> = graph
        .library
        .iter()
        .flat_map(|l| &l.function)
        .map(|f| (f.signature.as_ref().map(|s| s.name.clone()).unwrap_or_default(), f.node_def.as_slice()))
        .collect();
    loop {
        let more: Vec<(String, Reach)> = functions
            .iter()
            .filter(|(f, _)| !tainted.contains_key(f))
            .filter_map(|(f, body)| body.iter().find_map(|n| calls(n, &tainted)).map(|r| (f.clone(), r)))
            .collect();
        if more.is_empty() {
            break;
        }
        tainted.extend(more);
    }
    graph.node.iter().filter_map(|n| calls(n, &tainted).map(|r| (n.name.clone(), r))).collect()
}

/// What `n` reaches by calling a tainted function (as its op type, or through a function
/// attr of a call, loop or conditional): the node as refused, with the function's reach.
fn calls(n: &NodeDef, tainted: &BTreeMap<String, Reach>) -> Option<Reach> {
    let mut called = vec![n.op.clone()];
    for a in n.attr.values() {
        match &a.value {
            Some(attr_value::Value::Func(f)) => called.push(f.name.clone()),
            Some(attr_value::Value::List(l)) => called.extend(l.func.iter().map(|f| f.name.clone())),
            _ => {}
        }
    }
    let (f, inner) = called.iter().find_map(|f| tainted.get(f).map(|r| (f, r)))?;
    Some(Reach {
        node: n.name.clone(),
        op: n.op.clone(),
        class: inner.class,
        arguments: vec![format!("calls {f}, which runs {} ({})", inner.node, inner.op)],
        function: None,
        own_saver: false,
    })
}
