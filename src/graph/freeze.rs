//! Freezing layers: a StopGradient at a tensor (`tf.stop_gradient`) rewired into the GraphDef
//! before import, choosing which variables a training op may update (`minimize(var_list=...)`)
//! by regex, and which variables a loss can reach at all.

use regex::Regex;

use crate::error::{Error, Result, Role};
use crate::graph::var::VarKind;
use crate::proto::{attr_type, GraphDef, NodeDef};
use crate::tf::parse_tensor_name;

/// Rewrite `gd` so every consumer of `tensor` reads it through a new StopGradient node named
/// `node_name` instead. Returns the new tensor's name. `dtype` is the tensor's TF dtype code
/// (the StopGradient's `T` attribute).
pub fn insert_stop_gradient(gd: &mut GraphDef, tensor: &str, node_name: &str, dtype: i32) -> Result<String> {
    let (src_op, src_idx) = parse_tensor_name(tensor);
    if !gd.node.iter().any(|n| n.name == src_op) {
        return Err(Error::arg(Role::FreezeBelow, Some(tensor), "no such operation in the graph"));
    }
    if gd.node.iter().any(|n| n.name == node_name) {
        return Err(Error::arg(Role::Prefix, None, format!("a node named {node_name} already exists; choose another prefix")));
    }
    let matches = |inp: &str| {
        if inp.starts_with('^') {
            return false; // control edges carry no gradient
        }
        let (op, idx) = parse_tensor_name(inp);
        op == src_op && idx == src_idx
    };
    let mut rewired = 0;
    for n in gd.node.iter_mut() {
        for inp in n.input.iter_mut() {
            if matches(inp) {
                *inp = node_name.to_string();
                rewired += 1;
            }
        }
    }
    let input = if src_idx == 0 { src_op.to_string() } else { format!("{src_op}:{src_idx}") };
    let mut attr = std::collections::BTreeMap::new();
    attr.insert("T".to_string(), attr_type(dtype));
    gd.node.push(NodeDef { name: node_name.to_string(), op: "StopGradient".into(), input: vec![input], attr, ..Default::default() });
    if rewired == 0 {
        return Err(Error::arg(Role::FreezeBelow, Some(tensor), "nothing consumes this tensor, so a stop_gradient there freezes nothing"));
    }
    Ok(format!("{node_name}:0"))
}

/// A variable-name regex (`--restore`, `--trainable`), compiled once.
pub fn compile(pattern: &str, role: Role) -> Result<Regex> {
    Regex::new(pattern).map_err(|e| {
        Error::arg(role, Some(&format!("{pattern:?}")), format!("invalid regex: {}", crate::error::first_line(&e.to_string())))
    })
}

/// Variable names matching `re` (searched anywhere in the name, like
/// `get_collection(..., scope=regex)` with re.match on scope prefixes being the common use).
pub fn select<'a>(re: &Regex, role: Role, names: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>> {
    let all: Vec<&str> = names.into_iter().collect();
    let chosen: Vec<String> = all.iter().filter(|n| re.is_match(n)).map(|n| n.to_string()).collect();
    if chosen.is_empty() {
        let pattern = format!("{:?}", re.as_str());
        return Err(Error::arg(role, Some(&pattern), format!("matches no variable (variables: {})", all.join(", "))));
    }
    Ok(chosen)
}

/// The ops `from` depends on through data edges (itself included), not looking past ops
/// for which `stop` is true (those are included).
pub fn upstream(from: &tensorflow::Operation, stop: impl Fn(&tensorflow::Operation) -> bool) -> Vec<tensorflow::Operation> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut stack = vec![from.clone()];
    while let Some(op) = stack.pop() {
        let Ok(name) = op.name() else { continue };
        if seen.insert(name) {
            if !stop(&op) {
                stack.extend((0..op.num_inputs()).map(|i| op.input(i).0));
            }
            out.push(op);
        }
    }
    out
}

/// Names of the variable ops a gradient from `loss` can reach: upstream through data
/// inputs, not through StopGradient (the variables below a cut are frozen).
pub fn variables_reached(loss: &tensorflow::Output) -> std::collections::HashSet<String> {
    let blocks = |op: &tensorflow::Operation| op.op_type().is_ok_and(|t| t == "StopGradient" || t == "PreventGradient");
    upstream(&loss.operation, blocks)
        .into_iter()
        .filter(|op| op.op_type().is_ok_and(|t| VarKind::of_op_type(&t).is_some()))
        .filter_map(|op| op.name().ok())
        .collect()
}
