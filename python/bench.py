"""`make bench`: tfreuse against the Python TF1 loop on this machine, same libtensorflow,
same fixture, real MNIST. Alternates the two sides, repeats, and prints medians, min-max
and Rust/Python ratios; writes bench-results/bench.json.

    python python/bench.py [--repeats 5] [--epochs 3]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

BIN = "target/release/tfreuse"
META = "fixtures/mnist_dnn/my_model_final.ckpt.meta"
TRANSFER = ["--branch-from", "dnn/hidden3/Relu:0", "--new-layers", "20:relu,10", "--restore", "hidden[123]",
            "--freeze-below", "dnn/hidden2/Relu:0"]
# Training FLOPs of one example of the 784-300-50-50-50-50-10 MLP: forward 2*MACs, backward
# 2*MACs for weight gradients plus 2*MACs for input gradients except the first layer's.
MACS = [784 * 300, 300 * 50, 50 * 50, 50 * 50, 50 * 50, 50 * 50, 50 * 10]
FLOPS_PER_EXAMPLE = 6 * sum(MACS) - 2 * MACS[0]


def run(cmd, log, onednn=None):
    """Run a command; returns (wall start, events, peak RSS in MB). `onednn`: None (unset:
    each side's own default) or "0"/"1"."""
    start = time.time()
    env = dict(os.environ)
    env.pop("TF_ENABLE_ONEDNN_OPTS", None)
    if onednn is not None:
        env["TF_ENABLE_ONEDNN_OPTS"] = onednn
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(p.pid, 0)
    err = p.stderr.read().decode()
    if status != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{err}")
    events = [json.loads(l) for l in open(log)]
    return start, events, usage.ru_maxrss / 1024


def rust(args, epochs, log, onednn=None):
    """`epochs` None: tfreuse's default run length (20 epochs), which `--jit auto` reads."""
    length = [] if epochs is None else ["--epochs", str(epochs)]
    return run([BIN, "train", "--meta", META, "--data", "mnist:data/mnist", "--defaults", "book", "--json", log] + length + args, log, onednn)


def python(mode, epochs, log, extra=(), onednn=None):
    return run([sys.executable, "python/bench_tf1.py", "--mode", mode, "--epochs", str(epochs), "--json", log, *extra], log,
               onednn)


def epoch_times(events):
    # The first epoch warms up kernels and caches on both sides; keep the steady state.
    t = [e["train_seconds"] for e in events if e["event"] == "epoch"]
    return t[1:] if len(t) > 1 else t


def first_step(start, events):
    return next(e["unix_time"] for e in events if e["event"] == "first_step") - start


def stats(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args()
    # What a user gets: no flags and no TF_ENABLE_ONEDNN_OPTS on either side (tfreuse picks XLA
    # and oneDNN per run; Python has the wheel's default, oneDNN on). rust_full runs tfreuse's
    # default 20 epochs, as the run's length is part of `--jit auto`'s choice.
    res = {k: [] for k in ["rust_full", "py_full", "rust_uncached", "rust_cached", "py_stop_gradient",
                           "py_cached", "rust_start", "py_start", "rust_rss", "py_rss", "py_full_jit",
                           "rust_full_jit_off", "rust_uncached_jit_off", "rust_cached_jit_off", "rust_start_jit_off",
                           # oneDNN off on both sides: the same kernels, tfreuse's XLA choice alone.
                           "rust_full_onednn_off", "py_full_onednn_off",
                           # tfreuse's oneDNN choice for the transfers (off) against on.
                           "rust_uncached_onednn_on", "rust_cached_onednn_on"]}
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "log.jsonl")
        for r in range(a.repeats):
            print(f"round {r + 1}/{a.repeats}", file=sys.stderr, flush=True)
            # Alternate sides so drift in machine load hits both.
            for side in (["rust", "py"] if r % 2 == 0 else ["py", "rust"]):
                if side == "rust":
                    s, ev, rss = rust([], None, log)
                    res["rust_full"] += epoch_times(ev)
                    res["rust_start"].append(first_step(s, ev))
                    res["rust_rss"].append(rss)
                    _, ev, _ = rust([], None, log, onednn="0")
                    res["rust_full_onednn_off"] += epoch_times(ev)
                    s, ev, _ = rust(["--jit", "off"], a.epochs, log)
                    res["rust_full_jit_off"] += epoch_times(ev)
                    res["rust_start_jit_off"].append(first_step(s, ev))
                    for name, args in [("uncached", TRANSFER), ("cached", TRANSFER + ["--cache-frozen"])]:
                        _, ev, _ = rust(args, a.epochs, log)
                        res[f"rust_{name}"] += epoch_times(ev)
                        _, ev, _ = rust(args + ["--jit", "off"], a.epochs, log)
                        res[f"rust_{name}_jit_off"] += epoch_times(ev)
                        _, ev, _ = rust(args, a.epochs, log, onednn="1")
                        res[f"rust_{name}_onednn_on"] += epoch_times(ev)
                else:
                    s, ev, rss = python("full", a.epochs, log)
                    res["py_full"] += epoch_times(ev)
                    res["py_start"].append(first_step(s, ev))
                    res["py_rss"].append(rss)
                    _, ev, _ = python("full", a.epochs, log, onednn="0")
                    res["py_full_onednn_off"] += epoch_times(ev)
                    _, ev, _ = python("stop_gradient", a.epochs, log)
                    res["py_stop_gradient"] += epoch_times(ev)
                    _, ev, _ = python("cached", a.epochs, log)
                    res["py_cached"] += epoch_times(ev)
                    _, ev, _ = python("full", a.epochs, log, ["--jit"])
                    res["py_full_jit"] += epoch_times(ev)
        python("matmul", 0, log)
        matmul_gflops = [e for e in (json.loads(l) for l in open(log)) if e["event"] == "matmul"][0]["gflops"]
    st = {k: stats(v) for k, v in res.items()}
    m = lambda k: st[k]["median"]  # noqa: E731
    step_gflops = 55000 * FLOPS_PER_EXAMPLE / m("rust_full") / 1e9
    py_step_gflops = 55000 * FLOPS_PER_EXAMPLE / m("py_full") / 1e9
    ratios = {
        "full_epoch_rust_over_python": m("rust_full") / m("py_full"),
        "full_epoch_rust_over_python_both_onednn_off": m("rust_full_onednn_off") / m("py_full_onednn_off"),
        "full_epoch_rust_jit_off_over_python": m("rust_full_jit_off") / m("py_full"),
        "full_epoch_rust_over_python_jit": m("rust_full") / m("py_full_jit"),
        "full_epoch_rust_over_rust_jit_off": m("rust_full") / m("rust_full_jit_off"),
        "full_epoch_rust_over_rust_onednn_off": m("rust_full") / m("rust_full_onednn_off"),
        "uncached_rust_over_rust_jit_off": m("rust_uncached") / m("rust_uncached_jit_off"),
        "cached_rust_over_rust_jit_off": m("rust_cached") / m("rust_cached_jit_off"),
        "uncached_rust_over_rust_onednn_on": m("rust_uncached") / m("rust_uncached_onednn_on"),
        "cached_rust_over_rust_onednn_on": m("rust_cached") / m("rust_cached_onednn_on"),
        "start_to_first_step_rust_over_rust_jit_off": m("rust_start") / m("rust_start_jit_off"),
        "cached_speedup_over_uncached": m("rust_uncached") / m("rust_cached"),
        "cached_rust_over_python_cached": m("rust_cached") / m("py_cached"),
        "uncached_rust_over_python_stop_gradient": m("rust_uncached") / m("py_stop_gradient"),
        "start_to_first_step_rust_over_python": m("rust_start") / m("py_start"),
        "peak_rss_rust_over_python": m("rust_rss") / m("py_rss"),
        "kernel_efficiency_rust": step_gflops / matmul_gflops,
        "kernel_efficiency_python": py_step_gflops / matmul_gflops,
    }
    out = {"machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version()},
           "repeats": a.repeats, "epochs_per_run": a.epochs, "stats": st, "matmul_gflops": matmul_gflops,
           "mlp_step_gflops_rust": step_gflops, "ratios": ratios}
    os.makedirs("bench-results", exist_ok=True)
    with open("bench-results/bench.json", "w") as f:
        json.dump(out, f, indent=1)
    unit = {"rss": "MB", "start": "s"}
    print(f"\nmachine: {out['machine']['cpu']}, {out['machine']['cores']} cores; {a.repeats} rounds x {a.epochs} epochs\n")
    print("| measure | median | min-max |\n|---|---|---|")
    for k, v in st.items():
        u = next((u for key, u in unit.items() if key in k), "s/epoch")
        print(f"| {k} | {v['median']:.3f} {u} | {v['min']:.3f}-{v['max']:.3f} |")
    print(f"| TF large MatMul | {matmul_gflops:.1f} GFLOP/s | |")
    print(f"| MLP training step (tfreuse) | {step_gflops:.1f} GFLOP/s | |")
    print("\n| ratio | value |\n|---|---|")
    for k, v in ratios.items():
        print(f"| {k} | {v:.3f} |")


def cpu_name():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    main()
