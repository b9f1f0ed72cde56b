#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the Debian packages (libcma1, libcma-dev, cma-tools) from a copy of
# the tree, so that no build artifact lands in it; require lintian to report
# no error or warning; check what each .deb holds (dpkg -c); unpack the
# three into a throwaway root (dpkg-deb -x: no maintainer script runs,
# nothing touches the system) and build an example there with the
# installed pkg-config file, then run it and the installed tools.
#
# Usage: scripts/check-deb.sh [REF]
#   REF: a git commit to package (default: the working tree as it is,
#   untracked files included, ignored ones not).
# Environment: DEB_BUILD_OPTIONS (e.g. nocheck: skip the test suite during
# the build), CHECK_DEB_KEEP=1 (keep the temporary directory).
# Exit status: 0 all checks passed, 1 a check failed, 77 dpkg-dev or
# debhelper is missing. Last line: "deb: N passed, N failed".
set -u

cd "$(dirname "$0")/.." || exit 1
ref=${1:-}
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "ok   $*"; }
fail() { failed=$((failed + 1)); echo "FAIL $*"; }
# Exit with the summary line.
finish() {
	echo "deb: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit $?
}

for tool in dpkg-buildpackage dh dpkg-deb; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "skip: $tool not found (apt-get install dpkg-dev debhelper)"
		exit 77
	fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/check-deb.XXXXXX")
if [ "${CHECK_DEB_KEEP:-0}" = 1 ]; then
	echo "keeping $work"
else
	trap 'rm -rf "$work"' EXIT
fi
version=$(sed -n "s/^\tversion: '\([^']*\)'.*/\1/p" meson.build | head -n1)
src=$work/libcma-$version
mkdir -p "$src" "$work/root"

# ---- the copy ----
if [ -n "$ref" ]; then
	git archive "$ref" | tar -x -C "$src" || { fail "git archive $ref"; finish; }
elif git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do
			# A tracked file deleted in the working tree is not copied.
			[ -e "$f" ] && printf '%s\0' "$f"
		done | xargs -0 cp --parents -t "$src" ||
		{ fail "copy of the working tree"; finish; }
else
	tar -c --exclude='./build*' --exclude=./.git . | tar -x -C "$src"
fi

# ---- the build ----
log=$work/build.log
if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$log" 2>&1; then
	pass "dpkg-buildpackage -us -uc -b"
else
	fail "dpkg-buildpackage -us -uc -b (the errors in $log):"
	# ninja -v lines are long: the errors, and the last lines, cut short.
	{ grep -E 'error|FAILED|warning: ' "$log" | tail -n 20
	  tail -n 5 "$log"; } | cut -c1-400
	finish
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
debs=()
for p in libcma1 libcma-dev cma-tools; do
	deb=$work/${p}_$version-1_$arch.deb
	if [ -f "$deb" ]; then
		debs+=("$deb")
	else
		fail "$p: no $(basename "$deb")"
	fi
done
[ "${#debs[@]}" -eq 3 ] || finish

# ---- lintian ----
if command -v lintian >/dev/null 2>&1; then
	lintian "${debs[@]}" >"$work/lintian.log" 2>&1
	if grep -E '^[EW]: ' "$work/lintian.log"; then
		fail "lintian: errors or warnings (above)"
	else
		pass "lintian: no error or warning"
	fi
else
	fail "lintian not found (apt-get install lintian)"
fi

# ---- contents ----
# Each package must hold every path listed (a glob, matched by grep -x).
holds() {	# PACKAGE PATH-REGEX...
	local p=$1 deb=$work/${1}_$version-1_$arch.deb list=$work/$1.list
	shift
	dpkg -c "$deb" | awk '{ print $6 }' | sed 's|^\./||' >"$list"
	local missing=0 want
	for want in "$@"; do
		if ! grep -qxE "$want" "$list"; then
			echo "  $p lacks $want"
			missing=1
		fi
	done
	if [ "$missing" -eq 0 ]; then
		pass "$p holds ${#@} expected paths"
	else
		fail "$p: missing paths (above)"
	fi
}
lib=usr/lib/$multiarch
holds libcma1 "$lib/libcma\.so\.1\.[0-9.]+" "$lib/libcma\.so\.1"
man3=()
while read -r sym; do
	man3+=("usr/share/man/man3/$sym\.3\.gz")
