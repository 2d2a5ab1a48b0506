//! `tfreuse new`: a fresh TF1 model with the book's names that Python imports, evaluates and
//! trains with its own `train_op`, bit for bit as tfreuse trained it; it is then a base model
//! `train --branch-from` reuses.

use crate::common::*;

fn digest(prefix: &std::path::Path) -> serde_json::Value {
    json(&oracle(&["digest", "--checkpoint", prefix.to_str().unwrap()]))
}

fn new(out: &std::path::Path, epochs: &str, log: Option<&std::path::Path>) -> String {
    let data = mnist();
    let mut args = vec!["new", "--layers", "30:elu,20:elu,10", "--data", &data, "--epochs", epochs, "--no-shuffle", "--defaults", "book"];
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
    let err = fails(&["new", "--layers", "10", "--data", "csv:/nowhere.csv"], 2);
    assert!(err.contains("tfreuse new takes"), "{err}");
    // A new model has no input to read a picture size from.
    let err = fails(&["new", "--layers", "10", "--data", "images:/nowhere"], 2);
    assert!(err.contains("--data images:/nowhere") && err.contains("give --resize HxW"), "{err}");
}

#[test]
fn a_pretrained_autoencoder_loads_in_python_with_the_same_encoder_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let (ae, log) = (tmp.path().join("ae.ckpt"), tmp.path().join("log.jsonl"));
    let data = mnist();
    let args = [
        "pretrain",
        "autoencoder",
        "--defaults",
        "book",
        "--layers",
        "64:elu,32:elu",
        "--data",
        &data,
        "--epochs",
        "2",
        "--batch-size",
        "500",
        "--lr",
        "0.01",
        "--patience",
        "1",
    ];
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
    // --patience watches the validation loss (lower is better) when there is no metric.
    let events: Vec<serde_json::Value> = std::fs::read_to_string(&log).unwrap().lines().map(json).collect();
    let losses: Vec<f64> = events.iter().filter(|e| e["event"] == "epoch").map(|e| e["validation_loss"].as_f64().unwrap()).collect();
    let best = events.iter().find(|e| e["event"] == "best").expect("a best event");
    let lowest = losses.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(best["on_loss"], true, "{best}");
    assert_eq!(best["metric"].as_f64().unwrap(), lowest, "{best} vs {losses:?}");
    assert_eq!(best["epoch"].as_u64().unwrap() as usize, 1 + losses.iter().position(|&l| l == lowest).unwrap());
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
    let args = ["pretrain", "auxiliary", "--task", "corrupt", "--defaults", "book", "--layers", "50:elu", "--data", &data, "--epochs", "1"];
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
    // Shuffled patches (the rule is unit-tested) are learnable too.
    let run = tfreuse(&[&args[..], &["--corruption", "patches", "--batch-size", "500", "--json", log.to_str().unwrap()]].concat());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success() && err.contains("auxiliary task corrupt (patches)"), "{err}");
    let test = std::fs::read_to_string(&log).unwrap().lines().map(json).find(|e| e["event"] == "test").unwrap();
    assert!(test["metric"].as_f64().unwrap() > 0.9, "{test}");
}

/// Python lines that load MNIST's test split as `x` (float32, input_data's scale) and `y`.
const MNIST_TEST: &str = "import gzip, numpy as np
def idx(p, skip): return np.frombuffer(gzip.open(p).read(), np.uint8, offset=skip)
x = idx('data/mnist/t10k-images-idx3-ubyte.gz', 16).reshape(-1, 784).astype(np.float32) * np.float32(1 / 255)
y = idx('data/mnist/t10k-labels-idx1-ubyte.gz', 8).astype(np.int64)
";

/// Python's values of `fetch` on MNIST's test split, run as one batch (as tfreuse evaluates).
fn eval_test(meta: &str, fetch: &[&str]) -> serde_json::Value {
    let data = mnist();
    let mut args = vec!["eval", "--meta", meta, "--data", &data, "--batch-size", "10000"];
    args.extend(fetch.iter().flat_map(|f| ["--fetch", f]));
    json(&oracle(&args))
}

/// The `test` events of a --json log, in order.
fn tests_logged(log: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log).unwrap().lines().map(json).filter(|e| e["event"] == "test").collect()
}

