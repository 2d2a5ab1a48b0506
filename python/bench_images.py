"""`make bench-images`: feature ("bottleneck") extraction for a folder of pictures through the
RGB CNN fixture, up to its cut cnn/pool2:0 ([?, 8, 8, 32]), four ways, each in its own process:

  A  retrain.py's way (TF's image_retraining/retrain.py, run_bottleneck_on_image): one JPEG at
     a time, one session run to decode and resize it, a second one for the features.
  B  a well-tuned tf.data pipeline: parallel read/decode/resize map, batches of 256, prefetch,
     fed into the imported graph with input_map.
  C  tfreuse train --cache-frozen on an empty --cache-dir (cold: extracts every picture).
  D  the same command again on the filled cache (warm).

The pictures (made once, cached in --pictures): MNIST training digits padded to 32x32, resized
to 64x64, tinted with a random colour, JPEG quality 90, one folder per class. A and B resize to
32x32 with the same op (TF1's resize_bilinear: no antialias, no half-pixel centres, as retrain.py)
and the first 20 pictures' features of the two are compared. Sides alternate A,B,C,D,A,...;
reports median pictures/s, seconds, peak RSS and ratios; writes
bench-results/bench_images_onednn_{on,off}.json (--onednn: the same setting on every side).

    .venv/bin/python python/bench_images.py [--count 10000] [--count-a N] [--repeats 3] [--sides A,B,C,D]
"""
import argparse
import glob
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = "target/release/tfreuse"
META = "fixtures/cnn_rgb/cnn.ckpt.meta"
CKPT = "fixtures/cnn_rgb/cnn.ckpt"
CUT, INPUT, SIZE, CHECK = "cnn/pool2:0", "images:0", 32, 20
NAMES = {"A": "A retrain.py (2 runs/picture)", "B": "B tf.data pipeline",
         "C": "C tfreuse, cold cache", "D": "D tfreuse, warm cache"}


