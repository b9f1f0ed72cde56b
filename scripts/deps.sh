#!/bin/sh
# SPDX-License-Identifier: MIT
# Install, with apt-get, whatever the build and tests need and is missing.
set -eu
# Usage: deps.sh [--peers] [PACKAGE...]; --peers adds what a -Dpeers=enabled
# build needs (bench/peers: C++ and the systems libcma is compared with).
need="meson ninja-build pkg-config gcc libc6-dev libxxhash-dev check python3 scdoc libdw-dev"
peers="g++ capnproto libcapnp-dev flatbuffers-compiler libflatbuffers-dev libboost-dev"
if [ "${1:-}" = --peers ]; then
	need="$need $peers"
	shift
fi
[ $# -gt 0 ] && need="$need $*"
missing=""
for p in $need; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing:$missing" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
