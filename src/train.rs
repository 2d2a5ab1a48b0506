//! Transfer training: keep training an imported model with its own train op, or branch from
//! a tensor and append new dense layers, a new loss, accuracy and training op; restore a
//! regex-chosen subset of variables; freeze by var_list or stop_gradient; clip; save.
//!
//! [`TransferSpec`] is the builder; [`prepare`] builds the graph and initialises variables,
//! [`Prepared::train`] runs the epochs, [`Prepared::save`] writes a checkpoint Python reads.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use tensorflow::{DataType, Graph, Operation, Output, SessionRunArgs, Tensor, TensorType};

use crate::checkpoint::{self, StoredTensor};
use crate::data::{DataSet, Split};
use crate::error::{Error, Result};
use crate::eval::evaluate_outputs;
use crate::layers::{Builder, LayerSpec, NewVar};
use crate::metagraph::{MetaGraph, VariableInfo};
use crate::model::{find_output, Model, SessionConfig};
use crate::proto::{SaverDef, VariableDef};
use crate::saver::{self, SaveVar};
use crate::tensors::{dtype_name, shape_string};

/// Which update rule the new training op uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    Sgd,
    Momentum { momentum: f32 },
    Adam { beta1: f32, beta2: f32, epsilon: f32 },
}

/// Everything a transfer run needs; defaults follow the book.
#[derive(Clone, Debug)]
pub struct TransferSpec {
    pub meta: PathBuf,
    pub checkpoint: Option<PathBuf>,
    pub input: String,
    pub labels: String,
    pub branch_from: Option<String>,
    pub new_layers: Vec<LayerSpec>,
    pub prefix: String,
    pub restore: Option<String>,
    pub trainable: Option<String>,
    pub freeze_below: Option<String>,
    /// Build a new training op even without a branch (needed for --trainable etc.).
    pub optimizer: Option<Optimizer>,
    pub lr: f32,
    pub clip: Option<f32>,
    pub train_op: Option<String>,
    pub loss: Option<String>,
    pub metric: Option<String>,
    pub epochs: usize,
    pub batch_size: usize,
    pub seed: u64,
    /// Shuffle the training split every epoch (off: batches in file order, like a plain
    /// Python loop over slices, which makes a run reproducible in Python).
    pub shuffle: bool,
    pub device: Option<String>,
    pub session: SessionConfig,
    /// Restore every variable (new ones and optimizer slots too) from this checkpoint,
    /// written by an interrupted run with the same spec.
    pub resume_from: Option<PathBuf>,
}

impl TransferSpec {
    pub fn new(meta: impl Into<PathBuf>) -> Self {
        TransferSpec {
            meta: meta.into(),
            checkpoint: None,
            input: "X:0".into(),
            labels: "y:0".into(),
            branch_from: None,
            new_layers: vec![],
            prefix: "new_".into(),
            restore: None,
            trainable: None,
            freeze_below: None,
            optimizer: None,
            lr: 0.01,
            clip: None,
            train_op: None,
            loss: None,
            metric: None,
            epochs: 20,
            batch_size: 200,
            seed: 42,
            shuffle: true,
            device: None,
            session: SessionConfig::default(),
            resume_from: None,
        }
    }

    /// What must match between an interrupted run and its resumption.
    pub fn fingerprint(&self) -> String {
        format!(
            "meta={:?} input={} labels={} branch={:?} layers={:?} prefix={} restore={:?} trainable={:?} freeze={:?} opt={:?} lr={} clip={:?} train_op={:?} loss={:?} epochs={} batch={} seed={} shuffle={}",
            self.meta, self.input, self.labels, self.branch_from, self.new_layers, self.prefix, self.restore, self.trainable,
            self.freeze_below, self.optimizer, self.lr, self.clip, self.train_op, self.loss, self.epochs, self.batch_size, self.seed, self.shuffle
        )
    }

    /// Whether tfreuse builds its own training op (else the imported one runs).
    pub fn builds_train_op(&self) -> bool {
        self.branch_from.is_some() || self.optimizer.is_some() || self.trainable.is_some() || self.freeze_below.is_some() || self.clip.is_some()
    }
}

/// What happened while setting up, for the user.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SetupReport {
    pub checkpoint: String,
    pub restored: Vec<String>,
    pub initialized: Vec<String>,
    pub trained: Vec<String>,
    pub frozen: Vec<String>,
    pub train_op: String,
    pub loss: String,
    pub metric: Option<String>,
    pub warnings: Vec<String>,
}

