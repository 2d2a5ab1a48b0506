//! TF1 graphs written by others: control flow, models saved by tfreuse and trained again.
//! Each ends in Python-equal numbers or one clear error line, never a crash.

use crate::common::*;

/// A model from `oracle.py control-flow --kind KIND` in `dir`; its `.meta`.
fn control_flow_model(kind: &str, dir: &std::path::Path) -> String {
    oracle(&["control-flow", "--kind", kind, "--out", dir.to_str().unwrap()]);
    dir.join("model.ckpt.meta").display().to_string()
}

#[test]
fn control_flow_v1_is_refused_before_tf_crashes_and_trains_frozen() {
    let tmp = tempfile::tempdir().unwrap();
    for (kind, op_type) in [("loop", "Exit"), ("cond", "Switch")] {
        let meta = control_flow_model(kind, &tmp.path().join(kind));
        let eval = ["--meta", &meta, "--data", &tiny_data(), "--split", "all", "--fetch", "loss:0", "--fetch", "accuracy:0"];
        for (k, a, b) in eval_both(&eval, &[]) {
            assert_eq!(a, b, "{kind}: {k}");
        }
        // Training the variable inside the control flow: TF_AddGradients crashed on the loop.
        let t = Train::new(&meta, &tiny_data()).branch("flow/out:0").layers("2").batch(16).epochs(1);
        let err = t.clone().fails(2);
        assert!(err.contains("cannot train flow/kernel") && err.contains(&format!("an op of type {op_type}")), "{kind}: {err}");
        assert!(err.contains("freeze"), "{kind}: the error says the way around it: {err}");
        // Frozen below it, the rest trains, and Python reads the result back.
        let out = tmp.path().join(format!("{kind}-out/m.ckpt"));
        t.clone().arg("--freeze-below", "flow/out:0").out(&out).ok();
        let saved = format!("{}.meta", out.display());
        let r = json(&oracle(&["eval", "--meta", &saved, "--data", &tiny_data(), "--split", "all", "--fetch", "new_eval/accuracy:0"]));
        assert!(r["new_eval/accuracy:0"].as_f64().unwrap() > 0.0, "{kind}: {r}");
    }
}

#[test]
fn a_model_saved_by_tfreuse_trains_again() {
    let tmp = tempfile::tempdir().unwrap();
    let first = tmp.path().join("a/m.ckpt");
    Train::tiny().branch("dnn/hidden1/Relu:0").layers("3,2").batch(16).epochs(1).out(&first).ok();
    let meta = format!("{}.meta", first.display());
    let rep = json(&ok(&["inspect", "--meta", &meta, "--json"]));
    assert_eq!(rep["saver"]["restore_op"], "new_save/restore_all", "the saver scope has the prefix once");
    // The same prefix again would rename every new op with `_1`: refused, naming the cause.
    let again = Train::new(&meta, &tiny_data()).branch("new_hidden1/Relu:0").layers("2").batch(16).epochs(1);
    let err = again.clone().fails(2);
    assert!(err.contains("--prefix new_") && err.contains("already has ops"), "{err}");
    let second = tmp.path().join("b/m.ckpt");
    again.arg("--prefix", "b_").out(&second).ok();
    let saved = format!("{}.meta", second.display());
    let rep = json(&ok(&["inspect", "--meta", &saved, "--json"]));
    assert_eq!(rep["saver"]["restore_op"], "b_save/restore_all");
    // Keep training it with its own (imported) train op: the saver's scope is taken, so the
    // new saver gets a free one, and Python reads the result.
    let third = tmp.path().join("c/m.ckpt");
    Train::new(&saved, &tiny_data())
        .arg("--train-op", "b_train/step")
        .arg("--loss", "b_loss/loss:0")
        .arg("--metric", "b_eval/accuracy:0")
        .batch(16)
        .epochs(1)
        .out(&third)
        .ok();
    let meta3 = format!("{}.meta", third.display());
    assert_eq!(json(&ok(&["inspect", "--meta", &meta3, "--json"]))["saver"]["restore_op"], "new_save_1/restore_all");
    oracle(&["eval", "--meta", &meta3, "--data", &tiny_data(), "--split", "all", "--fetch", "b_eval/accuracy:0"]);
}

