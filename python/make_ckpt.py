"""Write the committed fixture checkpoints with real TensorFlow (tf.compat.v1 graph mode).

    python python/make_ckpt.py [--data data/mnist] [--out fixtures] [--only NAME]

Fixtures (each a directory with .meta, .index, .data-00000-of-00001 and `checkpoint`):
  mnist_dnn/  the Hands-On ML (1st ed., ch. 11) network: X, y, dnn/hidden1..5, outputs,
              loss/loss, eval/accuracy, GradientDescent with clipping; 20 epochs on MNIST.
  mnist04/    the book's exercise 8 base model: X, y, dnn/hidden1..5 (100 ELU units, He
              init), outputs (5 logits), loss/loss, eval/accuracy, Adam (train_op
              collection), trained on digits 0-4 only with early stopping; the few-labels
              scenario reuses it for digits 5-9.
  conv_bn/    another shape on purpose: other names, a conv layer, batch norm with a
              training-flag placeholder, ELU/tanh, int32 labels, Adam.
  cnn_rgb/    a small CNN on an NHWC picture input, as image models take them: `images`
              [?, 32, 32, 3] in [0, 1], cnn/conv1 → pool1 → conv2 → pool2 (8×8×32 feature
              maps) → cnn/features (global average pooling) → cnn/logits; labels int64,
              loss/loss, eval/accuracy, Adam; one epoch on MNIST padded to 32×32 and tinted.
  tiny/       a few-KB 4-3-2 classifier for fast unit tests.
  tiny_frozen/ tiny frozen as retrain.py froze Inception: weights made constants, only what
              its logits need kept (no labels, no loss): tiny.pb (binary) and tiny.pbtxt (text).
  tiny_saved_model/ tiny as a TF1 SavedModel (tag serve; signature serving_default: input
              `x`, outputs `logits` and `classes`), as tf.compat.v1.saved_model.Builder writes it.
  retrain_style/ a graph as TF's retrain.py writes it, frozen: `input` [1, 32, 32, 3] (a batch
              of exactly one picture, as Inception's), two tiny conv layers (trained on 3000
              tinted MNIST digits first), `pool/_reshape` [1, 8] as the bottleneck, `input_1/BottleneckInputPlaceholder`
              (a PlaceholderWithDefault of it, [None, 8]), `final_training_ops` (a dense
              layer) and `final_result` (softmax): graph.pb, a few KB. Two variants with the
              same weights: retrain_free/ (the only input `input` is a PlaceholderWithDefault
              [1, 32, 32, 3] of zeros and the bottleneck a Reshape to [-1, 8]: nothing but the
              input pins the batch) and retrain_anysize/ (`input` [1, ?, ?, 3]: the picture size
              is not in the graph).
  hostile/    tiny with what a model from a stranger may carry (paths relative to the directory
              tfreuse is run from, so a test chooses where they point; tfreuse must refuse
              to run them, and its sandbox stop them): write/ (eval/accuracy depends on
              WriteFile pwned.txt), read/ (ReadFile secret.txt feeds dnn/hidden1/features,
              the tensor a head would branch from), saver/ (saver_def's restore op is a NoOp
              that depends on WriteFile pwned.txt), listing.pb (frozen; its logits plus the number of
              files MatchingFiles "*" finds in the directory it runs in — $HOME for most users).
  tiny_v1/    tiny saved by a V1 saver (`write_version=V1`): one tiny.ckpt file, no .index,
              as classic TF-Slim releases shipped.
Runs single-threaded with op determinism and oneDNN off, so a rerun gives the same files.
"""
import argparse
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mnist  # noqa: E402

tf1 = tf.compat.v1
tf1.disable_v2_behavior()
tf.config.experimental.enable_op_determinism()
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)


def session_config():
    return tf1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)


def dense(x, units, name, activation=None):
    """tf.layers.dense as TF1 named it: variables <name>/kernel, <name>/bias."""
    with tf1.variable_scope(name):
        kernel = tf1.get_variable("kernel", [int(x.shape[-1]), units],
                                  initializer=tf1.glorot_uniform_initializer())
        bias = tf1.get_variable("bias", [units], initializer=tf1.zeros_initializer())
        z = tf.nn.bias_add(tf.matmul(x, kernel), bias)
        return activation(z) if activation else z


def save(sess, saver, outdir, prefix):
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    os.makedirs(outdir)
    # A relative save path keeps the `checkpoint` state file machine-independent.
    cwd = os.getcwd()
    os.chdir(outdir)
    try:
        saver.save(sess, prefix)
    finally:
        os.chdir(cwd)


