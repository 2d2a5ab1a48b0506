"""Python TF1 as the oracle for tfreuse's integration tests: the same checkpoint, the same
data, the same oneDNN setting (TF_ENABLE_ONEDNN_OPTS=0), answers printed as JSON.

    python python/oracle.py eval --meta M [--checkpoint C] --data mnist:DIR --split test \
        --input X:0 --labels y:0 --fetch eval/accuracy:0 ...
    python python/oracle.py run --meta M --feed X:0=x.npy --fetch T ... --out out.npz
    python python/oracle.py variables --checkpoint PREFIX
    python python/oracle.py layers --meta M --layer INPUT=OUTPUT ...
    python python/oracle.py train --meta M --data mnist:DIR --train-op OP --loss T --out PREFIX [--jit]
"""
import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
# As tfreuse: lets a session's global_jit_level reach the CPU (no effect otherwise).
os.environ.setdefault("TF_XLA_FLAGS", "--tf_xla_cpu_global_jit")
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


def features_for(X, x, scale=None):
    """Features as tfreuse feeds them to input X: raw pixels for an integer input, the stored
    values times --scale if given (MNIST's raw pixels), rows reshaped to an image input's."""
    whole = np.all(x == np.round(x))  # an npz of integers, else MNIST's scaled pixels
    raw = x if whole else np.round(x * 255)
    if X.dtype.is_integer:  # raw pixels, as they were before scaling
        x = raw.astype(X.dtype.as_numpy_dtype)
    else:
        x = (raw.astype(np.float32) * np.float32(scale)) if scale is not None else x.astype(np.float32)
    if X.shape.rank is not None and X.shape.rank > 2 and x.ndim != X.shape.rank:  # rows of an image input
        x = x.reshape([-1] + X.shape.as_list()[1:])
    return x


def scalars(graph, sets):
    """--set TENSOR=VALUE feeds."""
    return {graph.get_tensor_by_name(s.rsplit("=", 1)[0]): float(s.rsplit("=", 1)[1]) for s in sets}


def restored_session(meta, checkpoint, jit=False, soft=False):
    if meta.endswith((".pb", ".pbtxt")):  # a frozen GraphDef, imported as label_image does
        from google.protobuf import text_format
        gd = tf1.GraphDef()
        with open(meta, "rb") as f:
            data = f.read()
        if meta.endswith(".pbtxt"):
            text_format.Merge(data.decode(), gd)
        else:
            gd.ParseFromString(data)
        graph = tf1.Graph()
        with graph.as_default():
            tf1.import_graph_def(gd, name="")
        return graph, tf1.Session(graph=graph)
    if os.path.isdir(meta):  # a SavedModel directory, loaded as TF Serving users load it
        graph = tf1.Graph()
        sess = tf1.Session(graph=graph)
        with graph.as_default():
            tf1.saved_model.loader.load(sess, ["serve"], meta)
        return graph, sess
    graph = tf1.Graph()
    with graph.as_default():
        saver = tf1.train.import_meta_graph(meta)
    config = tf1.ConfigProto(allow_soft_placement=soft)
    if jit:
        config.graph_options.optimizer_options.global_jit_level = tf1.OptimizerOptions.ON_1
    sess = tf1.Session(graph=graph, config=config)
    ckpt = checkpoint or os.path.dirname(meta) or "."
    if os.path.isdir(ckpt):
        ckpt = tf1.train.latest_checkpoint(ckpt)
    saver.restore(sess, ckpt)
    return graph, sess


