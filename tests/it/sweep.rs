//! `tfreuse sweep` on the MNIST fixture, few labels: the candidates it claims, frozen layers
//! bit-identical in each (Python reads every kept candidate), the best one saved.

use crate::common::*;

fn digest(prefix: &str) -> serde_json::Value {
    json(&oracle(&["digest", "--checkpoint", prefix]))
}

#[test]
fn sweep_visits_the_seeds_candidates_and_keeps_frozen_layers_bit_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let (table, csv, keep, best) =
        (tmp.path().join("t.json"), tmp.path().join("t.csv"), tmp.path().join("keep"), tmp.path().join("best.ckpt"));
    let meta = fixture(DNN_META);
    let data = mnist();
    let mut args = vec!["sweep", "--meta", &meta, "--data", &data, "--branch-from", "dnn/hidden4/Relu:0"];
    args.extend([
        "--classes",
        "5,6,7,8,9",
        "--per-class",
        "20",
        "--epochs",
        "3",
        "--batch-size",
        "20",
        "--patience",
        "2",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
    ]);
    let files = [table.to_str().unwrap(), csv.to_str().unwrap(), keep.to_str().unwrap(), best.to_str().unwrap()];
    args.extend(["--json", files[0], "--csv", files[1], "--keep", files[2], "--out", files[3]]);
    let (plot, logdir) = (tmp.path().join("t.svg"), tmp.path().join("logs"));
    args.extend(["--plot", plot.to_str().unwrap(), "--logdir", logdir.to_str().unwrap()]);
    let stdout = ok(&args);
    let rows = json(&std::fs::read_to_string(&table).unwrap());
    let rows = rows.as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["candidate"].as_str().unwrap()).collect();
    assert_eq!(names, ["frozen", "unfreeze-1", "unfreeze-2", "unfreeze-3", "unfreeze-all", "drop-1", "drop-2", "replace-top", "add-1"]);
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 10, "a header and a row per candidate");
    let svg = std::fs::read_to_string(&plot).unwrap();
    for n in &names {
        assert!(stdout.lines().any(|l| l.starts_with(n)), "the table names {n}: {stdout}");
        assert!(svg.contains(&format!(">{n}<")) || svg.contains(&format!(">\n{n}\n<")), "the plot names {n}");
    }
    // Each candidate as saved: layers below its cut equal the source, trained ones changed.
    let source = digest(&root().join("fixtures/mnist_dnn/my_model_final.ckpt").to_string_lossy());
    for r in rows {
        let name = r["candidate"].as_str().unwrap();
        assert!(r["val_accuracy"].as_f64().unwrap() > 0.25 && r["test_accuracy"].as_f64().is_some() && r["seconds"].as_f64().is_some());
        let saved = digest(&keep.join(format!("{name}.ckpt")).to_string_lossy());
        let trained: Vec<&str> = r["trained"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        let frozen = r["frozen"].as_u64().unwrap() as usize;
        for layer in 1..=4 {
            for v in [format!("hidden{layer}/kernel"), format!("hidden{layer}/bias")] {
                match trained.contains(&v.as_str()) {
                    true => assert_ne!(saved[&v], source[&v], "{name}: {v} trains and must change"),
                    false => assert_eq!(saved[&v], source[&v], "{name}: {v} is frozen and must be bit-identical"),
                }
                assert_eq!(trained.contains(&v.as_str()), layer > frozen && layer <= r["reused"].as_u64().unwrap() as usize, "{name}: {v}");
            }
        }
    }
    // --logdir: each candidate's curves in its own run folder, as TensorBoard reads them.
    for r in rows.iter().filter(|r| ["frozen", "add-1"].contains(&r["candidate"].as_str().unwrap())) {
        let dir = logdir.join(r["candidate"].as_str().unwrap());
        let file = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
        let read = json(&oracle(&["events", file.to_str().unwrap()]));
        let best = read["scalars"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["tag"] == "epoch/validation_metric")
            .map(|s| s["value"].as_f64().unwrap() as f32);
        assert_eq!(best.fold(f32::MIN, f32::max), r["val_accuracy"].as_f64().unwrap() as f32, "{}", dir.display());
    }
    // The best on validation is what --out holds.
    let top = rows.iter().max_by(|a, b| a["val_accuracy"].as_f64().unwrap().total_cmp(&b["val_accuracy"].as_f64().unwrap())).unwrap();
    let kept = digest(&keep.join(format!("{}.ckpt", top["candidate"].as_str().unwrap())).to_string_lossy());
    assert_eq!(digest(best.to_str().unwrap()), kept);

    let err = fails(&["sweep", "--meta", &meta, "--branch-from", "dnn/hidden4/Relu:0", "--freeze-below", "dnn/hidden1/Relu:0"], 2);
    assert!(err.contains("--freeze-below: the sweep chooses"), "{err}");
    // Without --branch-from: the layer under the logits, said first; data without a validation
    // split is refused, since the sweep chooses on it.
    let out = tfreuse(&["sweep", "--meta", &fixture(TINY_META), "--data", &tiny_data()]);
    let err = failed(out, 2, &["sweep"]);
    assert!(err.starts_with("--branch-from dnn/hidden1/Relu:0 (the layer under the logits)\n"), "{err}");
    assert!(err.contains("--data: the sweep chooses on the validation split, and the data has none"), "{err}");
}