done < <(sed -n 's/^ \(cm_[a-z_0-9]*\)@.*/\1/p' debian/libcma1.symbols)
holds libcma-dev usr/include/cma.h "$lib/libcma\.so" "$lib/libcma\.a" \
	"$lib/pkgconfig/cma\.pc" usr/share/man/man3/libcma\.3\.gz "${man3[@]}" \
	"usr/share/doc/libcma-dev/examples/linked-list\.c" \
	"usr/share/doc/libcma-dev/examples/run-linked-list\.sh" \
	"usr/share/doc/libcma-dev/format\.md(\.gz)?"
holds cma-tools usr/bin/cma-dump usr/bin/cma-verify usr/bin/cma-convert \
	usr/share/man/man1/cma-dump\.1\.gz usr/share/man/man1/cma-verify\.1\.gz \
	usr/share/man/man1/cma-convert\.1\.gz \
	usr/share/man/man5/cma-format\.5\.gz \
	usr/share/bash-completion/completions/cma-dump \
	usr/share/bash-completion/completions/cma-verify \
	usr/share/bash-completion/completions/cma-convert
# The library package ships the runtime only: no header, no man page.
if grep -qE '^usr/(include|share/man)/' "$work/libcma1.list"; then
	fail "libcma1 holds development files"
else
	pass "libcma1 holds the runtime only"
fi

# ---- the throwaway root ----
root=$work/root
for deb in "${debs[@]}"; do
	dpkg-deb -x "$deb" "$root" || fail "dpkg-deb -x $(basename "$deb")"
done
export LD_LIBRARY_PATH=$root/$lib
pc() {	# pkg-config ARGS...: the root's cma.pc, its paths inside the root
	PKG_CONFIG_LIBDIR=$root/$lib/pkgconfig:/usr/lib/$multiarch/pkgconfig:/usr/share/pkgconfig \
	PKG_CONFIG_SYSROOT_DIR=$root pkg-config "$@"
}
if [ "$(pc --modversion cma 2>/dev/null)" = "$version" ]; then
	pass "pkg-config: cma $version"
else
	fail "pkg-config --modversion cma: '$(pc --modversion cma 2>&1)'"
fi
ex=$root/usr/share/doc/libcma-dev/examples
# shellcheck disable=SC2046 # pkg-config's flags are words
if ${CC:-cc} -Wall -Werror -o "$work/linked-list" "$ex/linked-list.c" \
	$(pc --cflags --libs cma) 2>"$work/cc.log"; then
	pass "linked-list.c built with \$(pkg-config --cflags --libs cma)"
	if ldd "$work/linked-list" | grep -q "=> $root/$lib/libcma\.so\.1"; then
		pass "linked-list runs on the packaged libcma.so.1"
	else
		fail "linked-list does not load the packaged library:"
		ldd "$work/linked-list"
	fi
	if sh "$ex/run-linked-list.sh" "$work/linked-list"; then
		pass "run-linked-list.sh"
	else
		fail "run-linked-list.sh"
	fi
else
	fail "linked-list.c does not build against the package:"
	cat "$work/cc.log"
fi
# The installed tools: their version, and the example's blob through all
# three.
bin=$root/usr/bin
if "$bin/cma-verify" --version | grep -qF "(libcma) $version"; then
	pass "cma-verify --version says $version"
else
	fail "cma-verify --version: $("$bin/cma-verify" --version 2>&1)"
fi
shm=cma-check-deb-$$
if [ -x "$work/linked-list" ] && [ -d /dev/shm ] &&
   "$work/linked-list" serialize "/$shm" >/dev/null; then
	if "$bin/cma-verify" -q "/dev/shm/$shm" &&
	   "$bin/cma-convert" --absolute "/dev/shm/$shm" -o "$work/abs.cm" &&
	   "$bin/cma-dump" --json "$work/abs.cm" | grep -q '"mode": "absolute"'
	then
		pass "the installed tools verify, convert and dump its blob"
	else
		fail "the installed tools on the example's blob"
	fi
	rm -f "/dev/shm/$shm"
else
	fail "no blob from the packaged linked-list example"
fi
if bash -n "$root/usr/share/bash-completion/completions/cma-dump"; then
	pass "bash completion parses"
else
	fail "bash completion does not parse"
fi
finish
