#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The aarch64 build: cross-compiled with Debian's gcc-aarch64-linux-gnu
# against the arm64 libraries (multiarch), its unit, fuzz-replay and CLI
# suites run under qemu-user, and blobs carried both ways between it and a
# native build. Last line: "stage arm64: N passed, N failed (S s)".
#
# Usage: scripts/cross-arm64.sh [NATIVE-BUILD-DIR] (default build-ci, built
# by the caller). Environment: CMA_ARM64_BUILD (default build-arm64-ci).
set -u
cd "$(dirname "$0")/.."
native=${1:-build-ci}
dir=${CMA_ARM64_BUILD:-build-arm64-ci}
cross=cross/aarch64-linux-gnu.ini
started=$SECONDS
ok=0
fail=0

finish() {
	echo "stage arm64: $ok passed, $fail failed ($((SECONDS - started)) s)"
	exit $((fail != 0))
}

# The cross toolchain, qemu, and the arm64 -dev packages meson links.
install_deps() {
	local need=() p sudo=
	for p in gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static \
		libxxhash-dev:arm64 check:arm64 libdw-dev:arm64; do
		dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
	done
	[ ${#need[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "installing: ${need[*]}"
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		$sudo dpkg --add-architecture arm64 || return 1
	fi
	$sudo apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
			"${need[@]}" >/dev/null
}

if ! install_deps; then
	echo "arm64: cannot install the cross toolchain and arm64 libraries"
	fail=1
	finish
fi
mkdir -p "$dir-logs"
if ! { [ -f "$dir/build.ninja" ] ||
       meson setup "$dir" --cross-file "$cross" -Dwerror=true; } \
	>"$dir-logs/setup.log" 2>&1 ||
   ! ninja -C "$dir" >"$dir-logs/build.log" 2>&1; then
	tail -n 30 "$dir-logs/setup.log" "$dir-logs/build.log"
	fail=1
	finish
fi
if ! file -L "$dir/tools/cma-verify" | grep -q 'ARM aarch64'; then
	echo "arm64: $dir/tools/cma-verify is not an aarch64 program"
	fail=1
	finish
fi

# The unit, fuzz-replay and CLI suites, every program under the cross
# file's exe_wrapper (qemu).
meson test -C "$dir" --suite unit --suite fuzz-replay --suite cli \
	--num-processes 2 --print-errorlogs \
	>"$dir-logs/test.log" 2>&1
read -r p _ f _ _ _ < <(python3 scripts/count-tests.py \
	"$dir/meson-logs/testlog.json")
ok=$((ok + p))
fail=$((fail + f))
[ "$f" -eq 0 ] || sed -n '/^Summary of Failures:/,/^Ok:/p' "$dir-logs/test.log"

# Blobs across architectures: written by one, verified and converted by
# the other (the golden blobs of tests/data are checked under qemu above).
qemu=qemu-aarch64-static
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
check() {	# WHAT COMMAND...
	local what=$1
	shift
	if "$@" >"$work/out" 2>&1; then
		ok=$((ok + 1))
	else
		fail=$((fail + 1))
		echo "arm64: $what failed:"
		tail -n 5 "$work/out"
	fi
}
for shape in list tree; do
	for mode in relative absolute; do
		a=$work/arm64-$shape-$mode.cm
		x=$work/x86-$shape-$mode.cm
		check "arm64 writes $shape $mode" \
			$qemu "$dir/tests/cli/make-blob" "$shape" 300 "$mode" "$a"
		check "native verifies the arm64 $shape $mode blob" \
			"$native/tools/cma-verify" "$a"
		check "native converts the arm64 $shape $mode blob" \
			"$native/tools/cma-convert" --rebase 0 -o "$a.x86" "$a"
		check "native writes $shape $mode" \
			"$native/tests/cli/make-blob" "$shape" 300 "$mode" "$x"
		check "arm64 verifies the native $shape $mode blob" \
			$qemu "$dir/tools/cma-verify" "$x"
		check "arm64 converts the native $shape $mode blob" \
			$qemu "$dir/tools/cma-convert" --rebase 0 -o "$x.arm64" "$x"
		# One program, two architectures: the same canonical bytes.
		check "canonical $shape $mode blobs agree" \
			cmp "$a.x86" "$x.arm64"
	done
done
finish
