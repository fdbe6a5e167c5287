# iommufd: build, boot and test. The one entry point; see README.md.
#
#   make run           build, boot the VT-d VM, show the real-device demo (iommufd_vtd_demo)
#   make test          every test suite in VMs; last line "N passed, N failed, N skipped"
#   make check         sparse, W=1, checkpatch --strict, kernel-doc, the option matrix
#   make conformance   the base tree's own iommufd selftests against our kernel
#   make bench         ours vs upstream iommufd vs VFIO type1, timed in VMs; table into README.md
#   make compat-diff   our /dev/vfio/vfio vs VFIO's own type1: ioctl transcripts diffed in
#                      the vtd VM, against scripts/compat-diff.expected
#   make setup | kernel | selftests | initramfs | clean | distclean
#
# Variables (make VAR=value ...):
#   KERNEL=ours|upstream|type1  which iommufd: ours (default), the base tree's unchanged,
#                           or ours with VFIO's own type1 container
#   BENCH_ROUNDS=5 BENCH_REPS=3 BENCH_QUICK=1 BENCH_SHAPES="mock vtd" BENCH_AA=0 BENCH_README=0
#                           make bench: rounds, repetitions per boot, one repetition,
#                           VMs, no A/A boots, no README
#   BENCH_PROFILE=1         make bench: where the kernel spends the map/unmap time,
#                           ours and upstream (and type1's container small maps),
#                           into build/bench/<date>/profile.txt
#   ACCEL=tcg|kvm           QEMU accelerator (default tcg: KVM is unreliable when nested)
#   TEST_SUITES="mock ..."  suites of `make test` (scripts/suites/; default below)
#   FLAVOUR=x86             kernel flavour of make kernel/selftests/initramfs:
#                           x86, modules, arm64, arm64-64k, kasan, bench (test
#                           and run take the flavour from each suite)
#   IOMMUFD_STRESS_SECONDS  iommufd_stress's time budget in every suite
#                           (default 27); also _SEED, _OPS, _ONLY, _INJECT
#   DEMO=iommufd_vtd_demo   the program of `make run`; DEMO=iommufd_demo for the mock one
#   RUN_SUITE=vtd           the VM of `make run` (default: the one DEMO needs)
#   VM_TIMEOUT=1800         seconds before a VM is killed (and the run fails)
#   JOBS=<nproc>            parallel kernel build jobs

KERNEL      ?= ours
ACCEL       ?= tcg
TEST_SUITES ?= mock vtd amd noiommu modules modules-vtd arm64 smmuv3 kasan
FLAVOUR     ?= x86
RUN_SUITE   ?=
DEMO        ?= iommufd_vtd_demo
VM_TIMEOUT  ?= 1800
JOBS        ?= $(shell nproc)
export KERNEL ACCEL TEST_SUITES FLAVOUR RUN_SUITE DEMO VM_TIMEOUT JOBS

# The scripts run their own makes: hand them none of ours (-j, V=, ...).
unexport MAKEFLAGS MFLAGS
.NOTPARALLEL:

.PHONY: run test check conformance bench compat-diff setup kernel selftests initramfs clean distclean

run:
	@scripts/run.sh
test:
	@scripts/test.sh
check:
	@scripts/check.sh
conformance:
	@scripts/conformance.sh
bench:
	@scripts/bench.sh
compat-diff:
	@scripts/compat-diff.sh
setup:
	@scripts/setup.sh
kernel:
	@scripts/kernel.sh build
selftests:
	@scripts/selftests.sh
initramfs:
	@scripts/initramfs.sh

# clean keeps build/base (the unpacked tarball) and ccache's cache.
clean:
	rm -rf build/linux build/linux.version build/linux-upstream build/linux-upstream.version \
		build/obj-* build/selftests-* build/conformance-* build/initramfs build/logs build/run.* \
		build/bench-bin build/compat-diff
distclean:
	rm -rf build
