//! `tfreuse train` against the book's fixture, Python TF as the judge. Epochs are few.

use crate::common::*;
use std::path::Path;

const SRC: &str = "fixtures/mnist_dnn/my_model_final.ckpt";

fn digest(prefix: &str) -> serde_json::Value {
    json(&oracle(&["digest", "--checkpoint", prefix]))
}

/// A new head on hidden4 with `layers` and `flag value` is refused, saying `says`.
fn head_refuses(layers: &str, flag: &str, value: &str, says: &str) {
    let err = Train::dnn().branch("dnn/hidden4/Relu:0").layers(layers).arg(flag, value).fails(2);
    assert!(err.contains(says), "{err}");
}

fn src() -> String {
    root().join(SRC).to_string_lossy().into_owned()
}

#[test]
fn whole_model_reuse_improves_validation_accuracy() {
    let tmp = tempfile::tempdir().unwrap();
    let before = json(&ok(&["eval", "--meta", &fixture(DNN_META), "--data", &mnist(), "--split", "validation", "--json"]));
    let before = before["values"]["eval/accuracy:0"].as_f64().unwrap();
    let log = tmp.path().join("log.jsonl");
    Train::dnn().out(tmp.path().join("m.ckpt")).epochs(2).json_log(&log).ok();
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log).unwrap().lines().map(json).collect();
    let epochs: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "epoch").collect();
    assert_eq!(epochs.len(), 2);
    let after = epochs[1]["metric"].as_f64().unwrap();
    assert!(after > before, "validation accuracy {before} -> {after}");
    assert!(lines.iter().any(|l| l["event"] == "test"));
}

fn branch_and_check_with_python(branch: &str, layers: &str, optimizer: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("new.ckpt");
    Train::dnn().out(&out).branch(branch).layers(layers).epochs(1).optimizer(optimizer).ok();
    let meta = format!("{}.meta", out.display());
    let ours = tmp.path().join("ours.npz");
    let theirs = tmp.path().join("theirs.npz");
    // tfreuse reads its own save back…
    ok(&[
        "run",
        "--meta",
        &meta,
        "--data",
        &mnist(),
        "--split",
        "test",
        "--fetch",
        "new_outputs/BiasAdd:0",
        "--out",
        ours.to_str().unwrap(),
    ]);
    // …and Python imports the same files, gives the logits, and keeps training.
    let r = json(&oracle(&[
        "saved",
        "--meta",
        &meta,
        "--data",
        &mnist(),
        "--fetch",
        "new_outputs/BiasAdd:0",
        "--loss",
        "new_loss/loss:0",
        "--train-op",
        "new_train/step",
        "--steps",
        "30",
        "--out",
        theirs.to_str().unwrap(),
    ]));
    let mut a = tfreuse::data::npy::Npz::open(&ours).unwrap();
    let mut b = tfreuse::data::npy::Npz::open(&theirs).unwrap();
    let (la, lb) = (a.get("new_outputs/BiasAdd:0").unwrap(), b.get("new_outputs/BiasAdd:0").unwrap());
    assert_eq!(la.shape(), [10000, 10]);
    assert!(la == lb, "logits differ between tfreuse and Python");
    let (before, after) = (r["loss_before"].as_f64().unwrap(), r["loss_after"].as_f64().unwrap());
    if optimizer == "sgd" {
        assert!(after < before, "Python kept training with new_train/step: loss {before} -> {after}");
    } else {
        // Momentum carries its restored velocity; over 30 steps the loss may wobble.
        assert!(after.is_finite() && after < 2.0 * before && after != before, "Python kept training: loss {before} -> {after}");
    }
}

#[test]
fn branch_from_hidden4_python_reads_it_back() {
    branch_and_check_with_python("dnn/hidden4/Relu:0", "20:relu,10", "momentum");
}

#[test]
fn new_hidden4_on_hidden3_like_the_book() {
    branch_and_check_with_python("dnn/hidden3/Relu:0", "50:relu,10", "sgd");
}

