//! [`prepare`]: from a spec to a model ready to train, in stages that each decide one thing and
//! return what they decided:
//!
//! 1. [`open_source`] — the `.meta` decoded once, the checkpoint resolved and listed;
//! 2. [`Plan::resolve`] — the spec validated, regexes compiled;
//! 3. [`rewrite`] — GraphDef rewrites before import (the stop-gradient); [`relax_batch`] —
//!    under new layers, an input's fixed batch that nothing else pins made any; [`place`] — in
//!    a cluster, the variables on the ps tasks;
//! 4. [`import`] — graph + session, every variable as a [`Var`], the input, label and flag tensors;
//! 5. [`head`] — new layers, loss and metric, or the imported loss;
//! 6. [`training_step`] — which variables train, their gradients, clipping, the update rule
//!    (behind `--sync`'s accumulators in a cluster); or the imported training op;
//! 7. [`savers`] — a saver over every variable, restore ops for the chosen subset,
//!    then [`jit`] — XLA or not (`--jit auto`: from the step's kind and size and the run's
//!    length, see [`crate::tf::jit`]);
//! 8. [`initialise`] — initialise what is not restored, then restore (or resume everything);
//!    in a cluster, the chief does and the others wait for it (see [`crate::train::cluster`]);
//! 9. [`find_cut`] — the tensor below which nothing trains.
//!
//! The setup report is assembled at the end from what the stages returned.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use tensorflow::{DataType, Graph, Operation, Output};

use crate::error::{Error, Result, Role};
use crate::events::{EventSink, FixedBatch, SetupReport};
use crate::feed::{FixedFeeds, LabelLayout, Setting};
use crate::graph::freeze::{gradient_blockers, gradient_path, insert_stop_gradient, no_gradient_hint, select};
use crate::graph::optimizer::{minimize, Pair};
use crate::graph::saver::{restore_ops, saver_ops, RestoreOps};
use crate::graph::{head as heads, prune, Builder, Var};
use crate::model::checkpoint::{self, StoredTensor};
use crate::model::metagraph::Extension;
use crate::model::{import_graph, restore_from, MetaGraph, Model};
use crate::proto::SaverDef;
use crate::tf::jit::{Choice, StepCost};
use crate::tf::tensors::{dtype_code, dtype_name};
use crate::tf::{find_operation, find_output, output_name, Jit, SessionConfig};
use crate::train::plan::Plan;
use crate::train::spec::{Objective, Optimizer, TransferSpec};
use crate::train::Prepared;

/// Stage 1: where the model comes from.
pub struct Source {
    pub meta: MetaGraph,
    /// `None` for a frozen graph (or a SavedModel without variables): weights are constants.
    pub checkpoint: Option<PathBuf>,
    pub warnings: Vec<String>,
    pub stored: Vec<StoredTensor>,
}

/// Read the `.meta`, resolve the checkpoint (prefix, directory or the .meta's own) and list
/// it; a SavedModel lists its own `variables/variables`; a frozen graph has none.
pub fn open_source(spec: &TransferSpec) -> Result<Source> {
    let meta = spec.model.source.read()?;
    let notes = meta.notes.clone();
    if let Some(prefix) = spec.model.source.own_checkpoint() {
        if let Some(c) = &spec.model.checkpoint {
            return Err(Error::arg(Role::Checkpoint, Some(&c.display().to_string()), "a SavedModel keeps its own (variables/variables)"));
        }
        let stored = checkpoint::list_tensors(&prefix)?;
        return Ok(Source { meta, checkpoint: Some(prefix), warnings: notes, stored });
    }
    let Some(ckpt) = spec.model.source.resolve_checkpoint(spec.model.checkpoint.as_deref())? else {
        if spec.recipe.branch_from.is_none() {
            let msg = "missing: a frozen graph has no variables to train; build new layers on one of its tensors";
            return Err(Error::arg(Role::BranchFrom, None, msg));
        }
        if let Some(c) = &spec.model.checkpoint {
            return Err(Error::arg(
                Role::Checkpoint,
                Some(&c.display().to_string()),
                "a frozen graph has no checkpoint (its weights are constants)",
            ));
        }
        return Ok(Source { meta, checkpoint: None, warnings: notes, stored: vec![] });
    };
    let stored = checkpoint::list_tensors(&ckpt.prefix)?;
    Ok(Source { meta, checkpoint: Some(ckpt.prefix), warnings: notes.into_iter().chain(ckpt.warning).collect(), stored })
}

/// The spec with every signature reference (`@KEY`, `@SIGNATURE/KEY`) replaced by the tensor
/// name the model's signatures give it.
pub fn resolve_names(spec: &TransferSpec, meta: &MetaGraph) -> Result<TransferSpec> {
    let mut s = spec.clone();
    let one = |v: &mut String, role: Role| -> Result<()> {
        *v = meta.resolve_name(v).map_err(|e| e.for_arg(role))?;
        Ok(())
    };
    one(&mut s.model.input, Role::Input)?;
    let optional = [
        (&mut s.model.labels, Role::Labels),
        (&mut s.recipe.branch_from, Role::BranchFrom),
        (&mut s.recipe.freeze_below, Role::FreezeBelow),
        (&mut s.model.loss, Role::Loss),
        (&mut s.model.metric, Role::Metric),
    ];
    for (v, role) in optional {
        if let Some(v) = v.as_mut() {
            one(v, role)?;
        }
    }
    Ok(s)
}