/// Where a run stands: the current epoch (0-based), the steps done in it, and the loss summed
/// over them. Saved beside a resumable checkpoint as JSON.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Progress {
    pub epoch: usize,
    pub step: usize,
    pub loss_sum: f64,
    pub history: History,
}

/// How [`Prepared::train`] ended.
#[derive(Clone, Debug)]
pub enum Outcome {
    Finished(History),
    /// Stopped at a step boundary on request (Ctrl-C / SIGTERM).
    Interrupted(Progress),
    /// The loss became NaN or infinite.
    Diverged { epoch: usize, step: usize, loss: f32 },
}

/// A model ready to train.
pub struct Prepared {
    pub model: Model,
    pub x: Output,
    /// What training feeds the features into: `x`, or the cut when training on a cache.
    pub feed: Output,
    /// The tensor below which nothing trains, if there is exactly one (see [`crate::cache`]).
    pub cut: std::result::Result<Output, String>,
    pub y: Output,
    pub loss: Output,
    pub metric: Option<Output>,
    pub train_op: Operation,
    pub report: SetupReport,
    saver_def: SaverDef,
    new_var_defs: Vec<VariableDef>,
    new_trainable_defs: Vec<VariableDef>,
    new_train_op: Option<String>,
}

/// Progress events from [`Prepared::train`].
#[derive(Clone, Debug, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Step { epoch: usize, step: usize, steps: usize, loss: f32 },
    /// `seconds` includes the validation pass; `train_seconds` is the training steps alone.
    Epoch { epoch: usize, train_loss: f64, metric: Option<f64>, seconds: f64, train_seconds: f64 },
    /// The first training step finished (wall clock, for start-up benchmarks).
    FirstStep { unix_time: f64 },
}

/// Per-epoch results.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct History {
    pub train_loss: Vec<f64>,
    pub metric: Vec<Option<f64>>,
    pub seconds: Vec<f64>,
}