#[test]
fn trainable_regex_freezes_everything_else() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("t.ckpt");
    Train::dnn().out(&out).branch("dnn/hidden4/Relu:0").layers("20:relu,10").arg("--trainable", "hidden[34]|new_").epochs(1).ok();
    let (a, b) = (digest(&src()), digest(out.to_str().unwrap()));
    for v in ["hidden1/kernel", "hidden1/bias", "hidden2/kernel", "hidden2/bias", "hidden5/kernel", "outputs/kernel"] {
        assert_eq!(a[v], b[v], "{v} is outside --trainable and must be bit-identical");
    }
    for v in ["hidden3/kernel", "hidden3/bias", "hidden4/kernel", "hidden4/bias"] {
        assert_ne!(a[v], b[v], "{v} is inside --trainable and must change");
    }
    head_refuses("10", "--trainable", "nothing_matches", "matches no variable");
    head_refuses("10", "--trainable", "hidden[3", "invalid regex");
}

#[test]
fn freeze_below_keeps_lower_layers_bit_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("f.ckpt");
    Train::dnn().out(&out).branch("dnn/hidden4/Relu:0").layers("20:relu,10").arg("--freeze-below", "dnn/hidden2/Relu:0").epochs(1).ok();
    let (a, b) = (digest(&src()), digest(out.to_str().unwrap()));
    for v in ["hidden1/kernel", "hidden1/bias", "hidden2/kernel", "hidden2/bias"] {
        assert_eq!(a[v], b[v], "{v} is below the stop_gradient");
    }
    for v in ["hidden3/kernel", "hidden4/kernel"] {
        assert_ne!(a[v], b[v], "{v} is above the cut and must train");
    }
}

#[test]
fn restore_subset_initialises_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("r.ckpt");
    Train::dnn().out(&out).arg("--restore", "hidden[123]").epochs(0).ok();
    let (a, b) = (digest(&src()), digest(out.to_str().unwrap()));
    for v in ["hidden1/kernel", "hidden1/bias", "hidden2/kernel", "hidden3/kernel", "hidden3/bias"] {
        assert_eq!(a[v], b[v], "{v} was restored");
    }
    for v in ["hidden4/kernel", "hidden5/kernel", "outputs/kernel"] {
        assert_ne!(a[v], b[v], "{v} was initialised, not restored");
    }
}

#[test]
fn same_seed_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let t = Train::dnn().branch("dnn/hidden4/Relu:0").layers("20:elu,10").optimizer("adam").lr("0.001").epochs(1).seed(7);
    let (p1, p2) = (tmp.path().join("a/m.ckpt"), tmp.path().join("b/m.ckpt"));
    t.clone().out(&p1).ok();
    t.clone().out(&p2).ok();
    let data = |p: &Path| sha256(&p.with_file_name("m.ckpt.data-00000-of-00001"));
    assert_eq!(data(&p1), data(&p2), "same seed must give byte-identical .data");
}

#[test]
fn in_order_training_is_python_bit_for_bit_with_and_without_jit() {
    // The plain TF1 loop (slices in file order, sess.run([train_op, loss])) and
    // `--no-shuffle` run the same steps: every trained variable must be byte-identical, both
    // with TF's kernels and with XLA compiling the step on each side.
    let tmp = tempfile::tempdir().unwrap();
    let (meta, data) = (fixture(DNN_META), mnist());
    let mut digests = vec![];
    for jit in ["off", "on"] {
        let (ours, theirs) = (tmp.path().join(format!("ours{jit}/m.ckpt")), tmp.path().join(format!("py{jit}/m.ckpt")));
        let t = theirs.to_str().unwrap();
        Train::dnn().out(&ours).epochs(1).flag("--no-shuffle").arg("--jit", jit).ok();
        let mut py = vec!["train", "--meta", &meta, "--data", &data, "--train-op", "GradientDescent", "--loss", "loss/loss:0", "--out", t];
        if jit == "on" {
            py.push("--jit");
        }
        oracle(&py);
        let (a, b) = (digest(ours.to_str().unwrap()), digest(t));
        assert_eq!(a, b, "tfreuse and Python trained differently (jit: {jit})");
        digests.push(a);
    }
    assert_ne!(digests[0], digests[1], "--jit changed nothing: XLA did not compile the step");
    // No flag, one epoch: too short a run for XLA's compile time (`--jit auto`), said so.
    let default = tmp.path().join("default/m.ckpt");
    let err = train_stderr(&Train::dnn().out(&default).epochs(1).flag("--no-shuffle"));
    assert!(err.contains("jit: off (a run of 275 steps"), "{err}");
    assert_eq!(digest(default.to_str().unwrap()), digests[0], "--jit auto chose TF's kernels but trained otherwise than --jit off");
}

