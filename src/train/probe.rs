//! A branch tensor whose shape TF's shape inference leaves open (a reshape to a computed
//! shape, an op without a shape function) gets it from one run: the graph imported again into
//! a throwaway session, its variables initialised there (their values don't matter, and the
//! model's own session keeps its random state untouched), zeros fed to the input.

use tensorflow::{Graph, Output, Session};

use crate::error::{Error, Result, Role};
use crate::feed::Setting;
use crate::model::{import_graph, Model};
use crate::train::spec::ModelSpec;
use crate::tf::tensors::{dims_text, output_dtype, shape_dims, DynArray, DynTensor};
use crate::tf::{find_operation, find_output, output_name};

/// The dimensions of `branch` when its static shape lacks any but the batch: from one run on
/// zeros (batch -1), with a note for the user. `None` when the graph knows them. The input's
/// open dimensions are taken from the data's examples (`spec.example_shape`).
pub fn branch_dims(model: &Model, x: &Output, branch: &str, spec: &ModelSpec) -> Result<Option<(Vec<i64>, String)>> {
    let sets = &spec.set;
    let t = crate::graph::stack::find_branch(&model.graph, branch, Role::BranchFrom)?;
    let known = shape_dims(&model.graph.tensor_shape(t.clone())?);
    if let Some(d) = &known {
        if d.len() < 2 || d[1..].iter().all(|&n| n >= 0) {
            return Ok(None); // known, or not a layer's input at all (the layers say so)
        }
    }
    let shape = known.as_ref().map_or("an unknown shape".to_string(), |d| dims_text(d));
    let zeros = input_zeros(model, x, branch, &shape, spec.example_shape.as_deref())?;
    let mut meta = model.meta.clone();
    let mut graph = Graph::new();
    import_graph(&mut graph, &mut meta)?;
    let session = Session::new(&crate::tf::SessionConfig::default().options()?, &graph)?;
    let inits = meta.variables()?.iter().map(|d| find_operation(&graph, &d.initializer_name)).collect::<Result<Vec<_>>>()?;
    if !inits.is_empty() {
        model.gate.check(&inits.iter().collect::<Vec<_>>(), &[])?;
        crate::tf::session::run(&session, &[], &[], &inits)?;
    }
    let sets = Setting::resolve_all(&graph, Role::Set, sets)?;
    let x = find_output(&graph, &output_name(x))?;
    let tensors: Vec<(Output, DynTensor)> =
        std::iter::once((x, zeros.to_tensor())).chain(sets.iter().map(|s| (s.tensor.clone(), s.value.to_tensor()))).collect();
    let feeds: Vec<(Output, &DynTensor)> = tensors.iter().map(|(o, t)| (o.clone(), t)).collect();
    let fetch = find_output(&graph, branch)?;
    model.gate.check(&[&fetch.operation], &feeds.iter().map(|(o, _)| o).collect::<Vec<_>>())?;
    let out = crate::tf::session::run(&session, &feeds, &[fetch], &[]).map_err(|e| {
        Error::arg(Role::BranchFrom, Some(branch), format!("has {shape} to TF, and one run on zeros to learn it failed: {e}"))
    })?;
    let mut dims: Vec<i64> = out[0].shape().iter().map(|&d| d as i64).collect();
    if let Some(b) = dims.first_mut() {
        *b = -1;
    }
    let note = format!(
        "{branch} has {shape} to TF's shape inference; one run on zeros gave {}: the new layers are built for it",
        dims_text(&dims)
    );
    Ok(Some((dims, note)))
}

/// Zeros for one batch of input `x` (its fixed batch, else one row); every other dimension
/// must be known, or given by one `example` of the data.
fn input_zeros(model: &Model, x: &Output, branch: &str, shape: &str, example: Option<&[usize]>) -> Result<DynArray> {
    let dims = shape_dims(&model.graph.tensor_shape(x.clone())?).unwrap_or_default();
    let example = example.filter(|e| e.len() + 1 == dims.len());
    let row: Option<Vec<usize>> =
        dims.iter().skip(1).enumerate().map(|(i, &d)| usize::try_from(d).ok().or_else(|| example.map(|e| e[i]))).collect();
    let Some(row) = row.filter(|_| !dims.is_empty()) else {
        let why =
            format!("has {shape} to TF, and a run to learn it needs an input of known shape; {} has {}", output_name(x), dims_text(&dims));
        return Err(Error::arg(Role::BranchFrom, Some(branch), why));
    };
    let batch = usize::try_from(dims[0]).unwrap_or(1);
    let shape: Vec<usize> = std::iter::once(batch).chain(row).collect();
    DynArray::F64(ndarray::ArrayD::zeros(ndarray::IxDyn(&shape))).cast(output_dtype(x))
}