/// Build the training graph on the imported model and initialise every variable.
/// `classes`: number of classes the new output layer must have (from the data).
pub fn prepare(spec: &TransferSpec, classes: usize) -> Result<Prepared> {
    let mut meta = MetaGraph::read(&spec.meta)?;
    let ckpt = checkpoint::resolve(spec.checkpoint.as_deref(), &spec.meta)?;
    let mut report = SetupReport { checkpoint: ckpt.prefix.display().to_string(), ..Default::default() };
    if let Some(w) = ckpt.warning {
        report.warnings.push(w);
    }
    let stored = checkpoint::list_tensors(&ckpt.prefix)?;
    if spec.batch_size == 0 {
        return Err(Error::Invalid("--batch-size must be at least 1".into()));
    }
    if !(spec.lr.is_finite() && spec.lr > 0.0) {
        return Err(Error::Invalid(format!("--lr {}: must be a positive number", spec.lr)));
    }
    if let Some(c) = spec.clip {
        if !(c.is_finite() && c > 0.0) {
            return Err(Error::Invalid(format!("--clip {c}: must be a positive number")));
        }
    }
    let builds = spec.builds_train_op();

    // A stop_gradient must be in the GraphDef before import (imported edges are fixed).
    let mut frozen_cut = None;
    if let Some(cut) = &spec.freeze_below {
        let mut probe = Graph::new();
        crate::model::import_graph(&mut probe, &mut meta)?;
        let out = find_output(&probe, cut).map_err(|e| Error::NotFound(format!("--freeze-below: {e}")))?;
        let dtype = out.operation.output_type(out.index as usize);
        let code = crate::tensors::dtype_code(dtype);
        let name = format!("{}stop_gradient", spec.prefix);
        frozen_cut = Some(crate::freeze::insert_stop_gradient(&mut meta, cut, &name, code)?);
    }

    let graph_vars = meta.variables()?;
    let mut model = Model::from_meta(meta, &spec.session)?;
    let x = find_output(&model.graph, &spec.input).map_err(|e| Error::NotFound(format!("--input: {e}")))?;
    let y = find_output(&model.graph, &spec.labels).map_err(|e| Error::NotFound(format!("--labels: {e}")))?;
    let label_type = y.operation.output_type(y.index as usize);
    if !matches!(label_type, DataType::Int32 | DataType::Int64) {
        return Err(Error::Invalid(format!("--labels {}: dtype {} (integer class labels expected)", spec.labels, dtype_name(label_type))));
    }

    // Imported variables as save/restore entries.
    let mut imported = Vec::new();
    for v in &graph_vars {
        let op = model.graph.operation_by_name(&v.name)?.ok_or_else(|| {
            Error::bad_file(&spec.meta, format!("collection `variables` names {} but the graph has no such op", v.name))
        })?;
        let ty = op.op_type()?;
        if ty != "VariableV2" && ty != "Variable" {
            return Err(Error::Invalid(format!(
                "variable {} is a {ty} (resource variable); tfreuse trains TF1 ref variables (VariableV2) only",
                v.name
            )));
        }
        imported.push((v.clone(), SaveVar { name: v.name.clone(), var: op.clone(), dtype: op.get_attr_type("dtype")? }));
    }

    let prefix = spec.prefix.clone();
    let mut b = Builder::new(&mut model.graph, &prefix, spec.device.clone(), spec.seed as i64 & 0x7fff_ffff);

    // The new head.
    let mut new_vars: Vec<NewVar> = Vec::new();
    let (loss, default_metric) = if let Some(branch) = &spec.branch_from {
        let mut t = find_output(b.graph, branch).map_err(|e| Error::NotFound(format!("--branch-from: {e}")))?;
        if let Some(cut) = &frozen_cut {
            if branch == spec.freeze_below.as_deref().unwrap_or("") {
                t = find_output(b.graph, cut)?;
            }
        }
        let shape = b.graph.tensor_shape(t.clone())?;
        let dtype = t.operation.output_type(t.index as usize);
        let width = match (shape.dims(), dtype) {
            (Some(2), DataType::Float) => shape[1],
            _ => None,
        };
        let Some(mut width) = width else {
            return Err(Error::Invalid(format!(
                "--branch-from {branch}: shape {} dtype {}; new dense layers need a float32 [batch, features] tensor with known width",
                shape_string(&shape),
                dtype_name(dtype)
            )));
        };
        let n = spec.new_layers.len();
        for (i, l) in spec.new_layers.iter().enumerate() {
            let scope = if i + 1 == n { "outputs".to_string() } else { format!("hidden{}", i + 1) };
            let (out, vars) = b.dense(t, width as u64, l, &scope)?;
            t = out;
            width = l.units as i64;
            new_vars.extend(vars);
        }
        if width as usize != classes {
            return Err(Error::Invalid(format!(
                "the logits have width {width} but the data has {classes} classes; make the last --new-layers width {classes}"
            )));
        }
        let loss = b.softmax_xent_loss(t.clone(), y.clone(), classes)?;
        let acc = b.accuracy(t, y.clone())?;
        (loss, Some(acc))
    } else {
        if !spec.new_layers.is_empty() {
            return Err(Error::Invalid("--new-layers needs --branch-from (the tensor to build them on)".into()));
        }
        let loss_name = spec.loss.clone().unwrap_or_else(|| "loss/loss:0".into());
        let loss = find_output(b.graph, &loss_name).map_err(|e| Error::NotFound(format!("--loss: {e}")))?;
        (loss, find_output(b.graph, "eval/accuracy:0").ok())
    };
    let metric = match &spec.metric {
        Some(m) => Some(find_output(b.graph, m).map_err(|e| Error::NotFound(format!("--metric: {e}")))?),
        None => default_metric,
    };
    report.loss = output_name(&loss);
    report.metric = metric.as_ref().map(output_name);

    // The training op.
    let mut slot_vars: Vec<NewVar> = Vec::new();
    let (train_op, new_train_op) = if builds {
        let mut candidates: Vec<(String, Output)> = imported
            .iter()
            .filter(|(v, _)| v.trainable)
            .map(|(v, s)| (v.name.clone(), s.var.output(0)))
            .collect();
        candidates.extend(new_vars.iter().filter(|v| v.trainable).map(|v| (v.name.clone(), v.var.output(0))));
        if let Some(re) = &spec.trainable {
            let chosen = crate::freeze::select(re, "--trainable", candidates.iter().map(|c| c.0.as_str()))?;
            candidates.retain(|c| chosen.contains(&c.0));
        }
        // Variables the loss cannot reach (above the branch, below a stop_gradient) get no
        // gradient; TF_AddGradients refuses unreachable ones, so leave them out up front.
        let reached = crate::freeze::variables_reached(&loss);
        let (cands, unreached): (Vec<_>, Vec<_>) = candidates.into_iter().partition(|c| reached.contains(&c.0));
        report.frozen.extend(unreached.into_iter().map(|c| c.0));
        let candidates = cands;
        let nothing_to_train = || Error::Invalid("no trainable variable receives a gradient from the loss: nothing to train (check --trainable and --freeze-below)".into());
        if candidates.is_empty() {
            return Err(nothing_to_train());
        }
        let xs: Vec<Output> = candidates.iter().map(|c| c.1.clone()).collect();
        let grads = b.graph.add_gradients(Some(&format!("{prefix}gradients")), &[loss.clone()], &xs, None).map_err(|s| {
            Error::Invalid(format!(
                "cannot differentiate the loss {} ({}); TF's C++ gradients lack some ops (SparseSoftmaxCrossEntropyWithLogits…): \
                 give --branch-from <logits tensor> so tfreuse builds a loss it can differentiate",
                output_name(&loss),
                Error::from(s)
            ))
        })?;
        let mut pairs = Vec::new();
        for ((name, var), g) in candidates.iter().zip(grads) {
            match g {
                Some(g) => pairs.push((name.clone(), var.clone(), g)),
                None => report.frozen.push(name.clone()),
            }
        }
        if pairs.is_empty() {
            return Err(nothing_to_train());
        }
        let op = build_optimizer(&mut b, spec, &mut pairs, &mut slot_vars)?;
        report.trained = pairs.iter().map(|p| p.0.clone()).collect();
        let name = op.name()?;
        (op, Some(name))
    } else {
        let name = match &spec.train_op {
            Some(n) => n.clone(),
            None => collection_train_op(b.graph, &model.meta)?,
        };
        let op = crate::model::find_operation(b.graph, &name).map_err(|e| Error::NotFound(format!("--train-op: {e}")))?;
        report.trained = imported.iter().filter(|(v, _)| v.trainable).map(|(v, _)| v.name.clone()).collect();
        (op, None)
    };
    report.train_op = train_op.name()?;

    // Saver over everything; restore of the chosen subset.
    let all_new: Vec<&NewVar> = new_vars.iter().chain(slot_vars.iter()).collect();
    let mut save_vars: Vec<SaveVar> = imported.iter().map(|(_, s)| s.clone()).collect();
    save_vars.extend(all_new.iter().map(|v| SaveVar { name: v.name.clone(), var: v.var.clone(), dtype: DataType::Float }));
    let saver_def = saver::saver_ops(&mut b, &format!("{prefix}save"), &save_vars)?;

    let restore_set = choose_restore(spec, &imported, &stored, &mut report)?;
    let restore_vars: Vec<SaveVar> = imported.iter().filter(|(v, _)| restore_set.contains(&v.name)).map(|(_, s)| s.clone()).collect();
    let restore_ops = if restore_vars.is_empty() { None } else { Some(saver::restore_ops(&mut b, &format!("{prefix}restore_subset"), &restore_vars)?) };
    drop(b);

    // Initialise, then restore.
    let mut inits: Vec<Operation> = Vec::new();
    for (v, _) in &imported {
        if !restore_set.contains(&v.name) {
            inits.push(crate::model::find_operation(&model.graph, &v.def.initializer_name)?);
            report.initialized.push(v.name.clone());
        }
    }
    for v in &all_new {
        inits.push(v.initializer.clone());
        report.initialized.push(v.name.clone());
    }
    if !inits.is_empty() {
        model.run(&[], &[], &inits)?;
    }
    match (&spec.resume_from, &restore_ops) {
        // Everything, new variables and optimizer slots too, from the interrupted run.
        (Some(resume), _) => {
            let filename = find_output(&model.graph, &saver_def.filename_tensor_name)?;
            let restore = crate::model::find_operation(&model.graph, &saver_def.restore_op_name)?;
            saver::run_restore(&model, &saver::RestoreOps { filename, restore }, resume)?;
            report.checkpoint = resume.display().to_string();
            report.restored = save_vars.iter().map(|v| v.name.clone()).collect();
            report.initialized.clear();
        }
        (None, Some(r)) => saver::run_restore(&model, r, &ckpt.prefix)?,
        (None, None) => {}
    }

    let var_def = |v: &NewVar| -> Result<VariableDef> {
        Ok(saver::variable_def(&v.name, &v.initializer.name()?, &output_name(&v.snapshot), &output_name(&v.initial_value), v.trainable))
    };
    let new_var_defs = all_new.iter().map(|v| var_def(v)).collect::<Result<Vec<_>>>()?;
    let new_trainable_defs = new_vars.iter().filter(|v| v.trainable).map(var_def).collect::<Result<Vec<_>>>()?;
    let trained: std::collections::HashSet<String> = report.trained.iter().cloned().collect();
    let cut = match crate::cache::find_cut(&model.graph, &x, &loss, &trained) {
        crate::cache::CutSearch::Found(c) => Ok(c),
        crate::cache::CutSearch::None(why) => Err(why),
    };
    let feed = x.clone();
    Ok(Prepared { model, x, feed, cut, y, loss, metric, train_op, report, saver_def, new_var_defs, new_trainable_defs, new_train_op })
}

