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

// Issue 34's second slice: runs that would execute such a node are refused unless
// `--trust-graph`, and the sandbox stops what a trusted graph tries outside the command's
// paths. The hostile fixtures (python/make_ckpt.py) use paths relative to the folder tfreuse
// runs in: each test runs it in a fresh folder holding a secret, outside every path it names.

/// tfreuse run in `cwd`.
fn tfreuse_in(cwd: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tfreuse"))
        .args(args)
        .current_dir(cwd)
        .env("TF_ENABLE_ONEDNN_OPTS", "0")
        .output()
        .expect("run tfreuse")
}

/// A folder to run in, holding `secret.txt`.
fn home() -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("secret.txt"), "the user's secret").unwrap();
    home
}

fn eval_args(meta: &str) -> Vec<String> {
    ["eval", "--meta", &fixture(meta), "--data", &tiny_data(), "--split", "all"].map(String::from).to_vec()
}

#[test]
fn a_run_that_would_write_a_file_is_refused_and_names_the_op() {
    let home = home();
    let args = eval_args("hostile/write/model.ckpt.meta");
    let err = failed(tfreuse_in(home.path(), &strs(&args)), 3, &strs(&args));
    let line = err.lines().last().unwrap();
    assert!(line.contains("refused: running eval/accuracy would run evil/write (WriteFile"), "{line}");
    assert!(line.contains(r#""pwned.txt""#) && line.contains("--trust-graph"), "{line}");
    assert!(!home.path().join("pwned.txt").exists());
    // Branching below the metric never runs the write: allowed, and the file never appears.
    let out = home.path().join("out/m");
    let train = ["train", "--meta", &fixture("hostile/write/model.ckpt.meta"), "--data", &tiny_data(), "--defaults", "book"];
    let mut train: Vec<&str> = train.to_vec();
    let out_s = out.display().to_string();
    train.extend(["--branch-from", "dnn/hidden1/Relu:0", "--new-layers", "2", "--epochs", "1", "--batch-size", "16", "--out", &out_s]);
    let run = tfreuse_in(home.path(), &train);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(!home.path().join("pwned.txt").exists());
}

#[test]
fn reading_a_secret_into_the_branch_is_refused_then_denied_by_the_sandbox() {
    let home = home();
    let meta = fixture("hostile/read/model.ckpt.meta");
    let out = home.path().join("out/m").display().to_string();
    let args = ["train", "--meta", &meta, "--data", &tiny_data(), "--branch-from", "dnn/hidden1/features:0"];
    let mut args: Vec<&str> = args.to_vec();
    args.extend(["--new-layers", "2", "--epochs", "1", "--batch-size", "16", "--out", &out, "--defaults", "book"]);
    let err = failed(tfreuse_in(home.path(), &args), 3, &args);
    assert!(err.contains("would run dnn/evil/read (ReadFile") && err.contains(r#""secret.txt""#), "{err}");
    args.push("--trust-graph");
    let err = failed(tfreuse_in(home.path(), &args), 5, &args);
    assert!(err.lines().last().unwrap().contains("PermissionDenied: secret.txt"), "{err}");
}

#[test]
fn with_trust_the_sandbox_stops_the_write_and_without_it_the_write_happens() {
    let home = home();
    let mut args = eval_args("hostile/write/model.ckpt.meta");
    args.push("--trust-graph".into());
    let err = failed(tfreuse_in(home.path(), &strs(&args)), 5, &strs(&args));
    let line = err.lines().last().unwrap();
    assert!(
        line.contains("PermissionDenied: pwned.txt; Permission denied (the sandbox allows only the paths the command names: -v"),
        "{err}"
    );
    assert!(!home.path().join("pwned.txt").exists());
    // The proof the fixture is what it says: unconfined and trusted, it writes.
    args.push("--no-sandbox".into());
    let run = tfreuse_in(home.path(), &strs(&args));
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(std::fs::read_to_string(home.path().join("pwned.txt")).unwrap(), "pwned");
}

#[test]
fn a_saver_whose_restore_op_writes_is_refused_at_restore() {
    let home = home();
    let args = eval_args("hostile/saver/model.ckpt.meta");
    let err = failed(tfreuse_in(home.path(), &strs(&args)), 3, &strs(&args));
    assert!(err.contains("running save/restore_everything would run save/evil (WriteFile"), "{err}");
    let mut trusted = args.clone();
    trusted.push("--trust-graph".into());
    let err = failed(tfreuse_in(home.path(), &strs(&trusted)), 3, &strs(&trusted));
    assert!(err.contains("pwned.txt; Permission denied"), "{err}");
    assert!(!home.path().join("pwned.txt").exists());
}

#[test]
fn a_frozen_graph_listing_the_folder_is_refused_and_sees_nothing_in_the_sandbox() {
    let home = home();
    let pb = fixture("hostile/listing.pb");
    let args = ["run", "--graph", &pb, "--data", &tiny_data(), "--split", "all", "--fetch", "dnn/outputs/listed:0"];
    let err = failed(tfreuse_in(home.path(), &args), 3, &args);
    assert!(err.contains("would run evil/list (MatchingFiles") && err.contains(r#"pattern="*""#), "{err}");
    let mean = |extra: &[&str]| {
        let all: Vec<&str> = args.iter().chain(extra).copied().collect();
        let run = tfreuse_in(home.path(), &all);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        // `dnn/outputs/listed:0: float32 [64, 2] mean M min … max …`
        let text = String::from_utf8(run.stdout).unwrap();
        let after = text.split(" mean ").nth(1).unwrap_or_else(|| panic!("{text}"));
        after.split_whitespace().next().unwrap().parse::<f64>().unwrap()
    };
    // Unconfined, the listing finds secret.txt (1 file): every logit moves by 1.
    let (seen, confined) = (mean(&["--trust-graph", "--no-sandbox"]), mean(&["--trust-graph"]));
    assert!((seen - confined - 1.0).abs() < 1e-5, "unconfined {seen}, sandboxed {confined}");
}

#[test]
fn sandbox_require_and_the_rules_with_verbose() {
    let home = home();
    let mut args = eval_args(TINY_META);
    args.extend(["--sandbox", "require", "-v"].map(String::from));
    let run = tfreuse_in(home.path(), &strs(&args));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains(&format!("sandbox: read  {}", root().join("fixtures/tiny").display())), "{err}");
    assert!(err.contains("sandbox: tcp: none") && err.contains("sandbox: Full"), "{err}");
    assert!(!err.contains(&format!("sandbox: write {}", home.path().display())), "{err}");
    let plain = eval_args(TINY_META);
    let both = [&strs(&plain)[..], &["--sandbox", "off", "--no-sandbox"]].concat();
    let err = failed(tfreuse_in(home.path(), &both), 2, &both);
    assert!(err.contains("--no-sandbox") && err.contains("cannot be used with"), "{err}");
}

#[test]
fn a_tf2_saved_models_own_saver_function_runs_untrusted_and_a_tampered_one_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (sm, ours, theirs) = (fixture("tf2_saved_model"), tmp.path().join("ours.npz"), tmp.path().join("py.npz"));
    let run = ["run", "--saved-model", &sm, "--data", &tiny_data(), "--split", "all", "--input", "@x", "--fetch", "@logits"];
    ok(&[&run[..], &["--out", ours.to_str().unwrap()]].concat());
    let x = tiny_x_npy(tmp.path());
    let (feed, fetch) = (format!("serving_default_x:0={}", x.display()), "StatefulPartitionedCall:0");
    oracle(&["run", "--meta", &sm, "--feed", &feed, "--fetch", fetch, "--out", theirs.to_str().unwrap()]);
    let a = tfreuse::data::npy::Npz::open(&ours).unwrap().get("@logits").unwrap();
    assert!(a == tfreuse::data::npy::Npz::open(&theirs).unwrap().get(fetch).unwrap(), "the logits Python's loader gives");
    // The restore function tampered with: refused, naming what it would run.
    for (variant, runs) in [("tf2_write", "which runs evil/write (WriteFile)"), ("tf2_path", "which runs RestoreV2 (RestoreV2)")] {
        let sm = fixture(&format!("hostile/{variant}"));
        let args = ["run", "--saved-model", &sm, "--data", &tiny_data(), "--split", "all", "--input", "@x", "--fetch", "@logits"];
        let err = fails(&args, 3);
        assert!(err.contains("refused: running StatefulPartitionedCall_2 would run StatefulPartitionedCall_2"), "{err}");
        assert!(err.contains(runs), "{variant}: {err}");
    }
    // Trusted, the sandbox stops the write.
    let home = home();
    let sm = fixture("hostile/tf2_write");
    let args =
        ["run", "--saved-model", &sm, "--data", &tiny_data(), "--split", "all", "--input", "@x", "--fetch", "@logits", "--trust-graph"];
    let err = failed(tfreuse_in(home.path(), &args), 3, &args);
    assert!(err.contains("PermissionDenied: pwned.txt; Permission denied"), "{err}");
    assert!(!home.path().join("pwned.txt").exists());
}
