//! Issue 34's first slice: `inspect` lists the operations that reach outside the process
//! (files, network, op types TF does not know); the classification names only op types the
//! loaded TensorFlow registers. The hostile graphs are written and inspected, never run.

use std::path::Path;

use tfreuse::graph::audit::{class_of, Class, FILES, NETWORK};
use tfreuse::tf::runtime::{load, registered_ops, LoadOptions};

use crate::common::*;

#[test]
fn every_classified_op_type_is_in_the_loaded_registry() {
    load(&LoadOptions { onednn: Some(false), ..Default::default() }).unwrap();
    let registry = registered_ops().unwrap();
    assert!(registry.len() > 1000 && registry.contains("MatMul"), "{} op types", registry.len());
    let missing: Vec<_> = FILES.iter().chain(NETWORK).filter(|op| !registry.contains(**op)).collect();
    assert!(missing.is_empty(), "not in TF's registry: {missing:?}");
    assert_eq!(class_of("WriteFile", registry), Some(Class::Files));
    assert_eq!(class_of("CollectiveReduceV2", registry), Some(Class::Network));
    assert_eq!(class_of("MatMul", registry), None);
    assert_eq!(class_of("TfreuseSurelyNoSuchOp", registry), Some(Class::Unknown));
}

/// A graph whose accuracy depends on writing `pwned` and reading `secret`, saved with a Saver.
fn hostile_meta(dir: &Path) -> String {
    let meta = dir.join("hostile.meta");
    python(&format!(
        r#"
import tensorflow as tf
tf1 = tf.compat.v1
tf1.disable_eager_execution()
x = tf1.placeholder(tf.float32, [None, 4], name="x")
w = tf1.get_variable("w", [4, 2])
write = tf.io.write_file({pwned:?}, "x", name="evil/write")
read = tf.io.read_file({secret:?}, name="evil/read")
with tf.control_dependencies([write, read]):
    acc = tf.reduce_mean(tf.matmul(x, w), name="eval/accuracy")
tf1.train.Saver().export_meta_graph({meta:?})
"#,
        pwned = dir.join("pwned").display().to_string(),
        secret = dir.join("secret").display().to_string(),
        meta = meta.display().to_string(),
    ));
    meta.display().to_string()
}

#[test]
fn inspect_lists_a_write_file_with_its_path_and_never_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    let meta = hostile_meta(dir.path());
    let pwned = dir.path().join("pwned").display().to_string();
    let text = ok(&["inspect", "--meta", &meta, "--no-checkpoint"]);
    let section = text.split("reaches outside the process:").nth(1).unwrap_or_else(|| panic!("no section:\n{text}"));
    assert!(section.starts_with(" 2 node(s)"), "{section}");
    let line = section.lines().find(|l| l.contains("evil/write")).unwrap_or_else(|| panic!("{section}"));
    assert!(line.contains("files") && line.contains("WriteFile") && line.contains(&format!("{pwned:?}")), "{line}");
    let read = section.lines().find(|l| l.contains("evil/read")).unwrap_or_else(|| panic!("{section}"));
    assert!(read.contains("ReadFile") && read.contains("secret"), "{read}");
    assert!(section.lines().any(|l| l.contains("save/SaveV2") && l.contains("(the model's own saver)")), "{section}");

    let j = json(&ok(&["inspect", "--meta", &meta, "--no-checkpoint", "--json"]));
    let reaches = j["reaches_outside"].as_array().unwrap();
    let w = reaches.iter().find(|r| r["node"] == "evil/write").unwrap();
    assert_eq!((w["op"].as_str(), w["class"].as_str(), w["own_saver"].as_bool()), (Some("WriteFile"), Some("files"), Some(false)));
    assert!(w["arguments"][0].as_str().unwrap().contains(&pwned), "{w}");
    assert!(!dir.path().join("pwned").exists(), "inspect ran the graph");
}

#[test]
fn a_genuine_model_reaches_outside_only_through_its_own_saver() {
    let text = ok(&["inspect", "--meta", &fixture(DNN_META)]);
    assert!(text.contains("reaches outside the process: none besides the model's own saver"), "{text}");
    let j = json(&ok(&["inspect", "--meta", &fixture(DNN_META), "--json"]));
    let reaches = j["reaches_outside"].as_array().unwrap();
    let mut ops: Vec<_> = reaches.iter().map(|r| r["node"].as_str().unwrap()).collect();
    ops.sort();
    assert_eq!(ops, ["save/RestoreV2", "save/SaveV2"]);
    assert!(reaches.iter().all(|r| r["own_saver"] == true && r["class"] == "files"), "{reaches:?}");
    assert_eq!(reaches[0]["arguments"], serde_json::json!([r#"save/Const=default "model""#]));
}