#[test]
fn fixed_batch_inputs_run_in_their_batches() {
    // TF's C API fed all 64 rows to a [16, 4] input and the loss (sum / 16) read 4x too high.
    let tmp = tempfile::tempdir().unwrap();
    let meta = small_model(tmp.path(), &["--batch", "16"]);
    let data = tiny_data();
    let eval = ["--meta", &meta, "--data", &data, "--split", "all", "--fetch", "loss:0", "--fetch", "accuracy:0"];
    for (k, a, b) in eval_both(&eval, &["--batch-size", "16"]) {
        assert!((a - b).abs() <= 1e-9, "{k}: tfreuse {a} vs Python in batches of 16 {b}");
    }
    let t = Train::new(&meta, &data).arg("--loss", "loss:0").arg("--metric", "accuracy:0").epochs(1);
    let err = t.clone().batch(32).fails(2);
    assert!(err.contains("--batch-size 32: must be 16"), "{err}");
    // In batches of 16 and in file order, training is Python's loop byte for byte.
    let (a, b) = (tmp.path().join("ours/m.ckpt"), tmp.path().join("py/m.ckpt"));
    t.batch(16).flag("--no-shuffle").out(&a).ok();
    let py = ["train", "--meta", &meta, "--data", &data, "--split", "all", "--train-op", "GradientDescent", "--loss", "loss:0"];
    oracle(&[&py[..], &["--batch-size", "16", "--out", b.to_str().unwrap()]].concat());
    assert_eq!(digest(&a), digest(&b));
    let err = fails(&["run", "--meta", &meta, "--data", &data, "--split", "all", "--fetch", "logits:0"], 2);
    assert!(err.contains("--input X:0: takes [16, 4] but is given [64, 4]"), "{err}");
}

#[test]
fn labels_as_a_column_are_fed_as_one() {
    // int32 labels of shape [n, 1], as Keras-style exports keep them: eval, a new head, an
    // npz whose y is a column too; Python reads the trained model back.
    let tmp = tempfile::tempdir().unwrap();
    let meta = small_model(tmp.path(), &["--column-labels"]);
    let data = tiny_data();
    let eval = ["--meta", &meta, "--data", &data, "--split", "all", "--fetch", "loss:0", "--fetch", "accuracy:0"];
    for (k, a, b) in eval_both(&eval, &[]) {
        assert!((a - b).abs() <= 1e-7, "{k}: tfreuse {a} vs Python {b}");
    }
    let mut npz = tfreuse::data::npy::Npz::open(std::path::Path::new(&fixture("tiny/data.npz"))).unwrap();
    let (x, y) = (npz.get("x").unwrap(), npz.get("y").unwrap());
    let column = match y {
        tfreuse::tf::tensors::DynArray::I64(a) => tfreuse::tf::tensors::DynArray::I64(a.into_shape_with_order(vec![64, 1]).unwrap()),
        other => panic!("tiny's labels are int64: {other:?}"),
    };
    let col = tmp.path().join("column.npz");
    tfreuse::data::npy::write_npz(&col, &[("x".into(), x), ("y".into(), column)]).unwrap();
    let out = tmp.path().join("new/m.ckpt");
    let col_data = format!("npz:{}", col.display());
    Train::new(&meta, &col_data).branch("hidden1/Relu:0").layers("2").batch(16).epochs(2).out(&out).ok();
    let saved = format!("{}.meta", out.display());
    for (k, a, b) in eval_both(&["--meta", &saved, "--data", &data, "--split", "all", "--fetch", "new_eval/accuracy:0"], &[]) {
        assert_eq!(a, b, "{k}");
    }
}

