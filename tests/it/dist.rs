//! TensorFlow's distributed runtime on loopback: `tfreuse server` tasks, and sessions that run
//! on a server (tfreuse's or Python's) through `--target grpc://…`. Ports are chosen free,
//! every process is bounded in time and killed at the end.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::common::*;

/// A free port on 127.0.0.1 (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A server process, killed when dropped; its stderr lines arrive on `lines`.
struct Task {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Task {
    fn spawn(mut cmd: Command) -> Task {
        let mut child = cmd.stderr(Stdio::piped()).stdout(Stdio::null()).spawn().expect("start a server");
        let (tx, lines) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || BufReader::new(err).lines().map_while(Result::ok).try_for_each(|l| tx.send(l)));
        Task { child, lines, seen: vec![] }
    }

    /// Wait (at most 30 s) for a stderr line containing `text`.
    fn wait_for(&mut self, text: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) if l.contains(text) => return self.seen.push(l),
                Ok(l) => self.seen.push(l),
                Err(_) => break,
            }
        }
        panic!("no {text:?} within 30 s; stderr so far:\n{}", self.seen.join("\n"));
    }
}

impl Drop for Task {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `tfreuse server` on `port` whose clients' graphs may read the tiny fixture's checkpoint.
fn tfreuse_server(port: u16) -> Task {
    let tiny = fixture(TINY_META);
    let folder = Path::new(&tiny).parent().unwrap().to_str().unwrap();
    tfreuse_server_in(port, Path::new("."), &["--allow-read", folder])
}

/// A `tfreuse server` on `port`, run in `cwd` with `flags`.
fn tfreuse_server_in(port: u16, cwd: &Path, flags: &[&str]) -> Task {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tfreuse"));
    cmd.args(["server", "--cluster", &format!("local=127.0.0.1:{port}"), "--job", "local", "--task", "0"])
        .args(flags)
        .current_dir(cwd)
        .env("TF_ENABLE_ONEDNN_OPTS", "0");
    let mut task = Task::spawn(cmd);
    task.wait_for("serving at");
    task
}

#[test]
fn a_sandboxed_server_stops_a_trusted_graphs_write_and_an_unconfined_one_does_not() {
    let meta = fixture("hostile/write/model.ckpt.meta");
    let folder = Path::new(&meta).parent().unwrap().to_str().unwrap().to_string();
    for confined in [true, false] {
        let home = tempfile::tempdir().unwrap();
        let port = free_port();
        let flags = if confined { vec!["--allow-read", &folder] } else { vec!["--no-sandbox"] };
        let mut server = tfreuse_server_in(port, home.path(), &flags);
        let target = format!("grpc://127.0.0.1:{port}");
        let eval = ["eval", "--meta", &meta, "--data", &tiny_data(), "--split", "all", "--trust-graph", "--target", &target];
        // The graph runs on the server: the file would appear in the server's folder.
        let pwned = home.path().join("pwned.txt");
        if confined {
            server.wait_for("sandboxed: clients' graphs may read");
            let err = fails(&eval, 5);
            let line = err.lines().last().unwrap();
            assert!(line.contains("PermissionDenied: From /job:local/replica:0/task:0: pwned.txt; Permission denied"), "{err}");
            assert!(line.ends_with("(a tfreuse server's sandbox allows only its --allow-read and --allow-write paths)"), "{line}");
            assert!(!pwned.exists(), "the sandboxed server wrote the file");
        } else {
            ok(&eval);
            assert_eq!(std::fs::read_to_string(&pwned).unwrap(), "pwned", "unconfined, the server writes: the fixture is real");
        }
    }
}

#[test]
fn a_tfreuse_server_runs_other_commands_sessions_and_stops_on_sigterm() {
    let port = free_port();
    let mut server = tfreuse_server(port);
    let target = format!("grpc://127.0.0.1:{port}");
    let (meta, data) = (fixture(TINY_META), tiny_data());
    let eval = ["eval", "--meta", &meta, "--data", &data, "--split", "all"];
    let remote = ok(&[&eval[..], &["--target", &target]].concat());
    assert_eq!(remote, ok(&eval), "the same loss and accuracy as in-process");
    let status = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    server.wait_for("stopped");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.child.try_wait().unwrap().is_none() {
        assert!(std::time::Instant::now() < deadline, "the server did not exit within 10 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.child.try_wait().unwrap().unwrap().code(), Some(0));
}

#[test]
fn a_python_started_server_trains_a_tfreuse_model_to_the_same_bytes() {
    let port = free_port();
    let code = format!(
        "import sys, tensorflow as tf\ns = tf.distribute.Server({{'local': ['127.0.0.1:{port}']}}, job_name='local', task_index=0)\nsys.stderr.write('ready\\n'); sys.stderr.flush(); s.join()"
    );
    let mut cmd = Command::new(root().join(".venv/bin/python"));
    cmd.args(["-c", &code]).env("TF_ENABLE_ONEDNN_OPTS", "0").env("TF_CPP_MIN_LOG_LEVEL", "0");
    let mut server = Task::spawn(cmd);
    server.wait_for("ready");
    let tmp = tempfile::tempdir().unwrap();
    let (remote, local) = (tmp.path().join("remote/m.ckpt"), tmp.path().join("local/m.ckpt"));
    let train = Train::tiny().epochs(2).batch(16).flag("--no-shuffle");
    train.clone().out(&remote).arg("--target", format!("grpc://127.0.0.1:{port}")).ok();
    train.out(&local).ok();
    let bytes = |p: &std::path::Path| std::fs::read(format!("{}.data-00000-of-00001", p.display())).unwrap();
    assert_eq!(bytes(&remote), bytes(&local), "trained on Python's server, the same bytes as in-process");
    // The run did go through Python's master.
    server.wait_for("Scanning workers for devices");
}

#[test]
fn bad_clusters_and_targets_are_one_error_line() {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = format!("ps=127.0.0.1:{}", held.local_addr().unwrap().port());
    let (meta, data) = (fixture(TINY_META), tiny_data());
    let eval = |target: &str| fails(&["eval", "--meta", &meta, "--data", &data, "--split", "all", "--target", target], 2);
    #[rustfmt::skip]
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["server", "--cluster", "ps", "--job", "ps"], "expected JOB=HOST:PORT"),
        (vec!["server", "--cluster", "ps=127.0.0.1", "--job", "ps"], "is not HOST:PORT"),
        (vec!["server", "--cluster", "ps=127.0.0.1:2222", "--job", "worker"], "not in --cluster (jobs: ps)"),
        (vec!["server", "--cluster", "ps=127.0.0.1:2222", "--job", "ps", "--task", "1"], "job ps has 1 task(s)"),
        (vec!["server", "--cluster", &busy, "--job", "ps"], "Could not start gRPC server"),
    ];
    for (args, says) in cases {
        let err = fails(&args, 2);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert!(eval("http://127.0.0.1:2222").contains("expected grpc://HOST:PORT"));
    let closed = format!("grpc://127.0.0.1:{}", free_port());
    assert!(eval(&closed).contains("cannot reach a TF server there"));
    drop(held);
}

#[test]
fn a_worker_without_its_ps_or_its_chief_gives_up_in_time_with_one_error_line() {
    let (_, flags) = cluster(2);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("m.ckpt");
    let train = Train::tiny().epochs(1).batch(16).arg("--wait-secs", "2");
    let with = |extra: &[&str], code: i32| {
        let mut args: Vec<String> = train.args();
        args.extend(flags.iter().chain(extra).map(|s| s.to_string()));
        fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), code)
    };
    let out_flag = ["--out", out.to_str().unwrap()];
    assert!(with(&out_flag, 2).contains("ps task 0 at 127.0.0.1:"), "no ps");
    assert!(with(&[&out_flag[..], &["--job", "ps"]].concat(), 2).contains("train runs as a worker"));
    assert!(with(&["--task", "0"], 2).contains("--out: missing: the chief"));
    assert!(with(&["--task", "2"], 2).contains("job worker has 2 task(s)"));
    let target = ["--target", "grpc://127.0.0.1:1", "--task", "1"];
    assert!(with(&target, 2).contains("--target: not with --cluster"));
    let _ps = ps_task(&flags.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert!(with(&["--task", "1"], 2).contains("did not initialise the variables within 2 s"), "no chief");
    let mut no_ps_job: Vec<String> = train.args();
    no_ps_job.extend(["--cluster", flags[3], "--task", "1"].map(String::from));
    assert!(fails(&no_ps_job.iter().map(String::as_str).collect::<Vec<_>>(), 2).contains("a ps job"));
    assert!(!out.exists());
}

impl Task {
    /// Wait (at most `secs`) for the process to end; its exit code (None: a signal).
    fn finish(&mut self, secs: u64) -> Option<i32> {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            while let Ok(l) = self.lines.try_recv() {
                self.seen.push(l);
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                self.seen.extend(self.lines.try_iter());
                return status.code();
            }
            assert!(std::time::Instant::now() < deadline, "still running after {secs} s; stderr:\n{}", self.seen.join("\n"));
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stderr(&self) -> String {
        self.seen.join("\n")
    }

    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `--cluster` flags of one ps task and `workers` worker tasks on free loopback ports.
fn cluster(workers: usize) -> (u16, Vec<String>) {
    let (ps, flags) = cluster_of(1, workers);
    (ps[0], flags)
}

/// `--cluster` flags of `ps` ps tasks and `workers` worker tasks on free loopback ports.
fn cluster_of(ps: usize, workers: usize) -> (Vec<u16>, Vec<String>) {
    let ports: Vec<u16> = (0..ps).map(|_| free_port()).collect();
    let list = |ports: &[u16]| ports.iter().map(|p| format!("127.0.0.1:{p}")).collect::<Vec<_>>().join(",");
    let tasks: Vec<u16> = (0..workers).map(|_| free_port()).collect();
    let flags = vec!["--cluster".into(), format!("ps={}", list(&ports)), "--cluster".into(), format!("worker={}", list(&tasks))];
    (ports, flags)
}

/// The ps task of `cluster`, a `tfreuse server`.
fn ps_task(cluster: &[String]) -> Task {
    ps_task_n(cluster, 0)
}

/// Ps task `task` of `cluster`, a `tfreuse server`.
fn ps_task_n(cluster: &[String], task: usize) -> Task {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tfreuse"));
    cmd.arg("server").args(cluster).args(["--job", "ps", "--task", &task.to_string()]).env("TF_ENABLE_ONEDNN_OPTS", "0");
    let mut task = Task::spawn(cmd);
    task.wait_for("serving at");
    task
}

/// Worker `task` of `cluster` running `train`.
fn worker(train: &Train, cluster: &[String], task: usize) -> Task {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tfreuse"));
    cmd.args(train.args()).args(cluster).args(["--task", &task.to_string()]).env("TF_ENABLE_ONEDNN_OPTS", "0");
    Task::spawn(cmd)
}

/// Python's validation accuracy of a saved model.
fn validation_accuracy(prefix: &std::path::Path) -> f64 {
    let meta = format!("{}.meta", prefix.display());
    let fetch = "new_eval/accuracy:0";
    let got = json(&oracle(&["eval", "--meta", &meta, "--data", &mnist(), "--split", "validation", "--fetch", fetch]));
    got[fetch].as_f64().unwrap()
}

/// Worker 0 running `chief` and worker 1 running `other` in `cluster`, to the end (exit 0);
/// their stderr.
fn two_workers(chief: &Train, other: &Train, cluster: &[String]) -> (String, String) {
    let (mut c, mut o) = (worker(chief, cluster, 0), worker(other, cluster, 1));
    assert_eq!(o.finish(300), Some(0), "worker 1:\n{}", o.stderr());
    assert_eq!(c.finish(300), Some(0), "the chief:\n{}", c.stderr());
    (c.stderr(), o.stderr())
}

/// The largest |a − b| over the tensors of two checkpoints (Python reads them), and how many.
fn max_diff(a: &std::path::Path, b: &std::path::Path) -> (f64, usize) {
    let d = json(&oracle(&["maxdiff", a.to_str().unwrap(), b.to_str().unwrap()]));
    let all = d.as_object().unwrap();
    (all.values().map(|v| v.as_f64().unwrap()).fold(0.0, f64::max), all.len())
}

/// The MNIST DNN's hidden layers frozen, a new 10-wide head on top.
fn dnn_head() -> Train {
    Train::dnn().branch("dnn/hidden4/Relu:0").arg("--freeze-below", "dnn/hidden4/Relu:0").layers("10").batch(100)
}

#[test]
fn one_ps_and_two_workers_train_a_model_python_reads_as_accurate_as_one_process() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, flags) = cluster(2);
    let _ps = ps_task(&flags);
    let (dist, single) = (tmp.path().join("dist/m.ckpt"), tmp.path().join("single/m.ckpt"));
    let train = dnn_head().epochs(2);
    let (chief, other) = two_workers(&train.clone().out(&dist), &train, &flags);
    assert!(chief.contains("worker 0: 27500 training examples"), "{chief}");
    assert!(other.contains("worker 1: 27500 training examples"), "{other}");
    assert!(!other.contains("saved"), "only the chief saves:\n{other}");
    train.out(&single).ok();
    let (d, s) = (validation_accuracy(&dist), validation_accuracy(&single));
    // Asynchronous updates from two workers are not one process's sequence of steps.
    assert!((d - s).abs() <= 0.02 && d > 0.9, "two workers {d} vs one process {s}");
}

#[test]
fn one_worker_on_a_python_ps_saves_the_same_bytes_as_one_process() {
    let (ps, flags) = cluster(1);
    let code = format!(
        "import sys, tensorflow as tf\ns = tf.distribute.Server({{'ps': ['127.0.0.1:{ps}'], 'worker': ['{}']}}, job_name='ps', task_index=0)\nsys.stderr.write('ready\\n'); sys.stderr.flush(); s.join()",
        flags[3].trim_start_matches("worker=")
    );
    let mut cmd = Command::new(root().join(".venv/bin/python"));
    cmd.args(["-c", &code]).env("TF_ENABLE_ONEDNN_OPTS", "0");
    let mut server = Task::spawn(cmd);
    server.wait_for("ready");
    let tmp = tempfile::tempdir().unwrap();
    let (dist, local) = (tmp.path().join("dist/m.ckpt"), tmp.path().join("local/m.ckpt"));
    let train = Train::tiny().epochs(2).batch(16).flag("--no-shuffle");
    let mut w = worker(&train.clone().out(&dist), &flags, 0);
    assert_eq!(w.finish(120), Some(0), "{}", w.stderr());
    train.out(&local).ok();
    let bytes = |p: &std::path::Path| std::fs::read(format!("{}.data-00000-of-00001", p.display())).unwrap();
    assert_eq!(bytes(&dist), bytes(&local), "variables on Python's ps, the same bytes as in one process");
    // The variables live on the ps task: a Python client reads them there, as saved.
    python(&format!(
        r#"
import numpy as np, tensorflow as tf
tf.compat.v1.disable_eager_execution()
r = tf.train.load_checkpoint("{dist}")
names = sorted(n for n, _ in tf.train.list_variables("{dist}"))
with tf.device("/job:ps/task:0"):
    held = [tf.raw_ops.VariableV2(shape=r.get_variable_to_shape_map()[n], dtype=tf.float32, name=n) for n in names]
config = tf.compat.v1.ConfigProto(device_filters=["/job:ps"], operation_timeout_in_ms=30000)
with tf.compat.v1.Session("grpc://127.0.0.1:{ps}", config=config) as s:
    got = s.run([tf.identity(v) for v in held])
for n, v in zip(names, got):
    assert np.array_equal(v, r.get_tensor(n)), n
assert len(names) > 0
"#,
        dist = dist.display()
    ));
}

#[test]
fn a_killed_worker_leaves_the_chief_going_and_a_killed_chief_resumes_from_its_last_checkpoint() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, flags) = cluster(2);
    let _ps = ps_task(&flags);
    let out = tmp.path().join("m.ckpt");
    let train = dnn_head().epochs(4).arg("--save-every-secs", "1").out(&out);
    let mut chief = worker(&train, &flags, 0);
    let mut other = worker(&train, &flags, 1);
    other.wait_for("epoch   1");
    other.kill9();
    chief.wait_for("saved");
    chief.wait_for("epoch   2");
    chief.kill9();
    assert!(!out.with_extension("ckpt.index").exists(), "killed before the end: no model yet");
    let mut again = worker(&train, &flags, 0);
    assert_eq!(again.finish(300), Some(0), "{}", again.stderr());
    let said = again.stderr();
    assert!(said.contains("the chief resumes from its last checkpoint"), "{said}");
    assert!(!said.contains("epoch   1 "), "epoch 1 was done before the crash:\n{said}");
    assert!(validation_accuracy(&out) > 0.9);
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    assert!(left.iter().all(|f| !f.contains("interrupted")), "the periodic checkpoint is removed at the end: {left:?}");
}

