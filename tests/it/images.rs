//! Picture folders (`--data images:DIR`): MNIST digits written by `oracle.py image-folder` as
//! PNG, JPEG, BMP and a PNG named .jpg, larger and in colour, with broken files; compared with
//! what Python TF's decode_image / rgb_to_grayscale / resize make of them.

use std::path::Path;

use crate::common::*;
use tfreuse::tf::tensors::DynArray;

/// `oracle.py image-folder` into `dir/pics`: its path, and Python's rows.
fn folder(dir: &Path, extra: &[&str]) -> String {
    let pics = dir.join("pics");
    oracle(&[&["image-folder", "--data", &mnist(), "--out", pics.to_str().unwrap()][..], extra].concat());
    pics.display().to_string()
}

fn floats(a: DynArray) -> Vec<f32> {
    match a {
        DynArray::F32(a) => a.iter().copied().collect(),
        other => panic!("float32 rows expected, got {:?}", other.dtype()),
    }
}

/// The rows tfreuse feeds the book's MLP for split `split` of `images:DIR` (or a `csv:FILE`).
fn rows(dir: &str, split: &str, extra: &[&str], out: &Path) -> (Vec<f32>, String) {
    let data = if dir.starts_with("csv:") { dir.to_string() } else { format!("images:{dir}") };
    let args = ["run", "--meta", &fixture(DNN_META), "--data", &data, "--split", split, "--fetch", "X:0", "--out", out.to_str().unwrap()];
    let o = tfreuse(&[&args[..], extra].concat());
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    (floats(tfreuse::data::npy::Npz::open(out).unwrap().get("X:0").unwrap()), err)
}

/// The new head's logits of a model tfreuse saved, on split `split` of `data`, rows in order.
fn new_logits(meta: &str, data: &str, split: &str, extra: &[&str], out: &Path) -> Vec<f32> {
    let fetch = "new_outputs/BiasAdd:0";
    ok(&[&["run", "--meta", meta, "--data", data, "--split", split, "--fetch", fetch, "--out", out.to_str().unwrap()][..], extra].concat());
    floats(tfreuse::data::npy::Npz::open(out).unwrap().get(fetch).unwrap())
}

#[test]
fn picture_folders_decode_resize_and_feed_as_python_does() {
    let tmp = tempfile::tempdir().unwrap();
    let pics = folder(tmp.path(), &["--per-class", "12", "--size", "40", "--color", "--broken"]);
    // Every picture in training: 40x40 colour to the MLP's 28x28 gray rows, as Python makes them
    // (stated tolerance: JPEG decoders and resampling filters differ in the last bits).
    let all = ["--validation-pct", "0", "--test-pct", "0"];
    let (ours, err) = rows(&pics, "train", &all, &tmp.path().join("ours.npz"));
    let ours_rows = ours.clone();
    assert!(err.contains("pictures: 10 classes (0, 1, 2, 3, 4, 5, 6, 7, 8, 9); train 120; resized to 28x28x1"), "{err}");
    assert!(err.contains("skipped 2 file(s) that are no readable picture"), "{err}");
    let theirs = floats(tfreuse::data::npy::Npz::open(&tmp.path().join("pics_python.npz")).unwrap().get("x").unwrap());
    assert_eq!(ours.len(), theirs.len());
    let diffs: Vec<f32> = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).collect();
    let (max, mean) = (diffs.iter().cloned().fold(0.0, f32::max), diffs.iter().sum::<f32>() / diffs.len() as f32);
    assert!(max < 0.08 && mean < 0.003, "max {max} mean {mean}");
    // The pretrained MLP reads them as Python fed its own rows reads them: the same accuracy
    // within one picture of 120.
    let data = format!("images:{pics}");
    let ours = json(&ok(&[&["eval", "--meta", &fixture(DNN_META), "--data", &data, "--split", "train", "--json"][..], &all].concat()));
    let npz = format!("npz:{}", tmp.path().join("pics_python.npz").display());
    let py = ["eval", "--meta", &fixture(DNN_META), "--data", &npz, "--split", "all", "--labels", "y:0", "--fetch", "eval/accuracy:0"];
    let theirs = json(&oracle(&py));
    let (a, b) = (ours["values"]["eval/accuracy:0"].as_f64().unwrap(), theirs["eval/accuracy:0"].as_f64().unwrap());
    assert!(a > 0.8 && (a - b).abs() <= 1.0 / 120.0 + 1e-9, "ours {a} vs Python {b}");
    // The same pictures named in a table (csv:FILE, paths relative to it, a header, names for
    // labels) give the same rows; a malformed row is named.
    let mut table = String::from("path,label\n");
    for c in 0..10 {
        let mut names: Vec<String> =
            std::fs::read_dir(format!("{pics}/{c}")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names.iter().filter(|n| !n.starts_with("zz_")).for_each(|n| table.push_str(&format!("pics/{c}/{n},\"digit {c}\"\n")));
    }
    let csv = tmp.path().join("labels.csv");
    std::fs::write(&csv, &table).unwrap();
    let (from_csv, err) = rows(&format!("csv:{}", csv.display()), "train", &all, &tmp.path().join("csv.npz"));
    assert!(err.contains("pictures: 10 classes (digit 0, digit 1,"), "{err}");
    assert!(from_csv == ours_rows, "csv:FILE rows equal images:DIR rows");
    std::fs::write(&csv, format!("{table}pics/1/00001.jpg,one,extra\n")).unwrap();
    let err = fails(&["eval", "--meta", &fixture(DNN_META), "--data", &format!("csv:{}", csv.display())], 3);
    assert!(err.contains("labels.csv: row 122: expected path,label"), "{err}");
    // --strict: a broken file is an error naming it; -v lists what was skipped.
    let err = fails(&["eval", "--meta", &fixture(DNN_META), "--data", &data, "--strict"], 3);
    assert!(err.contains("zz_truncated.jpg") && err.contains("(--strict)"), "{err}");
    let (_, err) = rows(&pics, "train", &[&all[..], &["-v"]].concat(), &tmp.path().join("v.npz"));
    assert!(err.contains("zz_notes.txt: not a picture"), "{err}");
}

