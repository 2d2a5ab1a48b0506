//! `--arch NAME --checkpoint PREFIX`: TF-Slim's nets restored from checkpoints without a
//! `.meta`, against TF-Slim in Python (python/slim_oracle.py, random weights). Checkpoints are
//! made once per test binary's target dir and kept (keyed by the scripts' digest): each costs a
//! Python TF start and up to a few hundred MB.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use ndarray::ArrayD;

use crate::common::*;

/// The checkpoint `slim_oracle.py checkpoint ARGS` writes (prefix `DIR/model.ckpt`), made on
/// first use under the target's temporary dir and reused by later tests and runs.
pub(crate) fn checkpoint(key: &str, args: &[&str]) -> PathBuf {
    static MAKING: Mutex<()> = Mutex::new(());
    let scripts: String =
        ["python/make_slim.py", "python/slim_oracle.py"].iter().map(|p| sha256(&root().join(p))[..12].to_string()).collect();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("slim").join(format!("{key}-{scripts}-{}", args.join("_").replace('/', "-")));
    let prefix = dir.join("model.ckpt");
    let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    if dir.join("done").exists() {
        return prefix;
    }
    let scratch = dir.with_extension("tmp");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let out = Command::new(root().join(".venv/bin/python"))
        .arg(root().join("python/slim_oracle.py"))
        .args(["checkpoint", "--out", scratch.join("model.ckpt").to_str().unwrap()])
        .args(args)
        .env("TF_ENABLE_ONEDNN_OPTS", "0")
        .output()
        .expect("run python/slim_oracle.py (make test installs tf-slim)");
    assert!(out.status.success(), "slim_oracle {args:?} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    std::fs::write(scratch.join("done"), "").unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&scratch, &dir).unwrap();
    prefix
}

fn arrays(npz: &Path) -> Vec<(String, ArrayD<f32>)> {
    let mut r = ndarray_npy::NpzReader::new(std::fs::File::open(npz).unwrap()).unwrap();
    let names = r.names().unwrap();
    names.into_iter().map(|n| (n.trim_end_matches(".npy").to_string(), r.by_name(&n).unwrap())).collect()
}

/// `run --arch` on the oracle's pictures fetches what TF-Slim in Python fetched, bit for bit.
fn same_as_python(arch: &str, prefix: &Path, fetches: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("ours.npz");
    let (p, x) = (prefix.to_str().unwrap(), format!("input={}.x.npy", prefix.display()));
    let mut args = vec!["run", "--arch", arch, "--checkpoint", p, "--feed", &x, "--out", ours.to_str().unwrap()];
    fetches.iter().for_each(|f| args.extend(["--fetch", f]));
    ok(&args);
    let theirs = arrays(&PathBuf::from(format!("{}.values.npz", prefix.display())));
    let ours = arrays(&ours);
    assert_eq!(theirs.len(), fetches.len());
    for (name, want) in &theirs {
        let got = &ours.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{arch}: no {name} in {ours:?}")).1;
        assert_eq!(got.shape(), want.shape(), "{arch} {name}");
        let diff = got.iter().zip(want).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(got == want, "{arch} {name}: max |Δ| {diff}");
    }
}

fn oracle_checkpoint(arch: &str, pictures: &str, fetches: &[&str], extra: &[&str]) -> PathBuf {
    let mut args = vec!["--arch", arch, "--pictures", pictures];
    fetches.iter().for_each(|f| args.extend(["--fetch", f]));
    args.extend(extra);
    checkpoint(arch, &args)
}

#[test]
fn inception_v1_logits_and_an_end_point_equal_tf_slims() {
    let fetches = ["InceptionV1/Logits", "InceptionV1/Mixed_4f:0"];
    same_as_python("inception_v1", &oracle_checkpoint("inception_v1", "2,224,224", &fetches, &[]), &fetches);
}

#[test]
fn inception_v3_logits_at_299_equal_tf_slims() {
    let fetches = ["InceptionV3/Logits", "InceptionV3/PreLogits"];
    same_as_python("inception_v3", &oracle_checkpoint("inception_v3", "2,299,299", &fetches, &[]), &fetches);
}

#[test]
fn resnets_equal_tf_slims_and_a_v1_checkpoint_restores() {
    // Any picture size: global average pooling. Small pictures keep the test short.
    let fetches = ["resnet_v1_50/logits/BiasAdd:0", "resnet_v1_50/block4"];
    same_as_python("resnet_v1_50", &oracle_checkpoint("resnet_v1_50", "2,64,64", &fetches, &[]), &fetches);
    let fetches = ["resnet_v2_50/logits/BiasAdd:0", "resnet_v2_50/block3:0"];
    same_as_python("resnet_v2_50", &oracle_checkpoint("resnet_v2_50", "2,64,64", &fetches, &["--v1"]), &fetches);
    let fetches = ["resnet_v1_101/logits/BiasAdd:0"];
    same_as_python("resnet_v1_101", &oracle_checkpoint("resnet_v1_101", "1,32,32", &fetches, &[]), &fetches);
}

#[test]
fn vgg_16_logits_and_pool5_equal_tf_slims() {
    // 138 M parameters: a 553 MB checkpoint, one picture (vgg_16 takes 224×224 only).
    let fetches = ["vgg_16/fc8", "vgg_16/pool5"];
    same_as_python("vgg_16", &oracle_checkpoint("vgg_16", "1,224,224", &fetches, &[]), &fetches);
}

#[test]
fn every_arch_lists_its_end_points_which_name_real_tensors() {
    for name in tfreuse::slim::names() {
        let meta = tfreuse::MetaGraph::from_arch(name).unwrap();
        let ops: std::collections::HashSet<String> = meta.graph_def().unwrap().node.into_iter().map(|n| n.name).collect();
        for (end_point, tensor) in &meta.aliases {
            assert!(!ops.contains(end_point), "{name}: end point {end_point} is also an op's name");
            assert!(ops.contains(tensor.trim_end_matches(":0")), "{name}: {end_point} → {tensor}, not in the graph");
        }
        assert!(meta.saver_def().is_some(), "{name}");
        tfreuse::data::scale::Scale::parse(&tfreuse::slim::Arch::named(name).unwrap().scale_spec()).unwrap();
    }
    // Without a checkpoint, inspect says which flag is missing and lists the graph's end points.
    let err = String::from_utf8(tfreuse(&["inspect", "--arch", "vgg_16", "--json"]).stderr).unwrap();
    assert!(err.contains("--checkpoint"), "{err}");
    let rep = json(&ok(&["inspect", "--arch", "vgg_16", "--json"]));
    assert_eq!(rep["end_points"]["vgg_16/fc7"], "vgg_16/fc7/Relu:0");
    assert_eq!(rep["meta"], "arch:vgg_16");
}

/// Two classes of 75×75 pictures (dark and light noise), 8 each.
pub(crate) fn pictures(dir: &Path) {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for (c, base) in [(0u8, 0u8), (1, 128)] {
        let d = dir.join(format!("class{c}"));
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..8 {
            let img = image::RgbImage::from_fn(80, 80, |_, _| image::Rgb([base + rng.gen_range(0..128u8); 3]));
            img.save(d.join(format!("p{i}.png"))).unwrap();
        }
    }
}

#[test]
fn a_head_trained_on_an_end_point_is_read_back_by_python() {
    let ckpt = oracle_checkpoint("inception_v1", "2,224,224", &["InceptionV1/Logits", "InceptionV1/Mixed_4f:0"], &[]);
    let tmp = tempfile::tempdir().unwrap();
    pictures(&tmp.path().join("pics"));
    let out = tmp.path().join("head.ckpt");
    let data = format!("images:{}", tmp.path().join("pics").display());
    let (c, o) = (ckpt.to_str().unwrap(), out.to_str().unwrap());
    let log = ok(&[
        "train",
        "--arch",
        "inception_v1",
        "--checkpoint",
        c,
        "--branch-from",
        "InceptionV1/Mixed_5c",
        "--new-layers",
        "gap,2",
        "--data",
        &data,
        "--resize",
        "75x75",
        "--freeze-below",
        "InceptionV1/Mixed_5c",
        "--epochs",
        "2",
        "--batch-size",
        "4",
        "--out",
        o,
    ]);
    assert!(log.contains("test: loss"), "{log}");
    // The record holds the arch's input and scale, filled in as a zoo entry's would be.
    let record = json(&std::fs::read_to_string(tmp.path().join("head.ckpt.preprocess.json")).unwrap());
    assert_eq!((record["input"].as_str(), record["scale"].as_str()), (Some("input:0"), Some("-1,1")));
    // Python imports the saved .meta and computes the same logits on the same pictures.
    let x = tmp.path().join("x.npy");
    ndarray_npy::write_npy(
        &x,
        &ndarray::Array4::<f32>::from_shape_fn((3, 75, 75, 3), |(n, h, w, c)| ((n * 7 + h * 3 + w + c) % 17) as f32 / 8.0 - 1.0),
    )
    .unwrap();
    let meta = format!("{o}.meta");
    let (ours, theirs) = (tmp.path().join("ours.npz"), tmp.path().join("theirs.npz"));
    let feed = format!("input={}", x.display());
    ok(&["run", "--meta", &meta, "--feed", &feed, "--fetch", "new_outputs/BiasAdd:0", "--out", ours.to_str().unwrap()]);
    let feed = format!("input:0={}", x.display());
    oracle(&["run", "--meta", &meta, "--feed", &feed, "--fetch", "new_outputs/BiasAdd:0", "--out", theirs.to_str().unwrap()]);
    let (a, b) = (arrays(&ours), arrays(&theirs));
    assert_eq!(a[0].1, b[0].1, "tfreuse and Python differ on the trained head");
}

#[test]
fn wrong_checkpoints_fail_in_one_line_naming_the_variable() {
    let good = checkpoint("inception_v1", &["--arch", "inception_v1"]);
    let ten = checkpoint("inception_v1", &["--arch", "inception_v1", "--num-classes", "10"]);
    let dropped = "InceptionV1/Mixed_4b/Branch_0/Conv2d_0a_1x1/weights";
    let missing = checkpoint("inception_v1", &["--arch", "inception_v1", "--drop", dropped]);
    let run = |arch: &str, c: &Path| fails(&["run", "--arch", arch, "--checkpoint", c.to_str().unwrap(), "--fetch", "input:0"], 3);
    let e = run("inception_v1", &ten);
    assert!(
        e.contains("variable InceptionV1/Logits/Conv2d_0c_1x1/weights: graph [1, 1, 1024, 1001] vs checkpoint [1, 1, 1024, 10]"),
        "{e}"
    );
    let e = run("inception_v1", &missing);
    assert!(e.contains(&format!("variable {dropped} is not in the checkpoint")), "{e}");
    let e = run("resnet_v1_50", &good);
    assert!(e.contains("holds none of the graph's 267 variables") && e.contains("InceptionV1/"), "{e}");
    // train restores what fits and says what it initialises, but not a checkpoint of another net.
    let tmp = tempfile::tempdir().unwrap();
    pictures(&tmp.path().join("pics"));
    let data = format!("images:{}", tmp.path().join("pics").display());
    let out = tmp.path().join("h.ckpt");
    let e = fails(
        &[
            "train",
            "--arch",
            "resnet_v1_50",
            "--checkpoint",
            good.to_str().unwrap(),
            "--branch-from",
            "resnet_v1_50/block1",
            "--new-layers",
            "gap,2",
            "--data",
            &data,
            "--resize",
            "32x32",
            "--out",
            out.to_str().unwrap(),
        ],
        2,
    );
    assert!(e.contains("--checkpoint: holds none of resnet_v1_50's 267 variables (such as resnet_v1_50/conv1/weights)"), "{e}");
    let e = fails(&["run", "--arch", "inception_v1", "--fetch", "input:0"], 2);
    assert!(e.contains("--checkpoint: missing"), "{e}");
    let e = fails(&["run", "--arch", "inception_v4", "--checkpoint", good.to_str().unwrap(), "--fetch", "input:0"], 2);
    assert!(e.contains("--arch inception_v4: not a TF-Slim architecture tfreuse knows (known: inception_v1, inception_v3,"), "{e}");
}

/// The top Inception block trained on cached features: the frozen part reaches Mixed_7c through
/// Mixed_7b and the pool its Branch_3 computes from it alone, so Mixed_7b is the cut; at a free
/// picture size its shape comes from one run. The losses are the uncached run's.
#[test]
fn the_top_inception_block_trains_on_cached_features_as_without() {
    let fetches = ["InceptionV3/Logits", "InceptionV3/PreLogits"];
    let ckpt = oracle_checkpoint("inception_v3", "2,299,299", &fetches, &[]);
    let tmp = tempfile::tempdir().unwrap();
    pictures(&tmp.path().join("pics"));
    let data = format!("images:{}", tmp.path().join("pics").display());
    let losses = |cached: bool| {
        let log = tmp.path().join(format!("log{cached}.jsonl"));
        let cache = tmp.path().join("cache");
        let mut args = vec!["train", "--arch", "inception_v3", "--checkpoint", ckpt.to_str().unwrap(), "--data", &data];
        args.extend(["--resize", "75x75", "--branch-from", "InceptionV3/Mixed_7c", "--new-layers", "gap,2"]);
        args.extend(["--freeze-below", "InceptionV3/Mixed_7b", "--optimizer", "sgd", "--lr", "0.001", "--epochs", "2"]);
        args.extend(["--batch-size", "4", "--no-shuffle", "--json", log.to_str().unwrap()]);
        let out = tmp.path().join("v3.ckpt");
        if cached {
            args.extend(["--cache-frozen", "--cache-dir", cache.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        }
        ok(&args);
        let events: Vec<serde_json::Value> = std::fs::read_to_string(&log).unwrap().lines().map(json).collect();
        let setup = events.iter().find(|e| e["event"] == "setup").expect("a setup event");
        let trained: Vec<&str> = setup["trained"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        assert_eq!(trained.len(), 20, "{trained:?}");
        assert!(trained.iter().all(|v| v.starts_with("InceptionV3/Mixed_7c/") || v.starts_with("new_")), "{trained:?}");
        if cached {
            let disk = events.iter().find(|e| e["event"] == "disk_cache").expect("a disk_cache event");
            assert_eq!(disk["tensor"], "new_stop_gradient:0", "{disk}");
        }
        events.iter().filter(|e| e["event"] == "epoch").map(|e| e["train_loss"].as_f64().unwrap()).collect::<Vec<_>>()
    };
    let (plain, cached) = (losses(false), losses(true));
    assert_eq!(plain.len(), 2);
    for (a, b) in plain.iter().zip(&cached) {
        assert!((a - b).abs() <= 1e-4 * a.abs().max(1.0), "uncached {plain:?} vs cached {cached:?}");
    }
    // What was trained on cached features is a whole model: Python imports the saved .meta
    // and computes tfreuse's logits from pictures.
    let x = tmp.path().join("x.npy");
    ndarray_npy::write_npy(
        &x,
        &ndarray::Array4::<f32>::from_shape_fn((2, 75, 75, 3), |(n, h, w, c)| ((n * 5 + h * 3 + w + c) % 13) as f32 / 6.0 - 1.0),
    )
    .unwrap();
    let meta = format!("{}.meta", tmp.path().join("v3.ckpt").display());
    let (ours, theirs) = (tmp.path().join("ours.npz"), tmp.path().join("theirs.npz"));
    let feed = format!("input={}", x.display());
    ok(&["run", "--meta", &meta, "--feed", &feed, "--fetch", "new_outputs/BiasAdd:0", "--out", ours.to_str().unwrap()]);
    let feed = format!("input:0={}", x.display());
    oracle(&["run", "--meta", &meta, "--feed", &feed, "--fetch", "new_outputs/BiasAdd:0", "--out", theirs.to_str().unwrap()]);
    assert_eq!(arrays(&ours)[0].1, arrays(&theirs)[0].1, "tfreuse and Python differ on the trained inception_v3");
}
