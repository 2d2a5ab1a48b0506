//! Caching frozen layers: compute the cut (see [`crate::graph::cut`]) once for every split, in
//! one contiguous buffer, and train the upper layers by feeding it, as the book does with
//! `hidden2`.

use tensorflow::{DataType, Graph, Output, SessionRunArgs, Tensor};

use crate::data::{DataSet, Split};
use crate::error::{Error, Result};
use crate::model::Model;

fn name(op: &tensorflow::Operation) -> String {
    op.name().unwrap_or_default()
}

/// Bytes a cache of `cut` for `data` would take, if its shape is known.
pub fn cache_bytes(graph: &Graph, cut: &Output, data: &DataSet) -> Result<usize> {
    let row: usize = row_shape(graph, cut)?.iter().product();
    Ok(data.splits.values().map(|s| s.len() * row * 4).sum())
}

/// Shape of one row of `cut` (float32, every dimension but the batch known).
fn row_shape(graph: &Graph, cut: &Output) -> Result<Vec<usize>> {
    let dtype = crate::tf::tensors::output_dtype(cut);
    if dtype != DataType::Float {
        return Err(Error::Invalid(format!("cannot cache {}: dtype is not float32", name(&cut.operation))));
    }
    let shape = graph.tensor_shape(cut.clone())?;
    let dims = crate::tf::tensors::shape_dims(&shape).ok_or_else(|| Error::Invalid("cannot cache a tensor of unknown rank".into()))?;
    dims.iter()
        .skip(1)
        .map(|&d| usize::try_from(d).ok())
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| Error::Invalid(format!("cannot cache {}: its shape {dims:?} is not known", name(&cut.operation))))
}

/// Compute `cut` for every row of `split` (feeding `x`), `batch` rows per run; one
/// contiguous f32 buffer.
/// `flags`: bool tensors fed with every run (training flags, false).
pub fn compute(
    model: &Model,
    x: &Output,
    cut: &Output,
    split: &Split,
    batch: usize,
    flags: &crate::feed::FixedFeeds,
    progress: &mut dyn FnMut(usize),
) -> Result<Split> {
    let feature_shape = row_shape(&model.graph, cut)?;
    let row: usize = feature_shape.iter().product();
    let n = split.len();
    let input = crate::feed::InputShape::of(&model.graph, x)?;
    let row_dims = input.row_dims(crate::Role::Input, &split.feature_shape)?;
    let dtype = crate::tf::tensors::output_dtype(x);
    let batch = input.batch(crate::Role::Input, batch, n)?;
    let mut out = vec![0f32; n * row];
    let mut start = 0;
    while start < n {
        let end = (start + batch).min(n);
        let xt = split.tensor(start, end, dtype, &row_dims)?;
        let mut args = SessionRunArgs::new();
        xt.feed(&mut args, &x.operation, x.index);
        flags.add_to(&mut args);
        let tok = args.request_fetch(&cut.operation, cut.index);
        model.session.run(&mut args)?;
        let t: Tensor<f32> = args.fetch(tok)?;
        out[start * row..end * row].copy_from_slice(&t);
        progress(end - start);
        start = end;
    }
    Ok(Split { x: crate::data::Features::F32(out), y: split.y.clone(), feature_shape })
}