/// Stage 3b: an input of a fixed batch (retrain.py's `[1, H, W, 3]`) declared to take any
/// batch when, in the graph imported again with that declaration, shape inference leaves the
/// batch of the tensor the new layers are built on open (no Reshape to `[1, -1]` pins it):
/// the whole graph then runs in the batches the new layers take, and is saved so. Returns the
/// input and the batch it fixed.
pub fn relax_batch(meta: &mut MetaGraph, plan: &Plan) -> Result<Option<(String, usize)>> {
    let Some(branch) = &plan.spec.recipe.branch_from else { return Ok(None) };
    let input = &plan.spec.model.input;
    let mut gd = meta.graph_def()?;
    let Some(batch) = crate::graph::cut::relax_batch(&mut gd, crate::tf::op_name(input)) else { return Ok(None) };
    // The first dimension of the branch, as shape inference sees it.
    let branch_batch = |meta: &mut MetaGraph| -> Result<Option<i64>> {
        let mut probe = Graph::new();
        import_graph(&mut probe, meta)?;
        let t = crate::graph::stack::find_branch(&probe, branch, Role::BranchFrom)?;
        Ok(crate::tf::tensors::shape_dims(&probe.tensor_shape(t)?).and_then(|d| d.first().copied()))
    };
    if branch_batch(meta)? != Some(batch as i64) {
        return Ok(None);
    }
    let mut relaxed = meta.clone();
    relaxed.set_graph_def(&gd);
    if branch_batch(&mut relaxed)?.is_some_and(|d| d >= 0) {
        return Ok(None);
    }
    *meta = relaxed;
    let (op, index) = crate::tf::parse_tensor_name(input);
    Ok(Some((format!("{op}:{index}"), batch)))
}

/// Stage 3: a stop_gradient must be in the GraphDef before import (imported edges are fixed).
/// Returns the new tensor standing for the frozen one.
pub fn rewrite(meta: &mut MetaGraph, plan: &Plan) -> Result<Option<String>> {
    let Some(cut) = &plan.spec.recipe.freeze_below else { return Ok(None) };
    let mut probe = Graph::new();
    import_graph(&mut probe, meta)?;
    let out = crate::graph::stack::find_branch(&probe, cut, Role::FreezeBelow)?;
    let code = dtype_code(crate::tf::tensors::output_dtype(&out));
    let name = format!("{}stop_gradient", plan.spec.recipe.prefix);
    let mut gd = meta.graph_def()?;
    let new = insert_stop_gradient(&mut gd, cut, &name, code)?;
    meta.set_graph_def(&gd);
    Ok(Some(new))
}

/// Stage 3b, training as a cluster's worker: the imported variables on the ps tasks, every
/// other pin cleared; the placer goes on to place the new variables.
pub fn place(meta: &mut MetaGraph, plan: &Plan) -> Result<Option<crate::dist::Placer>> {
    let Some(worker) = &plan.spec.run.worker else { return Ok(None) };
    let mut placer = crate::dist::Placer::new(worker.ps);
    let mut gd = meta.graph_def()?;
    crate::dist::place::place_graph_def(&mut gd, &mut placer);
    meta.set_graph_def(&gd);
    Ok(Some(placer))
}

/// Stage 4: the imported graph with a session.
pub struct Imported {
    pub model: Model,
    pub vars: Vec<Var>,
    pub x: Output,
    /// The labels tensor; `None`: tfreuse makes its own (see [`TransferSpec::labels`]).
    pub y: Option<Output>,
    /// The training flags (value in training steps).
    pub flags: Vec<(Output, bool)>,
    /// The branch tensor's dimensions when only a run could tell them (see [`super::probe`]).
    pub branch_dims: Option<Vec<i64>>,
    pub warnings: Vec<String>,
}

/// Import the graph, open a session, and find the variables (TF1 ref variables only, for
/// now), the input tensor and the integer labels tensor.
pub fn import(meta: MetaGraph, plan: &Plan) -> Result<Imported> {
    let defs = meta.variables()?;
    let path = meta.path.clone();
    let model = Model::from_meta(meta, &plan.spec.run.session)?;
    let x = find_output(&model.graph, &plan.spec.model.input).map_err(|e| e.for_arg(Role::Input))?;
    let y = labels(&model.graph, plan.spec)?;
    let mut vars = Vec::new();
    for d in &defs {
        let v = Var::imported(&model.graph, d).map_err(|e| match e {
            Error::Invalid(m) => Error::bad_file(&path, m),
            other => other,
        })?;
        vars.push(v);
    }
    let flags = training_flags(&model.graph, plan)?;
    let mut warnings: Vec<String> = flag_warning(&model, &flags, plan.builds_train_op).into_iter().collect();
    let probed = match &plan.spec.recipe.branch_from {
        Some(branch) => super::probe::branch_dims(&model, &x, branch, &plan.spec.model)?,
        None => None,
    };
    let branch_dims = probed.map(|(dims, note)| {
        warnings.push(note);
        dims
    });
    Ok(Imported { model, vars, x, y, flags, branch_dims, warnings })
}

/// The integer labels tensor, or `None` when tfreuse is to make its own: none named, no `y:0`,
/// and a new head to take them.
fn labels(graph: &Graph, spec: &TransferSpec) -> Result<Option<Output>> {
    let name = spec.model.labels.as_deref().unwrap_or("y:0");
    let y = match find_output(graph, name) {
        Err(_) if spec.model.labels.is_none() && spec.recipe.branch_from.is_some() => return Ok(None),
        found => found.map_err(|e| e.for_arg(Role::Labels))?,
    };
    let label_type = crate::tf::tensors::output_dtype(&y);
    if !matches!(label_type, DataType::Int32 | DataType::Int64) {
        let msg = format!("dtype {} (integer class labels expected)", dtype_name(label_type));
        return Err(Error::arg(Role::Labels, Some(name), msg));
    }
    LabelLayout::of(graph, &y)?;
    Ok(Some(y))
}

/// A labels placeholder of tfreuse's own (int64, one a row) for a graph without one.
fn labels_placeholder(b: &mut Builder) -> Result<Output> {
    let op = b.op("Placeholder", "labels", &[], |d| {
        d.set_attr_type("dtype", DataType::Int64)?;
        Ok(d.set_attr_shape("shape", &tensorflow::Shape::from(Some(vec![None])))?)
    })?;
    Ok(op.into())
}

