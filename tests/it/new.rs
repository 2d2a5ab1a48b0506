//! `tfreuse new`: a fresh TF1 model with the book's names that Python imports, evaluates and
//! trains with its own `train_op`, bit for bit as tfreuse trained it; it is then a base model
//! `train --branch-from` reuses.

use crate::common::*;

fn digest(prefix: &std::path::Path) -> serde_json::Value {
    json(&oracle(&["digest", "--checkpoint", prefix.to_str().unwrap()]))
}

fn new(out: &std::path::Path, epochs: &str, log: Option<&std::path::Path>) -> String {
    let data = mnist();
    let mut args = vec!["new", "--layers", "30:elu,20:elu,10", "--data", &data, "--epochs", epochs, "--no-shuffle"];
    args.extend(["--out", out.to_str().unwrap()]);
    if let Some(l) = log {
        args.extend(["--json", l.to_str().unwrap()]);
    }
    let run = tfreuse(&args);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    String::from_utf8_lossy(&run.stderr).into_owned()
}

#[test]
fn a_new_model_is_genuine_tf1_and_python_trains_it_the_same() {
    let tmp = tempfile::tempdir().unwrap();
    let (init, trained, log) = (tmp.path().join("init.ckpt"), tmp.path().join("trained.ckpt"), tmp.path().join("log.jsonl"));
    let err = new(&init, "0", None);
    assert!(err.contains("X:0 -> dnn/hidden1/Elu:0 -> dnn/hidden2/Elu:0 -> outputs/BiasAdd:0"), "{err}");
    new(&trained, "1", Some(&log));
    // The book's names, in Python.
    let vars = json(&oracle(&["variables", "--checkpoint", trained.to_str().unwrap()]));
    for v in ["dnn/hidden1/kernel", "dnn/hidden2/bias", "outputs/kernel", "dnn/hidden1/kernel/Adam", "train/beta1_power"] {
        assert!(vars.get(v).is_some(), "{v} saved: {vars}");
    }
    assert_eq!(vars["dnn/hidden1/kernel"], serde_json::json!([784, 30]));
    // Python's loop over the same batches with the model's own train_op gives the same bytes.
    let py_out = tmp.path().join("python.ckpt");
    let meta = format!("{}.meta", init.display());
    oracle(&[
        "train",
        "--meta",
        &meta,
        "--checkpoint",
        init.to_str().unwrap(),
        "--data",
        &mnist(),
        "--train-op",
        "train/step",
        "--loss",
        "loss/loss:0",
        "--out",
        py_out.to_str().unwrap(),
    ]);
    assert_eq!(digest(&py_out), digest(&trained), "one epoch in Python from the same start");
    // Python's test accuracy of the saved model is the one tfreuse reported.
    let meta = format!("{}.meta", trained.display());
    let py = json(&oracle(&["eval", "--meta", &meta, "--data", &mnist(), "--fetch", "eval/accuracy:0", "--fetch", "loss/loss:0"]));
    let test = std::fs::read_to_string(&log).unwrap().lines().map(json).find(|e| e["event"] == "test").expect("a test event");
    assert_eq!(py["eval/accuracy:0"].as_f64().unwrap() as f32, test["metric"].as_f64().unwrap() as f32, "{py} vs {test}");
    assert!(py["eval/accuracy:0"].as_f64().unwrap() > 0.9, "{py}");
    // It is a base model: new layers on its second hidden layer.
    Train::new(&meta, &mnist()).branch("dnn/hidden2/Elu:0").layers("10").epochs(1).out(tmp.path().join("reused.ckpt")).ok();
}

#[test]
fn new_refuses_what_it_cannot_build() {
    let data = mnist();
    let err = fails(&["new", "--layers", "30:elu,7", "--data", &data, "--epochs", "1"], 2);
    assert!(err.contains("--layers") && err.contains("10 classes"), "{err}");
    let err = fails(&["new", "--layers", "30:elux,10", "--data", &data], 2);
    assert!(err.contains("--layers") && err.contains("unknown activation"), "{err}");
    let err = fails(&["new", "--layers", "10", "--data", "images:/nowhere"], 2);
    assert!(err.contains("tfreuse new takes"), "{err}");
}