#[test]
fn splits_stay_put_when_pictures_are_added() {
    let tmp = tempfile::tempdir().unwrap();
    let pics = folder(tmp.path(), &["--per-class", "20", "--size", "28"]);
    let pct = ["--validation-pct", "25", "--test-pct", "25"];
    let before: Vec<(Vec<f32>, String)> =
        ["validation", "test"].iter().map(|s| rows(&pics, s, &pct, &tmp.path().join(format!("{s}0.npz")))).collect();
    // Twenty more pictures of each class; the folder moved elsewhere.
    oracle(&["image-folder", "--data", &mnist(), "--out", &pics, "--per-class", "20", "--first", "20", "--size", "28"]);
    let moved = tmp.path().join("moved");
    std::fs::rename(&pics, &moved).unwrap();
    for (s, (old, _)) in ["validation", "test"].iter().zip(before) {
        let (new, _) = rows(moved.to_str().unwrap(), s, &pct, &tmp.path().join(format!("{s}1.npz")));
        let old_rows: Vec<&[f32]> = old.chunks(784).collect();
        let new_rows: Vec<&[f32]> = new.chunks(784).collect();
        assert!(new_rows.len() > old_rows.len() && old_rows.len() >= 10, "{s}: {} then {}", old_rows.len(), new_rows.len());
        assert!(old_rows.iter().all(|r| new_rows.contains(r)), "{s}: every old picture stays in its split");
    }
}

