"""TF-Slim in Python as the oracle for tfreuse's `--arch` tests (tests/it/slim.rs).

    python python/slim_oracle.py checkpoint --arch A --out PREFIX [--v1] [--seed N]
        [--num-classes N] [--drop VARIABLE] [--pictures N,H,W --fetch NAME ...]
    python python/slim_oracle.py run --arch A --checkpoint PREFIX --input x.npy
        --fetch NAME ... --out out.npz

`checkpoint` builds the net as python/make_slim.py does, with random weights (batch norm
statistics too, so they matter), and saves a checkpoint only, no .meta, as TF-Slim's zoo
tarballs hold them (V2, or V1 with --v1); with --pictures, also random pictures in [-1, 1]
(PREFIX.x.npy) and what the restored net fetches on them (PREFIX.values.npz). `run` builds it again, restores, and fetches end
points (TF-Slim's names) or tensors into an .npz keyed by the names given.
"""
import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np  # noqa: E402
import make_slim  # noqa: E402
import tensorflow as tf  # noqa: E402

tf1 = tf.compat.v1


def randomize(sess, seed):
    rng = np.random.RandomState(seed)
    for v in tf1.global_variables():
        shape = v.shape.as_list()
        if "moving_variance" in v.name:
            value = rng.uniform(0.5, 1.5, shape)
        elif "moving_mean" in v.name or "beta" in v.name or "biases" in v.name:
            value = rng.normal(0, 0.1, shape)
        else:
            continue
        v.load(value.astype(np.float32), sess)


def checkpoint(a):
    tf1.set_random_seed(a.seed)
    make_slim.build(a.arch, a.num_classes)
    var_list = [v for v in tf1.global_variables() if v.op.name != a.drop]
    version = tf1.train.SaverDef.V1 if a.v1 else tf1.train.SaverDef.V2
    saver = tf1.train.Saver(var_list, write_version=version)
    with tf1.Session() as sess:
        sess.run(tf1.global_variables_initializer())
        randomize(sess, a.seed)
        saver.save(sess, a.out, write_meta_graph=False, write_state=False)
    if a.pictures:
        shape = [int(n) for n in a.pictures.split(",")] + [3]
        np.save(a.out + ".x.npy", np.random.RandomState(a.seed).uniform(-1, 1, shape).astype(np.float32))
        a.checkpoint, a.input, a.out = a.out, a.out + ".x.npy", a.out + ".values.npz"
        tf1.reset_default_graph()
        run(a)


def run(a):
    x, _, end_points = make_slim.build(a.arch)
    g = tf1.get_default_graph()
    names = {k: v.name for k, v in end_points.items()}
    fetches = [g.get_tensor_by_name(names.get(n.removesuffix(":0"), n)) for n in a.fetch]
    with tf1.Session() as sess:
        tf1.train.Saver().restore(sess, a.checkpoint)
        values = sess.run(fetches, {x: np.load(a.input)})
    np.savez(a.out, **dict(zip(a.fetch, values)))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("checkpoint")
    c.add_argument("--arch", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--v1", action="store_true")
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--num-classes", type=int)
    c.add_argument("--drop", help="leave this variable out of the checkpoint")
    c.add_argument("--pictures", help="N,H,W: random pictures to fetch on")
    c.add_argument("--fetch", action="append", default=[])
    r = sub.add_parser("run")
    r.add_argument("--arch", required=True)
    r.add_argument("--checkpoint", required=True)
    r.add_argument("--input", required=True)
    r.add_argument("--fetch", action="append", required=True)
    r.add_argument("--out", required=True)
    a = p.parse_args()
    {"checkpoint": checkpoint, "run": run}[a.cmd](a)


if __name__ == "__main__":
    main()
