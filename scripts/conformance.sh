#!/usr/bin/env bash
# make conformance: the base tree's OWN iommufd selftests (iommufd,
# iommufd_fail_nth), built against the uAPI headers of the kernel under test
# and run on it in the mock VM. Prints its own "N passed, N failed" line.
#
# The programs are taken from build/base (never from, or into, the repo) and
# built in a scratch directory next to ours, so that their includes
# ../kselftest_harness.h and ../../../../drivers/iommu/iommufd/iommufd_test.h
# resolve in the build tree:
#   KERNEL=ours      build/linux: our iommufd_test.h, our installed headers.
#   KERNEL=upstream  build/linux-upstream, a hardlinked copy of the base tree.
#     Debian's 6.12 selftests use a few mainline names that its own headers
#     lack; they are added to scratch copies of the two headers (add_names
#     below) so that upstream's iommufd can be measured too. Its mock driver
#     has no PASID-capable device: MOCK_FLAGS_DEVICE_PASID is 0 there (a plain
#     mock device), not mainline's 1 << 2, which it would refuse, failing the
#     setup of all 24 iommufd_ioas.mock_domain cases. So measured, upstream
#     passes 187 of 190 (the 3 get_hw_info cases that need input types).
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

lock_builds
"$SCRIPTS/kernel.sh" build
"$SCRIPTS/kernel.sh" headers

# Copy a file with sed edits applied, replacing (never writing through) DEST,
# which may be a hardlink into build/base.
sed_copy() {
	local src=$1 dest=$2; shift 2
	sed "$@" "$src" >"$dest.tmp"
	mv "$dest.tmp" "$dest"
}

# add_names UAPI_SRC UAPI_DEST TEST_H_SRC TEST_H_DEST: copies of the two
# headers with the mainline names that the base selftests need added.
add_names() {
	local uapi=$2 test_h=$4 name
	sed_copy "$1" "$uapi" \
		-e 's/^\(\t*\)IOMMU_HW_INFO_TYPE_NONE = 0,$/&\n\1IOMMU_HW_INFO_TYPE_DEFAULT = 0,/' \
		-e 's/^struct iommu_hw_info {$/enum iommufd_hw_info_flags {\n\tIOMMU_HW_INFO_FLAG_INPUT_TYPE = 1 << 0,\n};\n\n&/' \
		-e 's/^\t__u32 out_data_type;$/\tunion {\n\t\t__u32 in_data_type;\n\t\t__u32 out_data_type;\n\t};/'
	sed_copy "$3" "$test_h" \
		-e 's/^\(\t*\)MOCK_FLAGS_DEVICE_HUGE_IOVA = 1 << 1,$/&\n\1MOCK_FLAGS_DEVICE_PASID = 0,/' \
		-e 's/^#define _UAPI_IOMMUFD_TEST_H$/&\n\n#define MOCK_PASID_WIDTH 20/'
	for name in IOMMU_HW_INFO_TYPE_DEFAULT IOMMU_HW_INFO_FLAG_INPUT_TYPE in_data_type; do
		grep -q "$name" "$uapi" || die "could not add $name to $uapi"
	done
	for name in MOCK_FLAGS_DEVICE_PASID MOCK_PASID_WIDTH; do
		grep -q "$name" "$test_h" || die "could not add $name to $test_h"
	done
}

case $KERNEL in
ours)
	tree=$LINUX
	hdrs=$HDRS
	;;
upstream)
	tree=$BUILD/linux-upstream
	if [ ! -d "$tree" ] || [ "$(cat "$tree.version" 2>/dev/null)" != "$(cat "$BASE.version")" ]; then
		rm -rf "$tree" "$tree.tmp"
		cp -al "$BASE" "$tree.tmp"
		mv "$tree.tmp" "$tree"
		cp "$BASE.version" "$tree.version"
	fi
	hdrs=$BUILD/conformance-upstream/include
	rm -rf "$hdrs"
	mkdir -p "$hdrs"
	cp -a "$HDRS/." "$hdrs/"
	add_names "$HDRS/linux/iommufd.h" "$hdrs/linux/iommufd.h" \
		"$BASE/drivers/iommu/iommufd/iommufd_test.h" "$tree/drivers/iommu/iommufd/iommufd_test.h"
	;;
esac

scratch=$tree/tools/testing/selftests/iommu-conformance
out=$BUILD/conformance-$KERNEL
mkdir -p "$scratch" "$out"
rsync -rlc --delete "$BASE/$SELFTESTS_DIR/" "$scratch/"
read -r -a progs < <(kselftest_programs "$scratch" TEST_GEN_PROGS | xargs)
say CONFORM "$KERNEL: building the base tree's ${progs[*]} against $KERNEL's headers"
logged "$LOGS/conformance-$KERNEL-build.log" \
	make -B -C "$scratch" OUTPUT="$out" KHDR_INCLUDES="-isystem $hdrs" LDFLAGS=-static \
	"${progs[@]/#/$out/}"
"$SCRIPTS/initramfs.sh" "conformance-$KERNEL" "$out" "${progs[@]}"
snapshot "$BZIMAGE" "$BUILD/initramfs/conformance-$KERNEL.cpio.gz"
unlock_builds

status=0
"$SCRIPTS/vm-run" --name "conformance-$KERNEL" --summary "$RUN_DIR/sum" mock \
	"$RUN_DIR/bzImage" "$RUN_DIR/conformance-$KERNEL.cpio.gz" "${progs[@]}" || status=1
read -r p f s <"$RUN_DIR/sum" || { p=0 f=1 s=0; }
echo "$p passed, $f failed, $s skipped"
exit $status
