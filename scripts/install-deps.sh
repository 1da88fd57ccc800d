#!/usr/bin/env bash
# Install the Debian packages switchyard needs, only those that are missing.
# Usage: scripts/install-deps.sh [build|test|bench]   (each level includes the previous)
#        scripts/install-deps.sh package                (build + what `make package` needs)
# gnuplot-nox (build) renders the charts of `switchyard sim --report`; chromium,
# chromium-driver and python3-selenium (test) run the dashboard's browser tests.
set -euo pipefail
level=${1:-build}

pkgs=(build-essential cmake pkg-config libevent-dev libcurl4-openssl-dev liblmdb-dev
      libcjson-dev libgsl-dev libpcre2-dev libhiredis-dev libhnswlib-dev curl jq gnuplot-nox)
if [ "$level" = test ] || [ "$level" = bench ]; then
  pkgs+=(libcmocka-dev python3 python3-pytest python3-requests clang redis-server)
  # the dashboard's browser tests (tests/integration/test_dashboard_browser.py)
  pkgs+=(chromium chromium-driver python3-selenium)
fi
if [ "$level" = bench ]; then
  pkgs+=(wrk nginx-light valgrind strace openssl)
fi
# dpkg-shlibdeps (dpkg-dev) computes the .deb's Depends; file is used by CPack.
if [ "$level" = package ]; then
  pkgs+=(dpkg-dev file)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm only matter for the SDK tests; any installation of them will do.
if [ "$level" != build ] && [ "$level" != package ] && ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
