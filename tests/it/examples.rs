//! The runnable examples of `examples/` (built by `cargo test`), run on the fixtures: what
//! they print agrees with Python TF, and what they save Python reads back.

use std::path::PathBuf;
use std::process::Command;

use crate::common::*;

/// `examples/NAME`, built beside the binary; run from the checkout with oneDNN off.
fn example(name: &str, args: &[&str]) -> String {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_tfreuse")).with_file_name("examples").join(name);
    let out = Command::new(&exe).args(args).current_dir(root()).env("TF_ENABLE_ONEDNN_OPTS", "0").output().expect("run the example");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{} failed: {err}", exe.display());
    String::from_utf8(out.stdout).unwrap()
}

/// The number after `key` in `text` (`key 0.1234`, `key = 0.1234`, `key Some(0.1234)`).
fn number_after(text: &str, key: &str) -> f64 {
    let rest = &text[text.find(key).unwrap_or_else(|| panic!("{key:?} in {text}")) + key.len()..];
    let digits: String = rest.chars().skip_while(|c| !c.is_ascii_digit()).take_while(|c| c.is_ascii_digit() || *c == '.').collect();
    digits.parse().unwrap_or_else(|_| panic!("a number after {key:?} in {text}"))
}

#[test]
fn evaluate_prints_what_python_computes() {
    let said = example("evaluate", &[]);
    let python =
        json(&oracle(&["eval", "--meta", &fixture(DNN_META), "--data", &mnist(), "--split", "test", "--fetch", "eval/accuracy:0"]));
    let python = python["eval/accuracy:0"].as_f64().unwrap();
    assert!((number_after(&said, "eval/accuracy:0 =") - python).abs() < 1e-8, "{said} vs Python {python}");
}

#[test]
fn the_transfer_example_saves_a_model_python_reads_back() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("example.ckpt");
    let said = example("transfer", &[out.to_str().unwrap(), "1"]);
    assert!(said.contains("epoch 1: train loss"), "{said}");
    let meta = format!("{}.meta", out.display());
    let python = json(&oracle(&["eval", "--meta", &meta, "--data", &mnist(), "--split", "test", "--fetch", "new_eval/accuracy:0"]));
    let python = python["new_eval/accuracy:0"].as_f64().unwrap();
    let ours = number_after(&said, "accuracy");
    assert!((ours - python).abs() < 5e-5 && python > 0.9, "the example's test accuracy {ours}, Python's {python}");
}

#[test]
fn classify_pictures_agrees_with_predict() {
    let tmp = tempfile::tempdir().unwrap();
    let pics = tmp.path().join("pics");
    oracle(&["image-folder", "--data", &mnist(), "--out", pics.to_str().unwrap(), "--per-class", "5", "--size", "28"]);
    let out = tmp.path().join("digits.ckpt");
    let data = format!("images:{}", pics.display());
    let trained = Train::new(&fixture(DNN_META), &data).branch("dnn/hidden4/Relu:0").layers("10").batch(10).epochs(2).out(&out).output();
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
    let meta = format!("{}.meta", out.display());
    let dir = format!("{}/3", pics.display());
    let said = example("classify_pictures", &[&meta, &dir]);
    let predicted = json(&ok(&["predict", "--meta", &meta, "--json", "--top-k", "1", &dir]));
    let predicted = predicted.as_array().unwrap();
    assert_eq!(said.lines().count(), predicted.len(), "{said}");
    for (line, p) in said.lines().zip(predicted) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols[0], p["file"].as_str().unwrap());
        assert_eq!(cols[1], p["top"][0]["label"].as_str().unwrap(), "{line}");
        let prob = p["top"][0]["probability"].as_f64().unwrap();
        assert!((cols[2].parse::<f64>().unwrap() - prob).abs() < 1e-4, "{line} vs {prob}");
    }
}