def make_pictures(folder, count):
    """One folder per class 0..9, the first count/10 training digits of each, as 64x64 JPEG."""
    import tensorflow as tf
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import mnist
    for old in picture_paths(folder):
        os.remove(old)
    x, y = mnist.read_data_sets("data/mnist")["train"]
    colours = np.random.RandomState(0).uniform(0.3, 1.0, (count, 3)).astype(np.float32)
    chosen = np.concatenate([np.flatnonzero(y == d)[:count // 10] for d in range(10)])
    padded = np.pad(x[chosen].reshape(-1, 28, 28, 1), [(0, 0), (2, 2), (2, 2), (0, 0)])
    big = tf.image.resize(padded * 255.0, [64, 64], method="bilinear").numpy()
    for j, i in enumerate(chosen):
        rgb = np.clip(np.round(big[j] * colours[j]), 0, 255).astype(np.uint8)
        os.makedirs(os.path.join(folder, str(y[i])), exist_ok=True)
        with open(os.path.join(folder, str(y[i]), f"{i:05d}.jpg"), "wb") as f:
            f.write(tf.io.encode_jpeg(rgb, quality=90).numpy())


def picture_paths(folder):
    """The pictures, ordered by file name (the MNIST index: classes interleaved)."""
    return sorted(glob.glob(os.path.join(folder, "[0-9]", "*.jpg")), key=os.path.basename)


def resize(image):
    """uint8 HxWx3 (or a batch) -> float32 32x32x3 in [0, 1], as retrain.py's decode graph."""
    import tensorflow as tf
    return tf.compat.v1.image.resize_bilinear(tf.cast(image, tf.float32), [SIZE, SIZE]) / 255.0


def side_a(paths):
    """retrain.py's run_bottleneck_on_image: two session runs per picture."""
    import tensorflow as tf
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as sess:
        tf1.train.import_meta_graph(META).restore(sess, CKPT)
        jpeg_data = tf1.placeholder(tf.string, name="DecodeJPGInput")
        decoded = resize(tf.expand_dims(tf.io.decode_jpeg(jpeg_data, channels=3), 0))
        return per_picture(sess, paths, jpeg_data, decoded, lambda resized: sess.run(CUT, {INPUT: resized}), CHECK)


def per_picture(sess, paths, jpeg_data, decoded, features_of, check):
    """retrain.py's loop: read a JPEG, one run to decode and resize it, `features_of` for the
    features; (seconds, the first `check` pictures' features)."""
    first = []
    start = time.perf_counter()
    for path in paths:
        with open(path, "rb") as f:
            image_data = f.read()
        resized = sess.run(decoded, {jpeg_data: image_data})
        features = np.squeeze(features_of(resized))
        if len(first) < check:
            first.append(features)
    return time.perf_counter() - start, np.stack(first)


def side_b(paths):
    """tf.data: parallel decode and resize, batches of 256, prefetch; graph fed by input_map."""
    import tensorflow as tf
    tf1 = tf.compat.v1
    with tf.Graph().as_default(), tf1.Session() as sess:
        def load(path):
            return resize(tf.io.decode_jpeg(tf.io.read_file(path), channels=3)[None])[0]
        ds = (tf.data.Dataset.from_tensor_slices(paths).map(load, num_parallel_calls=tf.data.AUTOTUNE)
              .batch(256).prefetch(tf.data.AUTOTUNE))
        batch = tf1.data.make_one_shot_iterator(ds).get_next()
        tf1.train.import_meta_graph(META, input_map={INPUT: batch}).restore(sess, CKPT)
        pool2 = sess.graph.get_tensor_by_name(CUT)
        return drain(sess, pool2, len(paths), CHECK)


def drain(sess, fetch, count, check):
    """Run `fetch` until its pipeline ends (it must give `count` rows); (seconds, the first
    `check` rows)."""
    import tensorflow as tf
    first, n = None, 0
    start = time.perf_counter()
    while True:
        try:
            features = sess.run(fetch)
        except tf.errors.OutOfRangeError:
            break
        first = features[:check] if first is None else first
        n += len(features)
    seconds = time.perf_counter() - start
    assert n == count, (n, count)
    return seconds, first


def child(side, a):
    if side == "P":
        return make_pictures(a.pictures, a.count)
    paths = picture_paths(a.pictures)[:a.count_a if side == "A" and a.count_a else a.count]
    seconds, first = (side_a if side == "A" else side_b)(paths)
    np.save(a.save, first)
    print(json.dumps({"side": side, "count": len(paths), "seconds": seconds}))


def spawn(cmd):
    """Run a command; returns (its stdout, wall seconds, peak RSS in MB)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=os.environ.copy())
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - start
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0), err.seek(0)
        if status != 0:
            sys.exit(f"{os.path.basename(sys.argv[0])}: {' '.join(cmd)} failed:\n{err.read().decode()[-3000:]}")
        return out.read().decode(), wall, usage.ru_maxrss / 1024


def tfreuse_cmd(a, cache_dir, log):
    return [BIN, "train", "--defaults", "book", "--meta", META, "--input", INPUT, "--labels", "labels:0", "--data", f"images:{a.pictures}",
            "--branch-from", CUT, "--new-layers", "gap,10", "--freeze-below", CUT, "--cache-frozen",
            "--cache-dir", cache_dir, "--epochs", "1", "--json", log]


def run_side(side, a, tmp, round_):
    if side in "AB":
        save = os.path.join(tmp, f"{side}{round_}.npy")
        cmd = [sys.executable, "python/bench_images.py", "--child", side, "--pictures", a.pictures, "--count", str(a.count),
               "--count-a", str(a.count_a or 0), "--save", save]
        out, wall, rss = spawn(cmd)
        r = json.loads(out.strip().splitlines()[-1])
        return {"count": r["count"], "seconds": r["seconds"], "wall": wall, "rss_mb": rss}, cmd
    cache, log = os.path.join(tmp, "cache"), os.path.join(tmp, "log.jsonl")
    if side == "C":
        shutil.rmtree(cache, ignore_errors=True)
        os.makedirs(cache)
    cmd = tfreuse_cmd(a, cache, log)
    _, wall, rss = spawn(cmd)
    with open(log) as f:
        ev = next(e for e in map(json.loads, f) if e.get("event") == "disk_cache")
    if (ev["misses"], ev["hits"]) != ((a.count, 0) if side == "C" else (0, a.count)):
        print(f"warning: side {side}: {ev['hits']} hits, {ev['misses']} misses for {a.count} pictures", file=sys.stderr)
    return {"count": a.count, "seconds": ev["seconds"], "wall": wall, "rss_mb": rss, "ready": ev["elapsed"],
            "tf_share": ev["tf_seconds"] / ev["seconds"] if ev["seconds"] else None,
            "hits": ev["hits"], "misses": ev["misses"], "megabytes": ev["megabytes"]}, cmd


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=10000, help="pictures (N, a multiple of 10)")
    ap.add_argument("--count-a", type=int, help="pictures for side A (slow; default: all N)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sides", default="A,B,C,D")
    ap.add_argument("--pictures", default="bench-results/pictures64")
    ap.add_argument("--onednn", choices=["on", "off"], default="on",
                    help="TF_ENABLE_ONEDNN_OPTS for every side (default on: the wheel's own default)")
    ap.add_argument("--child", choices=["A", "B", "P"], help=argparse.SUPPRESS)
    ap.add_argument("--save", help=argparse.SUPPRESS)
    a = ap.parse_args()
    os.chdir(ROOT)  # paths are relative to the repository
    if not a.child:
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1" if a.onednn == "on" else "0"
    if a.child:
        return child(a.child, a)
    sides = a.sides.split(",")
    if len(picture_paths(a.pictures)) != a.count:
        # In a child, without TF here: Linux keeps ru_maxrss across fork and exec, so a big
        # parent would raise every child's peak RSS.
        print(f"making {a.count} pictures in {a.pictures}", file=sys.stderr, flush=True)
        spawn([sys.executable, "python/bench_images.py", "--child", "P", "--pictures", a.pictures, "--count", str(a.count)])
    if {"C", "D"} & set(sides) and not os.path.exists(BIN):
        subprocess.run(["cargo", "build", "--release", "--quiet"], check=True)
    runs, cmds = {s: [] for s in sides}, {}
    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        for r in range(a.repeats):
            for side in sides:
                print(f"round {r + 1}/{a.repeats}: {NAMES[side]}", file=sys.stderr, flush=True)
                res, cmds[side] = run_side(side, a, tmp, r)
                runs[side].append(res)
        diff = None
        if {"A", "B"} <= set(sides):
            fa, fb = np.load(os.path.join(tmp, "A0.npy")), np.load(os.path.join(tmp, "B0.npy"))
            diff = float(np.max(np.abs(fa - fb[:len(fa)])))
    med = lambda s, k: statistics.median(x[k] for x in runs[s])  # noqa: E731
    summary = {s: {"pictures_per_second": statistics.median(x["count"] / x["seconds"] for x in runs[s]),
                   "seconds": med(s, "seconds"), "process_seconds": med(s, "wall"), "peak_rss_mb": med(s, "rss_mb"),
                   "count": runs[s][0]["count"]} for s in sides}
    for s in set(sides) & {"C", "D"}:
        summary[s].update(ready_seconds=med(s, "ready"), tf_share=med(s, "tf_share"))
    ratios = {f"{c}_over_{b}": summary[c]["pictures_per_second"] / summary[b]["pictures_per_second"]
              for c in ("C", "D") for b in ("A", "B") if c in summary and b in summary}
    machine = {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version()}
    cmds = {s: " ".join(c).replace(tmp, "$TMP") for s, c in cmds.items()}
    out = {"machine": machine, "count": a.count, "count_a": a.count_a or a.count, "repeats": a.repeats,
           "env": {k: os.environ[k] for k in ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL")},
           "summary": summary, "ratios": ratios, "max_abs_diff_A_B_first20": diff, "runs": runs, "commands": cmds}
    os.makedirs("bench-results", exist_ok=True)
    with open(f"bench-results/bench_images_onednn_{a.onednn}.json", "w") as f:
        json.dump(out, f, indent=1)
    print(f"\nmachine: {machine['cpu']}, {machine['cores']} cores; {a.repeats} rounds; N = {a.count} pictures"
          f" of 64x64 JPEG (side A: {a.count_a or a.count}); features {CUT} of {META}\n")
    print("| side | pictures/s | seconds | process s | peak RSS MB | ready at s | TF share |\n|---|---|---|---|---|---|---|")
    for s, v in summary.items():
        extra = f"{v['ready_seconds']:.2f} | {v['tf_share']:.2f}" if "tf_share" in v else "- | -"
        print(f"| {NAMES[s]} | {v['pictures_per_second']:.0f} | {v['seconds']:.2f} | {v['process_seconds']:.2f}"
              f" | {v['peak_rss_mb']:.0f} | {extra} |")
    if ratios:
        print("\n| ratio (pictures/s) | value | target |\n|---|---|---|")
        for k, v in ratios.items():
            print(f"| {k} | {v:.2f} | {'>= 5' if k.endswith('A') else '>= 1.2'} |")
    if diff is not None:
        print(f"\nA vs B, features of the first {CHECK} pictures: max abs difference {diff:.3g}")
    print("\ncommands (env " + " ".join(f"{k}={v}" for k, v in out["env"].items()) + "):")
    for s, c in cmds.items():
        print(f"  {s}: {c}")


if __name__ == "__main__":
    main()