/// The spec's training flags as bool tensors of the graph.
fn training_flags(graph: &Graph, plan: &Plan) -> Result<Vec<(Output, bool)>> {
    let mut out = Vec::new();
    for (name, value) in &plan.spec.model.training_flags {
        let o = find_output(graph, name).map_err(|e| e.for_arg(Role::TrainingFlag))?;
        let dtype = crate::tf::tensors::output_dtype(&o);
        if dtype != DataType::Bool {
            return Err(Error::arg(Role::TrainingFlag, Some(name), format!("has dtype {}; a training flag is a bool", dtype_name(dtype))));
        }
        out.push((o, *value));
    }
    Ok(out)
}

/// A bool placeholder with a default next to UPDATE_OPS is most likely an `is_training` flag
/// left at false: batch norm would then train in inference mode, its statistics never moving.
fn flag_warning(model: &Model, flags: &[(Output, bool)], builds_train_op: bool) -> Option<String> {
    if !flags.is_empty() {
        return None;
    }
    let bool_default = |o: &Operation| {
        o.op_type().is_ok_and(|t| t == "PlaceholderWithDefault") && o.get_attr_type("dtype").is_ok_and(|d| d == DataType::Bool)
    };
    let flag = model.graph.operation_iter().find(bool_default)?;
    let name = format!("{}:0", flag.name().ok()?);
    if !update_op_names(&model.meta).is_empty() {
        return Some(format!(
            "the graph has UPDATE_OPS and a bool placeholder with a default ({name}): if it is an is_training flag, batch norm \
             trains in inference mode and its moving statistics never move; pass {} {name}",
            Role::TrainingFlag.mention()
        ));
    }
    // Dropout a model saved by tfreuse reads from `<prefix>training`, off unless fed.
    let dropout = model.graph.operation_iter().find(|o| bool_default(o) && o.name().is_ok_and(|n| n.ends_with("training")))?;
    let name = format!("{}:0", dropout.name().ok()?);
    (!builds_train_op).then(|| {
        format!("{name} looks like a training flag (dropout is off unless it is fed true); pass {} {name}", Role::TrainingFlag.mention())
    })
}

/// The ops of the `update_ops` collection (batch norm's moving-statistics updates).
fn update_op_names(meta: &MetaGraph) -> Vec<String> {
    meta.collection_nodes("update_ops").iter().map(|n| crate::tf::op_name(n).to_string()).collect()
}

/// The update ops of layers that train: those assigning a variable in the scope of a trained
/// variable (`bn/moving_mean` when `bn/gamma` trains), as Python's
/// `control_dependencies(update_ops)` around `minimize` runs them with every step.
fn trained_update_ops(graph: &Graph, meta: &MetaGraph, trained: &[&Var]) -> Vec<Operation> {
    let scope = |n: &str| n.rsplit_once('/').map(|(s, _)| s.to_string()).unwrap_or_default();
    let scopes: HashSet<String> = trained.iter().map(|v| scope(&v.name)).collect();
    update_op_names(meta)
        .iter()
        .filter_map(|n| graph.operation_by_name(n).ok().flatten())
        .filter(|op| op.num_inputs() > 0 && op.input(0).0.name().is_ok_and(|target| scopes.contains(&scope(&target))))
        .collect()
}

/// Stage 5: what training minimises and reports.
pub struct Head {
    pub loss: Output,
    pub metric: Option<Output>,
    pub new_vars: Vec<Var>,
    /// The labels fed, and whether tfreuse made them (the graph had none).
    pub y: Output,
    pub own_labels: bool,
    /// The flag the new dropout layers read (fed true in training steps), if any.
    pub training: Option<Output>,
    /// The new layers' logits, when tfreuse built them.
    pub logits: Option<Output>,
}

/// New layers on the branch tensor with a softmax cross-entropy loss and an accuracy;
/// without a branch, the imported loss (`loss/loss:0` unless named) and accuracy.
pub fn head(b: &mut Builder, plan: &Plan, y: Option<Output>, frozen_cut: Option<&str>, branch_dims: Option<&[i64]>) -> Result<Head> {
    let spec = plan.spec;
    let own_labels = y.is_none();
    let (mut training, mut new_logits) = (None, None);
    let (loss, default_metric, new_vars, y) = match (&spec.recipe.branch_from, y) {
        (Some(branch), y) => {
            if !matches!(spec.model.source, crate::model::ModelSource::Fresh(_)) {
                refuse_used_prefix(b.graph, &spec.recipe.prefix, frozen_cut)?;
            }
            let y = match y {
                Some(y) => y,
                None => labels_placeholder(b)?,
            };
            // Branching at the frozen tensor itself builds on its stop_gradient.
            let at = frozen_cut.filter(|_| spec.recipe.freeze_below.as_deref() == Some(branch.as_str())).unwrap_or(branch);
            let mut t = crate::graph::stack::find_branch(b.graph, at, Role::BranchFrom)?;
            if let Some(dims) = branch_dims {
                t = crate::graph::layers::with_shape(b, t, dims)?;
            }
            let built = new_layers(b, plan, t.clone(), branch)?;
            let (logits, new_vars) = (built.output, built.vars);
            training = built.training;
            new_logits = Some(logits.clone());
            let (loss, acc) = objective(b, plan, logits, (t, &y))?;
            let loss = match spec.recipe.l2 {
                Some(l2) => {
                    let kernels =
                        new_vars.iter().filter(|v| v.name.ends_with("/kernel")).map(|v| v.value(b.graph)).collect::<Result<Vec<_>>>()?;
                    heads::with_l2(b, loss, &kernels, l2)?
                }
                None => loss,
            };
            (loss, acc, new_vars, y)
        }
        (None, y) => {
            let y = y.ok_or_else(|| Error::arg(Role::Labels, Some("y:0"), "no such tensor"))?;
            let loss = find_output(b.graph, spec.model.loss.as_deref().unwrap_or("loss/loss:0")).map_err(|e| e.for_arg(Role::Loss))?;
            (loss, find_output(b.graph, "eval/accuracy:0").ok(), vec![], y)
        }
    };
    let metric = match &spec.model.metric {
        Some(m) => Some(find_output(b.graph, m).map_err(|e| e.for_arg(Role::Metric))?),
        None => default_metric,
    };
    Ok(Head { loss, metric, new_vars, y, own_labels, training, logits: new_logits })
}

