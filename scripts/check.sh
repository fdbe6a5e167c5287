#!/usr/bin/env bash
# make check: static checks of our files, a count per tool, non-zero exit on
# any finding.
#   sparse      make C=2 drivers/iommu/iommufd/
#   W=1         make W=1 drivers/iommu/iommufd/ (every file recompiled)
#   checkpatch  scripts/checkpatch.pl --strict --no-tree -f, every C/H file of ours
#   kernel-doc  scripts/kernel-doc -none -Wall, our headers and iommufd's .c/.h
#   matrix      the configurations users choose from (MATRIX below), each a
#               W=1 build of drivers/iommu/iommufd/ and drivers/vfio/: any
#               warning or error is a finding, and so is test code in a
#               production build (IOMMUFD_TEST=n)
# The kernel parts build in their own object directories, build/obj-check
# (the test kernel's config) and build/obj-check-matrix, so they never
# disturb build/obj-ours.
set -eu
KERNEL=ours
FLAVOUR=x86
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

# The option matrix: each entry is a name and the options it sets on top of
# the test kernel's config (x86_64). IOMMUFD built in and as a module, with
# and without the mock (IOMMUFD_TEST), with and without our VFIO container
# (IOMMUFD_VFIO_CONTAINER), with VFIO's own type1 container instead, and
# without VFIO at all; and once with SPARSEMEM_VMEMMAP, as every distribution
# kernel has it (the slim test config does not): it changes the types of the
# mm helpers (folio_page_idx() is then a pointer difference).
MATRIX=(
	"y-test-compat CONFIG_IOMMUFD=y CONFIG_IOMMUFD_TEST=y CONFIG_VFIO=y CONFIG_IOMMUFD_VFIO_CONTAINER=y"
	"y-prod-compat CONFIG_IOMMUFD=y CONFIG_IOMMUFD_TEST=n CONFIG_VFIO=y CONFIG_IOMMUFD_VFIO_CONTAINER=y"
	"y-prod-type1 CONFIG_IOMMUFD=y CONFIG_IOMMUFD_TEST=n CONFIG_VFIO=y CONFIG_VFIO_CONTAINER=y CONFIG_IOMMUFD_VFIO_CONTAINER=n"
	"y-test-novfio CONFIG_IOMMUFD=y CONFIG_IOMMUFD_TEST=y CONFIG_VFIO=n"
	"m-test-compat CONFIG_MODULES=y CONFIG_IOMMUFD=m CONFIG_IOMMUFD_TEST=y CONFIG_VFIO=m CONFIG_VFIO_PCI=m CONFIG_IOMMUFD_VFIO_CONTAINER=y"
	"m-prod-nocompat CONFIG_MODULES=y CONFIG_IOMMUFD=m CONFIG_IOMMUFD_TEST=n CONFIG_VFIO=m CONFIG_VFIO_PCI=m CONFIG_VFIO_CONTAINER=n CONFIG_IOMMUFD_VFIO_CONTAINER=n"
	"m-test-type1 CONFIG_MODULES=y CONFIG_IOMMUFD=m CONFIG_IOMMUFD_TEST=y CONFIG_VFIO=m CONFIG_VFIO_PCI=m CONFIG_VFIO_CONTAINER=y CONFIG_IOMMUFD_VFIO_CONTAINER=n"
	"m-prod-novfio CONFIG_MODULES=y CONFIG_IOMMUFD=m CONFIG_IOMMUFD_TEST=n CONFIG_VFIO=n"
	"m-prod-vmemmap CONFIG_MODULES=y CONFIG_IOMMUFD=m CONFIG_IOMMUFD_TEST=n CONFIG_VFIO=m CONFIG_VFIO_PCI=m CONFIG_SPARSEMEM_VMEMMAP=y"
)
OBJ_MATRIX=$BUILD/obj-check-matrix
VFIO_DIR=drivers/vfio
matrixmake() { make -C "$LINUX" O="$OBJ_MATRIX" ARCH=x86_64 CC="ccache gcc" -j"$JOBS" "$@"; }

# matrix_config NAME OPTION...: the test config with the options set, in
# $OBJ_MATRIX/.config; a line in the log for each option that did not stick.
matrix_config() {
	local name=$1 opt have; shift
	mkdir -p "$OBJ_MATRIX"
	cp "$OBJ/.config" "$OBJ_MATRIX/.config"
	for opt in "$@"; do
		sed -i "/^${opt%%=*}=/d; /^# ${opt%%=*} is not set/d" "$OBJ_MATRIX/.config"
		case $opt in
		*=n) echo "# ${opt%%=*} is not set" ;;
		*)   echo "$opt" ;;
		esac >>"$OBJ_MATRIX/.config"
	done
	matrixmake olddefconfig >/dev/null 2>&1 || { echo "$name: olddefconfig failed"; return; }
	for opt in "$@"; do
		have=$(sed -n "s/^${opt%%=*}=//p" "$OBJ_MATRIX/.config")
		[ "${opt#*=}" = "${have:-n}" ] ||
			echo "$name: ${opt%%=*} is '${have:-n}', not '${opt#*=}' (dependencies?)"
	done
}

# matrix_test_code NAME: in a build without IOMMUFD_TEST, any trace of the
# mock (selftest.o, mock_* or iommufd_test* symbols) in iommufd's objects.
matrix_test_code() {
	local dir=$OBJ_MATRIX/$IOMMUFD f
	[ ! -e "$dir/selftest.o" ] || echo "$1: selftest.o built without IOMMUFD_TEST"
	for f in "$dir"/*.o; do
		[ -e "$f" ] || continue
		nm "$f" 2>/dev/null | grep -E ' (mock_|iommufd_test|iommufd_selftest)' |
			sed "s|^|$1: ${f#"$OBJ_MATRIX"/}: test symbol |" | head -5
	done
}

say CHECK "option matrix: ${#MATRIX[@]} configurations, W=1 builds of $IOMMUFD/ and $VFIO_DIR/"
log=$LOGS/check-matrix.log
: >"$log"; : >"$log.found"
for entry in "${MATRIX[@]}"; do
	read -r name opts <<<"$entry"
	# shellcheck disable=SC2086 # $opts is a list
	matrix_config "$name" $opts >>"$log.found"
	find "$OBJ_MATRIX/$IOMMUFD" "$OBJ_MATRIX/$VFIO_DIR" -name '*.o' -delete 2>/dev/null || true
	echo "=== $name: $opts" >>"$log"
	dirs="$IOMMUFD/"
	grep -q '^CONFIG_VFIO=[ym]' "$OBJ_MATRIX/.config" && dirs="$dirs $VFIO_DIR/"
	# shellcheck disable=SC2086 # $dirs is a list
	matrixmake W=1 $dirs >"$log.one" 2>&1 || echo "(the build failed)" >>"$log.one"
	cat "$log.one" >>"$log"
	grep -E ': (warning|error):|\(the build failed\)' "$log.one" | sed "s/^/$name: /" >>"$log.found" || true
	grep -q '^CONFIG_IOMMUFD_TEST=y' "$OBJ_MATRIX/.config" || matrix_test_code "$name" >>"$log.found"
done
rm -f "$log.one"
n=$(wc -l <"$log.found"); findings matrix "$log" "$n"; show "$log.found" "$n"
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
