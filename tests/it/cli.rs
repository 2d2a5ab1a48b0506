//! `inspect`, `eval` and `run` (and their errors) through the real binary against the
//! committed fixtures, Python TF as oracle.

use crate::common::*;

#[test]
fn eval_matches_python_on_mnist_test() {
    let ours = json(&ok(&["eval", "--meta", &fixture(DNN_META), "--data", &mnist(), "--json"]));
    let theirs = json(&oracle(&[
        "eval",
        "--meta",
        &fixture(DNN_META),
        "--data",
        &mnist(),
        "--split",
        "test",
        "--fetch",
        "eval/accuracy:0",
        "--fetch",
        "loss/loss:0",
    ]));
    for k in ["eval/accuracy:0", "loss/loss:0"] {
        let a = ours["values"][k].as_f64().unwrap();
        let b = theirs[k].as_f64().unwrap();
        assert!((a - b).abs() <= 1e-6, "{k}: tfreuse {a} vs Python {b}");
    }
    let acc = ours["values"]["eval/accuracy:0"].as_f64().unwrap();
    assert!(acc > 0.94, "the fixture is a trained model: accuracy {acc}");
    assert_eq!(ours["examples"], 10000);
}

#[test]
fn other_shaped_model_with_flags_only() {
    // conv + batch norm, other names, int32 labels, a training-flag placeholder.
    let meta = fixture("conv_bn/convnet.ckpt.meta");
    let data = mnist();
    let args = ["--input", "inputs/pixels:0", "--labels", "inputs/labels:0", "--fetch", "metrics/acc:0", "--fetch", "metrics/xent:0"];
    let mut ours_args = vec!["eval", "--meta", &meta, "--data", &data, "--split", "validation", "--json"];
    ours_args.extend(args);
    let ours = json(&ok(&ours_args));
    let mut or_args = vec!["eval", "--meta", &meta, "--data", &data, "--split", "validation"];
    or_args.extend(args);
    let theirs = json(&oracle(&or_args));
    for k in ["metrics/acc:0", "metrics/xent:0"] {
        let (a, b) = (ours["values"][k].as_f64().unwrap(), theirs[k].as_f64().unwrap());
        assert!((a - b).abs() <= 1e-6, "{k}: tfreuse {a} vs Python {b}");
    }
    let rep = json(&ok(&["inspect", "--meta", &meta, "--json"]));
    let ph: Vec<String> = rep["placeholders"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_string()).collect();
    assert!(ph.contains(&"inputs/is_training:0".to_string()), "{ph:?}");
    let vars = rep["variables"].as_array().unwrap();
    let mm = vars.iter().find(|v| v["name"] == "bn/moving_mean").expect("bn/moving_mean listed");
    assert_eq!(mm["trainable"], false);
    assert_eq!(rep["ops_by_type"]["Conv2D"], 1);
}

#[test]
fn inspect_lists_variables_like_the_checkpoint() {
    let rep = json(&ok(&["inspect", "--meta", &fixture(DNN_META), "--json"]));
    let ckpt = root().join("fixtures/mnist_dnn/my_model_final.ckpt");
    let truth = json(&oracle(&["variables", "--checkpoint", ckpt.to_str().unwrap()]));
    let vars = rep["variables"].as_array().unwrap();
    assert_eq!(vars.len(), truth.as_object().unwrap().len());
    for v in vars {
        let name = v["name"].as_str().unwrap();
        assert_eq!(v["shape"], truth[name], "shape of {name}");
        assert_eq!(v["trainable"], true);
        assert_eq!(v["dtype"], "float32");
    }
    let c = &rep["checkpoint"];
    assert_eq!(c["restorable"].as_array().unwrap().len(), 12);
    assert!(c["missing"].as_array().unwrap().is_empty());
    assert_eq!(rep["saver"]["restore_op"], "save/restore_all");
    assert_eq!(rep["collections"]["train_op"], "GradientDescent");
    let ph = rep["placeholders"].as_array().unwrap();
    assert!(ph.iter().any(|p| p["name"] == "X:0" && p["shape"] == "[?, 784]" && p["dtype"] == "float32"));
}

