//! Faults during a run: Ctrl-C / SIGTERM and resuming, NaN losses, SIGKILL while saving.

use crate::common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Read `err` line by line until a line satisfies `stop` (or the end); returns what was read.
fn stderr_until(err: &mut BufReader<std::process::ChildStderr>, stop: impl Fn(&str) -> bool) -> String {
    let mut seen = String::new();
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        if stop(&line) {
            break;
        }
        line.clear();
    }
    seen
}

/// Run `cmd`, send SIGTERM once it reports its first epoch; its exit code and stderr.
fn sigterm_after_first_epoch(cmd: &mut Command) -> (Option<i32>, String) {
    let mut child = cmd.stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = stderr_until(&mut err, |l| l.starts_with("epoch   1"));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    seen += &stderr_until(&mut err, |_| false);
    (child.wait().unwrap().code(), seen)
}

/// The checkpoint prefix the `checkpoint` state file in `dir` names.
fn named_in_state(dir: &std::path::Path) -> String {
    let state = std::fs::read_to_string(dir.join("checkpoint")).unwrap();
    state.lines().next().unwrap().split('"').nth(1).unwrap().to_string()
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tfreuse"));
    c.env("TF_ENABLE_ONEDNN_OPTS", "0");
    c
}

/// The files of the checkpoint at `prefix` in `dir` (`PREFIX.*`, its sidecar too), sorted.
fn files_of(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    let start = format!("{prefix}.");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&start))
        .collect();
    names.sort();
    names
}

/// Train `t` once whole and once SIGTERMed after epoch 1; the interrupted run's stderr and
/// the resumable checkpoint's prefix.
fn interrupt(t: &Train, dir: &std::path::Path) -> (String, String) {
    let (full, part) = (dir.join("full.ckpt"), dir.join("part.ckpt"));
    t.clone().out(&full).ok();
    let log = dir.join("part.jsonl");
    let (code, seen) = sigterm_after_first_epoch(bin().args(t.clone().out(&part).json_log(&log).args()));
    assert_eq!(code, Some(130), "{seen}");
    assert!(seen.contains("saved a resumable checkpoint") && seen.contains("--resume"), "{seen}");
    assert!(!part.with_extension("ckpt.index").exists(), "an interrupted run must not write --out itself");
    let events = std::fs::read_to_string(&log).unwrap();
    assert!(events.contains("\"epoch\":1"), "the JSON log is flushed before exiting: {events}");
    (seen, format!("{}-interrupted", part.display()))
}

/// Resume [`interrupt`]'s run: the same bytes as the whole run, and the checkpoint resumed
/// from removed once the result is saved.
fn resume_matches_whole(t: &Train, dir: &std::path::Path, resume: &str) {
    assert_eq!(files_of(dir, "part.ckpt-interrupted").len(), 4, "index, data, meta, sidecar");
    t.clone().out(dir.join("part.ckpt")).arg("--resume", resume).ok();
    assert_eq!(
        sha256(&dir.join("full.ckpt.data-00000-of-00001")),
        sha256(&dir.join("part.ckpt.data-00000-of-00001")),
        "interrupted + resumed must equal one uninterrupted run"
    );
    assert_eq!(files_of(dir, "part.ckpt-interrupted"), Vec::<String>::new(), "the resumed-from checkpoint is done with");
}

#[test]
fn sigterm_saves_a_resumable_checkpoint_and_resume_matches() {
    let tmp = tempfile::tempdir().unwrap();
    let t = Train::dnn().branch("dnn/hidden4/Relu:0").layers("20:relu,10").optimizer("adam").lr("0.001").epochs(3).seed(5);
    let (_, resume) = interrupt(&t, tmp.path());
    // Other flags than the interrupted run's are refused, and the checkpoint stays.
    let kept = files_of(tmp.path(), "part.ckpt-interrupted");
    let e = t.clone().batch(100).out(tmp.path().join("x.ckpt")).arg("--resume", &resume).fails(2);
    assert!(e.contains("flags differ"), "{e}");
    assert_eq!(files_of(tmp.path(), "part.ckpt-interrupted"), kept);
    // A sidecar of a newer format is refused in one line; one of the previous format (no
    // version) resumes as before.
    let sidecar = format!("{resume}.resume.json");
    let text = std::fs::read_to_string(&sidecar).unwrap();
    assert!(text.starts_with("{\n  \"format\": 2,"), "{text}");
    std::fs::write(&sidecar, text.replace("\"format\": 2", "\"format\": 3")).unwrap();
    let e = t.clone().out(tmp.path().join("x.ckpt")).arg("--resume", &resume).fails(3);
    let want =
        format!("tfreuse: error: {sidecar}: written by a newer tfreuse (resume file format 3; this one reads up to 2): upgrade tfreuse");
    assert!(e.trim_end().ends_with(&want), "{e}");
    assert_eq!(files_of(tmp.path(), "part.ckpt-interrupted"), kept);
    std::fs::write(&sidecar, text.replace("  \"format\": 2,\n", "")).unwrap();
    resume_matches_whole(&t, tmp.path(), &resume);
}