def cmd_eval(a):
    graph, sess = restored_session(a.meta, a.checkpoint, soft=a.soft_placement)
    x, y = load_data(a.data)[a.split]
    X = graph.get_tensor_by_name(a.input)
    Y = graph.get_tensor_by_name(a.labels)
    fetches = [graph.get_tensor_by_name(f) for f in a.fetch]
    x = features_for(X, x, a.scale)
    bs = a.batch_size or len(x)
    sums = np.zeros(len(fetches))
    for i in range(0, len(x), bs):
        yy = y[i:i + bs].astype(Y.dtype.as_numpy_dtype)
        feed = {X: x[i:i + bs], Y: yy.reshape(-1, 1) if Y.shape.rank == 2 else yy, **scalars(graph, a.set)}
        vals = sess.run(fetches, feed_dict=feed)
        sums += np.array(vals, dtype=np.float64) * len(x[i:i + bs])
    print(json.dumps({f: float(v) for f, v in zip(a.fetch, sums / len(x))}))


def cmd_run(a):
    graph, sess = restored_session(a.meta, a.checkpoint)
    feeds = {}
    for f in a.feed:
        name, path = f.split("=", 1)
        t = graph.get_tensor_by_name(name)
        feeds[t] = np.load(path).astype(t.dtype.as_numpy_dtype)
    vals = sess.run([graph.get_tensor_by_name(f) for f in a.fetch], feed_dict=feeds)
    np.savez(a.out, **{f: v for f, v in zip(a.fetch, vals)})


def cmd_serve(a):
    """Load a SavedModel as a serving user does, feed the signature's inputs by key (KEY=FILE.npz#ARRAY)
    and print its outputs by key (strings decoded), with the assets the MetaGraph lists."""
    graph = tf1.Graph()
    sess = tf1.Session(graph=graph)
    with graph.as_default():
        mg = tf1.saved_model.loader.load(sess, ["serve"], a.dir)
    sig = mg.signature_def[a.signature]
    feeds = {}
    for f in a.feed:
        key, spec = f.split("=", 1)
        path, _, array = spec.partition("#")
        data = np.load(path)
        data = data[array] if array else data
        t = graph.get_tensor_by_name(sig.inputs[key].name)
        feeds[t] = data if t.dtype == tf.string else data.astype(t.dtype.as_numpy_dtype)
    keys = sorted(sig.outputs)
    vals = sess.run([graph.get_tensor_by_name(sig.outputs[k].name) for k in keys], feed_dict=feeds)
    out = {k: [x.decode() if isinstance(x, bytes) else x for x in v.tolist()] for k, v in zip(keys, vals)}
    assets = [d.filename for d in mg.asset_file_def]
    listed = list(mg.collection_def["asset_filepaths"].node_list.value) if "asset_filepaths" in mg.collection_def else []
    print(json.dumps({"outputs": out, "assets": assets, "asset_filepaths": listed}))


def cmd_serve_bytes(a):
    """Feed each FILE's bytes, one picture a call, to a model exported with --with-preprocessing,
    as a serving user does: a SavedModel by --signature (serving_bytes), a frozen .pb by tensor
    names (image_bytes:0 in, export/KEY:0 out: probabilities, class_ids, classes; the logits keep
    their own name); print each file's outputs by key, strings decoded."""
    graph, sess = restored_session(a.model, None)
    if os.path.isdir(a.model):
        from tensorflow.core.protobuf import saved_model_pb2
        sm = saved_model_pb2.SavedModel()
        with open(os.path.join(a.model, "saved_model.pb"), "rb") as f:
            sm.ParseFromString(f.read())
        sig = sm.meta_graphs[0].signature_def[a.signature]
        inp = sig.inputs["image_bytes"].name
        outs = {k: v.name for k, v in sig.outputs.items()}
    else:
        inp = "image_bytes:0"
        outs = {k: f"export/{k}:0" for k in ["probabilities", "class_ids", "classes"]}
    keys = sorted(outs)
    fetches = [graph.get_tensor_by_name(outs[k]) for k in keys]
    results = []
    for name in a.files:
        with open(name, "rb") as f:
            vals = sess.run(fetches, {graph.get_tensor_by_name(inp): f.read()})
        results.append({k: [x.decode() if isinstance(x, bytes) else x for x in v.tolist()][0] for k, v in zip(keys, vals)})
    print(json.dumps(results))