#[test]
fn picture_folders_train_a_new_head_and_bad_folders_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let pics = folder(tmp.path(), &["--per-class", "20", "--size", "36"]);
    let data = format!("images:{pics}");
    let out = tmp.path().join("runs/digits.ckpt");
    let t = Train::new(&fixture(DNN_META), &data).branch("dnn/hidden4/Relu:0").layers("10").batch(20).epochs(8).lr("0.05");
    let log = t.out(&out).output();
    let err = String::from_utf8_lossy(&log.stderr);
    assert!(log.status.success() && err.contains("pictures: 10 classes"), "{err}");
    assert!(err.contains("new logits: new_outputs/BiasAdd:0"), "{err}");
    let prefix = out.display().to_string();
    assert_eq!(std::fs::read_to_string(format!("{prefix}.labels.txt")).unwrap(), "0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n");
    // predict, with the preprocessing recorded beside the checkpoint and no flags, says what
    // the model's own logits say of each picture (run on the same folder, rows in file order).
    let meta = format!("{prefix}.meta");
    let class_dirs: Vec<String> = (0..10).map(|c| format!("{pics}/{c}")).collect();
    let predicted = json(&ok(&[&["predict", "--meta", &meta, "--json", "--top-k", "10"][..], &strs(&class_dirs)].concat()));
    let predicted = predicted.as_array().unwrap();
    let all = ["--validation-pct", "0", "--test-pct", "0"];
    let logits = new_logits(&meta, &data, "train", &all, &tmp.path().join("logits.npz"));
    assert_eq!(predicted.len() * 10, logits.len());
    for (p, l) in predicted.iter().zip(logits.chunks(10)) {
        let probs = tfreuse::predict::softmax(l);
        let best = (0..10).max_by(|&a, &b| l[a].total_cmp(&l[b]).then(b.cmp(&a))).unwrap();
        let top = &p["top"];
        assert_eq!(top[0]["label"], best.to_string(), "{p}");
        for t in top.as_array().unwrap() {
            let id = t["id"].as_u64().unwrap() as usize;
            assert!((t["probability"].as_f64().unwrap() as f32 - probs[id]).abs() < 1e-6, "{p}");
        }
    }
    let correct =
        predicted.iter().filter(|p| p["file"].as_str().unwrap().contains(&format!("/{}/", p["top"][0]["label"].as_str().unwrap()))).count();
    assert!(correct * 10 >= predicted.len() * 8, "{correct} of {} pictures right after 8 epochs", predicted.len());
    // eval's per-class report agrees with predict, and its accuracy with the graph's own.
    let eval = ["eval", "--meta", &meta, "--data", &data, "--split", "train", "--json"];
    let report = json(&ok(&[&eval[..], &all, &["--misclassified"]].concat()));
    let n = predicted.len() as u64;
    assert_eq!(report["examples"].as_u64(), Some(n));
    assert!((report["accuracy"].as_f64().unwrap() - correct as f64 / n as f64).abs() < 1e-12, "{report}");
    let wrong = report["misclassified"].as_array().unwrap();
    assert_eq!(wrong.len(), predicted.len() - correct);
    for w in wrong {
        let p = predicted.iter().find(|p| p["file"] == w["file"]).unwrap();
        assert_eq!(p["top"][0]["label"], w["predicted"], "{w}");
    }
    let matrix: u64 = report["confusion"].as_array().unwrap().iter().flat_map(|r| r.as_array().unwrap()).map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(matrix, n);
    let graph = json(&ok(&[&eval[..], &all, &["--fetch", "new_eval/accuracy:0"]].concat()));
    assert!((graph["values"]["new_eval/accuracy:0"].as_f64().unwrap() - report["accuracy"].as_f64().unwrap()).abs() < 1e-6, "{graph}");
    // predict on the folder of class folders: every picture, its class from its folder, and
    // the accuracy eval reports on the same folder.
    let tree = json(&ok(&["predict", "--meta", &meta, "--json", "--top-k", "1", &pics]));
    let items = tree["predictions"].as_array().unwrap();
    assert_eq!(items.len(), predicted.len());
    assert!(items.iter().zip(predicted).all(|(t, p)| t["file"] == p["file"] && t["top"][0] == p["top"][0]), "{tree}");
    assert!(items.iter().all(|t| t["file"].as_str().unwrap().contains(&format!("/{}/", t["class"].as_str().unwrap()))), "{tree}");
    assert_eq!((tree["correct"].as_u64(), tree["pictures"].as_u64()), (Some(correct as u64), Some(n)));
    assert_eq!(tree["accuracy"].as_f64(), report["accuracy"].as_f64(), "{tree}");
    let text = ok(&["predict", "--meta", &meta, &pics]);
    assert_eq!(text.lines().count(), predicted.len() + 1, "{text}");
    let want = format!("accuracy = {:.9}  ({correct} of {n} pictures in class folders)", report["accuracy"].as_f64().unwrap());
    assert_eq!(text.lines().last(), Some(want.as_str()), "{text}");
    // Nothing to predict, or a class folder the model does not know, is one error line, exit 3.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(empty.join("7")).unwrap();
    let err = fails(&["predict", "--meta", &meta, empty.to_str().unwrap()], 3);
    assert!(err.contains("empty: nothing to predict: no file in it or in its class folders"), "{err}");
    std::fs::create_dir_all(empty.join("cats")).unwrap();
    std::fs::copy(format!("{pics}/3/00000.png"), empty.join("cats/a.png")).unwrap();
    let err = fails(&["predict", "--meta", &meta, empty.to_str().unwrap()], 3);
    assert!(err.contains("cats: is no class of the model (its classes: 0, 1, 2,"), "{err}");
    // A file that is no picture gets an error line and a failing exit.
    let notes = tmp.path().join("notes.txt");
    std::fs::write(&notes, "hello").unwrap();
    let o = tfreuse(&["predict", "--meta", &meta, notes.to_str().unwrap(), &format!("{pics}/3/00000.png")]);
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.code() == Some(3) && stdout.contains("notes.txt\terror: ") && stdout.contains("00000.png\t"), "{stdout}");
    assert!(stderr.contains("1 of 2 file(s) are no readable picture"), "{stderr}");
    // A damaged record is named, one line, exit 3 (each corruption on a copy of the model).
    let good = std::fs::read_to_string(format!("{prefix}.preprocess.json")).unwrap();
    for bad in [
        &good[..good.len() / 2],
        "[]",
        &good.replace("28", "0"),
        &good.replace("\"channels\": 1", "\"channels\": 2"),
        &good.replace("28", "99999"),
    ] {
        std::fs::write(format!("{prefix}.preprocess.json"), bad).unwrap();
        let err = fails(&["predict", "--meta", &meta, &format!("{pics}/3/00000.png")], 3);
        assert!(err.contains("preprocess.json: not a preprocessing record") && err.trim().lines().count() <= 2, "{bad}: {err}");
    }
    // The record carries its format: one without it (the previous format) is read as before;
    // one of a newer format is refused in one line that says to upgrade, exit 3.
    assert!(good.starts_with("{\n  \"format\": 2,"), "{good}");
    let one = format!("{pics}/3/00000.png");
    std::fs::write(format!("{prefix}.preprocess.json"), &good).unwrap();
    let now = ok(&["predict", "--meta", &meta, &one]);
    std::fs::write(format!("{prefix}.preprocess.json"), good.replace("  \"format\": 2,\n", "")).unwrap();
    assert_eq!(ok(&["predict", "--meta", &meta, &one]), now);
    std::fs::write(format!("{prefix}.preprocess.json"), good.replace("\"format\": 2", "\"format\": 3")).unwrap();
    let err = fails(&["predict", "--meta", &meta, &one], 3);
    let want = format!(
        "tfreuse: error: {prefix}.preprocess.json: written by a newer tfreuse (picture record format 3; this one reads up to 2): upgrade tfreuse"
    );
    assert!(err.trim_end().ends_with(&want), "{err}");
    std::fs::write(format!("{prefix}.preprocess.json"), &good).unwrap();
    // A folder that cannot be a classifier's data.
    let one = tmp.path().join("one");
    std::fs::create_dir_all(one.join("cats")).unwrap();
    for f in ["00000.png", "00004.png"] {
        std::fs::copy(Path::new(&pics).join("3").join(f), one.join("cats").join(f)).unwrap();
    }
    let eval = |dir: &Path| fails(&["eval", "--meta", &fixture(DNN_META), "--data", &format!("images:{}", dir.display())], 3);
    assert!(eval(&one).contains("has one class folder only (cats)"));
    std::fs::create_dir_all(one.join("dogs")).unwrap();
    std::fs::copy(Path::new(&pics).join("3/00000.png"), one.join("dogs/a.png")).unwrap();
    assert!(eval(&one).contains("dogs: has 1 picture(s); each class needs at least 2"));
    assert!(eval(&tmp.path().join("nothing")).contains("not a directory"));
}

