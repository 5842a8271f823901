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
rm -rf frontend/dist
mkdir -p frontend/dist
wasm-bindgen --target web --no-typescript --out-dir frontend/dist/pkg --out-name cirhub_frontend \
  target/wasm32-unknown-unknown/release/cirhub_frontend.wasm
# Shrink the bundle with binaryen's wasm-opt from npm (Debian's older wasm-opt breaks the
# page); kept under target/ like every other build product.
tools="target/tools"
binaryen=132.0.0
if [ ! -x "$tools/node_modules/.bin/wasm-opt" ] || ! grep -q "\"version\": \"$binaryen\"" "$tools/node_modules/binaryen/package.json" 2>/dev/null; then
  npm install --silent --no-audit --no-fund --prefix "$tools" "binaryen@$binaryen"
fi
"$tools/node_modules/.bin/wasm-opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  frontend/dist/pkg/cirhub_frontend_bg.wasm -o frontend/dist/pkg/cirhub_frontend_bg.wasm
cp frontend/index.html frontend/style.css frontend/boot.js frontend/dist/
echo "build-frontend: frontend/dist ready ($(du -sh frontend/dist/pkg/cirhub_frontend_bg.wasm | cut -f1) wasm)"