/// The new head's loss and metric: a classifier's cross-entropy and accuracy against the
/// labels `y`, or an autoencoder's reconstruction error of `input` (no metric).
fn objective(b: &mut Builder, plan: &Plan, logits: Output, (input, y): (Output, &Output)) -> Result<(Output, Option<Output>)> {
    let objective = plan.spec.recipe.objective;
    let Some(classes) = objective.classes(plan.classes) else {
        return Ok((heads::reconstruction_loss(b, logits, input)?, None));
    };
    let mut labels = flat_labels(b, y)?;
    if objective == Objective::Pairs {
        labels = heads::same_class(b, labels)?;
    }
    let loss = heads::softmax_xent_loss(b, logits.clone(), labels.clone(), classes, plan.spec.recipe.class_weights.as_deref())?;
    Ok((loss, Some(heads::accuracy(b, logits, labels)?)))
}

/// The labels as one integer a row: a `[n, 1]` column is reshaped to `[n]` for the new head.
fn flat_labels(b: &mut Builder, y: &Output) -> Result<Output> {
    match LabelLayout::of(b.graph, y)? {
        LabelLayout::Flat => Ok(y.clone()),
        LabelLayout::Column => {
            let shape = b.constant("labels/shape", tensorflow::Tensor::from(&[-1i32][..]))?;
            b.op1("Reshape", "labels/flat", &[y.clone(), shape])
        }
    }
}

/// New layers, loss and training ops go under the prefix: a graph that already has ops there
/// (a model tfreuse saved) would get `…_1` names that nobody asked for.
/// `ours` is the stop-gradient [`rewrite`] put there.
fn refuse_used_prefix(graph: &Graph, prefix: &str, ours: Option<&str>) -> Result<()> {
    let ours = ours.map(crate::tf::op_name);
    let Some(op) = graph.operation_iter().filter_map(|o| o.name().ok()).find(|n| n.starts_with(prefix) && Some(n.as_str()) != ours) else {
        return Ok(());
    };
    let msg = format!("the graph already has ops under it ({op}: a model saved by tfreuse?); choose another prefix for the new ops");
    Err(Error::arg(Role::Prefix, Some(prefix), msg))
}

/// `--new-layers` on `t`; the last layer's width must be the number of classes (an
/// autoencoder's: `t`'s).
fn new_layers(b: &mut Builder, plan: &Plan, t: Output, branch: &str) -> Result<crate::graph::layers::Built> {
    let input = crate::tf::tensors::shape_dims(&b.graph.tensor_shape(t.clone())?);
    let built = crate::graph::layers::build(b, &plan.spec.recipe.new_layers, (plan.spec.recipe.init, plan.spec.recipe.naming()), t, branch)?;
    let msg = match plan.spec.recipe.objective.classes(plan.classes) {
        None => match input.as_deref() {
            Some([_, w]) if *w == built.width => return Ok(built),
            _ => format!("an autoencoder's last layer must be as wide as its input ({input:?}), not {}", built.width),
        },
        Some(classes) if built.width as usize == classes => return Ok(built),
        Some(_) if plan.spec.recipe.objective == Objective::Pairs => format!("the pairs task's last layer must be 2 wide, not {}", built.width),
        Some(classes) => {
            let width = built.width;
            format!("the logits have width {width} but the data has {classes} classes; make the last layer {classes} wide")
        }
    };
    Err(Error::arg(Role::NewLayers, None, msg))
}

/// Stage 6: the op one training step runs.
pub struct Step {
    pub op: Operation,
    /// Its name when tfreuse built it (it joins the `train_op` collection of a saved model).
    pub built: Option<String>,
    pub trained: Vec<String>,
    /// Trainable variables left out: frozen, or not on the path to the loss.
    pub frozen: Vec<String>,
    /// Optimizer slots and other variables the step made.
    pub slots: Vec<Var>,
    /// What the chief of a cluster initialises besides the variables (`--sync`'s global step).
    pub chief_inits: Vec<Operation>,
}

/// A training op of our own when the spec asks for one, else the imported one.
pub fn training_step(b: &mut Builder, plan: &Plan, vars: &[Var], meta: &MetaGraph, head: &Head) -> Result<Step> {
    if plan.spec.run.worker.as_ref().is_some_and(|w| w.sync) && !plan.builds_train_op {
        let msg = format!(
            "{} averages gradients tfreuse computes: train with its own training op ({}, or {})",
            Role::Sync.mention(),
            Role::Optimizer.mention(),
            Role::BranchFrom.mention()
        );
        return Err(Error::Invalid(msg));
    }
    if plan.builds_train_op {
        own_training_op(b, plan, vars, meta, head)
    } else {
        imported_training_op(b.graph, plan, vars, meta)
    }
}