#[test]
fn export_takes_the_record_and_serves_class_names() {
    // Digits in folders named as words: class ids (alphabetical) are not the digits.
    let tmp = tempfile::tempdir().unwrap();
    let pics = folder(tmp.path(), &["--per-class", "6", "--size", "28"]);
    let words = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];
    for (d, w) in words.iter().enumerate() {
        std::fs::rename(format!("{pics}/{d}"), format!("{pics}/{w}")).unwrap();
    }
    let data = format!("images:{pics}");
    let out = tmp.path().join("runs/words.ckpt");
    Train::new(&fixture(DNN_META), &data).branch("dnn/hidden4/Relu:0").layers("10").batch(20).epochs(2).out(&out).ok();
    let (prefix, meta) = (out.display().to_string(), format!("{}.meta", out.display()));
    let recorded = std::fs::read_to_string(format!("{prefix}.labels.txt")).unwrap();
    assert!(recorded.starts_with("eight\nfive\n"), "{recorded}");
    // No --input, no --logits: both come from the record, and the class names go with the export.
    let sm = tmp.path().join("served");
    let frozen = tmp.path().join("words.pb");
    let log = tfreuse(&["export", "--meta", &meta, "--saved-model", sm.to_str().unwrap(), "--frozen", frozen.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&log.stderr);
    assert!(log.status.success() && err.contains("x = X:0 -> logits = new_outputs/BiasAdd:0") && err.contains("10 class names"), "{err}");
    assert_eq!(std::fs::read_to_string(sm.join("assets/labels.txt")).unwrap(), recorded);
    assert_eq!(std::fs::read_to_string(tmp.path().join("words.labels.txt")).unwrap(), recorded);
    // Python loads the SavedModel, feeds the pictures' rows by signature key and gets the class
    // names, ids and probabilities `tfreuse predict` gives for the same pictures.
    let all = ["--validation-pct", "0", "--test-pct", "0"];
    let rows = tmp.path().join("rows.npz");
    ok(&[&["run", "--meta", &meta, "--data", &data, "--split", "train", "--fetch", "X:0", "--out", rows.to_str().unwrap()][..], &all]
        .concat());
    let mut sorted = words.to_vec();
    sorted.sort();
    let class_dirs: Vec<String> = sorted.iter().map(|w| format!("{pics}/{w}")).collect();
    let predicted = json(&ok(&[&["predict", "--meta", &meta, "--json", "--top-k", "1"][..], &strs(&class_dirs)].concat()));
    let predicted = predicted.as_array().unwrap();
    let served = json(&oracle(&["serve", sm.to_str().unwrap(), "--feed", &format!("x={}#X:0", rows.display())]));
    assert_eq!(served["assets"], serde_json::json!(["labels.txt"]), "{served}");
    assert_eq!(served["asset_filepaths"], serde_json::json!(["export/labels_file:0"]), "{served}");
    let o = &served["outputs"];
    let (classes, ids, probs) =
        (o["classes"].as_array().unwrap(), o["class_ids"].as_array().unwrap(), o["probabilities"].as_array().unwrap());
    assert_eq!(classes.len(), predicted.len());
    for (i, p) in predicted.iter().enumerate() {
        let top = &p["top"][0];
        assert_eq!(classes[i], top["label"], "{p}");
        assert_eq!(ids[i], top["id"], "{p}");
        let prob = probs[i][top["id"].as_u64().unwrap() as usize].as_f64().unwrap();
        assert!((prob - top["probability"].as_f64().unwrap()).abs() < 1e-6, "{p} vs {prob}");
    }
    assert!(classes.iter().any(|c| c != "zero") && classes.iter().all(|c| words.contains(&c.as_str().unwrap())), "{served}");
    // Logits that are not the recorded classes', or none to be found, are one line naming --logits.
    let other = tmp.path().join("other");
    let err = fails(&["export", "--meta", &meta, "--logits", "dnn/hidden4/Relu:0", "--saved-model", other.to_str().unwrap()], 2);
    assert!(err.contains("give 50 classes but the model's record names 10") && err.contains("--logits"), "{err}");
    let err = fails(&["export", "--meta", &fixture(DNN_META), "--saved-model", other.to_str().unwrap()], 2);
    assert!(err.contains("--logits: missing") && err.trim().lines().count() == 1, "{err}");
    assert!(!other.exists());
}

/// The picture files under `dir` (class folders), in name order.
fn picture_files(dir: &str) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flat_map(|class| std::fs::read_dir(class.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path().display().to_string())
        .collect();
    files.sort();
    files
}

/// `oracle.py serve-bytes` (each file's bytes fed alone to `image_bytes`) against `predict
/// --json --top-k 10` on the same files: the same top class, and the largest difference of the
/// probabilities among JPEGs and among the other pictures.
fn bytes_against_predict(served: &str, predicted: &serde_json::Value, files: &[String]) -> Agreement {
    let served = json(served);
    let (served, predicted) = (served.as_array().unwrap(), predicted.as_array().unwrap());
    assert_eq!((served.len(), predicted.len()), (files.len(), files.len()));
    let mut agreement = Agreement::default();
    for ((s, p), file) in served.iter().zip(predicted).zip(files) {
        let top = &p["top"][0];
        assert_eq!((&s["classes"], &s["class_ids"]), (&top["label"], &top["id"]), "{file}: {s} vs {p}");
        let jpeg = std::fs::read(file).unwrap().starts_with(&[0xff, 0xd8, 0xff]);
        let max = if jpeg { &mut agreement.jpeg } else { &mut agreement.other };
        for t in p["top"].as_array().unwrap() {
            let theirs = s["probabilities"][t["id"].as_u64().unwrap() as usize].as_f64().unwrap();
            *max = max.max((theirs - t["probability"].as_f64().unwrap()).abs());
        }
    }
    agreement
}

/// The largest difference of probabilities, JPEGs apart: the `image` crate's JPEG decoder and
/// libjpeg-turbo's (TF's, accurate IDCT) differ by up to 3 in some bytes; every other picture
/// is the same pixels, fitted to the byte, so only float noise is left.
#[derive(Default, Debug)]
struct Agreement {
    jpeg: f64,
    other: f64,
}

impl Agreement {
    fn check(&self, what: &str) {
        eprintln!("{what}: probabilities differ by at most {:.1e} (JPEG), {:.1e} (PNG, BMP, GIF, WebP)", self.jpeg, self.other);
        assert!(self.jpeg < 5e-3 && self.other < 1e-5, "{what}: {self:?}");
    }
}

