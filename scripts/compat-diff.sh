#!/usr/bin/env bash
# make compat-diff: is our /dev/vfio/vfio the same as VFIO's own type1
# container, ioctl for ioctl?
#
#  1. Builds two x86 kernels from the same tree and config: ours (KERNEL=ours,
#     our container emulation) and KERNEL=type1 (VFIO's own container,
#     scripts/type1.config), each with its selftests and initramfs.
#  2. Boots the vtd VM (scripts/suites/vtd: QEMU's VT-d and edu) on each and
#     runs iommufd_vfio_group with IOMMUFD_TRANSCRIPT=1: every container and
#     group ioctl of its /dev/vfio/vfio variants prints one "TRANSCRIPT" line
#     (the ioctl, its inputs, its result and returned fields) on the
#     programs' serial port, build/logs/compat-<kernel>.out.log.
#  3. Takes the lines out into build/compat-diff/{ours,type1}.txt, and has
#     scripts/compat-diff-check diff them (build/compat-diff/diff.txt: "ours:
#     LINE" or "type1: LINE" for each line found in one transcript only) and
#     match every difference against scripts/compat-diff.expected, the
#     differences we keep on purpose, each listed in
#     Documentation/userspace-api/iommufd.rst: fields masked in both, and
#     lines in one only, each entry with the number of lines it must match.
#
# Exit status: non-zero when a difference is not expected, or either VM run
# failed (the program must pass on both kernels). Not run by CI; about 10
# minutes with both kernels built, plus the builds.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

SUITE=vtd
PROG=iommufd_vfio_group
EXPECTED=$SCRIPTS/compat-diff.expected
OUT=$BUILD/compat-diff
KERNELS="ours type1"

lock_builds
RUN_DIR=$(mktemp -d "$BUILD/run.XXXXXX")
trap 'rm -rf "$RUN_DIR"' EXIT
for k in $KERNELS; do
	KERNEL=$k FLAVOUR=x86 "$SCRIPTS/kernel.sh" build
	KERNEL=$k FLAVOUR=x86 "$SCRIPTS/initramfs.sh"
	cp "$BUILD/obj-$k/arch/x86/boot/bzImage" "$RUN_DIR/bzImage-$k"
	cp "$BUILD/initramfs/selftests-$k.cpio.gz" "$RUN_DIR/initrd-$k.cpio.gz"
done
unlock_builds

rm -rf "$OUT"
mkdir -p "$OUT"
status=0
for k in $KERNELS; do
	if ! IOMMUFD_TRANSCRIPT=1 "$SCRIPTS/vm-run" --name "compat-$k" "$SUITE" \
		"$RUN_DIR/bzImage-$k" "$RUN_DIR/initrd-$k.cpio.gz" "$PROG"; then
		say FAIL "$PROG did not pass on the $k kernel: its transcript may be incomplete"
		status=1
	fi
	sed -n 's/\r$//; s/^TRANSCRIPT //p' "$LOGS/compat-$k.out.log" >"$OUT/$k.txt"
done

if [ ! -s "$OUT/ours.txt" ] || [ ! -s "$OUT/type1.txt" ]; then
	say FAIL "a transcript is empty: nothing was compared"
	status=1
fi
# The lines in one transcript only go to diff.txt, each with its kernel.
"$SCRIPTS/compat-diff-check" "$EXPECTED" "$OUT/ours.txt" "$OUT/type1.txt" \
	"$OUT/diff.txt" || status=1
say DIFF "${OUT#"$ROOT"/}/: ours.txt, type1.txt, diff.txt"
exit $status