/// Trainable variables (imported and new) narrowed by the trainable regex and to those the
/// loss reaches; their gradients; the update rule over them.
fn own_training_op(b: &mut Builder, plan: &Plan, vars: &[Var], meta: &MetaGraph, head: &Head) -> Result<Step> {
    let mut candidates: Vec<&Var> = vars.iter().chain(&head.new_vars).filter(|v| v.trainable).collect();
    if let Some(re) = &plan.trainable {
        let chosen = select(re, Role::Trainable, candidates.iter().map(|v| v.name.as_str()))?;
        candidates.retain(|v| chosen.contains(&v.name));
    }
    // Variables the loss cannot reach (above the branch, below a stop_gradient) get no
    // gradient; TF_AddGradients refuses unreachable ones, so leave them out up front.
    let path: HashSet<String> = gradient_path(&head.loss).iter().filter_map(|o| o.name().ok()).collect();
    let (candidates, unreached): (Vec<&Var>, Vec<&Var>) = candidates.into_iter().partition(|v| path.contains(&v.name));
    let mut frozen: Vec<String> = unreached.iter().map(|v| v.name.clone()).collect();
    let nothing = || {
        Error::Invalid(
            "no trainable variable receives a gradient from the loss: nothing to train (check the trainable pattern and the freeze tensor)"
                .into(),
        )
    };
    if candidates.is_empty() {
        return Err(nothing());
    }
    refuse_blocked_gradients(&head.loss, &candidates)?;
    let (pairs, no_grad) = gradients(b, &head.loss, candidates, &path)?;
    frozen.extend(no_grad);
    if pairs.is_empty() {
        return Err(nothing());
    }
    let trained = pairs.iter().map(|p| p.var.name.clone()).collect();
    let rule = plan.spec.recipe.optimizer.unwrap_or(Optimizer::Sgd).rule();
    let trained_vars: Vec<&Var> = pairs.iter().map(|p| &p.var).collect();
    let updates = trained_update_ops(b.graph, meta, &trained_vars);
    let Some(worker) = plan.spec.run.worker.as_ref().filter(|w| w.sync) else {
        let (op, slots) = minimize(b, rule.as_ref(), plan.spec.recipe.lr, plan.spec.recipe.clip, pairs, updates)?;
        return Ok(Step { built: Some(op.name()?), op, trained, frozen, slots, chief_inits: vec![] });
    };
    // The update waits for every worker's gradients: no training op a saved model could run alone.
    let (sync, pairs) = crate::train::sync::aggregate(b, worker, pairs)?;
    let (update, slots) = minimize(b, rule.as_ref(), plan.spec.recipe.lr, plan.spec.recipe.clip, pairs, updates)?;
    let op = sync.step(b, worker, &update)?;
    Ok(Step { built: None, op, trained, frozen, slots, chief_inits: vec![sync.initializer(b)?] })
}

/// Each candidate's gradient (a resource variable's: the sum over its reads on `path`, the
/// ops the loss's gradient passes); the names of those that get none.
fn gradients(b: &mut Builder, loss: &Output, candidates: Vec<&Var>, path: &HashSet<String>) -> Result<(Vec<Pair>, Vec<String>)> {
    let targets: Vec<Vec<Output>> = candidates.iter().map(|v| v.gradient_targets(path)).collect();
    let xs: Vec<Output> = targets.iter().flatten().cloned().collect();
    let grads = b
        .graph
        .add_gradients(Some(&b.free_scope("gradients")), std::slice::from_ref(loss), &xs, None)
        .map_err(|s| cannot_differentiate(loss, Error::from(s)))?;
    let (mut pairs, mut none, mut grads) = (Vec::new(), Vec::new(), grads.into_iter());
    for (v, t) in candidates.into_iter().zip(&targets) {
        let parts: Vec<Output> = grads.by_ref().take(t.len()).flatten().collect();
        match parts.len() {
            0 => none.push(v.name.clone()),
            1 => pairs.push(Pair { var: v.clone(), grad: parts[0].clone() }),
            _ => {
                let sum = b.op("AddN", &format!("{}/grad_sum", v.name), &[], |d| {
                    d.add_input_list(&parts);
                    Ok(())
                })?;
                pairs.push(Pair { var: v.clone(), grad: sum.into() });
            }
        }
    }
    Ok((pairs, none))
}

/// Refuse, before asking TF (which crashes on a while loop), when the gradient to a variable
/// that is to train must pass an op TF's C API cannot differentiate.
fn refuse_blocked_gradients(loss: &Output, candidates: &[&Var]) -> Result<()> {
    let names: Vec<String> = candidates.iter().map(|v| v.name.clone()).collect();
    let Some(b) = gradient_blockers(loss, &names).into_iter().next() else { return Ok(()) };
    let more = if b.variables.len() > 3 { format!(" and {} more", b.variables.len() - 3) } else { String::new() };
    Err(Error::Invalid(format!(
        "cannot train {}{more}: the gradient from the loss reaches it through {}, an op of type {}; {}",
        b.variables.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
        b.op,
        b.op_type,
        no_gradient_hint(&b.op_type)
    )))
}

/// TF refused the gradient: say of which op, and what to do about it.
fn cannot_differentiate(loss: &Output, e: Error) -> Error {
    let msg = e.to_string();
    let op_type = msg.split("No gradient defined for op: ").nth(1).map(|r| r.split(['.', ' ']).next().unwrap_or("").to_string());
    match op_type {
        Some(t) => Error::Invalid(format!(
            "cannot differentiate the loss {}: TF has no gradient for {t} ops; {}",
            output_name(loss),
            no_gradient_hint(&t)
        )),
        None => Error::Invalid(format!("cannot differentiate the loss {} ({msg})", output_name(loss))),
    }
}

/// The training op the spec names, else the `train_op` collection's only entry.
fn imported_training_op(graph: &Graph, plan: &Plan, vars: &[Var], meta: &MetaGraph) -> Result<Step> {
    let name = match &plan.spec.model.train_op {
        Some(n) => n.clone(),
        None => collection_train_op(graph, meta)?,
    };
    let op = find_operation(graph, &name).map_err(|e| e.for_arg(Role::TrainOp))?;
    let trained = vars.iter().filter(|v| v.trainable).map(|v| v.name.clone()).collect();
    Ok(Step { op, built: None, trained, frozen: vec![], slots: vec![], chief_inits: vec![] })
}

