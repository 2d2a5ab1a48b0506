//! Kinds of TF1 model beyond a `.meta` + V2 checkpoint: frozen GraphDefs (`--graph`, binary
//! and text), V1 checkpoints, resource variables, heads on feature maps, layouts found in the
//! wild — each against Python TF.

use crate::common::*;

const FROZEN: &str = "tiny_frozen/tiny.pb";
const FROZEN_TEXT: &str = "tiny_frozen/tiny.pbtxt";
const LOGITS: &str = "dnn/outputs/BiasAdd:0";

/// `fetch` from `tfreuse run MODEL_ARGS` on tiny's data, by name.
fn run_ours(model: &[&str], fetch: &[&str], out: &std::path::Path) -> Vec<tfreuse::tf::tensors::DynArray> {
    let fetches: Vec<&str> = fetch.iter().flat_map(|f| ["--fetch", f]).collect();
    let args = ["run", "--data", &tiny_data(), "--split", "all", "--out", out.to_str().unwrap()];
    ok(&[&args[..], model, &fetches].concat());
    let mut npz = tfreuse::data::npy::Npz::open(out).unwrap();
    fetch.iter().map(|f| npz.get(f).unwrap()).collect()
}

/// `fetch` from Python's session on `model` (.meta, SavedModel dir or frozen .pb/.pbtxt), fed `x`.
fn run_python(model: &str, x: &std::path::Path, fetch: &[&str], out: &std::path::Path) -> Vec<tfreuse::tf::tensors::DynArray> {
    let fetches: Vec<&str> = fetch.iter().flat_map(|f| ["--fetch", f]).collect();
    let feed = format!("X:0={}", x.display());
    oracle(&[&["run", "--meta", model, "--feed", &feed, "--out", out.to_str().unwrap()][..], &fetches].concat());
    let mut npz = tfreuse::data::npy::Npz::open(out).unwrap();
    fetch.iter().map(|f| npz.get(f).unwrap()).collect()
}

#[test]
fn a_frozen_graph_runs_as_the_model_it_was_frozen_from() {
    let tmp = tempfile::tempdir().unwrap();
    let inspect = ok(&["inspect", "--graph", &fixture(FROZEN)]);
    assert!(inspect.contains("a frozen GraphDef") && inspect.contains("variables: 0"), "{inspect}");
    // Python on the unfrozen tiny model, fed the same rows: the same logits, bit for bit.
    let x = tiny_x_npy(tmp.path());
    let py = tmp.path().join("py.npz");
    let feed = format!("X:0={}", x.display());
    oracle(&["run", "--meta", &fixture("tiny/tiny.ckpt.meta"), "--feed", &feed, "--fetch", LOGITS, "--out", py.to_str().unwrap()]);
    let theirs = tfreuse::data::npy::Npz::open(&py).unwrap().get(LOGITS).unwrap();
    for f in [FROZEN, FROZEN_TEXT] {
        let out = tmp.path().join(format!("{}.npz", f.replace('/', "_")));
        ok(&["run", "--graph", &fixture(f), "--data", &tiny_data(), "--split", "all", "--fetch", LOGITS, "--out", out.to_str().unwrap()]);
        let ours = tfreuse::data::npy::Npz::open(&out).unwrap().get(LOGITS).unwrap();
        assert!(ours == theirs, "{f}: the logits of the model it was frozen from");
    }
}

