//! TensorFlow's distributed runtime on loopback: `tfreuse server` tasks, and sessions that run
//! on a server (tfreuse's or Python's) through `--target grpc://…`. Ports are chosen free,
//! every process is bounded in time and killed at the end.

use std::io::{BufRead, BufReader};
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

fn tfreuse_server(port: u16) -> Task {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tfreuse"));
    cmd.args(["server", "--cluster", &format!("local=127.0.0.1:{port}"), "--job", "local", "--task", "0"])
        .env("TF_ENABLE_ONEDNN_OPTS", "0");
    let mut task = Task::spawn(cmd);
    task.wait_for("serving at");
    task
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
    let ps = free_port();
    let tasks: Vec<String> = (0..workers).map(|_| format!("127.0.0.1:{}", free_port())).collect();
    (ps, vec!["--cluster".into(), format!("ps=127.0.0.1:{ps}"), "--cluster".into(), format!("worker={}", tasks.join(","))])
}

/// The ps task of `cluster`, a `tfreuse server`.
fn ps_task(cluster: &[String]) -> Task {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tfreuse"));
    cmd.arg("server").args(cluster).args(["--job", "ps"]).env("TF_ENABLE_ONEDNN_OPTS", "0");
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
    let mut chief = worker(&train.clone().out(&dist), &flags, 0);
    let mut other = worker(&train, &flags, 1);
    assert_eq!(other.finish(300), Some(0), "worker 1:\n{}", other.stderr());
    assert_eq!(chief.finish(300), Some(0), "the chief:\n{}", chief.stderr());
    assert!(chief.stderr().contains("worker 0: 27500 training examples"), "{}", chief.stderr());
    assert!(other.stderr().contains("worker 1: 27500 training examples"), "{}", other.stderr());
    assert!(!other.stderr().contains("saved"), "only the chief saves:\n{}", other.stderr());
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
}
