#!/usr/bin/env bash
# Build our selftests (tools/testing/selftests/iommu, from build/linux) with
# the kselftest Makefile, statically linked, against the uAPI headers that
# headers_install made for the selected kernel flavor, for its architecture
# (cross-compiled with $CROSS for arm64).
#
# Output: build/selftests-<flavor>[-<FLAVOUR>]/ with the programs, and two lists of the
# programs built: .tests (TEST_GEN_PROGS) and .extended (TEST_GEN_PROGS_EXTENDED).
# A program the Makefile names but whose .c is not written yet is left out,
# with a note.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

"$SCRIPTS/kernel.sh" headers
lock_builds

src=$LINUX/$SELFTESTS_DIR
out=$SELFTESTS_OUT
mkdir -p "$out"

[ -f "$src/Makefile" ] || die "$SELFTESTS_DIR/Makefile is missing"
tests=; extended=; targets=
for var in TEST_GEN_PROGS TEST_GEN_PROGS_EXTENDED; do
	for prog in $(kselftest_programs "$src" "$var"); do
		if [ ! -f "$src/$prog.c" ]; then
			say NOTE "$SELFTESTS_DIR/$prog.c is not written yet: not built"
			continue
		fi
		targets="$targets $out/$prog"
		case $var in
		TEST_GEN_PROGS) tests="$tests $prog" ;;
		*)              extended="$extended $prog" ;;
		esac
	done
done

if [ -n "$targets" ]; then
	# shellcheck disable=SC2086 # $targets is a list
	logged "$LOGS/${out##*/}.log" \
		make -C "$src" OUTPUT="$out" KHDR_INCLUDES="-isystem $HDRS" LDFLAGS=-static \
		CROSS_COMPILE="$CROSS" $targets
fi
echo "${tests# }" >"$out/.tests"
echo "${extended# }" >"$out/.extended"
