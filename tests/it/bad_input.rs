//! Bad input through the real binary: a corpus generated here from the fixtures (truncated
//! and bit-flipped files, graphs with unknown ops or stale shape attributes, bad data, bad
//! flags). Every case must end in one error line with a documented exit code (2 bad
//! arguments, 3 bad file, 5 TensorFlow refused) — never a panic, an abort or a hang — and
//! leave the input files byte-identical.

use crate::common::*;
use prost::Message;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Run with a time limit; returns (exit code, stderr). A signal death is a failure.
fn run(args: &[&str]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tfreuse"))
        .args(args)
        .env("TF_ENABLE_ONEDNN_OPTS", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            let code = status.code().unwrap_or_else(|| panic!("tfreuse {args:?} died of a signal: {status:?}\n{err}"));
            return (code, err);
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("tfreuse {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The case must fail with one of `codes` and exactly one error line, last.
fn expect_error(case: &str, args: &[&str], codes: &[i32]) -> String {
    let (code, err) = run(args);
    assert!(codes.contains(&code), "{case}: exit {code}, expected one of {codes:?}\n{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("tfreuse: error: ")).collect();
    assert_eq!(errors.len(), 1, "{case}: expected one error line:\n{err}");
    assert!(err.trim_end().lines().last().unwrap().starts_with("tfreuse: error: "), "{case}: {err}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{case}: {err}");
    err
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn flip(bytes: &mut [u8], seed: u64, n: usize) {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    for _ in 0..n {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let i = (s % bytes.len() as u64) as usize;
        bytes[i] ^= 1 << (s >> 60 & 7);
    }
}

/// `orig` truncated and emptied (must fail), and bit-flipped four ways (may pass, where a
/// flip lands on bytes nothing checks).
fn corruptions(orig: &[u8], seed: u64) -> Vec<(&'static str, Vec<u8>, bool)> {
    let mut variants = vec![("truncated", orig[..orig.len() / 2].to_vec(), true), ("empty", vec![], true)];
    for i in 0..4u64 {
        let mut b = orig.to_vec();
        flip(&mut b, seed + i, 1 + i as usize);
        variants.push(("flipped", b, false));
    }
    variants
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

fn hash_tree(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(hash_tree(&p));
        } else {
            out.insert(p.clone(), sha256(&p));
        }
    }
    out
}

#[test]
fn corrupted_checkpoint_files() {
    let tmp = tempfile::tempdir().unwrap();
    let tiny = root().join("fixtures/tiny");
    let data = tiny_data();
    let files = ["tiny.ckpt.meta", "tiny.ckpt.index", "tiny.ckpt.data-00000-of-00001", "checkpoint"];
    let mut n = 0;
    for f in files {
        let orig = std::fs::read(tiny.join(f)).unwrap();
        let mut variants: Vec<(String, Vec<u8>, bool)> =
            vec![("truncated".into(), orig[..orig.len() / 2].to_vec(), true), ("empty".into(), vec![], true)];
        for seed in 0..4 {
            let mut b = orig.clone();
            flip(&mut b, seed + 1, 1 + seed as usize * 2);
            // A flip may land where nothing is checked (docs in the op list): then success is fine.
            variants.push((format!("flipped{seed}"), b, f != "tiny.ckpt.meta" && f != "checkpoint"));
        }
        for (kind, bytes, must_fail) in variants {
            let dir = tmp.path().join(format!("{f}-{kind}"));
            copy_dir(&tiny, &dir);
            std::fs::write(dir.join(f), &bytes).unwrap();
            let before = hash_tree(&dir);
            let meta = dir.join("tiny.ckpt.meta");
            let mut args = vec!["eval", "--meta", meta.to_str().unwrap(), "--data", &data, "--split", "all"];
            if f == "checkpoint" {
                // The .meta's own prefix is taken before the state file; make it read.
                args.extend(["--checkpoint", dir.to_str().unwrap()]);
            }
            let (code, err) = run(&args);
            if must_fail || code != 0 {
                expect_error(&format!("{f} {kind}"), &args, &[2, 3, 5]);
                assert!(err.contains(dir.to_str().unwrap()), "{f} {kind}: the error names the file: {err}");
            }
            assert_eq!(before, hash_tree(&dir), "{f} {kind}: inputs must not change");
            n += 1;
        }
    }
    assert_eq!(n, 24);
}

/// The tiny .meta with its GraphDef edited.
fn edited_meta(dir: &Path, edit: impl FnOnce(&mut tfreuse::proto::GraphDef)) -> PathBuf {
    copy_dir(&root().join("fixtures/tiny"), dir);
    let p = dir.join("tiny.ckpt.meta");
    let mut m = tfreuse::MetaGraph::read(&p).unwrap();
    let mut g = m.graph_def().unwrap();
    edit(&mut g);
    m.set_graph_def(&g);
    std::fs::write(&p, m.encode()).unwrap();
    p
}

/// The hostile fixtures (a model is a program): every command that would run their ops is
/// refused in one line, from a folder where they would write; nothing appears there and the
/// fixtures stay as they were.
#[test]
fn hostile_models_are_refused_by_every_command_that_would_run_them() {
    let before = hash_tree(&root().join("fixtures/hostile"));
    let cwd = tempfile::tempdir().unwrap();
    let here = |p: &str| cwd.path().join(p).display().to_string();
    let (data, out) = (tiny_data(), here("out/m"));
    let meta = |v: &str| fixture(&format!("hostile/{v}/model.ckpt.meta"));
    let pb = fixture("hostile/listing.pb");
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("eval write", owned(&["eval", "--meta", &meta("write"), "--data", &data, "--split", "all"])),
        ("run write", owned(&["run", "--meta", &meta("write"), "--data", &data, "--split", "all", "--fetch", "eval/accuracy:0"])),
        ("eval read", owned(&["eval", "--meta", &meta("read"), "--data", &data, "--split", "all"])),
        (
            "train read",
            owned(&[
                "train",
                "--meta",
                &meta("read"),
                "--data",
                &data,
                "--branch-from",
                "dnn/hidden1/features:0",
                "--new-layers",
                "2",
                "--out",
                &out,
            ]),
        ),
        // (`train` restores by variable name with ops of its own: the saver's fake restore
        // op never runs there, so it is not refused.)
        (
            "run tf2 write",
            owned(&["run", "--saved-model", &fixture("hostile/tf2_write"), "--data", &data, "--split", "all", "--fetch", "@logits"]),
        ),
        (
            "run tf2 path",
            owned(&["run", "--saved-model", &fixture("hostile/tf2_path"), "--data", &data, "--split", "all", "--fetch", "@logits"]),
        ),
        ("run listing", owned(&["run", "--graph", &pb, "--data", &data, "--split", "all", "--fetch", "dnn/outputs/listed:0"])),
        (
            "export saver",
            owned(&[
                "export",
                "--meta",
                &meta("saver"),
                "--input",
                "X:0",
                "--logits",
                "dnn/outputs/BiasAdd:0",
                "--saved-model",
                &here("export"),
            ]),
        ),
    ];
    for (case, args) in &cases {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tfreuse"));
        let o = c.args(args).current_dir(cwd.path()).env("TF_ENABLE_ONEDNN_OPTS", "0").output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(3), "{case}: {err}");
        let last = err.trim_end().lines().last().unwrap();
        assert!(last.starts_with("tfreuse: error: ") && last.contains("refused: running"), "{case}: {err}");
        assert!(!err.contains("panicked"), "{case}: {err}");
    }
    assert!(!cwd.path().join("pwned.txt").exists() && !cwd.path().join("out/m.index").exists());
    assert_eq!(hash_tree(&root().join("fixtures/hostile")), before);
}

#[test]
fn unknown_ops_and_stale_shape_attributes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tiny_data();
    let meta = edited_meta(&tmp.path().join("unknown"), |g| {
        g.node.iter_mut().find(|n| n.op == "Relu").unwrap().op = "ReluFromTheFuture".into();
    });
    let err = expect_error("unknown op", &["eval", "--meta", meta.to_str().unwrap(), "--data", &data, "--split", "all"], &[3]);
    assert!(err.contains("ReluFromTheFuture"), "{err}");
    let meta = edited_meta(&tmp.path().join("attr"), |g| {
        let n = g.node.iter_mut().find(|n| n.op == "MatMul").unwrap();
        n.attr.insert("attribute_nobody_knows".into(), attr(&[0x18, 0x01])); // AttrValue{i: 1}
    });
    // TF ignores attributes its op definitions lack (a newer producer); so does tfreuse,
    // quietly.
    let (code, err) = run(&["eval", "--meta", meta.to_str().unwrap(), "--data", &data, "--split", "all"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.lines().all(|l| l.starts_with("restored ")), "no log noise: {err}");
    // Old TF 1.x wrote `_output_shapes`; stale ones that disagree with today's shape
    // inference must not stop a graph from loading.
    let meta = edited_meta(&tmp.path().join("shapes"), |g| {
        for n in g.node.iter_mut() {
            n.attr.insert("_output_shapes".into(), attr(&stale_shapes()));
        }
    });
    let out = ok(&["eval", "--meta", meta.to_str().unwrap(), "--data", &data, "--split", "all"]);
    assert!(out.contains("eval/accuracy:0"), "{out}");
}

fn attr(bytes: &[u8]) -> tfreuse::proto::AttrValue {
    tfreuse::proto::AttrValue::decode(bytes).unwrap()
}

/// AttrValue{list: {shape: [[7, 99, 3]]}}.
fn stale_shapes() -> Vec<u8> {
    let mut shape = Vec::new();
    for d in [7i64, 99, 3] {
        let mut dim = Vec::new();
        prost::encoding::int64::encode(1, &d, &mut dim);
        prost::encoding::bytes::encode(2, &dim, &mut shape);
    }
    let mut list = Vec::new();
    prost::encoding::bytes::encode(7, &shape, &mut list);
    let mut attr = Vec::new();
    prost::encoding::bytes::encode(1, &list, &mut attr);
    attr
}

#[test]
fn corrupted_data_files() {
    let tmp = tempfile::tempdir().unwrap();
    let meta = fixture(DNN_META);
    let mnist_dir = root().join("data/mnist");
    let before = hash_tree(&mnist_dir);
    for (name, kind) in
        [("train-images-idx3-ubyte.gz", "truncated"), ("train-labels-idx1-ubyte.gz", "flipped"), ("t10k-images-idx3-ubyte.gz", "garbage")]
    {
        let dir = tmp.path().join(format!("mnist-{kind}"));
        copy_dir(&mnist_dir, &dir);
        let mut b = std::fs::read(dir.join(name)).unwrap();
        match kind {
            "truncated" => b.truncate(b.len() / 3),
            "flipped" => flip(&mut b, 7, 3),
            _ => b = b"this is not gzip".to_vec(),
        }
        std::fs::write(dir.join(name), &b).unwrap();
        let d = format!("mnist:{}", dir.display());
        let err = expect_error(name, &["eval", "--meta", &meta, "--data", &d], &[3]);
        assert!(err.contains(name), "{err}");
    }
    assert_eq!(before, hash_tree(&mnist_dir));

    // .npz: truncated, flipped, NaN, empty, labels out of range, mismatched lengths.
    let npz = root().join("fixtures/tiny/data.npz");
    let orig = std::fs::read(&npz).unwrap();
    let tiny_meta = fixture("tiny/tiny.ckpt.meta");
    let write_arrays = |name: &str, x: ndarray::ArrayD<f32>, y: ndarray::ArrayD<i64>| -> String {
        let p = tmp.path().join(name);
        tfreuse::data::npy::write_npz(
            &p,
            &[("x".into(), tfreuse::tf::tensors::DynArray::F32(x)), ("y".into(), tfreuse::tf::tensors::DynArray::I64(y))],
        )
        .unwrap();
        format!("npz:{}", p.display())
    };
    let arr = |shape: &[usize], v: Vec<f32>| ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(shape), v).unwrap();
    let lab = |v: Vec<i64>| ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[v.len()]), v).unwrap();
    let trunc = tmp.path().join("trunc.npz");
    std::fs::write(&trunc, &orig[..orig.len() / 2]).unwrap();
    let mut flipped = orig.clone();
    flip(&mut flipped, 3, 4);
    let flip_p = tmp.path().join("flip.npz");
    std::fs::write(&flip_p, &flipped).unwrap();
    let cases: Vec<(&str, String, Vec<i32>, &str)> = vec![
        ("truncated npz", format!("npz:{}", trunc.display()), vec![3], "trunc.npz"),
        ("flipped npz", format!("npz:{}", flip_p.display()), vec![3], "flip.npz"),
        ("NaN in x", write_arrays("nan.npz", arr(&[2, 4], vec![0., 1., f32::NAN, 2., 0., 0., 0., 0.]), lab(vec![0, 1])), vec![3], "NaN"),
        ("Inf in x", write_arrays("inf.npz", arr(&[1, 4], vec![0., f32::INFINITY, 0., 0.]), lab(vec![0])), vec![3], "NaN or Inf"),
        ("empty split", write_arrays("empty.npz", arr(&[0, 4], vec![]), lab(vec![])), vec![2], "empty"),
        ("x/y length mismatch", write_arrays("len.npz", arr(&[2, 4], vec![0.; 8]), lab(vec![0])), vec![3], "rows"),
        ("labels out of range", write_arrays("range.npz", arr(&[2, 4], vec![0.; 8]), lab(vec![0, 7])), vec![5], "range.npz"),
    ];
    for (case, spec, codes, needle) in &cases {
        let err = expect_error(case, &["eval", "--meta", &tiny_meta, "--data", spec, "--split", "all"], codes);
        assert!(err.contains(needle), "{case}: {err}");
    }
    // The same files as `pretrain --unlabeled` examples (their labels are not read).
    let tiny = tiny_data();
    for (case, spec, codes, needle) in &cases[..4] {
        let args = ["pretrain", "autoencoder", "--layers", "2", "--data", &tiny, "--epochs", "1", "--batch-size", "8", "--unlabeled", spec];
        let err = expect_error(case, &args, codes);
        assert!(err.contains(needle), "--unlabeled, {case}: {err}");
    }
    assert_eq!(std::fs::read(&npz).unwrap(), orig);
}