#[test]
fn a_uint8_input_gets_raw_pixels() {
    // `run --data mnist:` cast the scaled pixels [0, 1] to uint8: 0s and 1s, plausible logits.
    let tmp = tempfile::tempdir().unwrap();
    let meta = small_model(tmp.path(), &["--uint8-input", "--features", "784", "--classes", "10"]);
    let eval = ["--meta", &meta, "--data", &mnist(), "--split", "test", "--fetch", "loss:0", "--fetch", "accuracy:0"];
    for (k, a, b) in eval_both(&eval, &[]) {
        assert!((a - b).abs() <= 1e-7, "{k}: tfreuse {a} vs Python {b}");
    }
    // `run --data` feeds the raw pixels: the logits equal Python's fed the same uint8 array.
    let (a, b, raw) = (tmp.path().join("a.npz"), tmp.path().join("b.npz"), tmp.path().join("raw.npy"));
    let script = format!(
        "import sys; sys.path.insert(0, {:?}); import mnist, numpy as np; \
         np.save({:?}, np.round(mnist.read_data_sets({:?})['test'][0] * 255).astype(np.uint8))",
        root().join("python").display().to_string(),
        raw.display().to_string(),
        root().join("data/mnist").display().to_string()
    );
    let status = std::process::Command::new(root().join(".venv/bin/python")).args(["-c", &script]).status().unwrap();
    assert!(status.success());
    let fetch = ["--fetch", "outputs/logits:0"];
    ok(&[&["run", "--meta", &meta, "--data", &mnist(), "--split", "test", "--out", a.to_str().unwrap()][..], &fetch].concat());
    let feed = format!("X:0={}", raw.display());
    oracle(&[&["run", "--meta", &meta, "--feed", &feed, "--out", b.to_str().unwrap()][..], &fetch].concat());
    let ours = tfreuse::data::npy::Npz::open(&a).unwrap().get("outputs/logits:0").unwrap();
    let theirs = tfreuse::data::npy::Npz::open(&b).unwrap().get("outputs/logits:0").unwrap();
    assert_eq!(ours.shape(), [10000, 10]);
    assert!(ours == theirs, "run --data gives the logits Python computes from the raw pixels");
    // Training feeds the raw pixels too: Python's loop fed them gives the same bytes.
    let (ours, py) = (tmp.path().join("ours/m.ckpt"), tmp.path().join("py/m.ckpt"));
    // (`--jit off`: the Python loop runs without XLA.)
    Train::new(&meta, &mnist()).arg("--loss", "loss:0").batch(1000).epochs(1).flag("--no-shuffle").arg("--jit", "off").out(&ours).ok();
    let args = ["train", "--meta", &meta, "--data", &mnist(), "--split", "train", "--train-op", "GradientDescent", "--loss", "loss:0"];
    oracle(&[&args[..], &["--batch-size", "1000", "--out", py.to_str().unwrap()]].concat());
    assert_eq!(digest(&ours), digest(&py), "trained on raw pixels as Python trains");
    // So does caching the frozen layers under a new head.
    let cached = Train::new(&meta, &mnist()).branch("hidden1/Relu:0").layers("10").arg("--trainable", "new_").batch(1000).epochs(1);
    let log = cached.flag("--cache-frozen").flag("--no-shuffle").output();
    assert!(log.status.success() && String::from_utf8_lossy(&log.stderr).contains("cached hidden1/Relu:0"), "{log:?}");
}

#[test]
fn scale_sets_what_float_inputs_get() {
    // A float model trained on raw pixels 0..255: `--scale 1` feeds them as they are.
    let (fixture, data) = (fixture("mnist_dnn/my_model_final.ckpt.meta"), mnist());
    for scale in ["1", "0.5"] {
        let eval = ["--meta", &fixture, "--data", &data, "--scale", scale, "--fetch", "eval/accuracy:0", "--fetch", "loss/loss:0"];
        for (k, a, b) in eval_both(&eval, &[]) {
            assert_eq!(a, b, "--scale {scale}: {k}");
        }
    }
    let err = fails(&["eval", "--meta", &fixture, "--data", &data, "--scale", "0"], 2);
    assert!(err.contains("--scale 0: must be a finite number"), "{err}");
}