def cmd_digest(a):
    """sha256 of every tensor's bytes in a checkpoint."""
    import hashlib
    r = tf.train.load_checkpoint(a.checkpoint)
    print(json.dumps({n: hashlib.sha256(np.ascontiguousarray(r.get_tensor(n)).tobytes()).hexdigest()
                      for n, _ in tf.train.list_variables(a.checkpoint)}))


def cmd_maxdiff(a):
    """max |a - b| per tensor between two checkpoints (tensors in both)."""
    ra, rb = tf.train.load_checkpoint(a.a), tf.train.load_checkpoint(a.b)
    names = set(n for n, _ in tf.train.list_variables(a.a)) & set(n for n, _ in tf.train.list_variables(a.b))
    print(json.dumps({n: float(np.max(np.abs(ra.get_tensor(n) - rb.get_tensor(n)))) for n in sorted(names)}))


def cmd_saved(a):
    """Load a saved model, dump fetches on a split, then keep training with its train op."""
    graph, sess = restored_session(a.meta, a.checkpoint)
    x, y = load_data(a.data)[a.split]
    X = graph.get_tensor_by_name(a.input)
    Y = graph.get_tensor_by_name(a.labels)
    vals = sess.run([graph.get_tensor_by_name(f) for f in a.fetch], feed_dict={X: x})
    np.savez(a.out, **{f: v for f, v in zip(a.fetch, vals)})
    loss = graph.get_tensor_by_name(a.loss)
    op = graph.get_operation_by_name(a.train_op)
    xt, yt = load_data(a.data)["train"]
    before = float(sess.run(loss, {X: xt[:2000], Y: yt[:2000]}))
    for i in range(0, a.steps * 200, 200):
        sess.run(op, {X: xt[i:i + 200], Y: yt[i:i + 200]})
    after = float(sess.run(loss, {X: xt[:2000], Y: yt[:2000]}))
    print(json.dumps({"loss_before": before, "loss_after": after}))


def cmd_train(a):
    """The plain TF1 loop over slices in file order, fetching the loss with the train op as
    tfreuse does; saves every variable with the graph's own saver."""
    graph, sess = restored_session(a.meta, a.checkpoint, a.jit)
    x, y = load_data(a.data)[a.split]
    X = graph.get_tensor_by_name(a.input)
    Y = graph.get_tensor_by_name(a.labels)
    x = features_for(X, x)
    y = y.astype(Y.dtype.as_numpy_dtype)
    op, loss = graph.get_operation_by_name(a.train_op), graph.get_tensor_by_name(a.loss)
    flags = {graph.get_tensor_by_name(f.split("=")[0]): f.split("=")[1:] != ["false"] for f in a.flag}
    flags.update(scalars(graph, a.set))
    for _ in range(a.epochs):
        for i in range(0, len(x), a.batch_size):
            sess.run([op, loss], {X: x[i:i + a.batch_size], Y: y[i:i + a.batch_size], **flags})
    with graph.as_default():
        tf1.train.Saver().save(sess, a.out, write_meta_graph=False)


def cmd_wrong_shapes(a):
    """Write a checkpoint holding every variable of --checkpoint, one of them with its shape
    transposed (a checkpoint from a different architecture with the same names)."""
    r = tf.train.load_checkpoint(a.checkpoint)
    with tf1.Graph().as_default():
        vs = []
        for name, shape in tf.train.list_variables(a.checkpoint):
            value = r.get_tensor(name)
            if name == a.bad:
                value = value.T.copy() if value.ndim == 2 else np.concatenate([value, value])
            vs.append(tf1.Variable(value, name=name))
        with tf1.Session() as s:
            s.run(tf1.global_variables_initializer())
            tf1.train.Saver(vs).save(s, a.out)


