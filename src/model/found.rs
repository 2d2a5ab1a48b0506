//! The tensors a graph is fed when none is named: the book's `X:0` and `y:0` when the graph
//! has them, else its only placeholder that looks like one. Read from the GraphDef, before
//! TensorFlow loads, so a wrong or missing input is the first thing said.

use crate::error::{Error, Result, Role};
use crate::model::MetaGraph;
use crate::proto::attr_value::Value;
use crate::proto::{DataType, NodeDef};

/// A tensor found to feed, and whether it was guessed (not the book's name).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The tensor, `name:0`.
    pub tensor: String,
    /// Why it was chosen, when it is not the book's name: "the graph's only …".
    pub guessed: Option<&'static str>,
}

/// The input: `X:0` when the graph has it, else its only float placeholder of rank ≥ 2 (or
/// uint8 of rank 4, a picture batch); a `PlaceholderWithDefault` only when no plain
/// placeholder qualifies, since feeding it is optional.
pub fn input(meta: &MetaGraph) -> Result<Found> {
    let g = meta.graph_def()?;
    if has_op(&g.node, "X") {
        return Ok(Found { tensor: "X:0".into(), guessed: None });
    }
    let why = "the graph's only float placeholder of rank 2 or more";
    match candidates(&g.node, is_input).as_slice() {
        [one] => Ok(Found { tensor: format!("{}:0", one.name), guessed: Some(why) }),
        [] => Err(Error::arg(
            Role::Input,
            Some("X:0"),
            "no such tensor, and no placeholder of the graph looks like an input (float, of rank 2 or more)",
        )),
        several => {
            let msg = format!("missing: the graph has no X:0, and these placeholders could be the input: {}", listed(several));
            Err(Error::arg(Role::Input, None, msg))
        }
    }
}

/// The labels: `y:0` when the graph has it, else its only integer placeholder of shape `[N]`
/// or `[N, 1]`; `None` when it has neither or several (a new head then makes its own).
pub fn labels(meta: &MetaGraph) -> Result<Option<Found>> {
    let g = meta.graph_def()?;
    if has_op(&g.node, "y") {
        return Ok(Some(Found { tensor: "y:0".into(), guessed: None }));
    }
    let why = "the graph's only integer placeholder of shape [N] or [N, 1]";
    Ok(match candidates(&g.node, is_labels).as_slice() {
        [one] => Some(Found { tensor: format!("{}:0", one.name), guessed: Some(why) }),
        _ => None,
    })
}

/// That the graph has an operation for `tensor` (its outputs are not counted before TF loads),
/// else the "no tensor" error TF's lookup gives, with suggestions.
pub fn exists(meta: &MetaGraph, tensor: &str) -> Result<()> {
    let g = meta.graph_def()?;
    let op = crate::tf::op_name(tensor);
    if has_op(&g.node, op) {
        return Ok(());
    }
    let names: Vec<String> = g.node.iter().map(|n| format!("{}:0", n.name)).collect();
    let near = crate::suggest::closest(tensor, names.iter().map(String::as_str), 3);
    Err(Error::NotFound(format!("no tensor {tensor:?} in the graph{}", crate::suggest::did_you_mean(&near))))
}

fn has_op(nodes: &[NodeDef], name: &str) -> bool {
    nodes.iter().any(|n| n.name == name)
}

/// The plain placeholders `fits`, else the ones with a default that do, less those whose
/// default is computed from another of them (retrain.py's `BottleneckInputPlaceholder`, a
/// way into the middle of the graph, not its input).
fn candidates(nodes: &[NodeDef], fits: fn(DataType, &[i64]) -> bool) -> Vec<&NodeDef> {
    let of = |op: &str| -> Vec<&NodeDef> {
        nodes.iter().filter(|n| n.op == op && dims(n).is_some_and(|d| dtype(n).is_some_and(|t| fits(t, &d)))).collect()
    };
    let plain = of("Placeholder");
    if !plain.is_empty() {
        return plain;
    }
    let defaulted = of("PlaceholderWithDefault");
    let names: std::collections::HashSet<&str> = defaulted.iter().map(|n| n.name.as_str()).collect();
    let own = defaulted.iter().copied().filter(|n| !computed_from(nodes, n, &names)).collect::<Vec<_>>();
    if own.is_empty() {
        defaulted
    } else {
        own
    }
}

/// Whether `node`'s inputs, followed down, reach an op named in `names`.
fn computed_from(nodes: &[NodeDef], node: &NodeDef, names: &std::collections::HashSet<&str>) -> bool {
    let by_name: std::collections::HashMap<&str, &NodeDef> = nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    let op = |input: &str| input.trim_start_matches('^').split(':').next().unwrap_or_default().to_string();
    let mut todo: Vec<String> = node.input.iter().map(|i| op(i)).collect();
    let mut seen = std::collections::HashSet::new();
    while let Some(name) = todo.pop() {
        if names.contains(name.as_str()) {
            return true;
        }
        if let Some(n) = by_name.get(name.as_str()).filter(|_| seen.insert(name.clone())) {
            todo.extend(n.input.iter().map(|i| op(i)));
        }
    }
    false
}