#[test]
fn a_training_flag_is_fed_true_in_training_steps_only() {
    // conv_bn has `inputs/is_training` (default false) and batch norm with UPDATE_OPS.
    let tmp = tempfile::tempdir().unwrap();
    let meta = fixture("conv_bn/convnet.ckpt.meta");
    let t = Train::new(&meta, &mnist())
        .arg("--input", "inputs/pixels:0")
        .arg("--labels", "inputs/labels:0")
        .arg("--loss", "metrics/xent:0")
        .arg("--metric", "metrics/acc:0")
        .batch(100)
        .epochs(1)
        .flag("--no-shuffle");
    let (plain, flagged, py) = (tmp.path().join("a/m.ckpt"), tmp.path().join("b/m.ckpt"), tmp.path().join("py/m.ckpt"));
    let out = t.clone().out(&plain).output();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success() && err.contains("pass --training-flag inputs/is_training:0"), "{err}");
    t.clone().arg("--training-flag", "inputs/is_training:0").out(&flagged).ok();
    // Python's loop feeding is_training=True in every step: the same bytes.
    let data = mnist();
    let args = ["train", "--meta", &meta, "--data", &data, "--input", "inputs/pixels:0", "--labels", "inputs/labels:0"];
    let more = ["--train-op", "train/step", "--loss", "metrics/xent:0", "--batch-size", "100", "--flag", "inputs/is_training:0"];
    oracle(&[&args[..], &more, &["--out", py.to_str().unwrap()]].concat());
    assert_eq!(digest(&flagged), digest(&py), "trained with the flag as Python trains");
    assert_ne!(digest(&flagged), digest(&plain), "the flag changes training");
    // Caching treats the flag as false: the cut lands above the frozen batch norm.
    let err = t
        .clone()
        .branch("net/features/Tanh:0")
        .layers("10")
        .arg("--trainable", "new_")
        .arg("--training-flag", "inputs/is_training:0")
        .flag("--cache-frozen")
        .output();
    let stderr = String::from_utf8_lossy(&err.stderr).into_owned();
    assert!(err.status.success() && stderr.contains("cached net/features/Tanh:0"), "{stderr}");
    let bad = t.arg("--training-flag", "inputs/pixels:0").fails(2);
    assert!(bad.contains("--training-flag inputs/pixels:0: has dtype float32"), "{bad}");
}

#[test]
fn rows_reshape_to_an_image_input() {
    // An NHWC input [?, 2, 2, 1] fed rows of 4 values (as MNIST rows of 784 feed [?, 28, 28, 1]).
    let tmp = tempfile::tempdir().unwrap();
    let meta = small_model(tmp.path(), &["--image"]);
    let data = tiny_data();
    let eval = ["--meta", &meta, "--data", &data, "--split", "all", "--fetch", "loss:0", "--fetch", "accuracy:0"];
    for (k, a, b) in eval_both(&eval, &[]) {
        assert_eq!(a, b, "{k}");
    }
    let out = tmp.path().join("new/m.ckpt");
    let t = Train::new(&meta, &data).branch("hidden1/Relu:0").layers("2").arg("--trainable", "new_").batch(16).epochs(2);
    t.flag("--cache-frozen").out(&out).ok();
    let saved = format!("{}.meta", out.display());
    for (k, a, b) in eval_both(&["--meta", &saved, "--data", &data, "--split", "all", "--fetch", "new_eval/accuracy:0"], &[]) {
        assert_eq!(a, b, "{k}");
    }
    let run = ok(&["run", "--meta", &meta, "--data", &data, "--split", "all", "--fetch", "outputs/logits:0"]);
    assert!(run.contains("outputs/logits:0: float32 [64, 2]"), "{run}");
}

/// Train `meta` with its own train op (`GradientDescent`, `loss:0`) on tiny's data in file
/// order, in tfreuse and in Python's loop (each given its extra flags): the variables' digests.
fn train_both(meta: &str, dir: &std::path::Path, ours: &[&str], python: &[&str]) -> (serde_json::Value, serde_json::Value) {
    let (a, b) = (dir.join("ours/m.ckpt"), dir.join("py/m.ckpt"));
    let mut t = Train::new(meta, &tiny_data()).arg("--loss", "loss:0").batch(16).epochs(2).flag("--no-shuffle").out(&a);
    for w in ours.chunks(2) {
        t = t.arg(w[0], w[1]);
    }
    let log = t.output();
    let err = String::from_utf8_lossy(&log.stderr);
    assert!(log.status.success() && !err.contains("hint: nothing below"), "no pointless cache hint: {err}");
    let py = ["train", "--meta", meta, "--data", &tiny_data(), "--split", "all", "--train-op", "GradientDescent", "--loss", "loss:0"];
    oracle(&[&py[..], &["--batch-size", "16", "--epochs", "2", "--out", b.to_str().unwrap()], python].concat());
    (digest(&a), digest(&b))
}

