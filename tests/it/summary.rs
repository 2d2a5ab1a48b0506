//! TensorBoard event files (`train --logdir`) read back by Python TF's summary_iterator (the
//! same numbers as the `--json` log, the file version, the graph) and served by a real
//! TensorBoard on 127.0.0.1, asked through its HTTP API.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// A TensorBoard process on 127.0.0.1 and a free port, killed when dropped.
struct Board {
    child: Child,
    port: u16,
}

impl Board {
    fn start(logdir: &Path) -> Board {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(root().join(".venv/bin/tensorboard"))
            .args(["--logdir", logdir.to_str().unwrap(), "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--load_fast", "false", "--reload_interval", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tensorboard (make setup installs it)");
        Board { child, port }
    }

    /// GET `path` as JSON, retried until it answers with `ready` true (60 s at most).
    fn get(&self, path: &str, ready: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let url = format!("http://127.0.0.1:{}/{path}", self.port);
        let client = reqwest::blocking::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build().unwrap();
        let t = Instant::now();
        loop {
            let text = client.get(&url).send().and_then(|r| r.error_for_status()).and_then(|r| r.text());
            if let Some(v) = text.ok().and_then(|t| serde_json::from_str(&t).ok()).filter(&ready) {
                return v;
            }
            assert!(t.elapsed() < Duration::from_secs(60), "TensorBoard did not answer {url} in 60 s");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn event_files_hold_the_json_logs_numbers_as_python_reads_them() {
    let tmp = tempfile::tempdir().unwrap();
    let (logdir, log) = (tmp.path().join("tb"), tmp.path().join("log.jsonl"));
    let ckpt = tmp.path().join("m.ckpt");
    let run = Train::dnn().branch("dnn/hidden4/Relu:0").layers("10").epochs(2).json_log(&log).out(&ckpt);
    let run = run.arg("--freeze-below", "dnn/hidden3/Relu:0").flag("--histograms");
    let out = run.arg("--logdir", logdir.to_str().unwrap()).arg("--run-name", "a").arg("--log-every", "100").output();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files: Vec<_> = std::fs::read_dir(logdir.join("a")).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(files.len(), 1);
    assert!(files[0].file_name().unwrap().to_string_lossy().starts_with("events.out.tfevents."));
    let read = json(&oracle(&["events", files[0].to_str().unwrap(), "--checkpoint", ckpt.to_str().unwrap()]));
    // Histograms of the trained variables only, after each epoch; the last equals TF's own
    // HistogramSummary of the saved value, field for field.
    let histograms = read["histograms"].as_object().unwrap();
    let tags: Vec<&str> = histograms.keys().map(String::as_str).collect();
    assert_eq!(tags, ["hidden4/bias", "hidden4/kernel", "new_outputs/bias", "new_outputs/kernel"]);
    for (tag, h) in histograms {
        assert_eq!(h["steps"], serde_json::json!([275, 550]), "{tag}");
        assert_eq!(h["identical"], true, "{tag}: {h}");
    }
    assert_eq!(histograms["hidden4/kernel"]["num"], 2500.0);
    assert_eq!(read["file_version"], "brain.Event:2");
    assert!(read["graph_nodes"].as_u64().unwrap() > 400, "the whole graph: {}", read["graph_nodes"]);

    let scalars = read["scalars"].as_array().unwrap();
    // Compared as the float32 the files hold (serde_json's parse may be 1 ulp off in f64).
    let series = |tag: &str| -> Vec<(u64, f32)> {
        scalars.iter().filter(|s| s["tag"] == tag).map(|s| (s["step"].as_u64().unwrap(), s["value"].as_f64().unwrap() as f32)).collect()
    };
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log).unwrap().lines().map(json).collect();
    let epochs: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "epoch").collect();
    let as_f32 = |v: &serde_json::Value| v.as_f64().unwrap() as f32;
    // 55 000 examples in batches of 200: 275 steps an epoch.
    let want: Vec<(u64, f32)> = epochs.iter().enumerate().map(|(i, e)| (275 * (i as u64 + 1), as_f32(&e["train_loss"]))).collect();
    assert_eq!(series("epoch/train_loss"), want);
    let want: Vec<(u64, f32)> = epochs.iter().enumerate().map(|(i, e)| (275 * (i as u64 + 1), as_f32(&e["metric"]))).collect();
    assert_eq!(series("epoch/validation_metric"), want);
    assert_eq!(series("epoch/learning_rate"), [(275, 0.01), (550, 0.01)]);
    let steps: Vec<u64> = series("train/loss").iter().map(|s| s.0).collect();
    assert_eq!(steps, [100, 200, 275, 375, 475, 550], "every 100 steps and each epoch's last");
    let test = lines.iter().find(|l| l["event"] == "test").unwrap();
    assert_eq!(series("test/loss"), [(550, as_f32(&test["loss"]))]);
    assert!(series("epoch/examples_per_second").iter().all(|s| s.1 > 1000.0));

    // A real TensorBoard shows the same series.
    let board = Board::start(&logdir);
    let runs = board.get("data/runs", |v| v.as_array().is_some_and(|r| r.iter().any(|n| n == "a")));
    assert_eq!(runs, serde_json::json!(["a"]));
    let rows = board.get("data/plugin/scalars/scalars?run=a&tag=epoch%2Ftrain_loss", |v| v.as_array().is_some_and(|r| r.len() == 2));
    let served: Vec<(u64, f32)> =
        rows.as_array().unwrap().iter().map(|r| (r[1].as_u64().unwrap(), r[2].as_f64().unwrap() as f32)).collect();
    assert_eq!(served, series("epoch/train_loss"));
    // …and the histograms, one per epoch: [wall time, step, [[left, right, count], …]].
    let path = "data/plugin/histograms/histograms?run=a&tag=new_outputs%2Fkernel";
    let rows = board.get(path, |v| v.as_array().is_some_and(|r| r.len() == 2));
    let counted: Vec<f64> =
        rows.as_array().unwrap().iter().map(|r| r[2].as_array().unwrap().iter().map(|b| b[2].as_f64().unwrap()).sum()).collect();
    assert_eq!(counted.iter().map(|c| c.round() as u64).collect::<Vec<_>>(), [500, 500], "{rows}");
}

#[test]
fn plots_draw_this_run_beside_earlier_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("earlier.jsonl");
    let tiny = || Train::tiny().batch(8).epochs(3);
    tiny().json_log(&log).ok();
    let svg = tmp.path().join("curves.svg");
    tiny().arg("--plot", svg.to_str().unwrap()).arg("--plot-compare", log.to_str().unwrap()).ok();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"), "a whole SVG document");
    for label in ["train loss", "validation metric", "earlier", "this run", "epoch"] {
        assert!(text.contains(&format!(">{label}<")) || text.contains(&format!(">\n{label}\n<")), "names {label}");
    }
    assert!(text.matches("<polyline").count() >= 2, "a line per run");
    let png = tmp.path().join("curves.png");
    tiny().arg("--plot", png.to_str().unwrap()).ok();
    let img = image::open(&png).unwrap();
    assert_eq!((img.width(), img.height()), (1000, 420));
    let err = fails(&[&strs(&tiny().args())[..], &["--plot", "x.gif"]].concat(), 2);
    assert!(err.contains("give a .svg or .png file"), "{err}");
    let bad = tmp.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"event\":\"test\"}\n").unwrap();
    let err = fails(&[&strs(&tiny().args())[..], &["--plot", "x.svg", "--plot-compare", bad.to_str().unwrap()]].concat(), 3);
    assert!(err.contains("no epoch in this --json log"), "{err}");
    assert!(!Path::new("x.svg").exists());
}

/// The text lines of each `<text>` element of an SVG, checking it parses as XML.
fn svg_texts(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: not XML: {e}", path.display()));
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|t| t.descendants().filter(|n| n.has_tag_name("tspan")).map(|s| s.text().unwrap_or("").to_string()).collect())
        .collect()
}