#[test]
fn a_frozen_graph_is_a_feature_extractor_for_a_new_head() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("cached/m.ckpt"), tmp.path().join("text/m.ckpt"));
    let t = |graph: &str| Train::frozen(&fixture(graph), &tiny_data()).branch("dnn/hidden1/Relu:0").layers("2").batch(16).epochs(3);
    let log = t(FROZEN).flag("--cache-frozen").flag("--no-shuffle").out(&a).output();
    let err = String::from_utf8_lossy(&log.stderr);
    assert!(log.status.success() && err.contains("cached new_stop_gradient:0") && err.contains("labels from new_labels:0"), "{err}");
    t(FROZEN_TEXT).flag("--no-shuffle").out(&b).ok();
    assert_eq!(digest(&a), digest(&b), "cached from .pb = uncached from .pbtxt");
    // Python imports the saved .meta (frozen graph + new head) and restores it: the same numbers.
    let saved = format!("{}.meta", a.display());
    let args = ["--meta", &saved, "--data", &tiny_data(), "--split", "all", "--labels", "new_labels:0"];
    let fetch = ["--fetch", "new_eval/accuracy:0", "--fetch", "new_loss/loss:0"];
    for (k, a, b) in eval_both(&[&args[..], &fetch].concat(), &[]) {
        assert_eq!(a, b, "{k}");
    }
    // Nothing to train without a new head, and no checkpoint to take.
    let err = fails(&["train", "--graph", &fixture(FROZEN), "--data", &tiny_data(), "--batch-size", "16"], 2);
    assert!(err.contains("--branch-from: missing: a frozen graph has no variables to train"), "{err}");
    let out = tfreuse(&["eval", "--graph", &fixture(FROZEN), "--checkpoint", "x", "--data", &tiny_data()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.code() == Some(2) && err.contains("'--graph <FILE>' cannot be used with '--checkpoint"), "{err}");
}

#[test]
fn a_v1_checkpoint_restores_and_trains() {
    // One tiny.ckpt file, no .index: every command looked for the .index and failed.
    let meta = fixture("tiny_v1/tiny.ckpt.meta");
    let inspect = ok(&["inspect", "--meta", &meta]);
    assert!(inspect.contains("saver: V1") && inspect.contains("restorable variables: 4"), "{inspect}");
    let eval = ["--meta", &meta, "--data", &tiny_data(), "--split", "all", "--fetch", "loss/loss:0", "--fetch", "eval/accuracy:0"];
    for (k, a, b) in eval_both(&eval, &[]) {
        assert_eq!(a, b, "{k}");
    }
    // Training from it (a new V2 checkpoint out) is Python's loop restored from the V1 file.
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("ours/m.ckpt"), tmp.path().join("py/m.ckpt"));
    Train::new(&meta, &tiny_data()).batch(16).epochs(2).flag("--no-shuffle").out(&a).ok();
    let py = ["train", "--meta", &meta, "--data", &tiny_data(), "--split", "all", "--train-op", "GradientDescent", "--loss", "loss/loss:0"];
    oracle(&[&py[..], &["--batch-size", "16", "--epochs", "2", "--out", b.to_str().unwrap()]].concat());
    assert_eq!(digest(&a), digest(&b));
    assert!(a.with_extension("ckpt.index").is_file(), "tfreuse writes V2");
}

#[test]
fn a_checkpoint_with_an_empty_basename_in_a_moved_directory() {
    // Python's saver.save(sess, "d/") writes d/.index, d/.meta … and a state file naming
    // "<abs>/d/"; moved elsewhere, Python's latest_checkpoint fails. tfreuse does not.
    let tmp = tempfile::tempdir().unwrap();
    let written = tmp.path().join("d");
    oracle(&["resave", "--meta", &fixture("tiny/tiny.ckpt.meta"), "--out", &format!("{}/", written.display())]);
    let moved = tmp.path().join("elsewhere");
    std::fs::rename(&written, &moved).unwrap();
    let meta = moved.join(".meta");
    let eval = ["eval", "--json", "--meta", meta.to_str().unwrap(), "--data", &tiny_data(), "--split", "all"];
    let tiny = json(&ok(&["eval", "--json", "--meta", &fixture("tiny/tiny.ckpt.meta"), "--data", &tiny_data(), "--split", "all"]));
    let own = json(&ok(&eval));
    assert_eq!(own["values"], tiny["values"]);
    let out = tfreuse(&[&eval[..], &["--checkpoint", moved.to_str().unwrap()]].concat());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.contains("does not exist; using"), "{err}");
    assert_eq!(json(&String::from_utf8_lossy(&out.stdout))["values"], tiny["values"]);
}

