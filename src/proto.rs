//! The protocol-buffer messages tfreuse reads and writes, declared with prost's derive
//! (field numbers from TF's meta_graph.proto, saver.proto, variable.proto, config.proto).
//!
//! Parts we never interpret (the GraphDef, the stripped op list, signatures, assets, the
//! object graph) stay raw bytes, so a decoded `.meta` re-encodes without loss.

use std::collections::BTreeMap;

#[derive(Clone, PartialEq, prost::Message)]
pub struct MetaGraphDef {
    #[prost(message, optional, tag = "1")]
    pub meta_info_def: Option<MetaInfoDef>,
    /// Serialized GraphDef, handed to TF as is.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub graph_def: Option<Vec<u8>>,
    #[prost(message, optional, tag = "3")]
    pub saver_def: Option<SaverDef>,
    #[prost(btree_map = "string, message", tag = "4")]
    pub collection_def: BTreeMap<String, CollectionDef>,
    /// SignatureDef messages, kept raw.
    #[prost(btree_map = "string, bytes", tag = "5")]
    pub signature_def: BTreeMap<String, Vec<u8>>,
    /// AssetFileDef messages, kept raw.
    #[prost(bytes = "vec", repeated, tag = "6")]
    pub asset_file_def: Vec<Vec<u8>>,
    /// SavedObjectGraph, kept raw.
    #[prost(bytes = "vec", optional, tag = "7")]
    pub object_graph_def: Option<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MetaInfoDef {
    #[prost(string, tag = "1")]
    pub meta_graph_version: String,
    /// OpList, kept raw.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub stripped_op_list: Option<Vec<u8>>,
    /// google.protobuf.Any, kept raw.
    #[prost(bytes = "vec", optional, tag = "3")]
    pub any_info: Option<Vec<u8>>,
    #[prost(string, repeated, tag = "4")]
    pub tags: Vec<String>,
    #[prost(string, tag = "5")]
    pub tensorflow_version: String,
    #[prost(string, tag = "6")]
    pub tensorflow_git_version: String,
    #[prost(bool, tag = "7")]
    pub stripped_default_attrs: bool,
    #[prost(btree_map = "string, string", tag = "8")]
    pub function_aliases: BTreeMap<String, String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SaverDef {
    #[prost(string, tag = "1")]
    pub filename_tensor_name: String,
    #[prost(string, tag = "2")]
    pub save_tensor_name: String,
    #[prost(string, tag = "3")]
    pub restore_op_name: String,
    #[prost(int32, tag = "4")]
    pub max_to_keep: i32,
    #[prost(bool, tag = "5")]
    pub sharded: bool,
    #[prost(float, tag = "6")]
    pub keep_checkpoint_every_n_hours: f32,
    /// 0 LEGACY, 1 V1, 2 V2.
    #[prost(int32, tag = "7")]
    pub version: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct CollectionDef {
    #[prost(oneof = "collection_def::Kind", tags = "1, 2, 3, 4, 5")]
    pub kind: Option<collection_def::Kind>,
}

pub mod collection_def {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        #[prost(message, tag = "1")]
        NodeList(super::StringList),
        #[prost(message, tag = "2")]
        BytesList(super::BytesList),
        #[prost(message, tag = "3")]
        Int64List(super::Int64List),
        #[prost(message, tag = "4")]
        FloatList(super::FloatList),
        #[prost(message, tag = "5")]
        AnyList(super::BytesList),
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StringList {
    #[prost(string, repeated, tag = "1")]
    pub value: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BytesList {
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub value: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Int64List {
    #[prost(int64, repeated, tag = "1")]
    pub value: Vec<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct FloatList {
    #[prost(float, repeated, tag = "1")]
    pub value: Vec<f32>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct VariableDef {
    #[prost(string, tag = "1")]
    pub variable_name: String,
    #[prost(string, tag = "2")]
    pub initializer_name: String,
    #[prost(string, tag = "3")]
    pub snapshot_name: String,
    /// SaveSliceInfoDef, kept raw.
    #[prost(bytes = "vec", optional, tag = "4")]
    pub save_slice_info_def: Option<Vec<u8>>,
    #[prost(bool, tag = "5")]
    pub is_resource: bool,
    #[prost(string, tag = "6")]
    pub initial_value_name: String,
    #[prost(bool, tag = "7")]
    pub trainable: bool,
    #[prost(int32, tag = "8")]
    pub synchronization: i32,
    #[prost(int32, tag = "9")]
    pub aggregation: i32,
}

/// The few ConfigProto fields tfreuse sets.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfigProto {
    #[prost(int32, tag = "2")]
    pub intra_op_parallelism_threads: i32,
    #[prost(int32, tag = "5")]
    pub inter_op_parallelism_threads: i32,
    #[prost(bool, tag = "7")]
    pub allow_soft_placement: bool,
    #[prost(message, optional, tag = "10")]
    pub graph_options: Option<GraphOptions>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphOptions {
    #[prost(message, optional, tag = "3")]
    pub optimizer_options: Option<OptimizerOptions>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct OptimizerOptions {
    /// OptimizerOptions.GlobalJitLevel: 0 default, -1 off, 1 and 2 on.
    #[prost(int32, tag = "5")]
    pub global_jit_level: i32,
}

/// GraphDef with nodes decoded just enough to rewire inputs; the rest stays raw.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphDef {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeDef>,
    /// FunctionDefLibrary, kept raw.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub library: Option<Vec<u8>>,
    #[prost(int32, tag = "3")]
    pub version: i32,
    /// VersionDef, kept raw.
    #[prost(bytes = "vec", optional, tag = "4")]
    pub versions: Option<Vec<u8>>,
    /// GraphDebugInfo, kept raw.
    #[prost(bytes = "vec", optional, tag = "5")]
    pub debug_info: Option<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeDef {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub op: String,
    #[prost(string, repeated, tag = "3")]
    pub input: Vec<String>,
    #[prost(string, tag = "4")]
    pub device: String,
    /// AttrValue messages, kept raw.
    #[prost(btree_map = "string, bytes", tag = "5")]
    pub attr: BTreeMap<String, Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "6")]
    pub experimental_debug_info: Option<Vec<u8>>,
    #[prost(bytes = "vec", optional, tag = "7")]
    pub experimental_type: Option<Vec<u8>>,
}

/// AttrValue holding a dtype (`type` is field 6).
pub fn attr_value_type(dtype: i32) -> Vec<u8> {
    let mut v = vec![0x30];
    prost::encoding::encode_varint(dtype as u64, &mut v);
    v
}
