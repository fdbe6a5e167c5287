# shellcheck shell=bash disable=SC2034 # the variables are for the scripts that source this
# Common settings and helpers, sourced by every script in this directory.
#
# Layout of the ignored build folder (see README.md):
#   build/base/           pristine unpack of Debian's linux-source-6.12 (never modified)
#   build/linux/          the build copy: build/base hardlinked, with our files in place of upstream's
#   build/obj-<flavor>/   kernel objects (make O=...), <flavor> is "ours", "upstream" or
#                         "type1", then "-<FLAVOUR>" for a FLAVOUR other than x86
#                         (obj-ours-arm64, obj-type1-bench)
#   build/logs/           verbose logs of every step

set -eu

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPTS=$ROOT/scripts
BUILD=$ROOT/build
BASE=$BUILD/base
LINUX=$BUILD/linux
LOGS=$BUILD/logs
# The arm64 initramfs's busybox: Debian's busybox-static for arm64, unpacked
# here by setup.sh. Installing it would replace the amd64 one (the package is
# not co-installable), so it is downloaded and unpacked instead.
BUSYBOX_ARM64=$BUILD/busybox-arm64

# Which kernel:
#   ours      build/linux: our iommufd, and our emulation of VFIO's container
#   upstream  the base tree as Debian ships it, its own iommufd
#   type1     build/linux with VFIO's own container (vfio_iommu_type1) serving
#             /dev/vfio/vfio instead of our emulation: the baseline of the
#             container cases (make bench, and the compat comparisons).
#             KERNEL_FRAGS, applied after the flavour's, say so.
KERNEL=${KERNEL:-ours}
KERNEL_FRAGS=
case $KERNEL in
ours)     SRC=$LINUX ;;
upstream) SRC=$BASE ;;
type1)    SRC=$LINUX KERNEL_FRAGS=type1.config ;;
*) echo "KERNEL must be 'ours', 'upstream' or 'type1', not '$KERNEL'" >&2; exit 2 ;;
esac
SELFTESTS_DIR=tools/testing/selftests/iommu

# Which build of that kernel (the README's "Kernel flavours"), each with its
# own objects, selftests and initramfs:
#   x86        x86_64, iommufd and VFIO built in (the default)
#   modules    x86_64, iommufd, VFIO and vfio-pci as modules
#   arm64      arm64, cross-built with gcc-aarch64-linux-gnu, for virt's SMMUv3
#   arm64-64k  arm64 with 64 KiB pages, as enterprise distributions ship it
#   kasan      x86_64 as x86, with KASAN, DEBUG_OBJECTS, DEBUG_PAGEALLOC and
#              a 30 s hung-task timeout (scripts/vm-kasan.config)
#   bench      x86 without the checkers that distort timings (lockdep,
#              kmemleak, failure injection...): what make bench compares
FLAVOURS="x86 modules arm64 arm64-64k kasan bench"
FLAVOUR=${FLAVOUR:-x86}

# set_flavour NAME: the variables that depend on the flavour. Called below
# for $FLAVOUR; scripts that handle several flavours call it again.
#   KARCH CROSS      make's ARCH and CROSS_COMPILE
#   OBJ HDRS         the objects, and the uAPI headers headers_install makes
#   FLAVOUR_FRAGS    the flavour's config fragments, after the selftests' own
#                    (and before the kernel's, KERNEL_FRAGS)
#   KIMAGE_TARGET    the make target of the boot image, KIMAGE its path
#   SELFTESTS_OUT    the static selftests, INITRD the initramfs with them
#   QEMU_ARCH        qemu-system-$QEMU_ARCH boots it
set_flavour() {
	FLAVOUR=$1
	local suffix=-$FLAVOUR
	[ "$FLAVOUR" != x86 ] || suffix=
	case $FLAVOUR in
	x86)       KARCH=x86_64 CROSS='' FLAVOUR_FRAGS="vm.config vm-x86.config" ;;
	modules)   KARCH=x86_64 CROSS='' FLAVOUR_FRAGS="vm.config vm-x86.config vm-modules.config" ;;
	kasan)     KARCH=x86_64 CROSS='' FLAVOUR_FRAGS="vm.config vm-x86.config vm-kasan.config" ;;
	arm64)     KARCH=arm64 CROSS=aarch64-linux-gnu- FLAVOUR_FRAGS="vm.config vm-arm64.config" ;;
	arm64-64k) KARCH=arm64 CROSS=aarch64-linux-gnu-
		   FLAVOUR_FRAGS="vm.config vm-arm64.config vm-arm64-64k.config" ;;
	bench)     KARCH=x86_64 CROSS='' FLAVOUR_FRAGS="vm.config vm-x86.config bench.config" ;;
	*) echo "FLAVOUR must be one of: $FLAVOURS (not '$FLAVOUR')" >&2; exit 2 ;;
	esac
	case $KARCH in
	x86_64) KIMAGE_TARGET=bzImage KIMAGE_PATH=arch/x86/boot/bzImage QEMU_ARCH=x86_64 ;;
	arm64)  KIMAGE_TARGET=Image KIMAGE_PATH=arch/arm64/boot/Image QEMU_ARCH=aarch64 ;;
	esac
	OBJ=$BUILD/obj-$KERNEL$suffix
	HDRS=$OBJ/usr/include
	KIMAGE=$OBJ/$KIMAGE_PATH
	BZIMAGE=$KIMAGE                 # the older name, x86's
	SELFTESTS_OUT=$BUILD/selftests-$KERNEL$suffix
	INITRD=$BUILD/initramfs/selftests-$KERNEL$suffix.cpio.gz
	export FLAVOUR
}

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
	make -C "$SRC" O="$OBJ" ARCH="$KARCH" CROSS_COMPILE="$CROSS" \
		CC="ccache ${CROSS}gcc" -j"$JOBS" "$@"
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

# The kernel flavour the VM suite $1 (scripts/suites/$1) boots: its
# "flavour=" line, x86 if none.
suite_flavour() {
	[ -f "$SCRIPTS/suites/$1" ] || die "no suite '$1' (scripts/suites/)"
	# shellcheck disable=SC1090,SC2154 # a suite file sets $flavour
	(flavour=x86; . "$SCRIPTS/suites/$1"; echo "$flavour")
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

set_flavour "$FLAVOUR"