#[test]
fn jit_auto_picks_xla_for_long_runs_of_a_models_own_op_only() {
    let tmp = tempfile::tempdir().unwrap();
    let (auto, off) = (tmp.path().join("auto/m.ckpt"), tmp.path().join("off/m.ckpt"));
    let head = Train::dnn().branch("dnn/hidden4/Relu:0").layers("20:relu,10").epochs(1);
    let err = train_stderr(&head.clone().out(&auto));
    assert!(err.contains("jit: off (≈ 308.3 MFLOP/step in a step tfreuse builds"), "{err}");
    head.clone().out(&off).arg("--jit", "off").ok();
    assert_eq!(digest(auto.to_str().unwrap()), digest(off.to_str().unwrap()), "auto said off but trained otherwise than --jit off");
    let err = train_stderr(&Train::tiny().epochs(1).batch(16).out(tmp.path().join("tiny/m.ckpt")));
    assert!(err.contains("jit: off (≈ 0.") && err.contains("too small for XLA"), "{err}");
    // The model's own training op over a long run (5 500 steps of 10): XLA, as `--jit on` trains.
    let long = Train::dnn().epochs(1).batch(10).flag("--no-shuffle");
    let (auto, on) = (tmp.path().join("long/m.ckpt"), tmp.path().join("on/m.ckpt"));
    let err = train_stderr(&long.clone().out(&auto));
    assert!(err.contains("jit: on (the model's own training op, ≈ 16 MFLOP/step over 5500 steps"), "{err}");
    long.clone().out(&on).arg("--jit", "on").ok();
    assert_eq!(digest(auto.to_str().unwrap()), digest(on.to_str().unwrap()), "auto said on but trained otherwise than --jit on");
    // A bare --jit is on.
    let err = train_stderr(&Train::tiny().epochs(1).batch(16).flag("--jit").out(tmp.path().join("bare/m.ckpt")));
    assert!(err.contains("jit: on (--jit on"), "{err}");
    let bad = tfreuse(&["train", "--meta", &fixture(DNN_META), "--jit", "maybe"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected on, off or auto"));
}

#[test]
fn tiny_clip_bounds_every_update() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("c.ckpt");
    // One step (batch = whole tiny set): no element may move more than lr * clip.
    Train::tiny().branch("dnn/outputs/BiasAdd:0").arg("--clip", "0.001").lr("0.5").epochs(1).batch(64).out(&out).ok();
    let src = root().join("fixtures/tiny/tiny.ckpt");
    let d = json(&oracle(&["maxdiff", src.to_str().unwrap(), out.to_str().unwrap()]));
    let mut moved = 0.0f64;
    for (k, v) in d.as_object().unwrap() {
        let v = v.as_f64().unwrap();
        assert!(v <= 0.5 * 0.001 * (1.0 + 1e-4), "{k} moved by {v} > lr * clip");
        moved = moved.max(v);
    }
    assert!(moved > 0.0, "something must have trained");
}

#[test]
fn refuses_to_overwrite_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o.ckpt");
    Train::dnn().out(&out).epochs(0).ok();
    let err = Train::dnn().epochs(0).out(&out).fails(2);
    assert!(err.contains("--force"), "{err}");
    Train::dnn().epochs(0).out(&out).force().ok();
    let err = Train::dnn().epochs(0).out(src()).force().fails(2);
    assert!(err.contains("source checkpoint"), "{err}");
    // The same file by another spelling.
    let other = root().join("fixtures/mnist_dnn/../mnist_dnn/./my_model_final.ckpt");
    let err = Train::dnn().epochs(0).out(&other).force().fails(2);
    assert!(err.contains("source checkpoint"), "{err}");
    let err = Train::dnn().branch("dnn/hidden4/Relu:0").layers("20:relu,7").fails(2);
    assert!(err.contains("10 classes"), "{err}");
    let err = Train::dnn().branch("loss/loss:0").layers("10").fails(2);
    assert!(err.contains("needs [batch, width]"), "{err}");
}

fn epochs_of(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log).unwrap().lines().map(json).filter(|l| l["event"] == "epoch").collect()
}

