//! A frozen GraphDef, as `convert_variables_to_constants` writes it and retrain.py handed to
//! label_image and TF Serving: only the ops the served outputs need, each variable replaced by
//! a constant holding its restored value (a resource variable's reads become `Identity`), and
//! no device pins. Binary `.pb`, or text for a `.pbtxt` name. Known class names go beside it,
//! a line each, as retrain.py's output_labels.txt ([`labels_path`]). With the picture input,
//! the input is the `PlaceholderWithDefault` of its preprocessing ([`super::preprocess`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use prost::Message;
use tensorflow::{Graph, ImportGraphDefOptions, Output};

use super::Serving;
use crate::error::{Error, Result};
use crate::graph::VarKind;
use crate::model::Model;
use crate::proto::{attr_type, attr_value, AttrValue, GraphDef, NodeDef, TensorProto};
use crate::tf::tensors::{dtype_code, DynArray};
use crate::tf::{op_name, output_name};

/// What [`frozen`] wrote.
#[derive(Debug)]
pub struct Frozen {
    /// Ops in the frozen graph.
    pub ops: usize,
    /// Variables that became constants.
    pub constants: usize,
    /// The class names' file written beside it, if the names are known.
    pub labels: Option<PathBuf>,
}

/// Where the class names of a frozen graph `out` go: `NAME.labels.txt` beside `NAME.pb`.
pub fn labels_path(out: &Path) -> PathBuf {
    out.with_extension("labels.txt")
}

/// Write the ops `serving` needs from `model` (restored) as a frozen GraphDef at `out`, which
/// must not exist; the file appears whole or not at all.
pub fn frozen(model: &Model, serving: &Serving, out: &Path) -> Result<Frozen> {
    let labels = serving.labels_text().map(|text| (labels_path(out), text));
    for path in std::iter::once(out).chain(labels.as_ref().map(|(p, _)| p.as_path())) {
        if path.exists() {
            return Err(Error::Invalid(format!("{}: exists; a frozen graph is written to a new file", path.display())));
        }
    }
    let mut full = GraphDef::decode(model.graph.graph_def()?.as_slice())
        .map_err(|e| Error::Tf(format!("TF wrote a GraphDef we cannot decode: {e}")))?;
    if let Some(p) = &serving.pictures {
        super::preprocess::wire(&mut full, &serving.input, &p.pixels)?;
    }
    let outputs: Vec<&Output> = serving.outputs().into_iter().map(|(_, o)| o).collect();
    let keep = needed(&full, &outputs)?;
    if !keep.contains(&serving.input.operation.name()?) {
        return Err(Error::Invalid(format!(
            "the logits {} do not depend on the input {}",
            output_name(&serving.logits),
            output_name(&serving.input)
        )));
    }
    let mut gd = GraphDef { node: full.node.into_iter().filter(|n| keep.contains(&n.name)).collect(), ..full };
    let values = variable_values(model, &gd)?;
    let constants = values.len();
    for node in &mut gd.node {
        freeze_node(node, &values, &keep)?;
    }
    let bytes = gd.encode_to_vec();
    if bytes.len() > i32::MAX as usize {
        return Err(Error::Invalid(format!("the frozen graph would be {} bytes; TF reads protobufs up to 2 GB", bytes.len())));
    }
    check_imports(&bytes)?;
    let text = out.extension().is_some_and(|e| e == "pbtxt");
    let written = if text { to_text(&bytes)?.into_bytes() } else { bytes };
    // The names first: a graph on disk has its names beside it.
    if let Some((path, names)) = &labels {
        crate::atomic::write_bytes_atomic(path, names.as_bytes())?;
    }
    crate::atomic::write_bytes_atomic(out, &written)?;
    Ok(Frozen { ops: gd.node.len(), constants, labels: labels.map(|(p, _)| p) })
}

/// Names of the ops `outputs` depend on, through data and control inputs.
fn needed(gd: &GraphDef, outputs: &[&Output]) -> Result<HashSet<String>> {
    let by_name: HashMap<&str, &NodeDef> = gd.node.iter().map(|n| (n.name.as_str(), n)).collect();
    let mut keep = HashSet::new();
    let mut todo: Vec<String> = outputs.iter().map(|o| o.operation.name()).collect::<std::result::Result<_, _>>()?;
    while let Some(name) = todo.pop() {
        if !keep.insert(name.clone()) {
            continue;
        }
        let node = by_name.get(name.as_str()).ok_or_else(|| Error::Tf(format!("the GraphDef has no node {name}")))?;
        todo.extend(node.input.iter().map(|i| op_name(i.trim_start_matches('^')).to_string()));
    }
    Ok(keep)
}