#[test]
fn bad_flags_and_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let meta = fixture("tiny/tiny.ckpt.meta");
    let data = tiny_data();
    let train = || Train::tiny().epochs(1).batch(16);
    let branched = || train().branch("dnn/hidden1/Relu:0");
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<String>, i32, &str)> = vec![
        ("malformed --new-layers", branched().layers("3:relu,,2").args(), 2, "--new-layers"),
        ("unknown activation", branched().layers("3:swish,2").args(), 2, "swish"),
        ("--new-layers without --branch-from", train().layers("2").args(), 2, "--branch-from"),
        ("wrong-dtype branch", train().branch("eval/Cast:0").layers("2").args(), 2, "needs [batch, width]"),
        ("branch typo", train().branch("dnn/hiden1/Relu:0").layers("2").args(), 2, "did you mean"),
        ("freeze typo", branched().layers("2").arg("--freeze-below", "X:7").args(), 2, "output"),
        ("restore matches nothing", train().arg("--restore", "nope").args(), 2, "matches no variable"),
        ("invalid --restore regex", train().arg("--restore", "(hidden").args(), 2, "invalid regex"),
        ("batch bigger than data", Train::tiny().batch(1000).args(), 2, "larger than"),
        ("negative lr", branched().layers("2").flag("--lr=-1").args(), 2, "--lr"),
        ("unwritable --out", train().out("/dev/null/x.ckpt").args(), 2, "/dev/null"),
        ("unknown data kind", vec!["eval".into(), "--meta".into(), meta.clone(), "--data".into(), "tsv:x".into()], 2, "tsv"),
        ("missing label table", vec!["eval".into(), "--meta".into(), meta.clone(), "--data".into(), "csv:/no/labels.csv".into()], 3, "/no/labels.csv"),
        ("missing --feed file", vec!["run".into(), "--meta".into(), meta.clone(), "--feed".into(), "X:0=/no/x.npy".into(), "--fetch".into(), "X:0".into()], 3, "/no/x.npy"),
        ("--feed without =", vec!["run".into(), "--meta".into(), meta.clone(), "--feed".into(), "X:0".into(), "--fetch".into(), "X:0".into()], 2, "TENSOR=FILE"),
        ("checkpoint prefix missing", vec!["eval".into(), "--meta".into(), meta.clone(), "--checkpoint".into(), "/no/such.ckpt".into(), "--data".into(), data.clone(), "--split".into(), "all".into()], 3, "/no/such.ckpt"),
    ];
    for (case, args, code, needle) in cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let err = expect_error(case, &a, &[code]);
        assert!(err.contains(needle), "{case}: {err}");
    }
    // An .npy whose header announces 4 TB of float32 in a 100-byte file: refused before
    // anything is allocated for it.
    let huge = tmp.path().join("huge.npy");
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }";
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let pad = 64 - (10 + header.len() + 1) % 64;
    let len = header.len() + pad + 1;
    npy.extend((len as u16).to_le_bytes());
    npy.extend(header.bytes());
    npy.extend(std::iter::repeat_n(b' ', pad));
    npy.push(b'\n');
    npy.extend([0u8; 16]);
    std::fs::write(&huge, &npy).unwrap();
    let feed = format!("X:0={}", huge.display());
    let err = expect_error("huge npy header", &["run", "--meta", &meta, "--feed", &feed, "--fetch", "dnn/outputs/BiasAdd:0"], &[3]);
    assert!(err.contains("announces") && err.contains("huge.npy"), "{err}");

    // Disk full: a 64 KB tmpfs where the model does not fit.
    let full = tmp.path().join("full");
    std::fs::create_dir(&full).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs", full.to_str().unwrap()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if mounted {
        let out = full.join("m.ckpt");
        let args = Train::dnn().epochs(0).out(&out).args();
        let err = expect_error("disk full", &strs(&args), &[3, 5]);
        assert!(err.contains("m.ckpt"), "{err}");
        let left: Vec<_> = std::fs::read_dir(&full).unwrap().flatten().map(|e| e.file_name()).collect();
        let _ = Command::new("umount").arg(&full).status();
        assert!(left.is_empty(), "a failed save leaves nothing half-written: {left:?}");
    } else {
        // Without mount rights, /dev/full still fails every write with ENOSPC.
        let args = Train::dnn().epochs(1).json_log("/dev/full").args();
        let err = expect_error("disk full (json)", &strs(&args), &[3]);
        assert!(err.contains("/dev/full"), "{err}");
    }
}

