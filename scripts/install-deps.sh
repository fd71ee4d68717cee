#!/usr/bin/env bash
# Install what building and testing syslog-relay needs on Debian 12 (as root).
# Skips apt entirely when everything is already there.
set -euo pipefail
pkgs=(
  build-essential cmake pkg-config clang libclang-rt-14-dev
  libuv1-dev libssl-dev libpcre2-dev libmsgpack-dev check libyaml-dev
  libcurl4-openssl-dev zlib1g-dev tzdata ca-certificates openssl
  bsdutils util-linux procps iproute2 curl socat netcat-openbsd python3
  redis-server haproxy syslog-ng-core
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
