//! Shared helpers for the integration tests: run the real binary, build `train` command
//! lines ([`Train`]), run the Python oracle.
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

pub const TINY_META: &str = "tiny/tiny.ckpt.meta";

/// The tiny fixture's data set as a `--data` spec.
pub fn tiny_data() -> String {
    format!("npz:{}", fixture("tiny/data.npz"))
}

/// The tfreuse binary with oneDNN off (as the oracle runs).
pub fn tfreuse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tfreuse")).args(args).env("TF_ENABLE_ONEDNN_OPTS", "0").output().expect("run tfreuse")
}

/// Borrow owned arguments (e.g. [`Train::args`]) as the `&[&str]` the helpers take.
pub fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// Run tfreuse, assert success, return stdout.
pub fn ok(args: &[&str]) -> String {
    let out = tfreuse(args);
    assert!(out.status.success(), "tfreuse {args:?} failed ({:?}):\n{}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Run tfreuse, assert failure with `code`, return stderr (ending in one error line).
pub fn fails(args: &[&str], code: i32) -> String {
    failed(tfreuse(args), code, args)
}

/// `out` of a run of `args` succeeded: its stdout and stderr.
pub fn succeeded(out: Output, args: &[&str]) -> (String, String) {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "tfreuse {args:?}: {err}");
    (String::from_utf8(out.stdout).unwrap(), err)
}

/// `out` of a run of `args` failed with `code` and one error line, no panic; its stderr.
pub fn failed(out: Output, code: i32, args: &[&str]) -> String {
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
    oracle_with_onednn(args, "0")
}

/// [`oracle`] with `TF_ENABLE_ONEDNN_OPTS` set to `onednn` ("0" or "1").
pub fn oracle_with_onednn(args: &[&str], onednn: &str) -> String {
    let out = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("python/oracle.py"))
        .args(args)
        .env("TF_ENABLE_ONEDNN_OPTS", onednn)
        .output()
        .expect("run the Python oracle (make setup creates .venv)");
    assert!(out.status.success(), "oracle {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Run a Python snippet in the repo's venv; assert it succeeds.
pub fn python(code: &str) {
    let out = Command::new(root().join(".venv/bin/python")).args(["-c", code]).output().expect("run Python (make setup creates .venv)");
    assert!(out.status.success(), "Python failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("bad JSON ({e}): {s}"))
}

pub fn sha256(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap();
    sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A `tfreuse train` command line: `train --meta M --data D`, then the flags in the order
/// they were added.
///
/// ```ignore
/// Train::dnn().branch("dnn/hidden4/Relu:0").layers("20:relu,10").epochs(1).out(&path).ok();
/// ```
#[derive(Clone, Debug)]
pub struct Train {
    args: Vec<String>,
}

impl Train {
    /// `train --meta <meta> --data <data> --defaults book` (a full path and a `--data` spec;
    /// the book's settings, which the Python oracle runs, wherever a test gives none).
    pub fn new(meta: &str, data: &str) -> Train {
        Train { args: ["train", "--meta", meta, "--data", data, "--defaults", "book"].map(String::from).to_vec() }
    }

    /// `train --graph FROZEN.pb --data DATA --defaults book`.
    pub fn frozen(graph: &str, data: &str) -> Train {
        Train { args: ["train", "--graph", graph, "--data", data, "--defaults", "book"].map(String::from).to_vec() }
    }

    /// The book's MNIST DNN on the MNIST data.
    pub fn dnn() -> Train {
        Train::new(&fixture(DNN_META), &mnist())
    }

    /// A new gap,10 head on the CNN fixture's pool2 feature maps, everything below frozen,
    /// trained on `data` (pictures).
    pub fn cnn(data: &str) -> Train {
        Train::new(&fixture("cnn_rgb/cnn.ckpt.meta"), data)
            .arg("--input", "images:0")
            .arg("--labels", "labels:0")
            .branch("cnn/pool2:0")
            .arg("--freeze-below", "cnn/pool2:0")
            .layers("gap,10")
    }

    /// The tiny fixture on its own .npz.
    pub fn tiny() -> Train {
        Train::new(&fixture(TINY_META), &tiny_data())
    }

    /// Any flag with a value: `--flag value`.
    pub fn arg(mut self, flag: &str, value: impl AsRef<str>) -> Train {
        self.args.push(flag.into());
        self.args.push(value.as_ref().into());
        self
    }

    /// One argument as it is: a switch (`--force`) or `--flag=value`.
    pub fn flag(mut self, name: &str) -> Train {
        self.args.push(name.into());
        self
    }

    pub fn branch(self, tensor: &str) -> Train {
        self.arg("--branch-from", tensor)
    }

    pub fn layers(self, spec: &str) -> Train {
        self.arg("--new-layers", spec)
    }

    pub fn epochs(self, n: u32) -> Train {
        self.arg("--epochs", n.to_string())
    }

    pub fn batch(self, n: u32) -> Train {
        self.arg("--batch-size", n.to_string())
    }

    pub fn optimizer(self, name: &str) -> Train {
        self.arg("--optimizer", name)
    }

    /// As written (`"0.001"`, `"1e30"`).
    pub fn lr(self, lr: &str) -> Train {
        self.arg("--lr", lr)
    }

    pub fn seed(self, seed: u64) -> Train {
        self.arg("--seed", seed.to_string())
    }

    pub fn checkpoint(self, prefix_or_dir: &str) -> Train {
        self.arg("--checkpoint", prefix_or_dir)
    }

    pub fn out(self, prefix: impl AsRef<Path>) -> Train {
        self.arg("--out", path_str(prefix.as_ref()))
    }

    /// `--json <log>`: the JSON-lines event log.
    pub fn json_log(self, log: impl AsRef<Path>) -> Train {
        self.arg("--json", path_str(log.as_ref()))
    }

    pub fn force(self) -> Train {
        self.flag("--force")
    }

    /// The whole command line (`train …`), e.g. to spawn a child by hand.
    pub fn args(&self) -> Vec<String> {
        self.args.clone()
    }

    /// Run it (see [`tfreuse`]).
    pub fn output(&self) -> Output {
        tfreuse(&strs(&self.args))
    }

    /// Run it, assert success, return stdout (see [`ok`]).
    pub fn ok(&self) -> String {
        ok(&strs(&self.args))
    }

    /// Run it, assert failure with `code` and one error line, return stderr (see [`fails`]).
    pub fn fails(&self, code: i32) -> String {
        fails(&strs(&self.args), code)
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `eval ARGS` by tfreuse and by Python (`python_only` added on its side): each fetched
/// tensor with tfreuse's value and Python's.
pub fn eval_both(args: &[&str], python_only: &[&str]) -> Vec<(String, f64, f64)> {
    let ours = json(&ok(&[&["eval", "--json"][..], args].concat()));
    let theirs = json(&oracle(&[&["eval"][..], python_only, args].concat()));
    let value = |v: &serde_json::Value| v.as_f64().unwrap_or_else(|| panic!("no value: {ours} vs {theirs}"));
    args.windows(2).filter(|w| w[0] == "--fetch").map(|w| (w[1].to_string(), value(&ours["values"][w[1]]), value(&theirs[w[1]]))).collect()
}

/// Python's digest of every variable of a checkpoint: equal digests, equal bytes.
pub fn digest(prefix: &Path) -> serde_json::Value {
    json(&oracle(&["digest", "--checkpoint", prefix.to_str().unwrap()]))
}

/// `oracle.py small-model ARGS` written into `dir`: its `.meta`.
pub fn small_model(dir: &Path, args: &[&str]) -> String {
    oracle(&[&["small-model", "--out", dir.to_str().unwrap()][..], args].concat());
    dir.join("model.ckpt.meta").display().to_string()
}

/// tiny's features as `dir/x.npy`, to feed Python the rows tfreuse feeds from the npz.
pub fn tiny_x_npy(dir: &std::path::Path) -> std::path::PathBuf {
    let x = dir.join("x.npy");
    let data = tfreuse::data::npy::Npz::open(&root().join("fixtures/tiny/data.npz")).unwrap().get("x").unwrap();
    let tfreuse::tf::tensors::DynArray::F32(a) = data else { panic!("tiny's x is float32") };
    ndarray_npy::write_npy(&x, &a).unwrap();
    x
}
