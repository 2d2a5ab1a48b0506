//! What an input tensor accepts: a data set's rows checked against its static shape before
//! anything runs, and the batch a fixed first dimension imposes. TF's C API feeds any shape
//! (Python refuses): a graph built for batches of 100 rows would silently compute nonsense on
//! 10 000 — a loss of `sum / 100` a hundred times too large.

use tensorflow::{Graph, Output, SessionRunArgs};

use crate::error::{Error, Result, Role};
use crate::tf::output_name;
use crate::tf::tensors::{dims_text as text, shape_dims, DynTensor};

/// An input's static shape (`None`: unknown rank; -1: unknown dimension).
pub struct InputShape {
    name: String,
    dims: Option<Vec<i64>>,
}

/// Every dimension of `shape` equals the known one of `dims`.
fn fits(dims: &[i64], shape: &[usize]) -> bool {
    dims.len() == shape.len() && dims.iter().zip(shape).all(|(&d, &s)| d < 0 || d as usize == s)
}

impl InputShape {
    /// The static shape of `x` in `graph`.
    pub fn of(graph: &Graph, x: &Output) -> Result<Self> {
        Ok(InputShape { name: output_name(x), dims: shape_dims(&graph.tensor_shape(x.clone())?) })
    }

    /// The number of rows every batch must have, if the graph fixes it.
    pub(crate) fn fixed_batch(&self) -> Option<usize> {
        self.dims.as_ref()?.first().filter(|&&d| d > 0).map(|&d| d as usize)
    }

    /// Whether an array of `shape` may be fed (every known dimension equal).
    pub fn check_array(&self, role: Role, shape: &[usize]) -> Result<()> {
        match &self.dims {
            Some(dims) if !fits(dims, shape) => {
                Err(Error::arg(role, Some(&self.name), format!("takes {} but is given {shape:?}", text(dims))))
            }
            _ => Ok(()),
        }
    }

    /// Whether rows of `row` shape fit after the batch dimension.
    pub(crate) fn check_rows(&self, role: Role, row: &[usize]) -> Result<()> {
        match &self.dims {
            Some(dims) if dims.is_empty() || !fits(&dims[1..], row) => {
                Err(Error::arg(role, Some(&self.name), format!("takes {} but the data's rows are {row:?}", text(dims))))
            }
            _ => Ok(()),
        }
    }

    /// The shape each row is fed in: the data's own when the input takes it, else the input's
    /// (`[28, 28, 1]` for rows of 784 values: row-major data reshapes as is), else an error.
    pub fn row_dims(&self, role: Role, row: &[usize]) -> Result<Vec<usize>> {
        let fits = self.check_rows(role, row);
        let Some(dims) = &self.dims else { return fits.map(|_| row.to_vec()) };
        let wanted: Option<Vec<usize>> = dims.iter().skip(1).map(|&d| usize::try_from(d).ok()).collect();
        match (fits, wanted) {
            (Ok(()), _) => Ok(row.to_vec()),
            (Err(_), Some(w)) if w.iter().product::<usize>() == row.iter().product::<usize>() => Ok(w),
            (Err(e), _) => Err(e),
        }
    }

    /// The rows per run for `n` rows: `wanted` (0: all at once), unless the graph fixes the
    /// batch, which must then divide `n`.
    pub fn batch(&self, role: Role, wanted: usize, n: usize) -> Result<usize> {
        match self.fixed_batch() {
            None => Ok(if wanted == 0 { n } else { wanted.min(n) }),
            Some(b) if n.is_multiple_of(b) => Ok(b),
            Some(b) => {
                Err(Error::arg(role, Some(&self.name), format!("takes batches of exactly {b} rows, and {n} rows do not split into them")))
            }
        }
    }
}

/// How labels are fed: one per row (`[n]`), or as a column (`[n, 1]`) as many exports keep
/// them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelLayout {
    /// `[n]`.
    Flat,
    /// `[n, 1]`.
    Column,
}