#[test]
fn cached_and_uncached_training_agree() {
    let tmp = tempfile::tempdir().unwrap();
    for ((freeze_flag, freeze_value), expect_cut) in
        [(("--freeze-below", "dnn/hidden2/Relu:0"), "new_stop_gradient:0"), (("--trainable", "hidden3|new_"), "dnn/hidden2/Relu:0")]
    {
        let mut runs = Vec::new();
        for cache in [false, true] {
            let dir = tmp.path().join(format!("{}-{cache}", expect_cut.replace('/', "_")));
            let log = dir.with_extension("jsonl");
            // The same batches on both sides: TF's MatMul may round a row differently in
            // another batch, so shuffled runs agree only to rounding (see the next test).
            let mut t = Train::dnn()
                .out(dir.join("m.ckpt"))
                .branch("dnn/hidden3/Relu:0")
                .layers("20:relu,10")
                .epochs(2)
                .flag("--no-shuffle")
                .json_log(&log)
                .arg(freeze_flag, freeze_value);
            if cache {
                t = t.flag("--cache-frozen");
            }
            let o = train_stderr(&t);
            if cache {
                assert!(o.contains(&format!("cached {expect_cut}")), "{o}");
            } else {
                assert!(o.contains(&format!("hint: nothing below {expect_cut} trains")), "{o}");
            }
            runs.push((sha256(&dir.join("m.ckpt.data-00000-of-00001")), epochs_of(&log)));
        }
        assert_eq!(runs[0].0, runs[1].0, "cached training must give the same weights");
        let metrics = |r: &Vec<serde_json::Value>| r.iter().map(|e| (e["metric"].clone(), e["train_loss"].clone())).collect::<Vec<_>>();
        assert_eq!(metrics(&runs[0].1), metrics(&runs[1].1), "same per-epoch accuracy and loss");
    }
}

#[test]
fn shuffled_cached_training_agrees_to_rounding() {
    let tmp = tempfile::tempdir().unwrap();
    let mut runs = Vec::new();
    for cache in [false, true] {
        let log = tmp.path().join(format!("{cache}.jsonl"));
        let mut t = Train::dnn()
            .out(tmp.path().join(format!("{cache}/m.ckpt")))
            .branch("dnn/hidden3/Relu:0")
            .layers("20:relu,10")
            .arg("--freeze-below", "dnn/hidden2/Relu:0")
            .epochs(1)
            .json_log(&log);
        if cache {
            t = t.flag("--cache-frozen");
        }
        train_stderr(&t);
        runs.push(epochs_of(&log));
    }
    for key in ["metric", "train_loss"] {
        let (a, b) = (runs[0][0][key].as_f64().unwrap(), runs[1][0][key].as_f64().unwrap());
        assert!((a - b).abs() < 5e-3, "{key}: uncached {a} vs cached {b}");
    }
}

#[test]
fn cache_limit_and_no_cut_are_clear_errors() {
    let err = Train::dnn()
        .branch("dnn/hidden4/Relu:0")
        .layers("10")
        .arg("--freeze-below", "dnn/hidden1/Relu:0")
        .flag("--cache-frozen")
        .arg("--cache-max-mb", "1")
        .epochs(1)
        .fails(2);
    assert!(err.contains("--cache-max-mb"), "{err}");
    // Caching with every layer trainable (bare --cache-frozen freezes below the branch instead).
    let err = Train::dnn().branch("dnn/hidden4/Relu:0").layers("10").arg("--trainable", ".").flag("--cache-frozen").epochs(1).fails(2);
    assert!(err.contains("no single frozen tensor"), "{err}");
}

/// Run `t`, assert success, return stderr.
fn train_stderr(t: &Train) -> String {
    let r = t.output();
    let err = String::from_utf8_lossy(&r.stderr).into_owned();
    assert!(r.status.success(), "{err}");
    err
}

#[test]
fn device_placement_falls_back_softly() {
    // No GPU here: soft placement must put /gpu:0 ops on the CPU, with the same result.
    let tmp = tempfile::tempdir().unwrap();
    let mut digests = Vec::new();
    for dev in [None, Some("/cpu:0"), Some("/gpu:0")] {
        let out = tmp.path().join(format!("{}/m.ckpt", dev.unwrap_or("none").replace([':', '/'], "_")));
        let mut t = Train::tiny().branch("dnn/hidden1/Relu:0").layers("2").epochs(2).batch(16).out(&out);
        if let Some(d) = dev {
            t = t.arg("--device", d);
        }
        t.ok();
        digests.push(sha256(&out.with_file_name("m.ckpt.data-00000-of-00001")));
    }
    assert!(digests.windows(2).all(|w| w[0] == w[1]), "{digests:?}");
}