/// `inspect --json`'s layers of `model` (`--meta M`, `--graph G` …), each checked against
/// Python: its output's static shape, and its parameters (the values of the variables its
/// output depends on that its input does not).
fn layers_match_python(model: &[&str], meta: &str) -> Vec<serde_json::Value> {
    let rep = json(&ok(&[&["inspect"], model, &["--json"]].concat()));
    let layers = rep["layers"].as_array().unwrap().clone();
    let pairs: Vec<String> = layers.iter().map(|l| format!("{}={}", l["input"].as_str().unwrap(), l["output"].as_str().unwrap())).collect();
    let mut args = vec!["layers", "--meta", meta];
    for p in &pairs {
        args.extend(["--layer", p.as_str()]);
    }
    let truth = json(&oracle(&args));
    for l in &layers {
        let t = &truth[l["output"].as_str().unwrap()];
        assert_eq!((&l["shape"], &l["params"]), (&t["shape"], &t["params"]), "layer {l}");
    }
    layers
}

fn column<'a>(layers: &'a [serde_json::Value], key: &str) -> Vec<&'a str> {
    layers.iter().map(|l| l[key].as_str().unwrap()).collect()
}

#[test]
fn inspect_lists_the_layers_to_branch_from() {
    let meta = fixture(DNN_META);
    let layers = layers_match_python(&["--meta", &meta], &meta);
    let hidden: Vec<String> = (1..=5).map(|i| format!("dnn/hidden{i}")).collect();
    assert_eq!(column(&layers, "name"), [&hidden[..], &["dnn/outputs".to_string()]].concat());
    let outputs: Vec<String> = hidden.iter().map(|h| format!("{h}/Relu:0")).collect();
    assert_eq!(column(&layers, "output"), [&outputs[..], &["dnn/outputs/BiasAdd:0".to_string()]].concat());
    assert_eq!(layers[0]["input"], "X:0");
    assert_eq!(layers[0]["shape"], serde_json::json!([-1, 300]));
    assert_eq!(column(&layers, "kind"), ["dense+relu", "dense+relu", "dense+relu", "dense+relu", "dense+relu", "logits"]);
    let branch: Vec<bool> = layers.iter().map(|l| l["branch"].as_bool().unwrap()).collect();
    assert_eq!(branch, [true, true, true, true, true, false]);
    // The text lists them as a section of its own, the other sections still there.
    let text = ok(&["inspect", "--meta", &meta]);
    let section = text.split("\nlayers (input → logits; branch from any):\n").nth(1).expect("a layers section");
    let rows: Vec<&str> = section.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(rows.len(), 7, "{section}");
    assert!(rows[0].split_whitespace().eq(["input", "X:0"]), "{}", rows[0]);
    let h4: Vec<&str> = rows[4].split_whitespace().collect();
    assert_eq!(h4, ["dnn/hidden4", "dnn/hidden4/Relu:0", "[-1,", "50]", "2550", "params", "dense+relu"]);
    assert!(text.contains("\nplaceholders:") && text.contains("\nvariables: 12"), "{text}");
}

#[test]
fn inspect_lists_conv_and_pool_layers() {
    let meta = fixture("cnn_rgb/cnn.ckpt.meta");
    let layers = layers_match_python(&["--meta", &meta], &meta);
    assert_eq!(column(&layers, "output"), ["cnn/pool1:0", "cnn/pool2:0", "cnn/features:0", "cnn/logits/BiasAdd:0"]);
    assert_eq!(column(&layers, "kind"), ["conv2d+relu+maxpool", "conv2d+relu+maxpool", "global average pool", "logits"]);
    assert_eq!(layers[0]["input"], "images:0");
    // Batch norm in plain ops ends the conv layer at its Conv2D; the reshape is a flatten.
    let meta = fixture("conv_bn/convnet.ckpt.meta");
    let layers = layers_match_python(&["--meta", &meta], &meta);
    assert_eq!(column(&layers, "kind"), ["conv2d", "flatten", "dense+tanh", "logits"]);
    assert_eq!(column(&layers, "output")[1..], ["net/Reshape_1:0", "net/features/Tanh:0", "net/logits/BiasAdd:0"]);
}

