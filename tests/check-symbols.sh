#!/bin/sh
# SPDX-License-Identifier: MIT
# The shared library exports exactly the functions cma.h declares.
set -eu
lib=$1
header=$2
declared=$(sed -n 's/^[a-z].*[ *]\(cm_[a-z0-9_]*\)(.*/\1/p' "$header" | sort -u)
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' |
	sed 's/@.*//' | sort -u)
if [ "$declared" != "$exported" ]; then
	echo "declared in cma.h vs exported by $lib:"
	diff -u "$(printf '%s\n' "$declared" > /tmp/cma-declared.$$; echo /tmp/cma-declared.$$)" \
		"$(printf '%s\n' "$exported" > /tmp/cma-exported.$$; echo /tmp/cma-exported.$$)" || true
	rm -f /tmp/cma-declared.$$ /tmp/cma-exported.$$
	echo "0 passed, 1 failed"
	exit 1
fi
echo "$(printf '%s\n' "$exported" | wc -l) symbols exported, all declared"
echo "1 passed, 0 failed"
