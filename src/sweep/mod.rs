//! `tfreuse sweep`: the seed's freeze/unfreeze advice as one command. Given a base model, its
//! reusable layers up to a branch point and a (small) labelled data set, train in turn: every
//! reused layer frozen under a new output layer; the top one, two, … and finally all unfrozen;
//! the top one, then two, dropped (the rest frozen); the top layer replaced by a fresh one; a
//! layer added.
//! Each candidate trains with early stopping on the frozen layers' cache where it applies, in
//! this one process; the best on validation (never on test) can be saved.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::data::DataSet;
use crate::error::{Error, Result};
use crate::events::{Event, EventSink, Tee};
use crate::graph::layers::parse_layers;
use crate::runtime::Runtime;
use crate::train::run::{Ended, Job, SharedCaches, Started};
use crate::train::{Prepared, RecipeSpec, ScheduleSpec, TransferSpec};

mod table;

pub use crate::graph::stack::Layer;
pub use table::to_csv;

/// The reusable layers of `spec`'s model up to `branch`: dense or convolution layers, each
/// with its output and width.
pub fn layers_of(spec: &TransferSpec, branch: &str) -> Result<Vec<Layer>> {
    let graph = graph_of(spec)?;
    let top = crate::graph::stack::find_branch(&graph, branch, crate::error::Role::BranchFrom)?;
    crate::graph::stack::layers_below(&graph, &top)
}

/// The output of the layer under the logits of `spec`'s model: where the seed's advice
/// branches when told nothing.
pub fn default_branch(spec: &TransferSpec) -> Result<String> {
    let layers = crate::graph::stack::model_layers(&graph_of(spec)?)?;
    let below = layers.iter().rev().skip(1).find(|l| l.branch && l.params.is_some_and(|p| p > 0));
    below.map(|l| l.output.clone()).ok_or_else(|| {
        Error::arg(crate::error::Role::BranchFrom, None, "missing, and the model has no layer with weights under its logits to branch from")
    })
}

fn graph_of(spec: &TransferSpec) -> Result<tensorflow::Graph> {
    let mut meta = crate::train::prepare::open_source(spec)?.meta;
    let mut graph = tensorflow::Graph::new();
    crate::model::import_graph(&mut graph, &mut meta)?;
    Ok(graph)
}

/// One recipe to try.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Candidate {
    /// Its name in the table (`frozen`, `unfreeze-1`, `add-1`…).
    #[serde(rename = "candidate")]
    pub name: String,
    /// The tensor the new layers start from.
    pub branch: String,
    /// The new layers, as text (`50:elu,5`).
    pub new_layers: String,
    /// The tensor nothing below which trains, if any.
    pub freeze_below: Option<String>,
    /// Imported layers used…
    pub reused: usize,
    /// …of which frozen.
    pub frozen: usize,
    /// New dense layers.
    pub new: usize,
}

/// The seed's candidates over `layers` (input → branch point), for `classes` outputs.
pub fn candidates(layers: &[Layer], classes: usize) -> Vec<Candidate> {
    let k = layers.len();
    let out = |i: usize| layers[i].output.clone();
    let top = &layers[k - 1];
    let act = top.activation.as_deref().map_or("relu", activation_name);
    let hidden = format!("{}:{act},{classes}", top.width.max(1));
    let mut c = Vec::new();
    let mut add = |name: &str, branch: usize, new: &str, frozen: usize| {
        let freeze_below = (frozen > 0).then(|| out(frozen - 1));
        let n_new = new.split(',').count();
        c.push(Candidate {
            name: name.into(),
            branch: out(branch),
            new_layers: new.into(),
            freeze_below,
            reused: branch + 1,
            frozen,
            new: n_new,
        });
    };
    let plain = classes.to_string();
    add("frozen", k - 1, &plain, k);
    for u in 1..=k {
        let name = if u == k { "unfreeze-all".into() } else { format!("unfreeze-{u}") };
        add(&name, k - 1, &plain, k - u);
    }
    for d in 1..=2.min(k - 1) {
        add(&format!("drop-{d}"), k - 1 - d, &plain, k - d);
    }
    if k >= 2 && top.width > 0 {
        add("replace-top", k - 2, &hidden, k - 1);
    }
    if top.width > 0 {
        add("add-1", k - 1, &hidden, k);
    }
    c
}

