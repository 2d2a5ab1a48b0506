"""`make bench-defaults`: what tfreuse's defaults learn on small data, against the book's
settings and hand-tuned ones, on four transfer jobs (test accuracy, mean ± spread over seeds):

  pictures, flatten   640 coloured MNIST pictures (64x64 JPEG, 10 folders), fixtures/cnn_rgb cut
                      at cnn/pool2:0 (frozen, cached), a new flatten,10 head
  pictures, gap       the same with a global-average-pooling head (gap,10)
  MNIST transfer      fixtures/mnist_dnn branched at hidden4, frozen below hidden2, a new
                      10-way output layer (55000 training pictures)
  Exercise 9          fixtures/mnist04 (digits 0-4) on 100 labels per digit of 5-9, a new
                      5-way output layer; frozen (only the new layer trains) and unfreeze-all

Settings: `defaults` (no tuning flag: Adam 1e-3, batch 32, up to 100 epochs, patience 5),
`book` (--defaults book: SGD 0.01, batch 200, 20 epochs), and two hand-tuned ones (Adam 3e-3
and 1e-2, batch 32, patience 5). Writes bench-results/defaults.json and prints a table.

    .venv/bin/python python/bench_defaults.py [--seeds 1,2,3] [--bin target/release/tfreuse]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_images import make_pictures  # noqa: E402

PICS = ["--meta", "fixtures/cnn_rgb/cnn.ckpt.meta", "--input", "images:0", "--labels", "labels:0",
        "--branch-from", "cnn/pool2:0", "--freeze-below", "cnn/pool2:0", "--cache-frozen"]
MNIST = ["--meta", "fixtures/mnist_dnn/my_model_final.ckpt.meta", "--data", "mnist:data/mnist",
         "--branch-from", "dnn/hidden4/Relu:0", "--freeze-below", "dnn/hidden2/Relu:0", "--cache-frozen",
         "--new-layers", "10"]
EX9 = ["--meta", "fixtures/mnist04/mnist04.ckpt.meta", "--data", "mnist:data/mnist", "--classes", "5,6,7,8,9",
       "--per-class", "100", "--branch-from", "dnn/hidden5/Elu:0", "--new-layers", "5"]
TUNED = ["--batch-size", "32", "--epochs", "100", "--patience", "5", "--optimizer", "adam", "--lr"]
SETTINGS = {"defaults": [], "book": ["--defaults", "book"], "adam 3e-3": TUNED + ["0.003"],
            "adam 1e-2": TUNED + ["0.01"]}


def jobs(pics):
    data = ["--data", f"images:{pics}"]
    return {"pictures, flatten": PICS + data + ["--new-layers", "flatten,10"],
            "pictures, gap": PICS + data + ["--new-layers", "gap,10"],
            "MNIST transfer": MNIST,
            "Exercise 9, frozen": EX9 + ["--trainable", "new_"],
            "Exercise 9, unfreeze-all": EX9}


def test_accuracy(a, args, seed, log, env):
    cmd = [a.bin, "train", *args, "--seed", str(seed), "--json", log]
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr}")
    events = [json.loads(line) for line in open(log)]
    epochs = sum(e["event"] == "epoch" for e in events)
    return next(e for e in events if e["event"] == "test")["metric"], epochs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--pictures", default="data/bench_defaults_pictures")
    ap.add_argument("--bin", default="target/release/tfreuse")
    a = ap.parse_args()
    if not os.path.isdir(os.path.join(a.pictures, "9")):
        make_pictures(a.pictures, 640)
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for job, args in jobs(a.pictures).items():
            for setting, extra in SETTINGS.items():
                runs = [test_accuracy(a, args + extra, s, os.path.join(tmp, "log.jsonl"), env)
                        for s in (int(s) for s in a.seeds.split(","))]
                t = np.array([r[0] for r in runs])
                rows.append({"job": job, "setting": setting, "test_mean": t.mean(), "test_std": t.std(),
                             "epochs_median": float(np.median([r[1] for r in runs]))})
                print(f"{job:26s} {setting:10s} test {100 * t.mean():.1f} ± {100 * t.std():.1f} %", flush=True)
    os.makedirs("bench-results", exist_ok=True)
    with open("bench-results/defaults.json", "w") as f:
        json.dump(rows, f, indent=1)
    print("\n| job | " + " | ".join(SETTINGS) + " |\n|---|" + "---|" * len(SETTINGS))
    for job in jobs(a.pictures):
        cells = [r for r in rows if r["job"] == job]
        print(f"| {job} | " + " | ".join(f"{100 * r['test_mean']:.1f} ± {100 * r['test_std']:.1f}" for r in cells) + " |")


if __name__ == "__main__":
    main()
