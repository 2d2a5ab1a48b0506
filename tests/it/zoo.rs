//! The model zoo against a server inside the test (127.0.0.1, a free port): the project's own
//! fixtures published as archives with a manifest, fetched, verified, unpacked, trained on;
//! hostile archives, bad hashes, HTTP failures, stalls, cut downloads, offline use, locks.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output};

use crate::common::*;
use crate::server::{Route, Server};

/// A zoo folder and a manifest for one test.
struct Zoo {
    dir: tempfile::TempDir,
    manifest: PathBuf,
}

/// One manifest entry: name, URL, the bytes served there (for the hash), format, path, extra keys.
struct Model<'a> {
    name: &'a str,
    url: String,
    bytes: &'a [u8],
    format: &'a str,
    path: &'a str,
    extra: &'a str,
}

impl Zoo {
    fn new(models: &[Model]) -> Zoo {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("models.toml");
        let text: String = models.iter().map(entry).collect();
        std::fs::write(&manifest, text).unwrap();
        Zoo { dir, manifest }
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tfreuse"));
        c.args(args).args(["--manifest", self.manifest.to_str().unwrap(), "--zoo-dir", self.cache().to_str().unwrap()]);
        c.env("TF_ENABLE_ONEDNN_OPTS", "0").env_remove("TFREUSE_OFFLINE");
        for p in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"] {
            c.env_remove(p);
        }
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> (String, String) {
        succeeded(self.run(args), args)
    }

    fn fails(&self, args: &[&str], code: i32) -> String {
        failed(self.run(args), code, args)
    }

    /// What the cache folder holds besides its lock files and the partial-download folder.
    fn cached(&self) -> Vec<String> {
        let Ok(rd) = std::fs::read_dir(self.cache()) else { return vec![] };
        let mut names: Vec<String> = rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.retain(|n| !n.ends_with(".lock") && n != ".partial");
        let partial = std::fs::read_dir(self.cache().join(".partial")).map(|r| r.count()).unwrap_or(0);
        names.extend((0..partial).map(|_| ".partial/…".to_string()));
        names.sort();
        names
    }
}

fn entry(m: &Model) -> String {
    format!(
        "[[model]]\nname = \"{}\"\ndescription = \"test\"\nlicense = \"Apache-2.0\"\nurl = \"{}\"\nsha256 = \"{}\"\nformat = \"{}\"\npath = \"{}\"\n{}\n",
        m.name,
        m.url,
        sha256_bytes(m.bytes),
        m.format,
        m.path,
        m.extra
    )
}

pub fn sha256_bytes(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b).iter().map(|b| format!("{b:02x}")).collect()
}

/// `fixtures/<dir>` as a tar.gz whose members start with `<dir>/`.
pub fn tar_gz(dir: &str) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    b.append_dir_all(dir, root().join("fixtures").join(dir)).unwrap();
    b.into_inner().unwrap().finish().unwrap()
}

/// `fixtures/<dir>` as a zip, members below `<dir>/`.
pub fn zip_of(dir: &str) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    let base = root().join("fixtures");
    let mut stack = vec![base.join(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let rel = e.path().strip_prefix(&base).unwrap().to_string_lossy().into_owned();
            if e.path().is_dir() {
                z.add_directory(format!("{rel}/"), opts).unwrap();
                stack.push(e.path());
            } else {
                z.start_file(rel, opts).unwrap();
                z.write_all(&std::fs::read(e.path()).unwrap()).unwrap();
            }
        }
    }
    z.finish().unwrap().into_inner()
}