#[test]
fn heads_on_feature_maps_flatten_pool_and_drop_out_in_training_only() {
    // An image input [?, 2, 2, 1] stands for a conv feature map.
    let tmp = tempfile::tempdir().unwrap();
    let meta = small_model(tmp.path(), &["--image", "--features", "4", "--classes", "2"]);
    let err = Train::new(&meta, &tiny_data()).branch("X:0").layers("2").batch(16).fails(2);
    assert!(
        err.contains("layer 1 (dense: needs [batch, width]; put flatten or gap before it) gets a tensor of shape [?, 2, 2, 1]"),
        "{err}"
    );
    for (name, layers) in [("flatten", "flatten,3:relu,2"), ("gap", "gap,3:relu,dropout:0.5,2")] {
        let out = tmp.path().join(format!("{name}/m.ckpt"));
        Train::new(&meta, &tiny_data()).branch("X:0").layers(layers).batch(16).epochs(2).out(&out).ok();
        // Python imports the saved model: the same numbers (dropout off: its flag defaults to false).
        let saved = format!("{}.meta", out.display());
        let eval =
            ["--meta", &saved, "--data", &tiny_data(), "--split", "all", "--fetch", "new_loss/loss:0", "--fetch", "new_eval/accuracy:0"];
        for (k, a, b) in eval_both(&eval, &[]) {
            assert_eq!(a, b, "{name}: {k}");
        }
        if name == "gap" {
            // Outside training the dropout layer passes its input through unchanged…
            let npz = tmp.path().join("drop.npz");
            let fetch = ["--fetch", "new_hidden2/Relu:0", "--fetch", "new_dropout3/mul:0", "--out", npz.to_str().unwrap()];
            ok(&[&["run", "--meta", &saved, "--data", &tiny_data(), "--split", "all"][..], &fetch].concat());
            let mut z = tfreuse::data::npy::Npz::open(&npz).unwrap();
            assert!(z.get("new_hidden2/Relu:0").unwrap() == z.get("new_dropout3/mul:0").unwrap());
            // …and in training steps drops, as Python's loop feeding new_training=True does.
            let (a, b) = (tmp.path().join("again/m.ckpt"), tmp.path().join("py/m.ckpt"));
            let own = ["--train-op", "new_train/step", "--loss", "new_loss/loss:0"];
            let warned = Train::new(&saved, &tiny_data()).arg(own[0], own[1]).arg(own[2], own[3]).batch(16).epochs(1).output();
            let err = String::from_utf8_lossy(&warned.stderr);
            assert!(err.contains("new_training:0 looks like a training flag"), "{err}");
            Train::new(&saved, &tiny_data())
                .arg(own[0], own[1])
                .arg(own[2], own[3])
                .arg("--training-flag", "new_training:0")
                .batch(16)
                .epochs(1)
                .flag("--no-shuffle")
                .out(&a)
                .ok();
            let py = ["train", "--meta", &saved, "--data", &tiny_data(), "--split", "all", "--flag", "new_training:0"];
            oracle(&[&py[..], &own, &["--batch-size", "16", "--out", b.to_str().unwrap()]].concat());
            assert_eq!(digest(&a), digest(&b));
        }
    }
}

