//! A `.meta` file: the MetaGraphDef that `tf.train.Saver` writes beside a checkpoint, as
//! `tf.train.import_meta_graph` sees it (the graph, the saver_def, the collections: variables,
//! trainable_variables, train_op, user ones), and the new one written after training.

use std::path::{Path, PathBuf};

use prost::Message;

use crate::error::{Error, Result, Role};
use crate::proto::collection_def::{BytesList, Kind, NodeList};
use crate::proto::{meta_graph_def::MetaInfoDef, CollectionDef, GraphDef, OpDef, OpList, SaverDef, VariableDef};
use crate::proto::{AssetFileDef, SavedObjectGraph, SignatureDef};

/// TF's MetaGraphDef with the GraphDef left as the bytes it was read as. Decoding and
/// re-encoding a GraphDef does not give the same bytes: Python (upb) writes the keys of each
/// NodeDef's `attr` map in its own order (`seed2` before `seed`), prost in sorted order. Kept
/// raw, an unchanged `.meta` re-encodes byte for byte; [`MetaGraph::graph_def`] decodes it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetaGraphDef {
    #[prost(message, optional, tag = "1")]
    pub meta_info_def: Option<MetaInfoDef>,
    /// A serialized GraphDef.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub graph_def: Option<Vec<u8>>,
    #[prost(message, optional, tag = "3")]
    pub saver_def: Option<SaverDef>,
    #[prost(btree_map = "string, message", tag = "4")]
    pub collection_def: std::collections::BTreeMap<String, CollectionDef>,
    #[prost(btree_map = "string, message", tag = "5")]
    pub signature_def: std::collections::BTreeMap<String, SignatureDef>,
    #[prost(message, repeated, tag = "6")]
    pub asset_file_def: Vec<AssetFileDef>,
    #[prost(message, optional, tag = "7")]
    pub object_graph_def: Option<SavedObjectGraph>,
}

/// TF's SavedModel, its MetaGraphDefs kept as [`MetaGraphDef`] (GraphDefs raw).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct SavedModel {
    #[prost(int64, tag = "1")]
    pub saved_model_schema_version: i64,
    #[prost(message, repeated, tag = "2")]
    pub meta_graphs: Vec<MetaGraphDef>,
}

/// A decoded `.meta` file.
#[derive(Clone, Debug)]
pub struct MetaGraph {
    /// The file it was read from.
    pub path: PathBuf,
    /// The MetaGraphDef itself.
    #[doc(hidden)] // for the tests and fuzz targets: TF's messages are not public
    pub def: MetaGraphDef,
    /// What reading changed in the graph, for the user (device pins cleared).
    pub notes: Vec<String>,
    /// Other names of tensors, taken wherever a tensor is named, with or without `:0`: a
    /// TF-Slim architecture's end points (`InceptionV3/Mixed_7c`).
    pub aliases: std::collections::BTreeMap<String, String>,
}

/// A collection's contents in a printable form.
#[derive(Clone, Debug, PartialEq)]
pub enum CollectionValue {
    Nodes(Vec<String>),
    /// Serialized protos (VariableDef etc.): count only.
    Bytes(usize),
    Int64(Vec<i64>),
    Float(Vec<f32>),
    Any(usize),
    Empty,
}