#[test]
fn inspect_draws_what_train_would_do_to_each_layer() {
    let tmp = tempfile::tempdir().unwrap();
    let svg = tmp.path().join("plan.svg");
    let plan = ["--branch-from", "dnn/hidden4/Relu:0", "--new-layers", "10", "--freeze-below", "dnn/hidden2/Relu:0", "--cache-frozen"];
    let (meta, data) = (fixture(DNN_META), mnist());
    let draw = |file: &Path| {
        let mut a = vec!["inspect", "--meta", &meta, "--data", &data];
        a.extend(plan);
        a.extend(["--draw", file.to_str().unwrap()]);
        let out = tfreuse(&a);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let said = draw(&svg);
    assert!(said.contains("drew 14 layers"), "{said}");
    let texts = svg_texts(&svg);
    let line =
        |name: &str| texts.iter().find(|t| t.first().is_some_and(|f| f == name)).unwrap_or_else(|| panic!("no box {name}: {texts:?}"));
    // Every layer, by name, with what train would do to it.
    assert_eq!(line("X").len(), 1, "the input: no variables");
    assert_eq!(line("dnn/hidden1")[1], "frozen, cached · 235500 params");
    assert_eq!(line("dnn/hidden2")[1], "frozen, cached · 15050 params");
    assert_eq!(line("dnn/hidden3")[1], "restored, trained · 2550 params");
    assert_eq!(line("dnn/hidden4")[1..], ["restored, trained · 2550 params", "branch point: dnn/hidden4/Relu:0"]);
    assert_eq!(line("dnn/hidden5")[1], "unused (above the branch) · 2550 params");
    assert_eq!(line("new_outputs")[1], "new, trained · 510 params");
    let cut = line("new_stop_gradient");
    assert!(
        cut.contains(&"stop_gradient: nothing below trains".to_string()) && cut.iter().any(|l| l.starts_with("cached up to")),
        "{cut:?}"
    );
    // The edge out of the cut is dashed and red; the others are not.
    let doc = std::fs::read_to_string(&svg).unwrap();
    assert_eq!(doc.matches("stroke-dasharray").count(), 1, "one edge leaves the frozen part");
    assert!(doc.contains("#d62728ff"));

    // The PNG is the same drawing: the cached and the new layers' colours are in it.
    let png = tmp.path().join("plan.png");
    draw(&png);
    let img = image::open(&png).unwrap().to_rgb8();
    let has = |rgb: [u8; 3]| img.pixels().any(|p| p.0 == rgb);
    assert!(img.width() > 400 && img.height() > 400, "{}x{}", img.width(), img.height());
    assert!(has([0xbc, 0xbd, 0xdc]) && has([0xa1, 0xd9, 0x9b]) && has([0xfd, 0xae, 0x6b]), "cached, new and trained fills");

    let err = fails(&["inspect", "--meta", &meta, "--draw", "plan.gif"], 2);
    assert!(err.contains("--draw plan.gif: give a .svg or .png file"), "{err}");
}