def cmd_control_flow(a):
    """Write a small TF1 model (tiny's shapes: 4 features, 2 classes) whose hidden layer runs
    inside TF1 control flow: a `while_loop` applying one shared layer three times (as
    hand-written RNNs do), or a `cond` on a bool placeholder. Its output is `flow/out:0`; the
    model has a loss, an accuracy, a train op and a saver, like the book's."""
    tf1.disable_control_flow_v2()
    with tf1.Graph().as_default():
        tf1.set_random_seed(1)
        X = tf1.placeholder(tf.float32, [None, 4], name="X")
        y = tf1.placeholder(tf.int64, [None], name="y")
        with tf1.variable_scope("flow"):
            W = tf1.get_variable("kernel", [4, 4])
            if a.kind == "loop":
                _, h = tf1.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, tf.tanh(tf.matmul(h, W))), [tf.constant(0), X])
            else:
                flag = tf1.placeholder_with_default(False, [], name="flag")
                h = tf1.cond(flag, lambda: tf.tanh(tf.matmul(X, W)), lambda: tf.nn.relu(tf.matmul(X, W)))
            out = tf.identity(h, name="out")
        with tf1.variable_scope("outputs"):
            logits = tf.matmul(out, tf1.get_variable("kernel", [4, 2]), name="logits")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits), name="loss")
        tf.identity(tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32)), name="accuracy")
        train = tf1.train.GradientDescentOptimizer(0.1).minimize(loss)
        tf1.add_to_collection("train_op", train)
        with tf1.Session() as s:
            s.run(tf1.global_variables_initializer())
            tf1.train.Saver().save(s, os.path.join(a.out, "model.ckpt"))


def cmd_small_model(a):
    """Write a small TF1 model in layouts found in the wild: an input with a fixed batch of
    --batch rows (0: any), as graphs exported for serving often have, with a loss that divides
    by that batch; int32 labels as a column [n, 1] (--column-labels); a uint8 input of raw
    pixels scaled inside the graph (--uint8-input); hidden1 pinned to a device (--pin
    /device:CPU:1, saved sharded, as a two-device session writes it; --job-pins prefixes the pins
    with /job:ps/task:0)."""
    batch = a.batch or None
    with tf1.Graph().as_default():
        tf1.set_random_seed(2)
        if a.uint8_input:
            X = tf1.placeholder(tf.uint8, [batch, a.features], name="X")
            x = tf.cast(X, tf.float32) / 255.0
        elif a.image:  # NHWC, as conv nets take it: 2x2 pixels, one channel
            X = tf1.placeholder(tf.float32, [batch, 2, 2, 1], name="X")
            x = tf.reshape(X, [-1, a.features])
        elif a.rank3:  # sequences: 2 steps of features/2 values
            X = tf1.placeholder(tf.float32, [batch, 2, a.features // 2], name="X")
            x = tf.reshape(X, [-1, a.features])
        else:
            X = tf1.placeholder(getattr(tf, a.input_dtype), [batch, a.features], name="X")
            x = tf.cast(X, tf.float32)
        if a.keep_prob:  # a second input with no default, as dropout models often have
            x = tf.nn.dropout(x, rate=1 - tf1.placeholder(tf.float32, [], name="keep_prob"))
        if a.no_labels:  # an exported classifier: logits only, nothing to train with
            y = tf.zeros([tf.shape(x)[0]], tf.int64)
        elif a.column_labels:
            y = tf.reshape(tf1.placeholder(tf.int32, [batch, 1], name="y"), [-1])
        else:
            y = tf1.placeholder(tf.int64, [batch], name="y")
        with tf.device(a.pin), tf1.variable_scope("hidden1", use_resource=a.resource):
            h = tf.nn.relu(tf.matmul(x, tf1.get_variable("kernel", [a.features, 3])), name="Relu")
            if a.dynamic_width:  # a reshape to a computed shape: TF's shape inference gives [?, ?]
                h = tf.reshape(h, [tf.shape(h)[0], -1], name="flat")
        with tf1.variable_scope("outputs", use_resource=a.resource):
            logits = tf.matmul(h, tf1.get_variable("kernel", [3, a.classes]), name="logits")
        xent = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        loss = tf.math.divide(tf.reduce_sum(xent), float(a.batch), name="loss") if batch else tf.reduce_mean(xent, name="loss")
        tf.identity(tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1, output_type=y.dtype), y), tf.float32)), name="accuracy")
        opt = {"sgd": lambda: tf1.train.GradientDescentOptimizer(0.1), "momentum": lambda: tf1.train.MomentumOptimizer(0.1, 0.9),
               "adam": lambda: tf1.train.AdamOptimizer(0.1)}[a.optimizer]()
        tf1.add_to_collection("train_op", opt.minimize(loss))
        with tf1.Session(config=tf1.ConfigProto(device_count={"CPU": 2}) if a.pin else None) as s:
            s.run(tf1.global_variables_initializer())
            tf1.train.Saver(sharded=bool(a.pin)).save(s, os.path.join(a.out, "model.ckpt"))
    if a.job_pins:  # as a cluster's chief writes it (TF 2.21 graph mode won't build job pins here)
        from tensorflow.core.protobuf import meta_graph_pb2
        path = os.path.join(a.out, "model.ckpt.meta")
        m = meta_graph_pb2.MetaGraphDef()
        with open(path, "rb") as f:
            m.ParseFromString(f.read())
        for node in m.graph_def.node:
            node.device = "/job:ps/task:0" + node.device if node.device else node.device
        with open(path, "wb") as f:
            f.write(m.SerializeToString())