#[test]
fn resource_variables_restore_train_and_save() {
    // use_resource=True (VarHandleOp / ReadVariableOp): every train form refused them.
    let tmp = tempfile::tempdir().unwrap();
    let meta = small_model(tmp.path(), &["--resource", "--features", "4", "--classes", "2"]);
    let eval = ["--meta", &meta, "--data", &tiny_data(), "--split", "all", "--fetch", "loss:0", "--fetch", "accuracy:0"];
    for (k, a, b) in eval_both(&eval, &[]) {
        assert_eq!(a, b, "{k}");
    }
    // Its own train op (ResourceApplyGradientDescent), as Python's loop runs it.
    let py = tmp.path().join("py/m.ckpt");
    let args = ["train", "--meta", &meta, "--data", &tiny_data(), "--split", "all", "--train-op", "GradientDescent", "--loss", "loss:0"];
    oracle(&[&args[..], &["--batch-size", "16", "--epochs", "2", "--out", py.to_str().unwrap()]].concat());
    let imported = tmp.path().join("imported/m.ckpt");
    Train::new(&meta, &tiny_data()).arg("--loss", "loss:0").batch(16).epochs(2).flag("--no-shuffle").out(&imported).ok();
    assert_eq!(digest(&imported), digest(&py));
    // tfreuse's own gradients through the variables' reads: a new loss on the logits, SGD at
    // Python's rate, gives Python's bytes too.
    let own = tmp.path().join("own/m.ckpt");
    Train::new(&meta, &tiny_data()).branch("outputs/logits:0").lr("0.1").batch(16).epochs(2).flag("--no-shuffle").out(&own).ok();
    assert_eq!(digest(&own), digest(&py));
    // Frozen below new (ref) layers, cached; Python reads the mixed model back.
    let mixed = tmp.path().join("mixed/m.ckpt");
    let t = Train::new(&meta, &tiny_data()).branch("hidden1/Relu:0").layers("2").batch(16).epochs(2);
    t.clone().arg("--trainable", "new_").flag("--cache-frozen").out(&mixed).ok();
    let saved = format!("{}.meta", mixed.display());
    let eval = ["--meta", &saved, "--data", &tiny_data(), "--split", "all", "--fetch", "new_loss/loss:0"];
    for (k, a, b) in eval_both(&eval, &[]) {
        assert_eq!(a, b, "{k}");
    }
    // Frozen for serving: each resource read becomes an Identity of the constant; Python runs it.
    let frozen = tmp.path().join("own.pb");
    let own_meta = format!("{}.meta", own.display());
    ok(&["export", "--meta", &own_meta, "--logits", "outputs/logits:0", "--frozen", frozen.to_str().unwrap()]);
    let x = tiny_x_npy(tmp.path());
    let theirs = run_python(frozen.to_str().unwrap(), &x, &["outputs/logits:0"], &tmp.path().join("frozen_py.npz"));
    let ours = run_ours(&["--meta", &own_meta], &["outputs/logits:0"], &tmp.path().join("own.npz"));
    assert!(ours == theirs, "the frozen resource model's logits");
}

