//! TensorBoard event files (`train --logdir`) read back by Python TF's summary_iterator: the
//! same numbers as the `--json` log, the file version, the graph.

use crate::common::*;

#[test]
fn event_files_hold_the_json_logs_numbers_as_python_reads_them() {
    let tmp = tempfile::tempdir().unwrap();
    let (logdir, log) = (tmp.path().join("tb"), tmp.path().join("log.jsonl"));
    let run = Train::dnn().branch("dnn/hidden4/Relu:0").layers("10").epochs(2).json_log(&log);
    let out = run.arg("--logdir", logdir.to_str().unwrap()).arg("--run-name", "a").arg("--log-every", "100").output();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files: Vec<_> = std::fs::read_dir(logdir.join("a")).unwrap().flatten().map(|e| e.path()).collect();
    assert_eq!(files.len(), 1);
    assert!(files[0].file_name().unwrap().to_string_lossy().starts_with("events.out.tfevents."));
    let read = json(&oracle(&["events", files[0].to_str().unwrap()]));
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
}