def train_loop(sess, name, step, x, y, data, accuracy, epochs, batch_size, rng, extra=None):
    """The fixtures' loop: a shuffled pass of minibatches per epoch, validation accuracy printed."""
    (xt, yt), (xv, yv) = data
    for epoch in range(epochs):
        perm = rng.permutation(len(xt))
        for i in range(0, len(xt), batch_size):
            idx = perm[i:i + batch_size]
            sess.run(step, feed_dict={x: xt[idx], y: yt[idx], **(extra or {})})
        a = accuracy.eval(feed_dict={x: xv, y: yv}, session=sess)
        print(f"{name} epoch {epoch} validation accuracy {a:.4f}", flush=True)


def make_mnist_dnn(data, outdir, epochs=20, batch_size=200):
    tf1.reset_default_graph()
    tf1.set_random_seed(42)
    X = tf1.placeholder(tf.float32, shape=(None, 28 * 28), name="X")
    y = tf1.placeholder(tf.int64, shape=(None), name="y")
    with tf.name_scope("dnn"):
        h = X
        for i, units in enumerate([300, 50, 50, 50, 50], start=1):
            h = dense(h, units, f"hidden{i}", tf.nn.relu)
        logits = dense(h, 10, "outputs")
    with tf.name_scope("loss"):
        xentropy = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        loss = tf.reduce_mean(xentropy, name="loss")
    with tf.name_scope("eval"):
        correct = tf1.nn.in_top_k(logits, y, 1)
        accuracy = tf.reduce_mean(tf.cast(correct, tf.float32), name="accuracy")
    optimizer = tf1.train.GradientDescentOptimizer(0.01)
    grads_and_vars = optimizer.compute_gradients(loss)
    capped = [(tf.clip_by_value(g, -1.0, 1.0), v) for g, v in grads_and_vars]
    training_op = optimizer.apply_gradients(capped)
    for op in (X, y, accuracy, training_op):
        tf1.add_to_collection("my_important_ops", op)
    init = tf1.global_variables_initializer()
    saver = tf1.train.Saver()

    rng = np.random.RandomState(42)
    with tf1.Session(config=session_config()) as sess:
        init.run()
        train_loop(sess, "mnist_dnn", training_op, X, y, (data["train"], data["validation"]), accuracy, epochs, batch_size, rng)
        save(sess, saver, outdir, "my_model_final.ckpt")


def digits(split, keep):
    x, y = split
    mask = np.isin(y, keep)
    return x[mask], y[mask]


def make_mnist04(data, outdir, max_epochs=30, patience=3, batch_size=50):
    """Exercise 8: 5x100 ELU, He init, Adam, early stopping on validation accuracy (the
    best epoch's variables are the ones saved)."""
    tf1.reset_default_graph()
    tf1.set_random_seed(42)
    X = tf1.placeholder(tf.float32, shape=(None, 28 * 28), name="X")
    y = tf1.placeholder(tf.int64, shape=(None), name="y")
    he = tf1.variance_scaling_initializer(scale=2.0, distribution="truncated_normal")
    h = X
    with tf1.variable_scope("dnn"):
        for i in range(1, 6):
            with tf1.variable_scope(f"hidden{i}"):
                kernel = tf1.get_variable("kernel", [int(h.shape[-1]), 100], initializer=he)
                bias = tf1.get_variable("bias", [100], initializer=tf1.zeros_initializer())
                h = tf.nn.elu(tf.nn.bias_add(tf.matmul(h, kernel), bias))
    logits = dense(h, 5, "outputs")
    with tf.name_scope("loss"):
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits), name="loss")
    with tf.name_scope("eval"):
        accuracy = tf.reduce_mean(tf.cast(tf1.nn.in_top_k(logits, y, 1), tf.float32), name="accuracy")
    training_op = tf1.train.AdamOptimizer(0.001).minimize(loss)
    tf1.add_to_collection("train_op", training_op)
    init = tf1.global_variables_initializer()
    saver = tf1.train.Saver()
    (xt, yt), (xv, yv) = digits(data["train"], [0, 1, 2, 3, 4]), digits(data["validation"], [0, 1, 2, 3, 4])
    rng = np.random.RandomState(42)
    best, best_values, waited = -1.0, None, 0
    variables = tf1.global_variables()
    with tf1.Session(config=session_config()) as sess:
        init.run()
        for epoch in range(max_epochs):
            perm = rng.permutation(len(xt))
            for i in range(0, len(xt), batch_size):
                idx = perm[i:i + batch_size]
                sess.run(training_op, feed_dict={X: xt[idx], y: yt[idx]})
            a = accuracy.eval(feed_dict={X: xv, y: yv}, session=sess)
            print(f"mnist04 epoch {epoch} validation accuracy {a:.4f}", flush=True)
            if a > best:
                best, best_values, waited = a, sess.run(variables), 0
            else:
                waited += 1
                if waited >= patience:
                    break
        for v, value in zip(variables, best_values):
            v.load(value, sess)
        print(f"mnist04 best validation accuracy {best:.4f}", flush=True)
        save(sess, saver, outdir, "mnist04.ckpt")