impl MetaGraph {
    /// Read and decode a `.meta` file.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::decode(&bytes, path)
    }

    /// Decode MetaGraphDef bytes; `path` only names the source in errors.
    pub fn decode(bytes: &[u8], path: &Path) -> Result<Self> {
        let def = MetaGraphDef::decode(bytes)
            .map_err(|e| Error::bad_file(path, format!("not a MetaGraphDef (.meta) file: {e}{}", graph_hint(bytes))))?;
        Self::with_graph(def, path.to_path_buf(), &graph_hint(bytes))
    }

    /// `def` read from `path`, which must hold a graph (else the error ends with `hint`).
    fn with_graph(def: MetaGraphDef, path: PathBuf, hint: &str) -> Result<Self> {
        if def.graph_def.as_ref().is_none_or(|g| g.is_empty()) {
            return Err(Error::bad_file(&path, format!("the MetaGraphDef holds no graph_def{hint}")));
        }
        Ok(MetaGraph { path, def, notes: vec![], aliases: Default::default() })
    }

    /// The MetaGraphDef of a TF1 SavedModel (`DIR/saved_model.pb`) whose tags include every
    /// one of `tags` (comma-separated, e.g. `serve`).
    pub fn from_saved_model(dir: &Path, tags: &str) -> Result<Self> {
        let path = dir.join("saved_model.pb");
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        Self::from_saved_model_bytes(&bytes, tags, path)
    }

    /// [`MetaGraph::from_saved_model`] on the bytes of `path` (a `saved_model.pb`).
    pub fn from_saved_model_bytes(bytes: &[u8], tags: &str, path: PathBuf) -> Result<Self> {
        let sm = SavedModel::decode(bytes).map_err(|e| Error::bad_file(&path, format!("not a SavedModel: {e}")))?;
        let wanted: Vec<&str> = tags.split(',').map(str::trim).filter(|t| !t.is_empty()).collect();
        let tags_of = |m: &MetaGraphDef| m.meta_info_def.as_ref().map(|i| i.tags.clone()).unwrap_or_default();
        let have: Vec<String> = sm.meta_graphs.iter().map(|m| format!("[{}]", tags_of(m).join(","))).collect();
        let Some(def) = sm.meta_graphs.into_iter().find(|m| wanted.iter().all(|w| tags_of(m).iter().any(|t| t == w))) else {
            let msg = format!("no MetaGraph tagged {tags} (it has: {})", if have.is_empty() { "none".into() } else { have.join(" ") });
            return Err(Error::arg(crate::error::Role::Tag, Some(tags), format!("{}: {msg}", path.display())));
        };
        Self::with_graph(def, path, "")
    }

    /// The graph of TF-Slim's architecture `name` (see [`crate::slim`]), its end points as
    /// aliases; its path in messages is `arch:NAME`.
    pub fn from_arch(name: &str) -> Result<Self> {
        let arch = crate::slim::Arch::named(name)?;
        let mut meta = Self::decode(&arch.meta_graph_bytes()?, Path::new(&format!("arch:{name}")))?;
        meta.aliases = arch.end_points.clone();
        Ok(meta)
    }

    /// `@KEY` or `@SIGNATURE/KEY` (`serving_default` when none is named): the tensor a
    /// signature's input or output `KEY` stands for; an alias (with or without `:0`), the
    /// tensor it names; any other name as it is. Tensor names never start with `@`, and no
    /// end point is an op's name, so none of these can be confused.
    pub fn resolve_name(&self, name: &str) -> Result<String> {
        let Some(reference) = name.strip_prefix('@') else {
            let bare = name.strip_suffix(":0").unwrap_or(name);
            return Ok(self.aliases.get(bare).cloned().unwrap_or_else(|| name.to_string()));
        };
        let (sig, key) = reference.split_once('/').unwrap_or(("serving_default", reference));
        let sigs = &self.def.signature_def;
        let Some(s) = sigs.get(sig) else {
            let have = sigs.keys().cloned().collect::<Vec<_>>().join(", ");
            return Err(Error::Invalid(format!(
                "{name}: no signature {sig:?} (the model has: {})",
                if have.is_empty() { "none" } else { &have }
            )));
        };
        let info = s.inputs.get(key).or_else(|| s.outputs.get(key)).ok_or_else(|| {
            let keys: Vec<&String> = s.inputs.keys().chain(s.outputs.keys()).collect();
            Error::Invalid(format!(
                "{name}: signature {sig} has no key {key:?} (it has: {})",
                keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
            ))
        })?;
        match &info.encoding {
            Some(crate::proto::tensor_info::Encoding::Name(n)) => Ok(n.clone()),
            _ => Err(Error::Invalid(format!("{name}: a sparse or composite tensor; tfreuse feeds and fetches dense tensors"))),
        }
    }

    /// A frozen graph (a GraphDef, binary `.pb` or text `.pbtxt`, everything in it constant)
    /// as a MetaGraph with no saver and no collections: the normal form every source becomes.
    pub fn from_graph_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let text = path.extension().is_some_and(|e| e == "pbtxt" || e == "txt");
        Self::from_graph_bytes(bytes, text, path)
    }

    /// [`MetaGraph::from_graph_file`] on the file's bytes (`text`: protobuf text format);
    /// `path` only names the source.
    pub fn from_graph_bytes(bytes: Vec<u8>, text: bool, path: &Path) -> Result<Self> {
        let binary = if text {
            let s = std::str::from_utf8(&bytes).map_err(|_| Error::bad_file(path, "a .pbtxt GraphDef must be UTF-8 text"))?;
            crate::proto::text_to_binary("tensorflow.GraphDef", s)
                .map_err(|e| Error::bad_file(path, format!("not a text-format GraphDef: {e}")))?
        } else {
            bytes
        };
        let gd = GraphDef::decode(binary.as_slice()).map_err(|e| {
            let hint = match MetaGraph::decode(&binary, path) {
                Ok(_) => format!("; it is a MetaGraphDef: pass it with {}", Role::Meta.mention()),
                Err(_) => String::new(),
            };
            Error::bad_file(path, format!("not a binary GraphDef (.pb; a text one must be named .pbtxt): {e}{hint}"))
        })?;
        if gd.node.is_empty() {
            return Err(Error::bad_file(path, "the GraphDef holds no nodes"));
        }
        if let Some(v) = gd.node.iter().find(|n| crate::graph::VarKind::of_op_type(&n.op).is_some()) {
            let msg =
                format!("the GraphDef has variables ({}, a {}): it is not frozen; pass its .meta and checkpoint instead", v.name, v.op);
            return Err(Error::bad_file(path, msg));
        }
        let info = MetaInfoDef { tensorflow_version: String::new(), ..Default::default() };
        let def = MetaGraphDef { meta_info_def: Some(info), graph_def: Some(binary), ..Default::default() };
        Ok(MetaGraph { path: path.to_path_buf(), def, notes: vec![], aliases: Default::default() })
    }

    /// Drop `_output_shapes` attributes; returns how many. Saver exports carry these shape
    /// hints; when today's shape inference disagrees (graphs from old TF 1.x releases), TF
    /// refuses the whole graph, though nothing needs them.
    pub fn strip_output_shapes(&mut self) -> usize {
        let Ok(mut g) = self.graph_def() else { return 0 }; // TF will report it
        let n = g.node.iter_mut().map(|node| node.attr.remove("_output_shapes").is_some() as usize).sum();
        if n > 0 {
            self.set_graph_def(&g);
        }
        n
    }

    /// Clear device pins that name a cluster's job (`/job:ps/task:0/…`): a local session cannot
    /// place them, even softly (TF fails with "Cannot assign a device"), so they run here, as
    /// after `import_meta_graph(clear_devices=True)`. Local pins (`/device:CPU:1`, `/gpu:0`)
    /// stay: soft placement finds them a device. A note says what was cleared.
    pub fn clear_cluster_devices(&mut self) {
        let Ok(mut g) = self.graph_def() else { return }; // TF will report it
        let mut cleared = std::collections::BTreeSet::new();
        for node in g.node.iter_mut().filter(|n| names_cluster_job(&n.device)) {
            cleared.insert(std::mem::take(&mut node.device));
        }
        if !cleared.is_empty() {
            self.set_graph_def(&g);
            let list: Vec<&str> = cleared.iter().map(String::as_str).take(3).collect();
            self.notes.push(format!(
                "cleared the device pins naming a cluster's tasks ({}{}): this session runs those ops here",
                list.join(", "),
                if cleared.len() > 3 { ", …" } else { "" }
            ));
        }
    }

    /// The static shape a placeholder-like op declares for `tensor` (its `shape` attribute), read
    /// from the GraphDef without TF; `None` when unknown.
    pub fn static_dims(&self, tensor: &str) -> Option<Vec<i64>> {
        let g = self.graph_def().ok()?;
        let node = g.node.iter().find(|n| n.name == crate::tf::op_name(tensor))?;
        match node.attr.get("shape")?.value.as_ref()? {
            crate::proto::attr_value::Value::Shape(s) if !s.unknown_rank => Some(s.dim.iter().map(|d| d.size).collect()),
            _ => None,
        }
    }

    /// The MetaGraphDef's bytes, as a `.meta` holds them.
    pub fn encode(&self) -> Vec<u8> {
        self.def.encode_to_vec()
    }

    /// The GraphDef as stored (what TF's importer takes).
    pub fn graph_def_bytes(&self) -> &[u8] {
        self.def.graph_def.as_deref().unwrap_or(&[])
    }

    /// The GraphDef, decoded.
    #[doc(hidden)] // for the tests and fuzz targets: TF's messages are not public
    pub fn graph_def(&self) -> Result<GraphDef> {
        GraphDef::decode(self.graph_def_bytes()).map_err(|e| Error::bad_file(&self.path, format!("cannot decode the GraphDef: {e}")))
    }

    /// Replace the GraphDef with `g`.
    #[doc(hidden)] // for the tests and fuzz targets: TF's messages are not public
    pub fn set_graph_def(&mut self, g: &GraphDef) {
        self.def.graph_def = Some(g.encode_to_vec());
    }

    /// The saver the graph carries, when it has one.
    #[doc(hidden)] // for the tests and fuzz targets: TF's messages are not public
    pub fn saver_def(&self) -> Option<&SaverDef> {
        self.def.saver_def.as_ref()
    }

    /// The TensorFlow version that wrote it (empty when not recorded).
    pub fn tensorflow_version(&self) -> &str {
        self.def.meta_info_def.as_ref().map_or("", |m| m.tensorflow_version.as_str())
    }

    /// The collection `name`, when there is one.
    pub(crate) fn collection(&self, name: &str) -> Option<&CollectionDef> {
        self.def.collection_def.get(name)
    }

    /// The collection `name` in a printable form, when there is one.
    #[doc(hidden)] // for the tests and fuzz targets: TF's messages are not public
    pub fn collection_value(&self, name: &str) -> Option<CollectionValue> {
        self.collection(name).map(|c| match &c.kind {
            Some(Kind::NodeList(l)) => CollectionValue::Nodes(l.value.clone()),
            Some(Kind::BytesList(l)) => CollectionValue::Bytes(l.value.len()),
            Some(Kind::Int64List(l)) => CollectionValue::Int64(l.value.clone()),
            Some(Kind::FloatList(l)) => CollectionValue::Float(l.value.clone()),
            Some(Kind::AnyList(l)) => CollectionValue::Any(l.value.len()),
            None => CollectionValue::Empty,
        })
    }

    /// Node names of a node-list collection such as `train_op` (empty if absent).
    pub fn collection_nodes(&self, name: &str) -> Vec<String> {
        match self.collection(name).and_then(|c| c.kind.as_ref()) {
            Some(Kind::NodeList(l)) => l.value.clone(),
            _ => Vec::new(),
        }
    }

    fn variable_defs(&self, collection: &str) -> Result<Vec<VariableDef>> {
        match self.collection(collection).and_then(|c| c.kind.as_ref()) {
            None => Ok(Vec::new()),
            Some(Kind::BytesList(l)) => l
                .value
                .iter()
                .map(|b| {
                    VariableDef::decode(b.as_slice())
                        .map_err(|e| Error::bad_file(&self.path, format!("collection {collection:?} holds a bad VariableDef: {e}")))
                })
                .collect(),
            Some(_) => Err(Error::bad_file(&self.path, format!("collection {collection:?} is not a list of VariableDef"))),
        }
    }

    /// Every variable of the `variables` collection (plus any trainable one missing from
    /// it), in collection order, with `trainable` set from `trainable_variables` membership
    /// (old TF versions wrote that collection before VariableDef.trainable was a field).
    #[doc(hidden)] // for the tests and fuzz targets: TF's messages are not public
    pub fn variables(&self) -> Result<Vec<VariableDef>> {
        let all = self.variable_defs("variables")?;
        let trainable = self.variable_defs("trainable_variables")?;
        let is_trainable = |d: &VariableDef| trainable.iter().any(|t| t.variable_name == d.variable_name);
        let mut out: Vec<VariableDef> = all.iter().map(|d| VariableDef { trainable: is_trainable(d), ..d.clone() }).collect();
        for t in &trainable {
            if !all.iter().any(|d| d.variable_name == t.variable_name) {
                out.push(VariableDef { trainable: true, ..t.clone() });
            }
        }
        Ok(out)
    }

    /// This `.meta` for `graph` after training: the graph's GraphDef, `ext.saver_def`, the
    /// new variables and training op added to their collections, everything else kept; the
    /// stripped op list regenerated so it names every op type the graph now uses.
    pub(crate) fn extended(&self, graph: &tensorflow::Graph, ext: &Extension) -> Result<MetaGraph> {
        let mut meta = self.clone();
        meta.def.graph_def = Some(graph.graph_def()?);
        meta.clear_devices()?;
        meta.def.saver_def = Some(ext.saver_def.clone());
        meta.add_variables("variables", &ext.variables);
        meta.add_variables("trainable_variables", &ext.variables.iter().filter(|d| d.trainable).cloned().collect::<Vec<_>>());
        if let Some(op) = &ext.train_op {
            let entry = meta
                .def
                .collection_def
                .entry("train_op".into())
                .or_insert(CollectionDef { kind: Some(Kind::NodeList(NodeList::default())) });
            if let Some(Kind::NodeList(l)) = &mut entry.kind {
                l.value.push(op.clone());
            }
        }
        let mut types: Vec<String> = graph.operation_iter().filter_map(|o| o.op_type().ok()).collect();
        types.sort();
        types.dedup();
        let mut op_list = OpList::default();
        for t in types {
            let def = graph.get_op_def(&t)?;
            op_list.op.push(OpDef::decode(def.as_slice()).map_err(|e| Error::Tf(format!("TF wrote an OpDef we cannot decode: {e}")))?);
        }
        if let Some(info) = meta.def.meta_info_def.as_mut() {
            info.stripped_op_list = Some(op_list);
            info.stripped_default_attrs = false;
        }
        Ok(meta)
    }

    /// Keep only the ops named in `keep`, and the collection entries naming them (node
    /// lists, and the VariableDefs of the variable collections); collections left empty go.
    pub fn prune(&mut self, keep: &std::collections::HashSet<String>) -> Result<()> {
        let mut g = self.graph_def()?;
        g.node.retain(|n| keep.contains(&n.name));
        self.set_graph_def(&g);
        let kept = |name: &str| keep.contains(crate::tf::op_name(name.trim_start_matches('^')));
        for (key, c) in self.def.collection_def.iter_mut() {
            match &mut c.kind {
                Some(Kind::NodeList(l)) => l.value.retain(|n| kept(n)),
                Some(Kind::BytesList(l)) if VARIABLE_COLLECTIONS.contains(&key.as_str()) => {
                    l.value.retain(|b| VariableDef::decode(b.as_slice()).map_or(true, |d| kept(&d.variable_name)))
                }
                _ => {}
            }
        }
        self.def.collection_def.retain(|_, c| match &c.kind {
            Some(Kind::NodeList(l)) => !l.value.is_empty(),
            Some(Kind::BytesList(l)) => !l.value.is_empty(),
            _ => true,
        });
        Ok(())
    }

    /// Clear every device pin: what tfreuse writes is placed by its reader (Python's default
    /// session refuses a pin to a device it lacks, such as `/device:CPU:1` of a sharded save).
    fn clear_devices(&mut self) -> Result<()> {
        let mut g = self.graph_def()?;
        if g.node.iter().any(|n| !n.device.is_empty()) {
            g.node.iter_mut().for_each(|n| n.device.clear());
            self.set_graph_def(&g);
        }
        Ok(())
    }

    fn add_variables(&mut self, key: &str, defs: &[VariableDef]) {
        let entry =
            self.def.collection_def.entry(key.to_string()).or_insert(CollectionDef { kind: Some(Kind::BytesList(BytesList::default())) });
        if let Some(Kind::BytesList(l)) = &mut entry.kind {
            l.value.extend(defs.iter().map(|d| d.encode_to_vec()));
        }
    }
}

