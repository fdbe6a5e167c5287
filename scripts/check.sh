#!/usr/bin/env bash
# make check: static checks of our files, a count per tool, non-zero exit on
# any finding.
#   sparse      make C=2 drivers/iommu/iommufd/
#   W=1         make W=1 drivers/iommu/iommufd/ (every file recompiled)
#   checkpatch  scripts/checkpatch.pl --strict --no-tree -f, every C/H file of ours
#   kernel-doc  scripts/kernel-doc -none -Wall, our headers and iommufd's .c/.h
# The kernel parts build in their own object directory, build/obj-check, with
# the test kernel's config (so they never disturb build/obj-ours).
set -eu
KERNEL=ours
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

OBJ_CHECK=$BUILD/obj-check
IOMMUFD=drivers/iommu/iommufd
UAPI=include/uapi/linux/iommufd.h
KAPI=include/linux/iommufd.h

# Our files that exist, relative to the repo (and to build/linux).
ours() { (cd "$ROOT" && ls -d "$@" 2>/dev/null) || true; }

# findings NAME LOG COUNT: report one tool's count and its first findings.
total=0
findings() {
	local tool=$1 log=$2 n=$3
	printf '  %-11s %d finding(s)   (log: %s)\n' "$tool" "$n" "${log#"$ROOT"/}"
	total=$((total + n))
}
show() { [ "$2" = 0 ] || sed -n "1,20s/^/      /p" "$1"; }

lock_builds
"$SCRIPTS/kernel.sh" config
mkdir -p "$OBJ_CHECK"
cmp -s "$OBJ/.config" "$OBJ_CHECK/.config" || cp "$OBJ/.config" "$OBJ_CHECK/.config"
checkmake() { make -C "$LINUX" O="$OBJ_CHECK" ARCH=x86_64 CC="ccache gcc" -j"$JOBS" W=1 "$@"; }

# W=1: remove our objects so that every file is compiled (and warns) again.
# ccache replays the warnings of a file it has seen.
say CHECK "W=1 build of $IOMMUFD/"
find "$OBJ_CHECK/$IOMMUFD" -name '*.o' -delete 2>/dev/null || true
log=$LOGS/check-w1.log
checkmake "$IOMMUFD/" >"$log" 2>&1 || echo "(the build failed)" >>"$log"
grep -E ': (warning|error):|\(the build failed\)' "$log" >"$log.found" || true
n=$(wc -l <"$log.found"); findings "W=1" "$log" "$n"; show "$log.found" "$n"

# sparse: the objects are up to date now (same W=1 flags), so all that runs is
# the checker, and everything it prints is a finding.
say CHECK "sparse (C=2) over $IOMMUFD/"
log=$LOGS/check-sparse.log
checkmake C=2 "$IOMMUFD/" >"$log" 2>&1 || echo "(the build failed)" >>"$log"
grep -E ': (warning|error):|\(the build failed\)' "$log" >"$log.found" || true
n=$(wc -l <"$log.found"); findings sparse "$log" "$n"; show "$log.found" "$n"
unlock_builds

say CHECK "checkpatch --strict"
log=$LOGS/check-checkpatch.log
# shellcheck disable=SC2046 # the file lists are words
files=$(ours $IOMMUFD/*.[ch] $UAPI $KAPI $SELFTESTS_DIR/*.[ch])
n=0
: >"$log"
if [ -n "$files" ]; then
	# shellcheck disable=SC2086
	(cd "$ROOT" && "$LINUX/scripts/checkpatch.pl" --strict --no-tree --terse --show-types \
		--no-summary -f $files) >"$log" 2>&1 || true
	n=$(grep -cE ': (ERROR|WARNING|CHECK):' "$log" || true)
fi
findings checkpatch "$log" "$n"; show "$log" "$n"

say CHECK "kernel-doc -Wall"
log=$LOGS/check-kernel-doc.log
files=$(ours $UAPI $KAPI $IOMMUFD/*.[ch])
n=0
: >"$log"
if [ -n "$files" ]; then
	# shellcheck disable=SC2086
	(cd "$ROOT" && "$LINUX/scripts/kernel-doc" -none -Wall $files) >"$log" 2>&1 || true
	n=$(grep -ciE '(warning|error)' "$log" || true)
fi
findings kernel-doc "$log" "$n"; show "$log" "$n"

if [ "$total" != 0 ]; then
	echo "check: $total finding(s)"
	exit 1
fi
echo "check: clean"