def make_conv_bn(data, outdir, epochs=2, batch_size=100):
    tf1.reset_default_graph()
    tf1.set_random_seed(7)
    with tf.name_scope("inputs"):
        pixels = tf1.placeholder(tf.float32, shape=(None, 784), name="pixels")
        labels = tf1.placeholder(tf.int32, shape=(None,), name="labels")
        is_training = tf1.placeholder_with_default(False, shape=(), name="is_training")
    with tf.name_scope("net"):
        img = tf.reshape(pixels, [-1, 28, 28, 1])
        with tf1.variable_scope("conv"):
            w = tf1.get_variable("filters", [5, 5, 1, 8],
                                 initializer=tf1.glorot_uniform_initializer())
            conv = tf.nn.conv2d(img, w, strides=[1, 2, 2, 1], padding="VALID")  # 12x12x8
        with tf1.variable_scope("bn"):
            gamma = tf1.get_variable("gamma", [8], initializer=tf1.ones_initializer())
            beta = tf1.get_variable("beta", [8], initializer=tf1.zeros_initializer())
            mov_mean = tf1.get_variable("moving_mean", [8], trainable=False,
                                        initializer=tf1.zeros_initializer())
            mov_var = tf1.get_variable("moving_variance", [8], trainable=False,
                                       initializer=tf1.ones_initializer())
            mean, var = tf.nn.moments(conv, axes=[0, 1, 2])
            decay = 0.9
            upd_mean = tf1.assign(mov_mean, decay * mov_mean + (1 - decay) * mean)
            upd_var = tf1.assign(mov_var, decay * mov_var + (1 - decay) * var)
            tf1.add_to_collection(tf1.GraphKeys.UPDATE_OPS, upd_mean)
            tf1.add_to_collection(tf1.GraphKeys.UPDATE_OPS, upd_var)
            # A blend instead of tf.cond: cond contexts serialize in set order, which would
            # make the .meta bytes differ from run to run.
            t = tf.cast(is_training, tf.float32, name="train_flag")
            m = t * mean + (1.0 - t) * mov_mean
            v = t * var + (1.0 - t) * mov_var
            bn = tf.nn.batch_normalization(conv, m, v, beta, gamma, 1e-3)
        act = tf.nn.elu(bn, name="elu")
        flat = tf.reshape(act, [-1, 12 * 12 * 8])
        feat = dense(flat, 32, "features", tf.nn.tanh)
        logits = dense(feat, 10, "logits")
    with tf.name_scope("metrics"):
        xent = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits),
            name="xent")
        acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1, output_type=tf.int32),
                                              labels), tf.float32), name="acc")
    with tf.name_scope("train"):
        with tf.control_dependencies(tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)):
            train = tf1.train.AdamOptimizer(1e-3).minimize(xent, name="step")
    init = tf1.global_variables_initializer()
    saver = tf1.train.Saver()

    xt, yt = data["train"]
    xv, yv = data["validation"]
    yt, yv = yt.astype(np.int32), yv.astype(np.int32)
    rng = np.random.RandomState(7)
    with tf1.Session(config=session_config()) as sess:
        init.run()
        train_loop(sess, "conv_bn", train, pixels, labels, ((xt, yt), (xv, yv)), acc, epochs, batch_size, rng,
                   extra={is_training: True})
        save(sess, saver, outdir, "convnet.ckpt")


def conv(x, out, name):
    """3x3 SAME convolution + bias + ReLU, variables <name>/kernel, <name>/bias."""
    with tf1.variable_scope(name):
        kernel = tf1.get_variable("kernel", [3, 3, int(x.shape[-1]), out],
                                  initializer=tf1.glorot_uniform_initializer())
        bias = tf1.get_variable("bias", [out], initializer=tf1.zeros_initializer())
        return tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, kernel, [1, 1, 1, 1], "SAME"), bias))


