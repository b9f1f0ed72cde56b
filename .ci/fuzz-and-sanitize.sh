#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile-input CI stages: the suite under sanitizers, bounded fuzzing, the
# tools under valgrind. Each stage ends with "stage NAME: N passed, N
# failed"; the exit status is non-zero when any stage failed.
#
# Environment: FUZZ_SECONDS (per target, default 60), CMA_CI_BUILD (prefix
# of the build directories, default build-ci), FUZZ_TARGETS (default all),
# STAGES (default "sanitize fuzz valgrind arm64 deb").
set -eu

FUZZ_SECONDS=${FUZZ_SECONDS:-60}
PREFIX=${CMA_CI_BUILD:-build-ci}
TARGETS=${FUZZ_TARGETS:-check deserialize convert legacy differential dump types}
STAGES=${STAGES:-sanitize fuzz valgrind arm64 deb}
# Exit 99, not 3, on a memcheck error: the tools exit 3 for I/O errors.
# No inlined frames in its stack traces: reading them was a third of each
# of the stage's many short runs (0.81 s against 0.53 s a cma-verify).
VALGRIND=(valgrind -q --error-exitcode=99 --read-inline-info=no
	--leak-check=full
	'--errors-for-leak-kinds=definite,indirect'
	'--show-leak-kinds=definite,indirect')
status=0
started=$SECONDS
work=
cpus=$(nproc 2>/dev/null || echo 1)

# Block until fewer background jobs run than there are CPUs.
wait_for_a_cpu() {
	while [ "$(jobs -rp | wc -l)" -ge "$cpus" ]; do
		wait -n || true
	done
}

stage() {	# NAME PASSED FAILED
	echo "stage $1: $2 passed, $3 failed ($((SECONDS - started)) s)"
	if [ "$3" -ne 0 ]; then
		status=1
	fi
	started=$SECONDS
}

# meson test's summary: "Ok: N", "Fail: N", "Timeout: N", ...
meson_counts() {
	local log=$1 ok fail
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
	fail=$(sed -n -E 's/^(Fail|Timeout|Unexpected Pass): *([0-9]+).*/\2/p' \
		"$log" | awk '{ s += $1 } END { print s + 0 }')
	echo "${ok:-0} ${fail:-0}"
}

# Add a meson test log's counts to the caller's ok and fail; a run that ran
# nothing counts as a failure.
add_counts() {
	local o n
	read -r o n < <(meson_counts "$1")
	if [ "$o" -eq 0 ] && [ "$n" -eq 0 ]; then
		n=1
	fi
	[ "$n" -eq 0 ] || tail -n 40 "$1"
	ok=$((ok + o))
	fail=$((fail + n))
}

