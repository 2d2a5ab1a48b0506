"""Accuracy benchmark: the book's transfer experiments, 20 epochs each on real MNIST,
run through `tfreuse train`; prints a table against the book's validation figures.

    python python/bench_recipes.py [--epochs 20] [--bin target/release/tfreuse]
Writes bench-results/recipes.json. Not a CI test (it takes a few minutes).
"""
import argparse
import json
import os
import subprocess
import tempfile

META = "fixtures/mnist_dnn/my_model_final.ckpt.meta"
BRANCH = ["--branch-from", "dnn/hidden3/Relu:0", "--new-layers", "20:relu,10"]
RECIPES = [
    ("keep training the imported graph (its own train op)", [], 97.1),
    ("new hidden4 on dnn/hidden3/Relu:0", BRANCH, 96.8),
    ("restore hidden[123] only", BRANCH + ["--restore", "hidden[123]"], 96.8),
    ("freeze hidden1-2 via var_list", BRANCH + ["--restore", "hidden[123]", "--trainable", "hidden3|new_"], 96.0),
    ("freeze hidden1-2 via stop_gradient", BRANCH + ["--restore", "hidden[123]", "--freeze-below", "dnn/hidden2/Relu:0"], 95.8),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--bin", default="target/release/tfreuse")
    a = ap.parse_args()
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, extra, book) in enumerate(RECIPES):
            log = os.path.join(tmp, f"{i}.jsonl")
            cmd = [a.bin, "train", "--meta", META, "--data", "mnist:data/mnist", "--defaults", "book", "--epochs", str(a.epochs),
                   "--json", log] + extra
            subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            events = [json.loads(l) for l in open(log)]
            epochs = [e for e in events if e["event"] == "epoch"]
            val = 100 * epochs[-1]["metric"]
            secs = sum(e["seconds"] for e in epochs)
            rows.append({"recipe": name, "flags": " ".join(extra), "validation": val, "book": book,
                         "delta": val - book, "seconds": secs})
            print(f"{name:55s} {val:6.2f}%  (book {book:.1f}%, {val - book:+.2f})  {secs:.1f}s", flush=True)
    os.makedirs("bench-results", exist_ok=True)
    with open("bench-results/recipes.json", "w") as f:
        json.dump(rows, f, indent=1)
    print("\n| recipe | tfreuse flags | validation | book | Δ |\n|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['recipe']} | `{r['flags'] or '(none)'}` | {r['validation']:.2f} % | {r['book']:.1f} % | {r['delta']:+.2f} |")


if __name__ == "__main__":
    main()