fn is_input(t: DataType, dims: &[i64]) -> bool {
    let float = matches!(t, DataType::DtFloat | DataType::DtHalf | DataType::DtDouble | DataType::DtBfloat16);
    (float && dims.len() >= 2) || (t == DataType::DtUint8 && dims.len() == 4)
}

fn is_labels(t: DataType, dims: &[i64]) -> bool {
    matches!(t, DataType::DtInt32 | DataType::DtInt64) && (dims.len() == 1 || (dims.len() == 2 && dims[1] == 1))
}

fn dtype(n: &NodeDef) -> Option<DataType> {
    match n.attr.get("dtype")?.value.as_ref()? {
        Value::Type(t) => DataType::try_from(*t).ok(),
        _ => None,
    }
}

/// The declared shape; a known rank only.
fn dims(n: &NodeDef) -> Option<Vec<i64>> {
    match n.attr.get("shape")?.value.as_ref()? {
        Value::Shape(s) if !s.unknown_rank => Some(s.dim.iter().map(|d| d.size).collect()),
        _ => None,
    }
}

fn listed(nodes: &[&NodeDef]) -> String {
    let one = |n: &&NodeDef| format!("{}:0 {:?}", n.name, dims(n).unwrap_or_default());
    nodes.iter().map(one).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(text: &str) -> MetaGraph {
        MetaGraph::from_graph_bytes(text.as_bytes().to_vec(), true, std::path::Path::new("t.pbtxt")).unwrap()
    }

    fn placeholder(name: &str, op: &str, dtype: &str, dims: &[i64]) -> String {
        let d: String = dims.iter().map(|s| format!("dim {{ size: {s} }} ")).collect();
        format!(
            r#"node {{ name: "{name}" op: "{op}" attr {{ key: "dtype" value {{ type: {dtype} }} }} attr {{ key: "shape" value {{ shape {{ {d} }} }} }} }}"#
        )
    }

    #[test]
    fn the_books_names_first_then_the_only_candidate() {
        let book = meta(&(placeholder("X", "Placeholder", "DT_FLOAT", &[-1, 784]) + &placeholder("y", "Placeholder", "DT_INT64", &[-1])));
        assert_eq!(input(&book).unwrap(), Found { tensor: "X:0".into(), guessed: None });
        assert_eq!(labels(&book).unwrap().unwrap().tensor, "y:0");
        let other = meta(
            &(placeholder("images", "Placeholder", "DT_FLOAT", &[-1, 32, 32, 3])
                + &placeholder("labels", "Placeholder", "DT_INT32", &[-1, 1])
                + &placeholder("keep_prob", "Placeholder", "DT_FLOAT", &[])
                + &placeholder("bottleneck", "PlaceholderWithDefault", "DT_FLOAT", &[-1, 100])),
        );
        let found = input(&other).unwrap();
        assert_eq!(found.tensor, "images:0");
        assert!(found.guessed.is_some());
        assert_eq!(labels(&other).unwrap().unwrap().tensor, "labels:0");
    }

    #[test]
    fn a_default_only_when_nothing_else_and_several_are_listed() {
        let with_default = meta(&placeholder("in", "PlaceholderWithDefault", "DT_FLOAT", &[1, 8]));
        assert_eq!(input(&with_default).unwrap().tensor, "in:0");
        let two =
            meta(&(placeholder("a", "Placeholder", "DT_FLOAT", &[-1, 4]) + &placeholder("b", "Placeholder", "DT_UINT8", &[1, 2, 2, 3])));
        let err = input(&two).unwrap_err().to_string();
        assert!(err.contains("a:0 [-1, 4], b:0 [1, 2, 2, 3]"), "{err}");
        let both_defaulted = meta(
            &(placeholder("a", "PlaceholderWithDefault", "DT_FLOAT", &[1, 4])
                + &placeholder("b", "PlaceholderWithDefault", "DT_FLOAT", &[-1, 2])),
        );
        let err = input(&both_defaulted).unwrap_err().to_string();
        assert!(err.contains("a:0 [1, 4], b:0 [-1, 2]"), "{err}");
        // retrain.py's bottleneck placeholder defaults to what the input computes: not an input.
        let bottleneck = placeholder("b", "PlaceholderWithDefault", "DT_FLOAT", &[-1, 2]).replace("op:", r#"input: "^c" input: "f:1" op:"#);
        let feature = r#"node { name: "f" op: "Unpack" input: "a" } node { name: "c" op: "NoOp" }"#;
        let retrain = meta(&(placeholder("a", "PlaceholderWithDefault", "DT_FLOAT", &[1, 4]) + feature + &bottleneck));
        assert_eq!(input(&retrain).unwrap().tensor, "a:0");
        let none = meta(&placeholder("flag", "Placeholder", "DT_BOOL", &[]));
        assert!(input(&none).unwrap_err().to_string().contains("no placeholder"));
        assert_eq!(labels(&none).unwrap(), None);
    }
}
