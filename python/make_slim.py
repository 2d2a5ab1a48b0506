"""Write the graphs of TF-Slim's image classifiers, built by TF-Slim itself (no weights).

    python python/make_slim.py [--out src/slim/graphs] [--only NAME]

For each architecture: `NAME.meta.gz`, the MetaGraphDef (graph, saver_def, variable
collections) that `nets.NAME(...)` builds under its arg_scope in inference mode
(is_training=False), fed by a float32 placeholder `input`, with a `tf.compat.v1.train.Saver()`
over every variable, devices cleared, default attributes stripped, gzip'd without a time
stamp; and `index.json`, each net's end points (TF-Slim's names, scope included, to tensor
names), logits, default picture size and the scale TF-Slim's preprocessing uses.
tfreuse embeds these files (src/slim/): Python stays out of the user's run. Deterministic: a
rerun gives the same bytes. Also imported by tests (python/slim_oracle.py) to build a net.
"""
import argparse
import gzip
import importlib
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
import tensorflow as tf  # noqa: E402

tf1 = tf.compat.v1
tf1.disable_v2_behavior()


def shim_tf_keras():
    """tf_slim's batch_norm reaches `tf_keras.legacy_tf_layers`, which tf-keras 2.21 ships
    under `tf_keras.src`: alias the modules it imports."""
    for mod in ["legacy_tf_layers", "legacy_tf_layers.base", "legacy_tf_layers.core",
                "legacy_tf_layers.convolutional", "legacy_tf_layers.normalization",
                "legacy_tf_layers.pooling"]:
        sys.modules.setdefault("tf_keras." + mod, importlib.import_module("tf_keras.src." + mod))


shim_tf_keras()
import tf_slim as slim  # noqa: E402
from tf_slim.nets import inception, resnet_v1, resnet_v2, vgg  # noqa: E402

# TF-Slim's preprocessing (models/research/slim/preprocessing): inception_preprocessing maps
# pixels to [-1, 1]; vgg_preprocessing (resnet_v1, vgg) subtracts the ImageNet channel means
# in 0-255. ResNet v2's checkpoints take Inception preprocessing at 299 (TF-Slim's README).
VGG_MEANS = [123.68, 116.78, 103.94]
INCEPTION = {"kind": "range", "values": [-1.0, 1.0]}
MEANS = {"kind": "means", "values": VGG_MEANS}

# name: (function, arg_scope, scope, num_classes of the published checkpoint, default size,
#        preprocessing, free height and width)
ARCHS = {
    "inception_v1": (inception.inception_v1, inception.inception_v1_arg_scope, "InceptionV1", 1001, 224, INCEPTION, True),
    "inception_v3": (inception.inception_v3, inception.inception_v3_arg_scope, "InceptionV3", 1001, 299, INCEPTION, True),
    "resnet_v1_50": (resnet_v1.resnet_v1_50, resnet_v1.resnet_arg_scope, "resnet_v1_50", 1000, 224, MEANS, True),
    "resnet_v1_101": (resnet_v1.resnet_v1_101, resnet_v1.resnet_arg_scope, "resnet_v1_101", 1000, 224, MEANS, True),
    "resnet_v2_50": (resnet_v2.resnet_v2_50, resnet_v2.resnet_arg_scope, "resnet_v2_50", 1001, 299, INCEPTION, True),
    # fc6-fc8 are 7x7 / 1x1 convolutions squeezed to logits: only 224x224 gives 1x1.
    "vgg_16": (vgg.vgg_16, vgg.vgg_arg_scope, "vgg_16", 1000, 224, MEANS, False),
}


def build(name, num_classes=None):
    """Build `name` in the default graph; return (input, logits, end_points by full name)."""
    fn, arg_scope, scope, classes, size, _, free = ARCHS[name]
    hw = None if free else size
    x = tf1.placeholder(tf.float32, [None, hw, hw, 3], name="input")
    with slim.arg_scope(arg_scope()):
        logits, end_points = fn(x, num_classes=num_classes or classes, is_training=False)
    full = {}
    for key, t in end_points.items():
        full[key if key.startswith(scope + "/") else scope + "/" + key] = t
    return x, logits, full


def write(name, out):
    _, _, scope, classes, size, prep, free = ARCHS[name]
    graph = tf1.Graph()
    with graph.as_default():
        _, logits, end_points = build(name)
        saver = tf1.train.Saver()
        meta = saver.export_meta_graph(clear_devices=True, strip_default_attrs=True)
    raw = meta.SerializeToString(deterministic=True)
    with open(os.path.join(out, name + ".meta.gz"), "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as g:
            g.write(raw)
    return {
        "scope": scope,
        "num_classes": classes,
        "size": size,
        "free_size": free,
        "scale": prep,
        "input": "input:0",
        "logits": logits.name,
        "end_points": {k: t.name for k, t in sorted(end_points.items())},
        "variables": len(graph.get_collection("variables")),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="src/slim/graphs")
    p.add_argument("--only")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    index_path = os.path.join(a.out, "index.json")
    index = {}
    if a.only and os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
    for name in ARCHS:
        if a.only and name != a.only:
            continue
        index[name] = write(name, a.out)
        print(f"{name}: {index[name]['variables']} variables, {len(index[name]['end_points'])} end points", file=sys.stderr)
    with open(index_path, "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