#[test]
fn export_with_preprocessing_takes_picture_bytes_as_predict_does() {
    // 40x40 colour PNG, JPEG and BMP pictures for the book's MLP (flat 28x28 gray rows): the
    // graph decodes, converts, shrinks, scales and reshapes each one as predict does.
    let tmp = tempfile::tempdir().unwrap();
    let pics = folder(tmp.path(), &["--per-class", "3", "--size", "40", "--color"]);
    let out = tmp.path().join("m.ckpt");
    Train::new(&fixture(DNN_META), &format!("images:{pics}")).branch("dnn/hidden4/Relu:0").layers("10").batch(10).epochs(2).out(&out).ok();
    let meta = format!("{}.meta", out.display());
    let (sm, frozen) = (tmp.path().join("served"), tmp.path().join("m.pb"));
    let log = tfreuse(&[
        "export",
        "--meta",
        &meta,
        "--with-preprocessing",
        "--saved-model",
        sm.to_str().unwrap(),
        "--frozen",
        frozen.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&log.stderr);
    assert!(log.status.success(), "{err}");
    assert!(
        err.contains("X:0 (or image_bytes:0: one encoded picture) ->") && err.contains("serving_bytes: image_bytes = image_bytes:0"),
        "{err}"
    );
    // And the first picture again as GIF and (lossless) WebP, which TF's DecodeImage reads too.
    let mut files = picture_files(&pics);
    let first = image::open(&files[0]).unwrap();
    for ext in ["gif", "webp"] {
        let f = tmp.path().join(format!("first.{ext}"));
        first.to_rgb8().save(&f).unwrap();
        files.push(f.display().to_string());
    }
    let predicted = json(&ok(&[&["predict", "--meta", &meta, "--json", "--top-k", "10"][..], &strs(&files)].concat()));
    for model in [&sm, &frozen] {
        let served = oracle(&[&["serve-bytes", model.to_str().unwrap()][..], &strs(&files)].concat());
        bytes_against_predict(&served, &predicted, &files).check(&model.display().to_string());
    }
    // Feeding x is as before: the served rows of the pictures give predict's answers.
    let rows = tmp.path().join("rows.npz");
    let all = ["--validation-pct", "0", "--test-pct", "0"];
    let data = format!("images:{pics}");
    ok(&[&["run", "--meta", &meta, "--data", &data, "--split", "train", "--fetch", "X:0", "--out", rows.to_str().unwrap()][..], &all]
        .concat());
    let served = json(&oracle(&["serve", sm.to_str().unwrap(), "--feed", &format!("x={}#X:0", rows.display())]));
    for (i, p) in predicted.as_array().unwrap().iter().take(files.len() - 2).enumerate() {
        let (id, prob) = (p["top"][0]["id"].as_u64().unwrap() as usize, p["top"][0]["probability"].as_f64().unwrap());
        assert_eq!(served["outputs"]["class_ids"][i].as_u64(), Some(id as u64), "{p}");
        assert!((served["outputs"]["probabilities"][i][id].as_f64().unwrap() - prob).abs() < 1e-6, "{p}");
    }
    // Wider pictures, cropped or padded (the flags override the record), as predict fits them.
    let wide = folder(&tmp.path().join("wide"), &["--per-class", "3", "--size", "40", "--width", "56", "--color"]);
    let wide_files = picture_files(&wide);
    for mode in ["crop", "pad"] {
        let pb = tmp.path().join(format!("{mode}.pb"));
        ok(&["export", "--meta", &meta, "--with-preprocessing", "--resize-mode", mode, "--frozen", pb.to_str().unwrap()]);
        let predicted =
            json(&ok(&[&["predict", "--meta", &meta, "--json", "--top-k", "10", "--resize-mode", mode][..], &strs(&wide_files)].concat()));
        let served = oracle(&[&["serve-bytes", pb.to_str().unwrap()][..], &strs(&wide_files)].concat());
        bytes_against_predict(&served, &predicted, &wide_files).check(mode);
    }
    // A model of RGB pictures (the CNN's 32x32x3 input): no gray step; square and wide pictures
    // stretched.
    let cnn = tmp.path().join("cnn.ckpt");
    Train::cnn(&format!("images:{pics}")).batch(10).epochs(1).out(&cnn).ok();
    let cnn_meta = format!("{}.meta", cnn.display());
    let cnn_pb = tmp.path().join("cnn.pb");
    ok(&["export", "--meta", &cnn_meta, "--with-preprocessing", "--frozen", cnn_pb.to_str().unwrap()]);
    let both = [&files[..], &wide_files[..]].concat();
    let predicted = json(&ok(&[&["predict", "--meta", &cnn_meta, "--json", "--top-k", "10"][..], &strs(&both)].concat()));
    let served = oracle(&[&["serve-bytes", cnn_pb.to_str().unwrap()][..], &strs(&both)].concat());
    bytes_against_predict(&served, &predicted, &both).check("RGB");
    // A model with no picture record: one line naming what would say how to feed pictures.
    let other = tmp.path().join("other");
    let err = fails(
        &[
            "export",
            "--meta",
            &fixture(DNN_META),
            "--logits",
            "dnn/outputs/BiasAdd:0",
            "--with-preprocessing",
            "--saved-model",
            other.to_str().unwrap(),
        ],
        2,
    );
    assert!(
        err.contains("--with-preprocessing: the model has no picture record")
            && err.contains("--resize")
            && err.trim().lines().count() == 1,
        "{err}"
    );
    assert!(!other.exists());
}

#[test]
fn balanced_class_weights_weigh_each_row_of_the_loss() {
    // tiny's 32 + 32 rows made 32 + 8: weights 40 / (2 × 32) = 0.625 and 40 / (2 × 8) = 2.5.
    let tmp = tempfile::tempdir().unwrap();
    let mut all = tfreuse::data::npy::Npz::open(&root().join("fixtures/tiny/data.npz")).unwrap();
    let (DynArray::F32(x), DynArray::I64(y)) = (all.get("x").unwrap(), all.get("y").unwrap().cast(tensorflow::DataType::Int64).unwrap())
    else {
        panic!("tiny holds float32 x and integer y")
    };
    let mut ones = 0;
    let keep: Vec<usize> = (0..y.len())
        .filter(|&i| {
            y[i] == 0
                || (y[i] == 1 && {
                    ones += 1;
                    ones <= 8
                })
        })
        .collect();
    let x = x.select(ndarray::Axis(0), &keep);
    let y = y.select(ndarray::Axis(0), &keep);
    let npz = tmp.path().join("imbalanced.npz");
    tfreuse::data::npy::write_npz(&npz, &[("x".to_string(), DynArray::F32(x)), ("y".to_string(), DynArray::I64(y.clone()))]).unwrap();
    let data = format!("npz:{}", npz.display());
    let out = tmp.path().join("w/m.ckpt");
    let log = Train::new(&fixture(TINY_META), &data)
        .branch("dnn/hidden1/Relu:0")
        .layers("2")
        .batch(8)
        .epochs(2)
        .arg("--class-weight", "balanced")
        .out(&out)
        .output();
    let err = String::from_utf8_lossy(&log.stderr);
    assert!(log.status.success() && err.contains("class weights (balanced): 0: 0.6250, 1: 2.5000"), "{err}");
    // The saved loss is mean(w[y] × xent) of the saved logits, and Python reads the same.
    let meta = format!("{}.meta", out.display());
    let logits = new_logits(&meta, &data, "all", &[], &tmp.path().join("logits.npz"));
    let w = [0.625f64, 2.5];
    let expected = logits
        .chunks(2)
        .zip(y.iter())
        .map(|(l, &c)| {
            let (a, b) = (l[0] as f64, l[1] as f64);
            let lse = a.max(b) + ((a - a.max(b)).exp() + (b - a.max(b)).exp()).ln();
            w[c as usize] * (lse - l[c as usize] as f64)
        })
        .sum::<f64>()
        / 40.0;
    let eval = ["--meta", &meta, "--data", &data, "--split", "all", "--fetch", "new_loss/loss:0"];
    for (k, ours, theirs) in eval_both(&eval, &[]) {
        assert_eq!(ours, theirs, "{k}");
        assert!((ours - expected).abs() < 1e-5, "{k}: {ours} vs mean(w[y] xent) {expected}");
    }
    // Without a new head there is no loss of tfreuse's to weigh.
    let err = Train::new(&fixture(TINY_META), &data).batch(8).arg("--class-weight", "balanced").fails(2);
    assert!(err.contains("--class-weight: weights the loss of a new head; it needs --branch-from"), "{err}");
}

/// `events` of a `--json` log of one kind.
fn event(log: &Path, kind: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(log).unwrap();
    text.lines().map(json).find(|e| e["event"] == kind).unwrap_or_else(|| panic!("no {kind} event in {text}"))
}

/// The one segment file of the feature cache under `cache`.
fn segment(cache: &Path) -> std::path::PathBuf {
    let dirs: Vec<_> = std::fs::read_dir(cache).unwrap().map(|e| e.unwrap().path()).filter(|p| p.join("about.json").exists()).collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let segs: Vec<_> =
        std::fs::read_dir(&dirs[0]).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "bin")).collect();
    assert_eq!(segs.len(), 1, "{segs:?}");
    segs[0].clone()
}

