#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile-input CI stages: sanitizer build, bounded fuzzing, valgrind on the
# tools. Each stage ends with "stage NAME: N passed, N failed"; the exit
# status is non-zero when any stage failed.
#
# Environment: FUZZ_SECONDS (per target, default 45), CMA_CI_BUILD (prefix
# of the build directories, default build-ci), FUZZ_TARGETS (default all),
# STAGES (default "sanitize fuzz valgrind").
set -eu
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-45}
PREFIX=${CMA_CI_BUILD:-build-ci}
TARGETS=${FUZZ_TARGETS:-check deserialize convert legacy differential dump}
STAGES=${STAGES:-sanitize fuzz valgrind}
VALGRIND=(valgrind -q --error-exitcode=99 --leak-check=full
	'--errors-for-leak-kinds=definite,indirect'
	'--show-leak-kinds=definite,indirect')
status=0

stage() {
	echo "stage $1: $2 passed, $3 failed ($((SECONDS - started)) s)"
	if [ "$3" -ne 0 ]; then
		status=1
	fi
}

want() {	# is stage $1 asked for?
	started=$SECONDS
	case " $STAGES " in
	*" $1 "*) return 0 ;;
	*) return 1 ;;
	esac
}

# meson test's summary: "Ok: N", "Fail: N", "Timeout: N", ...
meson_counts() {
	local log=$1 ok fail
	ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$log" | tail -n1)
	fail=$(sed -n -E 's/^(Fail|Timeout|Unexpected Pass): *([0-9]+).*/\2/p' \
		"$log" | awk '{ s += $1 } END { print s + 0 }')
	echo "${ok:-0} ${fail:-0}"
}

setup() {	# DIR ARGS...: configure once, reconfigure afterwards
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1
	else
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
	fi
}

