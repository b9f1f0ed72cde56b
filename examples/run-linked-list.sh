#!/bin/sh
# SPDX-License-Identifier: MIT
# Run linked-list's two halves as two processes, for the plain and the
# sorted list, and require both to print the same non-empty list.
# Usage: run-linked-list.sh LINKED-LIST
set -eu
prog=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

for kind in plain sorted; do
	name=/cma-linked-list-$$-$kind
	if [ "$kind" = sorted ]; then
		"$prog" serialize "$name" sorted > "$dir/serialized"
		LC_ALL=C sort -n -c "$dir/serialized"
	else
		"$prog" serialize "$name" > "$dir/serialized"
	fi
	"$prog" deserialize "$name" > "$dir/deserialized"
	if [ ! -s "$dir/serialized" ]; then
		echo "$kind: nothing serialized" >&2
		exit 1
	fi
	cmp "$dir/serialized" "$dir/deserialized"
	echo "$kind: $(wc -l < "$dir/deserialized") nodes agree"
done