#[test]
fn a_greedy_tied_autoencoder_trains_one_phase_at_a_time_on_unlabelled_examples_too() {
    let tmp = tempfile::tempdir().unwrap();
    let (ae, log, more) = (tmp.path().join("ae.ckpt"), tmp.path().join("log.jsonl"), tmp.path().join("more.npz"));
    python(&format!(
        "import numpy as np; np.savez({:?}, x=np.random.default_rng(0).integers(0, 256, (100, 784), dtype=np.uint8))",
        more.to_str().unwrap()
    ));
    let (data, unlabeled) = (mnist(), format!("npz:{}", more.display()));
    let args = ["pretrain", "autoencoder", "--defaults", "book", "--layers", "64:elu,32:elu", "--greedy", "--tied"];
    let run = tfreuse(
        &[
            &args[..],
            &["--unlabeled", &unlabeled, "--data", &data],
            &["--epochs", "1", "--batch-size", "500", "--lr", "0.01"],
            &["--out", ae.to_str().unwrap(), "--json", log.to_str().unwrap()],
        ]
        .concat(),
    );
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("--unlabeled: 100 examples added to the 55000 of the training split"), "{err}");
    assert!(err.contains("phase 2/2: phase1/hidden1/Elu:0 -> phase2/hidden2/Elu:0 -> phase2/decoder2/Elu:0"), "{err}");
    assert!(err.contains("encoder outputs (train --branch-from one of these): phase1/hidden1/Elu:0, phase2/hidden2/Elu:0"), "{err}");
    // Tied: the decoders have biases of their own and no kernels.
    let vars = json(&oracle(&["variables", "--checkpoint", ae.to_str().unwrap()]));
    assert_eq!(vars["phase1/hidden1/kernel"], serde_json::json!([784, 64]));
    assert_eq!(vars["phase2/hidden2/kernel"], serde_json::json!([64, 32]));
    assert_eq!(vars["phase1/decoder1/bias"], serde_json::json!([784]));
    assert!(vars.get("phase1/decoder1/kernel").is_none() && vars.get("phase2/decoder2/kernel").is_none(), "{vars}");
    // Each phase's test error, measured by Python on the final model, is the one reported at
    // the end of that phase: phase 2 left phase 1's layer alone.
    let tests = tests_logged(&log);
    assert_eq!(tests.len(), 2, "a test event per phase, in one log");
    let meta = format!("{}.meta", ae.display());
    let py = eval_test(&meta, &["phase1/loss/loss:0", "phase2/loss/loss:0"]);
    for (k, test) in tests.iter().enumerate() {
        let (theirs, ours) = (py[format!("phase{}/loss/loss:0", k + 1)].as_f64().unwrap(), test["loss"].as_f64().unwrap());
        assert!((theirs - ours).abs() < 1e-5 * ours, "phase {}: Python {theirs} vs tfreuse {ours}", k + 1);
    }
    // The documented rule, in numpy: phase 1 reconstructs X through W1 and W1ᵀ.
    let phase1 = tests[0]["loss"].as_f64().unwrap();
    python(&format!(
        "{MNIST_TEST}import tensorflow as tf
r = tf.train.load_checkpoint({:?}); W, b, c = (r.get_tensor(n) for n in ('phase1/hidden1/kernel', 'phase1/hidden1/bias', 'phase1/decoder1/bias'))
h = x @ W + b; h = np.where(h > 0, h, np.expm1(h))
mse = float(np.mean((h @ W.T + c - x) ** 2)); assert abs(mse - {phase1}) < 1e-4 * mse, mse",
        ae.to_str().unwrap()
    ));
    // The encoder is a base model.
    Train::new(&meta, &data).branch("phase2/hidden2/Elu:0").layers("10").arg("--freeze-below", "phase2/hidden2/Elu:0").epochs(1).ok();
}

