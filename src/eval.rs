//! Evaluating scalar metrics of an imported graph over a data split, the way the book's
//! `accuracy.eval(feed_dict={X: X_test, y: y_test})` does.

use crate::data::Split;
use crate::error::{Error, Result, Role};
use crate::feed::FixedFeeds;
use crate::model::Model;
use crate::tf::tensors::DynArray;
use tensorflow::Output;

/// Which tensors to feed and fetch.
#[derive(Clone, Debug)]
pub struct EvalSpec {
    /// The tensor fed the features (`X:0`).
    pub input: String,
    /// The tensor fed the labels (`y:0`).
    pub labels: String,
    /// The scalar tensors computed (`eval/accuracy:0` …).
    pub fetches: Vec<String>,
    /// Examples per run; 0 = the whole split in one run (what Python's `.eval` does).
    pub batch_size: usize,
    /// Scalar tensors fed a value in every run (`keep_prob:0` = 1).
    pub set: Vec<(String, f64)>,
}

impl EvalSpec {
    /// Fetch `fetches`, feeding the book's `X:0` and `y:0`, the whole split in one run.
    pub fn new(fetches: &[&str]) -> Self {
        EvalSpec {
            input: "X:0".into(),
            labels: "y:0".into(),
            fetches: fetches.iter().map(|f| f.to_string()).collect(),
            batch_size: 0,
            set: vec![],
        }
    }
}

impl Model {
    /// Each of `fetches` (scalars: an accuracy, a loss) averaged over `split`, fed into the
    /// book's `X:0` and `y:0`; [`evaluate`] takes other names.
    pub fn evaluate(&self, split: &Split, fetches: &[&str]) -> Result<Vec<(String, f64)>> {
        evaluate(self, split, &EvalSpec::new(fetches))
    }
}

/// Each fetched scalar averaged over the split (weighted by batch size).
pub fn evaluate(model: &Model, split: &Split, spec: &EvalSpec) -> Result<Vec<(String, f64)>> {
    let x_out = model.tensor(&spec.input).map_err(|e| e.for_arg(Role::Input))?;
    let y_out = model.tensor(&spec.labels).map_err(|e| e.for_arg(Role::Labels))?;
    let fetches = spec.fetches.iter().map(|f| model.tensor(f).map_err(|e| e.for_arg(Role::Fetch))).collect::<Result<Vec<_>>>()?;
    let set = crate::feed::Setting::resolve_all(&model.graph, Role::Set, &spec.set)?;
    let batch = Batch::Rows(spec.batch_size);
    let values = evaluate_outputs(model, split, &x_out, &y_out, &fetches, batch, &FixedFeeds::default().with(&set))?;
    Ok(spec.fetches.iter().cloned().zip(values).collect())
}

/// How many rows a run is fed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Batch {
    /// That many (0: all at once), unless the input fixes its batch.
    Rows(usize),
    /// All at once, whatever batch the tensor's static shape shows: the cut of a graph of a
    /// fixed batch with only new layers above it (see [`crate::graph::cut::only_new_above`]).
    Any,
}

/// Scalars `fetches` averaged over `split`, feeding `x` (features, as its dtype wants them)
/// and `y` (labels, cast to its dtype) `batch` rows at a time, and the bool `flags` their
/// values.
pub(crate) fn evaluate_outputs(
    model: &Model,
    split: &Split,
    x_out: &Output,
    y_out: &Output,
    fetches: &[Output],
    batch: Batch,
    flags: &FixedFeeds,
) -> Result<Vec<f64>> {
    if split.is_empty() {
        return Err(Error::Invalid("the split is empty: nothing to evaluate".into()));
    }
    let y_dtype = crate::tf::tensors::output_dtype(y_out);
    let (x_dtype, row, bs) = input_batches(model, split, x_out, batch)?;
    let n = split.len();
    let layout = crate::feed::LabelLayout::of(&model.graph, y_out)?;
    let mut sums = vec![0f64; fetches.len()];
    let mut start = 0;
    while start < n {
        let end = (start + bs).min(n);
        let xt = split.tensor(start, end, x_dtype, &row).map_err(|e| e.for_arg(Role::Input))?;
        let labels =
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&layout.dims(end - start)), split.y[start..end].to_vec()).expect("n labels");
        let yt = DynArray::I64(labels).cast(y_dtype)?.to_tensor();
        let mut feeds = vec![(x_out.clone(), &xt), (y_out.clone(), &yt)];
        feeds.extend(flags.pairs());
        let values = model.run(&feeds, fetches, &[])?;
        for (i, v) in values.iter().enumerate() {
            if !v.shape().is_empty() {
                let name = crate::tf::output_name(&fetches[i]);
                let msg = format!("eval averages scalars but this tensor has shape {:?}; use `tfreuse run` for tensors", v.shape());
                return Err(Error::arg(Role::Fetch, Some(&name), msg));
            }
            sums[i] += v.to_f64()[0] * (end - start) as f64;
        }
        start = end;
    }
    Ok(sums.into_iter().map(|s| s / n as f64).collect())
}

/// How `split` is fed to `x_out`: the input's dtype, each row's dimensions, and the rows per
/// run.
fn input_batches(model: &Model, split: &Split, x_out: &Output, batch: Batch) -> Result<(tensorflow::DataType, Vec<usize>, usize)> {
    let shape = crate::feed::InputShape::of(&model.graph, x_out)?;
    let row = shape.row_dims(Role::Input, &split.feature_shape)?;
    let rows = match batch {
        Batch::Rows(size) => shape.batch(Role::Input, size, split.len())?,
        Batch::Any => split.len(),
    };
    Ok((crate::tf::tensors::output_dtype(x_out), row, rows))
}

