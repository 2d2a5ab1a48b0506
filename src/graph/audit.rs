//! Which operations of a graph reach outside the process: TensorFlow's security guide says a
//! model is a program, and a graph may read and write files or talk to the network with the
//! permissions of whoever runs it. This module only makes that visible (`inspect` lists such
//! nodes); it refuses nothing and sandboxes nothing.
//!
//! The classification is data, in one place: [`FILES`] and [`NETWORK`] name op types that
//! TensorFlow 2.21's registry has (a test checks each against the loaded library), and an op
//! type the loaded registry does not know is [`Class::Unknown`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::proto::{attr_value, GraphDef, NodeDef, SaverDef};

/// Op types that read, write, list or delete files (paths are their string inputs or attrs).
pub const FILES: &[&str] = &[
    // Whole files, and globbing: a path (pattern) input.
    "ReadFile",
    "WriteFile",
    "MatchingFiles",
    // Checkpoints: the saver's own ops, and any other SaveV2/RestoreV2 a graph carries (they
    // write or read any prefix they are fed).
    "Save",
    "SaveV2",
    "SaveSlices",
    "Restore",
    "RestoreV2",
    "RestoreSlice",
    "MergeV2Checkpoints",
    "LoadAndRemapMatrix",
    // The queue-era readers: a reader resource, then ReaderRead* of file names from a queue.
    "TFRecordReader",
    "TFRecordReaderV2",
    "TextLineReader",
    "TextLineReaderV2",
    "WholeFileReader",
    "WholeFileReaderV2",
    "FixedLengthRecordReader",
    "FixedLengthRecordReaderV2",
    "IdentityReader",
    "IdentityReaderV2",
    "LMDBReader",
    "ReaderRead",
    "ReaderReadV2",
    "ReaderReadUpTo",
    "ReaderReadUpToV2",
    "ReaderRestoreState",
    "ReaderRestoreStateV2",
    "RecordInput",
    // Lookup tables filled from a text file.
    "InitializeTableFromTextFile",
    "InitializeTableFromTextFileV2",
    // A tensor memory-mapped from the file its `memory_region_name` attr names.
    "ImmutableConst",
    // Prints to its `output_stream` attr, which may be `file://PATH`.
    "PrintV2",
    // Summary writers: a log directory (or database URI), then writes into it.
    "CreateSummaryFileWriter",
    "CreateSummaryDbWriter",
    "WriteSummary",
    "WriteRawProtoSummary",
    "WriteScalarSummary",
    "WriteHistogramSummary",
    "WriteImageSummary",
    "WriteAudioSummary",
    "WriteGraphSummary",
    "FlushSummaryWriter",
    "CloseSummaryWriter",
    // tf.data sources and sinks that open files.
    "TFRecordDataset",
    "TFRecordDatasetV2",
    "TextLineDataset",
    "FixedLengthRecordDataset",
    "FixedLengthRecordDatasetV2",
    "CSVDataset",
    "CSVDatasetV2",
    "ExperimentalCSVDataset",
    "LMDBDataset",
    "ExperimentalLMDBDataset",
    "MatchingFilesDataset",
    "ExperimentalMatchingFilesDataset",
    "SqlDataset",
    "ExperimentalSqlDataset",
    "CacheDataset",
    "CacheDatasetV2",
    "SaveDataset",
    "SaveDatasetV2",
    "LoadDataset",
    "SnapshotDataset",
    "SnapshotDatasetV2",
    "SnapshotDatasetReader",
    "SnapshotNestedDatasetReader",
    "DatasetToTFRecord",
    "ExperimentalDatasetToTFRecord",
    "DistributedSave",
];

