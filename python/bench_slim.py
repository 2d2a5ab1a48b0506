"""`make bench-slim`: TF-Slim's inception_v3 at 299x299 on a folder of pictures (issue 35).

Extraction of the bottleneck (InceptionV3/PreLogits, [N, 1, 1, 2048]), each side in its own process:

  A  retrain.py's way (run_bottleneck_on_image): one picture at a time, a session run to decode
     and resize it, a second one for the features.
  B  a tuned tf.data pipeline: parallel read/decode/resize map, batches, prefetch, fed into
     TF-Slim's graph with input_map.
  C  tfreuse train --cache-frozen on an empty --cache-dir, branching from PreLogits (extracts
     every picture: the `disk_cache` event's seconds).
  L  the limit: TF's own kernel time for the same graph on the same batches, from RunMetadata
     step stats (FULL_TRACE): per run, the union of the kernels' intervals on the CPU device
     (the time at least one kernel was running), summed over the runs, as pictures/s.

Fine-tuning the top block (InceptionV3/Mixed_7c trained, a new logits layer on PreLogits, all
below Mixed_7c frozen, batch norm in inference mode), same optimizer, rate, batch and epochs:

  F  Python's TF-Slim loop: the net rebuilt by TF-Slim, restored, a train op over Mixed_7c's
     variables and the new layer only (var_list), the frozen part computed every step; the
     pictures decoded once into memory, batches fed.
  G  tfreuse train --freeze-below InceptionV3/Mixed_7b --cache-frozen (the frozen part computed
     once per picture into the feature cache, on an empty --cache-dir: the run's seconds include
     computing it).
  W  G again on the cache G filled (another head or more epochs on the same pictures).
  H  the same without --cache-frozen (the frozen part computed every step, as Python).

The checkpoint: inception_v3 built by TF-Slim with random weights (seeded; batch-norm
statistics too), saved without a .meta (python/slim_oracle.py), made once under --dir. No
ImageNet weights can be had offline; speed does not depend on the weights. The pictures (made
once under --dir): MNIST training digits, padded, resized to --side (320) square, tinted with
a random colour, JPEG quality 90, one folder per class. Every side resizes to 299x299 with a
bilinear filter widened when shrinking (tfreuse's resizer; tf.image.resize(antialias=True) in
Python) and scales to [-1, 1]. Sides alternate (A,B,C,L,F,G,W,H, A,...); reports medians,
ratios and the peak RSS of each process; writes bench-results/bench_slim.json. oneDNN: the
same on every side (--onednn, default off, as the other exact benches).

    .venv/bin/python python/bench_slim.py [--count 160] [--repeats 3] [--epochs 3] [--sides A,B,C,L,F,G,W,H]
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_images import cpu_name, drain, per_picture, picture_paths, spawn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "tfreuse")
ARCH, SIZE, CLASSES = "inception_v3", 299, 2
PRELOGITS, BELOW = "InceptionV3/PreLogits", "InceptionV3/Mixed_7b"
TRAINED = "InceptionV3/Mixed_7c/"
CHECK = 8
NAMES = {"A": "A retrain.py (2 runs/picture)", "B": "B tf.data pipeline", "C": "C tfreuse (cold cache)",
         "L": "L TF kernel time (limit)", "F": "F Python TF-Slim loop", "G": "G tfreuse, frozen part cached",
         "W": "W tfreuse, cache already filled", "H": "H tfreuse, not cached"}
EXTRACT, TUNE = "ABCL", "FGWH"


def slim():
    """make_slim's TF-Slim, with TF1 behaviour (graph mode)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import make_slim
    return make_slim


