//! `tfreuse sweep`: the seed's freeze/unfreeze advice as one command. Given a base model, its
//! reusable layers up to a branch point and a (small) labelled data set, train in turn: every
//! reused layer frozen under a new output layer; the top one, then two, unfrozen; the top one,
//! then two, dropped (the rest frozen); the top layer replaced by a fresh one; a layer added.
//! Each candidate trains with early stopping on the frozen layers' cache where it applies, in
//! this one process; the best on validation (never on test) can be saved.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crate::data::DataSet;
use crate::error::{Error, Result};
use crate::events::{Event, EventSink};
use crate::graph::layers::parse_layers;
use crate::graph::stack::Layer;
use crate::train::{prepare, Outcome, Prepared, Progress, TransferSpec, Watch};

/// The reusable layers of `spec`'s model up to `branch` (see [`crate::graph::stack`]).
pub fn layers_of(spec: &TransferSpec, branch: &str) -> Result<Vec<Layer>> {
    let mut meta = crate::train::prepare::open_source(spec)?.meta;
    let mut graph = tensorflow::Graph::new();
    crate::model::import_graph(&mut graph, &mut meta)?;
    let top = crate::tf::find_output(&graph, branch).map_err(|e| e.for_arg(crate::error::Role::BranchFrom))?;
    crate::graph::stack::layers_below(&graph, &top)
}

/// One recipe to try.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Candidate {
    #[serde(rename = "candidate")]
    pub name: String,
    pub branch: String,
    /// `--new-layers` text.
    pub new_layers: String,
    pub freeze_below: Option<String>,
    /// Imported layers used, of which frozen; new dense layers.
    pub reused: usize,
    pub frozen: usize,
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
    for u in 1..=2.min(k) {
        add(&format!("unfreeze-{u}"), k - 1, &plain, k - u);
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
    #[serde(flatten)]
    pub candidate: Candidate,
    /// Variables trained, and their number of values.
    pub trained: Vec<String>,
    pub params_trained: u64,
    pub best_epoch: usize,
    pub val_accuracy: f64,
    pub test_accuracy: Option<f64>,
    pub seconds: f64,
}

/// The frozen layers' rows per cut, computed once for the candidates that share it.
pub type Caches = std::collections::HashMap<String, DataSet>;

/// Train `cand` from `base` (training settings, patience) on `data`; its row and the model.
pub fn try_one(
    base: &TransferSpec,
    cand: &Candidate,
    (data, caches): (&DataSet, &mut Caches),
    classes: usize,
    stop: &AtomicBool,
    sink: &mut dyn EventSink,
) -> Result<(Row, Prepared)> {
    let t0 = Instant::now();
    let mut spec = base.clone();
    spec.branch_from = Some(cand.branch.clone());
    spec.new_layers = parse_layers(&cand.new_layers)?;
    spec.freeze_below = cand.freeze_below.clone();
    spec.train_examples = Some(data.training_split()?.len());
    let mut prepared = prepare(&spec, classes)?;
    sink.event(&Event::Setup(Box::new(prepared.report.clone())))?;
    // A cut's rows depend on the restored layers below it and the batching only: candidates
    // frozen at the same tensor share them.
    let key = prepared.cut.as_ref().ok().map(|c| format!("{:?} {}", spec.freeze_below, crate::tf::output_name(c)));
    if let Some(k) = &key {
        match caches.contains_key(k) {
            true => prepared.feed_cut()?,
            false => _ = caches.insert(k.clone(), prepared.use_cache(data, usize::MAX, spec.batch_size, sink)?),
        }
    }
    let data = key.as_ref().and_then(|k| caches.get(k)).unwrap_or(data);
    let mut best = crate::events::Memory::default();
    let mut both = crate::events::Tee(vec![&mut *sink, &mut best]);
    let watch = Watch { validation: data.splits.get("validation"), ..Default::default() };
    let outcome = prepared.train(&spec, data.training_split()?, watch, Progress::default(), stop, &mut both)?;
    drop(both);
    let history = match outcome {
        Outcome::Finished(h) => h,
        Outcome::Interrupted(p) => {
            let at = format!(
                "candidate {} interrupted at epoch {} step {}; the candidates before it are in the table",
                cand.name,
                p.epoch + 1,
                p.step
            );
            return Err(Error::Interrupted(at));
        }
        Outcome::Diverged { epoch, step, loss } => {
            return Err(Error::Diverged(format!("candidate {}: the loss became {loss} at epoch {epoch} step {step}", cand.name)))
        }
    };
    let (best_epoch, val_accuracy) = best
        .0
        .iter()
        .find_map(|e| match e {
            Event::Best { epoch, metric, .. } => Some((*epoch, *metric)),
            _ => None,
        })
        .unwrap_or((history.metric.len(), history.metric.last().copied().flatten().unwrap_or(f64::NAN)));
    let test_accuracy = match data.split("test") {
        Ok(t) => prepared.evaluate(t)?.get(1).copied(),
        Err(_) => None,
    };
    let trained = prepared.report.trained.clone();
    let params_trained = trained.iter().map(|v| params(&prepared, v)).sum();
    let row = Row {
        candidate: cand.clone(),
        trained,
        params_trained,
        best_epoch,
        val_accuracy,
        test_accuracy,
        seconds: t0.elapsed().as_secs_f64(),
    };
    Ok((row, prepared))
}

fn params(p: &Prepared, var: &str) -> u64 {
    p.model.graph.operation_by_name(var).ok().flatten().map_or(0, |op| crate::graph::var::values_held(&op))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(i: usize) -> Layer {
        Layer { output: format!("dnn/hidden{i}/Elu:0"), width: 50, activation: Some("Elu".into()) }
    }

    #[test]
    fn the_seeds_recipe_in_order() {
        let layers: Vec<Layer> = (1..=4).map(layer).collect();
        let c = candidates(&layers, 5);
        let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["frozen", "unfreeze-1", "unfreeze-2", "drop-1", "drop-2", "replace-top", "add-1"]);
        let by = |n: &str| c.iter().find(|c| c.name == n).unwrap();
        assert_eq!((by("frozen").branch.as_str(), by("frozen").freeze_below.as_deref()), ("dnn/hidden4/Elu:0", Some("dnn/hidden4/Elu:0")));
        assert_eq!(by("unfreeze-2").freeze_below.as_deref(), Some("dnn/hidden2/Elu:0"));
        assert_eq!((by("drop-2").branch.as_str(), by("drop-2").reused, by("drop-2").frozen), ("dnn/hidden2/Elu:0", 2, 2));
        assert_eq!((by("replace-top").new_layers.as_str(), by("replace-top").branch.as_str()), ("50:elu,5", "dnn/hidden3/Elu:0"));
        assert_eq!((by("add-1").new_layers.as_str(), by("add-1").new), ("50:elu,5", 2));
        // One layer: nothing to drop or replace; unfreezing it trains everything.
        let one = candidates(&layers[..1], 5);
        assert_eq!(one.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["frozen", "unfreeze-1", "add-1"]);
        assert_eq!(one[1].freeze_below, None);
    }
}