#[test]
fn a_killed_ps_stops_the_workers_with_one_error_line_and_nothing_saved() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, flags) = cluster(1);
    let mut ps = ps_task(&flags);
    let out = tmp.path().join("m.ckpt");
    let mut chief = worker(&dnn_head().epochs(50).out(&out), &flags, 0);
    chief.wait_for("epoch   1");
    ps.kill9();
    let started = std::time::Instant::now();
    let code = chief.finish(150);
    eprintln!("{}", chief.stderr());
    assert_eq!(code, Some(5), "a TF error");
    let said = chief.stderr();
    let errors: Vec<&str> = said.lines().filter(|l| l.starts_with("tfreuse: error: ")).collect();
    assert_eq!(errors.len(), 1, "{said}");
    assert!(errors[0].contains("stopped answering") && errors[0].contains("/job:ps"), "{}", errors[0]);
    eprintln!("the worker stopped {:.1} s after the ps was killed: {}", started.elapsed().as_secs_f64(), errors[0]);
    assert!(std::fs::read_dir(tmp.path()).unwrap().next().is_none(), "nothing written");
}

#[test]
fn two_synchronous_workers_take_the_steps_of_one_process_over_both_their_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, flags) = cluster(2);
    let _ps = ps_task(&flags);
    let (sync, single) = (tmp.path().join("sync/m.ckpt"), tmp.path().join("single/m.ckpt"));
    let train = Train::tiny().optimizer("momentum").epochs(3).flag("--no-shuffle");
    let per_worker = train.clone().batch(8).flag("--sync");
    two_workers(&per_worker.clone().out(&sync), &per_worker, &flags);
    // Step k of one process over 16 examples = the mean of the two workers' step k over 8
    // each (even and odd examples of the same 16).
    train.clone().batch(16).out(&single).ok();
    let (worst, tensors) = max_diff(&sync, &single);
    assert!(tensors >= 4 && worst < 1e-5, "the same weights within float rounding: {worst} over {tensors} tensors");
    eprintln!("--sync vs one process: max |Δ| = {worst:e}");
    // A new job on the same ps: its worker 1 does not take the last job's ready flag for its
    // own chief's (it would train on the last job's variables).
    let mut alone = train.clone().batch(8).arg("--wait-secs", "2").args();
    alone.extend(flags.iter().cloned().chain(["--task".into(), "1".into()]));
    let said = fails(&alone.iter().map(String::as_str).collect::<Vec<_>>(), 2);
    assert!(said.contains("did not initialise the variables within 2 s"), "{said}");
    let unsynced = tmp.path().join("async/m.ckpt");
    two_workers(&train.clone().batch(8).out(&unsynced), &train.batch(8), &flags);
    let (worst, _) = max_diff(&unsynced, &single);
    assert!(worst > 1e-4, "without --sync the steps differ: {worst}");
    eprintln!("asynchronous vs one process: max |Δ| = {worst:e}");
}