/// Collections of serialized VariableDefs (Python's GraphKeys).
const VARIABLE_COLLECTIONS: &[&str] =
    &["variables", "trainable_variables", "local_variables", "model_variables", "moving_average_variables", "global_step"];

/// Whether a device string names a job other than this process's (`localhost`).
fn names_cluster_job(device: &str) -> bool {
    device.split('/').filter_map(|part| part.strip_prefix("job:")).any(|job| job != "localhost")
}

/// "; it is a GraphDef …" when `bytes` decode as a GraphDef with named nodes.
fn graph_hint(bytes: &[u8]) -> String {
    match GraphDef::decode(bytes) {
        Ok(g) if !g.node.is_empty() && g.node.iter().all(|n| !n.name.is_empty() && !n.op.is_empty()) => {
            format!("; it is a GraphDef (a frozen graph?): pass it with {}", Role::Graph.mention())
        }
        _ => String::new(),
    }
}

/// What training adds to a `.meta`: a saver over every variable, the new variables (their
/// VariableDef's `trainable` says which collections they join), the new training op.
#[derive(Clone, Debug, Default)]
pub struct Extension {
    pub saver_def: SaverDef,
    pub variables: Vec<VariableDef>,
    pub train_op: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tf::op_name;

    #[test]
    fn every_fixture_re_encodes_byte_for_byte() {
        for rel in ["tiny/tiny.ckpt.meta", "mnist_dnn/my_model_final.ckpt.meta", "conv_bn/convnet.ckpt.meta"] {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel);
            let bytes = std::fs::read(&p).unwrap();
            let m = MetaGraph::decode(&bytes, &p).unwrap();
            assert!(!m.graph_def().unwrap().node.is_empty(), "{rel}: the GraphDef decodes");
            assert!(m.encode() == bytes, "{rel}: re-encoding must be lossless");
        }
    }

    #[test]
    fn tiny_fixture_round_trips() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/tiny/tiny.ckpt.meta");
        let bytes = std::fs::read(&p).unwrap();
        let m = MetaGraph::decode(&bytes, &p).unwrap();
        assert!(m.encode() == bytes, "re-encoding must be lossless");
        let vars = m.variables().unwrap();
        let names: Vec<_> = vars.iter().map(|v| op_name(&v.variable_name)).collect();
        assert_eq!(names, ["hidden1/kernel", "hidden1/bias", "outputs/kernel", "outputs/bias"]);
        assert!(vars.iter().all(|v| v.trainable));
        assert_eq!(m.collection_nodes("train_op"), ["GradientDescent"]);
        assert_eq!(m.saver_def().unwrap().restore_op_name, "save/restore_all");
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let err = MetaGraph::decode(b"\xff\xff\xff not a proto", Path::new("x.meta")).unwrap_err();
        assert!(err.to_string().starts_with("x.meta: "), "{err}");
    }
}
