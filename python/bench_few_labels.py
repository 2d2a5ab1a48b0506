"""Few labels, the book's exercise 9 as one study: digits 5-9 with 100 labelled training
pictures per digit, reusing fixtures/mnist04 (5x100 ELU trained on digits 0-4), over several
seeds, all through tfreuse:

  scratch            `tfreuse new`, the same 5x100 ELU net from nothing
  sweep candidates   `tfreuse sweep` with no tuning flags: it branches from the layer under the
                     logits (dnn/hidden5/Elu:0), trains frozen, unfreeze-1..4, unfreeze-all,
                     drop-1/2, replace-top and add-1 with tfreuse's defaults (Adam 1e-3, batch
                     32, up to 100 epochs, patience 5), and chooses one on validation
  unfreeze-all       `train` on the whole reused net, nothing frozen
  autoencoder+...    `pretrain autoencoder` (5x100 ELU encoder) on every 5-9 training picture
                     without labels, then a new output layer on its code, encoder frozen or not
                     (also --tied, and --greedy: one layer at a time, 5 epochs each)
  auxiliary+...      `pretrain auxiliary --task corrupt` (5x100 ELU): real 5-9 pictures against
                     ones whose bottom half comes from another picture, then the same;
                     `--task pairs` on the 500 labelled pictures: same digit or not

Every other run: Adam, lr 0.01, batch 50, up to --epochs epochs with early stopping (patience 5) on
the validation split (all 5-9 validation pictures: more labels than the book's 30 per digit).
Test accuracy is on all 4861 test pictures of 5-9. Reports mean +- standard deviation.

    python python/bench_few_labels.py [--seeds 1,2,3] [--epochs 50] [--sweep-only] [--bin target/release/tfreuse]
Writes bench-results/few_labels.json. Not a CI test (it takes a few minutes).
"""
import argparse
import json
import os
import subprocess
import tempfile

import numpy as np

META = "fixtures/mnist04/mnist04.ckpt.meta"
DATA = ["--data", "mnist:data/mnist", "--classes", "5,6,7,8,9"]
FEW = ["--per-class", "100"]
TRAIN = ["--optimizer", "adam", "--lr", "0.01", "--batch-size", "50", "--patience", "5"]
ELU5 = ",".join(["100:elu"] * 5)


def run(cmd, env):
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr}")


def from_log(log):
    """(best validation accuracy, test accuracy, seconds) of one run's --json log."""
    events = [json.loads(line) for line in open(log)]
    epochs = [e for e in events if e["event"] == "epoch"]
    best = next((e for e in events if e["event"] == "best"), None)
    val = best["metric"] if best else epochs[-1]["metric"]
    test = next(e for e in events if e["event"] == "test")["metric"]
    return val, test, sum(e["seconds"] for e in epochs)


