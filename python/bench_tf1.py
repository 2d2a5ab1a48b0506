"""Python TF1 reference loops for `make bench`, written the way the book writes them
(feed_dict, sess.run(training_op)). Events go to --json as JSON lines, like tfreuse's.

    python python/bench_tf1.py --mode full|stop_gradient|cached|matmul --epochs N --json LOG [--jit]
"""
import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# As tfreuse: lets --jit (a session's global_jit_level) reach the CPU; no effect otherwise.
os.environ.setdefault("TF_XLA_FLAGS", "--tf_xla_cpu_global_jit")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mnist  # noqa: E402

tf1 = tf.compat.v1
tf1.disable_v2_behavior()
META = "fixtures/mnist_dnn/my_model_final.ckpt.meta"
CKPT = "fixtures/mnist_dnn/my_model_final.ckpt"


def dense(x, units, name, activation=None):
    with tf1.variable_scope(name):
        k = tf1.get_variable("kernel", [int(x.shape[-1]), units], initializer=tf1.glorot_uniform_initializer())
        b = tf1.get_variable("bias", [units], initializer=tf1.zeros_initializer())
        z = tf.nn.bias_add(tf.matmul(x, k), b)
        return activation(z) if activation else z


def transfer_graph():
    """The book's frozen-layers model: hidden1-3 reused, stop_gradient on hidden2, new
    hidden4 (20) and outputs; restore hidden[123] only."""
    X = tf1.placeholder(tf.float32, shape=(None, 784), name="X")
    y = tf1.placeholder(tf.int64, shape=(None), name="y")
    with tf.name_scope("dnn"):
        hidden1 = dense(X, 300, "hidden1", tf.nn.relu)
        hidden2 = dense(hidden1, 50, "hidden2", tf.nn.relu)
        hidden2_stop = tf.stop_gradient(hidden2)
        hidden3 = dense(hidden2_stop, 50, "hidden3", tf.nn.relu)
        hidden4 = dense(hidden3, 20, "new_hidden4", tf.nn.relu)
        logits = dense(hidden4, 10, "new_outputs")
    with tf.name_scope("loss"):
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
    training_op = tf1.train.GradientDescentOptimizer(0.01).minimize(loss)
    reuse_vars = tf1.get_collection(tf1.GraphKeys.GLOBAL_VARIABLES, scope="hidden[123]")
    return X, y, hidden2, training_op, tf1.train.Saver(reuse_vars)


def emit(log, **event):
    log.write(json.dumps(event) + "\n")
    log.flush()


def train(mode, epochs, batch_size, log, jit=False):
    data = mnist.read_data_sets("data/mnist")
    X_train, y_train = data["train"]
    if mode == "full":
        saver = tf1.train.import_meta_graph(META)
        g = tf1.get_default_graph()
        X, y = g.get_tensor_by_name("X:0"), g.get_tensor_by_name("y:0")
        training_op = g.get_operation_by_name("GradientDescent")
        restore = lambda s: saver.restore(s, CKPT)  # noqa: E731
    else:
        X, y, hidden2, training_op, restore_saver = transfer_graph()
        init = tf1.global_variables_initializer()
        restore = lambda s: (init.run(), restore_saver.restore(s, CKPT))  # noqa: E731
    first = True
    config = tf1.ConfigProto()
    if jit:
        config.graph_options.optimizer_options.global_jit_level = tf1.OptimizerOptions.ON_1
    with tf1.Session(config=config) as sess:
        restore(sess)
        feed_x, inputs = X, X_train
        if mode == "cached":
            t0 = time.time()
            inputs = sess.run(hidden2, feed_dict={X: X_train})
            feed_x = hidden2
            emit(log, event="cache", seconds=time.time() - t0)
        n = len(inputs)
        for epoch in range(epochs):
            t0 = time.time()
            perm = np.random.permutation(n)
            for i in range(0, n, batch_size):
                idx = perm[i:i + batch_size]
                sess.run(training_op, feed_dict={feed_x: inputs[idx], y: y_train[idx]})
                if first:
                    emit(log, event="first_step", unix_time=time.time())
                    first = False
            emit(log, event="epoch", epoch=epoch + 1, train_seconds=time.time() - t0)


def matmul(log, n=2048, reps=20):
    """TF's own large-MatMul throughput on this machine: the practical limit."""
    a = tf1.placeholder(tf.float32, (n, n))
    c = tf.reduce_sum(tf.matmul(a, a))
    x = np.random.rand(n, n).astype(np.float32)
    with tf1.Session() as s:
        s.run(c, {a: x})
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            s.run(c, {a: x})
            times.append(time.perf_counter() - t0)
    emit(log, event="matmul", gflops=2 * n ** 3 / sorted(times)[len(times) // 2] / 1e9)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True, choices=["full", "stop_gradient", "cached", "matmul"])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=200)
    ap.add_argument("--json", required=True)
    ap.add_argument("--jit", action="store_true", help="compile with XLA (global_jit_level ON_1)")
    a = ap.parse_args()
    with open(a.json, "w") as log:
        if a.mode == "matmul":
            matmul(log)
        else:
            train(a.mode, a.epochs, a.batch_size, log, a.jit)


if __name__ == "__main__":
    main()
