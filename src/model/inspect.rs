//! What a `.meta` + checkpoint hold: ops by type, placeholders, the layers from input to
//! logits (where to branch), variables, collections, the saver, and how the checkpoint
//! matches the graph's variables, and which operations reach outside the process (files,
//! the network: see `graph::audit`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::Result;
pub use crate::graph::audit::{Class, Reach};
use crate::graph::VarKind;
use crate::model::checkpoint::{self, Resolved};
use crate::model::metagraph::CollectionValue;
use crate::model::Model;
use crate::tf::op_name;
use crate::tf::tensors::{dtype_name, shape_dims, shape_string};

pub use crate::graph::stack::Layer;

/// What a model holds, as `tfreuse inspect` prints it.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The `.meta` (or graph, SavedModel) read.
    pub meta: String,
    /// The TensorFlow version that wrote it.
    pub tensorflow_version: String,
    /// Operations in the graph.
    pub op_count: usize,
    /// How many operations of each type.
    pub ops_by_type: BTreeMap<String, usize>,
    /// The graph's placeholders (its inputs).
    pub placeholders: Vec<Placeholder>,
    /// A TF-Slim architecture's end points (`InceptionV3/Mixed_7c`) and their tensors.
    pub end_points: BTreeMap<String, String>,
    /// The layers from the input to the logits, each with its output tensor (where new
    /// layers may branch); empty when no dense or convolution layer was found.
    pub layers: Vec<Layer>,
    /// The variables the MetaGraph lists.
    pub variables: Vec<Variable>,
    /// Each collection and what it holds, in words.
    pub collections: BTreeMap<String, String>,
    /// The saver the graph carries, when it has one.
    pub saver: Option<Saver>,
    /// A SavedModel's signatures: each key's tensor (what `@SIGNATURE/KEY` stands for).
    pub signatures: BTreeMap<String, Signature>,
    /// How the checkpoint matches the variables, when one was read.
    pub checkpoint: Option<CheckpointReport>,
    /// The nodes (of the graph and its function library) that reach outside the process:
    /// files, the network, op types the loaded TensorFlow does not know. Listed, not refused.
    pub reaches_outside: Vec<Reach>,
}

/// A SavedModel signature.
#[derive(Debug, Serialize)]
pub struct Signature {
    /// Its method (`tensorflow/serving/predict` …).
    pub method: String,
    /// Its inputs, by key.
    pub inputs: Vec<SignatureTensor>,
    /// Its outputs, by key.
    pub outputs: Vec<SignatureTensor>,
}

/// One tensor of a signature.
#[derive(Debug, Serialize)]
pub struct SignatureTensor {
    /// The key it goes by in the signature.
    pub key: String,
    /// The tensor's name (empty for a sparse or composite one).
    pub name: String,
    /// Its dtype (`float32` …).
    pub dtype: String,
    /// Its shape (`[-1, 784]`, or `<unknown>`).
    pub shape: String,
}

fn signatures(model: &Model) -> BTreeMap<String, Signature> {
    let tensors = |m: &BTreeMap<String, crate::proto::TensorInfo>| {
        m.iter()
            .map(|(key, t)| SignatureTensor {
                key: key.clone(),
                name: match &t.encoding {
                    Some(crate::proto::tensor_info::Encoding::Name(n)) => n.clone(),
                    _ => String::new(),
                },
                dtype: dtype_name(crate::tf::tensors::dtype_from_c(t.dtype)),
                shape: match &t.tensor_shape {
                    Some(s) if !s.unknown_rank => crate::tf::tensors::dims_text(&s.dim.iter().map(|d| d.size).collect::<Vec<_>>()),
                    _ => "<unknown>".into(),
                },
            })
            .collect()
    };
    let sigs = &model.meta.def.signature_def;
    sigs.iter()
        .map(|(k, s)| (k.clone(), Signature { method: s.method_name.clone(), inputs: tensors(&s.inputs), outputs: tensors(&s.outputs) }))
        .collect()
}

