#!/bin/sh
# Makes the pictures of docs/tensorboard.md: a plan drawn by `inspect --draw`, and TensorBoard
# showing two tfreuse runs, photographed by headless Chromium (Debian's `chromium` package). Run from the
# repository root after `make setup` and `cargo build --release`; takes about a minute.
set -eu
bin=target/release/tfreuse
meta=fixtures/mnist_dnn/my_model_final.ckpt.meta
export TF_ENABLE_ONEDNN_OPTS=0
$bin inspect --meta $meta --draw docs/plan.png \
  --branch-from dnn/hidden4/Relu:0 --new-layers 10 --freeze-below dnn/hidden2/Relu:0 --cache-frozen
tmp=$(mktemp -d)
trap 'kill $board 2>/dev/null || true; rm -rf "$tmp"' EXIT
for lr in 0.01 0.05; do
  $bin train --meta $meta --branch-from dnn/hidden4/Relu:0 --new-layers 10 --epochs 5 --lr $lr \
    --logdir "$tmp/tb" --run-name "lr-$lr" --histograms --log-every 50 2>/dev/null
done
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
.venv/bin/tensorboard --logdir "$tmp/tb" --host 127.0.0.1 --port "$port" --load_fast false >/dev/null 2>&1 &
board=$!
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$port/data/runs" | grep -q lr-0.05 && break; sleep 1; done
chromium --headless --no-sandbox --disable-quic --use-angle=swiftshader --enable-unsafe-swiftshader --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$tmp/chrome" --hide-scrollbars \
  --window-size=1400,900 --virtual-time-budget=15000 --screenshot=docs/tensorboard.png \
  "http://127.0.0.1:$port/#scalars&tagFilter=epoch%2F(train_loss|validation)" 2>/dev/null
echo "docs/plan.png, docs/tensorboard.png"
