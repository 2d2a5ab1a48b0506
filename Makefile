# tfreuse — everything a fresh machine needs, installed idempotently.
#   make demo   the main job on the bundled fixtures and real MNIST
#   make test   unit + integration tests (Python TF is the oracle)
# Other targets: setup, data, build, wheel, install-check, package, bench, bench-slim, bench-accuracy, fuzz, fixtures, slim-graphs, reference, man, clean.

PYTHON  ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
BSTAMP  := $(VENV)/.installed-build
TSTAMP  := $(VENV)/.installed-test
MNIST   := data/mnist/train-images-idx3-ubyte.gz
BIN     := target/release/tfreuse
META    := fixtures/mnist_dnn/my_model_final.ckpt.meta
# Same oneDNN setting on both sides of every exact comparison.
export TF_ENABLE_ONEDNN_OPTS := 0

.PHONY: setup data build wheel package install-check demo test bench bench-images bench-slim bench-accuracy bench-few-labels bench-defaults bench-dist fuzz fixtures slim-graphs protos reference man clean

setup: $(STAMP) data build

$(STAMP): python/requirements.txt
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r python/requirements.txt
	touch $@

data: $(MNIST)

$(MNIST): python/fetch_mnist.py $(STAMP)
	$(VPY) python/fetch_mnist.py data/mnist
	touch $@

build:
	cargo build --release --quiet

# maturin (python/requirements-build.txt) only for the wheel.
$(BSTAMP): python/requirements-build.txt $(STAMP)
	$(VPY) -m pip install --quiet --disable-pip-version-check -r python/requirements-build.txt
	touch $@

# TF-Slim (python/requirements-test.txt) only for the tests and slim-graphs. --no-deps: tf-keras
# names the `tensorflow` wheel, which tensorflow_cpu already is.
$(TSTAMP): python/requirements-test.txt $(STAMP)
	$(VPY) -m pip install --quiet --disable-pip-version-check --no-deps -r python/requirements-test.txt
	touch $@

# The binary as a Python wheel in target/wheels/ (pyproject.toml). Same profile and features
# as `make build`, so it reuses that build and only links again.
wheel: $(BSTAMP)
	$(VENV)/bin/maturin build --locked --out target/wheels

# The wheel in a fresh venv and `cargo install`, each finding libtensorflow with nothing set
# (tests/install-check.sh; about a minute after `make build`).
install-check: build wheel
	tests/install-check.sh

# The crate as crates.io would get it (target/package/); its verify step builds the packaged
# copy in the dev profile, which no other target builds: all dependencies the first time (far
# over half an hour on 2 busy cores). Wants committed changes (cargo package refuses a dirty tree).
package:
	cargo package --locked

demo: setup
	@echo "== inspect: what the book's model holds"
	$(BIN) inspect --meta $(META)
	@echo
	@echo "== tfreuse eval: MNIST test accuracy of the restored model"
	$(BIN) eval --meta $(META) --data mnist:data/mnist --split test
	@echo
	@echo "== the same with Python TF1 (import_meta_graph + restore), for comparison"
	$(VPY) python/oracle.py eval --meta $(META) --data mnist:data/mnist --split test \
		--fetch eval/accuracy:0 --fetch loss/loss:0 2>/dev/null
	@echo
	@echo "== transfer: new layers on dnn/hidden4/Relu:0, hidden1-2 frozen and cached"
	$(BIN) train --meta $(META) --data mnist:data/mnist --branch-from dnn/hidden4/Relu:0 \
		--new-layers 20:relu,10 --freeze-below dnn/hidden2/Relu:0 --cache-frozen --epochs 5 \
		--out runs/my_new_model_final.ckpt --force
	@echo
	@echo "== Python TF1 loads the saved model back"
	$(VPY) python/oracle.py eval --meta runs/my_new_model_final.ckpt.meta --data mnist:data/mnist \
		--split test --fetch new_eval/accuracy:0 --fetch new_loss/loss:0 2>/dev/null

# Formatting and lints first (cheap), then every test; `test-hooks` lets the fault tests pause
# the binary at each step of a save. maturin: tests/it/install.rs builds the wheel.
test: setup $(BSTAMP) $(TSTAMP)
	cargo fmt --check
	cargo clippy --release --all-targets --features test-hooks --quiet -- -D warnings
	$(MAKE) --no-print-directory install-check
	cargo test --release --features test-hooks

