"""Python TF1 as the oracle for tfreuse's integration tests: the same checkpoint, the same
data, the same oneDNN setting (TF_ENABLE_ONEDNN_OPTS=0), answers printed as JSON.

    python python/oracle.py eval --meta M [--checkpoint C] --data mnist:DIR --split test \
        --input X:0 --labels y:0 --fetch eval/accuracy:0 ...
    python python/oracle.py run --meta M --feed X:0=x.npy --fetch T ... --out out.npz
    python python/oracle.py variables --checkpoint PREFIX
"""
import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mnist  # noqa: E402

tf1 = tf.compat.v1
tf1.disable_v2_behavior()


def load_data(spec):
    kind, path = spec.split(":", 1)
    if kind == "mnist":
        return mnist.read_data_sets(path)
    d = np.load(path)
    if "x" in d:
        return {"all": (d["x"], d["y"])}
    return {k[2:]: (d[k], d["y_" + k[2:]]) for k in d.files if k.startswith("x_")}


def restored_session(meta, checkpoint):
    graph = tf1.Graph()
    with graph.as_default():
        saver = tf1.train.import_meta_graph(meta)
    sess = tf1.Session(graph=graph)
    ckpt = checkpoint or os.path.dirname(meta) or "."
    if os.path.isdir(ckpt):
        ckpt = tf1.train.latest_checkpoint(ckpt)
    saver.restore(sess, ckpt)
    return graph, sess


def cmd_eval(a):
    graph, sess = restored_session(a.meta, a.checkpoint)
    x, y = load_data(a.data)[a.split]
    X = graph.get_tensor_by_name(a.input)
    Y = graph.get_tensor_by_name(a.labels)
    vals = sess.run([graph.get_tensor_by_name(f) for f in a.fetch],
                    feed_dict={X: x, Y: y.astype(Y.dtype.as_numpy_dtype)})
    print(json.dumps({f: float(v) for f, v in zip(a.fetch, vals)}))


def cmd_run(a):
    graph, sess = restored_session(a.meta, a.checkpoint)
    feeds = {}
    for f in a.feed:
        name, path = f.split("=", 1)
        t = graph.get_tensor_by_name(name)
        feeds[t] = np.load(path).astype(t.dtype.as_numpy_dtype)
    vals = sess.run([graph.get_tensor_by_name(f) for f in a.fetch], feed_dict=feeds)
    np.savez(a.out, **{f: v for f, v in zip(a.fetch, vals)})


def cmd_variables(a):
    print(json.dumps({n: s for n, s in tf.train.list_variables(a.checkpoint)}))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("eval")
    e.add_argument("--meta", required=True)
    e.add_argument("--checkpoint")
    e.add_argument("--data", required=True)
    e.add_argument("--split", default="test")
    e.add_argument("--input", default="X:0")
    e.add_argument("--labels", default="y:0")
    e.add_argument("--fetch", action="append", required=True)
    r = sub.add_parser("run")
    r.add_argument("--meta", required=True)
    r.add_argument("--checkpoint")
    r.add_argument("--feed", action="append", default=[])
    r.add_argument("--fetch", action="append", required=True)
    r.add_argument("--out", required=True)
    v = sub.add_parser("variables")
    v.add_argument("--checkpoint", required=True)
    a = ap.parse_args()
    {"eval": cmd_eval, "run": cmd_run, "variables": cmd_variables}[a.cmd](a)


if __name__ == "__main__":
    main()