def tinted(x, rng):
    """MNIST rows as 32x32 RGB pictures: padded by 2, each digit in a random colour."""
    img = np.pad(x.reshape(-1, 28, 28, 1), ((0, 0), (2, 2), (2, 2), (0, 0)))
    tint = rng.uniform(0.3, 1.0, size=(len(x), 1, 1, 3)).astype(np.float32)
    return img * tint


def make_cnn_rgb(data, outdir, epochs=1, batch_size=100):
    tf1.reset_default_graph()
    tf1.set_random_seed(3)
    images = tf1.placeholder(tf.float32, shape=(None, 32, 32, 3), name="images")
    labels = tf1.placeholder(tf.int64, shape=(None,), name="labels")
    with tf1.variable_scope("cnn"):
        h = conv(images, 16, "conv1")
        h = tf.nn.max_pool2d(h, 2, 2, "VALID", name="pool1")
        h = conv(h, 32, "conv2")
        h = tf.nn.max_pool2d(h, 2, 2, "VALID", name="pool2")
        features = tf.reduce_mean(h, axis=[1, 2], name="features")
        logits = dense(features, 10, "logits")
    with tf.name_scope("loss"):
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits),
                              name="loss")
    with tf.name_scope("eval"):
        accuracy = tf.reduce_mean(tf.cast(tf1.nn.in_top_k(logits, labels, 1), tf.float32), name="accuracy")
    train = tf1.train.AdamOptimizer(3e-3).minimize(loss, name="train")
    tf1.add_to_collection("train_op", train)
    init = tf1.global_variables_initializer()
    saver = tf1.train.Saver()

    rng = np.random.RandomState(3)
    (xt, yt), (xv, yv) = data["train"], data["validation"]
    xt, xv = tinted(xt, rng), tinted(xv, rng)
    with tf1.Session(config=session_config()) as sess:
        init.run()
        train_loop(sess, "cnn_rgb", train, images, labels, ((xt, yt), (xv, yv)), accuracy, epochs, batch_size, rng)
        save(sess, saver, outdir, "cnn.ckpt")


def make_tiny(outdir, steps=50):
    tf1.reset_default_graph()
    tf1.set_random_seed(3)
    X = tf1.placeholder(tf.float32, shape=(None, 4), name="X")
    y = tf1.placeholder(tf.int64, shape=(None,), name="y")
    with tf.name_scope("dnn"):
        h = dense(X, 3, "hidden1", tf.nn.relu)
        logits = dense(h, 2, "outputs")
    with tf.name_scope("loss"):
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits), name="loss")
    with tf.name_scope("eval"):
        accuracy = tf.reduce_mean(tf.cast(tf1.nn.in_top_k(logits, y, 1), tf.float32),
                                  name="accuracy")
    training_op = tf1.train.GradientDescentOptimizer(0.1).minimize(loss)
    init = tf1.global_variables_initializer()
    saver = tf1.train.Saver()
    rng = np.random.RandomState(3)
    x = rng.randn(64, 4).astype(np.float32)
    labels = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    with tf1.Session(config=session_config()) as sess:
        init.run()
        for _ in range(steps):
            sess.run(training_op, feed_dict={X: x, y: labels})
        save(sess, saver, outdir, "tiny.ckpt")
    np.savez(os.path.join(outdir, "data.npz"), x=x, y=labels)


def hostile_tiny(variant):
    """tiny's graph (same names and variables) with variant's hostile ops in place."""
    tf1.set_random_seed(3)
    X = tf1.placeholder(tf.float32, shape=(None, 4), name="X")
    y = tf1.placeholder(tf.int64, shape=(None,), name="y")
    with tf.name_scope("dnn"):
        h = dense(X, 3, "hidden1", tf.nn.relu)
        if variant == "read":
            secret = tf.io.read_file("secret.txt", name="evil/read")
            leak = tf.cast(tf.strings.length(secret), tf.float32)
            h = tf.add(h, 0.0 * leak, name="hidden1/features")
        logits = dense(h, 2, "outputs")
    with tf.name_scope("loss"):
        tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits), name="loss")
    deps = [tf.io.write_file("pwned.txt", "pwned", name="evil/write")] if variant == "write" else []
    with tf.name_scope("eval"), tf.control_dependencies(deps):
        tf.reduce_mean(tf.cast(tf1.nn.in_top_k(logits, y, 1), tf.float32), name="accuracy")
    return logits