#[test]
fn a_savedmodel_by_tags_and_signature_keys() {
    let sm = fixture("tiny_saved_model");
    let inspect = ok(&["inspect", "--saved-model", &sm]);
    assert!(inspect.contains("@serving_default/logits") && inspect.contains("dnn/outputs/BiasAdd:0"), "{inspect}");
    assert!(inspect.contains("restorable variables: 4"), "{inspect}");
    // Signature keys where tensor names go; the logits Python's saved_model.loader.load gives.
    let tmp = tempfile::tempdir().unwrap();
    let (ours, theirs) = (tmp.path().join("ours.npz"), tmp.path().join("py.npz"));
    let run = ["run", "--saved-model", &sm, "--data", &tiny_data(), "--split", "all", "--input", "@x", "--fetch", "@logits"];
    ok(&[&run[..], &["--out", ours.to_str().unwrap()]].concat());
    let x = tiny_x_npy(tmp.path());
    oracle(&["run", "--meta", &sm, "--feed", &format!("X:0={}", x.display()), "--fetch", LOGITS, "--out", theirs.to_str().unwrap()]);
    let a = tfreuse::data::npy::Npz::open(&ours).unwrap().get("@logits").unwrap();
    assert!(a == tfreuse::data::npy::Npz::open(&theirs).unwrap().get(LOGITS).unwrap());
    // Trained from, by signature keys; Python reads the result back.
    let out = tmp.path().join("m/m.ckpt");
    ok(&[
        "train",
        "--saved-model",
        &sm,
        "--data",
        &tiny_data(),
        "--input",
        "@x",
        "--branch-from",
        "@logits",
        "--lr",
        "0.1",
        "--batch-size",
        "16",
        "--epochs",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    let saved = format!("{}.meta", out.display());
    let eval = ["--meta", &saved, "--data", &tiny_data(), "--split", "all", "--fetch", "new_loss/loss:0"];
    for (k, a, b) in eval_both(&eval, &[]) {
        assert_eq!(a, b, "{k}");
    }
    // Wrong tags and keys are named with what there is.
    let err = fails(&["inspect", "--saved-model", &sm, "--tag", "train"], 2);
    assert!(err.contains("--tag train:") && err.contains("no MetaGraph tagged train (it has: [serve])"), "{err}");
    let err = fails(&[&run[..5], &["--split", "all", "--input", "@nope", "--fetch", "@logits"]].concat(), 2);
    assert!(err.contains("signature serving_default has no key \"nope\" (it has: x, classes, logits)"), "{err}");
}

#[test]
fn export_writes_a_savedmodel_python_serves() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m/m.ckpt");
    Train::tiny().branch("dnn/hidden1/Relu:0").layers("2").batch(16).epochs(2).out(&out).ok();
    let sm = tmp.path().join("served");
    let meta = format!("{}.meta", out.display());
    let export = ["export", "--meta", &meta, "--logits", "new_outputs/BiasAdd:0", "--saved-model", sm.to_str().unwrap()];
    ok(&export);
    // Python's saved_model.loader.load(sess, ["serve"], dir) gives tfreuse's numbers.
    let fetch = ["export/probabilities:0", "export/class_ids:0"];
    let ours = run_ours(&["--saved-model", sm.to_str().unwrap()], &fetch, &tmp.path().join("ours.npz"));
    let theirs = run_python(sm.to_str().unwrap(), &tiny_x_npy(tmp.path()), &fetch, &tmp.path().join("py.npz"));
    for (k, (a, b)) in fetch.iter().zip(ours.iter().zip(&theirs)) {
        assert!(a == b, "{k}");
    }
    // The signature names them; with no class names recorded, a class is its id as a string
    // and no asset is listed.
    let inspect = ok(&["inspect", "--saved-model", sm.to_str().unwrap()]);
    assert!(inspect.contains("@serving_default/probabilities") && inspect.contains("@serving_default/classes"), "{inspect}");
    let served = json(&oracle(&["serve", sm.to_str().unwrap(), "--feed", &format!("x={}", tiny_x_npy(tmp.path()).display())]));
    let o = &served["outputs"];
    let ids: Vec<String> = o["class_ids"].as_array().unwrap().iter().map(|i| i.to_string()).collect();
    assert!(!ids.is_empty() && o["classes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).eq(ids.iter().map(String::as_str)));
    assert_eq!(served["assets"], serde_json::json!([]), "{served}");
    assert!(!sm.join("assets").exists());
    let err = fails(&export, 2);
    assert!(err.contains("exists; export writes to a new path"), "{err}");
}

#[test]
fn export_writes_a_frozen_graph_python_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m/m.ckpt");
    Train::tiny().branch("dnn/hidden1/Relu:0").layers("2").batch(16).epochs(2).out(&out).ok();
    let meta = format!("{}.meta", out.display());
    let x = tiny_x_npy(tmp.path());
    let fetch = ["new_outputs/BiasAdd:0", "export/probabilities:0", "export/class_ids:0"];
    let trained = run_ours(&["--meta", &meta], &fetch[..1], &tmp.path().join("trained.npz"));
    for name in ["f.pb", "f.pbtxt"] {
        let frozen = tmp.path().join(name);
        let export = ["export", "--meta", &meta, "--logits", fetch[0], "--frozen", frozen.to_str().unwrap()];
        let log = tfreuse(&export);
        let err = String::from_utf8_lossy(&log.stderr);
        assert!(log.status.success() && err.contains("4 variables as constants"), "{err}");
        // Python imports it as label_image did; tfreuse reads it with --graph: the same outputs,
        // and the logits of the model it was frozen from.
        let theirs = run_python(frozen.to_str().unwrap(), &x, &fetch, &tmp.path().join(format!("py_{name}.npz")));
        let ours = run_ours(&["--graph", frozen.to_str().unwrap()], &fetch, &tmp.path().join(format!("ours_{name}.npz")));
        assert!(ours == theirs, "{name}: tfreuse and Python on the frozen graph");
        assert!(ours[0] == trained[0], "{name}: the trained model's logits");
        let inspect = ok(&["inspect", "--graph", frozen.to_str().unwrap()]);
        assert!(inspect.contains("variables: 0") && !inspect.contains("Assign") && !inspect.contains("Save"), "{inspect}");
        // Never over an existing file, and nothing written when one of two outputs exists.
        let err = fails(&export, 2);
        assert!(err.contains("exists; export writes to a new path"), "{err}");
        let sm = tmp.path().join("sm");
        fails(&[&export[..], &["--saved-model", sm.to_str().unwrap()]].concat(), 2);
        assert!(!sm.exists());
    }
}

#[test]
fn a_ref_variable_is_fetched_as_its_value() {
    // The crate's dtype of a ref output is undefined behaviour; `run --fetch kernel:0` crashed.
    let tmp = tempfile::tempdir().unwrap();
    let meta = fixture("tiny/tiny.ckpt.meta");
    let fetch = ["hidden1/kernel:0", "hidden1/kernel/read:0"];
    let theirs = run_python(&meta, &tiny_x_npy(tmp.path()), &fetch, &tmp.path().join("py.npz"));
    let ours = run_ours(&["--meta", &meta], &fetch, &tmp.path().join("ours.npz"));
    assert!(ours == theirs && ours[0] == ours[1], "a ref variable's value, as Python fetches it");
}

#[test]
fn momentum_and_adam_train_resource_variables_as_python() {
    // Their slots follow the variable: resource slots, which ResourceApplyAdam takes.
    let tmp = tempfile::tempdir().unwrap();
    for d in ["sgd", "momentum", "adam"] {
        std::fs::create_dir(tmp.path().join(d)).unwrap();
    }
    let sgd_model = small_model(&tmp.path().join("sgd"), &["--resource", "--features", "4", "--classes", "2"]);
    for (rule, op, slots) in [("momentum", "Momentum", &["Momentum"][..]), ("adam", "Adam", &["Adam", "Adam_1"][..])] {
        // Python: the same model with that optimizer's own train op (lr 0.1), in its loop.
        let meta = small_model(&tmp.path().join(rule), &["--resource", "--features", "4", "--classes", "2", "--optimizer", rule]);
        let py = tmp.path().join(format!("py_{rule}/m.ckpt"));
        let args = ["train", "--meta", &meta, "--data", &tiny_data(), "--split", "all", "--train-op", op, "--loss", "loss:0"];
        oracle(&[&args[..], &["--batch-size", "16", "--epochs", "2", "--out", py.to_str().unwrap()]].concat());
        // tfreuse: its own gradients and update rule on the model without those slots.
        let ours = tmp.path().join(format!("ours_{rule}/m.ckpt"));
        let t = Train::new(&sgd_model, &tiny_data()).branch("outputs/logits:0").optimizer(rule).lr("0.1").batch(16).epochs(2);
        t.flag("--no-shuffle").out(&ours).ok();
        let (a, b) = (digest(&ours), digest(&py));
        for var in ["hidden1/kernel", "outputs/kernel"] {
            let names = std::iter::once(var.to_string()).chain(slots.iter().map(|s| format!("{var}/{s}")));
            for n in names {
                assert!(a[&n].is_string() && a[&n] == b[&n], "{rule}: {n}: {} vs {}", a[&n], b[&n]);
            }
        }
        // Python imports the saved model, slots and all, and keeps training it.
        let saved = format!("{}.meta", ours.display());
        let eval = ["--meta", &saved, "--data", &tiny_data(), "--split", "all", "--fetch", "new_loss/loss:0"];
        for (k, x, y) in eval_both(&eval, &[]) {
            assert_eq!(x, y, "{rule}: {k}");
        }
    }
}

#[test]
fn device_pins_of_sharded_and_cluster_saves() {
    let tmp = tempfile::tempdir().unwrap();
    let (local, cluster) = (tmp.path().join("local"), tmp.path().join("cluster"));
    std::fs::create_dir_all(&local).unwrap();
    std::fs::create_dir_all(&cluster).unwrap();
    let args = ["--features", "4", "--classes", "2", "--pin", "/device:CPU:1"];
    // tf.device("/device:CPU:1") + Saver(sharded=True): soft placement runs it, as Python's with it.
    let meta = small_model(&local, &args);
    let eval = |meta: &str| ["--meta", meta, "--data", &tiny_data(), "--split", "all", "--fetch", "loss:0"].map(str::to_string);
    let local_eval = eval(&meta);
    let (_, ours, theirs) = eval_both(&strs(&local_eval), &["--soft-placement"]).remove(0);
    assert_eq!(ours, theirs);
    // Pins to a cluster's tasks cannot be placed here: cleared, with a note; the same numbers.
    let job_meta = small_model(&cluster, &[&args[..], &["--job-pins"]].concat());
    let out = tfreuse(&[&["eval", "--json"][..], &strs(&eval(&job_meta))].concat());
    let err = String::from_utf8_lossy(&out.stderr);
    let note = "cleared the device pins naming a cluster's tasks (/job:ps/task:0/device:CPU:*";
    assert!(out.status.success() && err.contains(note) && err.contains("/job:ps/task:0/device:CPU:1"), "{err}");
    assert_eq!(json(&String::from_utf8_lossy(&out.stdout))["values"]["loss:0"].as_f64(), Some(ours));
    // What tfreuse writes has no pins: Python's default session (no soft placement, one CPU)
    // restores it, which it cannot do with the model Python itself saved.
    let saved = tmp.path().join("out/m.ckpt");
    Train::new(&job_meta, &tiny_data()).arg("--loss", "loss:0").batch(16).epochs(1).out(&saved).ok();
    let meta_text = String::from_utf8_lossy(&std::fs::read(format!("{}.meta", saved.display())).unwrap()).into_owned();
    assert!(!meta_text.contains("/device:") && !meta_text.contains("/job:"), "no device pins in the saved graph");
    let saved_meta = format!("{}.meta", saved.display());
    for (k, a, b) in eval_both(&strs(&eval(&saved_meta)), &[]) {
        assert_eq!(a, b, "{k}");
    }
    let py = std::process::Command::new(root().join(".venv/bin/python"))
        .arg(root().join("python/oracle.py"))
        .args(["eval"])
        .args(&local_eval)
        .output()
        .unwrap();
    assert!(!py.status.success() && String::from_utf8_lossy(&py.stderr).contains("CPU:1"), "Python's default session refuses the pin");
}

#[test]
fn a_branch_of_unknown_width_gets_it_from_one_probe_run() {
    // hidden1/flat = reshape(h, [shape(h)[0], -1]): TF's shape inference says [?, ?].
    let tmp = tempfile::tempdir().unwrap();
    let meta = small_model(tmp.path(), &["--dynamic-width", "--keep-prob", "--features", "4", "--classes", "2"]);
    let t = |branch: &str| Train::new(&meta, &tiny_data()).branch(branch).layers("5,2").batch(16).epochs(2).flag("--no-shuffle");
    let keep = ["--set", "keep_prob:0=1"];
    let (flat, relu) = (tmp.path().join("flat/m.ckpt"), tmp.path().join("relu/m.ckpt"));
    let log = t("hidden1/flat:0").arg(keep[0], keep[1]).out(&flat).output();
    let err = String::from_utf8_lossy(&log.stderr);
    assert!(
        log.status.success() && err.contains("hidden1/flat:0 has [?, ?] to TF's shape inference; one run on zeros gave [?, 3]"),
        "{err}"
    );
    // The same training as from the tensor it reshapes, whose width TF knows; gradients pass the
    // shape check into hidden1.
    t("hidden1/Relu:0").arg(keep[0], keep[1]).out(&relu).ok();
    let (a, b) = (digest(&flat), digest(&relu));
    assert!(a["hidden1/kernel"].is_string() && a == b, "{a} vs {b}");
    // Python imports the saved model and gets the same loss.
    let saved = format!("{}.meta", flat.display());
    let eval = ["--meta", &saved, "--data", &tiny_data(), "--split", "all", "--fetch", "new_loss/loss:0", "--set", "keep_prob:0=1"];
    for (k, x, y) in eval_both(&eval, &[]) {
        assert_eq!(x, y, "{k}");
    }
    // A probe that cannot run says why.
    let err = t("hidden1/flat:0").fails(2);
    assert!(
        err.contains("--branch-from hidden1/flat:0: has [?, ?] to TF, and one run on zeros to learn it failed")
            && err.contains("keep_prob"),
        "{err}"
    );
}