#[test]
fn a_pretrained_autoencoder_loads_in_python_with_the_same_encoder_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let (ae, log) = (tmp.path().join("ae.ckpt"), tmp.path().join("log.jsonl"));
    let data = mnist();
    let args =
        ["pretrain", "autoencoder", "--layers", "64:elu,32:elu", "--data", &data, "--epochs", "2", "--batch-size", "500", "--lr", "0.01"];
    let run = tfreuse(&[&args[..], &["--out", ae.to_str().unwrap(), "--json", log.to_str().unwrap()]].concat());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(
        err.contains("encoder outputs (train --branch-from one of these): autoencoder/hidden1/Elu:0, autoencoder/hidden2/Elu:0"),
        "{err}"
    );
    // Python's reconstruction error on the test split is the one tfreuse reported, and far
    // below what the mean picture would cost (the pixels' mean variance, 0.067 on MNIST's test).
    let meta = format!("{}.meta", ae.display());
    let py = json(&oracle(&["eval", "--meta", &meta, "--data", &data, "--fetch", "loss/loss:0", "--batch-size", "1000"]));
    let test = std::fs::read_to_string(&log).unwrap().lines().map(json).find(|e| e["event"] == "test").expect("a test event");
    let (theirs, ours) = (py["loss/loss:0"].as_f64().unwrap(), test["loss"].as_f64().unwrap());
    assert!((theirs - ours).abs() < 1e-5 * ours, "Python {theirs} vs tfreuse {ours}");
    assert!(ours < 0.05, "the autoencoder learnt to reconstruct: {ours}");
    // The encoder's output, from the same rows: the same bytes in Python and tfreuse.
    let x = tmp.path().join("x.npy");
    python(&format!("import numpy as np; np.save({:?}, np.random.default_rng(0).random((9, 784), dtype=np.float32))", x.to_str().unwrap()));
    let (ours, theirs) = (tmp.path().join("ours.npz"), tmp.path().join("theirs.npz"));
    let feed = format!("X:0={}", x.display());
    let fetch = ["run", "--meta", &meta, "--feed", &feed, "--fetch", "autoencoder/hidden2/Elu:0", "--out"];
    ok(&[&fetch[..], &[ours.to_str().unwrap()]].concat());
    oracle(&[&fetch[..], &[theirs.to_str().unwrap()]].concat());
    python(&format!(
        "import numpy as np; a=np.load({:?})['autoencoder/hidden2/Elu:0']; b=np.load({:?})['autoencoder/hidden2/Elu:0']; \
         assert a.shape == (9, 32) and np.array_equal(a, b), (a.shape, abs(a-b).max())",
        ours.to_str().unwrap(),
        theirs.to_str().unwrap()
    ));
    // Its encoder is a base model: a classifier on the codes, the encoder frozen.
    let meta_s = meta.as_str();
    Train::new(meta_s, &data)
        .branch("autoencoder/hidden2/Elu:0")
        .layers("10")
        .arg("--freeze-below", "autoencoder/hidden2/Elu:0")
        .epochs(1)
        .ok();
}

#[test]
fn auxiliary_pretraining_learns_real_from_corrupted_and_is_reused() {
    let tmp = tempfile::tempdir().unwrap();
    let (aux, log) = (tmp.path().join("aux.ckpt"), tmp.path().join("log.jsonl"));
    let data = mnist();
    let args = ["pretrain", "auxiliary", "--task", "corrupt", "--layers", "50:elu", "--data", &data, "--epochs", "1"];
    let run = tfreuse(&[&args[..], &["--batch-size", "500", "--out", aux.to_str().unwrap(), "--json", log.to_str().unwrap()]].concat());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("55000 real and 55000 corrupted training examples"), "{err}");
    assert!(err.contains("(train --branch-from one of these): auxiliary/hidden1/Elu:0"), "{err}");
    // Telling a digit from one whose bottom half is another's is learnable: well above chance.
    let test = std::fs::read_to_string(&log).unwrap().lines().map(json).find(|e| e["event"] == "test").unwrap();
    assert!(test["metric"].as_f64().unwrap() > 0.8 && test["examples"] == 20000, "{test}");
    let vars = json(&oracle(&["variables", "--checkpoint", aux.to_str().unwrap()]));
    assert_eq!(vars["auxiliary/hidden1/kernel"], serde_json::json!([784, 50]));
    assert_eq!(vars["outputs/kernel"], serde_json::json!([50, 2]));
    let meta = format!("{}.meta", aux.display());
    Train::new(&meta, &data).branch("auxiliary/hidden1/Elu:0").layers("10").epochs(1).ok();
}
