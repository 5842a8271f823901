#!/usr/bin/env bash
# Builds the WebAssembly frontend into frontend/dist (index.html, style.css, pkg/).
# Installs, when missing, the wasm32 target and the wasm-bindgen CLI of exactly the version
# the frontend links (read from Cargo.lock: the two must match).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
want="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$want" ]; then
  echo "build-frontend: installing wasm-bindgen-cli $want"
  cargo install wasm-bindgen-cli --version "$want"
fi

cargo build -p cirhub-frontend --target wasm32-unknown-unknown --release
# Assembled beside dist/ and swapped in at the end, so a running server never serves half a build.
stage="target/frontend-dist.new"
rm -rf "$stage"
mkdir -p "$stage"
wasm-bindgen --target web --no-typescript --out-dir "$stage/pkg" --out-name cirhub_frontend \
  target/wasm32-unknown-unknown/release/cirhub_frontend.wasm
# Shrink the bundle with binaryen's wasm-opt from npm (Debian's older wasm-opt breaks the
# page); kept under target/ like every other build product. Without npm the unshrunk bundle
# is kept: it works the same, only larger.
tools="target/tools"
binaryen=132.0.0
wasm="$stage/pkg/cirhub_frontend_bg.wasm"
if [ ! -x "$tools/node_modules/.bin/wasm-opt" ] || ! grep -q "\"version\": \"$binaryen\"" "$tools/node_modules/binaryen/package.json" 2>/dev/null; then
  if command -v npm >/dev/null; then
    npm install --silent --no-audit --no-fund --prefix "$tools" "binaryen@$binaryen"
  fi
fi
if [ -x "$tools/node_modules/.bin/wasm-opt" ]; then
  "$tools/node_modules/.bin/wasm-opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    "$wasm" -o "$wasm"
else
  echo "build-frontend: npm not found, wasm left unoptimised (install nodejs and npm to shrink it)" >&2
fi
cp frontend/index.html frontend/style.css frontend/boot.js "$stage/"
rm -rf frontend/dist
mv "$stage" frontend/dist
echo "build-frontend: frontend/dist ready ($(du -sh frontend/dist/pkg/cirhub_frontend_bg.wasm | cut -f1) wasm)"