# tfreuse vs the Python TF1 loop on this machine, both as a user gets them (no flags, no TF_ENABLE_ONEDNN_OPTS),
# and with --jit off or oneDNN off (medians, ratios; bench-results/bench.json).
bench: setup
	$(VPY) python/bench.py --repeats 7 --epochs 3

# Feature extraction for 10 000 64x64 JPEGs through fixtures/cnn_rgb up to cnn/pool2: retrain.py's
# per-picture loop, a tf.data pipeline, tfreuse with a cold and a warm --cache-dir, with oneDNN on
# (the wheel's default) and off (bench-results/bench_images_onednn_*.json).
bench-images: setup
	$(VPY) python/bench_images.py --count 10000 --repeats 3 --onednn on
	$(VPY) python/bench_images.py --count 10000 --repeats 3 --onednn off

# TF-Slim's inception_v3 at 299x299 on 160 JPEGs (random weights, made once under
# bench-results/slim): extraction up to PreLogits by retrain.py's way, tf.data, tfreuse and TF's own
# kernel time as the limit; fine-tuning Mixed_7c against Python's TF-Slim loop, with and without
# the cache; oneDNN off on every side (bench-results/bench_slim.json; docs/benchmarks.md).
bench-slim: setup $(TSTAMP)
	$(VPY) python/bench_slim.py --count 160 --repeats 3 --epochs 3

# The book's transfer experiments, 20 epochs each (bench-results/recipes.json).
bench-accuracy: setup
	$(VPY) python/bench_recipes.py --epochs 20

# Few labels (the book's exercise 9): digits 5-9, 100 labels per digit, reusing fixtures/mnist04,
# from scratch, every sweep candidate and autoencoder pretraining, over 3 seeds
# (bench-results/few_labels.json).
bench-few-labels: setup
	$(VPY) python/bench_few_labels.py --seeds 1,2,3

# What the defaults learn on small data against the book's settings and hand-tuned ones
# (bench-results/defaults.json; docs/defaults.md).
bench-defaults: setup
	$(VPY) python/bench_defaults.py --seeds 1,2,3

# TF's distributed runtime on loopback: examples/s of one process, 1 ps + 1 worker, 1 ps + 2
# workers (asynchronous and --sync), bytes moved per step (bench-results/bench_dist.json).
bench-dist: setup
	$(VPY) python/bench_dist.py --repeats 3 --epochs 2

# Fuzz the decoders (needs `cargo install cargo-fuzz`; the stable toolchain is enough).
FUZZ_SECONDS ?= 600
fuzz:
	cd fuzz && for t in metagraph graphdef savedmodel checkpoint_state idx npz picture table segment manifest archive trust_record; do \
		RUSTC_BOOTSTRAP=1 cargo fuzz run -O $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 || exit 1; \
	done

# Regenerate the committed fixtures with real TensorFlow (deterministic; ~1 minute).
fixtures: $(STAMP) data
	$(VPY) python/make_ckpt.py --data data/mnist --out fixtures
	$(VPY) python/make_tf2.py --out fixtures

# The graphs of TF-Slim's classifiers (src/slim/graphs), built by TF-Slim itself, no weights
# (deterministic; ~20 s). The binary embeds them: `--arch NAME`.
slim-graphs: $(TSTAMP)
	$(VPY) python/make_slim.py --out src/slim/graphs

# Print TF's .proto files back from the pinned wheel's descriptors into proto/ (build.rs compiles them).
protos: $(STAMP)
	rm -rf proto/tensorflow proto/xla
	$(VPY) python/dump_protos.py proto

# The command and flag reference, printed from the clap definitions (tests/it/reference.rs checks it).
reference: build
	$(BIN) reference > docs/reference.md.tmp || { rm -f docs/reference.md.tmp; exit 1; }
	mv docs/reference.md.tmp docs/reference.md

# The man pages, written by the binary from the same definitions (tests/it/reference.rs checks them).
man: build
	$(BIN) man docs/man

clean:
	cargo clean
	rm -rf $(VENV) data