#[test]
fn the_feature_cache_on_disk_is_reused_checked_grown_and_cleared() {
    let tmp = tempfile::tempdir().unwrap();
    let pics = folder(tmp.path(), &["--per-class", "12", "--size", "48", "--color", "--broken"]);
    let cache = tmp.path().join("cache");
    let cache_dir = cache.to_str().unwrap();
    // The CNN fixture's NHWC input; its feature maps averaged by the new head's gap layer (which
    // has no weights, so the cut nothing below trains is above it).
    let train = |name: &str, cached: bool| {
        let log = tmp.path().join(format!("{name}.json"));
        let mut t = Train::cnn(&format!("images:{pics}"))
            .batch(10)
            .epochs(3)
            .lr("0.1")
            .flag("--no-shuffle")
            .out(tmp.path().join(format!("{name}.ckpt")))
            .json_log(&log);
        if cached {
            t = t.flag("--cache-frozen").arg("--cache-dir", cache_dir);
        }
        let o = t.output();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let weights = std::fs::read(tmp.path().join(format!("{name}.ckpt.data-00000-of-00001"))).unwrap();
        (if cached { event(&log, "disk_cache") } else { serde_json::Value::Null }, weights)
    };
    let n = 120;
    // Cold: every picture computed; the two broken files are skipped (and tried again next time).
    let (cold, cold_weights) = train("cold", true);
    assert_eq!((cold["hits"].as_u64(), cold["misses"].as_u64()), (Some(0), Some(n + 2)), "{cold}");
    assert_eq!(cold["skipped"].as_array().unwrap().len(), 2, "{cold}");
    assert_eq!(cold["tensor"], "new_gap1/Mean:0");
    // Warm: every picture read back, and training gives the same bytes.
    let (warm, warm_weights) = train("warm", true);
    assert_eq!((warm["hits"].as_u64(), warm["misses"].as_u64(), warm["damaged"].as_u64()), (Some(n), Some(2), Some(0)), "{warm}");
    assert!(warm_weights == cold_weights, "a warm cache trains to other weights");
    // Without the cache: the same training, within float rounding (the cache computes its rows
    // in batches of 256, training in batches of 10).
    let (_, plain) = train("plain", false);
    let floats = |b: &[u8]| b.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect::<Vec<f32>>();
    let diff = floats(&plain).iter().zip(floats(&cold_weights)).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(plain.len() == cold_weights.len() && diff < 1e-4, "cached and uncached training differ by {diff}");
    // A damaged record is found by its checksum and computed again; a torn tail likewise.
    let seg = segment(&cache);
    let mut bytes = std::fs::read(&seg).unwrap();
    bytes[16 + 40] ^= 0x40;
    std::fs::write(&seg, &bytes).unwrap();
    let (mended, mended_weights) = train("mended", true);
    assert_eq!((mended["damaged"].as_u64(), mended["misses"].as_u64()), (Some(1), Some(3)), "{mended}");
    assert!(mended_weights == cold_weights);
    let seg = segment(&cache); // merged into one sound segment
    let len = std::fs::metadata(&seg).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&seg).unwrap().set_len(len - 10).unwrap();
    let (torn, _) = train("torn", true);
    assert_eq!((torn["damaged"].as_u64(), torn["misses"].as_u64()), (Some(1), Some(3)), "{torn}");
    // Pictures added later only add entries.
    oracle(&["image-folder", "--data", &mnist(), "--out", &pics, "--per-class", "3", "--first", "12", "--size", "48", "--color"]);
    let (grown, _) = train("grown", true);
    assert_eq!((grown["hits"].as_u64(), grown["misses"].as_u64()), (Some(n), Some(30 + 2)), "{grown}");
    // A folder of the previous format (its key file without the version) is read as before.
    let keyed: Vec<_> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).filter(|p| p.join("about.json").exists()).collect();
    assert_eq!(keyed.len(), 1, "{keyed:?}");
    let about = keyed[0].join("about.json");
    let key = std::fs::read_to_string(&about).unwrap();
    assert!(key.starts_with("{\n  \"format\": 2,"), "{key}");
    std::fs::write(&about, key.replace("  \"format\": 2,\n", "")).unwrap();
    let (older, _) = train("older", true);
    assert_eq!((older["hits"].as_u64(), older["misses"].as_u64()), (Some(n + 30), Some(2)), "{older}");
    // info names the cut and counts the pictures; clear removes only the cache's own folders.
    let info = json(&ok(&["cache", "info", "--json", "--cache-dir", cache_dir]));
    assert_eq!(info.as_array().unwrap().len(), 1, "{info}");
    assert_eq!(info[0]["entries"].as_u64(), Some(n + 30), "{info}");
    assert_eq!(info[0]["damaged"].as_u64(), Some(0), "{info}");
    // A folder of a newer format is left alone: training computes apart and says so in one
    // warning; info does not read it and clear keeps it.
    std::fs::write(&about, key.replace("\"format\": 2", "\"format\": 3")).unwrap();
    let files = |dir: &Path| {
        let mut all: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).map(|p| (std::fs::read(&p).unwrap(), p)).collect();
        all.sort();
        all
    };
    let before = files(&keyed[0]);
    let (newer, newer_weights) = train("newer", true);
    assert_eq!((newer["hits"].as_u64(), newer["misses"].as_u64()), (Some(0), Some(n + 30 + 2)), "{newer}");
    assert!(newer_weights.len() == cold_weights.len());
    let warning = event(&tmp.path().join("newer.json"), "warning");
    let want = format!("{}: written by a newer tfreuse (feature cache format 3; this one reads up to 2): upgrade tfreuse", about.display());
    assert!(warning["message"].as_str().unwrap().starts_with(&want), "{warning}");
    assert!(files(&keyed[0]) == before, "the newer folder is untouched");
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1, "no scratch folder is left");
    let info = json(&ok(&["cache", "info", "--json", "--cache-dir", cache_dir]));
    assert_eq!((info[0]["newer"].as_bool(), info[0]["entries"].as_u64()), (Some(true), Some(0)), "{info}");
    std::fs::create_dir_all(cache.join("mine")).unwrap();
    let cleared = ok(&["cache", "clear", "--cache-dir", cache_dir]);
    assert!(cleared.contains("MB freed") && cleared.contains("kept 1 folder(s) written by a newer tfreuse"), "{cleared}");
    assert!(cache.join("mine").exists() && files(&keyed[0]) == before);
    std::fs::write(&about, &key).unwrap();
    assert!(ok(&["cache", "clear", "--cache-dir", cache_dir]).contains("MB freed"));
    assert!(cache.join("mine").exists());
    assert_eq!(json(&ok(&["cache", "info", "--json", "--cache-dir", cache_dir])).as_array().map(Vec::len), Some(0));
}

