//! Caching frozen layers: compute the cut (the highest tensor with nothing trained below it)
//! once for every split, in one contiguous buffer, and train the upper layers by feeding it,
//! as the book does with `hidden2`. Pictures go through a feature cache on disk instead
//! ([`store`]), kept across runs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tensorflow::{DataType, Graph, Output, SessionRunArgs, Tensor};

use crate::data::{DataSet, Features, Split};
use crate::error::{Error, Result};
use crate::model::Model;

pub mod store;
internal_mod! {
    pictures;
}

/// What a run of the feature cache on disk found and did.
#[derive(Clone, Debug, Default)]
pub struct DiskReport {
    /// The key folder read.
    pub dir: PathBuf,
    /// Rows found there.
    pub hits: usize,
    /// Rows computed and added.
    pub misses: usize,
    /// Damaged records found (their pictures were computed again).
    pub damaged: usize,
    /// Pictures that could not be decoded, and why.
    pub skipped: Vec<(PathBuf, String)>,
    /// Seconds spent inside TensorFlow computing rows.
    pub tf_seconds: f64,
    /// Size of the store's rows for this data set.
    pub megabytes: f64,
    /// Why the key folder was left alone (a newer tfreuse wrote it) and nothing was kept.
    pub newer: Option<String>,
}

/// Every split of `data` (pictures not yet decoded) as rows of `net.cut`, read from the store
/// under `root` for `key` (plus the cut's row length); missing rows are computed and added.
/// `progress` gets (split, done, to do).
pub(crate) fn through_store(
    net: &pictures::Net,
    data: &DataSet,
    root: &Path,
    key: Vec<(String, String)>,
    progress: &mut dyn FnMut(&str, usize, usize),
) -> Result<(DataSet, DiskReport)> {
    let feature_shape = match (static_row_shape(&net.model.graph, net.cut)?, data.splits.values().next()) {
        (Some(shape), _) => shape,
        (None, Some(split)) => pictures::row_shape_by_run(net, pending(split)?)?,
        (None, None) => row_shape(&net.model.graph, net.cut)?,
    };
    let key = store::Key { parts: key, row_len: feature_shape.iter().product() };
    let opened = store::Store::open(root, &key)?;
    let store = &opened.store;
    let index = store.load()?;
    let newer = opened.newer.as_ref().map(|e| format!("{e} (this run computed its features apart and kept none)"));
    let dir = if newer.is_some() { root.join(key.id()) } else { store.dir.clone() };
    let mut report = DiskReport { dir, damaged: index.damaged, newer, ..Default::default() };
    let mut seg = store.segment()?;
    let mut added = HashSet::new();
    for (name, split) in &data.splits {
        let p = pending(split)?;
        let c = pictures::compute_missing(net, p, &index, &mut added, &mut seg, &mut |done| progress(name, done, p.files.len()))?;
        report.hits += p.files.len() - c.misses;
        report.misses += c.misses;
        report.skipped.extend(c.skipped);
        report.tf_seconds += c.tf_seconds;
    }
    let wrote = seg.rows > 0;
    // What was computed is kept, even when stopped: the next run goes on from there.
    seg.finish()?;
    if net.stop.load(std::sync::atomic::Ordering::SeqCst) {
        let kept = match report.newer {
            Some(_) => "were not kept (the folder is a newer tfreuse's)".to_string(),
            None => format!("are kept in {}: run again to go on", report.dir.display()),
        };
        return Err(Error::Interrupted(format!(
            "interrupted while computing the feature cache; the {} picture(s) computed so far {kept}",
            report.misses
        )));
    }
    // Read again: this run's segment is in it now.
    let mut index = store.load()?;
    if (wrote || index.damaged > 0) && store::Store::needs_compaction(&index) {
        store.compact(&index)?;
        index = store.load()?;
    }
    let mut cached =
        DataSet { source: data.source.clone(), classes: data.classes.clone(), preprocess: data.preprocess.clone(), ..Default::default() };
    for (name, split) in &data.splits {
        let p = pending(split)?;
        let keep: Vec<usize> = (0..p.files.len()).filter(|&i| index.contains(&p.digests[i])).collect();
        let rows = index.rows(&keep.iter().map(|&i| &p.digests[i]).collect::<Vec<_>>());
        report.megabytes += rows.bytes() as f64 / (1 << 20) as f64;
        let y = keep.iter().map(|&i| split.y[i]).collect();
        cached.splits.insert(name.clone(), Split { x: Features::Mapped(Arc::new(rows)), y, feature_shape: feature_shape.clone() });
        cached.files.insert(name.clone(), keep.iter().map(|&i| p.files[i].clone()).collect());
    }
    Ok((cached, report))
}

fn pending(split: &Split) -> Result<&crate::data::images::Pending> {
    match &split.x {
        Features::Pictures(p) => Ok(p),
        _ => Err(Error::Invalid("the feature cache on disk holds pictures only".into())),
    }
}

fn name(op: &tensorflow::Operation) -> String {
    op.name().unwrap_or_default()
}