#[test]
fn patience_stops_early_and_keeps_the_best_epochs_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, out) = (tmp.path().join("log.jsonl"), tmp.path().join("best.ckpt"));
    // A large learning rate makes the validation accuracy go up and down.
    let run = Train::dnn().branch("dnn/hidden4/Relu:0").layers("10").epochs(8).arg("--lr", "0.3").arg("--patience", "1");
    let run = run.flag("--eval-test-every-epoch");
    let done = run.json_log(&log).out(&out).output();
    let stderr = String::from_utf8_lossy(&done.stderr).into_owned();
    assert!(done.status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log).unwrap().lines().map(json).collect();
    let metrics: Vec<f64> = lines.iter().filter(|l| l["event"] == "epoch").map(|l| l["metric"].as_f64().unwrap()).collect();
    assert!(lines.iter().filter(|l| l["event"] == "epoch").all(|l| l["validation_loss"].as_f64().is_some()), "validation loss every epoch");
    let best = lines.iter().find(|l| l["event"] == "best").unwrap_or_else(|| panic!("no best event: {stderr}"));
    let epoch = best["epoch"].as_u64().unwrap() as usize;
    // The best is the first epoch with the highest metric, and training stopped one epoch after
    // it (patience 1) or at the last epoch.
    let top = metrics.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(epoch, metrics.iter().position(|&m| m == top).unwrap() + 1, "{metrics:?}");
    assert!(metrics.len() == (epoch + 1).min(8), "{} epochs run, best {epoch}: {metrics:?}", metrics.len());
    assert_eq!(best["restored"], epoch != metrics.len(), "{best}");
    assert_eq!(best["stopped_early"], metrics.len() < 8, "{best}");
    assert!(metrics.len() < 8, "this learning rate should make the accuracy drop once in 8 epochs: {metrics:?}");
    // The saved model is the best epoch's: Python measures its validation accuracy.
    let meta = format!("{}.meta", out.display());
    let py = json(&oracle(&["eval", "--meta", &meta, "--data", &mnist(), "--split", "validation", "--fetch", "new_eval/accuracy:0"]));
    let got = py["new_eval/accuracy:0"].as_f64().unwrap();
    assert!((got - metrics[epoch - 1]).abs() < 1e-6, "Python {got} vs best epoch {}", metrics[epoch - 1]);
    assert!(stderr.contains(&format!("best epoch {epoch}:")), "{stderr}");
    // --eval-test-every-epoch: test results after each epoch; the final test is the best epoch's.
    let tests: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "epoch_test").collect();
    assert_eq!(tests.len(), metrics.len(), "a test result per epoch");
    let last = lines.iter().find(|l| l["event"] == "test").unwrap();
    assert_eq!(tests[epoch - 1]["metric"], last["metric"], "the best epoch's weights are what the final test saw");
    assert_eq!(tests[epoch - 1]["loss"], last["loss"]);
    // Nothing to watch: the tiny data set has no validation split.
    let err = Train::tiny().batch(8).arg("--patience", "2").fails(2);
    assert!(err.contains("--patience") && err.contains("needs a validation split"), "{err}");
}

#[test]
fn few_labels_keep_some_classes_and_n_per_class_drawn_by_the_seed() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |seed: &str, name: &str| {
        let (log, out) = (tmp.path().join(format!("{name}.jsonl")), tmp.path().join(format!("{name}.ckpt")));
        let t = Train::dnn().branch("dnn/hidden4/Relu:0").layers("5").epochs(1).batch(10).json_log(&log).out(&out);
        let done = t.arg("--classes", "5,6,7,8,9").arg("--per-class", "10").arg("--seed", seed).output();
        let stderr = String::from_utf8_lossy(&done.stderr).into_owned();
        assert!(done.status.success(), "{stderr}");
        let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log).unwrap().lines().map(json).collect();
        (stderr, lines, digest(out.to_str().unwrap()))
    };
    let (said, lines, a) = run("1", "a");
    assert!(said.contains("classes kept and renumbered: 5→0, 6→1, 7→2, 8→3, 9→4"), "{said}");
    assert!(said.contains("--per-class 10: training on 50 examples (5 classes, seed 1)"), "{said}");
    let epoch = lines.iter().find(|l| l["event"] == "epoch").unwrap();
    assert_eq!(epoch["examples"], 50);
    // MNIST's test split holds 4861 images of the digits 5–9.
    assert_eq!(lines.iter().find(|l| l["event"] == "test").unwrap()["examples"], 4861);
    let (_, _, again) = run("1", "b");
    let (_, _, other) = run("2", "c");
    assert_eq!(a, again, "the same seed draws the same examples");
    assert_ne!(a, other, "another seed draws others");
    head_refuses("5", "--classes", "5,6,7,8,10", "--classes: 10 is not a class");
    head_refuses("10", "--per-class", "6000", "--per-class 6000: class 0 has only 5444 training examples");
}