def one_seed(a, seed, tmp, env):
    """Every method's (name, validation, test, seconds) for one seed."""
    s = ["--seed", str(seed), "--epochs", str(a.epochs)]
    rows = []
    log = os.path.join(tmp, f"scratch{seed}.jsonl")
    run([a.bin, "new", "--layers", ELU5 + ",5", *DATA, *FEW, *TRAIN, *s, "--json", log], env)
    rows.append(("scratch (tfreuse new)", *from_log(log)))
    table = os.path.join(tmp, f"sweep{seed}.json")
    run([a.bin, "sweep", "--meta", META, *DATA, *FEW, "--seed", str(seed), "--json", table], env)
    swept = json.load(open(table))
    for r in swept:
        rows.append((f"sweep: {r['candidate']}", r["val_accuracy"], r["test_accuracy"], r["seconds"]))
    # The sweep keeps the later of equal validation accuracies.
    chosen = max(reversed(swept), key=lambda r: r["val_accuracy"])
    print(f"seed {seed}  the sweep chose {chosen['candidate']}", flush=True)
    rows.append(("sweep: its choice on validation", chosen["val_accuracy"], chosen["test_accuracy"],
                 sum(r["seconds"] for r in swept)))
    if a.sweep_only:
        return rows
    log = os.path.join(tmp, f"all{seed}.jsonl")
    run([a.bin, "train", "--meta", META, "--branch-from", "dnn/hidden5/Elu:0", "--new-layers", "5",
         *DATA, *FEW, *TRAIN, *s, "--json", log], env)
    rows.append(("unfreeze-all (nothing frozen)", *from_log(log)))
    ae = os.path.join(tmp, f"ae{seed}.ckpt")
    run([a.bin, "pretrain", "autoencoder", "--layers", ELU5, *DATA, "--lr", "0.001", "--batch-size", "50",
         "--epochs", str(a.pretrain_epochs), "--seed", str(seed), "--out", ae], env)
    tied = os.path.join(tmp, f"tied{seed}.ckpt")
    run([a.bin, "pretrain", "autoencoder", "--tied", "--layers", ELU5, *DATA, "--lr", "0.001", "--batch-size", "50",
         "--epochs", str(a.pretrain_epochs), "--seed", str(seed), "--out", tied], env)
    greedy = os.path.join(tmp, f"greedy{seed}.ckpt")
    run([a.bin, "pretrain", "autoencoder", "--greedy", "--layers", ELU5, *DATA, "--lr", "0.001", "--batch-size", "50",
         "--epochs", str(a.pretrain_epochs), "--seed", str(seed), "--out", greedy], env)
    aux = os.path.join(tmp, f"aux{seed}.ckpt")
    run([a.bin, "pretrain", "auxiliary", "--task", "corrupt", "--layers", ELU5, *DATA, "--lr", "0.001", "--batch-size", "50",
         "--epochs", str(a.pretrain_epochs), "--seed", str(seed), "--out", aux], env)
    pairs = os.path.join(tmp, f"pairs{seed}.ckpt")
    run([a.bin, "pretrain", "auxiliary", "--task", "pairs", "--layers", ELU5, *DATA, *FEW, "--lr", "0.001", "--batch-size", "50",
         "--epochs", str(a.pairs_epochs), "--seed", str(seed), "--out", pairs], env)
    pretrained = [(ae, "autoencoder/hidden5/Elu:0", "autoencoder"), (tied, "autoencoder/hidden5/Elu:0", "tied autoencoder"),
                  (greedy, "phase5/hidden5/Elu:0", "greedy autoencoder"), (aux, "auxiliary/hidden5/Elu:0", "auxiliary corrupt"),
                  (pairs, "auxiliary/hidden5/Elu:0", "auxiliary pairs")]
    for model, top, name in pretrained:
        for how, extra in [("frozen", ["--freeze-below", top]), ("fine-tuned", [])]:
            log = os.path.join(tmp, f"{os.path.basename(model)}-{how}{seed}.jsonl")
            run([a.bin, "train", "--meta", model + ".meta", "--branch-from", top, "--new-layers", "5",
                 *extra, *DATA, *FEW, *TRAIN, *s, "--json", log], env)
            rows.append((f"{name} pretraining, {how}", *from_log(log)))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--pretrain-epochs", type=int, default=5, help="per phase with --greedy")
    ap.add_argument("--pairs-epochs", type=int, default=20)
    ap.add_argument("--sweep-only", action="store_true", help="the sweep's rows only")
    ap.add_argument("--bin", default="target/release/tfreuse")
    a = ap.parse_args()
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in [int(s) for s in a.seeds.split(",")]:
            for name, val, test, secs in one_seed(a, seed, tmp, env):
                results.setdefault(name, []).append((val, test, secs))
                print(f"seed {seed}  {name:32s} validation {val:.4f}  test {test:.4f}  {secs:.1f}s", flush=True)
    rows = []
    for name, runs in results.items():
        v, t, s = (np.array(x) for x in zip(*runs))
        rows.append({"method": name, "seeds": len(runs), "val_mean": v.mean(), "val_std": v.std(), "test_mean": t.mean(),
                     "test_std": t.std(), "seconds_median": float(np.median(s))})
    os.makedirs("bench-results", exist_ok=True)
    with open("bench-results/few_labels.json", "w") as f:
        json.dump(rows, f, indent=1)
    print(f"\n| method | validation | test | seconds (median) |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {100 * r['val_mean']:.1f} ± {100 * r['val_std']:.1f} % | "
              f"{100 * r['test_mean']:.1f} ± {100 * r['test_std']:.1f} % | {r['seconds_median']:.1f} |")


if __name__ == "__main__":
    main()
