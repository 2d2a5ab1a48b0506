//! Caching frozen layers: find the tensor below which nothing trains (the cut), compute it
//! once for every split, and train the upper layers by feeding it, as the book does with
//! `hidden2`.

use std::collections::{HashMap, HashSet};

use tensorflow::{DataType, Graph, Operation, Output, SessionRunArgs, Tensor};

use crate::data::{DataSet, Split};
use crate::error::{Error, Result};
use crate::model::Model;

/// Ops whose output changes from run to run: a cut must have none of them upstream.
const RANDOM_OPS: &[&str] = &[
    "RandomUniform", "RandomUniformInt", "RandomStandardNormal", "TruncatedNormal", "Multinomial",
    "RandomShuffle", "RandomGamma", "RandomPoisson", "RandomPoissonV2", "RandomCrop",
];

fn name(op: &Operation) -> String {
    op.name().unwrap_or_default()
}

/// Why no cut could be found, or the cut.
pub enum CutSearch {
    Found(Output),
    None(String),
}

/// The highest tensor between `x` and `loss` whose whole upstream holds no trained variable,
/// no random op and no placeholder but `x`, when the loss depends on `x` only through it.
pub fn find_cut(graph: &Graph, x: &Output, loss: &Output, trained: &HashSet<String>) -> CutSearch {
    let anc: HashSet<String> = crate::freeze::upstream(&loss.operation, |_| false).iter().map(name).collect();
    let x_name = name(&x.operation);
    if !anc.contains(&x_name) {
        return CutSearch::None(format!("the loss does not depend on {x_name}"));
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
    let mut memo: HashMap<String, bool> = HashMap::new();
    let mut frontier: Vec<Output> = Vec::new();
    for op_name in &path {
        let Some(op) = graph.operation_by_name(op_name).ok().flatten() else { continue };
        if !clean(&op, &x_name, trained, &mut memo) {
            continue;
        }
        for i in 0..op.num_outputs() {
            let feeds_dirty = op
                .output_consumers(i)
                .iter()
                .any(|(c, _)| path.contains(&name(c)) && !clean(c, &x_name, trained, &mut memo));
            if feeds_dirty {
                frontier.push(Output { operation: op.clone(), index: i as i32 });
            }
        }
    }
    match frontier.as_slice() {
        [] => CutSearch::None("nothing between the input and the loss is frozen".into()),
        [one] if name(&one.operation) == x_name => CutSearch::None("the first layer trains, so nothing below it is frozen".into()),
        [one] => CutSearch::Found(one.clone()),
        many => CutSearch::None(format!(
            "the frozen part reaches the trained part through {} tensors ({}), not one",
            many.len(),
            many.iter().map(|o| format!("{}:{}", name(&o.operation), o.index)).collect::<Vec<_>>().join(", ")
        )),
    }
}

fn clean(op: &Operation, x_name: &str, trained: &HashSet<String>, memo: &mut HashMap<String, bool>) -> bool {
    let n = name(op);
    if let Some(&c) = memo.get(&n) {
        return c;
    }
    let ty = op.op_type().unwrap_or_default();
    let c = if n == x_name {
        true
    } else if ty == "VariableV2" || ty == "Variable" {
        !trained.contains(&n)
    } else if ty.starts_with("Placeholder") || RANDOM_OPS.contains(&ty.as_str()) || ty.starts_with("VarHandle") {
        false
    } else {
        memo.insert(n.clone(), false); // cycles (none in a DAG) stay dirty
        (0..op.num_inputs()).all(|i| clean(&op.input(i).0, x_name, trained, memo))
    };
    memo.insert(n, c);
    c
}

/// Bytes a cache of `cut` for `data` would take, if its shape is known.
pub fn cache_bytes(graph: &Graph, cut: &Output, data: &DataSet) -> Result<usize> {
    let row: usize = row_shape(graph, cut)?.iter().product();
    Ok(data.splits.values().map(|s| s.len() * row * 4).sum())
}

/// Shape of one row of `cut` (float32, every dimension but the batch known).
fn row_shape(graph: &Graph, cut: &Output) -> Result<Vec<usize>> {
    let dtype = cut.operation.output_type(cut.index as usize);
    if dtype != DataType::Float {
        return Err(Error::Invalid(format!("cannot cache {}: dtype is not float32", name(&cut.operation))));
    }
    let shape = graph.tensor_shape(cut.clone())?;
    let dims = crate::tensors::shape_dims(&shape).ok_or_else(|| Error::Invalid("cannot cache a tensor of unknown rank".into()))?;
    dims.iter()
        .skip(1)
        .map(|&d| usize::try_from(d).ok())
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| Error::Invalid(format!("cannot cache {}: its shape {dims:?} is not known", name(&cut.operation))))
}

/// Compute `cut` for every row of `split` (feeding `x`), `batch` rows per run; one
/// contiguous f32 buffer.
pub fn compute(model: &Model, x: &Output, cut: &Output, split: &Split, batch: usize, progress: &mut dyn FnMut(usize)) -> Result<Split> {
    let feature_shape = row_shape(&model.graph, cut)?;
    let row: usize = feature_shape.iter().product();
    let n = split.len();
    let mut out = vec![0f32; n * row];
    let mut start = 0;
    while start < n {
        let end = (start + batch).min(n);
        let mut dims = vec![(end - start) as u64];
        dims.extend(split.feature_shape.iter().map(|&d| d as u64));
        let mut xt = Tensor::<f32>::new(&dims);
        split.copy_rows(start, end, &mut xt);
        let mut args = SessionRunArgs::new();
        args.add_feed(&x.operation, x.index, &xt);
        let tok = args.request_fetch(&cut.operation, cut.index);
        model.session.run(&mut args)?;
        let t: Tensor<f32> = args.fetch(tok)?;
        out[start * row..end * row].copy_from_slice(&t);
        progress(end - start);
        start = end;
    }
    Ok(Split { x: crate::data::Features::F32(out), y: split.y.clone(), feature_shape })
}