/// The imported training op: the `train_op` collection's only entry, else a clear error.
fn collection_train_op(graph: &Graph, meta: &MetaGraph) -> Result<String> {
    let mut ops = meta.collection_nodes("train_op");
    // Python's `minimize` adds its op to the collection too: a second add is the same op.
    let mut seen = HashSet::new();
    ops.retain(|o| seen.insert(o.clone()));
    match ops.as_slice() {
        [one] => Ok(one.clone()),
        [] => {
            let applies = |o: &Operation| o.op_type().is_ok_and(|t| t.starts_with("Apply") || t.starts_with("ResourceApply"));
            let mut candidates: Vec<String> = graph
                .operation_iter()
                .filter(|o| o.op_type().is_ok_and(|t| t == "NoOp") && o.control_inputs().iter().any(applies))
                .filter_map(|o| o.name().ok())
                .collect();
            candidates.sort();
            let listed = if candidates.is_empty() { String::new() } else { format!(" (candidates: {})", candidates.join(", ")) };
            Err(Error::arg(Role::TrainOp, None, format!("the graph has no `train_op` collection; name the training op{listed}")))
        }
        many => {
            Err(Error::arg(Role::TrainOp, None, format!("the `train_op` collection holds several ops ({}); choose one", many.join(", "))))
        }
    }
}

/// Stage 7: how variables get into and out of checkpoints.
pub struct Savers {
    pub saver_def: SaverDef,
    /// Restore of the chosen imported subset, if any.
    pub restore: Option<RestoreOps>,
    pub restored: Vec<String>,
    pub warnings: Vec<String>,
}

/// A saver over every variable (imported, new, slots), and restore ops for the imported
/// variables chosen by the restore regex (each must be in the checkpoint) or, by default,
/// every one the checkpoint holds with the right shape and dtype.
pub fn savers(b: &mut Builder, plan: &Plan, all: &[&Var], imported: &[Var], stored: &[StoredTensor]) -> Result<Savers> {
    let saver_def = saver_ops(b, "save", all)?;
    let mut warnings = Vec::new();
    let mut chosen: Vec<&Var> = Vec::new();
    match &plan.restore {
        Some(re) => {
            let names = select(re, Role::Restore, imported.iter().map(|v| v.name.as_str()))?;
            for v in imported.iter().filter(|v| names.contains(&v.name)) {
                fits(v, stored).map_err(|m| Error::arg(Role::Restore, Some(&format!("{:?}", re.as_str())), m))?;
                chosen.push(v);
            }
        }
        None => {
            for v in imported {
                match fits(v, stored) {
                    Ok(()) => chosen.push(v),
                    Err(m) => warnings.push(format!("{m}; initialising it instead")),
                }
            }
        }
    }
    if let (true, crate::model::ModelSource::Arch(arch), Some(first)) = (chosen.is_empty(), &plan.spec.model.source, imported.first()) {
        // An architecture is a whole net: a checkpoint fitting none of it is another model's.
        let msg = format!("holds none of {arch}'s {} variables (such as {}): a checkpoint of another model?", imported.len(), first.name);
        return Err(Error::arg(Role::Checkpoint, None, msg));
    }
    let restore = if chosen.is_empty() { None } else { Some(restore_ops(b, "restore_subset", &chosen)?) };
    Ok(Savers { saver_def, restore, restored: chosen.iter().map(|v| v.name.clone()).collect(), warnings })
}

/// What a pruned save keeps (`--prune`): the ops the new output needs, and a saver over the
/// variables among them.
#[derive(Clone, Debug)]
pub struct Pruned {
    pub saver_def: SaverDef,
    pub keep: HashSet<String>,
}

/// The ops the loss, metric, logits and training step depend on, the variables among them
/// with their initializers and snapshots (Python's `import_meta_graph` looks them up), and a
/// saver of their own.
pub fn pruned(b: &mut Builder, head: &Head, step: &Step, all: &[&Var]) -> Result<Pruned> {
    let mut roots = vec![head.loss.operation.clone(), head.y.operation.clone(), step.op.clone()];
    roots.extend(head.metric.iter().chain(&head.logits).map(|o| o.operation.clone()));
    let mut keep = prune::needed(&roots);
    let vars = prune::kept(all, &keep);
    let saver_def = saver_ops(b, "save", &vars)?;
    let mut more = vec![
        find_output(b.graph, &saver_def.filename_tensor_name)?.operation,
        find_output(b.graph, &saver_def.save_tensor_name)?.operation,
        find_operation(b.graph, &saver_def.restore_op_name)?,
    ];
    for v in &vars {
        more.push(v.initializer(b.graph)?);
        more.push(v.value(b.graph)?.operation);
    }
    keep.extend(prune::needed(&more));
    Ok(Pruned { saver_def, keep })
}

/// Whether the checkpoint holds `v` with its shape and dtype; else why not.
fn fits(v: &Var, stored: &[StoredTensor]) -> std::result::Result<(), String> {
    match stored.iter().find(|t| t.name == v.name) {
        None => Err(format!("{} is not in the checkpoint", v.name)),
        Some(t) if t.shape != v.shape => Err(format!("{}: graph shape {:?} but checkpoint shape {:?}", v.name, v.shape, t.shape)),
        Some(t) if t.dtype != v.dtype => {
            Err(format!("{}: graph dtype {} but checkpoint dtype {}", v.name, dtype_name(v.dtype), dtype_name(t.dtype)))
        }
        Some(_) => Ok(()),
    }
}

/// Stage 8: where every variable's value came from.
pub struct Initialised {
    pub checkpoint: String,
    pub restored: Vec<String>,
    pub initialized: Vec<String>,
}

