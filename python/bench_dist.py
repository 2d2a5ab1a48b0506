"""`make bench-dist`: tfreuse training on TF's distributed runtime over loopback — examples
per second of one process, 1 ps + 1 worker and 1 ps + 2 workers (asynchronous, and 2 workers
with --sync), and the bytes one step moves between the tasks. Rounds alternate the setups;
medians are printed with min-max and the ratio to one process. Writes
bench-results/bench_dist.json.

Bytes per step: the loopback counters are sampled every 20 ms; the bytes moved while every
worker was in its training epochs (from the last worker's first step to the first worker's
last) are divided by the steps taken then, so restoring, caching and saving do not count.

On one machine this measures what the runtime costs, not a speed-up: every task shares the
same cores (2 here), and every step moves the variables it reads over gRPC.

    python python/bench_dist.py [--repeats 3] [--epochs 2]
"""
import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BIN = "target/release/tfreuse"
META = "fixtures/mnist_dnn/my_model_final.ckpt.meta"
RECIPES = {
    # The book's main job, the whole model trained (by tfreuse's own SGD op, which --sync
    # needs); every variable lives on the ps, so each step reads all weights and sends all
    # gradients over gRPC.
    "whole model": ["--optimizer", "sgd"],
    # A new head on the frozen hidden layers, the frozen part cached: little moves.
    "new head, cached": ["--branch-from", "dnn/hidden4/Relu:0", "--new-layers", "10",
                         "--freeze-below", "dnn/hidden4/Relu:0", "--cache-frozen"],
}
SETUPS = ["1 process", "1 ps + 1 worker", "1 ps + 2 workers", "1 ps + 2 workers --sync"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_bytes():
    with open("/proc/net/dev") as f:
        for line in f:
            if line.strip().startswith("lo:"):
                return int(line.split(":", 1)[1].split()[0])
    return 0


def spawn(cmd, log):
    """Start a tfreuse process, its stderr into LOG.err (a pipe nobody reads could fill and
    stall a synchronous step)."""
    with open(log + ".err", "w") as err:
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)


def events_of(log, kind):
    with open(log) as f:
        return [e for e in map(json.loads, f) if e.get("event") == kind]


class Sampler(threading.Thread):
    """(time, loopback bytes) every 20 ms until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples, self.done = [], threading.Event()

    def run(self):
        while not self.done.is_set():
            self.samples.append((time.time(), loopback_bytes()))
            time.sleep(0.02)

    def bytes_between(self, t0, t1):
        at = lambda t: min(self.samples, key=lambda s: abs(s[0] - t))
        (a, ba), (b, bb) = at(t0), at(t1)
        return bb - ba, b - a


def train_cmd(recipe, epochs, batch, out, log):
    return [BIN, "train", "--meta", META, "--data", "mnist:data/mnist", "--defaults", "book", "--epochs", str(epochs),
            "--batch-size", str(batch), "--out", out, "--json", log, "--force"] + RECIPES[recipe]


def run_setup(setup, recipe, epochs, batch, tmp):
    """Run one setup; returns (examples per second over the training epochs, bytes per step)."""
    workers = 0 if setup == "1 process" else (1 if "1 worker" in setup else 2)
    logs = [os.path.join(tmp, f"w{i}.jsonl") for i in range(max(workers, 1))]
    for log in logs:
        if os.path.exists(log):
            os.remove(log)
    out = os.path.join(tmp, "m.ckpt")
    sampler = Sampler()
    sampler.start()
    procs, ps = [], None
    if workers == 0:
        procs.append(spawn(train_cmd(recipe, epochs, batch, out, logs[0]), logs[0]))
    else:
        ports = [free_port() for _ in range(workers + 1)]
        cluster = ["--cluster", f"ps=127.0.0.1:{ports[0]}",
                   "--cluster", "worker=" + ",".join(f"127.0.0.1:{p}" for p in ports[1:])]
        ps = subprocess.Popen([BIN, "server", *cluster, "--job", "ps"], stderr=subprocess.DEVNULL)
        for task in range(workers):
            cmd = train_cmd(recipe, epochs, batch, out, logs[task]) + cluster + ["--task", str(task)]
            if "--sync" in setup:
                cmd.append("--sync")
            procs.append(spawn(cmd, logs[task]))
    try:
        for p, log in zip(procs, logs):
            if p.wait(timeout=900) != 0:
                with open(log + ".err") as f:
                    sys.exit(f"bench-dist: {setup}, {recipe}: a worker failed:\n{f.read()}")
    finally:
        if ps is not None:
            ps.kill()
            ps.wait()
    sampler.done.set()
    sampler.join()
    rate, window = 0.0, [0.0, float("inf")]
    for log in logs:
        ep = events_of(log, "epoch")
        rate += sum(e["examples"] for e in ep) / sum(e["train_seconds"] for e in ep)
        start = events_of(log, "first_step")[0]["unix_time"]
        window = [max(window[0], start), min(window[1], start + sum(e["train_seconds"] for e in ep))]
    moved, seconds = sampler.bytes_between(*window)
    steps = rate * seconds / batch
    return rate, (moved / steps if steps > 0 else 0.0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=200)
    a = ap.parse_args()
    results = {r: {s: {"rate": [], "bytes": []} for s in SETUPS} for r in RECIPES}
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(a.repeats):
            for recipe in RECIPES:
                order = SETUPS if rnd % 2 == 0 else list(reversed(SETUPS))
                for setup in order:
                    rate, per_step = run_setup(setup, recipe, a.epochs, a.batch_size, tmp)
                    results[recipe][setup]["rate"].append(rate)
                    results[recipe][setup]["bytes"].append(per_step)
                    print(f"round {rnd + 1}: {recipe:17} {setup:24} {rate:9.0f} examples/s  "
                          f"{per_step / 1e6:7.2f} MB/step", flush=True)
    print(f"\nmedians of {a.repeats} rounds, {a.epochs} epochs, batch {a.batch_size}, "
          f"{os.cpu_count()} cores, TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS')}")
    print(f"{'recipe':17} {'setup':24} {'examples/s':>10} {'min-max':>15} {'vs 1 process':>12} {'MB moved/step':>13}")
    summary = {}
    for recipe, by in results.items():
        base = statistics.median(by["1 process"]["rate"])
        for setup, r in by.items():
            med = statistics.median(r["rate"])
            mb = statistics.median(r["bytes"]) / 1e6
            print(f"{recipe:17} {setup:24} {med:10.0f} {min(r['rate']):7.0f}-{max(r['rate']):<7.0f} "
                  f"{med / base:12.2f} {mb:13.2f}")
            summary.setdefault(recipe, {})[setup] = {"examples_per_s": med, "ratio": med / base,
                                                     "mb_per_step": mb, "all": r["rate"]}
    os.makedirs("bench-results", exist_ok=True)
    with open("bench-results/bench_dist.json", "w") as f:
        json.dump({"machine": platform.machine(), "cores": os.cpu_count(), "epochs": a.epochs,
                   "batch_size": a.batch_size, "repeats": a.repeats, "results": summary}, f, indent=1)


if __name__ == "__main__":
    main()