/// Bytes a cache of `cut` for `data` would take, if its shape is known.
pub(crate) fn cache_bytes(graph: &Graph, cut: &Output, data: &DataSet) -> Result<usize> {
    let row: usize = row_shape(graph, cut)?.iter().product();
    Ok(data.splits.values().map(|s| s.len() * row * 4).sum())
}

/// Shape of one row of `cut` (float32, every dimension but the batch known).
fn row_shape(graph: &Graph, cut: &Output) -> Result<Vec<usize>> {
    static_row_shape(graph, cut)?.ok_or_else(|| {
        let dims = graph.tensor_shape(cut.clone()).ok().and_then(|s| crate::tf::tensors::shape_dims(&s));
        match dims {
            Some(dims) => Error::Invalid(format!("cannot cache {}: its shape {dims:?} is not known", name(&cut.operation))),
            None => Error::Invalid("cannot cache a tensor of unknown rank".into()),
        }
    })
}

/// Shape of one row of float32 `cut` as TF's shape inference knows it; `None` when a
/// dimension (or the rank) is open.
fn static_row_shape(graph: &Graph, cut: &Output) -> Result<Option<Vec<usize>>> {
    let dtype = crate::tf::tensors::output_dtype(cut);
    if dtype != DataType::Float {
        return Err(Error::Invalid(format!("cannot cache {}: dtype is not float32", name(&cut.operation))));
    }
    let shape = graph.tensor_shape(cut.clone())?;
    let Some(dims) = crate::tf::tensors::shape_dims(&shape) else { return Ok(None) };
    Ok(dims.iter().skip(1).map(|&d| usize::try_from(d).ok()).collect::<Option<Vec<usize>>>())
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
    let frozen = Frozen::new(model, x, cut, flags)?;
    let row: usize = frozen.shape.iter().product();
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
        frozen.rows_into(&xt, &mut out[start * row..end * row])?;
        progress(end - start);
        start = end;
    }
    Ok(Split { x: crate::data::Features::F32(out), y: split.y.clone(), feature_shape: frozen.shape })
}

/// The frozen part of a model: `cut` computed from rows fed to `x`, in runs of the batch `x`
/// fixes (a graph frozen for one picture a run, as retrain.py's), else in one run.
pub(crate) struct Frozen<'a> {
    model: &'a Model,
    x: &'a Output,
    /// The tensor computed.
    pub cut: &'a Output,
    flags: &'a crate::feed::FixedFeeds,
    /// The shape of one row of `cut`.
    pub shape: Vec<usize>,
    /// The rows per run `x` takes, if it fixes them.
    pub fixed: Option<usize>,
}

impl<'a> Frozen<'a> {
    /// `flags`: bool tensors fed with every run (training flags, false).
    pub fn new(model: &'a Model, x: &'a Output, cut: &'a Output, flags: &'a crate::feed::FixedFeeds) -> Result<Self> {
        let shape = row_shape(&model.graph, cut)?;
        let fixed = crate::feed::InputShape::of(&model.graph, x)?.fixed_batch();
        Ok(Frozen { model, x, cut, flags, shape, fixed })
    }

    /// The cut's rows for the rows of `xt`, as a tensor to feed to the cut.
    pub fn rows(&self, xt: &crate::tf::tensors::DynTensor) -> Result<Tensor<f32>> {
        let dims: Vec<u64> = std::iter::once(xt.rows()).chain(self.shape.iter().copied()).map(|d| d as u64).collect();
        let mut t = Tensor::new(&dims);
        self.rows_into(xt, &mut t)?;
        Ok(t)
    }

    /// The cut's rows for the rows of `xt`, into `out`: in runs of the fixed batch (the last
    /// one filled up with copies of its last row, whose results are dropped), else in one.
    pub fn rows_into(&self, xt: &crate::tf::tensors::DynTensor, out: &mut [f32]) -> Result<()> {
        let (n, row) = (xt.rows(), self.shape.iter().product::<usize>());
        match self.fixed.filter(|&b| b != n) {
            None => self.run(xt, out),
            Some(b) => (0..n).step_by(b).try_for_each(|s| {
                let e = (s + b).min(n);
                self.run(&xt.rows_padded(s, e, b), &mut out[s * row..e * row])
            }),
        }
    }

    fn run(&self, xt: &crate::tf::tensors::DynTensor, out: &mut [f32]) -> Result<()> {
        let mut args = SessionRunArgs::new();
        xt.feed(&mut args, &self.x.operation, self.x.index);
        self.flags.add_to(&mut args);
        let tok = args.request_fetch(&self.cut.operation, self.cut.index);
        self.model.gate.check(&[&self.cut.operation], &self.flags.fed(&[self.x]))?;
        self.model.session.run(&mut args)?;
        let t: Tensor<f32> = args.fetch(tok)?;
        if t.len() != xt.rows() * self.shape.iter().product::<usize>() {
            let (x, cut, rows) = (crate::tf::output_name(self.x), name(&self.cut.operation), xt.rows());
            return Err(Error::Invalid(format!(
                "{rows} rows fed to {x} gave {} values of {cut}, not a row of {:?} each",
                t.len(),
                self.shape
            )));
        }
        out.copy_from_slice(&t[..out.len()]);
        Ok(())
    }
}