#[test]
fn checkpoint_with_wrong_shapes() {
    let tmp = tempfile::tempdir().unwrap();
    let prefix = tmp.path().join("wrong.ckpt");
    let src = root().join("fixtures/tiny/tiny.ckpt");
    oracle(&["wrong-shapes", "--checkpoint", src.to_str().unwrap(), "--bad", "hidden1/kernel", "--out", prefix.to_str().unwrap()]);
    let meta = fixture("tiny/tiny.ckpt.meta");
    let p = prefix.to_str().unwrap();
    let rep = json(&ok(&["inspect", "--meta", &meta, "--checkpoint", p, "--json"]));
    let mm = rep["checkpoint"]["shape_mismatches"].as_array().unwrap();
    assert_eq!(mm.len(), 1, "{rep}");
    assert!(mm[0].as_str().unwrap().contains("hidden1/kernel: graph [4, 3] vs checkpoint [3, 4]"), "{mm:?}");
    let data = tiny_data();
    let err = expect_error("restore wrong shapes", &["eval", "--meta", &meta, "--checkpoint", p, "--data", &data, "--split", "all"], &[3]);
    assert!(err.contains("cannot restore") && err.contains(p), "{err}");
    // train restores what fits and says what it initialised instead; --restore insists.
    let train = || Train::tiny().checkpoint(p).epochs(0).batch(16);
    let (code, err) = run(&strs(&train().args()));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("hidden1/kernel: graph shape [4, 3] but checkpoint shape [3, 4]; initialising it instead"), "{err}");
    let err = expect_error("--restore wrong shape", &strs(&train().arg("--restore", "hidden1").args()), &[2]);
    assert!(err.contains("--restore") && err.contains("hidden1/kernel"), "{err}");
}

