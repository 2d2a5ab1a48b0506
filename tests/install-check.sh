#!/usr/bin/env bash
# make install-check: tfreuse installed the ways people install it, each run from a temp dir
# with TENSORFLOW_DIR unset, finding libtensorflow on its own:
#   the wheel (make wheel) in a fresh venv that holds TensorFlow -> the venv's own TensorFlow;
#   cargo install --path . with python3 on PATH having TensorFlow -> python3's.
# Both reuse the release build (a relink at most). `make test` runs this before the
# integration tests, never beside them: these builds replace target/release/tfreuse, which
# the integration tests run (built with test-hooks).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "install-check: $*" >&2; exit 1; }
meta=$root/fixtures/tiny/tiny.ckpt.meta
data=npz:$root/fixtures/tiny/data.npz
# Run as a user would: outside the checkout, no TENSORFLOW_DIR, PATH=$1.
bare() { (cd "$tmp" && env -u TENSORFLOW_DIR -u LD_LIBRARY_PATH PATH="$1" TF_ENABLE_ONEDNN_OPTS=0 "${@:2}"); }

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -1)
wheel=$(ls -t "$root"/target/wheels/tfreuse-"$version"-*.whl | head -1)
"$root/.venv/bin/python" - "$wheel" <<'PY' || fail "the wheel's METADATA does not require tensorflow-cpu==2.21.0"
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
sys.exit(0 if "Requires-Dist: tensorflow-cpu==2.21.0" in z.read(meta).decode().splitlines() else 1)
PY

# 1. The wheel in a fresh venv. TensorFlow is linked in from the project venv rather than
# downloaded again (libtensorflow_cc.so.2 needs only the framework library beside it).
"$root/.venv/bin/python" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --no-deps --disable-pip-version-check "$wheel"
tf=$(cd "$root"/.venv/lib/python3.*/site-packages/tensorflow && pwd -P)
ln -s "$tf" "$(echo "$tmp"/venv/lib/python3.*/site-packages)/tensorflow"
# (Output kept whole first: grep -q stopping early would fail the pipeline under pipefail.)
out=$(bare /usr/bin:/bin "$tmp/venv/bin/tfreuse" inspect --meta "$meta")
grep -q '^operations:' <<<"$out" || fail "wheel: inspect printed $out"
got=$(bare /usr/bin:/bin "$tmp/venv/bin/tfreuse" eval --meta "$meta" --data "$data" --split all)
want=$(TENSORFLOW_DIR=$tf TF_ENABLE_ONEDNN_OPTS=0 "$target/release/tfreuse" eval --meta "$meta" --data "$data" --split all 2>/dev/null)
[ "$got" = "$want" ] || fail "wheel: eval printed '$got', the release build '$want'"
echo "install-check: the wheel in a venv finds its TensorFlow; eval: ${got%%$'\n'*}"

# 2. cargo install, then python3 on PATH is the one with TensorFlow.
CARGO_TARGET_DIR=$target cargo install --quiet --locked --path "$root" --root "$tmp/cargo"
out=$(bare "$root/.venv/bin:/usr/bin:/bin" "$tmp/cargo/bin/tfreuse" inspect --meta "$meta")
grep -q '^operations:' <<<"$out" || fail "cargo install: inspect printed $out"
# With TensorFlow nowhere, the error names where it looked.
if bare /usr/bin:/bin "$tmp/cargo/bin/tfreuse" inspect --meta "$meta" >/dev/null 2>"$tmp/err"; then
	fail "cargo install: found a TensorFlow with none on PATH"
fi
grep -q 'libtensorflow not found.*the install prefix' "$tmp/err" || fail "cargo install: $(cat "$tmp/err")"
echo "install-check: cargo install finds python3's TensorFlow"