/// The logits of every row of `split`, a row each, `batch_size` rows a run (0: all at once).
pub fn logits(
    model: &Model,
    split: &Split,
    x_out: &Output,
    logits: &Output,
    batch_size: usize,
    flags: &FixedFeeds,
) -> Result<Vec<Vec<f32>>> {
    let (x_dtype, row, bs) = input_batches(model, split, x_out, Batch::Rows(batch_size))?;
    let n = split.len();
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let end = (start + bs).min(n);
        let xt = split.tensor(start, end, x_dtype, &row).map_err(|e| e.for_arg(Role::Input))?;
        let mut feeds = vec![(x_out.clone(), &xt)];
        feeds.extend(flags.pairs());
        match &model.run(&feeds, std::slice::from_ref(logits), &[])?[0] {
            DynArray::F32(l) if l.ndim() == 2 && l.shape()[0] == end - start => {
                out.extend(l.outer_iter().map(|r| r.iter().copied().collect::<Vec<f32>>()))
            }
            other => {
                return Err(Error::arg(Role::Fetch, None, format!("the logits must be float32 [batch, classes], got {:?}", other.shape())))
            }
        }
        start = end;
    }
    Ok(out)
}

/// The class each row of `split` is predicted to be: the first arg-max of its logits.
pub fn predictions(model: &Model, split: &Split, x_out: &Output, l: &Output, batch_size: usize, flags: &FixedFeeds) -> Result<Vec<usize>> {
    let rows = logits(model, split, x_out, l, batch_size, flags)?;
    Ok(rows.iter().map(|r| (0..r.len()).fold(0, |best, i| if r[i] > r[best] { i } else { best })).collect())
}

/// Counts of (true class, predicted class): accuracy, and precision and recall per class.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Confusion {
    /// `matrix[t][p]`: examples of class `t` predicted as `p`.
    pub matrix: Vec<Vec<usize>>,
}

impl Confusion {
    /// Count each example's (true, predicted) pair; at least `classes` classes.
    pub fn new(truth: &[i64], predicted: &[usize], classes: usize) -> Self {
        let k = classes.max(predicted.iter().map(|p| p + 1).max().unwrap_or(0));
        let mut matrix = vec![vec![0; k]; k];
        for (&t, &p) in truth.iter().zip(predicted) {
            matrix[t as usize][p] += 1;
        }
        Confusion { matrix }
    }

    /// The share of examples predicted right.
    pub fn accuracy(&self) -> f64 {
        let total: usize = self.matrix.iter().flatten().sum();
        let right: usize = (0..self.matrix.len()).map(|i| self.matrix[i][i]).sum();
        right as f64 / total.max(1) as f64
    }

    /// Of the examples predicted as `c`, the share that are `c` (None: none predicted).
    pub fn precision(&self, c: usize) -> Option<f64> {
        let predicted: usize = self.matrix.iter().map(|r| r[c]).sum();
        (predicted > 0).then(|| self.matrix[c][c] as f64 / predicted as f64)
    }

    /// Of the examples of class `c`, the share predicted as `c` (None: no such example).
    pub fn recall(&self, c: usize) -> Option<f64> {
        let actual: usize = self.matrix[c].iter().sum();
        (actual > 0).then(|| self.matrix[c][c] as f64 / actual as f64)
    }
}

/// The book's metrics, those the graph has: `eval/accuracy:0` and `loss/loss:0`.
pub fn default_fetches(model: &Model) -> Result<Vec<String>> {
    let found: Vec<String> = ["eval/accuracy:0", "loss/loss:0"].into_iter().filter(|n| model.output(n).is_ok()).map(String::from).collect();
    if found.is_empty() {
        let why = "missing, and the graph has neither eval/accuracy:0 nor loss/loss:0: name the metrics to compute";
        return Err(Error::arg(Role::Fetch, None, why));
    }
    Ok(found)
}

/// A picture (or row) predicted wrong.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Misclassified {
    /// Its file.
    pub file: std::path::PathBuf,
    /// Its class.
    pub label: usize,
    /// The class predicted.
    pub predicted: usize,
}

/// How a classifier does on each class of a split: the confusion matrix (accuracy, precision,
/// recall) and the files predicted wrong.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ClassReport {
    /// Counts of (true class, predicted class).
    pub confusion: Confusion,
    /// The files of the split predicted wrong, in file order.
    pub wrong: Vec<Misclassified>,
}

impl ClassReport {
    /// Predict every row of `data`'s split `spec` feeds (`input`, `batch_size`, `set`; its
    /// labels and fetches are not used) by the arg-max of `logits`, and count.
    pub fn new(model: &Model, data: &crate::data::DataSet, split: &str, spec: &EvalSpec, logits: &str) -> Result<Self> {
        let rows = data.split(split)?;
        let x = model.tensor(&spec.input).map_err(|e| e.for_arg(Role::Input))?;
        let l = model.tensor(logits).map_err(|e| e.for_arg(Role::Fetch))?;
        let set = crate::feed::Setting::resolve_all(&model.graph, Role::Set, &spec.set)?;
        let predicted = predictions(model, rows, &x, &l, spec.batch_size, &FixedFeeds::default().with(&set))?;
        let confusion = Confusion::new(&rows.y, &predicted, data.classes.len());
        let files = data.files.get(split).cloned().unwrap_or_default();
        let wrong = files
            .into_iter()
            .zip(rows.y.iter().zip(&predicted))
            .filter(|(_, (t, p))| **t as usize != **p)
            .map(|(file, (t, p))| Misclassified { file, label: *t as usize, predicted: *p })
            .collect();
        Ok(ClassReport { confusion, wrong })
    }
}