#[test]
fn corrupted_frozen_graphs() {
    // .pb and .pbtxt truncated, bit-flipped, empty; a .meta given as --graph and back.
    let tmp = tempfile::tempdir().unwrap();
    let frozen = root().join("fixtures/tiny_frozen");
    let data = tiny_data();
    for f in ["tiny.pb", "tiny.pbtxt"] {
        let orig = std::fs::read(frozen.join(f)).unwrap();
        let variants = corruptions(&orig, 11);
        for (i, (kind, bytes, must_fail)) in variants.into_iter().enumerate() {
            let p = tmp.path().join(format!("{i}-{f}"));
            std::fs::write(&p, &bytes).unwrap();
            let args = ["run", "--graph", p.to_str().unwrap(), "--data", &data, "--split", "all", "--fetch", "dnn/outputs/BiasAdd:0"];
            let (code, _) = run(&args);
            if must_fail || code != 0 {
                let err = expect_error(&format!("{f} {kind}"), &args, &[2, 3, 5]);
                assert!(err.contains(p.to_str().unwrap()) || code == 2, "{f} {kind}: the error names the file: {err}");
            }
            assert_eq!(std::fs::read(&p).unwrap(), bytes, "{f} {kind}: inputs must not change");
        }
    }
    let meta = root().join("fixtures/tiny/tiny.ckpt.meta");
    let err = expect_error("meta as graph", &["inspect", "--graph", meta.to_str().unwrap()], &[3]);
    assert!(err.contains("it is a MetaGraphDef: pass it with --meta"), "{err}");
    let pb = frozen.join("tiny.pb");
    let err = expect_error("graph as meta", &["inspect", "--meta", pb.to_str().unwrap()], &[3]);
    assert!(err.contains("it is a GraphDef (a frozen graph?): pass it with --graph"), "{err}");
    let not_frozen = tmp.path().join("graph.pb");
    let gd = tfreuse::MetaGraph::read(&meta).unwrap().graph_def().unwrap();
    std::fs::write(&not_frozen, prost::Message::encode_to_vec(&gd)).unwrap();
    let err = expect_error("not frozen", &["inspect", "--graph", not_frozen.to_str().unwrap()], &[3]);
    assert!(err.contains("it is not frozen; pass its .meta and checkpoint"), "{err}");
}

