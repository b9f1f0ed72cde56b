#!/bin/sh
# SPDX-License-Identifier: MIT
# Install what is missing, then configure ./build unless it already is:
# the README's two commands may run in either order, or again.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
[ -f build/build.ninja ] || meson setup build "$@"