def cmd_resave(a):
    """Import --meta, restore it and save it again at --out, as Python names it (a prefix
    ending in / gives files .index, .meta … inside that directory)."""
    graph, sess = restored_session(a.meta, a.checkpoint)
    with graph.as_default():
        tf1.train.Saver().save(sess, a.out)


def bmp24(rgb):
    """A 24-bit BMP of an HxWx3 uint8 array (TF encodes no BMP)."""
    import struct
    h, w, _ = rgb.shape
    stride = (w * 3 + 3) // 4 * 4
    rows = b"".join(rgb[y, :, ::-1].tobytes().ljust(stride, b"\0") for y in range(h - 1, -1, -1))
    header = struct.pack("<2sIHHI", b"BM", 54 + len(rows), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(rows), 2835, 2835, 0, 0)
    return header + info + rows


def fitted(picture, mode):
    """Python's way to 28x28 for --resize-mode `mode`: stretch; crop (the centred square, then
    resize); pad (resize keeping the aspect ratio, then centred on black)."""
    h, w = tf.shape(picture)[0], tf.shape(picture)[1]
    if mode == "crop":
        side = tf.minimum(h, w)
        picture = tf.image.crop_to_bounding_box(picture, (h - side) // 2, (w - side) // 2, side, side)
    if mode == "pad":
        inner = tf.image.resize(picture, [28, 28], preserve_aspect_ratio=True, antialias=True)
        ih, iw = tf.shape(inner)[0], tf.shape(inner)[1]
        return tf.image.pad_to_bounding_box(inner, (28 - ih) // 2, (28 - iw) // 2, 28, 28)
    return tf.image.resize(picture, [28, 28], antialias=True)


def cmd_image_folder(a):
    """MNIST test digits as a folder of pictures, one subfolder per class (0…9): --per-class
    of each, resized to --size with tf.image.resize, gray or (--color) RGB, as PNG, JPEG, BMP
    and a PNG named .jpg in turn; --broken adds a truncated JPEG and a text file. Writes
    <out>_python.npz: what Python makes of the readable ones (decode_image, rgb_to_grayscale,
    resize to 28x28 with antialias, /255), in tfreuse's row order (class, then file name)."""
    x, y = load_data(a.data)["test"]
    pixels = np.round(x.reshape(-1, 28, 28, 1) * 255).astype(np.uint8)
    sess = tf1.Session()
    src = tf1.placeholder(tf.uint8, [28, 28, 1])
    img = tf.cast(tf.round(tf.image.resize(src, [a.size, a.width or a.size])), tf.uint8)
    if a.color:
        img = tf.cast(tf.round(tf.cast(tf.image.grayscale_to_rgb(img), tf.float32) * [1.0, 0.8, 0.6]), tf.uint8)
    png, jpeg = tf.io.encode_png(img), tf.io.encode_jpeg(img, quality=95)
    files = []
    for digit in range(10):
        os.makedirs(os.path.join(a.out, str(digit)), exist_ok=True)
        for k, i in enumerate(np.flatnonzero(y == digit)[a.first:a.first + a.per_class]):
            n = a.first + k
            name = os.path.join(a.out, str(digit), f"{n:05d}." + ["png", "jpg", "bmp", "jpg"][n % 4])
            if n % 4 == 2:
                rgb = sess.run(img, {src: pixels[i]})
                data = bmp24(rgb if a.color else np.repeat(rgb, 3, axis=2))
            else:
                data = sess.run(jpeg if n % 4 == 1 else png, {src: pixels[i]})
            with open(name, "wb") as f:
                f.write(data)
            files.append(name)
    if a.broken:
        with open(os.path.join(a.out, "3", "zz_truncated.jpg"), "wb") as f:
            f.write(sess.run(jpeg, {src: pixels[0]})[:40])
        with open(os.path.join(a.out, "5", "zz_notes.txt"), "w") as f:
            f.write("not a picture\n")
    raw = tf1.placeholder(tf.string, [])
    decoded = tf.io.decode_image(raw, expand_animations=False)
    picture = tf1.placeholder(tf.float32, [None, None, None])
    gray = tf.image.rgb_to_grayscale(picture)
    small = fitted(picture, a.mode)
    rows, labels = [], []
    for name in sorted(files, key=lambda n: (int(os.path.basename(os.path.dirname(n))), os.path.basename(n))):
        d = sess.run(decoded, {raw: open(name, "rb").read()}).astype(np.float32)
        if d.shape[-1] == 3:
            d = sess.run(gray, {picture: d})
        rows.append(sess.run(small, {picture: d}).reshape(-1) / 255.0)
        labels.append(int(os.path.basename(os.path.dirname(name))))
    out = os.path.normpath(a.out) + "_python.npz"
    np.savez(out, x=np.array(rows, np.float32), y=np.array(labels))


def cmd_events(a):
    """A TensorBoard event file as TF reads it: scalars, the file version, the graph's size."""
    out = {"scalars": [], "graph_nodes": None, "file_version": None}
    histos = {}
    for e in tf.compat.v1.train.summary_iterator(a.file):
        if e.file_version:
            out["file_version"] = e.file_version
        if e.graph_def:
            g = tf.compat.v1.GraphDef()
            g.ParseFromString(e.graph_def)
            out["graph_nodes"] = len(g.node)
        for v in e.summary.value:
            if v.HasField("histo"):
                histos.setdefault(v.tag, []).append((e.step, v.histo))
            else:
                out["scalars"].append({"step": e.step, "tag": v.tag, "value": float(v.simple_value)})
    # Each variable's last histogram against TF's own HistogramSummary of its checkpoint value.
    out["histograms"] = {}
    if a.checkpoint:
        reader = tf.train.load_checkpoint(a.checkpoint)
        for tag, seen in histos.items():
            (_, h) = seen[-1]
            with tf.Graph().as_default(), tf.compat.v1.Session() as s:
                summary = s.run(tf.raw_ops.HistogramSummary(tag=tag, values=reader.get_tensor(tag)))
            theirs = tf.compat.v1.Summary.FromString(summary).value[0].histo
            out["histograms"][tag] = {"steps": [st for st, _ in seen], "num": h.num, "identical": h == theirs,
                                      "buckets": len(h.bucket)}
    print(json.dumps(out))


def cmd_stats(a):
    """Each variable of a checkpoint: its standard deviation, mean and largest magnitude."""
    r = tf.train.load_checkpoint(a.checkpoint)
    out = {}
    for name, _ in tf.train.list_variables(a.checkpoint):
        v = np.asarray(r.get_tensor(name), dtype=np.float64)
        if v.dtype.kind == "f" and v.size:
            out[name] = {"std": float(v.std()), "mean": float(v.mean()), "maxabs": float(np.abs(v).max()), "size": int(v.size)}
    print(json.dumps(out))


def cmd_variables(a):
    print(json.dumps({n: s for n, s in tf.train.list_variables(a.checkpoint)}))


def cmd_layers(a):
    """Each layer's output shape (None -> -1) and parameters: the values of the variables its
    output depends on that its input does not."""
    g = tf.Graph()
    with g.as_default():
        tf1.train.import_meta_graph(a.meta)

    def variables_below(t):
        seen, todo, found = set(), [t.op], set()
        while todo:
            op = todo.pop()
            if op.name in seen:
                continue
            seen.add(op.name)
            if op.type in ("VariableV2", "VarHandleOp"):
                found.add(op)
            todo.extend(i.op for i in op.inputs)
        return found

    out = {}
    for pair in a.layer:
        inp, outp = pair.split("=")
        t = g.get_tensor_by_name(outp)
        new = variables_below(t) - variables_below(g.get_tensor_by_name(inp))
        params = sum(int(np.prod([d.size for d in op.get_attr("shape").dim])) for op in new)
        out[outp] = {"shape": [-1 if d is None else d for d in t.shape.as_list()], "params": params}
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)

    def model_on_split(name, fetch=True):
        p = sub.add_parser(name)
        p.add_argument("--meta", required=True)
        p.add_argument("--checkpoint")
        p.add_argument("--data", required=True)
        p.add_argument("--split", default="test")
        p.add_argument("--input", default="X:0")
        p.add_argument("--labels", default="y:0")
        p.add_argument("--set", action="append", default=[])
        if fetch:
            p.add_argument("--fetch", action="append", required=True)
        return p

    e = model_on_split("eval")
    e.add_argument("--batch-size", type=int, default=0)
    e.add_argument("--scale", type=float)
    e.add_argument("--soft-placement", action="store_true", help="place pinned ops where they can go")
    r = sub.add_parser("run")
    r.add_argument("--meta", required=True)
    r.add_argument("--checkpoint")
    r.add_argument("--feed", action="append", default=[])
    r.add_argument("--fetch", action="append", required=True)
    r.add_argument("--out", required=True)
    sv = sub.add_parser("serve")
    sv.add_argument("dir")
    sv.add_argument("--signature", default="serving_default")
    sv.add_argument("--feed", action="append", default=[], help="KEY=FILE.npy or KEY=FILE.npz#ARRAY")
    sb = sub.add_parser("serve-bytes")
    sb.add_argument("model", help="a SavedModel directory or a frozen .pb")
    sb.add_argument("--signature", default="serving_bytes")
    sb.add_argument("files", nargs="+")
    rs = sub.add_parser("resave")
    rs.add_argument("--meta", required=True)
    rs.add_argument("--checkpoint")
    rs.add_argument("--out", required=True)
    ly = sub.add_parser("layers")
    ly.add_argument("--meta", required=True)
    ly.add_argument("--layer", action="append", required=True, help="INPUT=OUTPUT tensors of a layer")
    v = sub.add_parser("variables")
    v.add_argument("--checkpoint", required=True)
    d = sub.add_parser("digest")
    d.add_argument("--checkpoint", required=True)
    m = sub.add_parser("maxdiff")
    m.add_argument("a")
    m.add_argument("b")
    s = model_on_split("saved")
    s.add_argument("--loss", required=True)
    s.add_argument("--train-op", required=True)
    s.add_argument("--steps", type=int, default=50)
    s.add_argument("--out", required=True)
    w = sub.add_parser("wrong-shapes")
    w.add_argument("--checkpoint", required=True)
    w.add_argument("--bad", required=True)
    w.add_argument("--out", required=True)
    t = model_on_split("train", fetch=False)
    t.set_defaults(split="train")
    t.add_argument("--train-op", required=True)
    t.add_argument("--loss", required=True)
    t.add_argument("--epochs", type=int, default=1)
    t.add_argument("--batch-size", type=int, default=200)
    t.add_argument("--jit", action="store_true")
    t.add_argument("--flag", action="append", default=[], help="TENSOR[=false]: a bool fed true (or false) each step")
    t.add_argument("--out", required=True)
    c = sub.add_parser("control-flow")
    c.add_argument("--kind", choices=["loop", "cond"], required=True)
    c.add_argument("--out", required=True)
    f = sub.add_parser("small-model")
    f.add_argument("--batch", type=int, default=0)
    f.add_argument("--column-labels", action="store_true")
    f.add_argument("--uint8-input", action="store_true")
    f.add_argument("--image", action="store_true")
    f.add_argument("--rank3", action="store_true")
    f.add_argument("--keep-prob", action="store_true")
    f.add_argument("--no-labels", action="store_true")
    f.add_argument("--resource", action="store_true", help="resource variables (use_resource=True)")
    f.add_argument("--input-dtype", default="float32")
    f.add_argument("--pin", default="", help="device of hidden1 (e.g. /device:CPU:1)")
    f.add_argument("--job-pins", action="store_true")
    f.add_argument("--dynamic-width", action="store_true", help="hidden1/flat:0 of static shape [?, ?]")
    f.add_argument("--optimizer", default="sgd", choices=["sgd", "momentum", "adam"], help="of its train op (lr 0.1)")
    f.add_argument("--features", type=int, default=4)
    f.add_argument("--classes", type=int, default=2)
    f.add_argument("--out", required=True)
    im = sub.add_parser("image-folder")
    im.add_argument("--data", required=True)
    im.add_argument("--out", required=True)
    im.add_argument("--per-class", type=int, default=20)
    im.add_argument("--first", type=int, default=0, help="skip this many of each class (to add pictures later)")
    im.add_argument("--size", type=int, default=32)
    im.add_argument("--color", action="store_true")
    im.add_argument("--width", type=int, help="picture width (default: --size, square)")
    im.add_argument("--mode", choices=["stretch", "crop", "pad"], default="stretch",
                    help="how Python fits the pictures to 28x28 for <out>_python.npz")
    im.add_argument("--broken", action="store_true")
    st = sub.add_parser("stats")
    st.add_argument("--checkpoint", required=True)
    ev = sub.add_parser("events")
    ev.add_argument("file")
    ev.add_argument("--checkpoint", help="compare the last histogram of each variable with TF's of its value here")
    a = ap.parse_args()
    {"small-model": cmd_small_model, "control-flow": cmd_control_flow, "wrong-shapes": cmd_wrong_shapes, "eval": cmd_eval, "run": cmd_run, "variables": cmd_variables, "layers": cmd_layers, "digest": cmd_digest,
     "maxdiff": cmd_maxdiff, "image-folder": cmd_image_folder, "saved": cmd_saved, "train": cmd_train, "resave": cmd_resave, "events": cmd_events, "stats": cmd_stats,
     "serve": cmd_serve, "serve-bytes": cmd_serve_bytes}[a.cmd](a)


if __name__ == "__main__":
    main()