#[test]
fn float16_float64_and_rank3_inputs_match_python() {
    // float16 could not be fed at all; every layout evaluates and trains as Python does.
    let tmp = tempfile::tempdir().unwrap();
    for (kind, args) in [("f16", &["--input-dtype", "float16"][..]), ("f64", &["--input-dtype", "float64"]), ("rank3", &["--rank3"])] {
        let dir = tmp.path().join(kind);
        let meta = small_model(&dir, &[&["--features", "4", "--classes", "2"][..], args].concat());
        let eval = ["--meta", &meta, "--data", &tiny_data(), "--split", "all", "--fetch", "loss:0", "--fetch", "accuracy:0"];
        for (k, a, b) in eval_both(&eval, &[]) {
            assert_eq!(a, b, "{kind}: {k}");
        }
        let (ours, py) = train_both(&meta, &dir, &[], &[]);
        assert_eq!(ours, py, "{kind}: trained as Python trains");
    }
}

#[test]
fn a_second_input_is_set_and_dropout_trains_as_in_python() {
    let tmp = tempfile::tempdir().unwrap();
    let meta = small_model(tmp.path(), &["--keep-prob", "--features", "4", "--classes", "2"]);
    let eval = ["--meta", &meta, "--data", &tiny_data(), "--split", "all", "--fetch", "loss:0", "--fetch", "accuracy:0"];
    let err = fails(&[&["eval"][..], &eval].concat(), 5);
    assert!(err.contains("placeholder tensor 'keep_prob'") && err.contains("--set keep_prob:0=VALUE"), "{err}");
    for (k, a, b) in eval_both(&[&eval[..], &["--set", "keep_prob:0=1"]].concat(), &[]) {
        assert_eq!(a, b, "{k}");
    }
    // keep_prob 0.5 in training steps: the same dropout masks as Python's (seeded ops).
    let (ours, py) =
        train_both(&meta, tmp.path(), &["--set", "keep_prob:0=1", "--set-in-training", "keep_prob:0=0.5"], &["--set", "keep_prob:0=0.5"]);
    assert_eq!(ours, py);
    let err = fails(&[&["eval"][..], &eval, &["--set", "X:0=1"]].concat(), 2);
    assert!(err.contains("--set X:0: takes [?, 4]; a set value is a scalar"), "{err}");
}

#[test]
fn a_graph_without_labels_gets_its_own_for_a_new_head() {
    let tmp = tempfile::tempdir().unwrap();
    let meta = small_model(tmp.path(), &["--no-labels", "--features", "4", "--classes", "2"]);
    let out = tmp.path().join("out/m.ckpt");
    let log = Train::new(&meta, &tiny_data()).branch("hidden1/Relu:0").layers("2").batch(16).epochs(2).out(&out).output();
    let err = String::from_utf8_lossy(&log.stderr);
    assert!(log.status.success() && err.contains("labels from new_labels:0"), "{err}");
    // Python imports the saved model and feeds the new labels placeholder: the same numbers.
    let saved = format!("{}.meta", out.display());
    let eval = ["--meta", &saved, "--data", &tiny_data(), "--split", "all", "--labels", "new_labels:0"];
    for (k, a, b) in eval_both(&[&eval[..], &["--fetch", "new_eval/accuracy:0", "--fetch", "new_loss/loss:0"]].concat(), &[]) {
        assert_eq!(a, b, "{k}");
    }
    // Its own loss needs labels it does not have: named, not guessed.
    let err = Train::new(&meta, &tiny_data()).arg("--loss", "loss:0").batch(16).epochs(1).fails(2);
    assert!(err.contains("--labels: no tensor \"y:0\""), "{err}");
}

/// The first event of `kind` in the JSON-lines log `log`.
fn logged(log: &std::path::Path, kind: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(log).unwrap();
    text.lines().map(json).find(|e| e["event"] == kind).unwrap_or_else(|| panic!("no {kind} event in {text}"))
}