/// `Relu` → `relu`, as `--new-layers` names activations.
fn activation_name(op: &str) -> &'static str {
    match op {
        "Elu" => "elu",
        "Selu" => "selu",
        "LeakyRelu" => "leaky_relu",
        "Tanh" => "tanh",
        "Sigmoid" => "sigmoid",
        _ => "relu",
    }
}

/// What one candidate gave.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Row {
    /// The candidate.
    #[serde(flatten)]
    pub candidate: Candidate,
    /// Variables trained…
    pub trained: Vec<String>,
    /// …and their number of values.
    pub params_trained: u64,
    /// The epoch whose weights the candidate keeps (early stopping's best).
    pub best_epoch: usize,
    /// The validation accuracy of that epoch.
    pub val_accuracy: f64,
    /// The accuracy on the test split, when there is one (never used to choose).
    pub test_accuracy: Option<f64>,
    /// How long the candidate took, caching and testing included.
    pub seconds: f64,
}

/// Who watches a sweep: every candidate's training events (as an [`EventSink`]), and each
/// candidate as it starts and once it is done.
pub trait Observer: EventSink {
    /// Candidate `index` (from 0) of `of` starts training.
    fn candidate(&mut self, _index: usize, _of: usize, _candidate: &Candidate) -> Result<()> {
        Ok(())
    }

    /// A candidate is trained (and kept, when asked to): how it did.
    fn row(&mut self, _row: &Row) -> Result<()> {
        Ok(())
    }
}

/// What a sweep gave.
pub struct Swept {
    /// A row per candidate, in order.
    pub rows: Vec<Row>,
    /// The best candidate on validation (the index of its row; the later of equals), trained:
    /// [`Started::save`] saves it.
    pub best: Option<(usize, Started)>,
}

/// Train each of `candidates` in turn from `base` (the model and training settings, patience
/// included) on `data` (labels in `0..classes`), each as `train` does ([`Started::fit`]) with
/// its frozen layers cached, candidates cut at the same tensor sharing the cache; save each to
/// `keep/<candidate>.ckpt` when `keep` is given. A stop on request ends the sweep with
/// [`Error::Interrupted`] (nothing saved: the rows the observer got are what was measured).
pub fn run<O: Observer>(
    _rt: &Runtime,
    base: &TransferSpec,
    candidates: &[Candidate],
    (data, classes): (DataSet, usize),
    keep: Option<&Path>,
    stop: &AtomicBool,
    observer: &mut O,
) -> Result<Swept> {
    // Decoded once, not by each candidate.
    let data = if data.is_pending() { crate::data::images::decode_pending(data)? } else { data };
    let (mut swept, mut caches) = (Swept { rows: Vec::new(), best: None }, SharedCaches::new());
    for (i, c) in candidates.iter().enumerate() {
        observer.candidate(i, candidates.len(), c)?;
        let (row, started) = try_one(base, c, (&data, classes), &mut caches, stop, observer)?;
        if let Some(dir) = keep {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            started.prepared().save(&dir.join(format!("{}.ckpt", c.name)), &[], observer)?;
        }
        observer.row(&row)?;
        if swept.best.as_ref().is_none_or(|(b, _)| row.val_accuracy.total_cmp(&swept.rows[*b].val_accuracy).is_ge()) {
            swept.best = Some((i, started));
        }
        swept.rows.push(row);
    }
    Ok(swept)
}

/// What a candidate's events tell of it: its best epoch and validation metric (early
/// stopping's), the epochs run and the last one's metric, the test metric.
#[derive(Default)]
struct Seen {
    best: Option<(usize, f64)>,
    epochs: usize,
    last: Option<f64>,
    test: Option<f64>,
}

impl EventSink for Seen {
    fn event(&mut self, e: &Event) -> Result<()> {
        match e {
            Event::Best { epoch, metric, .. } => self.best = self.best.or(Some((*epoch, *metric))),
            Event::Epoch { metric, .. } => (self.epochs, self.last) = (self.epochs + 1, *metric),
            Event::Test { metric, .. } => self.test = *metric,
            _ => {}
        }
        Ok(())
    }
}