def make_hostile(tiny_dir, outdir):
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    for variant in ["write", "read", "saver"]:
        tf1.reset_default_graph()
        hostile_tiny(variant)
        saver = tf1.train.Saver()
        if variant == "saver":
            evil = tf.io.write_file("pwned.txt", "pwned", name="save/evil")
            with tf.control_dependencies([evil]):
                tf.no_op(name="save/restore_everything")
            saver.saver_def.restore_op_name = "save/restore_everything"
        with tf1.Session(config=session_config()) as sess:
            tf1.train.Saver().restore(sess, os.path.join(tiny_dir, "tiny.ckpt"))
            save(sess, saver, os.path.join(outdir, variant), "model.ckpt")
    tf1.reset_default_graph()
    logits = hostile_tiny("plain")
    with tf1.Session(config=session_config()) as sess:
        tf1.train.Saver().restore(sess, os.path.join(tiny_dir, "tiny.ckpt"))
        listing = tf.io.matching_files("*", name="evil/list")
        tf.add(logits, tf.cast(tf.size(listing), tf.float32), name="dnn/outputs/listed")
        gd = tf1.graph_util.convert_variables_to_constants(sess, sess.graph_def, ["dnn/outputs/listed"])
    tf.io.write_graph(gd, outdir, "listing.pb", as_text=False)


def make_frozen(tiny_dir, outdir):
    tf1.reset_default_graph()
    with tf1.Session(config=session_config()) as sess:
        saver = tf1.train.import_meta_graph(os.path.join(tiny_dir, "tiny.ckpt.meta"))
        saver.restore(sess, os.path.join(tiny_dir, "tiny.ckpt"))
        gd = tf1.graph_util.convert_variables_to_constants(sess, sess.graph_def, ["dnn/outputs/BiasAdd"])
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    tf.io.write_graph(gd, outdir, "tiny.pb", as_text=False)
    tf.io.write_graph(gd, outdir, "tiny.pbtxt", as_text=True)


def retrain_style_net(images):
    """The retrain-style fixture's conv layers: conv1 (4) → pool1 → conv2 (8) → pool2 → the mean
    of each feature map."""
    h = conv(images, 4, "conv1")
    h = tf.nn.max_pool2d(h, 2, 2, "VALID", name="pool1")
    h = conv(h, 8, "conv2")
    h = tf.nn.max_pool2d(h, 2, 2, "VALID", name="pool2")
    return tf.reduce_mean(h, axis=[1, 2])


def make_retrain_style(data, outdir, examples=3000, batch_size=50, variant=None):
    """A retrain.py graph in small: the frozen part takes one picture a run, the bottleneck
    input feeds any batch into the final layer. The conv layers are trained first (one pass
    over `examples` tinted MNIST digits, in a graph of any batch), then rebuilt as constants
    behind an input of exactly one picture, as retrain.py froze Inception. `variant`: "free"
    (a PlaceholderWithDefault input, the bottleneck reshaped to [-1, 8]) or "anysize" (input
    [1, ?, ?, 3])."""
    tf1.reset_default_graph()
    tf1.set_random_seed(5)
    rng = np.random.RandomState(5)
    xt, yt = data["train"]
    xt, yt = tinted(xt[:examples], rng), yt[:examples]
    images = tf1.placeholder(tf.float32, shape=(None, 32, 32, 3), name="images")
    labels = tf1.placeholder(tf.int64, shape=(None,), name="labels")
    logits = dense(retrain_style_net(images), 10, "logits")
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    step = tf1.train.AdamOptimizer(1e-2).minimize(loss)
    with tf1.Session(config=session_config()) as sess:
        sess.run(tf1.global_variables_initializer())
        for i in range(0, examples, batch_size):
            sess.run(step, {images: xt[i:i + batch_size], labels: yt[i:i + batch_size]})
        trained = {v.op.name: sess.run(v) for v in tf1.global_variables() if v.op.name.startswith("conv")}
    tf1.reset_default_graph()
    tf1.set_random_seed(5)
    if variant == "free":
        images = tf1.placeholder_with_default(tf.zeros([1, 32, 32, 3]), shape=(1, 32, 32, 3), name="input")
    else:
        size = None if variant == "anysize" else 32
        images = tf1.placeholder(tf.float32, shape=(1, size, size, 3), name="input")
    features = retrain_style_net(images)
    with tf.name_scope("pool"):
        bottleneck = tf.reshape(features, [-1, 8] if variant == "free" else [1, -1], name="_reshape")
    with tf.name_scope("input_1"):
        bottleneck_input = tf1.placeholder_with_default(bottleneck, shape=[None, 8], name="BottleneckInputPlaceholder")
    with tf.name_scope("final_training_ops"):
        with tf.name_scope("weights"):
            weights = tf.Variable(tf1.truncated_normal([8, 10], stddev=0.001, seed=5), name="final_weights")
        with tf.name_scope("biases"):
            biases = tf.Variable(tf.zeros([10]), name="final_biases")
        with tf.name_scope("Wx_plus_b"):
            logits = tf.add(tf.matmul(bottleneck_input, weights), biases, name="add")
    tf.nn.softmax(logits, name="final_result")
    with tf1.Session(config=session_config()) as sess:
        sess.run(tf1.global_variables_initializer())
        for v in tf1.global_variables():
            if v.op.name in trained:
                v.load(trained[v.op.name], sess)
        gd = tf1.graph_util.convert_variables_to_constants(sess, sess.graph_def, ["final_result"])
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    tf.io.write_graph(gd, outdir, "graph.pb", as_text=False)