/// A tar whose one member has a raw name and link (bypassing tar::Builder's own checks, as a
/// hostile archive would).
fn hostile_tar(members: &[(tar::EntryType, &str, &str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (kind, name, link, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// The tiny fixture as t.tgz, served by `route`, and a zoo whose entry `tiny` names it.
fn tiny_served(route: impl FnOnce(Vec<u8>) -> Route) -> (Server, Zoo, Vec<u8>) {
    let archive = tar_gz("tiny");
    let server = Server::start(HashMap::from([("t.tgz".to_string(), route(archive.clone()))]));
    let tiny = Model { name: "tiny", url: server.url("t.tgz"), bytes: &archive, format: "meta", path: "tiny/tiny.ckpt.meta", extra: "" };
    let zoo = Zoo::new(&[tiny]);
    (server, zoo, archive)
}

const DNN_BRANCH: &str = "dnn/hidden4/Relu:0";

#[test]
fn a_served_model_is_fetched_verified_and_trained_on_with_its_branch() {
    let archive = tar_gz("mnist_dnn");
    let server = Server::start(HashMap::from([("m/mnist_dnn.tar.gz".to_string(), Route::Bytes(archive.clone()))]));
    let extra = format!("input = \"X:0\"\nbranch = [\"{DNN_BRANCH}\", \"dnn/hidden3/Relu:0\"]");
    let zoo = Zoo::new(&[Model {
        name: "mnist-dnn",
        url: server.url("m/mnist_dnn.tar.gz"),
        bytes: &archive,
        format: "meta",
        path: "mnist_dnn/my_model_final.ckpt.meta",
        extra: &extra,
    }]);
    let (list, _) = zoo.ok(&["zoo", "list"]);
    assert!(list.contains("mnist-dnn") && list.contains("not cached"), "{list}");
    let out = zoo.dir.path().join("zoo/run.ckpt");
    let train = [
        "train",
        "--meta",
        "zoo:mnist-dnn",
        "--data",
        &mnist(),
        "--defaults",
        "book",
        "--new-layers",
        "10",
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ];
    let (_, err) = zoo.ok(&train);
    assert!(err.contains(&format!("--branch-from {DNN_BRANCH}")), "the entry's branch is taken and said: {err}");
    assert_eq!(server.requests("m/mnist_dnn.tar.gz").len(), 1);

    // The same bytes as training on the fixture itself, read back by Python.
    let local = zoo.dir.path().join("local/run.ckpt");
    Train::dnn().branch(DNN_BRANCH).layers("10").epochs(1).out(&local).ok();
    assert_eq!(digest(&out), digest(&local));

    // Cached: no second download; verify notices a changed file; remove empties the cache.
    zoo.ok(&["inspect", "--meta", "zoo:mnist-dnn"]);
    assert_eq!(server.requests("m/mnist_dnn.tar.gz").len(), 1, "the second run uses the cache");
    let (show, _) = zoo.ok(&["zoo", "show", "mnist-dnn"]);
    assert!(show.contains(&format!("{DNN_BRANCH}  ")) && show.contains("ok (Relu)"), "{show}");
    assert!(zoo.ok(&["zoo", "verify"]).0.contains("zoo:mnist-dnn: ok"));
    let folder = zoo.cache().join(&zoo.cached()[0]);
    std::fs::write(folder.join("mnist_dnn/checkpoint"), "changed").unwrap();
    let err = zoo.fails(&["zoo", "verify", "mnist-dnn"], 7);
    assert!(err.contains("changed since they were fetched"), "{err}");
    assert!(zoo.ok(&["zoo", "remove", "mnist-dnn"]).0.contains("removed"));
    assert!(zoo.cached().is_empty(), "{:?}", zoo.cached());
}

#[test]
fn a_plain_frozen_graph_and_a_zipped_saved_model_pick_their_flag() {
    let pb = std::fs::read(fixture("tiny_frozen/tiny.pb")).unwrap();
    let zip = zip_of("tiny_saved_model");
    let server = Server::start(HashMap::from([
        ("tiny.pb".to_string(), Route::Bytes(pb.clone())),
        ("sm.zip".to_string(), Route::Bytes(zip.clone())),
    ]));
    let zoo = Zoo::new(&[
        Model { name: "tiny-frozen", url: server.url("tiny.pb"), bytes: &pb, format: "graph", path: "tiny.pb", extra: "" },
        Model { name: "tiny-sm", url: server.url("sm.zip"), bytes: &zip, format: "saved_model", path: "tiny_saved_model", extra: "" },
    ]);
    // --meta zoo:… takes whatever the entry's format is.
    let (frozen, _) = zoo.ok(&["inspect", "--meta", "zoo:tiny-frozen"]);
    let (direct, _) = zoo.ok(&["inspect", "--graph", &fixture("tiny_frozen/tiny.pb")]);
    assert_eq!(frozen.lines().skip(1).collect::<Vec<_>>(), direct.lines().skip(1).collect::<Vec<_>>());
    let (sm, _) = zoo.ok(&["inspect", "--meta", "zoo:tiny-sm"]);
    assert!(sm.contains("serving_default"), "{sm}");
}

#[test]
fn a_wrong_hash_is_refused_and_nothing_is_cached() {
    let archive = tar_gz("tiny");
    let server = Server::start(HashMap::from([("t.tgz".to_string(), Route::Bytes(archive))]));
    let zoo = Zoo::new(&[Model {
        name: "tiny",
        url: server.url("t.tgz"),
        bytes: b"other bytes",
        format: "meta",
        path: "tiny/tiny.ckpt.meta",
        extra: "",
    }]);
    let err = zoo.fails(&["zoo", "fetch", "tiny"], 7);
    assert!(err.contains("not the manifest's") && err.contains("nothing cached"), "{err}");
    assert!(zoo.cached().is_empty(), "{:?}", zoo.cached());
}

#[test]
fn hostile_archives_are_refused_and_leave_nothing() {
    use tar::EntryType as T;
    let outside = std::env::temp_dir().join(format!("tfreuse-zoo-evil-{}", std::process::id()));
    let abs = outside.to_str().unwrap().to_string();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("slip", hostile_tar(&[(T::Regular, "m/../../evil", "", b"x")]), "a path with .. is refused"),
        ("absolute", hostile_tar(&[(T::Regular, &abs, "", b"x")]), "an absolute path is refused"),
        ("link", hostile_tar(&[(T::Symlink, "m", "../..", b"")]), "outside the archive"),
        ("through-link", hostile_tar(&[(T::Symlink, "m", ".", b""), (T::Regular, "m/evil", "", b"x")]), "a member below a link is refused"),
        ("device", hostile_tar(&[(T::Block, "m/dev", "", b"")]), "device files"),
        ("big", hostile_tar(&[(T::Regular, "m/big", "", &vec![0u8; 3 << 20])]), "the limit for one member"),
    ];
    let routes = cases.iter().map(|(n, b, _)| (n.to_string(), Route::Bytes(b.clone()))).collect();
    let server = Server::start(routes);
    let models: Vec<Model> = cases
        .iter()
        .map(|(n, b, _)| Model { name: n, url: server.url(n), bytes: b, format: "meta", path: "m/x.meta", extra: "" })
        .collect();
    let zoo = Zoo::new(&models);
    for (name, _, want) in &cases {
        let err = zoo.fails(&["zoo", "fetch", name, "--max-unpacked-mb", "2"], 3);
        assert!(err.contains(want), "{name}: {err}");
        assert!(zoo.cached().is_empty(), "{name} left {:?}", zoo.cached());
    }
    assert!(!outside.exists() && !zoo.dir.path().join("evil").exists(), "nothing was written outside");
}

#[test]
fn http_failures_are_one_clear_line_and_only_passing_ones_are_retried() {
    let server = Server::start(HashMap::from([
        ("gone".to_string(), Route::Status(404)),
        ("broken".to_string(), Route::Status(500)),
        ("stall".to_string(), Route::Stall),
    ]));
    let zoo = Zoo::new(&[
        Model { name: "gone", url: server.url("gone"), bytes: b"", format: "graph", path: "g.pb", extra: "" },
        Model { name: "broken", url: server.url("broken"), bytes: b"", format: "graph", path: "g.pb", extra: "" },
        Model { name: "stall", url: server.url("stall"), bytes: b"", format: "graph", path: "g.pb", extra: "" },
    ]);
    let err = zoo.fails(&["zoo", "fetch", "gone", "--retries", "2"], 7);
    assert!(err.contains("HTTP 404 Not Found"), "{err}");
    assert_eq!(server.requests("gone").len(), 1, "a 404 is not retried");

    let out = zoo.run(&["zoo", "fetch", "broken", "--retries", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{err}");
    assert!(err.trim_end().ends_with("HTTP 500 Internal Server Error (after 2 attempts)"), "{err}");
    assert_eq!(server.requests("broken").len(), 2, "a 500 is retried");

    let t = std::time::Instant::now();
    let err = zoo.fails(&["zoo", "fetch", "stall", "--retries", "0", "--net-timeout", "1"], 7);
    assert!(err.contains("timed out"), "{err}");
    assert!(t.elapsed().as_secs() < 20, "bounded by the timeout: {:?}", t.elapsed());
    assert!(zoo.cached().len() <= 1, "at most an empty partial file: {:?}", zoo.cached());
}

#[test]
fn a_cut_download_resumes_with_a_range_and_verifies() {
    let (server, zoo, archive) = tiny_served(|a| {
        let half = a.len() / 2;
        Route::CutOnce(a, half)
    });
    let half = archive.len() / 2;
    let err = zoo.fails(&["zoo", "fetch", "tiny", "--retries", "0"], 7);
    assert!(err.contains(&server.url("t.tgz")) && err.contains("body"), "{err}");
    assert_eq!(zoo.cached(), [".partial/…"], "the part downloaded is kept to resume");
    let (_, err) = zoo.ok(&["zoo", "fetch", "tiny", "--retries", "0"]);
    assert!(err.contains("resuming"), "{err}");
    let ranges: Vec<_> = server.requests("t.tgz").into_iter().map(|r| r.range).collect();
    assert_eq!(ranges, [None, Some(format!("bytes={half}-"))]);
    assert!(zoo.ok(&["zoo", "verify", "tiny"]).0.contains("ok"));
    zoo.ok(&["inspect", "--meta", "zoo:tiny"]);
}

#[test]
fn offline_uses_the_cache_only() {
    let (server, zoo, _) = tiny_served(Route::Bytes);
    let err = zoo.fails(&["inspect", "--meta", "zoo:tiny", "--offline"], 7);
    assert!(err.contains("offline and not cached"), "{err}");
    assert!(server.requests("t.tgz").is_empty());
    zoo.ok(&["zoo", "fetch", "tiny"]);
    let out = zoo.cmd(&["inspect", "--meta", "zoo:tiny"]).env("TFREUSE_OFFLINE", "1").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(server.requests("t.tgz").len(), 1, "offline asked nothing of the network");
}

#[test]
fn two_processes_fetching_at_once_end_with_one_copy() {
    let (server, zoo, _) = tiny_served(|a| Route::Slow(a, 1500));
    let a = zoo.cmd(&["zoo", "fetch", "tiny"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let b = zoo.cmd(&["zoo", "fetch", "tiny"]).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success(), "{}\n{}", String::from_utf8_lossy(&a.stderr), String::from_utf8_lossy(&b.stderr));
    assert!(String::from_utf8_lossy(&b.stderr).contains("waiting"), "the second waited for the first");
    assert_eq!(server.requests("t.tgz").len(), 1, "one download");
    assert_eq!(zoo.cached().len(), 1, "one copy: {:?}", zoo.cached());
}

#[test]
fn bad_manifests_and_names_are_one_clear_line() {
    let zoo = Zoo::new(&[]);
    let good = entry(&Model { name: "m", url: "https://example.org/m.tgz".into(), bytes: b"", format: "meta", path: "m.meta", extra: "" });
    let cases = [
        (good.replace("format = \"meta\"\n", ""), "missing field `format`"),
        (good.replace("https://example.org", "ftp://example.org"), "expected http://, https:// or file://"),
        (format!("{good}{good}"), "names must be unique"),
    ];
    for (text, want) in cases {
        std::fs::write(&zoo.manifest, text).unwrap();
        let err = zoo.fails(&["zoo", "list"], 2);
        assert!(err.contains(want) && err.contains("models.toml"), "{err}");
    }
    std::fs::write(&zoo.manifest, &good).unwrap();
    let err = zoo.fails(&["inspect", "--meta", "zoo:mm"], 2);
    assert!(err.contains("did you mean m"), "{err}");
    let missing = zoo.dir.path().join("none.toml");
    let err = failed(zoo.cmd(&["zoo", "list", "--manifest", missing.to_str().unwrap()]).output().unwrap(), 3, &[]);
    assert!(err.contains("none.toml"), "{err}");
}

#[test]
fn a_manifest_can_come_from_a_url() {
    let archive = tar_gz("tiny");
    let zoo = Zoo::new(&[]);
    let server0 = Server::start(HashMap::from([("t.tgz".to_string(), Route::Bytes(archive.clone()))]));
    let text =
        entry(&Model { name: "tiny", url: server0.url("t.tgz"), bytes: &archive, format: "meta", path: "tiny/tiny.ckpt.meta", extra: "" });
    let server = Server::start(HashMap::from([("models.toml".to_string(), Route::Bytes(text.into_bytes()))]));
    let (out, _) = zoo.ok(&["zoo", "list", "--manifest", &server.url("models.toml")]);
    assert!(out.contains("tiny "), "{out}");
}

#[test]
fn a_picture_models_size_scale_and_input_are_taken_from_its_entry() {
    let archive = tar_gz("cnn_rgb");
    let server = Server::start(HashMap::from([("cnn.tgz".to_string(), Route::Bytes(archive.clone()))]));
    let extra = "input = \"images:0\"\nsize = \"32x32\"\nscale = \"-1,1\"\nbranch = [\"cnn/pool2:0\"]";
    let zoo = Zoo::new(&[Model {
        name: "cnn",
        url: server.url("cnn.tgz"),
        bytes: &archive,
        format: "meta",
        path: "cnn_rgb/cnn.ckpt.meta",
        extra,
    }]);
    let pics = zoo.dir.path().join("pics");
    oracle(&["image-folder", "--data", &mnist(), "--out", pics.to_str().unwrap(), "--per-class", "2", "--size", "28"]);
    let data = format!("images:{}", pics.display());
    let (a, b) = (zoo.dir.path().join("a.npz"), zoo.dir.path().join("b.npz"));
    let (_, err) =
        zoo.ok(&["run", "--meta", "zoo:cnn", "--data", &data, "--split", "train", "--fetch", "cnn/pool2:0", "--out", a.to_str().unwrap()]);
    assert!(err.contains("--input images:0 --scale -1,1 --resize 32x32 (from its manifest entry)"), "{err}");
    let meta = fixture("cnn_rgb/cnn.ckpt.meta");
    let args = ["--input", "images:0", "--resize", "32x32", "--scale", "-1,1"];
    ok(&[
        &["run", "--meta", &meta, "--data", &data, "--split", "train", "--fetch", "cnn/pool2:0", "--out", b.to_str().unwrap()][..],
        &args,
    ]
    .concat());
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "the same rows as with the flags given");
    // A flag given wins over the entry.
    let (_, err) = zoo.ok(&[
        "run",
        "--meta",
        "zoo:cnn",
        "--data",
        &data,
        "--split",
        "train",
        "--scale",
        "1",
        "--fetch",
        "cnn/pool2:0",
        "--out",
        a.to_str().unwrap(),
    ]);
    assert!(err.contains("zoo:cnn: --input images:0 --resize 32x32 (from"), "{err}");
}

#[test]
fn a_users_manifest_may_leave_out_description_and_license() {
    let zoo = Zoo::new(&[]);
    let good = entry(&Model { name: "m", url: "https://example.org/m.tgz".into(), bytes: b"", format: "meta", path: "m.meta", extra: "" });
    std::fs::write(&zoo.manifest, good.replace("description = \"test\"\n", "").replace("license = \"Apache-2.0\"\n", "")).unwrap();
    let (list, _) = zoo.ok(&["zoo", "list"]);
    assert!(list.contains("m "), "{list}");
}

#[test]
fn cache_dir_is_still_the_zoo_folder_of_tfreuse_zoo() {
    let zoo = Zoo::new(&[]);
    let old = zoo.dir.path().join("old");
    let out = Command::new(env!("CARGO_BIN_EXE_tfreuse"))
        .args(["zoo", "list", "--manifest", zoo.manifest.to_str().unwrap(), "--cache-dir", old.to_str().unwrap()])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && list.contains(&format!("cache {}", old.display())), "{list}");
    let pb = fixture("tiny_frozen/tiny.pb");
    let add = ["zoo", "--cache-dir", old.to_str().unwrap(), "add", "tf", &pb, "--format", "graph"];
    let out = Command::new(env!("CARGO_BIN_EXE_tfreuse")).args(add).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = Command::new(env!("CARGO_BIN_EXE_tfreuse"))
        .args(["inspect", "--graph", "zoo:tf", "--zoo-dir", old.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "train's --zoo-dir reads the same cache: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_model_added_by_hand_is_used_like_a_fetched_one() {
    let zoo = Zoo::new(&[]);
    let dnn = fixture("mnist_dnn");
    let (out, _) = zoo.ok(&["zoo", "add", "dnn", &dnn, "--format", "meta"]);
    assert!(out.contains("mnist_dnn/my_model_final.ckpt.meta"), "{out}");
    let (by_name, _) = zoo.ok(&["eval", "--meta", "zoo:dnn", "--data", &mnist()]);
    let (direct, _) = zoo.ok(&["eval", "--meta", &fixture("mnist_dnn/my_model_final.ckpt.meta"), "--data", &mnist()]);
    assert_eq!(by_name, direct, "the same numbers as the fixture itself");
    let (list, _) = zoo.ok(&["zoo", "list"]);
    assert!(list.contains("dnn ") && list.contains("MB cached") && list.contains("added from"), "{list}");
    assert!(zoo.ok(&["zoo", "verify"]).0.contains("zoo:dnn: ok"));

    // A plain frozen graph, and an archive.
    zoo.ok(&["zoo", "add", "tf", &fixture("tiny_frozen/tiny.pb"), "--format", "frozen"]);
    let (frozen, _) = zoo.ok(&["inspect", "--meta", "zoo:tf"]);
    let (direct, _) = zoo.ok(&["inspect", "--graph", &fixture("tiny_frozen/tiny.pb")]);
    assert_eq!(frozen.lines().skip(1).collect::<Vec<_>>(), direct.lines().skip(1).collect::<Vec<_>>());
    let tgz = zoo.dir.path().join("t.tgz");
    std::fs::write(&tgz, tar_gz("tiny")).unwrap();
    zoo.ok(&["zoo", "add", "t", tgz.to_str().unwrap(), "--format", "meta"]);
    zoo.ok(&["inspect", "--meta", "zoo:t", "--offline"]);

    // Refused, one line each, nothing added.
    let before = zoo.cached();
    let err = zoo.fails(&["zoo", "add", "t", tgz.to_str().unwrap(), "--format", "meta"], 2);
    assert!(err.contains("already in the cache") && err.contains("--force"), "{err}");
    let err = zoo.fails(&["zoo", "add", "x", tgz.to_str().unwrap(), "--format", "graph"], 2);
    assert!(err.contains("--format graph: ") && err.contains("holds no frozen graph"), "{err}");
    let err = zoo.fails(&["zoo", "add", "x", tgz.to_str().unwrap()], 2);
    assert!(err.contains("--format") && err.contains("no manifest names it"), "{err}");
    let err = zoo.fails(&["zoo", "add", "x", &fixture("tiny_frozen/tiny.pb"), "--format", "saved-model"], 2);
    assert!(err.contains("--format saved_model"), "{err}");
    let missing = zoo.dir.path().join("none.tgz");
    let err = zoo.fails(&["zoo", "add", "x", missing.to_str().unwrap(), "--format", "meta"], 3);
    assert!(err.contains("none.tgz"), "{err}");
    let err = zoo.fails(&["zoo", "add", "Bad/Name", tgz.to_str().unwrap(), "--format", "meta"], 2);
    assert!(err.contains("a-z 0-9"), "{err}");
    assert_eq!(zoo.cached(), before, "nothing added or left behind");
    zoo.ok(&["zoo", "add", "t", &fixture("tiny_frozen/tiny.pb"), "--format", "graph", "--force"]);
    assert_eq!(zoo.cached().len(), before.len(), "the old copy replaced: {:?}", zoo.cached());
    zoo.ok(&["inspect", "--graph", "zoo:t"]);
}

/// A zoo whose manifest names `tiny` (format meta, input X:0), served as `archive`.
fn tiny_zoo(archive: &[u8]) -> Zoo {
    Zoo::new(&[Model {
        name: "tiny",
        url: "https://example.invalid/t.tgz".into(),
        bytes: archive,
        format: "meta",
        path: "tiny/tiny.ckpt.meta",
        extra: "input = \"X:0\"",
    }])
}

#[test]
fn a_model_a_manifest_names_is_added_only_as_its_entry_says() {
    let archive = tar_gz("tiny");
    let zoo = tiny_zoo(&archive);
    let other = zoo.dir.path().join("other.tgz");
    std::fs::write(&other, tar_gz("mnist_dnn")).unwrap();
    let err = zoo.fails(&["zoo", "add", "tiny", other.to_str().unwrap()], 2);
    assert!(err.contains("not the manifest's"), "{err}");
    let tgz = zoo.dir.path().join("t.tgz");
    std::fs::write(&tgz, &archive).unwrap();
    let err = zoo.fails(&["zoo", "add", "tiny", tgz.to_str().unwrap(), "--format", "graph"], 2);
    assert!(err.contains("the manifest's entry is of format meta"), "{err}");
    zoo.ok(&["zoo", "add", "tiny", tgz.to_str().unwrap()]);
    assert_eq!(zoo.cached(), [format!("tiny-{}", &sha256_bytes(&archive)[..12])], "laid out as a fetch would");
    zoo.ok(&["inspect", "--meta", "zoo:tiny", "--offline"]);
    assert!(zoo.ok(&["zoo", "verify", "tiny"]).0.contains("zoo:tiny: ok"));
}

#[test]
fn a_zoo_record_of_the_previous_format_reads_and_a_newer_one_is_refused() {
    let archive = tar_gz("tiny");
    let zoo = tiny_zoo(&archive);
    let tgz = zoo.dir.path().join("t.tgz");
    std::fs::write(&tgz, &archive).unwrap();
    zoo.ok(&["zoo", "add", "tiny", tgz.to_str().unwrap()]);
    let record = zoo.cache().join(format!("tiny-{}", &sha256_bytes(&archive)[..12])).join(".tfreuse-zoo.json");
    let text = std::fs::read_to_string(&record).unwrap();
    assert!(text.starts_with("{\n  \"format\": 2,"), "{text}");
    std::fs::write(&record, text.replace("  \"format\": 2,\n", "")).unwrap();
    zoo.ok(&["inspect", "--meta", "zoo:tiny", "--offline"]);
    assert!(zoo.ok(&["zoo", "verify", "tiny"]).0.contains("zoo:tiny: ok"));
    std::fs::write(&record, text.replace("\"format\": 2", "\"format\": 3")).unwrap();
    let err = zoo.fails(&["inspect", "--meta", "zoo:tiny", "--offline"], 3);
    let want = format!(
        "tfreuse: error: {}: written by a newer tfreuse (zoo record format 3; this one reads up to 2): upgrade tfreuse",
        record.display()
    );
    assert!(err.trim_end().ends_with(&want), "{err}");
    assert_eq!(std::fs::read_to_string(&record).unwrap(), text.replace("\"format\": 2", "\"format\": 3"), "left as it was");
}

#[test]
fn a_trusted_entry_runs_a_graph_that_reaches_outside_and_the_sandbox_still_applies() {
    let pb = std::fs::read(fixture("hostile/listing.pb")).unwrap();
    let server = Server::start(HashMap::from([("l.pb".to_string(), Route::Bytes(pb.clone()))]));
    let listing = |name, extra| Model { name, url: server.url("l.pb"), bytes: &pb, format: "graph", path: "l.pb", extra };
    let zoo = Zoo::new(&[listing("plain", ""), listing("vouched", "trusted = true")]);
    let run = |name: &str| {
        ["run", "--graph", name, "--data", &tiny_data(), "--split", "all", "--fetch", "dnn/outputs/listed:0"].map(String::from)
    };
    let err = zoo.fails(&strs(&run("zoo:plain")), 3);
    assert!(err.contains("would run evil/list (MatchingFiles") && err.contains("--trust-graph"), "{err}");
    let (out, err) = zoo.ok(&strs(&run("zoo:vouched")));
    assert!(err.contains("zoo:vouched: its graph runs as with --trust-graph"), "{err}");
    assert!(out.contains("dnn/outputs/listed:0: float32 [64, 2]"), "{out}");
}
