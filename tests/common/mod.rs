//! Shared helpers for the integration tests: run the real binary, run the Python oracle.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> String {
    root().join("fixtures").join(rel).to_string_lossy().into_owned()
}

pub fn mnist() -> String {
    format!("mnist:{}", root().join("data/mnist").display())
}

pub const DNN_META: &str = "mnist_dnn/my_model_final.ckpt.meta";

/// The tiny fixture's data set as a `--data` spec.
pub fn tiny_data() -> String {
    format!("npz:{}", fixture("tiny/data.npz"))
}

/// The tfreuse binary with oneDNN off (as the oracle runs).
pub fn tfreuse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tfreuse"))
        .args(args)
        .env("TF_ENABLE_ONEDNN_OPTS", "0")
        .output()
        .expect("run tfreuse")
}

/// Run tfreuse, assert success, return stdout.
pub fn ok(args: &[&str]) -> String {
    let out = tfreuse(args);
    assert!(
        out.status.success(),
        "tfreuse {args:?} failed ({:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Run tfreuse, assert failure with `code`, return stderr (ending in one error line).
pub fn fails(args: &[&str], code: i32) -> String {
    let out = tfreuse(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "tfreuse {args:?}: stderr {err}");
    // Progress lines may come first; the run ends with exactly one error line, no panic.
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(errors.len(), 1, "expected one error line, got:\n{err}");
    assert!(err.trim_end().lines().last().unwrap().starts_with("tfreuse: error: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Python TF1 oracle (python/oracle.py) in the repo's venv.
pub fn oracle(args: &[&str]) -> String {
    let out = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("python/oracle.py"))
        .args(args)
        .env("TF_ENABLE_ONEDNN_OPTS", "0")
        .output()
        .expect("run the Python oracle (make setup creates .venv)");
    assert!(out.status.success(), "oracle {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("bad JSON ({e}): {s}"))
}

pub fn sha256(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap();
    sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}
