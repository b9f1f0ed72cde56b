#!/bin/sh
# SPDX-License-Identifier: MIT
# Run shm-producer and shm-consumer as two processes, in both modes, and
# require the consumer to print exactly what the producer built.
# Usage: run-shm-example.sh PRODUCER CONSUMER
set -eu
producer=$1
consumer=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

for mode in relative absolute; do
	# Unique per run: parallel test runs must not share the object.
	name=/cma-shm-example-$$-$mode
	"$producer" "$name" "$mode" > "$dir/produced"
	"$consumer" "$name" > "$dir/consumed"
	if [ ! -s "$dir/produced" ]; then
		echo "$mode: the producer printed nothing" >&2
		exit 1
	fi
	if ! cmp "$dir/produced" "$dir/consumed"; then
		echo "$mode: the consumer disagrees with the producer" >&2
		exit 1
	fi
	if [ -e "/dev/shm$name" ]; then
		echo "$mode: the consumer left $name behind" >&2
		exit 1
	fi
	echo "$mode: $(wc -l < "$dir/consumed") lines agree"
done