#[test]
fn resuming_under_xla_gives_the_same_bytes() {
    // With oneDNN off, long runs of a model's own training op get XLA by default (`--jit
    // auto`): its compiled step must be as deterministic across a resume as TF's kernels are.
    let tmp = tempfile::tempdir().unwrap();
    let t = Train::dnn().epochs(2).arg("--jit", "on");
    let (seen, resume) = interrupt(&t, tmp.path());
    assert!(seen.contains("jit: on"), "{seen}");
    resume_matches_whole(&t, tmp.path(), &resume);
}

#[test]
fn nan_loss_names_epoch_and_step_and_saves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("nan.ckpt");
    let t = Train::tiny().branch("dnn/outputs/BiasAdd:0").lr("1e30").batch(8).epochs(5).out(&out);
    let e = t.fails(6);
    assert!(e.contains("epoch 1 step") && e.contains("nothing saved"), "{e}");
    assert!(!tmp.path().join("nan.ckpt.index").exists());
    let e = t.clone().flag("--save-on-nan").fails(6);
    assert!(e.contains("--save-on-nan"), "{e}");
    assert!(tmp.path().join("nan.ckpt.index").exists());
}

#[test]
fn sigkill_while_saving_never_leaves_a_broken_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("k.ckpt");
    let data = tiny_data();
    let train = |seed: u64| Train::tiny().branch("dnn/hidden1/Relu:0").layers("2").epochs(1).batch(16).seed(seed).out(&out).force();
    // A first complete save.
    train(1).ok();
    let check = |round: usize| {
        let name = named_in_state(tmp.path());
        for ext in [".index", ".data-00000-of-00001", ".meta"] {
            assert!(tmp.path().join(format!("{name}{ext}")).exists(), "round {round}: state names {name} but {name}{ext} is missing");
        }
        ok(&strs(&eval_saved(tmp.path(), &name, &data)));
    };
    // Kill at every step of the save in turn (the test hook announces and pauses each of
    // the 6 steps: after writing the new files, after the backup, after each rename).
    for round in 0..12 {
        let kill_at = format!("save step {}", round % 6);
        let mut child = bin()
            .args(train(round as u64 + 2).args())
            .env("TFREUSE_TEST_SAVE_PAUSE_MS", "30")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        stderr_until(&mut BufReader::new(child.stderr.take().unwrap()), |l| l.starts_with(&kill_at));
        let _ = child.kill();
        let _ = child.wait();
        check(round);
    }
    // Python TF loads what the state file names.
    oracle(&strs(&eval_saved(tmp.path(), &named_in_state(tmp.path()), &data)));
}

/// `eval` of the checkpoint `name` saved in `dir` (with its own `.meta`) on the whole set.
fn eval_saved(dir: &std::path::Path, name: &str, data: &str) -> Vec<String> {
    let meta = dir.join(format!("{name}.meta"));
    let mut a: Vec<String> =
        vec!["eval".into(), "--meta".into(), meta.display().to_string(), "--checkpoint".into(), dir.display().to_string()];
    a.extend(["--data", data, "--split", "all", "--fetch", "new_eval/accuracy:0"].map(String::from));
    a
}

#[test]
fn ctrl_c_while_the_feature_cache_fills_keeps_what_was_computed() {
    let tmp = tempfile::tempdir().unwrap();
    let pics = tmp.path().join("pics");
    oracle(&["image-folder", "--data", &mnist(), "--out", pics.to_str().unwrap(), "--per-class", "40", "--size", "32", "--color"]);
    let cache = tmp.path().join("cache");
    let log = tmp.path().join("log.jsonl");
    let t = Train::cnn(&format!("images:{}", pics.display()))
        .flag("--cache-frozen")
        .arg("--cache-dir", cache.to_str().unwrap())
        .epochs(1)
        .json_log(&log);
    // Splits go in name order: test (20 pictures), then train (360: 256 in its first batch);
    // Ctrl-C while paused after that batch.
    let mut child =
        bin().args(t.args()).env("TFREUSE_TEST_CACHE_PAUSE_MS", "1500").stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = stderr_until(&mut err, |l| l.starts_with("cache step 256"));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    seen += &stderr_until(&mut err, |_| false);
    assert_eq!(child.wait().unwrap().code(), Some(130), "{seen}");
    assert!(seen.contains("interrupted while computing the feature cache; the 276 picture(s) computed so far are kept"), "{seen}");
    // The next run computes only the rest.
    t.ok();
    let text = std::fs::read_to_string(&log).unwrap();
    let e = text.lines().map(json).find(|e| e["event"] == "disk_cache").unwrap();
    assert_eq!((e["hits"].as_u64(), e["misses"].as_u64()), (Some(276), Some(124)), "{e}");
}