/// Each corruption of `file` in a copy of fixture directory `src`: `args(copy)` fails with
/// one clear line (a flip nothing checks may pass) and leaves the copy unchanged; when
/// `names_it`, the error names the copy.
fn check_corruptions(src: &str, file: &str, seed: u64, args: impl Fn(&str) -> Vec<String>, names_it: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let src = root().join("fixtures").join(src);
    let orig = std::fs::read(src.join(file)).unwrap();
    for (i, (kind, bytes, must_fail)) in corruptions(&orig, seed).into_iter().enumerate() {
        let dir = tmp.path().join(format!("{i}-{kind}"));
        copy_dir(&src, &dir);
        std::fs::write(dir.join(file), &bytes).unwrap();
        let before = hash_tree(&dir);
        let args = args(dir.to_str().unwrap());
        let args = strs(&args);
        let (code, _) = run(&args);
        if must_fail || code != 0 {
            let err = expect_error(&format!("{file} {kind}"), &args, &[2, 3, 5]);
            assert!(!names_it || err.contains(dir.to_str().unwrap()), "{file} {kind}: the error names the file: {err}");
        }
        assert_eq!(before, hash_tree(&dir), "{file} {kind}: inputs must not change");
    }
}

#[test]
fn corrupted_v1_checkpoint() {
    let eval = |dir: &str| owned(&["eval", "--meta", &format!("{dir}/tiny.ckpt.meta"), "--data", &tiny_data(), "--split", "all"]);
    check_corruptions("tiny_v1", "tiny.ckpt", 21, eval, true);
}