#[test]
fn inspect_lists_the_layers_of_frozen_graphs_and_saved_models() {
    // The same tiny model three ways; a frozen graph's weights are constants, counted alike.
    let meta = json(&ok(&["inspect", "--meta", &fixture(TINY_META), "--json"]))["layers"].clone();
    assert_eq!(meta.as_array().unwrap().len(), 2);
    assert_eq!(meta[0]["params"], 4 * 3 + 3);
    for model in [["--graph", "tiny_frozen/tiny.pb"], ["--saved-model", "tiny_saved_model"]] {
        let rep = json(&ok(&["inspect", model[0], &fixture(model[1]), "--json"]));
        assert_eq!(rep["layers"], meta, "{model:?}");
    }
}

#[test]
fn a_misspelled_branch_tensor_gets_the_layers_to_branch_from() {
    let layers =
        "layers to branch from: dnn/hidden1/Relu:0, dnn/hidden2/Relu:0, dnn/hidden3/Relu:0, dnn/hidden4/Relu:0, dnn/hidden5/Relu:0";
    let err = Train::dnn().branch("dnn/hiden4/Relu:0").layers("10").epochs(1).fails(2);
    let last = err.trim_end().lines().last().unwrap();
    assert!(last.starts_with("tfreuse: error: --branch-from: no tensor \"dnn/hiden4/Relu:0\""), "{last}");
    assert!(last.contains("did you mean dnn/hidden4/Relu:0") && last.ends_with(layers), "{last}");
    let err = Train::dnn().branch("dnn/hidden4/Relu:0").arg("--freeze-below", "dnn/hidden3/Rel:0").layers("10").epochs(1).fails(2);
    let last = err.trim_end().lines().last().unwrap();
    assert!(last.starts_with("tfreuse: error: --freeze-below: no tensor") && last.ends_with(layers), "{last}");
}

#[test]
fn inspect_shows_the_graph_when_no_checkpoint_resolves() {
    let tmp = tempfile::tempdir().unwrap();
    let meta = tmp.path().join("lonely.meta");
    std::fs::copy(fixture("tiny/tiny.ckpt.meta"), &meta).unwrap();
    let out = tfreuse(&["inspect", "--meta", meta.to_str().unwrap()]);
    let (stdout, err) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && stdout.contains("hidden1/kernel") && err.contains("warning: ") && err.contains("no checkpoint found"),
        "{err}"
    );
}

#[test]
fn inspect_reports_missing_variables() {
    // The tiny graph against the conv checkpoint: nothing matches.
    let rep = json(&ok(&["inspect", "--meta", &fixture("tiny/tiny.ckpt.meta"), "--checkpoint", &fixture("conv_bn"), "--json"]));
    assert_eq!(rep["checkpoint"]["missing"].as_array().unwrap().len(), 4);
    assert!(!rep["checkpoint"]["unused"].as_array().unwrap().is_empty());
    // …and restoring it for real is a clear error, not a crash.
    let err = fails(
        &["eval", "--meta", &fixture("tiny/tiny.ckpt.meta"), "--checkpoint", &fixture("conv_bn"), "--data", &tiny_data(), "--split", "all"],
        3,
    );
    assert!(err.contains("cannot restore"), "{err}");
}

#[test]
fn typo_gets_suggestions() {
    let err = fails(&["eval", "--meta", &fixture(DNN_META), "--data", &mnist(), "--fetch", "dnn/hiden4/Relu:0"], 2);
    assert!(err.contains("did you mean dnn/hidden4/Relu:0"), "{err}");
    let err = fails(&["run", "--meta", &fixture("tiny/tiny.ckpt.meta"), "--fetch", "dnn/outputs/BiasAd:0"], 2);
    assert!(err.contains("did you mean dnn/outputs/BiasAdd:0"), "{err}");
}