/// Train `cand` from `base` on `data` as `train` does; its row and the model.
fn try_one(
    base: &TransferSpec,
    cand: &Candidate,
    (data, classes): (&DataSet, usize),
    caches: &mut SharedCaches,
    stop: &AtomicBool,
    sink: &mut dyn EventSink,
) -> Result<(Row, Started)> {
    let t0 = Instant::now();
    let spec = TransferSpec {
        recipe: RecipeSpec {
            branch_from: Some(cand.branch.clone()),
            new_layers: parse_layers(&cand.new_layers)?,
            freeze_below: cand.freeze_below.clone(),
            ..base.recipe.clone()
        },
        schedule: ScheduleSpec { train_examples: Some(data.training_split()?.len()), ..base.schedule.clone() },
        ..base.clone()
    };
    let job = Job { spec, cache_max_bytes: Some(usize::MAX), disk_cache: None, out: None, save_on_nan: false, save_every: None };
    let mut seen = Seen::default();
    let mut both = Tee(vec![sink, &mut seen]);
    let mut started = Started::sharing(job, (data.clone(), classes), caches, stop, &mut both)?;
    started.save_nothing_on_stop();
    match started.fit(stop, &mut both) {
        Ok(Ended::Finished) => {}
        Ok(Ended::Interrupted { progress: p, .. } | Ended::Stopped(p)) => {
            let (name, epoch, step) = (&cand.name, p.epoch + 1, p.step);
            let at = format!("candidate {name} interrupted at epoch {epoch} step {step}; the candidates before it are in the table");
            return Err(Error::Interrupted(at));
        }
        // Where the loss diverged (this candidate saves nothing).
        Err(Error::Diverged(m)) => return Err(Error::Diverged(format!("candidate {}: {}", cand.name, m.split("; ").next().unwrap_or(&m)))),
        Err(e) => return Err(e),
    }
    drop(both);
    let (best_epoch, val_accuracy) = seen.best.unwrap_or((seen.epochs, seen.last.unwrap_or(f64::NAN)));
    let trained = started.prepared().report.trained.clone();
    let params_trained = trained.iter().map(|v| params(started.prepared(), v)).sum();
    let row = Row {
        candidate: cand.clone(),
        trained,
        params_trained,
        best_epoch,
        val_accuracy,
        test_accuracy: seen.test,
        seconds: t0.elapsed().as_secs_f64(),
    };
    Ok((row, started))
}

fn params(p: &Prepared, var: &str) -> u64 {
    p.model.graph.operation_by_name(var).ok().flatten().map_or(0, |op| crate::graph::var::values_held(&op))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(i: usize) -> Layer {
        Layer { output: format!("dnn/hidden{i}/Elu:0"), width: 50, activation: Some("Elu".into()), ..Default::default() }
    }

    #[test]
    fn the_seeds_recipe_in_order() {
        let layers: Vec<Layer> = (1..=4).map(layer).collect();
        let c = candidates(&layers, 5);
        let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["frozen", "unfreeze-1", "unfreeze-2", "unfreeze-3", "unfreeze-all", "drop-1", "drop-2", "replace-top", "add-1"]);
        let by = |n: &str| c.iter().find(|c| c.name == n).unwrap();
        assert_eq!((by("frozen").branch.as_str(), by("frozen").freeze_below.as_deref()), ("dnn/hidden4/Elu:0", Some("dnn/hidden4/Elu:0")));
        assert_eq!(by("unfreeze-2").freeze_below.as_deref(), Some("dnn/hidden2/Elu:0"));
        assert_eq!((by("unfreeze-all").freeze_below.as_deref(), by("unfreeze-all").frozen), (None, 0));
        assert_eq!((by("drop-2").branch.as_str(), by("drop-2").reused, by("drop-2").frozen), ("dnn/hidden2/Elu:0", 2, 2));
        assert_eq!((by("replace-top").new_layers.as_str(), by("replace-top").branch.as_str()), ("50:elu,5", "dnn/hidden3/Elu:0"));
        assert_eq!((by("add-1").new_layers.as_str(), by("add-1").new), ("50:elu,5", 2));
        // One layer: nothing to drop or replace; unfreezing it trains everything.
        let one = candidates(&layers[..1], 5);
        assert_eq!(one.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["frozen", "unfreeze-all", "add-1"]);
        assert_eq!(one[1].freeze_below, None);
    }
}
