# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
# Common settings and helpers, sourced by every script in this directory.
#
# Layout of the ignored build folder (see README.md):
#   build/base/           pristine unpack of Debian's linux-source-6.12 (never modified)
#   build/linux/          the build copy: build/base hardlinked, with our files in place of upstream's
#   build/obj-<flavor>/   kernel objects (make O=...), <flavor> is "ours" or "upstream"
#   build/logs/           verbose logs of every step

set -eu

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPTS=$ROOT/scripts
BUILD=$ROOT/build
BASE=$BUILD/base
LINUX=$BUILD/linux
LOGS=$BUILD/logs

# Which kernel: "ours" (build/linux) or "upstream" (the base tree as Debian ships it).
KERNEL=${KERNEL:-ours}
case $KERNEL in
ours)     SRC=$LINUX ;;
upstream) SRC=$BASE ;;
*) echo "KERNEL must be 'ours' or 'upstream', not '$KERNEL'" >&2; exit 2 ;;
esac
OBJ=$BUILD/obj-$KERNEL
HDRS=$OBJ/usr/include            # where headers_install puts the uAPI headers
SELFTESTS_DIR=tools/testing/selftests/iommu

# Our files, at their kernel paths: they replace the base tree's in build/linux.
OUR_DIRS="drivers/iommu/iommufd $SELFTESTS_DIR"
OUR_FILES="include/uapi/linux/iommufd.h include/linux/iommufd.h Documentation/userspace-api/iommufd.rst"
JOBS=${JOBS:-$(nproc)}

# Kernel builds of everyone on this machine take turns (2 cores are shared).
LOCK_FILE=/tmp/iommufd-kbuild.lock

# Fixed build identity, so that ccache hits and rebuilds compile only what changed.
# CCACHE_BASEDIR lets checkouts at different paths share cached objects.
export KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 2015"
export KBUILD_BUILD_USER=iommufd KBUILD_BUILD_HOST=iommufd KBUILD_BUILD_VERSION=1
export CCACHE_BASEDIR=$ROOT

mkdir -p "$LOGS"

say() { printf '  %-10s %s\n' "$1" "$2"; }
die() { echo "error: $*" >&2; exit 1; }

# Run make in the kernel source of the selected flavor, objects in $OBJ.
kmake() {
	make -C "$SRC" O="$OBJ" ARCH=x86_64 CC="ccache gcc" -j"$JOBS" "$@"
}

# logged LOG CMD...: run CMD with its output going to LOG; when it fails, show
# the lines that matter (compiler errors, or the end of the log) and fail.
logged() {
	local log=$1; shift
	if "$@" >"$log" 2>&1; then
		return 0
	fi
	echo "FAILED: $* (full log: ${log#"$ROOT"/})" >&2
	if grep -qE '(error|Error|ERROR)[: ]' "$log"; then
		grep -E -B2 -A3 '(error|Error|ERROR)[: ]' "$log" | head -60 >&2
	else
		tail -n 30 "$log" >&2
	fi
	return 1
}

# Take the machine-wide build lock (once per process tree: nested scripts see
# IOMMUFD_LOCK_HELD and do not try again, which would deadlock).
lock_builds() {
	[ -z "${IOMMUFD_LOCK_HELD:-}" ] || return 0
	if [ ! -e "$LOCK_FILE" ]; then
		(umask 0; touch "$LOCK_FILE") 2>/dev/null || true
	fi
	exec 9<"$LOCK_FILE"
	if ! flock -n 9; then
		say WAIT "another kernel build holds $LOCK_FILE"
		flock 9
	fi
	export IOMMUFD_LOCK_HELD=1
}

unlock_builds() {
	exec 9<&-
	unset IOMMUFD_LOCK_HELD
}

# Print the program names of a kselftest Makefile variable (TEST_GEN_PROGS or
# TEST_GEN_PROGS_EXTENDED) of the kselftest directory $1.
kselftest_programs() {
	make -s --no-print-directory -C "$1" -f Makefile -f "$SCRIPTS/print-var.mk" \
		OUTPUT=/nonexistent print-"$2" | tr ' ' '\n' | sed -n 's,.*/,,p'
}

# snapshot FILE...: copy the files into a fresh private directory $RUN_DIR,
# so that the VMs of this run boot what this run built even when someone else
# rebuilds meanwhile. Removed at exit.
snapshot() {
	RUN_DIR=$(mktemp -d "$BUILD/run.XXXXXX")
	cp "$@" "$RUN_DIR/"
	trap 'rm -rf "$RUN_DIR"' EXIT
}

BZIMAGE=$OBJ/arch/x86/boot/bzImage