/// A placeholder of the graph.
#[derive(Debug, Serialize)]
pub struct Placeholder {
    /// Its operation's name.
    pub name: String,
    /// Its dtype.
    pub dtype: String,
    /// Its shape, as text.
    pub shape: String,
    /// PlaceholderWithDefault: feeding it is optional.
    pub has_default: bool,
}

/// A variable the MetaGraph lists.
#[derive(Debug, Serialize)]
pub struct Variable {
    /// Its operation's name.
    pub name: String,
    /// Its dtype.
    pub dtype: String,
    /// Its shape (-1: unknown).
    pub shape: Vec<i64>,
    /// Whether it is in the trainable collection.
    pub trainable: bool,
}

/// The graph's SaverDef.
#[derive(Debug, Serialize)]
pub struct Saver {
    /// The tensor fed the checkpoint's path.
    pub filename_tensor: String,
    /// The tensor that saves.
    pub save_tensor: String,
    /// The operation that restores.
    pub restore_op: String,
    /// The checkpoint format (`V1`, `V2`, `LEGACY`).
    pub version: String,
}

/// How a checkpoint matches the graph's variables.
#[derive(Debug, Serialize)]
pub struct CheckpointReport {
    /// The checkpoint's prefix.
    pub prefix: String,
    /// How it was guessed, when it was.
    pub warning: Option<String>,
    /// Graph variables the checkpoint holds with the right shape.
    pub restorable: Vec<String>,
    /// Graph variables the checkpoint lacks.
    pub missing: Vec<String>,
    /// `name: graph [..] vs checkpoint [..]`.
    pub shape_mismatches: Vec<String>,
    /// Checkpoint tensors no graph variable uses.
    pub unused: Vec<String>,
}

/// Build the report. `checkpoint`: None = no checkpoint part; Some(resolved) = compare.
pub fn report(model: &Model, ckpt: Option<&Resolved>) -> Result<Report> {
    let ops = scan_ops(model);
    let variables = variables(model, &ops.var_shapes)?;
    let checkpoint = match ckpt {
        None => None,
        Some(r) => Some(compare(&r.prefix, r.warning.clone(), &variables)?),
    };
    Ok(Report {
        meta: model.meta.path.display().to_string(),
        tensorflow_version: model.meta.tensorflow_version().to_string(),
        op_count: ops.count,
        ops_by_type: ops.by_type,
        placeholders: ops.placeholders,
        end_points: model.meta.aliases.clone(),
        // A graph whose layers cannot be told apart is still worth the rest of the report.
        layers: crate::graph::stack::model_layers(&model.graph).unwrap_or_default(),
        variables,
        collections: collections(model),
        saver: model.meta.saver_def().map(saver),
        signatures: signatures(model),
        checkpoint,
        reaches_outside: crate::graph::audit::reaches(
            &model.meta.graph_def()?,
            model.meta.saver_def(),
            crate::tf::runtime::registered_ops()?,
        ),
    })
}

/// Why `prefix` cannot restore into `model`, in a line naming a variable: none of the graph's
/// variables in it (another architecture's checkpoint), a shape that differs, or a variable
/// it lacks. `None` when the listing shows no mismatch (TF's own error then stands).
pub(crate) fn restore_mismatch(model: &Model, prefix: &Path) -> Option<String> {
    let vars = variables(model, &scan_ops(model).var_shapes).ok()?;
    let rep = compare(prefix, None, &vars).ok()?;
    let more = |n: usize| if n > 1 { format!(" (and {} more)", n - 1) } else { String::new() };
    if rep.restorable.is_empty() && !rep.missing.is_empty() {
        let theirs = rep.unused.first().map_or("none".to_string(), |u| format!("e.g. {u}"));
        return Some(format!(
            "it holds none of the graph's {} variables (such as {}; its own are {theirs}): a checkpoint of another model?",
            vars.len(),
            rep.missing[0]
        ));
    }
    if let Some(first) = rep.shape_mismatches.first() {
        return Some(format!("variable {first}{}", more(rep.shape_mismatches.len())));
    }
    rep.missing.first().map(|m| format!("variable {m} is not in the checkpoint{}", more(rep.missing.len())))
}