#[test]
fn corrupted_savedmodels() {
    let run =
        |dir: &str| owned(&["run", "--saved-model", dir, "--data", &tiny_data(), "--split", "all", "--input", "@x", "--fetch", "@logits"]);
    check_corruptions("tiny_saved_model", "saved_model.pb", 31, run, false);
    let err = expect_error("no such dir", &["inspect", "--saved-model", "/no/such/dir"], &[3]);
    assert!(err.contains("/no/such/dir/saved_model.pb"), "{err}");
}

/// Zoo archives (tar.gz, zip) truncated, emptied and bit-flipped, each with its own hash in
/// the manifest so that unpacking and reading are what is tested; and manifests bit-flipped.
#[test]
fn corrupted_zoo_archives_and_manifests() {
    use crate::zoo::{sha256_bytes, tar_gz, zip_of};
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    for (kind, orig) in [("tgz", tar_gz("tiny")), ("zip", zip_of("tiny"))] {
        for (i, (how, bytes, must_fail)) in corruptions(&orig, 7).into_iter().enumerate() {
            let name = format!("{kind}-{i}");
            let file = tmp.path().join(format!("{name}.{kind}"));
            std::fs::write(&file, &bytes).unwrap();
            let manifest = tmp.path().join(format!("{name}.toml"));
            let text = format!(
                "[[model]]\nname = \"{name}\"\ndescription = \"d\"\nlicense = \"l\"\nurl = \"file://{}\"\nsha256 = \"{}\"\nformat = \"meta\"\npath = \"tiny/tiny.ckpt.meta\"\n",
                file.display(),
                sha256_bytes(&bytes)
            );
            std::fs::write(&manifest, &text).unwrap();
            let meta = format!("zoo:{name}");
            let args = ["inspect", "--meta", &meta, "--manifest", manifest.to_str().unwrap(), "--zoo-dir", cache.to_str().unwrap()];
            let (code, _) = run(&args);
            if must_fail || code != 0 {
                expect_error(&format!("{kind} {how}"), &args, &[2, 3, 5, 7]);
                let left =
                    std::fs::read_dir(&cache).map(|r| r.flatten().filter(|e| e.file_name().to_string_lossy().starts_with(&name)).count());
                assert_eq!(left.unwrap_or(0), 0, "{kind} {how}: nothing cached");
            }
            assert_eq!(std::fs::read(&file).unwrap(), bytes, "inputs must not change");
        }
    }
    let manifest = std::fs::read(root().join("src/zoo/default.toml")).unwrap();
    for (i, (how, bytes, _)) in corruptions(&manifest, 11).into_iter().enumerate() {
        let file = tmp.path().join(format!("m{i}.toml"));
        std::fs::write(&file, &bytes).unwrap();
        let args = ["zoo", "list", "--manifest", file.to_str().unwrap(), "--zoo-dir", cache.to_str().unwrap()];
        if run(&args).0 != 0 {
            expect_error(&format!("manifest {how}"), &args, &[2, 3]);
        }
    }
}