#[test]
fn two_ps_tasks_share_the_variables_and_one_worker_saves_the_same_bytes_as_one_process() {
    let (ports, flags) = cluster_of(2, 1);
    let _ps = [ps_task_n(&flags, 0), ps_task_n(&flags, 1)];
    let tmp = tempfile::tempdir().unwrap();
    let (dist, local) = (tmp.path().join("dist/m.ckpt"), tmp.path().join("local/m.ckpt"));
    let train = Train::tiny().optimizer("adam").epochs(2).batch(16).flag("--no-shuffle");
    let mut w = worker(&train.clone().out(&dist), &flags, 0);
    assert_eq!(w.finish(120), Some(0), "{}", w.stderr());
    assert!(w.stderr().contains("variables on the ps tasks: ps task 0: "), "{}", w.stderr());
    train.out(&local).ok();
    let (worst, tensors) = max_diff(&dist, &local);
    assert!(tensors > 0 && worst == 0.0, "the same values as one process: {worst}");
    // Each variable (Adam's slots too) lives on exactly one ps task, and each task holds some.
    python(&format!(
        r#"
import tensorflow as tf
tf.compat.v1.disable_eager_execution()
r = tf.train.load_checkpoint("{dist}")
shapes = r.get_variable_to_shape_map()
names = sorted(shapes)
checks = []
for t in range(2):
    with tf.device("/job:ps/task:%d" % t):
        checks.append([tf.raw_ops.IsVariableInitialized(ref=tf.raw_ops.VariableV2(shape=shapes[n], dtype=tf.float32, name="t%d/%s" % (t, n), shared_name=n)) for n in names])
config = tf.compat.v1.ConfigProto(device_filters=["/job:ps"], operation_timeout_in_ms=30000)
with tf.compat.v1.Session("grpc://127.0.0.1:{port}", config=config) as s:
    held = s.run(checks)
for i, n in enumerate(names):
    assert held[0][i] != held[1][i], (n, held[0][i], held[1][i])
assert any(held[0]) and any(held[1]), held
"#,
        dist = dist.display(),
        port = ports[0]
    ));
}