/// The graph's variables (its `variables` collection) with the dtypes and shapes of their ops.
fn variables(model: &Model, var_shapes: &BTreeMap<String, (String, Vec<i64>)>) -> Result<Vec<Variable>> {
    let defs = model.meta.variables()?;
    Ok(defs
        .into_iter()
        .map(|v| {
            let name = op_name(&v.variable_name).to_string();
            let (dtype, shape) = var_shapes.get(&name).cloned().unwrap_or_default();
            Variable { name, dtype, shape, trainable: v.trainable }
        })
        .collect())
}

/// What one pass over the graph's operations finds.
struct Ops {
    count: usize,
    by_type: BTreeMap<String, usize>,
    placeholders: Vec<Placeholder>,
    /// Variable op name -> (dtype, shape).
    var_shapes: BTreeMap<String, (String, Vec<i64>)>,
}

fn scan_ops(model: &Model) -> Ops {
    let mut ops = Ops { count: 0, by_type: BTreeMap::new(), placeholders: vec![], var_shapes: BTreeMap::new() };
    for op in model.graph.operation_iter() {
        ops.count += 1;
        let ty = op.op_type().unwrap_or_default();
        *ops.by_type.entry(ty.clone()).or_insert(0) += 1;
        let name = op.name().unwrap_or_default();
        let dtype = || op.get_attr_type("dtype").map(dtype_name).unwrap_or_default();
        match ty.as_str() {
            "Placeholder" | "PlaceholderWithDefault" => ops.placeholders.push(Placeholder {
                name: format!("{name}:0"),
                dtype: dtype(),
                shape: op.get_attr_shape("shape").map(|s| shape_string(&s)).unwrap_or_else(|_| "<unknown>".into()),
                has_default: ty == "PlaceholderWithDefault",
            }),
            t if VarKind::of_op_type(t).is_some() => {
                let shape = op.get_attr_shape("shape").ok().and_then(|s| shape_dims(&s)).unwrap_or_default();
                ops.var_shapes.insert(name, (dtype(), shape));
            }
            _ => {}
        }
    }
    ops
}

fn collections(model: &Model) -> BTreeMap<String, String> {
    let describe = |k: &str| match model.meta.collection_value(k) {
        Some(CollectionValue::Nodes(n)) => n.join(", "),
        Some(CollectionValue::Bytes(n)) => format!("{n} serialized protos"),
        Some(CollectionValue::Int64(v)) => format!("{v:?}"),
        Some(CollectionValue::Float(v)) => format!("{v:?}"),
        Some(CollectionValue::Any(n)) => format!("{n} Any protos"),
        Some(CollectionValue::Empty) | None => "empty".into(),
    };
    model.meta.def.collection_def.keys().map(|k| (k.clone(), describe(k))).collect()
}

fn saver(s: &crate::proto::SaverDef) -> Saver {
    Saver {
        filename_tensor: s.filename_tensor_name.clone(),
        save_tensor: s.save_tensor_name.clone(),
        restore_op: s.restore_op_name.clone(),
        version: match s.version {
            0 => "LEGACY".into(),
            1 => "V1".into(),
            2 => "V2".into(),
            v => v.to_string(),
        },
    }
}

fn compare(prefix: &Path, warning: Option<String>, vars: &[Variable]) -> Result<CheckpointReport> {
    let stored = checkpoint::list_tensors(prefix)?;
    let mut rep = CheckpointReport {
        prefix: prefix.display().to_string(),
        warning,
        restorable: vec![],
        missing: vec![],
        shape_mismatches: vec![],
        unused: vec![],
    };
    for v in vars {
        match stored.iter().find(|s| s.name == v.name) {
            None => rep.missing.push(v.name.clone()),
            Some(s) if s.shape != v.shape && !v.shape.contains(&-1) => {
                rep.shape_mismatches.push(format!("{}: graph {:?} vs checkpoint {:?}", v.name, v.shape, s.shape))
            }
            Some(_) => rep.restorable.push(v.name.clone()),
        }
    }
    rep.unused = stored.iter().filter(|s| !vars.iter().any(|v| v.name == s.name)).map(|s| s.name.clone()).collect();
    Ok(rep)
}