/// The record of digests trusted on first use truncated, emptied and bit-flipped: each fetch
/// through it succeeds (the flip kept the digest), or fails in one line.
#[test]
fn corrupted_trust_records() {
    use crate::zoo::{sha256_bytes, tar_gz};
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("tiny.tgz");
    let bytes = tar_gz("tiny");
    std::fs::write(&archive, &bytes).unwrap();
    let url = format!("file://{}", archive.display());
    let manifest = tmp.path().join("m.toml");
    let entry =
        format!("[[model]]\nname = \"t\"\nurl = \"{url}\"\nsha256 = \"unpublished\"\nformat = \"meta\"\npath = \"tiny/tiny.ckpt.meta\"\n");
    std::fs::write(&manifest, entry).unwrap();
    let record = format!("{{\n  \"format\": 1,\n  \"trusted\": [\n    {{\n      \"name\": \"t\",\n      \"url\": \"{url}\",\n      \"sha256\": \"{}\"\n    }}\n  ]\n}}", sha256_bytes(&bytes));
    for (i, (how, text, must_fail)) in corruptions(record.as_bytes(), 13).into_iter().enumerate() {
        let cache = tmp.path().join(format!("cache{i}"));
        std::fs::create_dir_all(&cache).unwrap();
        std::fs::write(cache.join("trusted.json"), &text).unwrap();
        let args = ["zoo", "fetch", "t", "--manifest", manifest.to_str().unwrap(), "--zoo-dir", cache.to_str().unwrap()];
        if must_fail || run(&args).0 != 0 {
            expect_error(&format!("trust record {how}"), &args, &[3, 7]);
        }
    }
}