def make_v1(tiny_dir, outdir):
    tf1.reset_default_graph()
    with tf1.Session(config=session_config()) as sess:
        tf1.train.import_meta_graph(os.path.join(tiny_dir, "tiny.ckpt.meta")).restore(sess, os.path.join(tiny_dir, "tiny.ckpt"))
        # A V1 saver of its own, as the graph would have had if written that way.
        save(sess, tf1.train.Saver(write_version=tf1.train.SaverDef.V1, name="save_v1"), outdir, "tiny.ckpt")


def make_saved_model(tiny_dir, outdir):
    tf1.reset_default_graph()
    if os.path.isdir(outdir):
        shutil.rmtree(outdir)
    with tf1.Session(config=session_config()) as sess:
        tf1.train.import_meta_graph(os.path.join(tiny_dir, "tiny.ckpt.meta")).restore(sess, os.path.join(tiny_dir, "tiny.ckpt"))
        g = sess.graph
        logits = g.get_tensor_by_name("dnn/outputs/BiasAdd:0")
        classes = tf.argmax(logits, 1, name="classes")
        sig = tf1.saved_model.predict_signature_def(inputs={"x": g.get_tensor_by_name("X:0")},
                                                    outputs={"logits": logits, "classes": classes})
        b = tf1.saved_model.Builder(outdir)
        b.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"serving_default": sig})
        b.save()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="data/mnist")
    ap.add_argument("--out", default="fixtures")
    ap.add_argument("--only", choices=["mnist_dnn", "mnist04", "conv_bn", "cnn_rgb", "tiny", "tiny_frozen", "tiny_v1", "tiny_saved_model", "retrain_style", "hostile"])
    args = ap.parse_args()
    data = None
    if args.only in (None, "mnist_dnn", "mnist04", "conv_bn", "cnn_rgb", "retrain_style"):
        data = mnist.read_data_sets(args.data)
    if args.only in (None, "tiny"):
        make_tiny(os.path.join(args.out, "tiny"))
    if args.only in (None, "tiny", "tiny_frozen"):
        make_frozen(os.path.join(args.out, "tiny"), os.path.join(args.out, "tiny_frozen"))
    if args.only in (None, "tiny", "tiny_saved_model"):
        make_saved_model(os.path.join(args.out, "tiny"), os.path.join(args.out, "tiny_saved_model"))
    if args.only in (None, "tiny", "tiny_v1"):
        make_v1(os.path.join(args.out, "tiny"), os.path.join(args.out, "tiny_v1"))
    if args.only in (None, "tiny", "hostile"):
        make_hostile(os.path.join(args.out, "tiny"), os.path.join(args.out, "hostile"))
    if args.only in (None, "retrain_style"):
        make_retrain_style(data, os.path.join(args.out, "retrain_style"))
        for variant in ["free", "anysize"]:
            make_retrain_style(data, os.path.join(args.out, f"retrain_{variant}"), variant=variant)
    if args.only in (None, "conv_bn"):
        make_conv_bn(data, os.path.join(args.out, "conv_bn"))
    if args.only in (None, "cnn_rgb"):
        make_cnn_rgb(data, os.path.join(args.out, "cnn_rgb"))
    if args.only in (None, "mnist_dnn"):
        make_mnist_dnn(data, os.path.join(args.out, "mnist_dnn"))
    if args.only in (None, "mnist04"):
        make_mnist04(data, os.path.join(args.out, "mnist04"))


if __name__ == "__main__":
    main()
