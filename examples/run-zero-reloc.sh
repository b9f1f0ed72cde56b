#!/bin/sh
# SPDX-License-Identifier: MIT
# Write a blob with zero-reloc-writer, then read it with zero-reloc-reader:
# in a fresh process it maps at its base (relocated: 0); with the base taken
# it is relocated (relocated: 1); either way the contents agree.
# Usage: run-zero-reloc.sh WRITER READER
set -eu
writer=$1
reader=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$writer" "$dir/dictionary.cma"

expect() {
	out=$1
	want=$2
	first=$(head -n 1 "$out")
	if [ "$first" != "relocated: $want" ]; then
		echo "$out: '$first', expected 'relocated: $want'" >&2
		exit 1
	fi
	tail -n +2 "$out" > "$out.body"
}

"$reader" "$dir/dictionary.cma" > "$dir/at-base"
expect "$dir/at-base" 0
"$reader" --trusted "$dir/dictionary.cma" > "$dir/trusted"
expect "$dir/trusted" 0
"$reader" --occupy "$dir/dictionary.cma" > "$dir/moved"
expect "$dir/moved" 1
"$reader" --occupy --trusted "$dir/dictionary.cma" > "$dir/moved-trusted"
expect "$dir/moved-trusted" 1

if ! grep -q '^sorted: address$' "$dir/at-base.body"; then
	echo "the dictionary lost its words" >&2
	exit 1
fi
for run in trusted moved moved-trusted; do
	cmp "$dir/at-base.body" "$dir/$run.body"
done
# The sorted view really is sorted.
grep '^sorted: ' "$dir/at-base.body" | LC_ALL=C sort -c
# A damaged copy is refused, at the base and relocated alike.
cp "$dir/dictionary.cma" "$dir/damaged.cma"
printf 'X' | dd of="$dir/damaged.cma" bs=1 seek=300 conv=notrunc 2>/dev/null
for opt in "" --occupy; do
	if "$reader" $opt "$dir/damaged.cma" > /dev/null 2>&1; then
		echo "a damaged blob was accepted ($opt)" >&2
		exit 1
	fi
done
echo "zero-relocation open: at the base and relocated agree"