pub fn output_name(o: &Output) -> String {
    format!("{}:{}", o.operation.name().unwrap_or_default(), o.index)
}

/// The imported training op: the `train_op` collection's only entry, else a clear error.
fn collection_train_op(graph: &Graph, meta: &MetaGraph) -> Result<String> {
    let ops = meta.collection_nodes("train_op");
    match ops.as_slice() {
        [one] => Ok(one.clone()),
        [] => {
            let mut candidates: Vec<String> = graph
                .operation_iter()
                .filter(|o| o.op_type().map_or(false, |t| t == "NoOp") && o.control_inputs().iter().any(|c| c.op_type().map_or(false, |t| t.starts_with("Apply") || t.starts_with("ResourceApply"))))
                .filter_map(|o| o.name().ok())
                .collect();
            candidates.sort();
            Err(Error::Invalid(format!(
                "the graph has no `train_op` collection; name the training op with --train-op{}",
                if candidates.is_empty() { String::new() } else { format!(" (candidates: {})", candidates.join(", ")) }
            )))
        }
        many => Err(Error::Invalid(format!("the `train_op` collection holds several ops ({}); choose one with --train-op", many.join(", ")))),
    }
}

/// Which imported variables to restore: those matching --restore (all must be in the
/// checkpoint), else every one the checkpoint holds with the right shape.
fn choose_restore(spec: &TransferSpec, imported: &[(VariableInfo, SaveVar)], stored: &[StoredTensor], report: &mut SetupReport) -> Result<Vec<String>> {
    let graph_shape = |s: &SaveVar| -> Vec<i64> {
        s.var.get_attr_shape("shape").ok().and_then(|sh| crate::tensors::shape_dims(&sh)).unwrap_or_default()
    };
    let fits = |v: &VariableInfo, s: &SaveVar| -> std::result::Result<(), String> {
        match stored.iter().find(|t| t.name == v.name) {
            None => Err(format!("{} is not in the checkpoint", v.name)),
            Some(t) if t.shape != graph_shape(s) => Err(format!("{}: graph shape {:?} but checkpoint shape {:?}", v.name, graph_shape(s), t.shape)),
            Some(t) if t.dtype != s.dtype => Err(format!("{}: graph dtype {} but checkpoint dtype {}", v.name, dtype_name(s.dtype), dtype_name(t.dtype))),
            Some(_) => Ok(()),
        }
    };
    let mut out = Vec::new();
    match &spec.restore {
        Some(re) => {
            let chosen = crate::freeze::select(re, "--restore", imported.iter().map(|(v, _)| v.name.as_str()))?;
            for (v, s) in imported {
                if chosen.contains(&v.name) {
                    fits(v, s).map_err(|m| Error::Invalid(format!("--restore {re:?}: {m}")))?;
                    out.push(v.name.clone());
                }
            }
        }
        None => {
            for (v, s) in imported {
                match fits(v, s) {
                    Ok(()) => out.push(v.name.clone()),
                    Err(m) => report.warnings.push(format!("{m}; initialising it instead")),
                }
            }
        }
    }
    report.restored = out.clone();
    Ok(out)
}

