#!/usr/bin/env bash
# Installs what cirhub needs on a Debian machine, idempotently: a second run installs nothing
# and takes well under a second.
#   scripts/setup.sh run    what building and running needs (libpq for the PostgreSQL driver)
#   scripts/setup.sh test   plus Chromium, chromedriver, a PostgreSQL server, curl and the
#                           API fuzzer (schemathesis) and the OASIS TAXII client and STIX
#                           validator and MISP client (taxii2-client, stix2-validator, pymisp), in a virtualenv under
#                           target/tools/venv
#   scripts/setup.sh bench  plus wrk, nginx, curl, and the TAXII client and medallion (the OASIS
#                           reference TAXII server) in the virtualenv
#   scripts/setup.sh all    everything above
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-test}"

packages=(libpq-dev pkg-config)
python_tools=()
cargo_tools=()
case "$mode" in
  run) ;;
  test) packages+=(chromium chromium-driver fonts-dejavu-core postgresql curl openssl)
        python_tools+=("schemathesis==4.32.5" "aiosmtpd==1.4.6" "taxii2-client==2.3.0" "stix2-validator==3.2.0" "pymisp==2.5.34.4") ;;
  bench) packages+=(wrk nginx-light curl libssl-dev)
         python_tools+=("taxii2-client==2.3.0" "medallion==3.0.0")
         cargo_tools+=("oha==1.16.0") ;;
  all) packages+=(chromium chromium-driver fonts-dejavu-core postgresql wrk nginx-light curl openssl libssl-dev)
       cargo_tools+=("oha==1.16.0")
       python_tools+=("schemathesis==4.32.5" "aiosmtpd==1.4.6" "taxii2-client==2.3.0" "stix2-validator==3.2.0"
                      "pymisp==2.5.34.4" "medallion==3.0.0") ;;
  *) echo "usage: scripts/setup.sh [run|test|bench|all]" >&2; exit 2 ;;
esac

venv="target/tools/venv"
# A virtualenv keeps the Python tools off the system interpreter (Debian's python3 refuses
# global pip installs); creating one needs ensurepip, which Debian ships in python3-venv.
if ((${#python_tools[@]})) && [ ! -x "$venv/bin/python" ] && ! python3 -c 'import ensurepip' 2>/dev/null; then
  packages+=(python3-venv)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  $sudo_cmd env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python tools, pinned.
for t in "${python_tools[@]}"; do
  name="${t%%==*}" version="${t##*==}"
  have="$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$name'))" 2>/dev/null || true)"
  [ "$have" = "$version" ] && continue
  echo "setup: installing $t into $venv"
  [ -x "$venv/bin/python" ] || { rm -rf "$venv"; python3 -m venv "$venv"; }
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "$t"
done

# Rust tools, pinned, into target/tools/bin. oha with native-tls: its default TLS backend
# needs cmake to build, and the benchmarks speak plain HTTP anyway.
for t in "${cargo_tools[@]}"; do
  name="${t%%==*}" version="${t##*==}"
  "target/tools/bin/$name" --version 2>/dev/null | grep -qF "$version" && continue
  echo "setup: installing $t into target/tools"
  cargo install -q --locked --root target/tools --no-default-features --features native-tls \
    "$name" --version "$version"
done
exit 0