/// Run the initializers of every variable not restored, then the restore; when resuming,
/// restore every variable (new ones and optimizer slots too) from the interrupted run.
pub fn initialise(
    model: &Model,
    plan: &Plan,
    checkpoint: Option<&Path>,
    savers: &Savers,
    imported: &[Var],
    new: &[&Var],
) -> Result<Initialised> {
    let restored: HashSet<&String> = savers.restored.iter().collect();
    let fresh: Vec<&Var> = imported.iter().filter(|v| !restored.contains(&v.name)).chain(new.iter().copied()).collect();
    let inits = fresh.iter().map(|v| v.initializer(&model.graph)).collect::<Result<Vec<_>>>()?;
    if !inits.is_empty() {
        model.run(&[], &[], &inits)?;
    }
    if let Some(resume) = &plan.spec.run.resume_from {
        let filename = find_output(&model.graph, &savers.saver_def.filename_tensor_name)?;
        let restore = find_operation(&model.graph, &savers.saver_def.restore_op_name)?;
        restore_from(model, &filename, &restore, resume)?;
        let everything = imported.iter().chain(new.iter().copied()).map(|v| v.name.clone()).collect();
        return Ok(Initialised { checkpoint: resume.display().to_string(), restored: everything, initialized: vec![] });
    }
    if let (Some(r), Some(c)) = (&savers.restore, checkpoint) {
        restore_from(model, &r.filename, &r.restore, c)?;
    }
    Ok(Initialised {
        checkpoint: match (checkpoint, &plan.spec.model.source) {
            (Some(c), _) => c.display().to_string(),
            (None, crate::model::ModelSource::Fresh(_)) => "none (a new model)".into(),
            (None, _) => "none (a frozen graph: its weights are constants)".into(),
        },
        restored: savers.restored.clone(),
        initialized: fresh.iter().map(|v| v.name.clone()).collect(),
    })
}

/// Stage 9: the highest tensor between the input and the loss with nothing trained below it;
/// `constants` (training flags, fed false while caching) count as constants.
pub fn find_cut(graph: &Graph, x: &Output, loss: &Output, trained: &[String], constants: &[String]) -> std::result::Result<Output, String> {
    let trained: HashSet<String> = trained.iter().cloned().collect();
    crate::graph::cut::find_cut(graph, x, loss, &trained, constants)
}

/// What every run feeds besides the data, and which of those tensors are constants to the cut.
struct Feeds {
    train_flags: FixedFeeds,
    eval_flags: FixedFeeds,
    constants: Vec<String>,
}

/// Training flags and `--set` values in training steps and elsewhere; tensors fed one value
/// everywhere (flags are false while caching), and placeholders with a default nothing
/// feeds, are constants to the cut.
fn feeds(graph: &Graph, spec: &TransferSpec, flags: &[(Output, bool)]) -> Result<Feeds> {
    let set = Setting::resolve_all(graph, Role::Set, &spec.model.set)?;
    let in_training = Setting::resolve_all(graph, Role::SetInTraining, &spec.model.set_in_training)?;
    let varies: HashSet<String> = in_training.iter().map(|s| output_name(&s.tensor)).collect();
    let fixed = set.iter().map(|s| &s.tensor).filter(|t| !varies.contains(&output_name(t)));
    let mut constants: Vec<String> = flags.iter().map(|f| &f.0).chain(fixed).filter_map(|o| o.operation.name().ok()).collect();
    // A placeholder with a default that nothing feeds holds its default in every run.
    let varied: HashSet<String> = in_training.iter().filter_map(|s| s.tensor.operation.name().ok()).collect();
    constants.extend(
        graph
            .operation_iter()
            .filter(|o| o.op_type().is_ok_and(|t| t == "PlaceholderWithDefault"))
            .filter_map(|o| o.name().ok())
            .filter(|n| !varied.contains(n)),
    );
    let train_flags = FixedFeeds::new(flags, false).with(&set).with(&in_training);
    Ok(Feeds { train_flags, eval_flags: FixedFeeds::new(flags, true).with(&set), constants })
}

/// The value tensors of the float32 variables among `trained` (what histograms show).
fn float_values(graph: &Graph, all: &[&Var], trained: &[String]) -> Result<Vec<(String, Output)>> {
    let wanted: HashSet<&str> = trained.iter().map(String::as_str).collect();
    all.iter()
        .filter(|v| v.dtype == DataType::Float && wanted.contains(v.name.as_str()))
        .map(|v| Ok((v.name.clone(), v.value(graph)?)))
        .collect()
}

/// Stage 7, after the savers: XLA as `--jit` says, or as [`crate::tf::jit::for_step`] decides
/// for this step. A session's options are fixed when it is made, so `auto` turning XLA on
/// opens it again (nothing has run in it yet).
pub fn jit(model: &mut Model, plan: &Plan, all: &[&Var], trained: &[String]) -> Result<Choice> {
    let choice = crate::tf::jit::choose(plan.spec.run.session.jit, || step_cost(&model.graph, plan, all, trained));
    if choice.on && plan.spec.run.session.jit == Jit::Auto {
        model.reopen(&SessionConfig { jit: Jit::On, ..plan.spec.run.session.clone() })?;
    }
    Ok(choice)
}

/// What [`crate::tf::jit::for_step`] reads of the step: the trained variables' sizes, the
/// batch, the run's length, who built the step, a convolution, a remote session, oneDNN.
fn step_cost(graph: &Graph, plan: &Plan, all: &[&Var], trained: &[String]) -> StepCost {
    let trained: HashSet<&str> = trained.iter().map(String::as_str).collect();
    let size = |v: &Var| v.shape.iter().map(|&d| d.max(0) as u64).product::<u64>();
    let trained_weights = all.iter().filter(|v| trained.contains(v.name.as_str())).map(|v| size(v)).sum();
    let convolution = graph.operation_iter().filter_map(|o| o.op_type().ok()).find(|t| crate::tf::onednn::is_convolution(t));
    let remote = plan.spec.run.session.target.is_some() || plan.spec.run.worker.is_some();
    StepCost {
        trained_weights,
        batch_size: plan.spec.schedule.batch_size,
        steps: plan.spec.schedule.steps(),
        imported_op: !plan.builds_train_op,
        convolution,
        remote,
        onednn: crate::tf::onednn::enabled(),
    }
}

