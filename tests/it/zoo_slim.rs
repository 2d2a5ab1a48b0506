//! TF-Slim checkpoints in the zoo (`format = "slim:NAME"`), and digests trusted on first use:
//! a random-weight inception_v1 checkpoint without a `.meta` (made once by python/slim_oracle.py,
//! shared with `slim`'s tests), published as a tar.gz by `file://`, under an entry that pins no
//! SHA-256. What runs through `zoo:NAME` is compared with `--arch --checkpoint` on the same files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;
use crate::zoo::sha256_bytes;

const NAME: &str = "slim-v1";

/// The checkpoint's files as a tar.gz, named as TF-Slim's archives name them
/// (`inception_v1.ckpt.*`), with `extra` bytes in a further member when given.
fn archive(prefix: &Path, extra: Option<&[u8]>) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for ext in ["index", "data-00000-of-00001"] {
        b.append_path_with_name(format!("{}.{ext}", prefix.display()), format!("inception_v1.ckpt.{ext}")).unwrap();
    }
    if let Some(bytes) = extra {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "README", bytes).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// A zoo folder, the archive published at a file:// URL and a manifest naming it.
struct Published {
    dir: tempfile::TempDir,
}

impl Published {
    fn new(bytes: &[u8]) -> Published {
        let dir = tempfile::tempdir().unwrap();
        let p = Published { dir };
        p.publish(bytes);
        let url = format!("file://{}", p.archive().display());
        let entry = format!(
            "[[model]]\nname = \"{NAME}\"\nurl = \"{url}\"\nsha256 = \"unpublished\"\nformat = \"slim:inception_v1\"\npath = \"inception_v1.ckpt\"\nbranch = [\"InceptionV1/Mixed_5c\"]\n"
        );
        std::fs::write(p.dir.path().join("models.toml"), entry).unwrap();
        p
    }

    fn archive(&self) -> PathBuf {
        self.dir.path().join("inception_v1_2016_08_28.tar.gz")
    }

    fn publish(&self, bytes: &[u8]) {
        std::fs::write(self.archive(), bytes).unwrap();
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    fn run(&self, args: &[&str]) -> Output {
        let manifest = self.dir.path().join("models.toml");
        let mut c = Command::new(env!("CARGO_BIN_EXE_tfreuse"));
        c.args(args).args(["--manifest", manifest.to_str().unwrap(), "--zoo-dir", self.cache().to_str().unwrap()]);
        c.env("TF_ENABLE_ONEDNN_OPTS", "0").env_remove("TFREUSE_OFFLINE").output().unwrap()
    }

    /// stdout and stderr of a run that must succeed.
    fn ok(&self, args: &[&str]) -> (String, String) {
        succeeded(self.run(args), args)
    }

    fn fails(&self, args: &[&str], code: i32) -> String {
        failed(self.run(args), code, args)
    }

    /// The model folders in the cache.
    fn copies(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(self.cache()) else { return vec![] };
        let mut v: Vec<String> =
            rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with(NAME)).collect();
        v.sort();
        v
    }
}

fn npz(path: &Path) -> Vec<(String, ndarray::ArrayD<f32>)> {
    let mut r = ndarray_npy::NpzReader::new(std::fs::File::open(path).unwrap()).unwrap();
    r.names().unwrap().into_iter().map(|n| (n.clone(), r.by_name(&n).unwrap())).collect()
}

fn checkpoint() -> PathBuf {
    crate::slim::checkpoint("inception_v1", &["--arch", "inception_v1"])
}