/// Op types that talk to other processes or hosts.
pub const NETWORK: &[&str] = &[
    // tf.distribute's RPC ops: a server that answers, a client that calls an address.
    "RpcServer",
    "RpcServerRegister",
    "RpcServerStart",
    "RpcClient",
    "RpcCall",
    // Collectives exchange tensors with the other members of a group (other tasks).
    "CollectiveReduce",
    "CollectiveReduceV2",
    "CollectiveReduceV3",
    "CollectiveGather",
    "CollectiveGatherV2",
    "CollectiveBcastSend",
    "CollectiveBcastSendV2",
    "CollectiveBcastRecv",
    "CollectiveBcastRecvV2",
    "CollectiveAllToAllV2",
    "CollectiveAllToAllV3",
    "CollectiveReduceScatterV2",
    "CollectivePermute",
    "CollectiveInitializeCommunicator",
    // Send/Recv move tensors between devices; across tasks when `send_device`/`recv_device`
    // name another job or task (the attrs are shown).
    "Send",
    "Recv",
    "_Send",
    "_Recv",
    "_HostSend",
    "_HostRecv",
    // tf.data service: registers with and reads from a dispatcher at an address.
    "DataServiceDataset",
    "DataServiceDatasetV2",
    "DataServiceDatasetV3",
    "DataServiceDatasetV4",
    "RegisterDataset",
    "RegisterDatasetV2",
    // tfdbg: `debug_urls` may be `grpc://HOST:PORT` (or `file://PATH`).
    "DebugIdentity",
    "DebugIdentityV2",
    "DebugNanCount",
    "DebugNumericSummary",
];

/// String attrs worth showing beside a node's constant string inputs: where it writes, maps
/// from or sends to.
const PATH_ATTRS: &[&str] = &["output_stream", "memory_region_name", "send_device", "recv_device", "debug_urls", "dump_root"];

/// What an op type reaches outside the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Files (see [`FILES`]).
    Files,
    /// Other processes or hosts (see [`NETWORK`]).
    Network,
    /// An op type the loaded TensorFlow's registry does not know: what it does is unknown.
    Unknown,
}

impl Class {
    /// Its name as `inspect` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Class::Files => "files",
            Class::Network => "network",
            Class::Unknown => "unknown",
        }
    }
}

/// The class of op type `op`, given the names in the loaded registry; None: it stays inside
/// the process.
pub fn class_of(op: &str, registry: &BTreeSet<String>) -> Option<Class> {
    if !registry.contains(op) {
        Some(Class::Unknown)
    } else if FILES.contains(&op) {
        Some(Class::Files)
    } else if NETWORK.contains(&op) {
        Some(Class::Network)
    } else {
        None
    }
}

/// One node that reaches outside the process.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reach {
    /// The node's name.
    pub node: String,
    /// Its op type.
    pub op: String,
    /// What it reaches.
    pub class: Class,
    /// Its string arguments that are constants: the values of its Const string inputs
    /// (`input=value`, e.g. the path a WriteFile writes), then its path-like string attrs.
    pub arguments: Vec<String>,
    /// The function of the graph's library whose body holds it (None: the graph itself).
    pub function: Option<String>,
    /// One of the graph's own saver ops (by its SaverDef's name scope and op type): it reads
    /// or writes the checkpoint it is fed, as any checkpoint restore does.
    pub own_saver: bool,
}

/// The nodes of `graph` (and of its function library's bodies) that reach outside the
/// process; `saver` marks the graph's own saver ops.
pub fn reaches(graph: &GraphDef, saver: Option<&SaverDef>, registry: &BTreeSet<String>) -> Vec<Reach> {
    let scopes: Vec<String> = saver.map(saver_scopes).unwrap_or_default();
    let mut out = scan(&graph.node, None, &scopes, registry);
    for f in graph.library.iter().flat_map(|l| &l.function) {
        let name = f.signature.as_ref().map(|s| s.name.clone()).unwrap_or_default();
        out.extend(scan(&f.node_def, Some(&name), &[], registry));
    }
    out
}

/// The op types `tf.train.Saver` builds.
pub(crate) const SAVER_OPS: &[&str] = &["Save", "SaveV2", "SaveSlices", "Restore", "RestoreV2", "RestoreSlice", "MergeV2Checkpoints"];

