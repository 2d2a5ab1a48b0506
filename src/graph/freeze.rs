//! Freezing layers: a StopGradient at a tensor (`tf.stop_gradient`) rewired into the GraphDef
//! before import, choosing which variables a training op may update (`minimize(var_list=...)`)
//! by regex, and which variables a loss can reach at all.

use regex::Regex;

use crate::error::{Error, Result, Role};
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

/// The ops a gradient from `loss` passes: upstream through data inputs, not through
/// StopGradient (the variables below a cut are frozen).
pub fn gradient_path(loss: &tensorflow::Output) -> Vec<tensorflow::Operation> {
    upstream(&loss.operation, stops_gradient)
}

fn stops_gradient(op: &tensorflow::Operation) -> bool {
    op.op_type().is_ok_and(|t| t == "StopGradient" || t == "PreventGradient")
}

/// TF1 control flow (`while_loop`, `cond`): its gradients need Python's control-flow
/// machinery, and `TF_AddGradients` crashes on a while loop.
const CONTROL_FLOW: &[&str] =
    &["Enter", "RefEnter", "Exit", "RefExit", "NextIteration", "RefNextIteration", "Merge", "RefMerge", "Switch", "RefSwitch", "LoopCond"];

/// Ops whose C++ gradient TF lacks.
const NO_CPP_GRADIENT: &[&str] = &["SparseSoftmaxCrossEntropyWithLogits", "FusedBatchNorm", "OnesLike"];

/// Whether TF's C API cannot take a gradient through ops of type `ty`.
pub fn lacks_gradient(ty: &str) -> bool {
    CONTROL_FLOW.contains(&ty) || NO_CPP_GRADIENT.contains(&ty)
}

/// An op without a gradient on the way from the loss to variables that are to train.
#[derive(Clone, Debug, PartialEq)]
pub struct Blocker {
    pub op: String,
    pub op_type: String,
    /// The variables whose gradient would have to pass through it.
    pub variables: Vec<String>,
}

/// The ops [`lacks_gradient`] names that lie between `loss` and any of `vars` (through data
/// inputs, not past a StopGradient), with the variables behind each, in graph order.
pub fn gradient_blockers(loss: &tensorflow::Output, vars: &[String]) -> Vec<Blocker> {
    let mut out = Vec::new();
    for op in gradient_path(loss) {
        let ty = op.op_type().unwrap_or_default();
        if !lacks_gradient(&ty) {
            continue;
        }
        let behind: Vec<String> = upstream(&op, stops_gradient).iter().filter_map(|o| o.name().ok()).filter(|n| vars.contains(n)).collect();
        if !behind.is_empty() {
            out.push(Blocker { op: op.name().unwrap_or_default(), op_type: ty, variables: behind });
        }
    }
    out.sort_by(|a, b| a.op.cmp(&b.op));
    out
}

/// Why there is no gradient through ops of type `ty`, and what to do instead.
pub fn no_gradient_hint(ty: &str) -> &'static str {
    match ty {
        "SparseSoftmaxCrossEntropyWithLogits" => {
            "TF has no C++ gradient for it: give the logits as the branch tensor, and tfreuse builds a loss it can differentiate"
        }
        "FusedBatchNorm" => {
            "TF has no C++ gradient for it (FusedBatchNormV3 has one): freeze the layers below it, or leave them out of training"
        }
        t if CONTROL_FLOW.contains(&t) => {
            "TF1 control flow (while_loop, cond) cannot be differentiated through TF's C API: freeze what is below it (a freeze \
             tensor where it ends), or leave its variables out of the trainable pattern"
        }
        _ => "TF has no C++ gradient for it: freeze the layers below it, or leave them out of training",
    }
}
