#!/usr/bin/env bash
# Installs what cirhub needs on a Debian machine, idempotently: a second run installs nothing.
#   scripts/setup.sh run    what building and running needs (libpq for the PostgreSQL driver)
#   scripts/setup.sh test   plus Chromium, chromedriver and a PostgreSQL server
#   scripts/setup.sh bench  plus wrk and nginx
set -euo pipefail
mode="${1:-test}"

packages=(libpq-dev pkg-config)
case "$mode" in
  run) ;;
  test) packages+=(chromium chromium-driver fonts-dejavu-core postgresql curl) ;;
  bench) packages+=(wrk nginx-light curl) ;;
  all) packages+=(chromium chromium-driver fonts-dejavu-core postgresql wrk nginx-light curl) ;;
  *) echo "usage: scripts/setup.sh [run|test|bench|all]" >&2; exit 2 ;;
esac

# Python tools, pinned (the API fuzzer of the test suite).
python_tools=()
case "$mode" in test|all) python_tools+=("schemathesis==4.32.5") ;; esac
for t in "${python_tools[@]}"; do
  name="${t%%==*}" version="${t##*==}"
  [ "$(python3 -m pip show "$name" 2>/dev/null | awk '/^Version:/ {print $2}')" = "$version" ] ||
    python3 -m pip install -q --disable-pip-version-check "$t"
done

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