/// The name scopes (`save/`) of the saver's restore op and save tensor.
fn saver_scopes(s: &SaverDef) -> Vec<String> {
    [&s.restore_op_name, &s.save_tensor_name]
        .into_iter()
        .filter_map(|n| n.rfind('/').map(|i| n[..=i].to_string()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// The nodes of `nodes` that reach outside; a saver op under one of `scopes` is marked as the
/// model's own, and shows only its first argument (the checkpoint's path), not its tensor names.
fn scan(nodes: &[NodeDef], function: Option<&str>, scopes: &[String], registry: &BTreeSet<String>) -> Vec<Reach> {
    let by_name: BTreeMap<&str, &NodeDef> = nodes.iter().map(|n| (n.name.as_str(), n)).collect();
    nodes
        .iter()
        .filter_map(|n| {
            let class = class_of(&n.op, registry)?;
            let own_saver = SAVER_OPS.contains(&n.op.as_str()) && scopes.iter().any(|s| n.name.starts_with(s.as_str()));
            let mut arguments = arguments(n, &by_name);
            if own_saver {
                let first = n.input.first().map(|i| format!("{i}=")).unwrap_or_default();
                arguments.retain(|a| a.starts_with(&first));
            }
            Some(Reach { node: n.name.clone(), op: n.op.clone(), class, arguments, function: function.map(str::to_string), own_saver })
        })
        .collect()
}

/// `input=value` for each input fed by a Const string node (through Identity nodes, or
/// `input=default value` through a PlaceholderWithDefault: what it is unless fed), then
/// `attr=value` for each non-empty path-like string attr.
fn arguments(n: &NodeDef, by_name: &BTreeMap<&str, &NodeDef>) -> Vec<String> {
    let mut out = Vec::new();
    for input in n.input.iter().filter(|i| !i.starts_with('^')) {
        // `node`, `node:1` (a graph), `node:output:0` (a function body).
        if let Some((values, default)) = traced_strings(input, by_name) {
            out.push(format!("{input}={}{}", if default { "default " } else { "" }, quoted(&values)));
        }
    }
    for key in PATH_ATTRS {
        let values = match n.attr.get(*key).and_then(|a| a.value.as_ref()) {
            Some(attr_value::Value::S(s)) => vec![s.clone()],
            Some(attr_value::Value::List(l)) => l.s.clone(),
            _ => continue,
        };
        if values.iter().any(|v| !v.is_empty()) {
            out.push(format!("{key}={}", quoted(&values)));
        }
    }
    out
}

/// The strings of the Const string node that feeds `input`, following Identity and
/// PlaceholderWithDefault nodes (a few hops); true when a PlaceholderWithDefault was passed.
fn traced_strings(input: &str, by_name: &BTreeMap<&str, &NodeDef>) -> Option<(Vec<Vec<u8>>, bool)> {
    let mut default = false;
    // `node`, `node:1` (a graph), `node:output:0` (a function body).
    let mut node = *by_name.get(input.split(':').next()?)?;
    for _ in 0..8 {
        match node.op.as_str() {
            "Identity" | "PlaceholderWithDefault" => {
                default |= node.op == "PlaceholderWithDefault";
                let next = node.input.first()?;
                node = *by_name.get(next.split(':').next()?)?;
            }
            _ => return const_strings(node).map(|v| (v, default)),
        }
    }
    None
}

/// The strings a Const node of dtype string holds.
fn const_strings(n: &NodeDef) -> Option<Vec<Vec<u8>>> {
    if n.op != "Const" {
        return None;
    }
    match n.attr.get("value")?.value.as_ref()? {
        attr_value::Value::Tensor(t) if t.dtype == crate::proto::DataType::DtString as i32 => Some(t.string_val.clone()),
        _ => None,
    }
}

/// `"a"` for one value, `["a", "b"]` for several (at most 4 shown).
fn quoted(values: &[Vec<u8>]) -> String {
    let each: Vec<String> = values.iter().take(4).map(|v| format!("{:?}", String::from_utf8_lossy(v))).collect();
    let more = if values.len() > 4 { format!(", … {} more", values.len() - 4) } else { String::new() };
    match each.as_slice() {
        [one] if more.is_empty() => one.clone(),
        _ => format!("[{}{more}]", each.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{AttrValue, FunctionDef, FunctionDefLibrary, OpDef, TensorProto};

    fn registry() -> BTreeSet<String> {
        ["Const", "WriteFile", "SaveV2", "RestoreV2", "NoOp", "PrintV2", "PlaceholderWithDefault"].iter().map(|s| s.to_string()).collect()
    }

    fn node(name: &str, op: &str, inputs: &[&str]) -> NodeDef {
        NodeDef { name: name.into(), op: op.into(), input: inputs.iter().map(|s| s.to_string()).collect(), ..Default::default() }
    }

    fn string_const(name: &str, value: &str) -> NodeDef {
        let t = TensorProto { dtype: crate::proto::DataType::DtString as i32, string_val: vec![value.into()], ..Default::default() };
        let mut n = node(name, "Const", &[]);
        n.attr.insert("value".into(), AttrValue { value: Some(attr_value::Value::Tensor(t)) });
        n
    }

    #[test]
    fn an_op_the_registry_lacks_is_unknown() {
        assert_eq!(class_of("SurelyNoSuchOpTfreuse", &registry()), Some(Class::Unknown));
        assert_eq!(class_of("WriteFile", &registry()), Some(Class::Files));
        assert_eq!(class_of("NoOp", &registry()), None);
    }

    #[test]
    fn no_op_type_is_in_two_classes() {
        assert!(FILES.iter().all(|f| !NETWORK.contains(f)));
    }

    #[test]
    fn a_write_file_shows_its_path_and_the_saver_is_marked() {
        let mut printed = node("p", "PrintV2", &["msg"]);
        printed.attr.insert("output_stream".into(), AttrValue { value: Some(attr_value::Value::S(b"file:///tmp/x".to_vec())) });
        let g = GraphDef {
            node: vec![
                string_const("path", "/tmp/pwned"),
                string_const("data", "x"),
                node("w", "WriteFile", &["path", "data", "^other"]),
                string_const("save/filename/input", "model"),
                node("save/Const", "PlaceholderWithDefault", &["save/filename/input"]),
                string_const("save/names", "v"),
                node("save/SaveV2", "SaveV2", &["save/Const", "save/names"]),
                node("save/pwned", "WriteFile", &["path", "data"]),
                printed,
            ],
            library: Some(FunctionDefLibrary {
                function: vec![FunctionDef {
                    signature: Some(OpDef { name: "f".into(), ..Default::default() }),
                    node_def: vec![string_const("c", "/etc/x"), node("r", "ReadFileX", &["c:output:0"])],
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let saver = SaverDef {
            restore_op_name: "save/restore_all".into(),
            save_tensor_name: "save/control_dependency:0".into(),
            ..Default::default()
        };
        let r = reaches(&g, Some(&saver), &registry());
        let by: BTreeMap<&str, &Reach> = r.iter().map(|r| (r.node.as_str(), r)).collect();
        assert_eq!(by["w"].arguments, vec![r#"path="/tmp/pwned""#, r#"data="x""#]);
        assert!(!by["w"].own_saver && by["save/SaveV2"].own_saver);
        // The saver shows its checkpoint path (a default, unless fed), not its tensor names.
        assert_eq!(by["save/SaveV2"].arguments, vec![r#"save/Const=default "model""#]);
        // A WriteFile named into the saver's scope is still not the saver.
        assert!(!by["save/pwned"].own_saver);
        assert_eq!(by["p"].arguments, vec![r#"output_stream="file:///tmp/x""#]);
        assert_eq!((by["r"].class, by["r"].function.as_deref()), (Class::Unknown, Some("f")));
        assert_eq!(by["r"].arguments, vec![r#"c:output:0="/etc/x""#]);
    }
}
