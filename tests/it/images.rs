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

/// The rows tfreuse feeds the book's MLP for split `split` of `images:DIR`.
fn rows(dir: &str, split: &str, extra: &[&str], out: &Path) -> (Vec<f32>, String) {
    let data = format!("images:{dir}");
    let args = ["run", "--meta", &fixture(DNN_META), "--data", &data, "--split", split, "--fetch", "X:0", "--out", out.to_str().unwrap()];
    let o = tfreuse(&[&args[..], extra].concat());
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    (floats(tfreuse::data::npy::Npz::open(out).unwrap().get("X:0").unwrap()), err)
}

#[test]
fn picture_folders_decode_resize_and_feed_as_python_does() {
    let tmp = tempfile::tempdir().unwrap();
    let pics = folder(tmp.path(), &["--per-class", "12", "--size", "40", "--color", "--broken"]);
    // Every picture in training: 40x40 colour to the MLP's 28x28 gray rows, as Python makes them
    // (stated tolerance: JPEG decoders and resampling filters differ in the last bits).
    let all = ["--validation-pct", "0", "--test-pct", "0"];
    let (ours, err) = rows(&pics, "train", &all, &tmp.path().join("ours.npz"));
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
    let log = Train::new(&fixture(DNN_META), &data).branch("dnn/hidden4/Relu:0").layers("10").batch(20).epochs(3).output();
    let err = String::from_utf8_lossy(&log.stderr);
    assert!(log.status.success() && err.contains("pictures: 10 classes"), "{err}");
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