/// A kept variable's value, by variable op name.
type Values = HashMap<String, DynArray>;

/// The restored value of every variable among `gd`'s nodes: a ref variable's own output, a
/// resource variable's through one of its kept reads.
fn variable_values(model: &Model, gd: &GraphDef) -> Result<Values> {
    let mut names = Vec::new();
    let mut fetches = Vec::new();
    for node in &gd.node {
        let Some(kind) = VarKind::of_op_type(&node.op) else { continue };
        let fetch = match kind {
            VarKind::Ref => node.name.clone(),
            VarKind::Resource => resource_read(gd, &node.name)?,
        };
        fetches.push(crate::tf::find_output(&model.graph, &format!("{fetch}:0"))?);
        names.push(node.name.clone());
    }
    let arrays = model.run(&[], &fetches, &[])?;
    Ok(names.into_iter().zip(arrays).collect())
}

/// The kept `ReadVariableOp` of resource variable `var`; other ops on its handle (gathers,
/// assignments) have no constant form here.
fn resource_read(gd: &GraphDef, var: &str) -> Result<String> {
    let users = gd.node.iter().filter(|n| n.input.iter().any(|i| op_name(i) == var));
    let mut read = None;
    for n in users {
        if n.op != "ReadVariableOp" {
            return Err(Error::Invalid(format!(
                "cannot freeze resource variable {var}: {} ({}) uses its handle; only ReadVariableOp reads become constants",
                n.name, n.op
            )));
        }
        read.get_or_insert(n.name.clone());
    }
    read.ok_or_else(|| Error::Tf(format!("resource variable {var} is kept but nothing reads it")))
}

/// Rewrite one kept node: a variable becomes a Const, a read of a resource variable an
/// Identity; devices go, and colocation with ops that were dropped.
fn freeze_node(node: &mut NodeDef, values: &Values, keep: &HashSet<String>) -> Result<()> {
    node.device.clear();
    if let Some(value) = values.get(&node.name) {
        let (dtype, dims) = (dtype_code(value.dtype()), value.shape().iter().map(|&d| d as i64).collect::<Vec<_>>());
        let tensor = TensorProto {
            dtype,
            tensor_shape: Some(crate::proto::tensor_shape(Some(&dims))),
            tensor_content: value.to_le_bytes(),
            ..Default::default()
        };
        node.op = "Const".into();
        node.attr = BTreeMap::from([
            ("dtype".to_string(), attr_type(dtype)),
            ("value".to_string(), AttrValue { value: Some(attr_value::Value::Tensor(tensor)) }),
        ]);
    } else if node.op == "ReadVariableOp" && node.input.first().is_some_and(|i| values.contains_key(op_name(i))) {
        let dtype = node.attr.remove("dtype").ok_or_else(|| Error::Tf(format!("{} has no dtype", node.name)))?;
        node.op = "Identity".into();
        node.attr = BTreeMap::from([("T".to_string(), dtype)]);
    }
    drop_dead_colocation(node, keep);
    Ok(())
}

/// `_class: ["loc:@op"]` naming ops that are no longer there would fail the import.
fn drop_dead_colocation(node: &mut NodeDef, keep: &HashSet<String>) {
    let Some(AttrValue { value: Some(attr_value::Value::List(list)) }) = node.attr.get_mut("_class") else { return };
    list.s.retain(|s| std::str::from_utf8(s).ok().and_then(|s| s.strip_prefix("loc:@")).is_some_and(|op| keep.contains(op)));
    if list.s.is_empty() {
        node.attr.remove("_class");
    }
}

/// TF must import what is written: a ref-only consumer of a variable (an assignment) would fail.
fn check_imports(bytes: &[u8]) -> Result<()> {
    Graph::new()
        .import_graph_def(bytes, &ImportGraphDefOptions::new())
        .map_err(|s| Error::Tf(format!("the frozen graph does not import into TF: {}", s)))
}

/// The GraphDef in protobuf text format, as `tf.io.write_graph(..., as_text=True)` writes it.
fn to_text(bytes: &[u8]) -> Result<String> {
    crate::proto::binary_to_text("tensorflow.GraphDef", bytes).map_err(|e| Error::Tf(format!("GraphDef as text: {e}")))
}