#[test]
fn augmentation_is_drawn_from_the_seed_and_refused_with_a_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let pics = folder(tmp.path(), &["--per-class", "6", "--size", "40", "--color"]);
    let run = |name: &str, seed: u64, augment: Option<&str>| {
        let out = tmp.path().join(format!("{name}.ckpt"));
        let mut t = Train::cnn(&format!("images:{pics}")).batch(8).epochs(2).seed(seed).out(&out);
        if let Some(a) = augment {
            t = t.arg("--augment", a);
        }
        t.ok();
        std::fs::read(tmp.path().join(format!("{name}.ckpt.data-00000-of-00001"))).unwrap()
    };
    let all = "flip,rotate=15,crop=0.2,brightness=0.3,contrast=0.3";
    let (a, b, other, plain) = (run("a", 1, Some(all)), run("b", 1, Some(all)), run("c", 2, Some(all)), run("plain", 1, None));
    assert!(a == b, "the same seed draws the same changes");
    assert!(a != other && a != plain, "another seed, or none, trains otherwise");
    // The book's flat MNIST rows are square gray pictures too.
    Train::dnn().branch("dnn/hidden4/Relu:0").layers("10").epochs(1).arg("--augment", "rotate=10").ok();
    let err = fails(&[&strs(&Train::dnn().args())[..], &["--augment", "flip", "--cache-frozen"]].concat(), 2);
    assert!(err.contains("--augment with --cache-frozen"), "{err}");
    assert!(fails(&[&strs(&Train::dnn().args())[..], &["--augment", "spin=3"]].concat(), 2).contains("unknown change \"spin\""));
}