type Pair = (String, Output, Output);

/// Gradient clipping and the update ops; every update waits for every gradient (like
/// Python's gate_gradients) so runs are reproducible on ref variables.
fn build_optimizer(b: &mut Builder, spec: &TransferSpec, pairs: &mut Vec<Pair>, slots: &mut Vec<NewVar>) -> Result<Operation> {
    let p = "train";
    if let Some(c) = spec.clip {
        let lo = b.scalar_f32(&format!("{p}/clip_min"), -c)?;
        let hi = b.scalar_f32(&format!("{p}/clip_max"), c)?;
        for pair in pairs.iter_mut() {
            pair.2 = b.op1("ClipByValue", &format!("{p}/clip"), &[pair.2.clone(), lo.clone(), hi.clone()])?;
        }
    }
    let grad_ops: Vec<Operation> = pairs.iter().map(|p| p.2.operation.clone()).collect();
    let lr = b.scalar_f32(&format!("{p}/learning_rate"), spec.lr)?;
    let gated = |d: &mut tensorflow::OperationDescription<'_>| -> Result<()> {
        for g in &grad_ops {
            d.add_control_input(g);
        }
        d.set_attr_bool("use_locking", false)?;
        Ok(())
    };
    let mut updates = Vec::new();
    let opt = spec.optimizer.unwrap_or(Optimizer::Sgd);
    // Slots are named like Python's (`hidden1/kernel/Momentum`), without our prefix.
    let slot = |b: &mut Builder, var_name: &str, var: &Output, suffix: &str, slots: &mut Vec<NewVar>| -> Result<NewVar> {
        let shape = b.graph.tensor_shape(var.clone())?;
        let dims: Vec<u64> = crate::tensors::shape_dims(&shape).unwrap_or_default().iter().map(|&d| d.max(1) as u64).collect();
        let saved = std::mem::take(&mut b.prefix);
        let r = (|| {
            let z = b.zeros(&format!("{var_name}/{suffix}/Initializer/zeros"), &dims)?;
            b.variable(&format!("{var_name}/{suffix}"), &dims, z, false)
        })();
        b.prefix = saved;
        let v = r?;
        slots.push(v.clone());
        Ok(v)
    };
    match opt {
        Optimizer::Sgd => {
            for (name, var, g) in pairs.iter() {
                let base = format!("{p}/update_{}", name.replace('/', "_"));
                updates.push(b.op("ApplyGradientDescent", &base, &[var.clone(), lr.clone(), g.clone()], |d| gated(d))?);
            }
        }
        Optimizer::Momentum { momentum } => {
            let m = b.scalar_f32(&format!("{p}/momentum"), momentum)?;
            for (name, var, g) in pairs.iter() {
                let acc = slot(b, name, var, "Momentum", slots)?;
                let base = format!("{p}/update_{}", name.replace('/', "_"));
                updates.push(b.op("ApplyMomentum", &base, &[var.clone(), acc.var.output(0), lr.clone(), g.clone(), m.clone()], |d| {
                    d.set_attr_bool("use_nesterov", false)?;
                    gated(d)
                })?);
            }
        }
        Optimizer::Adam { beta1, beta2, epsilon } => {
            let b1 = b.scalar_f32(&format!("{p}/beta1"), beta1)?;
            let b2 = b.scalar_f32(&format!("{p}/beta2"), beta2)?;
            let eps = b.scalar_f32(&format!("{p}/epsilon"), epsilon)?;
            let b1p_init = b.scalar_f32(&format!("{p}/beta1_power/initial_value"), beta1)?;
            let b1p = b.variable(&format!("{p}/beta1_power"), &[], b1p_init, false)?;
            let b2p_init = b.scalar_f32(&format!("{p}/beta2_power/initial_value"), beta2)?;
            let b2p = b.variable(&format!("{p}/beta2_power"), &[], b2p_init, false)?;
            slots.push(b1p.clone());
            slots.push(b2p.clone());
            for (name, var, g) in pairs.iter() {
                let m = slot(b, name, var, "Adam", slots)?;
                let v = slot(b, name, var, "Adam_1", slots)?;
                let base = format!("{p}/update_{}", name.replace('/', "_"));
                let inputs = [var.clone(), m.var.output(0), v.var.output(0), b1p.snapshot.clone(), b2p.snapshot.clone(), lr.clone(), b1.clone(), b2.clone(), eps.clone(), g.clone()];
                updates.push(b.op("ApplyAdam", &base, &inputs, |d| {
                    d.set_attr_bool("use_nesterov", false)?;
                    gated(d)
                })?);
            }
            // beta powers advance after every update, as Python's AdamOptimizer._finish does.
            for (pv, beta) in [(&b1p, &b1), (&b2p, &b2)] {
                let mul = b.op("Mul", &format!("{p}/{}_mul", pv.name.rsplit('/').next().unwrap_or("beta")), &[pv.snapshot.clone(), beta.clone()], |d| {
                    for u in &updates {
                        d.add_control_input(u);
                    }
                    Ok(())
                })?;
                let asg = b.op("Assign", &format!("{p}/{}_assign", pv.name.rsplit('/').next().unwrap_or("beta")), &[pv.var.output(0), mul.into()], |d| {
                    Ok(d.set_attr_bool("use_locking", false)?)
                })?;
                updates.push(asg);
            }
        }
    }
    b.op("NoOp", &format!("{p}/step"), &[], |d| {
        for u in &updates {
            d.add_control_input(u);
        }
        Ok(())
    })
}