/// A folder of 300 tinted 32×32 digits (30 a class) under `dir`, as a `--data` spec.
fn retrain_pictures(dir: &std::path::Path) -> String {
    let pics = dir.join("pics");
    oracle(&["image-folder", "--data", &mnist(), "--out", pics.to_str().unwrap(), "--per-class", "30", "--size", "32", "--color"]);
    format!("images:{}", pics.display())
}

const SPLIT: [&str; 4] = ["--validation-pct", "20", "--test-pct", "20"];
const ALL: [&str; 4] = ["--validation-pct", "0", "--test-pct", "0"];
const NEW_METRICS: [&str; 4] = ["--fetch", "new_eval/accuracy:0", "--fetch", "new_loss/loss:0"];

/// The rows of `data`'s test split as tfreuse decodes them (the CNN fixture's input echoes
/// them), with their labels, in an npz Python reads (`x`, `y`; split `all`).
fn retrain_test_rows(dir: &std::path::Path, data: &str) -> String {
    let rows = |split_args: &[&str], split: &str, file: &str| {
        let out = dir.join(file);
        let args = ["run", "--meta", &fixture("cnn_rgb/cnn.ckpt.meta"), "--data", data, "--split", split, "--fetch", "images:0"];
        ok(&[&args[..], split_args, &["--out", out.to_str().unwrap()]].concat());
        out.display().to_string()
    };
    let (every, tested) = (rows(&ALL, "train", "all.npz"), rows(&SPLIT, "test", "test.npz"));
    let xy = dir.join("xy.npz").display().to_string();
    python(&format!(
        "import numpy as np\n\
         a = np.load('{every}')['images:0']; t = np.load('{tested}')['images:0']\n\
         assert len(a) == 300\n\
         label = {{r.tobytes(): i // 30 for i, r in enumerate(a)}}\n\
         np.savez('{xy}', x=t, y=np.array([label[r.tobytes()] for r in t]))"
    ));
    xy
}

/// Python's loss and accuracy of the saved model `meta` on `xy` (see [`retrain_test_rows`]),
/// fed `batch` rows a run (0: all at once).
fn python_new_metrics(meta: &str, xy: &str, batch: usize) -> serde_json::Value {
    let data = format!("npz:{xy}");
    let py = ["eval", "--meta", meta, "--data", &data, "--split", "all", "--input", "input:0", "--labels", "new_labels:0"];
    let batch = batch.to_string();
    json(&oracle(&[&py[..], &NEW_METRICS, &["--batch-size", &batch]].concat()))
}

/// `test`'s (a `test` event) loss and metric are `theirs`' (eval's or Python's values; training
/// reports f32s, and one picture of 70 more or less right moves the accuracy by 0.014).
fn same_test(test: &serde_json::Value, theirs: &serde_json::Value, what: &str) {
    let (metric, loss) = (theirs["new_eval/accuracy:0"].as_f64().unwrap(), theirs["new_loss/loss:0"].as_f64().unwrap());
    assert!((metric - test["metric"].as_f64().unwrap()).abs() < 1e-6, "{what}: {theirs} vs training's {test}");
    assert!((loss - test["loss"].as_f64().unwrap()).abs() < 1e-6, "{what}: {theirs} vs training's {test}");
}

/// A `test` event without its time.
fn untimed(mut test: serde_json::Value) -> serde_json::Value {
    test.as_object_mut().unwrap().remove("elapsed");
    test
}