# Setup and build logs go to $PREFIX-logs/ (ignored like every build*/).
setup() {	# DIR ARGS...: configure once, reconfigure afterwards
	local dir=$1 log
	shift
	mkdir -p "$PREFIX-logs"
	log=$PREFIX-logs/${dir##*/}.setup.log
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >"$log" 2>&1
	else
		meson setup "$dir" "$@" >"$log" 2>&1
	fi
}

build() {	# DIR [TARGETS...]
	local dir=$1
	ninja -C "$@" >"$PREFIX-logs/${dir##*/}.build.log" 2>&1
}

show_logs() {	# DIR: why a build failed
	tail -n 30 "$PREFIX-logs/${1##*/}.setup.log" \
		"$PREFIX-logs/${1##*/}.build.log" 2>/dev/null || true
}

stage_toolchain() {
	local need=() sudo=
	command -v clang >/dev/null 2>&1 || need+=(clang)
	dpkg -s libclang-rt-14-dev >/dev/null 2>&1 ||
		need+=(libclang-rt-14-dev)
	command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
	if [ ${#need[@]} -eq 0 ]; then
		stage toolchain 1 0
		return
	fi
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "installing: ${need[*]}"
	if $sudo apt-get update -qq &&
	   DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		"${need[@]}" >/dev/null; then
		stage toolchain 1 0
	else
		stage toolchain 0 1
		exit 1
	fi
}

# The whole suite with clang, ASan and UBSan, leak detection on.
stage_sanitize() {
	local dir=$PREFIX-asan log=$work/asan.log ok fail
	if ! CC=clang setup "$dir" -Db_sanitize=address,undefined \
		-Db_lundef=false -Dwerror=true ||
	   ! build "$dir"; then
		show_logs "$dir"
		stage sanitize 0 1
		return
	fi
	# handle_segv=0: some tests expect a child to die of SIGSEGV (a
	# write to a read-only mapping); ASan would turn that into exit 1.
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:handle_segv=0 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C "$dir" --print-errorlogs --num-processes 2 \
		>"$log" 2>&1 || true
	sed -n '/^Summary of Failures:/,/^Ok:/p' "$log" | grep -v '^Ok:' ||
		true
	ok=0
	fail=0
	add_counts "$log"
	echo "sanitize: full log in $dir/meson-logs/testlog.txt"
	stage sanitize "$ok" "$fail"
}

# One libFuzzer target for FUZZ_SECONDS on a copy of its corpus; its verdict
# line goes to $work/T.verdict, its run count to $work/T.runs.
fuzz_one() {	# DIR ARTIFACTS TARGET REGRESS...
	local dir=$1 art=$2 t=$3 flog r runs
	shift 3
	# A copy: new inputs must not land in the repository.
	mkdir -p "$work/$t"
	cp -r "tests/fuzz/corpus/fuzz-$t/." "$work/$t/" 2>/dev/null || true
	flog=$art/fuzz-$t.log
	if ASAN_OPTIONS=detect_leaks=1 \
	   "$dir/tests/fuzz/fuzz-$t" -max_total_time="$FUZZ_SECONDS" \
		-dict=tests/fuzz/cma.dict -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$art/$t-" \
		"$work/$t" "$@" >"$flog" 2>&1; then
		r=ok
	else
		r="FAILED (see $flog, inputs in $art/)"
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$flog")
	echo "${runs:-0}" >"$work/$t.runs"
	echo "fuzz-$t: ${runs:-0} runs in ${FUZZ_SECONDS}s," \
		"corpus $(find "$work/$t" -type f | wc -l) inputs: $r" \
		>"$work/$t.verdict"
}

# Every libFuzzer target, as many at once as there are CPUs.
stage_fuzz() {
	local dir=$PREFIX-fuzz art=$PREFIX-fuzz-artifacts
	local ok=0 fail=0 total=0 targets regress=() t
	read -r -a targets <<<"$TARGETS"
	if ! CC=clang setup "$dir" -Dfuzz=true -Dwerror=true ||
	   ! build "$dir" "${targets[@]/#/tests/fuzz/fuzz-}"; then
		show_logs "$dir"
		stage fuzz 0 1
		return
	fi
	mkdir -p "$art"
	if [ -n "$(ls tests/fuzz/regress 2>/dev/null)" ]; then
		regress=(tests/fuzz/regress)
	fi
	for t in "${targets[@]}"; do
		wait_for_a_cpu
		fuzz_one "$dir" "$art" "$t" "${regress[@]}" &
	done
	wait
	for t in "${targets[@]}"; do
		cat "$work/$t.verdict"
		if grep -q ': ok$' "$work/$t.verdict"; then
			ok=$((ok + 1))
		else
			fail=$((fail + 1))
			tail -n 40 "$art/fuzz-$t.log"
		fi
		total=$((total + $(cat "$work/$t.runs")))
	done
	echo "fuzzing: $total runs in total"
	stage fuzz "$ok" "$fail"
}

# The tools under memcheck: the CLI suite, then hostile inputs directly.
stage_valgrind() {
	local dir=$PREFIX-valgrind ok=0 fail=0 tools c inputs f i rc name
	local runs=0

	# NAME COMMAND...: run in the background, as many at once as CPUs;
	# an argument @OUT@ becomes an output file of its own. vcollect waits
	# and counts: memcheck errors or a crash fail a run.
	vrun() {
		local name=$1 n=$((runs + 1)) a args=()
		shift
		for a in "$@"; do
			args+=("${a/#@OUT@/$work/out-$n.cm}")
		done
		runs=$n
		wait_for_a_cpu
		(
			rc=0
			"${VALGRIND[@]}" "${args[@]}" >"$work/vg-$n.out" \
				2>"$work/vg-$n.err" || rc=$?
			echo "$rc $name" >"$work/vg-$n.rc"
		) &
	}
	vcollect() {
		wait
		for ((i = 1; i <= runs; i++)); do
			read -r rc name <"$work/vg-$i.rc"
			if [ "$rc" -eq 99 ] || [ "$rc" -gt 4 ]; then
				fail=$((fail + 1))
				echo "valgrind: $name: exit $rc"
				tail -n 30 "$work/vg-$i.err"
			else
				ok=$((ok + 1))
			fi
		done
	}

	if ! setup "$dir" -Dwerror=true --buildtype=debug ||
	   ! build "$dir"; then
		show_logs "$dir"
		stage valgrind 0 1
		return
	fi
	tools=$dir/tools
	if grep -q CMA_TOOL_WRAPPER tests/cli/*.py 2>/dev/null; then
		CMA_TOOL_WRAPPER="${VALGRIND[*]}" meson test -C "$dir" \
			--suite cli --print-errorlogs >"$work/cli.log" 2>&1 ||
			true
		add_counts "$work/cli.log"
	else
		echo "valgrind: tests/cli has no CMA_TOOL_WRAPPER hook;" \
			"the tools run on the corpus only"
	fi
	# Every corpus and regression input through every target.
	meson test -C "$dir" --setup=valgrind --suite fuzz-replay \
		--print-errorlogs >"$work/replay.log" 2>&1 || true
	add_counts "$work/replay.log"
	# Hostile input: the defective seeds, one valid blob of each shape
	# the dump draws differently, and every regression input.
	c=tests/fuzz/corpus/fuzz-dump
	inputs=("$c"/bad-* "$c"/huge-count "$c"/truncated "$c"/trailing
		"$c"/empty "$c"/magic-only "$c"/header-only "$c"/unsealed
		"$c"/map-dangling-rel "$c"/edges-abs "$c"/gap-rel
		tests/fuzz/regress/*)
	vrun "cma-verify" "$tools/cma-verify" "${inputs[@]}"
	vrun "cma-verify --json --all-errors" "$tools/cma-verify" --json \
		--all-errors "${inputs[@]}"
	for f in "${inputs[@]}"; do
		[ -f "$f" ] || continue
		vrun "cma-dump $f" "$tools/cma-dump" "$f"
		vrun "cma-dump --json --hex $f" "$tools/cma-dump" --json \
			--hex "$f"
		vrun "cma-dump --graph=dot $f" "$tools/cma-dump" \
			--graph=dot "$f"
		vrun "cma-convert $f" "$tools/cma-convert" --absolute \
			-o @OUT@ "$f"
	done
	for f in tests/fuzz/corpus/fuzz-legacy/*; do
		vrun "cma-convert --from-legacy $f" "$tools/cma-convert" \
			--from-legacy -o @OUT@ "$f"
	done
	vcollect
	stage valgrind "$ok" "$fail"
}

# The aarch64 cross build under qemu-user; the script prints its stage line.
stage_arm64() {
	CMA_ARM64_BUILD=$PREFIX-arm64 scripts/cross-arm64.sh "$PREFIX" ||
		status=1
	started=$SECONDS
}

# The Debian packages built, linted and used (scripts/check-deb.sh); the
# suite already ran above, so the package build skips it. Without dpkg-dev
# or debhelper the stage is skipped, and says so.
stage_deb() {
	local log=$work/deb.log rc=0 ok fail
	DEB_BUILD_OPTIONS=nocheck scripts/check-deb.sh >"$log" 2>&1 || rc=$?
	if [ "$rc" -eq 77 ]; then
		echo "stage deb: 0 passed, 0 failed, 1 skipped" \
			"($(tail -n 1 "$log"))"
		started=$SECONDS
		return
	fi
	read -r ok fail < <(sed -n -E \
		's/^deb: ([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$log")
	ok=${ok:-0}
	fail=${fail:-0}
	if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
	fi
	[ "$fail" -eq 0 ] || tail -n 40 "$log"
	stage deb "$ok" "$fail"
}

wanted() {	# is stage $1 in STAGES?
	case " $STAGES " in
	*" $1 "*) return 0 ;;
	*) return 1 ;;
	esac
}

# All in one function, read whole before it runs: editing this file during a
# run cannot change what the run does.
main() {
	cd "$(dirname "$0")/.."
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
	stage_toolchain
	if wanted sanitize; then
		stage_sanitize
	fi
	if wanted fuzz; then
		stage_fuzz
	fi
	if wanted valgrind; then
		stage_valgrind
	fi
	if wanted arm64; then
		stage_arm64
	fi
	if wanted deb; then
		stage_deb
	fi
	exit $status
}

main "$@"
