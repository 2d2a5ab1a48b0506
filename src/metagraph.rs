//! Reading (and later rewriting) a `.meta` file: the MetaGraphDef that `tf.train.Saver`
//! writes beside a checkpoint, as `tf.train.import_meta_graph` sees it: the graph, the
//! saver_def, and the collections (variables, trainable_variables, train_op, user ones).

use std::path::{Path, PathBuf};

use prost::Message;

use crate::error::{Error, Result};
use crate::proto::{collection_def::Kind, meta_graph_def::MetaInfoDef, CollectionDef, GraphDef, SaverDef, VariableDef};
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

/// A decoded `.meta` file.
#[derive(Clone, Debug)]
pub struct MetaGraph {
    pub path: PathBuf,
    pub def: MetaGraphDef,
}

/// One variable of the graph, from the `variables` collection.
#[derive(Clone, Debug, PartialEq)]
pub struct VariableInfo {
    /// Operation name, e.g. `hidden1/kernel` (the checkpoint key).
    pub name: String,
    pub def: VariableDef,
    pub trainable: bool,
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
        let def = MetaGraphDef::decode(bytes).map_err(|e| {
            Error::bad_file(path, format!("not a MetaGraphDef (.meta) file: {e}"))
        })?;
        if def.graph_def.as_ref().map_or(true, |g| g.is_empty()) {
            return Err(Error::bad_file(path, "the MetaGraphDef holds no graph_def"));
        }
        Ok(MetaGraph { path: path.to_path_buf(), def })
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

    pub fn encode(&self) -> Vec<u8> {
        self.def.encode_to_vec()
    }

    /// The GraphDef as stored (what TF's importer takes).
    pub fn graph_def_bytes(&self) -> &[u8] {
        self.def.graph_def.as_deref().unwrap_or(&[])
    }

    /// The GraphDef, decoded.
    pub fn graph_def(&self) -> Result<GraphDef> {
        GraphDef::decode(self.graph_def_bytes()).map_err(|e| Error::bad_file(&self.path, format!("cannot decode the GraphDef: {e}")))
    }

    pub fn set_graph_def(&mut self, g: &GraphDef) {
        self.def.graph_def = Some(g.encode_to_vec());
    }

    pub fn saver_def(&self) -> Option<&SaverDef> {
        self.def.saver_def.as_ref()
    }

    pub fn tensorflow_version(&self) -> &str {
        self.def.meta_info_def.as_ref().map_or("", |m| m.tensorflow_version.as_str())
    }

    pub fn collection(&self, name: &str) -> Option<&CollectionDef> {
        self.def.collection_def.get(name)
    }

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
                    VariableDef::decode(b.as_slice()).map_err(|e| {
                        Error::bad_file(
                            &self.path,
                            format!("collection {collection:?} holds a bad VariableDef: {e}"),
                        )
                    })
                })
                .collect(),
            Some(_) => Err(Error::bad_file(
                &self.path,
                format!("collection {collection:?} is not a list of VariableDef"),
            )),
        }
    }

    /// Every variable of the `variables` collection (plus any trainable one missing from
    /// it), in collection order. Trainability comes from `trainable_variables` membership,
    /// which old TF versions wrote even when VariableDef.trainable was not yet a field.
    pub fn variables(&self) -> Result<Vec<VariableInfo>> {
        let all = self.variable_defs("variables")?;
        let trainable = self.variable_defs("trainable_variables")?;
        let is_trainable =
            |d: &VariableDef| trainable.iter().any(|t| t.variable_name == d.variable_name);
        let mut out: Vec<VariableInfo> = all
            .iter()
            .map(|d| VariableInfo {
                name: op_name(&d.variable_name).to_string(),
                def: d.clone(),
                trainable: is_trainable(d),
            })
            .collect();
        for t in &trainable {
            if !all.iter().any(|d| d.variable_name == t.variable_name) {
                out.push(VariableInfo {
                    name: op_name(&t.variable_name).to_string(),
                    def: t.clone(),
                    trainable: true,
                });
            }
        }
        Ok(out)
    }
}

/// `dnn/hidden1/Relu:0` -> `dnn/hidden1/Relu`; `^init` -> `init`.
pub fn op_name(tensor: &str) -> &str {
    parse_tensor_name(tensor.strip_prefix('^').unwrap_or(tensor)).0
}

/// `name:3` -> ("name", 3); `name` -> ("name", 0).
pub fn parse_tensor_name(tensor: &str) -> (&str, usize) {
    match tensor.rsplit_once(':') {
        Some((op, idx)) if !idx.is_empty() && idx.bytes().all(|b| b.is_ascii_digit()) => {
            (op, idx.parse().unwrap_or(usize::MAX))
        }
        _ => (tensor, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_names() {
        assert_eq!(parse_tensor_name("dnn/hidden4/Relu:0"), ("dnn/hidden4/Relu", 0));
        assert_eq!(parse_tensor_name("a:12"), ("a", 12));
        assert_eq!(parse_tensor_name("GradientDescent"), ("GradientDescent", 0));
        assert_eq!(op_name("^init"), "init");
        assert_eq!(op_name("x:y"), "x:y");
    }

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
        let names: Vec<_> = vars.iter().map(|v| v.name.as_str()).collect();
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