#[test]
fn a_retrain_style_graph_of_one_picture_a_run_trains_a_head_in_batches() {
    // retrain.py's graph: `input` takes [1, 32, 32, 3]; the bottleneck `pool/_reshape` is [1, 8].
    let tmp = tempfile::tempdir().unwrap();
    let (data, graph) = (retrain_pictures(tmp.path()), fixture("retrain_style/graph.pb"));
    let pics = data.trim_start_matches("images:").to_string();
    let (out, log) = (tmp.path().join("out/m.ckpt"), tmp.path().join("log.json"));
    let cache = tmp.path().join("cache");
    let t = Train::frozen(&graph, &data).branch("pool/_reshape:0").layers("10").optimizer("adam").lr("0.1").epochs(30).batch(200);
    let t = SPLIT.chunks(2).fold(t, |t, kv| t.arg(kv[0], kv[1]));
    // Cached one picture a run, the new layers train in batches of 200.
    let o = t.clone().flag("--cache-frozen").arg("--cache-dir", cache.to_str().unwrap()).out(&out).json_log(&log).output();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("input:0 takes batches of exactly 1: new_stop_gradient:0 cached 1 row(s) a run"), "{err}");
    assert_eq!(logged(&log, "frozen_batch")["batch"], 1);
    let test = logged(&log, "test");
    assert_eq!(test["examples"], 70, "{test}");
    assert!(test["metric"].as_f64().unwrap() > 0.2, "better than chance: {test}");
    // Uncached, every step runs the frozen part one picture a run, then the new layers on the
    // batch of 200 (as retrain.py does when distortions turn its cache off): the same rows in
    // the same batches, so the same model and test numbers.
    let log2 = tmp.path().join("log2.json");
    let o = t.json_log(&log2).output();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("input:0 takes batches of exactly 1: each step computes pool/_reshape:0 1 row(s) a run"), "{err}");
    let setup = logged(&log2, "setup");
    assert_eq!(setup["batch"], serde_json::json!({"input": "input:0", "batch": 1, "relaxed": false}), "{setup}");
    assert_eq!(logged(&log2, "frozen_batch")["cached"], false);
    assert_eq!(untimed(logged(&log2, "test")), untimed(test.clone()), "uncached vs cached");
    // The saved model runs whole, one picture a run: eval says what training's test said.
    let meta = format!("{}.meta", out.display());
    let eval = |split_args: &[&str], split: &str| {
        json(&ok(&[&["eval", "--meta", &meta, "--data", &data, "--split", split, "--json"][..], split_args, &NEW_METRICS].concat()))
            ["values"]
            .clone()
    };
    same_test(&test, &eval(&SPLIT, "test"), "eval");
    // Python feeds the same rows one at a time into the saved model: the same numbers.
    let xy = retrain_test_rows(tmp.path(), &data);
    same_test(&test, &python_new_metrics(&meta, &xy, 1), "Python");
    // predict classifies the folder one picture a run, as eval does.
    let predicted = json(&ok(&["predict", "--meta", &meta, "--json", "--top-k", "1", &pics]));
    let whole = eval(&ALL, "train");
    assert_eq!(predicted["pictures"], 300);
    assert!(
        (predicted["accuracy"].as_f64().unwrap() - whole["new_eval/accuracy:0"].as_f64().unwrap()).abs() < 1e-6,
        "{predicted} vs {whole}"
    );
    // Exported as a frozen graph, it takes one picture as the original did: Python's logits of
    // it are the trained model's.
    let frozen = tmp.path().join("export.pb");
    ok(&["export", "--meta", &meta, "--input", "input:0", "--logits", "new_outputs/BiasAdd:0", "--frozen", frozen.to_str().unwrap()]);
    let x1 = tmp.path().join("x1.npy").display().to_string();
    python(&format!("import numpy as np\nnp.save('{x1}', np.load('{xy}')['x'][:1])"));
    let (a, b) = (tmp.path().join("ours.npz"), tmp.path().join("py.npz"));
    let feed = format!("input:0={x1}");
    ok(&["run", "--meta", &meta, "--feed", &feed, "--fetch", "new_outputs/BiasAdd:0", "--out", a.to_str().unwrap()]);
    oracle(&["run", "--meta", frozen.to_str().unwrap(), "--feed", &feed, "--fetch", "new_outputs/BiasAdd:0", "--out", b.to_str().unwrap()]);
    let logits = |p: &std::path::Path| tfreuse::data::npy::Npz::open(p).unwrap().get("new_outputs/BiasAdd:0").unwrap();
    assert!(logits(&a) == logits(&b), "the exported graph's logits, in Python, are the trained model's");
}

