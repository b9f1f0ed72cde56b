#!/bin/sh
# SPDX-License-Identifier: MIT
# Typed views against their baselines, in one run: typed verification of
# cma-bench's 10-million-node list against cma-verify without types on the
# same blob (goal: at most 3x), and the typed --json dump's speed in MB of
# blob a second (goal: at least 100 MB/s). Each figure is the median of 5
# runs, the two verifications interleaved run by run; each is given as
# wall time and as CPU time (user + system: what a loaded machine does
# not inflate).
# Usage: bench/typed-bench.sh [BUILD-DIR [NODES]]   (default: build, 10000000)
set -eu
build=$(cd "${1:-build}" && pwd)
nodes=${2:-10000000}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/cma-typed-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
lib=$(ls "$build"/lib/libcma.so.[0-9]* | head -n 1)

# The producer of the list, with -g: its DWARF is the schema.
${CC:-cc} -g -O2 -I"$src/include" "$src/bench/typed-list.c" \
	-o "$work/typed-list" "$lib" -Wl,-rpath,"$build/lib"
"$work/typed-list" "$nodes" "$work/list.cm"
bytes=$(wc -c < "$work/list.cm")
types="--types=$work/typed-list"
root="--root-type=struct lnode"

seconds() {	# COMMAND...: "WALL CPU" seconds of one run, output discarded
	python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
wall = time.perf_counter() - t
if r.returncode:
    sys.exit("%s: exit %d" % (sys.argv[1], r.returncode))
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.6f %.6f" % (wall, u.ru_utime + u.ru_stime))
PY
}

median() {	# FIELD: the middle of that column of the lines on stdin
	awk -v f="$1" '{ print $f }' | sort -g |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

: > "$work/plain"
: > "$work/typed"
: > "$work/json"
"$build/tools/cma-verify" -q "$work/list.cm"	# warm the page cache
for i in 1 2 3 4 5; do
	seconds "$build/tools/cma-verify" -q "$work/list.cm" >> "$work/plain"
	seconds "$build/tools/cma-verify" -q "$types" "$root" "$work/list.cm" \
		>> "$work/typed"
	seconds "$build/tools/cma-dump" --json "$types" "$root" \
		"$work/list.cm" >> "$work/json"
done
for f in plain typed json; do
	eval "${f}_wall=\$(median 1 < \"\$work/$f\")"
	eval "${f}_cpu=\$(median 2 < \"\$work/$f\")"
done
awk -v n="$nodes" -v b="$bytes" -v pw="$plain_wall" -v pc="$plain_cpu" \
	-v tw="$typed_wall" -v tc="$typed_cpu" -v jw="$json_wall" \
	-v jc="$json_cpu" 'BEGIN {
	printf "list of %d nodes, %.1f MB blob (median of 5; wall, CPU)\n",
		n, b / 1e6
	printf "cma-verify:              %7.3f s %7.3f s\n", pw, pc
	printf "cma-verify --types:      %7.3f s %7.3f s   %.2fx wall, " \
		"%.2fx CPU (goal <= 3x)\n", tw, tc, tw / pw, tc / pc
	printf "cma-dump --types --json: %7.3f s %7.3f s   %.0f MB/s wall, " \
		"%.0f MB/s CPU (goal >= 100 MB/s)\n", jw, jc, b / 1e6 / jw,
		b / 1e6 / jc
}'