#[test]
fn missing_and_unreadable_files() {
    let tmp = tempfile::tempdir().unwrap();
    let err = fails(&["inspect", "--meta", "/no/such/model.meta"], 3);
    assert!(err.contains("/no/such/model.meta") && err.contains("No such file"), "{err}");
    let garbage = tmp.path().join("garbage.meta");
    std::fs::write(&garbage, b"\x0a\xff\xff\xff\xffthis is not a protobuf").unwrap();
    let err = fails(&["inspect", "--meta", garbage.to_str().unwrap()], 3);
    assert!(err.contains("not a MetaGraphDef"), "{err}");
    // A .meta with no checkpoint beside it.
    let lone = tmp.path().join("lone.meta");
    std::fs::copy(fixture("tiny/tiny.ckpt.meta"), &lone).unwrap();
    let err = fails(&["eval", "--meta", lone.to_str().unwrap(), "--data", &tiny_data(), "--split", "all"], 3);
    assert!(err.contains("no checkpoint found"), "{err}");
    let err = fails(&["eval", "--meta", &fixture(DNN_META), "--data", &format!("mnist:{}", tmp.path().display())], 3);
    assert!(err.contains("train-images-idx3-ubyte.gz") && err.contains("missing"), "{err}");
    let err = fails(&["eval", "--meta", &fixture(DNN_META), "--data", &mnist(), "--split", "nope"], 2);
    assert!(err.contains("it has: test, train, validation"), "{err}");
}

#[test]
fn a_missing_input_path_exits_3_whatever_its_kind() {
    let (tiny, dnn, data) = (fixture(TINY_META), fixture(DNN_META), tiny_data());
    let eval = |meta: &str, spec: &str| vec!["eval".to_string(), "--meta".into(), meta.into(), "--data".into(), spec.into()];
    let with = |mut v: Vec<String>, more: &[&str]| {
        v.extend(more.iter().map(|s| s.to_string()));
        v
    };
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<String>, &str)> = vec![
        ("mnist:", eval(&dnn, "mnist:/no/such/mnist"), "/no/such/mnist"),
        ("fashion-mnist:", eval(&dnn, "fashion-mnist:/no/such/fashion"), "/no/such/fashion"),
        ("npz:", with(eval(&tiny, "npz:/no/such/data.npz"), &["--split", "all"]), "/no/such/data.npz"),
        ("images:", eval(&dnn, "images:/no/such/pics"), "/no/such/pics"),
        ("csv:", eval(&dnn, "csv:/no/such/labels.csv"), "/no/such/labels.csv"),
        ("--meta", eval("/no/such/model.meta", &mnist()), "/no/such/model.meta"),
        ("--graph", strings(&["eval", "--graph", "/no/such/frozen.pb", "--data", &data, "--split", "all"]), "/no/such/frozen.pb"),
        ("--saved-model", strings(&["eval", "--saved-model", "/no/such/sm", "--data", &data, "--split", "all"]), "/no/such/sm"),
        ("--checkpoint", with(eval(&tiny, &data), &["--split", "all", "--checkpoint", "/no/such/model.ckpt"]), "/no/such/model.ckpt"),
        ("--resume", with(Train::tiny().epochs(1).batch(16).args(), &["--resume", "/no/such/run-interrupted"]), "/no/such/run-interrupted"),
        ("--unlabeled", strings(&["pretrain", "autoencoder", "--layers", "2", "--data", &data, "--unlabeled", "npz:/no/such/u.npz"]), "/no/such/u.npz"),
        ("--feed", strings(&["run", "--meta", &tiny, "--feed", "X:0=/no/such/x.npy", "--fetch", "X:0"]), "/no/such/x.npy"),
        ("predict FILE", strings(&["predict", "--meta", &dnn, "--logits", "dnn/outputs/BiasAdd:0", "/no/such/pic.png"]), "/no/such/pic.png"),
    ];
    for (case, args, path) in cases {
        let err = fails(&strs(&args), 3);
        let line = err.trim_end().lines().last().unwrap();
        assert!(line.contains(path), "{case}: {err}");
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

#[test]
fn argument_errors_are_one_line_with_clap_suggestion() {
    let train = ["train", "--meta", "m.meta", "--data", "mnist:d", "--out", "o"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        ([&train[..], &["--epoch", "3"]].concat(), "tfreuse: error: unexpected argument '--epoch' (did you mean '--epochs'?"),
        (
            [&train[..], &["--epochs", "x"]].concat(),
            "tfreuse: error: invalid value 'x' for '--epochs <N>': invalid digit found in string",
        ),
        (vec!["trian"], "tfreuse: error: unrecognized subcommand 'trian' (did you mean 'train'?)"),
        (vec!["eval", "--meta", "m.meta"], "tfreuse: error: missing --data <SPEC>"),
        (
            [&train[..], &["--optimizer", "adamm"]].concat(),
            "tfreuse: error: invalid value 'adamm' for '--optimizer <OPTIMIZER>' (did you mean 'adam'?; possible values: sgd, momentum, adam)",
        ),
        (
            vec!["predict", "--meta", "m.meta", "--resize", "1y2", "p.png"],
            "tfreuse: error: invalid value '1y2' for '--resize <HxW>': expected HxW",
        ),
        (vec!["predict", "--meta", "m.meta", "--top-k"], "tfreuse: error: a value is required for '--top-k <K>'"),
    ];
    for (args, want) in cases {
        let o = tfreuse(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with(want), "{args:?}: {err}");
    }
    // Help and version still print as clap prints them, on stdout, exit 0.
    for args in [&["--help"][..], &["--version"], &["train", "--help"]] {
        let o = tfreuse(args);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success() && o.stderr.is_empty() && out.lines().count() >= 1, "{args:?}: {out}");
        assert!(out.contains("Usage: tfreuse") || out.starts_with("tfreuse 0."), "{args:?}: {out}");
    }
}