#[test]
fn a_fixed_batch_nothing_else_pins_is_relaxed_and_a_placeholder_with_default_is_the_input() {
    // retrain_free: the only input is a PlaceholderWithDefault [1, 32, 32, 3] (of zeros), and
    // its bottleneck a Reshape to [-1, 8]: relaxed to any batch, the frozen part runs in the
    // training batches, and the saved model takes any batch.
    let tmp = tempfile::tempdir().unwrap();
    let data = retrain_pictures(tmp.path());
    let (out, log) = (tmp.path().join("out/m.ckpt"), tmp.path().join("log.json"));
    let train = |graph: &str| {
        let t = Train::frozen(&fixture(graph), &data).branch("pool/_reshape:0").layers("10").optimizer("adam").lr("0.1");
        SPLIT.chunks(2).fold(t, |t, kv| t.arg(kv[0], kv[1])).epochs(30).batch(50)
    };
    let o = train("retrain_free/graph.pb").out(&out).json_log(&log).output();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    // Not retrain.py's BottleneckInputPlaceholder, whose default the input computes.
    assert!(err.contains("--input input:0 ("), "{err}");
    assert!(err.contains("relaxed the batch of input:0 (the graph fixed 1)"), "{err}");
    assert_eq!(logged(&log, "setup")["batch"], serde_json::json!({"input": "input:0", "batch": 1, "relaxed": true}));
    assert!(!std::fs::read_to_string(&log).unwrap().contains("frozen_batch"), "runs batched, not a row at a time");
    let test = logged(&log, "test");
    assert!(test["metric"].as_f64().unwrap() > 0.2, "better than chance: {test}");
    // retrain_style has the same weights behind a Reshape to [1, -1], which pins the batch: it
    // trains a row at a time, to the same numbers.
    let (style_log, style_out) = (tmp.path().join("style.json"), tmp.path().join("style/m.ckpt"));
    train("retrain_style/graph.pb").out(&style_out).json_log(&style_log).ok();
    assert_eq!(logged(&style_log, "setup")["batch"], serde_json::json!({"input": "input:0", "batch": 1, "relaxed": false}));
    assert_eq!(logged(&style_log, "frozen_batch")["cached"], false);
    let style_test = untimed(logged(&style_log, "test"));
    assert!((style_test["loss"].as_f64().unwrap() - test["loss"].as_f64().unwrap()).abs() < 1e-5, "{style_test} vs {test}");
    assert_eq!(style_test["metric"], test["metric"], "row at a time vs relaxed");
    // Python evaluates the saved model on all 70 test pictures in one run.
    let meta = format!("{}.meta", out.display());
    let xy = retrain_test_rows(tmp.path(), &data);
    same_test(&test, &python_new_metrics(&meta, &xy, 0), "Python, one batch");
    let inspected = ok(&["inspect", "--meta", &meta]);
    assert!(inspected.contains("[?, 32, 32, 3]"), "{inspected}");
}

#[test]
fn an_input_of_unknown_picture_size_needs_resize_then_trains_a_row_at_a_time() {
    // retrain_anysize: `input` is [1, ?, ?, 3], its bottleneck a Reshape to [1, -1].
    let tmp = tempfile::tempdir().unwrap();
    let data = retrain_pictures(tmp.path());
    let t = Train::frozen(&fixture("retrain_anysize/graph.pb"), &data).branch("pool/_reshape:0").layers("10").optimizer("adam").lr("0.1");
    let t = SPLIT.chunks(2).fold(t, |t, kv| t.arg(kv[0], kv[1])).epochs(10).batch(40);
    let err = t.clone().fails(2);
    assert!(err.contains("has no static picture size; say the picture size with --resize HxW"), "{err}");
    let (out, log) = (tmp.path().join("out/m.ckpt"), tmp.path().join("log.json"));
    // Augmented pictures go through the frozen part inside each step.
    let o = t.arg("--resize", "32x32").arg("--augment", "flip").out(&out).json_log(&log).output();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("input:0 takes batches of exactly 1: each step computes pool/_reshape:0 1 row(s) a run"), "{err}");
    assert_eq!(logged(&log, "setup")["batch"], serde_json::json!({"input": "input:0", "batch": 1, "relaxed": false}));
    assert_eq!(logged(&log, "frozen_batch")["cached"], false);
    let test = logged(&log, "test");
    assert_eq!(test["examples"], 70, "{test}");
    assert!(test["metric"].as_f64().unwrap() > 0.2, "better than chance: {test}");
    // Python, one picture a run, gets training's test numbers from the saved model.
    let meta = format!("{}.meta", out.display());
    let xy = retrain_test_rows(tmp.path(), &data);
    same_test(&test, &python_new_metrics(&meta, &xy, 1), "Python");
}
