#!/usr/bin/env bash
# make run: build everything, boot the RUN_SUITE VM and show what the demo
# program DEMO prints as it goes. DEMO defaults to iommufd_vtd_demo, the
# real-device demo (QEMU's VT-d and edu device); DEMO=iommufd_demo is the mock
# IOMMU's. RUN_SUITE defaults to the VM the demo needs: mock for
# iommufd_demo, vtd otherwise.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

DEMO=${DEMO:-iommufd_vtd_demo}
if [ -z "${RUN_SUITE:-}" ]; then
	case $DEMO in
	iommufd_demo) RUN_SUITE=mock ;;
	*)            RUN_SUITE=vtd ;;
	esac
fi

# The kernel flavour that suite boots
set_flavour "$(suite_flavour "$RUN_SUITE")"

lock_builds
"$SCRIPTS/kernel.sh" build
"$SCRIPTS/initramfs.sh"
grep -qw -- "$DEMO" "$SELFTESTS_OUT/.tests" "$SELFTESTS_OUT/.extended" ||
	die "$DEMO is not built: $SELFTESTS_DIR/$DEMO.c is not written yet"
snapshot "$KIMAGE" "$INITRD"
unlock_builds

echo
echo "Booting a QEMU VM ($RUN_SUITE suite: scripts/suites/$RUN_SUITE) on the $KERNEL kernel;"
echo "it runs $DEMO, whose output follows."
echo
status=0
"$SCRIPTS/vm-run" --follow --no-tap --name run "$RUN_SUITE" \
	"$RUN_DIR/${KIMAGE##*/}" "$RUN_DIR/${INITRD##*/}" "$DEMO" || status=1
echo
if [ "$status" = 0 ]; then
	echo "$DEMO ran to completion and the kernel log is clean (build/logs/run.console.log)."
else
	echo "$DEMO FAILED: see above, and build/logs/run.out.log (its output), run.console.log (kernel)."
fi
exit $status
