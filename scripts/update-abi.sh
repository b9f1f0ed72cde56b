#!/bin/sh
# SPDX-License-Identifier: MIT
# Record the shared library's ABI in abi/libcma.abi (abigail-tools' abidw),
# the reference the `abi` test compares each build with. Run it after a
# deliberate change of the public API (doc/abi.md) and commit the dump.
# Usage: scripts/update-abi.sh [BUILD-DIR]   (default: build; built first)
set -eu
cd "$(dirname "$0")/.."
build=${1:-build}
scripts/deps.sh abigail-tools
[ -d "$build" ] || meson setup "$build" >/dev/null
ninja -C "$build" >/dev/null
mkdir -p abi
abidw --no-corpus-path --no-comp-dir-path --short-locs \
	--drop-private-types --headers-dir include \
	--out-file abi/libcma.abi.tmp "$build/lib/libcma.so.1"
mv abi/libcma.abi.tmp abi/libcma.abi
echo "abi/libcma.abi: $(grep -c "<elf-symbol name='cm_" abi/libcma.abi) functions"