#[test]
fn init_chooses_how_new_kernels_start() {
    let tmp = tempfile::tempdir().unwrap();
    // On hidden4 (50 wide), a 100-unit layer: fan_in 50, fan_out 100, 5000 weights.
    for (init, std, bound) in
        [("glorot", 0.2 / 3f64.sqrt(), 0.2), ("he", 0.2, 2.0 * 0.2 / 0.8796), ("lecun", 0.02f64.sqrt(), 2.0 * 0.02f64.sqrt() / 0.8796)]
    {
        let out = tmp.path().join(format!("{init}.ckpt"));
        Train::dnn().branch("dnn/hidden4/Relu:0").layers("100:elu,10").epochs(0).arg("--init", init).out(&out).ok();
        let stats = json(&oracle(&["stats", "--checkpoint", out.to_str().unwrap()]));
        let k = &stats["new_hidden1/kernel"];
        let (got, max, mean) = (k["std"].as_f64().unwrap(), k["maxabs"].as_f64().unwrap(), k["mean"].as_f64().unwrap());
        assert!((got / std - 1.0).abs() < 0.05, "{init}: std {got}, expected {std}");
        assert!(max <= bound * 1.0001 && max > bound * 0.8, "{init}: largest {max}, bound {bound}");
        assert!(mean.abs() < 0.01, "{init}: mean {mean}");
        assert_eq!(stats["new_hidden1/bias"]["maxabs"], 0.0, "biases start at zero");
    }
}

#[test]
fn l2_adds_the_books_penalty_on_new_kernels_to_the_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let (log, out) = (tmp.path().join("log.jsonl"), tmp.path().join("l2.ckpt"));
    let stderr =
        Train::dnn().branch("dnn/hidden4/Relu:0").layers("30:elu,10").epochs(1).arg("--l2", "0.05").json_log(&log).out(&out).output();
    assert!(stderr.status.success(), "{}", String::from_utf8_lossy(&stderr.stderr));
    let meta = format!("{}.meta", out.display());
    let py = json(&oracle(&[
        "eval",
        "--meta",
        &meta,
        "--data",
        &mnist(),
        "--split",
        "test",
        "--fetch",
        "new_loss/total:0",
        "--fetch",
        "new_loss/loss:0",
    ]));
    let (total, base) = (py["new_loss/total:0"].as_f64().unwrap(), py["new_loss/loss:0"].as_f64().unwrap());
    let stats = json(&oracle(&["stats", "--checkpoint", out.to_str().unwrap()]));
    let squares: f64 = ["new_hidden1/kernel", "new_outputs/kernel"]
        .iter()
        .map(|k| {
            let s = &stats[*k];
            let (std, mean, n) = (s["std"].as_f64().unwrap(), s["mean"].as_f64().unwrap(), s["size"].as_f64().unwrap());
            n * (std * std + mean * mean)
        })
        .sum();
    let penalty = 0.05 / 2.0 * squares;
    assert!(((total - base) / penalty - 1.0).abs() < 1e-4, "Python: {total} - {base} vs λ·Σk²/2 = {penalty}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log).unwrap().lines().map(json).collect();
    let test = lines.iter().find(|l| l["event"] == "test").unwrap()["loss"].as_f64().unwrap();
    assert!((test - total).abs() < 1e-5 * total, "the reported loss includes the penalty: {test} vs Python {total}");
    let err = Train::dnn().arg("--l2", "0.1").fails(2);
    assert!(err.contains("--l2 penalizes the new layers"), "{err}");
}