#[test]
fn an_unpinned_slim_checkpoint_is_trusted_on_first_use_then_held_to_its_digest() {
    let prefix = checkpoint();
    let bytes = archive(&prefix, None);
    let z = Published::new(&bytes);
    let e = z.fails(&["zoo", "fetch", NAME], 7);
    assert!(e.contains("pins no SHA-256") && e.contains("re-run with --trust-on-first-use"), "{e}");
    assert_eq!(z.copies(), Vec::<String>::new(), "nothing cached");
    let (out, err) = z.ok(&["zoo", "fetch", NAME, "--trust-on-first-use"]);
    let digest = sha256_bytes(&bytes);
    assert!(err.contains(&format!("trusted on first use: sha256 {digest}")), "{err}");
    assert!(out.contains(&format!("{NAME}-{}/inception_v1.ckpt", &digest[..12])), "{out}");
    let record = json(&std::fs::read_to_string(z.cache().join("trusted.json")).unwrap());
    assert_eq!((record["format"].as_u64(), record["trusted"][0]["sha256"].as_str()), (Some(1), Some(digest.as_str())));
    let (show, _) = z.ok(&["zoo", "show", NAME]);
    assert!(show.contains("InceptionV1/Mixed_5c = InceptionV1/InceptionV1/Mixed_5c/concat:0 ok"), "{show}");
    assert!(z.ok(&["zoo", "verify"]).0.contains(&format!("zoo:{NAME}: ok")));

    // Removed, then published with other bytes: refused even with the flag, naming both digests.
    z.ok(&["zoo", "remove", NAME]);
    let other = archive(&prefix, Some(b"changed"));
    z.publish(&other);
    let e = z.fails(&["zoo", "fetch", NAME, "--trust-on-first-use"], 7);
    assert!(e.contains(&format!("has SHA-256 {}, not {digest}, recorded on first use", sha256_bytes(&other))), "{e}");
    assert_eq!(z.copies(), Vec::<String>::new(), "nothing cached");
    // The recorded bytes again: fetched without the flag, the digest being known.
    z.publish(&bytes);
    z.ok(&["zoo", "fetch", NAME]);

    // A record from another cache, with another digest: `zoo verify` reports the copy.
    let shared = std::fs::read_to_string(z.cache().join("trusted.json")).unwrap().replace(&digest, &"0".repeat(64));
    std::fs::write(z.cache().join("trusted.json"), shared).unwrap();
    let out = z.run(&["zoo", "verify"]);
    assert_eq!(out.status.code(), Some(7), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8(out.stdout).unwrap();
    assert!(said.contains(&format!("downloaded with SHA-256 {digest}, not {}", "0".repeat(64))), "{said}");
    // A damaged record is one line, for every command that reads it.
    std::fs::write(z.cache().join("trusted.json"), "{\"format\": 1, \"trusted\": [").unwrap();
    let e = z.fails(&["zoo", "fetch", NAME], 3);
    assert!(e.contains("trusted.json: not a zoo trust record"), "{e}");
}

#[test]
fn a_slim_entry_runs_inspects_and_trains_as_its_arch_with_the_checkpoint() {
    let prefix = checkpoint();
    let z = Published::new(&archive(&prefix, None));
    z.ok(&["zoo", "fetch", NAME, "--trust-on-first-use"]);
    let zoo_model = format!("zoo:{NAME}");
    let p = prefix.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();

    // inspect: the arch's graph and end points, the checkpoint's variables.
    let (ours, err) = z.ok(&["inspect", "--meta", &zoo_model, "--json"]);
    assert!(err.contains(&format!("zoo:{NAME}: slim:inception_v1 ")), "{err}");
    let (ours, theirs) = (json(&ours), json(&ok(&["inspect", "--arch", "inception_v1", "--checkpoint", p, "--json"])));
    assert_eq!(ours["end_points"], theirs["end_points"]);
    assert_eq!(ours["variables"], theirs["variables"]);
    assert!(ours["end_points"].as_object().is_some_and(|m| m.len() == 18), "{ours}");

    // run: the same logits, bit for bit.
    let x = tmp.path().join("x.npy");
    let pixels = |(_, h, w, c): (usize, usize, usize, usize)| ((h * 3 + w * 5 + c) % 11) as f32 / 5.5 - 1.0;
    ndarray_npy::write_npy(&x, &ndarray::Array4::<f32>::from_shape_fn((1, 224, 224, 3), pixels)).unwrap();
    let feed = format!("input={}", x.display());
    let (a, b) = (tmp.path().join("a.npz"), tmp.path().join("b.npz"));
    let fetch = ["--feed", &feed, "--fetch", "InceptionV1/Logits"];
    z.ok(&[&["run", "--arch", &zoo_model, "--out", a.to_str().unwrap()][..], &fetch].concat());
    ok(&[&["run", "--arch", "inception_v1", "--checkpoint", p, "--out", b.to_str().unwrap()][..], &fetch].concat());
    let (a, b) = (npz(&a), npz(&b));
    assert_eq!(a[0].1.shape(), [1, 1001]);
    assert_eq!(a, b, "zoo:{NAME} and --arch --checkpoint fetch different logits");

    // train: the entry's branch point, the arch's input and scale fill what is left out.
    crate::slim::pictures(&tmp.path().join("pics"));
    let data = format!("images:{}", tmp.path().join("pics").display());
    let train = |model: &[&str], out: &Path| -> Vec<String> {
        let rest = ["--new-layers", "gap,2", "--data", &data, "--resize", "75x75", "--epochs", "1", "--batch-size", "8", "--out"];
        model.iter().chain(rest.iter()).map(|s| s.to_string()).chain([out.display().to_string()]).collect()
    };
    let (o1, o2) = (tmp.path().join("z.ckpt"), tmp.path().join("a.ckpt"));
    let (log, err) = z.ok(&strs(&train(&["train", "--meta", &zoo_model], &o1)));
    assert!(err.contains(&format!("zoo:{NAME}: --input input:0 --scale -1,1 --branch-from InceptionV1/Mixed_5c")), "{err}");
    let arch = ["train", "--arch", "inception_v1", "--checkpoint", p, "--branch-from", "InceptionV1/Mixed_5c"];
    let theirs = ok(&strs(&train(&arch, &o2)));
    let test_line = |s: &str| s.lines().find(|l| l.contains("test: loss")).map(str::to_string);
    assert!(test_line(&log).is_some(), "{log}");
    assert_eq!(test_line(&log), test_line(&theirs), "zoo:{NAME} and --arch --checkpoint trained differently");

    // eval: the per-class report of the net's own logits on the pictures, the same both ways.
    // Left out, --resize and --scale are the arch's (224x224: the logits' fixed pool), both ways.
    let eval = ["--data", &data, "--split", "test", "--logits", "InceptionV1/Logits"];
    let (ours, _) = z.ok(&[&["eval", "--meta", &zoo_model][..], &eval].concat());
    let theirs = ok(&[&["eval", "--arch", "inception_v1", "--checkpoint", p][..], &eval].concat());
    assert!(ours.lines().count() > 10, "{ours}");
    assert_eq!(ours, theirs, "zoo:{NAME} and --arch --checkpoint evaluate differently");
}

#[test]
fn zoo_add_of_an_unpinned_entry_records_its_digest_on_first_use_only() {
    let prefix = checkpoint();
    let bytes = archive(&prefix, None);
    let z = Published::new(&bytes);
    let copy = z.dir.path().join("copy.tar.gz");
    std::fs::write(&copy, &bytes).unwrap();
    let e = z.fails(&["zoo", "add", NAME, copy.to_str().unwrap()], 2);
    assert!(e.contains("pins no SHA-256") && e.contains("--trust-on-first-use"), "{e}");
    assert_eq!(z.copies(), Vec::<String>::new(), "nothing cached");
    let (out, _) = z.ok(&["zoo", "add", NAME, copy.to_str().unwrap(), "--trust-on-first-use"]);
    let digest = sha256_bytes(&bytes);
    assert!(out.contains(&format!("sha256 {digest} (no published one; recorded in")), "{out}");
    // The published file is what was added: no flag needed, nothing fetched again.
    let (_, err) = z.ok(&["zoo", "fetch", NAME]);
    assert!(!err.contains("fetching"), "{err}");
    // Another file under the same name is refused against the record.
    let other = archive(&prefix, Some(b"other"));
    std::fs::write(&copy, &other).unwrap();
    let e = z.fails(&["zoo", "add", NAME, copy.to_str().unwrap(), "--force", "--trust-on-first-use"], 2);
    assert!(e.contains(&format!("has SHA-256 {}, not the one recorded on first use {digest}", sha256_bytes(&other))), "{e}");
}