impl LabelLayout {
    /// The layout the labels tensor `y` takes; anything wider than one label a row is refused.
    pub fn of(graph: &Graph, y: &Output) -> Result<Self> {
        match shape_dims(&graph.tensor_shape(y.clone())?) {
            Some(d) if d.len() == 2 && d[1] == 1 => Ok(LabelLayout::Column),
            Some(d) if d.len() >= 2 => {
                let msg = format!("takes {}; tfreuse feeds one integer class label a row ([n] or [n, 1])", text(&d));
                Err(Error::arg(Role::Labels, Some(&output_name(y)), msg))
            }
            _ => Ok(LabelLayout::Flat),
        }
    }

    /// The dimensions of `n` labels.
    pub fn dims(self, n: usize) -> Vec<usize> {
        match self {
            LabelLayout::Flat => vec![n],
            LabelLayout::Column => vec![n, 1],
        }
    }
}

/// Tensors fed the same value in every run, built once: training flags, and scalars the
/// user sets (`--set keep_prob:0=1`, as dropout models need).
/// Each feed comes with its value as text (what a feature cache's key records).
#[derive(Default)]
pub struct FixedFeeds(Vec<(Output, DynTensor, String)>);

impl FixedFeeds {
    /// Each tensor fed `value`, or its negation when `negate` (everything but a training step).
    pub fn new(flags: &[(Output, bool)], negate: bool) -> Self {
        FixedFeeds(
            flags
                .iter()
                .map(|(o, v)| (o.clone(), DynTensor::Bool(tensorflow::Tensor::from(*v != negate)), (*v != negate).to_string()))
                .collect(),
        )
    }

    /// These feeds and `sets` (a later value for the same tensor wins).
    pub fn with(mut self, sets: &[Setting]) -> Self {
        for s in sets {
            self.0.retain(|(o, _, _)| output_name(o) != output_name(&s.tensor));
            self.0.push((s.tensor.clone(), s.value.to_tensor(), crate::tf::tensors::summary(&s.value)));
        }
        self
    }

    /// `tensor=value` for each feed.
    pub fn describe(&self) -> Vec<String> {
        self.0.iter().map(|(o, _, v)| format!("{}={v}", output_name(o))).collect()
    }

    pub(crate) fn add_to<'a>(&'a self, args: &mut SessionRunArgs<'a>) {
        for (o, t, _) in &self.0 {
            t.feed(args, &o.operation, o.index);
        }
    }

    /// The tensors fed, and `also` (for [`crate::graph::trust::Gate::check`]).
    pub(crate) fn fed<'a>(&'a self, also: &[&'a Output]) -> Vec<&'a Output> {
        self.0.iter().map(|(o, _, _)| o).chain(also.iter().copied()).collect()
    }

    /// As `(tensor, value)` feeds for [`crate::Model::run`].
    pub fn pairs(&self) -> impl Iterator<Item = (Output, &DynTensor)> {
        self.0.iter().map(|(o, t, _)| (o.clone(), t))
    }
}

/// A scalar tensor the user sets to one value (`--set TENSOR=VALUE`).
#[derive(Clone)]
pub struct Setting {
    /// The tensor.
    pub tensor: Output,
    /// Its value, in its dtype.
    pub value: crate::tf::tensors::DynArray,
}

impl Setting {
    /// `name` found in `graph`, `value` cast to its dtype; it must take a scalar.
    pub fn resolve(graph: &Graph, role: Role, name: &str, value: f64) -> Result<Setting> {
        let tensor = crate::tf::find_output(graph, name).map_err(|e| e.for_arg(role))?;
        if let Some(dims) = shape_dims(&graph.tensor_shape(tensor.clone())?).filter(|d| !d.is_empty()) {
            return Err(Error::arg(role, Some(name), format!("takes {}; a set value is a scalar", text(&dims))));
        }
        let dtype = crate::tf::tensors::output_dtype(&tensor);
        let scalar = crate::tf::tensors::DynArray::F64(ndarray::arr0(value).into_dyn());
        let value = scalar.cast(dtype).map_err(|e| Error::arg(role, Some(name), e.to_string()))?;
        Ok(Setting { tensor, value })
    }

    /// Each `(name, value)` resolved (see [`Setting::resolve`]).
    pub fn resolve_all(graph: &Graph, role: Role, sets: &[(String, f64)]) -> Result<Vec<Setting>> {
        sets.iter().map(|(n, v)| Setting::resolve(graph, role, n, *v)).collect()
    }
}