def make_pictures(folder, count, side):
    """count/CLASSES pictures of each of the digits 0..CLASSES-1 as side x side JPEG."""
    import tensorflow as tf
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import mnist
    shutil.rmtree(folder, ignore_errors=True)
    x, y = mnist.read_data_sets("data/mnist")["train"]
    chosen = np.concatenate([np.flatnonzero(y == d)[:count // CLASSES] for d in range(CLASSES)])
    colours = np.random.RandomState(0).uniform(0.3, 1.0, (len(chosen), 3)).astype(np.float32)
    padded = np.pad(x[chosen].reshape(-1, 28, 28, 1), [(0, 0), (2, 2), (2, 2), (0, 0)])
    for j, i in enumerate(chosen):
        big = tf.image.resize(padded[j:j + 1] * 255.0, [side, side], method="bilinear").numpy()[0]
        rgb = np.clip(np.round(big * colours[j]), 0, 255).astype(np.uint8)
        os.makedirs(os.path.join(folder, str(y[i])), exist_ok=True)
        with open(os.path.join(folder, str(y[i]), f"{i:05d}.jpg"), "wb") as f:
            f.write(tf.io.encode_jpeg(rgb, quality=90).numpy())



def labels_of(paths):
    return np.array([int(os.path.basename(os.path.dirname(p))) for p in paths], np.int64)


def preprocess(image):
    """uint8 [N,]H,W,3 -> float32 299x299 in [-1, 1]: bilinear, widened when shrinking."""
    import tensorflow as tf
    x = tf.image.resize(tf.cast(image, tf.float32), [SIZE, SIZE], method="bilinear", antialias=True)
    return x * (2.0 / 255.0) - 1.0


def net(x):
    """TF-Slim's inception_v3 on x in inference mode, as make_slim builds it: its end points."""
    make_slim = slim()
    fn, arg_scope = make_slim.ARCHS[ARCH][:2]
    with make_slim.slim.arg_scope(arg_scope()):
        _, end_points = fn(x, num_classes=1001, is_training=False)
    return {k if k.startswith("InceptionV3/") else "InceptionV3/" + k: t for k, t in end_points.items()}


def restore(sess, a, var_list=None):
    import tensorflow as tf
    tf.compat.v1.train.Saver(var_list).restore(sess, a.checkpoint)


def decode_all(paths):
    """Every picture decoded and preprocessed, in one array (outside any measured time)."""
    import tensorflow as tf
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as sess:
        data = tf1.placeholder(tf.string)
        out = preprocess(tf.io.decode_jpeg(data, channels=3)[None])[0]
        rows = []
        for p in paths:
            with open(p, "rb") as f:
                rows.append(sess.run(out, {data: f.read()}))
    return np.stack(rows)


def side_a(paths, a):
    """retrain.py's run_bottleneck_on_image: two session runs per picture."""
    import tensorflow as tf
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as sess:
        x = tf1.placeholder(tf.float32, [None, None, None, 3], name="input")
        bottleneck = net(x)[PRELOGITS]
        restore(sess, a)
        jpeg_data = tf1.placeholder(tf.string, name="DecodeJPGInput")
        decoded = preprocess(tf.expand_dims(tf.io.decode_jpeg(jpeg_data, channels=3), 0))
        seconds, first = per_picture(sess, paths, jpeg_data, decoded, lambda resized: sess.run(bottleneck, {x: resized}), CHECK)
        return seconds, first, None


def side_b(paths, a):
    """tf.data: parallel read, decode and resize, batches, prefetch; the net built on the batch."""
    import tensorflow as tf
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as sess:
        def load(path):
            return preprocess(tf.io.decode_jpeg(tf.io.read_file(path), channels=3)[None])[0]
        ds = (tf.data.Dataset.from_tensor_slices(paths).map(load, num_parallel_calls=tf.data.AUTOTUNE)
              .batch(a.batch_b).prefetch(tf.data.AUTOTUNE))
        batch = tf1.data.make_one_shot_iterator(ds).get_next()
        bottleneck = net(batch)[PRELOGITS]
        restore(sess, a)
        seconds, first = drain(sess, bottleneck, len(paths), CHECK)
        return seconds, first.reshape(-1, 2048), None


def kernel_seconds(run_metadata):
    """The union of the kernels' intervals on the CPU device: time at least one ran."""
    spans = sorted((n.all_start_micros, n.all_start_micros + n.all_end_rel_micros)
                   for d in run_metadata.step_stats.dev_stats if "CPU" in d.device.upper() for n in d.node_stats)
    total, cur = 0, None
    for s, e in spans:
        if cur is None or s > cur[1]:
            total += cur[1] - cur[0] if cur else 0
            cur = [s, e]
        else:
            cur[1] = max(cur[1], e)
    total += cur[1] - cur[0] if cur else 0
    summed = sum(n.all_end_rel_micros for d in run_metadata.step_stats.dev_stats for n in d.node_stats)
    return total / 1e6, summed / 1e6


def side_l(paths, a):
    """TF's kernel time for the net up to PreLogits on the pictures, in tfreuse's batches."""
    import tensorflow as tf
    from tensorflow.core.protobuf import config_pb2
    tf1 = tf.compat.v1
    rows = decode_all(paths)
    with tf.Graph().as_default(), tf1.Session() as sess:
        x = tf1.placeholder(tf.float32, [None, None, None, 3], name="input")
        bottleneck = net(x)[PRELOGITS]
        restore(sess, a)
        sess.run(bottleneck, {x: rows[:2]})  # warm-up: graph optimisation and allocation, not kernels
        options = config_pb2.RunOptions(trace_level=config_pb2.RunOptions.FULL_TRACE)
        union = summed = wall = 0.0
        first = None
        for i in range(0, len(rows), a.batch_c):
            meta = config_pb2.RunMetadata()
            start = time.perf_counter()
            features = sess.run(bottleneck, {x: rows[i:i + a.batch_c]}, options=options, run_metadata=meta)
            wall += time.perf_counter() - start
            u, s = kernel_seconds(meta)
            union, summed = union + u, summed + s
            first = features[:CHECK].reshape(-1, 2048) if first is None else first
        return union, first, {"kernel_sum_seconds": summed, "traced_run_seconds": wall}


def side_f(paths, a):
    """Python's TF-Slim fine-tuning loop: Mixed_7c and a new logits layer on PreLogits trained
    (var_list), the frozen part computed every step; plain SGD, shuffled batches."""
    import tensorflow as tf
    tf1 = tf.compat.v1
    rows, labels = decode_all(paths), labels_of(paths)
    with tf.Graph().as_default(), tf1.Session() as sess:
        tf1.set_random_seed(a.seed)
        x = tf1.placeholder(tf.float32, [None, SIZE, SIZE, 3], name="input")
        y = tf1.placeholder(tf.int64, [None], name="labels")
        features = tf.reshape(net(x)[PRELOGITS], [-1, 2048])
        restore(sess, a, tf1.global_variables())
        with tf1.variable_scope("new_logits"):
            kernel = tf1.get_variable("kernel", [2048, CLASSES], initializer=tf1.glorot_uniform_initializer())
            bias = tf1.get_variable("bias", [CLASSES], initializer=tf1.zeros_initializer())
        logits = tf.matmul(features, kernel) + bias
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        var_list = [v for v in tf1.trainable_variables() if v.op.name.startswith(TRAINED)] + [kernel, bias]
        train_op = tf1.train.GradientDescentOptimizer(a.lr).minimize(loss, var_list=var_list)
        sess.run(tf1.variables_initializer([kernel, bias]))
        rng = np.random.RandomState(a.seed)
        losses, epochs = [], []
        start = time.perf_counter()
        for _ in range(a.epochs):
            t = time.perf_counter()
            order, total = rng.permutation(len(rows)), 0.0
            for i in range(0, len(rows), a.batch):
                idx = order[i:i + a.batch]
                _, value = sess.run([train_op, loss], {x: rows[idx], y: labels[idx]})
                total += float(value) * len(idx)
            losses.append(float(total / len(rows)))
            epochs.append(time.perf_counter() - t)
        seconds = time.perf_counter() - start
        return seconds, None, {"epoch_seconds": epochs, "train_loss": losses, "trained_variables": len(var_list)}


def child(side, a):
    if side == "P":
        return make_pictures(a.pictures, a.count, a.side)
    if side == "K":
        return checkpoint(a)
    paths = picture_paths(a.pictures)[:a.count]
    seconds, first, extra = {"A": side_a, "B": side_b, "L": side_l, "F": side_f}[side](paths, a)
    if first is not None:
        np.save(a.save, first)
    print(json.dumps({"side": side, "count": len(paths), "seconds": seconds, **(extra or {})}))


def checkpoint(a):
    """inception_v3 with random weights, saved without a .meta (as the tests make it)."""
    subprocess.run([sys.executable, "python/slim_oracle.py", "checkpoint", "--arch", ARCH, "--out", a.checkpoint,
                    "--seed", str(a.seed)], check=True)



def tfreuse_cmd(a, side, cache_dir, log):
    """C: extraction up to PreLogits; G, H: Mixed_7c and a new logits layer trained, the rest frozen."""
    cmd = [BIN, "train", "--arch", ARCH, "--checkpoint", a.checkpoint, "--data", f"images:{a.pictures}",
           "--validation-pct", "0", "--test-pct", "0", "--branch-from", PRELOGITS, "--new-layers", f"flatten,{CLASSES}",
           "--optimizer", "sgd", "--lr", str(a.lr), "--batch-size", str(a.batch), "--patience", "0",
           "--seed", str(a.seed), "--json", log]
    if side == "C":
        return cmd + ["--freeze-below", PRELOGITS, "--cache-frozen", "--cache-dir", cache_dir, "--epochs", "1"]
    cmd += ["--freeze-below", BELOW, "--epochs", str(a.epochs)]
    return cmd + (["--cache-frozen", "--cache-dir", cache_dir] if side in "GW" else [])


def run_side(side, a, tmp, round_):
    if side in "ABLF":
        save = os.path.join(tmp, f"{side}{round_}.npy")
        cmd = [sys.executable, "python/bench_slim.py", "--child", side, "--save", save] + a.forward
        out, wall, rss = spawn(cmd)
        r = json.loads(out.strip().splitlines()[-1])
        r.update(wall=wall, rss_mb=rss)
        return r, cmd
    cache, log = os.path.join(tmp, "cache"), os.path.join(tmp, "log.jsonl")
    if side != "W":
        shutil.rmtree(cache, ignore_errors=True)
        os.makedirs(cache)
    cmd = tfreuse_cmd(a, side, cache, log)
    _, wall, rss = spawn(cmd)
    with open(log) as f:
        events = [json.loads(line) for line in f]
    disk = next((e for e in events if e.get("event") == "disk_cache"), None)
    epochs = [e for e in events if e.get("event") == "epoch"]
    r = {"count": a.count, "wall": wall, "rss_mb": rss}
    if disk:
        if (disk["misses"], disk["hits"]) != ((0, a.count) if side == "W" else (a.count, 0)):
            print(f"warning: side {side}: {disk['hits']} hits, {disk['misses']} misses for {a.count} pictures", file=sys.stderr)
        r.update(cache_seconds=disk["seconds"], tf_share=disk["tf_seconds"] / disk["seconds"], tensor=disk["tensor"],
                 megabytes=disk["megabytes"])
    if side == "C":
        r["seconds"] = disk["seconds"]
    else:
        r.update(epoch_seconds=[e["train_seconds"] for e in epochs], train_loss=[e["train_loss"] for e in epochs])
        r["seconds"] = sum(r["epoch_seconds"]) + (disk["seconds"] if disk else 0.0)
    return r, cmd



TARGETS = {"C_over_L": (">=", 0.9), "C_over_A": (">=", 3.0), "C_over_B": (">=", 1.0),
           "G_over_F": ("<=", 0.5), "H_over_F": ("<=", 1.0), "W_over_F": (None, None)}


def summarize(runs, sides):
    med = lambda s, k: statistics.median(x[k] for x in runs[s])  # noqa: E731
    summary = {}
    for s in sides:
        v = {"seconds": med(s, "seconds"), "process_seconds": med(s, "wall"), "peak_rss_mb": med(s, "rss_mb"),
             "count": runs[s][0]["count"], "min_seconds": min(x["seconds"] for x in runs[s]),
             "max_seconds": max(x["seconds"] for x in runs[s])}
        if s in EXTRACT:
            v["pictures_per_second"] = statistics.median(x["count"] / x["seconds"] for x in runs[s])
        for k in ("cache_seconds", "tf_share", "kernel_sum_seconds", "traced_run_seconds"):
            if k in runs[s][0]:
                v[k] = med(s, k)
        summary[s] = v
    ratios = {}
    for k, (_, _) in TARGETS.items():
        c, b = k.split("_over_")
        if c in summary and b in summary:
            key = "pictures_per_second" if c in EXTRACT else "seconds"
            ratios[k] = summary[c][key] / summary[b][key]
    for k in ("B_over_L", "A_over_L"):
        c, b = k.split("_over_")
        if c in summary and b in summary:
            ratios[k] = summary[c]["pictures_per_second"] / summary[b]["pictures_per_second"]
    for c, b in (("C", "A"), ("C", "B"), ("G", "F"), ("W", "F"), ("H", "F")):
        if c in summary and b in summary:
            ratios[f"peak_rss_{c}_over_{b}"] = summary[c]["peak_rss_mb"] / summary[b]["peak_rss_mb"]
    return summary, ratios, paired(runs)


def paired(runs):
    """The ratios of each round's own runs (the load of a noisy machine moves between rounds),
    as pictures/s for extraction and seconds for fine-tuning."""
    out = {}
    for k in list(TARGETS) + ["B_over_L", "A_over_L"]:
        c, b = k.split("_over_")
        if c in runs and b in runs:
            # pictures/s: b's seconds over c's; seconds: c's over b's.
            each = [(y["seconds"] / x["seconds"]) if c in EXTRACT else (x["seconds"] / y["seconds"])
                    for x, y in zip(runs[c], runs[b])]
            out[k] = {"rounds": each, "median": statistics.median(each)}
    return out


def report(out, a):
    m, summary, ratios = out["machine"], out["summary"], out["ratios"]
    print(f"\nmachine: {m['cpu']}, {m['cores']} cores; {a.repeats} rounds; N = {a.count} pictures of {a.side}x{a.side}"
          f" JPEG, {CLASSES} classes; {ARCH} at {SIZE}; fine-tuning {a.epochs} epochs, batch {a.batch}, SGD {a.lr}\n")
    print("| side | pictures/s | seconds (min-max) | process s | peak RSS MB |\n|---|---|---|---|---|")
    for s, v in summary.items():
        pps = f"{v['pictures_per_second']:.1f}" if "pictures_per_second" in v else "-"
        print(f"| {NAMES[s]} | {pps} | {v['seconds']:.2f} ({v['min_seconds']:.2f}-{v['max_seconds']:.2f})"
              f" | {v['process_seconds']:.1f} | {v['peak_rss_mb']:.0f} |")
    if ratios:
        print("\n| ratio | value | target | met |\n|---|---|---|---|")
        for k, v in ratios.items():
            op, t = TARGETS.get(k, (None, None))
            met = "-" if op is None else ("yes" if (v >= t if op == ">=" else v <= t) else "no")
            pr = out["paired_ratios"].get(k)
            each = f" (rounds: {', '.join(f'{x:.2f}' for x in pr['rounds'])})" if pr else ""
            print(f"| {k} | {v:.2f}{each} | {f'{op} {t}' if op else '-'} | {met} |")
    if out.get("max_abs_diff_first"):
        print(f"\nfeatures of the first {CHECK} pictures, max abs difference: {out['max_abs_diff_first']}")
    print("\ncommands (env " + " ".join(f"{k}={v}" for k, v in out["env"].items()) + "):")
    for s, c in out["commands"].items():
        print(f"  {s}: {c}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=160, help="pictures (N, a multiple of the classes)")
    ap.add_argument("--side", type=int, default=320, help="picture side in pixels")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3, help="fine-tuning epochs")
    ap.add_argument("--batch", type=int, default=32, help="fine-tuning batch")
    ap.add_argument("--batch-b", type=int, default=64, help="tf.data's batch (side B)")
    ap.add_argument("--batch-c", type=int, default=256, help="tfreuse's extraction batch (the limit L runs it)")
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sides", default="A,B,C,L,F,G,W,H")
    ap.add_argument("--dir", default="bench-results/slim", help="where the checkpoint and pictures are kept")
    ap.add_argument("--onednn", choices=["on", "off"], default="off",
                    help="TF_ENABLE_ONEDNN_OPTS for every side (default off, as the exact benches)")
    ap.add_argument("--child", choices=["A", "B", "L", "F", "P", "K"], help=argparse.SUPPRESS)
    ap.add_argument("--save", help=argparse.SUPPRESS)
    ap.add_argument("--pictures", help=argparse.SUPPRESS)
    ap.add_argument("--checkpoint", help=argparse.SUPPRESS)
    a = ap.parse_args()
    os.chdir(ROOT)  # paths are relative to the repository
    a.pictures = a.pictures or os.path.join(a.dir, f"pictures{a.side}_{a.count}")
    a.checkpoint = a.checkpoint or os.path.join(a.dir, f"{ARCH}_seed{a.seed}.ckpt")
    if a.child:
        return child(a.child, a)
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1" if a.onednn == "on" else "0"
    if "TENSORFLOW_DIR" not in os.environ:  # the venv's libtensorflow, wherever the binary is
        import importlib.util
        os.environ["TENSORFLOW_DIR"] = os.path.dirname(importlib.util.find_spec("tensorflow").origin)
    a.forward = ["--pictures", a.pictures, "--checkpoint", a.checkpoint, "--count", str(a.count), "--side", str(a.side),
                 "--epochs", str(a.epochs), "--batch", str(a.batch), "--batch-b", str(a.batch_b),
                 "--batch-c", str(a.batch_c), "--lr", str(a.lr), "--seed", str(a.seed)]
    sides = a.sides.split(",")
    os.makedirs(a.dir, exist_ok=True)
    # Made in children, without TF here: Linux keeps ru_maxrss across fork and exec.
    if not os.path.exists(a.checkpoint + ".index"):
        print(f"making the checkpoint {a.checkpoint}", file=sys.stderr, flush=True)
        spawn([sys.executable, "python/bench_slim.py", "--child", "K"] + a.forward)
    if len(picture_paths(a.pictures)) != a.count:
        print(f"making {a.count} pictures in {a.pictures}", file=sys.stderr, flush=True)
        spawn([sys.executable, "python/bench_slim.py", "--child", "P"] + a.forward)
    if {"C", "G", "H"} & set(sides) and not os.path.exists(BIN):
        subprocess.run(["cargo", "build", "--release", "--quiet"], check=True)
    runs, cmds = {s: [] for s in sides}, {}
    with tempfile.TemporaryDirectory(prefix="bench-slim-") as tmp:
        for r in range(a.repeats):
            for side in sides:
                print(f"round {r + 1}/{a.repeats}: {NAMES[side]}", file=sys.stderr, flush=True)
                res, cmds[side] = run_side(side, a, tmp, r)
                print(f"  {res['seconds']:.2f} s, peak RSS {res['rss_mb']:.0f} MB", file=sys.stderr, flush=True)
                runs[side].append(res)
        firsts = {s: np.load(os.path.join(tmp, f"{s}0.npy")) for s in "ABL" if s in sides}
        diff = {f"{s}_vs_{t}": float(np.max(np.abs(firsts[s] - firsts[t]))) for s in firsts for t in firsts if s < t}
    summary, ratios, per_round = summarize(runs, sides)
    machine = {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version()}
    cmds = {s: " ".join(c).replace(tmp, "$TMP") for s, c in cmds.items()}
    out = {"machine": machine, "arch": ARCH, "size": SIZE, "count": a.count, "picture_side": a.side, "classes": CLASSES,
           "repeats": a.repeats, "epochs": a.epochs, "batch": a.batch, "batch_b": a.batch_b, "batch_c": a.batch_c,
           "lr": a.lr, "weights": "random (seeded), no ImageNet weights offline",
           "env": {k: os.environ[k] for k in ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL")},
           "summary": summary, "ratios": ratios, "targets": {k: f"{o} {t}" for k, (o, t) in TARGETS.items() if o},
           "paired_ratios": per_round, "max_abs_diff_first": diff, "runs": runs, "commands": cmds}
    os.makedirs("bench-results", exist_ok=True)
    with open("bench-results/bench_slim.json", "w") as f:
        json.dump(out, f, indent=1)
    report(out, a)


if __name__ == "__main__":
    main()