#[test]
fn scale_maps_pixels_to_a_range_or_per_channel_and_is_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let pics = folder(tmp.path(), &["--per-class", "3", "--size", "28"]);
    let out = |n: &str| tmp.path().join(format!("{n}.npz"));
    let (plain, _) = rows(&pics, "train", &[], &out("plain"));
    let (range, _) = rows(&pics, "train", &["--scale", "-1,1"], &out("range"));
    let (norm, _) = rows(&pics, "train", &["--scale", "mean=0.5,std=0.25"], &out("norm"));
    assert_eq!(plain.len(), range.len());
    for ((p, r), n) in plain.iter().zip(&range).zip(&norm) {
        assert!((r - (2.0 * p - 1.0)).abs() < 1e-5 && (n - (p - 0.5) / 0.25).abs() < 1e-4, "{p} {r} {n}");
    }
    let err = fails(
        &[
            "run",
            "--meta",
            &fixture(DNN_META),
            "--data",
            &format!("images:{pics}"),
            "--fetch",
            "X:0",
            "--scale",
            "mean=0.5,0.5,0.5,std=1,1,1",
        ],
        2,
    );
    assert!(err.contains("has 3 channels"), "{err}");
    // The scale is recorded with the model, and predict feeds pictures as training did.
    let prefix = tmp.path().join("m.ckpt");
    Train::new(&fixture(DNN_META), &format!("images:{pics}"))
        .branch("dnn/hidden4/Relu:0")
        .layers("10")
        .batch(6)
        .epochs(1)
        .arg("--scale", "-1,1")
        .out(&prefix)
        .ok();
    let record = std::fs::read_to_string(format!("{}.preprocess.json", prefix.display())).unwrap();
    assert!(record.contains("\"scale\": \"-1,1\""), "{record}");
    let meta = format!("{}.meta", prefix.display());
    let predicted = json(&ok(&["predict", "--meta", &meta, "--json", "--top-k", "1", &format!("{pics}/3")]));
    let logits = new_logits(&meta, &format!("images:{pics}"), "train", &["--validation-pct", "0", "--test-pct", "0"], &out("logits"));
    let threes: Vec<&[f32]> = logits.chunks(10).skip(9).take(3).collect();
    for (p, l) in predicted.as_array().unwrap().iter().zip(threes) {
        let best = (0..10).max_by(|&a, &b| l[a].total_cmp(&l[b]).then(b.cmp(&a))).unwrap();
        assert_eq!(p["top"][0]["label"], best.to_string(), "{p} {l:?}");
    }
}

#[test]
fn crop_and_pad_fit_wide_pictures_as_python_does() {
    // 56x40 pictures to the MLP's 28x28: the centred 40x40 resized (crop), or resized to 28x20
    // and centred on black (pad); Python does each with crop_to_bounding_box / resize with
    // preserve_aspect_ratio + pad_to_bounding_box.
    let all = ["--validation-pct", "0", "--test-pct", "0"];
    for mode in ["crop", "pad"] {
        let tmp = tempfile::tempdir().unwrap();
        let pics = folder(tmp.path(), &["--per-class", "3", "--size", "40", "--width", "56", "--color", "--mode", mode]);
        let (ours, _) = rows(&pics, "train", &[&all[..], &["--resize-mode", mode]].concat(), &tmp.path().join("ours.npz"));
        let theirs = floats(tfreuse::data::npy::Npz::open(&tmp.path().join("pics_python.npz")).unwrap().get("x").unwrap());
        assert_eq!(ours.len(), theirs.len());
        let diffs: Vec<f32> = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs()).collect();
        let (max, mean) = (diffs.iter().cloned().fold(0.0, f32::max), diffs.iter().sum::<f32>() / diffs.len() as f32);
        assert!(max < 0.08 && mean < 0.003, "{mode}: max {max} mean {mean}");
    }
}

#[test]
fn a_graph_of_its_own_names_trains_with_only_the_recipe_flags() {
    let tmp = tempfile::tempdir().unwrap();
    // Enough pictures for the default batch of 200.
    let pics = folder(tmp.path(), &["--per-class", "30", "--size", "40", "--color"]);
    let meta = fixture("cnn_rgb/cnn.ckpt.meta");
    let data = format!("images:{pics}");
    // No X:0 or y:0: the graph's only picture placeholder and its integer labels are used, said.
    let t = Train::new(&meta, &data).branch("cnn/pool2:0").layers("gap,10").flag("--cache-frozen").epochs(1);
    let log = t.output();
    let err = String::from_utf8_lossy(&log.stderr);
    assert!(log.status.success(), "{err}");
    assert!(err.contains("--input images:0 (the graph's only float placeholder"), "{err}");
    assert!(err.contains("--labels labels:0 (the graph's only integer placeholder"), "{err}");
    assert!(!err.contains("new_labels"), "the graph's own labels are fed: {err}");
    // A wrong input is said before anything about its picture size.
    let err = fails(&["train", "--meta", &meta, "--data", &data, "--input", "image:0", "--branch-from", "cnn/pool2:0"], 2);
    assert!(err.contains("no tensor \"image:0\" in the graph (did you mean images:0"), "{err}");
    assert!(!err.contains("picture size"), "{err}");
}