#[test]
fn moved_checkpoint_directory_falls_back_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    for f in ["tiny.ckpt.meta", "tiny.ckpt.index", "tiny.ckpt.data-00000-of-00001"] {
        std::fs::copy(fixture(&format!("tiny/{f}")), tmp.path().join(f)).unwrap();
    }
    std::fs::write(
        tmp.path().join("checkpoint"),
        "model_checkpoint_path: \"/home/someone/else/tiny.ckpt\"\nall_model_checkpoint_paths: \"/home/someone/else/tiny.ckpt\"\n",
    )
    .unwrap();
    let meta = tmp.path().join("tiny.ckpt.meta");
    let dir = ["--checkpoint", tmp.path().to_str().unwrap()];
    let out = tfreuse(&[&["eval", "--meta", meta.to_str().unwrap(), "--data", &tiny_data(), "--split", "all"][..], &dir].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("warning") && err.contains("does not exist"), "{err}");
    // Without --checkpoint the .meta's own prefix is taken; the state file is not read.
    let out = tfreuse(&["eval", "--meta", meta.to_str().unwrap(), "--data", &tiny_data(), "--split", "all"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim() == format!("restored {}", tmp.path().join("tiny.ckpt").display()), "{err}");
}

#[test]
fn a_numbered_meta_restores_its_own_checkpoint_not_the_latest() {
    // m.ckpt-1 is tiny; m.ckpt-2 (trained on, and the state file's latest) differs.
    let tmp = tempfile::tempdir().unwrap();
    for ext in ["meta", "index", "data-00000-of-00001"] {
        std::fs::copy(fixture(&format!("tiny/tiny.ckpt.{ext}")), tmp.path().join(format!("m.ckpt-1.{ext}"))).unwrap();
    }
    Train::tiny().arg("--loss", "loss/loss:0").batch(16).epochs(3).out(tmp.path().join("m.ckpt-2")).ok();
    let eval = |meta: &str| {
        let out = tfreuse(&["eval", "--json", "--meta", meta, "--data", &tiny_data(), "--split", "all"]);
        (
            json(&String::from_utf8_lossy(&out.stdout))["values"]["loss/loss:0"].as_f64().unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (first, err) = eval(tmp.path().join("m.ckpt-1.meta").to_str().unwrap());
    assert!(err.contains("restored ") && err.contains("m.ckpt-1"), "{err}");
    let (tiny, _) = eval(&fixture("tiny/tiny.ckpt.meta"));
    assert_eq!(first, tiny, "m.ckpt-1.meta restores m.ckpt-1");
    let (second, err) = eval(tmp.path().join("m.ckpt-2.meta").to_str().unwrap());
    assert!(err.contains("m.ckpt-2") && second != first, "{err}");
}

#[test]
fn run_matches_python() {
    let tmp = tempfile::tempdir().unwrap();
    let x = tmp.path().join("x.npy");
    // Build the input with Python so the .npy is numpy's own.
    let status = std::process::Command::new(root().join(".venv/bin/python"))
        .args(["-c", &format!("import numpy as np; np.save({:?}, np.load({:?})['x'][:7])", x.to_str().unwrap(), fixture("tiny/data.npz"))])
        .status()
        .unwrap();
    assert!(status.success());
    let feed = format!("X:0={}", x.display());
    let ours = tmp.path().join("ours.npz");
    let theirs = tmp.path().join("theirs.npz");
    let meta = fixture("tiny/tiny.ckpt.meta");
    let args = |out: &std::path::Path| {
        let fetches = ["--fetch", "dnn/outputs/BiasAdd:0", "--fetch", "dnn/hidden1/Relu:0"];
        let mut a = vec!["run".to_string(), "--meta".into(), meta.clone(), "--feed".into(), feed.clone()];
        a.extend(fetches.iter().map(|s| s.to_string()));
        a.extend(["--out".to_string(), out.display().to_string()]);
        a
    };
    let out = ok(&strs(&args(&ours)));
    assert!(out.contains("dnn/outputs/BiasAdd:0: float32 [7, 2]"), "{out}");
    oracle(&strs(&args(&theirs)));
    let cmp = std::process::Command::new(root().join(".venv/bin/python"))
        .args([
            "-c",
            &format!(
                "import numpy as np; a=np.load({:?}); b=np.load({:?}); \
             assert sorted(a.files)==sorted(b.files), (a.files, b.files); \
             assert all(np.array_equal(a[k], b[k]) and a[k].dtype==b[k].dtype for k in a.files), 'values differ'",
                ours.to_str().unwrap(),
                theirs.to_str().unwrap()
            ),
        ])
        .output()
        .unwrap();
    assert!(cmp.status.success(), "{}", String::from_utf8_lossy(&cmp.stderr));
}

#[test]
fn without_tensorflow_one_line_how_to_fix() {
    // A copy of the binary outside the checkout does not see the repo's .venv; PATH has no
    // python3, nothing in LD_LIBRARY_PATH or TENSORFLOW_DIR.
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("tfreuse");
    std::fs::copy(env!("CARGO_BIN_EXE_tfreuse"), &bin).unwrap();
    let out = std::process::Command::new(&bin)
        .args(["eval", "--meta", &fixture(DNN_META), "--data", &mnist()])
        .env_clear()
        .env("PATH", tmp.path())
        .env("HOME", tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("libtensorflow not found") && err.contains("make setup") && err.contains("pip install tensorflow-cpu==2.21.0"),
        "{err}"
    );
}

/// Each command shows and takes only the flags it uses, under headings by concern; one it
/// does not use is refused in one line before anything runs.
#[test]
fn help_fits_the_command() {
    let help = |args: &[&str]| ok(args);
    let train_short = help(&["train", "-h"]);
    let train_long = help(&["train", "--help"]);
    let headings = ["Model:", "Data:", "Recipe:", "Schedule:", "Performance:", "Output:", "Cluster:", "Security:", "Global options:"];
    let at: Vec<usize> = headings.iter().map(|h| train_short.find(&format!("\n{h}\n")).unwrap_or_else(|| panic!("no {h}"))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "headings out of order: {train_short}");
    // -h: a line a flag; --help: the whole text.
    assert!(train_short.lines().count() * 2 < train_long.lines().count(), "{train_short}");
    assert!(train_short.lines().all(|l| !l.contains("global_jit_level")) && train_long.contains("global_jit_level"));
    // What each command does not use, it neither shows nor takes.
    let absent = [
        (&["zoo", "fetch"][..], &["--onednn", "--jit", "--target", "--tf-lib"][..]),
        (&["predict"], &["--validation-pct", "--test-pct"]),
        (&["pretrain", "autoencoder"], &["--prune", "--class-weight", "--augment", "--per-class"]),
        (&["pretrain", "auxiliary"], &["--prune", "--class-weight", "--augment", "--cache-dir"]),
        (&["new"], &["--prune", "--cache-dir"]),
        (&["inspect"], &["--jit", "--target", "--onednn"]),
        (&["server"], &["--jit", "--target"]),
        (&["sweep"], &["--new-layers", "--freeze-below", "--trainable", "--train-op"]),
    ];
    for (command, flags) in absent {
        let shown = help(&[command, &["--help"]].concat());
        for flag in flags {
            let listed = shown.lines().any(|l| l.trim_start().split([' ', ',']).next() == Some(flag));
            assert!(!listed, "{command:?} shows {flag}");
            if command[0] == "sweep" {
                continue; // hidden, refused by the sweep itself (tests/it/sweep.rs)
            }
            let value = ["--onednn", "--jit"].contains(flag).then_some("on");
            let args: Vec<&str> = command.iter().copied().chain([*flag]).chain(value).collect();
            let err = fails(&args, 2);
            assert!(
                err.starts_with(&format!("tfreuse: error: unexpected argument '{flag}'")) && err.lines().count() == 1,
                "{args:?}: {err}"
            );
        }
    }
    // The plan's flags mean something only with inspect --draw.
    let err = fails(&["inspect", "--meta", &fixture(DNN_META), "--new-layers", "5"], 2);
    assert!(err.starts_with("tfreuse: error: missing --draw <FILE>"), "{err}");
}

/// `--version` names tfreuse, the libtensorflow it runs on and where it was found, and
/// oneDNN's default; without TensorFlow it still answers, saying why.
#[test]
fn version_names_the_library_it_finds() {
    let out = ok(&["--version"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], format!("tfreuse {}", env!("CARGO_PKG_VERSION")), "{out}");
    assert!(lines[1].starts_with("libtensorflow 2.21.0 (") && lines[1].contains("libtensorflow"), "{out}");
    // The suite runs with TF_ENABLE_ONEDNN_OPTS=0 (as the Makefile exports it).
    assert_eq!(lines[2], "oneDNN: off (TF_ENABLE_ONEDNN_OPTS)", "{out}");
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("tfreuse");
    std::fs::copy(env!("CARGO_BIN_EXE_tfreuse"), &bin).unwrap();
    let out = std::process::Command::new(&bin).arg("-V").env_clear().env("PATH", tmp.path()).env("HOME", tmp.path()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.lines().nth(1).is_some_and(|l| l.starts_with("libtensorflow: libtensorflow not found (searched: ")), "{text}");
    assert!(text.contains("oneDNN: TF's default (on); training chooses per graph"), "{text}");
}

/// Completion scripts come from the same definitions as the help: every command and flag.
#[test]
fn completions_for_each_shell() {
    let bash = ok(&["completions", "bash"]);
    for word in ["train", "zoo", "--branch-from", "--with-preprocessing", "--cache-frozen"] {
        assert!(bash.contains(word), "bash completions lack {word}");
    }
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("tfreuse.bash");
    std::fs::write(&script, &bash).unwrap();
    let syntax = std::process::Command::new("bash").arg("-n").arg(&script).output().unwrap();
    assert!(syntax.status.success(), "{}", String::from_utf8_lossy(&syntax.stderr));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        assert!(ok(&["completions", shell]).contains("branch-from"), "{shell}");
    }
    let err = fails(&["completions", "tcsh"], 2);
    assert!(err.starts_with("tfreuse: error: invalid value 'tcsh' for '<SHELL>'"), "{err}");
}
