#!/bin/sh
# SPDX-License-Identifier: MIT
# The shared library's ABI is the one recorded in abi/libcma.abi: abidiff
# (abigail-tools) finds no change. Exits 77 (skipped) without abidiff or
# without debug information to compare.
# Usage: check-abi.sh LIBCMA.SO SOURCE-ROOT
set -u
lib=$1
root=$2
if ! command -v abidiff >/dev/null 2>&1; then
	echo "abidiff not installed (Debian: abigail-tools): skipped"
	exit 77
fi
if ! readelf -S "$lib" | grep -q '\.debug_info'; then
	echo "$lib has no debug information: skipped"
	exit 77
fi
out=$(abidiff --headers-dir2 "$root/include" "$root/abi/libcma.abi" \
	"$lib" 2>&1)
status=$?
printf '%s\n' "$out"
# A dump abidiff cannot read may still give status 0: require its summary.
if [ $status -eq 0 ] && ! printf '%s\n' "$out" |
	grep -q '^Functions changes summary: 0 Removed, 0 Changed.*0 Added'; then
	status=1
fi
# abidiff's status is a bit set: 1 error, 2 usage, 4 change, 8 break.
if [ $status -eq 0 ]; then
	echo "1 passed, 0 failed"
	exit 0
fi
if [ $((status & 8)) -ne 0 ]; then
	echo "the ABI is broken against abi/libcma.abi (see doc/abi.md)"
elif [ $((status & 4)) -ne 0 ]; then
	echo "the ABI changed compatibly (an added function?):" \
		"run scripts/update-abi.sh and commit abi/libcma.abi"
else
	echo "abidiff failed (status $status)"
fi
echo "0 passed, 1 failed"
exit 1