#[test]
fn the_pairs_task_learns_whether_two_examples_share_a_class() {
    let tmp = tempfile::tempdir().unwrap();
    let (pairs, log) = (tmp.path().join("pairs.ckpt"), tmp.path().join("log.jsonl"));
    let data = mnist();
    let args = [
        "pretrain",
        "auxiliary",
        "--task",
        "pairs",
        "--defaults",
        "book",
        "--layers",
        "50:elu",
        "--data",
        &data,
        "--per-class",
        "100",
        "--epochs",
        "5",
    ];
    let run = tfreuse(&[&args[..], &["--batch-size", "50", "--out", pairs.to_str().unwrap(), "--json", log.to_str().unwrap()]].concat());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("10.0 % of pairs share a class; weights 0.556 (other class), 5.000 (same class)"), "{err}");
    // Python measures the same loss and accuracy on the test split (pairs formed in one batch
    // of the whole split, as tfreuse evaluates it)…
    let test = tests_logged(&log).pop().unwrap();
    let meta = format!("{}.meta", pairs.display());
    let py = eval_test(&meta, &["loss/loss:0", "eval/accuracy:0"]);
    let (loss, acc) = (test["loss"].as_f64().unwrap(), test["metric"].as_f64().unwrap());
    assert!((py["loss/loss:0"].as_f64().unwrap() - loss).abs() < 1e-5 * loss, "{py} vs {test}");
    assert_eq!(py["eval/accuracy:0"].as_f64().unwrap() as f32, acc as f32, "{py} vs {test}");
    // …and the documented rule in numpy gives that accuracy: row i against row n-1-i.
    python(&format!(
        "{MNIST_TEST}import tensorflow as tf
r = tf.train.load_checkpoint({:?}); W, b, V, c = (r.get_tensor(n) for n in ('auxiliary/hidden1/kernel', 'auxiliary/hidden1/bias', 'outputs/kernel', 'outputs/bias'))
h = x @ W + b; h = np.where(h > 0, h, np.expm1(h))
same = (y == y[::-1]).astype(np.int64); pred = np.argmax((h - h[::-1]) ** 2 @ V + c, axis=1)
acc = float(np.mean(pred == same)); assert abs(acc - {acc}) <= 3e-4, acc",
        pairs.to_str().unwrap()
    ));
    // Learnt: below the weighted loss of a coin (ln 2).
    assert!(loss < 0.6, "{test}");
    Train::new(&meta, &data).branch("auxiliary/hidden1/Elu:0").layers("10").epochs(1).ok();
}

#[test]
fn pretraining_refuses_what_it_cannot_use() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, wrong) = (mnist(), tmp.path().join("wrong.npz"));
    python(&format!("import numpy as np; np.savez({:?}, x=np.zeros((3, 5), np.float32))", wrong.to_str().unwrap()));
    let unlabeled = format!("npz:{}", wrong.display());
    let err = fails(&["pretrain", "autoencoder", "--layers", "8", "--data", &data, "--unlabeled", &unlabeled], 3);
    assert!(err.contains("x has shape [3, 5]; the data's examples are shaped [784]"), "{err}");
    let err = fails(&["pretrain", "auxiliary", "--task", "pairs", "--layers", "8", "--data", &data, "--unlabeled", &unlabeled], 2);
    assert!(err.contains("--task pairs learns from the labels"), "{err}");
    let err = fails(&["pretrain", "auxiliary", "--layers", "8", "--data", &data, "--unlabeled", &unlabeled, "--per-class", "5"], 2);
    assert!(err.contains("--per-class with --unlabeled"), "{err}");
    // The autoencoder ignores labels: it does not take --per-class at all.
    let err = fails(&["pretrain", "autoencoder", "--layers", "8", "--data", &data, "--per-class", "5"], 2);
    assert!(err.starts_with("tfreuse: error: unexpected argument '--per-class'"), "{err}");
    let err = fails(&["pretrain", "auxiliary", "--corruption", "patches", "--layers", "8", "--data", &tiny_data()], 2);
    assert!(err.contains("needs pictures of 4×4 at least, not 2×2"), "{err}");
}

/// An easy picture folder in `dir/pics`, split into `train/`, `validation/`, `test/` folders of
/// 3 classes (8x8 gray PNGs: noise with a bright band at rows 2k+1, 2k+2 for class k); the test
/// split as Python reads it (x: pixels × float32(1/255), flat; y) in `dir/test.npz`.
fn band_pictures(dir: &std::path::Path) -> String {
    let pics = dir.join("pics");
    python(&format!(
        "import numpy as np, os, zlib, struct
def png(p):
    raw = b''.join(b'\\x00' + bytes(r) for r in p)
    chunk = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
    return b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 8, 8, 8, 0, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
rng = np.random.default_rng(0)
for split, n in [('train', 30), ('validation', 6), ('test', 10)]:
    rows, ys = [], []
    for k in range(3):
        d = os.path.join({pics:?}, split, f'c{{k}}'); os.makedirs(d)
        for i in range(n):
            p = rng.integers(0, 60, (8, 8)).astype(np.uint8); p[2 * k + 1:2 * k + 3] += 180
            open(os.path.join(d, f'{{i:03d}}.png'), 'wb').write(png(p))
            rows.append(p.reshape(-1).astype(np.float32) * np.float32(1 / 255)); ys.append(k)
    if split == 'test': np.savez({npz:?}, x=np.array(rows), y=np.array(ys))",
        pics = pics.to_str().unwrap(),
        npz = dir.join("test.npz").to_str().unwrap()
    ));
    format!("images:{}", pics.display())
}