#[test]
fn prune_saves_only_what_the_new_output_needs() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, log) = (tmp.path().join("pruned.ckpt"), tmp.path().join("log.jsonl"));
    let run = Train::dnn().branch("dnn/hidden2/Relu:0").layers("10").optimizer("momentum").epochs(1).flag("--prune");
    run.json_log(&log).out(&out).ok();
    let vars = json(&oracle(&["variables", "--checkpoint", out.to_str().unwrap()]));
    let mut names: Vec<&str> = vars.as_object().unwrap().keys().map(String::as_str).collect();
    names.sort();
    let mut expected = vec![];
    for v in ["hidden1/kernel", "hidden1/bias", "hidden2/kernel", "hidden2/bias", "new_outputs/kernel", "new_outputs/bias"] {
        expected.push(v.to_string());
        expected.push(format!("{v}/Momentum"));
    }
    expected.sort();
    assert_eq!(names, expected, "hidden3-5, the old outputs and their slots are left out");
    // Python imports the pruned model, measures what tfreuse measured, and trains it.
    let meta = format!("{}.meta", out.display());
    let py = json(&oracle(&["eval", "--meta", &meta, "--data", &mnist(), "--fetch", "new_eval/accuracy:0"]));
    let test = std::fs::read_to_string(&log).unwrap().lines().map(json).find(|e| e["event"] == "test").unwrap();
    assert_eq!(py["new_eval/accuracy:0"].as_f64().unwrap() as f32, test["metric"].as_f64().unwrap() as f32);
    let again = tmp.path().join("python.ckpt");
    let args = ["train", "--meta", &meta, "--data", &mnist(), "--train-op", "new_train/step", "--loss", "new_loss/loss:0"];
    oracle(&[&args[..], &["--out", again.to_str().unwrap()]].concat());
}

/// tfreuse with `TF_ENABLE_ONEDNN_OPTS` unset, as a user's shell has it: (success, stderr).
fn unset_onednn(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tfreuse")).args(args).env_remove("TF_ENABLE_ONEDNN_OPTS").output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn onednn_is_chosen_by_the_graph_unless_someone_chose() {
    let tmp = tempfile::tempdir().unwrap();
    let (auto, off) = (tmp.path().join("auto/m.ckpt"), tmp.path().join("off/m.ckpt"));
    let tiny = Train::tiny().epochs(1).batch(16);
    // Dense layers, some frozen: off, and the same bytes as asking for off.
    let frozen = tiny.clone().arg("--trainable", "hidden1");
    let (ok, err) = unset_onednn(&strs(&frozen.clone().out(&auto).args()));
    assert!(ok && err.contains("oneDNN: off (no convolution in the graph, and frozen layers"), "{err}");
    let (ok, err) = unset_onednn(&strs(&frozen.flag("--onednn=off").out(&off).args()));
    assert!(ok && !err.contains("oneDNN:"), "an explicit choice is not overridden: {err}");
    let data = |p: &Path| std::fs::read(format!("{}.data-00000-of-00001", p.display())).unwrap();
    assert_eq!(data(&auto), data(&off));
    // Trained whole, by the model's own op or by a step tfreuse builds: on.
    for (name, t) in [("own", tiny.clone()), ("sgd", tiny.clone().arg("--optimizer", "sgd"))] {
        let (ok, err) = unset_onednn(&strs(&t.out(tmp.path().join(format!("{name}/m.ckpt"))).args()));
        assert!(ok && err.contains("oneDNN: on (dense layers trained whole"), "{name}: {err}");
    }
    // A graph with convolutions: on.
    let meta = fixture("conv_bn/convnet.ckpt.meta");
    let conv = Train::new(&meta, &mnist()).arg("--input", "inputs/pixels:0").arg("--labels", "inputs/labels:0");
    let conv = conv.arg("--loss", "metrics/xent:0").arg("--metric", "metrics/acc:0").epochs(0);
    let (ok, err) = unset_onednn(&strs(&conv.args()));
    assert!(ok && err.contains("oneDNN: on (the graph has convolutions (Conv2D)"), "{err}");
    // The environment's setting wins (the test harness sets it).
    assert!(!String::from_utf8_lossy(&tfreuse(&strs(&conv.args())).stderr).contains("oneDNN:"));
}