# ---- 1: toolchain ----------------------------------------------------
started=$SECONDS
need=()
command -v clang >/dev/null 2>&1 || need+=(clang)
dpkg -s libclang-rt-14-dev >/dev/null 2>&1 || need+=(libclang-rt-14-dev)
command -v valgrind >/dev/null 2>&1 || need+=(valgrind)
if [ ${#need[@]} -gt 0 ]; then
	sudo=
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
else
	stage toolchain 1 0
fi

# ---- 2: the whole suite under ASan + UBSan, leaks on -------------------
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if want sanitize; then
dir=$PREFIX-asan
log=$(mktemp)
if CC=clang setup "$dir" -Db_sanitize=address,undefined -Db_lundef=false \
	-Dwerror=true && ninja -C "$dir" >"$dir.build.log" 2>&1; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C "$dir" --print-errorlogs --num-processes 2 \
		>"$log" 2>&1 || true
	tail -n 15 "$log"
	read -r ok fail < <(meson_counts "$log")
	if [ "$ok" -eq 0 ] && [ "$fail" -eq 0 ]; then
		fail=1
	fi
	stage sanitize "$ok" "$fail"
else
	tail -n 30 "$dir.setup.log" "$dir.build.log" 2>/dev/null || true
	stage sanitize 0 1
fi
rm -f "$log"
fi

# ---- 3: libFuzzer, bounded time per target -----------------------------
if want fuzz; then
dir=$PREFIX-fuzz
art=$PREFIX-fuzz-artifacts
ok=0
fail=0
total=0
read -r -a targets <<<"$TARGETS"
if CC=clang setup "$dir" -Dfuzz=true -Dwerror=true &&
   ninja -C "$dir" "${targets[@]/#/tests/fuzz/fuzz-}" \
	>"$dir.build.log" 2>&1; then
	mkdir -p "$art"
	regress=()
	if [ -n "$(ls -A tests/fuzz/regress 2>/dev/null)" ]; then
		regress=(tests/fuzz/regress)
	fi
	for t in "${targets[@]}"; do
		# A copy: new inputs must not land in the repository.
		mkdir -p "$work/$t"
		cp -r "tests/fuzz/corpus/fuzz-$t/." "$work/$t/" 2>/dev/null ||
			true
		flog=$art/fuzz-$t.log
		if ASAN_OPTIONS=detect_leaks=1 \
		   "$dir/tests/fuzz/fuzz-$t" -max_total_time="$FUZZ_SECONDS" \
			-dict=tests/fuzz/cma.dict -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 \
			-artifact_prefix="$art/$t-" \
			"$work/$t" "${regress[@]}" >"$flog" 2>&1; then
			ok=$((ok + 1))
			r=ok
		else
			fail=$((fail + 1))
			r="FAILED (see $flog, inputs in $art/)"
			tail -n 40 "$flog"
		fi
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$flog")
		total=$((total + ${runs:-0}))
		echo "fuzz-$t: ${runs:-0} runs in ${FUZZ_SECONDS}s," \
			"corpus $(find "$work/$t" -type f | wc -l) inputs: $r"
	done
	echo "fuzzing: $total runs in total"
else
	tail -n 30 "$dir.setup.log" "$dir.build.log" 2>/dev/null || true
	fail=1
fi
stage fuzz "$ok" "$fail"
fi

# ---- 4: the tools under valgrind memcheck, on hostile input too --------
if want valgrind; then
dir=$PREFIX-valgrind
ok=0
fail=0
vrun() {	# NAME COMMAND...: one run, valgrind errors or a crash fail it
	local name=$1 rc=0
	shift
	"${VALGRIND[@]}" "$@" >"$work/vg.out" 2>"$work/vg.err" || rc=$?
	if [ "$rc" -eq 99 ] || [ "$rc" -gt 4 ]; then
		fail=$((fail + 1))
		echo "valgrind: $name: exit $rc"
		tail -n 30 "$work/vg.err"
	else
		ok=$((ok + 1))
	fi
}
if setup "$dir" -Dwerror=true --buildtype=debug &&
   ninja -C "$dir" >"$dir.build.log" 2>&1; then
	tools=$dir/tools
	# The CLI suite, each tool call wrapped, when the suite supports it.
	if grep -q CMA_TOOL_WRAPPER tests/cli/*.py 2>/dev/null; then
		log=$work/cli.log
		CMA_TOOL_WRAPPER="${VALGRIND[*]}" meson test -C "$dir" \
			--suite cli --print-errorlogs >"$log" 2>&1 || true
		read -r o f < <(meson_counts "$log")
		[ "$o" -gt 0 ] || f=$((f + 1))
		ok=$((ok + o))
		fail=$((fail + f))
	else
		echo "valgrind: tests/cli has no CMA_TOOL_WRAPPER hook;" \
			"the tools run on the corpus only"
	fi
	# Hostile input: the defective seeds, a few valid ones (one of each
	# shape the dump draws differently) and every regression input.
	c=tests/fuzz/corpus/fuzz-dump
	inputs=("$c"/bad-* "$c"/huge-count "$c"/truncated "$c"/trailing
		"$c"/empty "$c"/magic-only "$c"/header-only "$c"/unsealed
		"$c"/map-dangling-rel "$c"/edges-abs "$c"/gap-rel
		tests/fuzz/regress/*)
	vrun "cma-verify all" "$tools/cma-verify" "${inputs[@]}"
	vrun "cma-verify --json --all-errors" "$tools/cma-verify" --json \
		--all-errors "${inputs[@]}"
	for f in "${inputs[@]}"; do
		[ -f "$f" ] || continue
		vrun "cma-dump $f" "$tools/cma-dump" "$f"
		vrun "cma-dump --json --hex $f" "$tools/cma-dump" --json \
			--hex "$f"
		vrun "cma-dump --graph=dot --stats $f" "$tools/cma-dump" \
			--graph=dot "$f"
		vrun "cma-convert $f" "$tools/cma-convert" --absolute \
			-o "$work/out.cm" "$f"
	done
	for f in tests/fuzz/corpus/fuzz-legacy/*; do
		vrun "cma-convert --from-legacy $f" "$tools/cma-convert" \
			--from-legacy -o "$work/out.cm" "$f"
	done
else
	tail -n 30 "$dir.setup.log" "$dir.build.log" 2>/dev/null || true
	fail=$((fail + 1))
fi
stage valgrind "$ok" "$fail"
fi

exit $status
