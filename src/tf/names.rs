//! Names of tensors and operations (`dnn/hidden4/Relu:0`, `GradientDescent`): parsing them and
//! finding them in a graph, with "did you mean …?" suggestions when they are not there.

use tensorflow::{Graph, Operation, Output};

use crate::error::{Error, Result};
use crate::suggest::{closest, did_you_mean};

/// `dnn/hidden1/Relu:0` -> `dnn/hidden1/Relu`; `^init` -> `init`.
pub fn op_name(tensor: &str) -> &str {
    parse_tensor_name(tensor.strip_prefix('^').unwrap_or(tensor)).0
}

/// `name:3` -> ("name", 3); `name` -> ("name", 0).
pub fn parse_tensor_name(tensor: &str) -> (&str, usize) {
    match tensor.rsplit_once(':') {
        Some((op, idx)) if !idx.is_empty() && idx.bytes().all(|b| b.is_ascii_digit()) => (op, idx.parse().unwrap_or(usize::MAX)),
        _ => (tensor, 0),
    }
}

/// `op:index` of a graph tensor.
pub fn output_name(o: &Output) -> String {
    format!("{}:{}", o.operation.name().unwrap_or_default(), o.index)
}

/// An operation of `graph` by name, or an error suggesting the closest names.
pub fn find_operation(graph: &Graph, name: &str) -> Result<Operation> {
    if let Some(op) = graph.operation_by_name(name).ok().flatten() {
        return Ok(op);
    }
    let names: Vec<String> = graph.operation_iter().filter_map(|op| op.name().ok()).collect();
    let s = closest(name, names.iter().map(String::as_str), 3);
    Err(Error::NotFound(format!("no operation {name:?} in the graph{}", did_you_mean(&s))))
}

/// A tensor of `graph` (`op:index`, or `op` for output 0), or an error suggesting names.
pub fn find_output(graph: &Graph, name: &str) -> Result<Output> {
    let (op_name, index) = parse_tensor_name(name);
    let Some(op) = graph.operation_by_name(op_name).ok().flatten() else {
        let names = tensor_names(graph);
        let s = closest(name, names.iter().map(String::as_str), 3);
        return Err(Error::NotFound(format!("no tensor {name:?} in the graph{}", did_you_mean(&s))));
    };
    if index >= op.num_outputs() {
        let outs: Vec<String> = (0..op.num_outputs().min(3)).map(|i| format!("{op_name}:{i}")).collect();
        return Err(Error::NotFound(format!(
            "no tensor {name:?}: operation {op_name} has {} output(s){}",
            op.num_outputs(),
            did_you_mean(&outs)
        )));
    }
    Ok(Output { operation: op, index: index as i32 })
}

/// `op:i` for every output of every operation.
pub fn tensor_names(graph: &Graph) -> Vec<String> {
    let mut out = Vec::new();
    for op in graph.operation_iter() {
        if let Ok(n) = op.name() {
            out.extend((0..op.num_outputs()).map(|i| format!("{n}:{i}")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_names() {
        assert_eq!(parse_tensor_name("dnn/hidden4/Relu:0"), ("dnn/hidden4/Relu", 0));
        assert_eq!(parse_tensor_name("a:12"), ("a", 12));
        assert_eq!(parse_tensor_name("GradientDescent"), ("GradientDescent", 0));
        assert_eq!(op_name("^init"), "init");
        assert_eq!(op_name("x:y"), "x:y");
    }
}