#[test]
fn the_book_mlp_with_nothing_chosen_trains_as_python_with_the_same_kernels() {
    // No flag and no TF_ENABLE_ONEDNN_OPTS: oneDNN on (the model's own op), so no XLA even
    // over a long run (4 231 steps of 13). Python with oneDNN on must train the same bytes.
    let tmp = tempfile::tempdir().unwrap();
    let (meta, data) = (fixture(DNN_META), mnist());
    let (ours, py) = (tmp.path().join("ours/m.ckpt"), tmp.path().join("py/m.ckpt"));
    let (ok, err) = unset_onednn(&strs(&Train::dnn().epochs(1).batch(13).flag("--no-shuffle").out(&ours).args()));
    assert!(ok && err.contains("oneDNN: on (dense layers trained whole") && err.contains("jit: off (oneDNN is on"), "{err}");
    let p = py.to_str().unwrap();
    let args = ["train", "--meta", &meta, "--data", &data, "--train-op", "GradientDescent", "--loss", "loss/loss:0", "--batch-size", "13"];
    oracle_with_onednn(&[&args[..], &["--out", p]].concat(), "1");
    assert_eq!(digest(ours.to_str().unwrap()), digest(p), "oneDNN on: tfreuse and Python trained differently");
}

/// `tfreuse train` with no tuning flag: Adam at 1e-3 for a new head, a batch that fits the
/// split, early stopping on validation; a model's own op keeps its optimizer; no validation
/// split means a fixed count; `--defaults book` and given flags choose nothing.
#[test]
fn defaults_fit_the_data_and_say_so() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("log.jsonl");
    let (meta, data, logs) = (fixture(DNN_META), mnist(), log.to_str().unwrap());
    let few = ["train", "--meta", &meta, "--data", &data, "--classes", "5,6,7,8,9", "--per-class", "40"];
    let head = ["--branch-from", "dnn/hidden4/Relu:0", "--new-layers", "5", "--cache-frozen", "--json", logs];
    let out = tfreuse(&[&few[..], &head[..]].concat());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("defaults: adam 0.001, batch 32, up to 100 epochs, early stopping after 5 without improvement"), "{err}");
    let events: Vec<serde_json::Value> = std::fs::read_to_string(&log).unwrap().lines().map(json).collect();
    let epochs = events.iter().filter(|e| e["event"] == "epoch").count();
    assert!(epochs < 100 && events.iter().any(|e| e["event"] == "best"), "stopped early after {epochs} epochs");
    // The model's own training op: no optimizer chosen; the tiny .npz has no validation split.
    let (tiny, tiny_data) = (fixture(TINY_META), tiny_data());
    let own = tfreuse(&["train", "--meta", &tiny, "--data", &tiny_data]);
    let err = String::from_utf8_lossy(&own.stderr);
    assert!(
        own.status.success() && err.contains("defaults: batch 32, 20 epochs, no early stopping (no validation split to watch)"),
        "{err}"
    );
    // A split smaller than 32 is one batch.
    let few = tfreuse(&["train", "--meta", &tiny, "--data", &tiny_data, "--per-class", "5", "--epochs", "1"]);
    let err = String::from_utf8_lossy(&few.stderr);
    assert!(few.status.success() && err.contains("defaults: batch 10, no early stopping"), "{err}");
    for given in [&["--defaults", "book", "--batch-size", "8"][..], &["--batch-size", "8", "--epochs", "2", "--patience", "0"]] {
        let out = tfreuse(&[&["train", "--meta", &tiny, "--data", &tiny_data][..], given].concat());
        assert!(out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("defaults:"), "{given:?}");
    }
}

/// No data set by default: training without `--data` names the flag; `inspect --draw` draws
/// from the graph alone.
#[test]
fn no_default_data_set_and_drawing_needs_none() {
    let tmp = tempfile::tempdir().unwrap();
    let meta = fixture(DNN_META);
    for cmd in [&["train", "--meta", &meta][..], &["new", "--layers", "10"], &["sweep", "--meta", &meta]] {
        let err = fails(cmd, 2);
        assert!(err.contains("--data: missing: name the data set to train on"), "{cmd:?}: {err}");
    }
    let svg = tmp.path().join("plan.svg");
    let draw = ["inspect", "--meta", &meta, "--branch-from", "dnn/hidden4/Relu:0", "--new-layers", "10", "--draw", svg.to_str().unwrap()];
    ok(&draw);
    assert!(std::fs::read_to_string(&svg).unwrap().contains("new_outputs"));
}
