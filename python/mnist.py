"""MNIST the way TF1's `input_data.read_data_sets` read it: IDX gzip, pixels float32 in
[0, 1] (times 1/255), int64 labels, validation = the first 5 000 training images."""
import gzip
import os

import numpy as np


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def read_data_sets(directory, validation_size=5000):
    def images(name):
        raw = _read_idx(os.path.join(directory, name))
        x = raw.reshape(raw.shape[0], -1).astype(np.float32)
        return np.multiply(x, 1.0 / 255.0)

    def labels(name):
        return _read_idx(os.path.join(directory, name)).astype(np.int64)

    tx, ty = images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz")
    return {
        "train": (tx[validation_size:], ty[validation_size:]),
        "validation": (tx[:validation_size], ty[:validation_size]),
        "test": (images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz")),
    }