#[test]
fn a_new_model_trains_on_pictures_fed_flat_and_records_their_preprocessing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = band_pictures(tmp.path());
    let (out, log) = (tmp.path().join("runs/x.ckpt"), tmp.path().join("log.jsonl"));
    let sched = ["--optimizer", "adam", "--lr", "0.01", "--batch-size", "10", "--epochs", "5", "--patience", "0", "--no-shuffle"];
    let args = ["new", "--layers", "32:relu,3", "--data", &data, "--resize", "8x8", "--channels", "1"];
    let paths = ["--out", out.to_str().unwrap(), "--json", log.to_str().unwrap()];
    let run = tfreuse(&[&args[..], &sched, &paths].concat());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{err}");
    assert!(err.contains("pictures: 3 classes (c0, c1, c2); train 90, validation 18, test 30; resized to 8x8x1"), "{err}");
    // X is the flat picture: the first kernel takes 8·8·1 values.
    let vars = json(&oracle(&["variables", "--checkpoint", out.to_str().unwrap()]));
    assert_eq!(vars["dnn/hidden1/kernel"], serde_json::json!([64, 32]));
    let test = tests_logged(&log).pop().expect("a test event");
    assert!(test["metric"].as_f64().unwrap() > 0.9 && test["examples"] == 30, "{test}");
    // Python reads the saved model and gets the test numbers tfreuse logged, and eval's.
    let meta = format!("{}.meta", out.display());
    let npz = format!("npz:{}", tmp.path().join("test.npz").display());
    let py =
        json(&oracle(&["eval", "--meta", &meta, "--data", &npz, "--split", "all", "--fetch", "eval/accuracy:0", "--fetch", "loss/loss:0"]));
    assert_eq!(py["eval/accuracy:0"].as_f64().unwrap() as f32, test["metric"].as_f64().unwrap() as f32, "{py} vs {test}");
    let (py_loss, loss) = (py["loss/loss:0"].as_f64().unwrap(), test["loss"].as_f64().unwrap());
    assert!((py_loss - loss).abs() <= 1e-6 * loss.abs().max(1e-3), "{py} vs {test}");
    let eval = json(&ok(&["eval", "--meta", &meta, "--data", &data, "--json"]));
    assert_eq!(eval["accuracy"].as_f64().unwrap() as f32, test["metric"].as_f64().unwrap() as f32, "{eval}");
    // The preprocessing is recorded: predict takes pictures with no flags.
    let record = json(&std::fs::read_to_string(format!("{}.preprocess.json", out.display())).unwrap());
    assert_eq!((record["height"].clone(), record["channels"].clone(), record["input"].clone()), (8.into(), 1.into(), "X:0".into()));
    let pic = tmp.path().join("pics/test/c2/000.png");
    let predicted = json(&ok(&["predict", "--meta", &meta, "--json", pic.to_str().unwrap()]));
    assert_eq!(predicted[0]["top"][0]["label"], "c2", "{predicted}");
}

#[test]
fn pretraining_takes_pictures_too() {
    let tmp = tempfile::tempdir().unwrap();
    let data = band_pictures(tmp.path());
    let (ae, log) = (tmp.path().join("ae.ckpt"), tmp.path().join("log.jsonl"));
    let args = ["pretrain", "autoencoder", "--layers", "16:elu", "--data", &data, "--resize", "8x8", "--channels", "1"];
    let more = ["--batch-size", "10", "--epochs", "2", "--out", ae.to_str().unwrap(), "--json", log.to_str().unwrap()];
    let run = tfreuse(&[&args[..], &more].concat());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success() && err.contains("autoencoder/hidden1/Elu:0"), "{err}");
    let vars = json(&oracle(&["variables", "--checkpoint", ae.to_str().unwrap()]));
    assert_eq!(vars["autoencoder/hidden1/kernel"], serde_json::json!([64, 16]));
    assert_eq!(tests_logged(&log).len(), 1);
    let args = ["pretrain", "auxiliary", "--layers", "16:elu", "--data", &data, "--resize", "8x8", "--batch-size", "10", "--epochs", "1"];
    let run = tfreuse(&args);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success() && err.contains("resized to 8x8x3"), "{err}");
    let err = fails(&["pretrain", "autoencoder", "--layers", "16", "--data", &data], 2);
    assert!(err.contains("give --resize HxW"), "{err}");
}