/// Build the training graph on the imported model and initialise every variable. `classes`:
/// number of classes the new output layer must have (from the data). A worker's wait for its
/// chief is told to nobody.
pub fn prepare(spec: &TransferSpec, classes: usize) -> Result<Prepared> {
    prepare_with(spec, classes, &mut crate::events::Memory::default())
}

/// An input of a fixed batch below new layers that take any (`cut_any_batch`): relaxed by
/// [`relax_batch`], else kept, the frozen part then run in that batch.
fn batch_report(graph: &Graph, x: &Output, relaxed: Option<(String, usize)>, cut_any_batch: bool) -> Result<Option<FixedBatch>> {
    if let Some((input, batch)) = relaxed {
        return Ok(Some(FixedBatch { input, batch, relaxed: true }));
    }
    let fixed = crate::feed::InputShape::of(graph, x)?.fixed_batch().filter(|_| cut_any_batch);
    Ok(fixed.map(|batch| FixedBatch { input: output_name(x), batch, relaxed: false }))
}

/// Build the training graph on the imported model and initialise every variable.
/// `classes`: number of classes the new output layer must have (from the data); `sink` hears
/// of a wait (a worker's for its chief).
pub fn prepare_with(spec: &TransferSpec, classes: usize, sink: &mut dyn EventSink) -> Result<Prepared> {
    let mut source = open_source(spec)?;
    let spec = &resolve_names(spec, &source.meta)?;
    let plan = Plan::resolve(spec, classes)?;
    let frozen_cut = rewrite(&mut source.meta, &plan)?;
    let relaxed = relax_batch(&mut source.meta, &plan)?;
    let placer = place(&mut source.meta, &plan)?;
    let Imported { mut model, vars, x, y, mut flags, branch_dims, mut warnings } = import(source.meta, &plan)?;
    let mut b = Builder::new(&mut model.graph, &spec.recipe.prefix, spec.run.device.clone(), spec.schedule.seed as i64 & 0x7fff_ffff);
    b.placer = placer;
    let head = head(&mut b, &plan, y, frozen_cut.as_deref(), branch_dims.as_deref())?;
    flags.extend(head.training.clone().map(|t| (t, true)));
    if head.own_labels {
        warnings.push(format!("the graph has no y:0: the new head takes its labels from {} (int64)", output_name(&head.y)));
    }
    let y = head.y.clone();
    let step = training_step(&mut b, &plan, &vars, &model.meta, &head)?;
    let all: Vec<&Var> = vars.iter().chain(&head.new_vars).chain(&step.slots).collect();
    let savers = savers(&mut b, &plan, &all, &vars, &source.stored)?;
    let pruned = spec.recipe.prune.then(|| pruned(&mut b, &head, &step, &all)).transpose()?;
    let new: Vec<&Var> = head.new_vars.iter().chain(&step.slots).collect();
    let cluster = spec.run.worker.as_ref().map(|w| Ok::<_, Error>((w, crate::train::cluster::ready_flag(&mut b, spec)?))).transpose()?;
    let placement = b.placer.as_ref().map(|p| p.describe()).unwrap_or_default();
    let jit = jit(&mut model, &plan, &all, &step.trained)?;
    let init = match &cluster {
        Some((w, ready)) if !w.is_chief() => {
            crate::train::cluster::wait_for_chief(&model, w, ready, sink)?;
            Initialised { checkpoint: "the chief's (worker 0)".into(), restored: vec![], initialized: vec![] }
        }
        _ => initialise(&model, &plan, source.checkpoint.as_deref(), &savers, &vars, &new)?,
    };
    if let Some((w, ready)) = &cluster {
        crate::train::cluster::announce_ready(&model, w, ready, &step.chief_inits)?;
    }
    let Feeds { train_flags, eval_flags, constants } = feeds(&model.graph, spec, &flags)?;
    let cut = find_cut(&model.graph, &x, &head.loss, &step.trained, &constants);
    let ends: Vec<Output> = std::iter::once(head.loss.clone()).chain(head.metric.clone()).collect();
    let cut_any_batch = cut.as_ref().is_ok_and(|c| crate::graph::cut::only_new_above(c, &ends, &spec.recipe.prefix));
    let trained_values = float_values(&model.graph, &all, &step.trained)?;
    let batch = batch_report(&model.graph, &x, relaxed, cut_any_batch)?;
    let report = SetupReport {
        checkpoint: init.checkpoint,
        restored: init.restored,
        initialized: init.initialized,
        trained: step.trained,
        frozen: step.frozen,
        train_op: step.op.name()?,
        loss: output_name(&head.loss),
        metric: head.metric.as_ref().map(output_name),
        warnings: source.warnings.into_iter().chain(warnings).chain(savers.warnings).collect(),
        cut: cut.as_ref().ok().map(output_name),
        logits: head.logits.as_ref().filter(|_| spec.recipe.objective == Objective::Classify).map(output_name),
        placement,
        jit,
        batch,
    };
    let extension = Extension { saver_def: savers.saver_def, variables: new.iter().map(|v| v.def.clone()).collect(), train_op: step.built };
    Ok(Prepared {
        logits: head.logits,
        model,
        feed: x.clone(),
        x,
        cut,
        y,
        loss: head.loss,
        metric: head.metric,
        train_op: step.op,
        trained_values,
        train_flags,
        eval_flags,
        report,
        extension,
        pruned,
        cut_any_batch,
    })
}