impl Prepared {
    /// Run the epochs of `spec` on `train` from `start` (a fresh [`Progress`], or one saved
    /// by an interrupted run), evaluating the metric on `validation` after each epoch.
    /// Checks `stop` after every step: when set, returns [`Outcome::Interrupted`].
    pub fn train(&self, spec: &TransferSpec, train: &Split, validation: Option<&Split>, start: Progress, stop: &AtomicBool, on_event: &mut dyn FnMut(&Event)) -> Result<Outcome> {
        let label_type = self.y.operation.output_type(self.y.index as usize);
        match label_type {
            DataType::Int64 => self.train_typed::<i64>(spec, train, validation, start, stop, on_event),
            DataType::Int32 => self.train_typed::<i32>(spec, train, validation, start, stop, on_event),
            other => Err(Error::Invalid(format!("labels of dtype {} are not supported", dtype_name(other)))),
        }
    }

    fn train_typed<L: TensorType + Copy + FromLabel>(&self, spec: &TransferSpec, train: &Split, validation: Option<&Split>, start: Progress, stop: &AtomicBool, on_event: &mut dyn FnMut(&Event)) -> Result<Outcome> {
        let n = train.len();
        if n == 0 {
            return Err(Error::Invalid("the training split is empty".into()));
        }
        if spec.batch_size > n {
            return Err(Error::Invalid(format!("--batch-size {} is larger than the {n} training examples", spec.batch_size)));
        }
        let row = train.row_len();
        let bs = spec.batch_size;
        let steps = n.div_ceil(bs);
        let mut dims: Vec<u64> = vec![bs as u64];
        dims.extend(train.feature_shape.iter().map(|&d| d as u64));
        // Tensors for full batches are allocated once and refilled every step.
        let mut xt = Tensor::<f32>::new(&dims);
        let mut yt = Tensor::<L>::new(&[bs as u64]);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed);
        let mut perm: Vec<usize> = (0..n).collect();
        // Replaying the shuffles of the epochs already done puts the generator (and the
        // permutation) exactly where an interrupted run left them.
        if spec.shuffle {
            for _ in 0..start.epoch {
                perm.shuffle(&mut rng);
            }
        }
        let mut p = start;
        let mut first = p.epoch == 0 && p.step == 0;
        while p.epoch < spec.epochs {
            let t0 = Instant::now();
            if p.step == 0 {
                p.loss_sum = 0.0;
            }
            if spec.shuffle {
                perm.shuffle(&mut rng);
            }
            let epoch = p.epoch;
            for step in p.step..steps {
                if stop.load(Ordering::SeqCst) {
                    return Ok(Outcome::Interrupted(p));
                }
                let idx = &perm[step * bs..((step + 1) * bs).min(n)];
                let loss = if idx.len() == bs {
                    fill(&mut xt, &mut yt, train, idx, row);
                    self.step(&xt, &yt)?
                } else {
                    let mut d = dims.clone();
                    d[0] = idx.len() as u64;
                    let mut x = Tensor::<f32>::new(&d);
                    let mut y = Tensor::<L>::new(&[idx.len() as u64]);
                    fill(&mut x, &mut y, train, idx, row);
                    self.step(&x, &y)?
                };
                p.step = step + 1;
                if !loss.is_finite() {
                    return Ok(Outcome::Diverged { epoch: epoch + 1, step: step + 1, loss });
                }
                p.loss_sum += loss as f64 * idx.len() as f64;
                if first {
                    first = false;
                    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
                    on_event(&Event::FirstStep { unix_time: now });
                }
                on_event(&Event::Step { epoch: epoch + 1, step: step + 1, steps, loss });
            }
            let train_seconds = t0.elapsed().as_secs_f64();
            let metric = match (&self.metric, validation) {
                (Some(m), Some(v)) => Some(evaluate_outputs(&self.model, v, &self.feed, &self.y, std::slice::from_ref(m), 0)?[0]),
                _ => None,
            };
            let seconds = t0.elapsed().as_secs_f64();
            let train_loss = p.loss_sum / n as f64;
            p.history.train_loss.push(train_loss);
            p.history.metric.push(metric);
            p.history.seconds.push(seconds);
            on_event(&Event::Epoch { epoch: epoch + 1, train_loss, metric, seconds, train_seconds });
            p.epoch += 1;
            p.step = 0;
        }
        Ok(Outcome::Finished(p.history))
    }

    fn step<L: TensorType>(&self, x: &Tensor<f32>, y: &Tensor<L>) -> Result<f32> {
        let mut args = SessionRunArgs::new();
        args.add_feed(&self.feed.operation, self.feed.index, x);
        args.add_feed(&self.y.operation, self.y.index, y);
        args.add_target(&self.train_op);
        let tok = args.request_fetch(&self.loss.operation, self.loss.index);
        self.model.session.run(&mut args)?;
        let l: Tensor<f32> = args.fetch(tok)?;
        Ok(l.first().copied().unwrap_or(f32::NAN))
    }

    /// The metric (or loss) on a split.
    pub fn evaluate(&self, split: &Split) -> Result<Vec<f64>> {
        let mut fetches = vec![self.loss.clone()];
        fetches.extend(self.metric.clone());
        evaluate_outputs(&self.model, split, &self.feed, &self.y, &fetches, 0)
    }

    /// Compute the cut for every split of `data` and train on it from now on (splits must
    /// then be taken from the returned set). Refuses above `max_bytes`.
    pub fn use_cache(&mut self, data: &DataSet, max_bytes: usize, batch: usize, progress: &mut dyn FnMut(&str, usize, usize)) -> Result<DataSet> {
        let cut = self.cut.clone().map_err(|why| Error::Invalid(format!("--cache-frozen: no single frozen tensor to cache: {why}")))?;
        let bytes = crate::cache::cache_bytes(&self.model.graph, &cut, data)?;
        if bytes > max_bytes {
            return Err(Error::Invalid(format!(
                "--cache-frozen: the cache of {} would take {} MB, over --cache-max-mb {}; raise it or cache less",
                output_name(&cut),
                bytes.div_ceil(1 << 20),
                max_bytes >> 20
            )));
        }
        let mut splits = std::collections::BTreeMap::new();
        for (name, split) in &data.splits {
            let n = split.len();
            let mut done = 0;
            let cached = crate::cache::compute(&self.model, &self.x, &cut, split, batch, &mut |k| {
                done += k;
                progress(name, done, n);
            })?;
            splits.insert(name.clone(), cached);
        }
        self.feed = cut;
        Ok(DataSet { source: format!("{} (cached at {})", data.source, output_name(&self.feed)), splits })
    }

    /// Write `.meta`, `.index`, `.data-*` and `checkpoint` for prefix `out`, atomically.
    pub fn save(&self, out: &Path) -> Result<Vec<PathBuf>> {
        let meta = saver::new_meta_graph(&self.model, self.saver_def.clone(), &self.new_var_defs, &self.new_trainable_defs, self.new_train_op.as_deref())?;
        saver::save_all(&self.model, &self.saver_def, &meta, out)
    }
}

/// Labels are stored as i64; the placeholder may want i32.
pub trait FromLabel {
    fn from_label(v: i64) -> Self;
}
impl FromLabel for i64 {
    fn from_label(v: i64) -> Self {
        v
    }
}
impl FromLabel for i32 {
    fn from_label(v: i64) -> Self {
        v as i32
    }
}

/// Gather the shuffled rows straight into the tensors' buffers.
fn fill<L: TensorType + Copy + FromLabel>(x: &mut Tensor<f32>, y: &mut Tensor<L>, split: &Split, idx: &[usize], row: usize) {
    for (i, &r) in idx.iter().enumerate() {
        split.copy_row(r, &mut x[i * row..(i + 1) * row]);
        y[i] = L::from_label(split.y[r]);
    }
}

/// Check a data set against the model before any work: labels in range for `classes`.
pub fn check_labels(data: &DataSet, classes: usize) -> Result<()> {
    for (name, s) in &data.splits {
        if let Some(&bad) = s.y.iter().find(|&&l| l < 0 || l as usize >= classes) {
            return Err(Error::Invalid(format!("{}: split {name} has label {bad}, outside 0..{classes}", data.source)));
        }
    }
    Ok(())
}
