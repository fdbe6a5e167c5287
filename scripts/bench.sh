#!/usr/bin/env bash
# make bench: our iommufd against the base tree's upstream iommufd and VFIO's
# own type1 container, timed by one program (iommufd_bench, in
# tools/testing/selftests/iommu) in the same VMs.
#
#  1. Builds three kernels from the same base tree, all of the bench flavour
#     (FLAVOUR=bench: scripts/bench.config on top of the x86 test config,
#     without its lockdep, kmemleak and other checkers), in
#     build/obj-<kernel>-bench: KERNEL=ours, upstream, and type1 (ours with
#     CONFIG_VFIO_CONTAINER and CONFIG_VFIO_IOMMU_TYPE1 instead of our
#     container emulation).
#  2. Builds iommufd_bench against our installed headers, packs it alone into
#     an initramfs, and snapshots the kernels (scripts/lib.sh, snapshot).
#  3. Boots them in alternation, round after round; each round is
#       bench-mock: ours, upstream, ours again
#       bench-vtd:  ours, upstream, type1, ours again
#     (scripts/suites/bench-*). The second boot of ours is the A/A run: the
#     same kernel twice shows how far two boots differ by chance. type1 runs
#     only the VFIO container cases, in bench-vtd: its iommufd is ours.
#  4. scripts/bench-report takes the median over rounds of each boot's
#     medians and prints the table, which it also writes into README.md's
#     performance section.
#
# Everything a run measured is kept in build/bench/<date>/: results.txt (the
# BENCH lines of every boot, prefixed with round, VM and kernel), the logs of
# each boot, table.md. build/bench/latest points at the last run.
#
# Variables:
#   BENCH_ROUNDS=5       rounds of boots
#   BENCH_QUICK=1        one repetition per case inside a boot instead of three
#   BENCH_REPS=N         N repetitions per case inside a boot (1..9) instead of three
#   BENCH_SHAPES="mock vtd"  the VMs (scripts/suites/bench-<shape>)
#   BENCH_AA=0           no A/A boots (then no ratio can be called significant)
#   BENCH_README=0       leave README.md alone
#   BENCH_PROFILE=1      instead of the table: a profile of where the kernel
#                        spends the time of the map and unmap cases, ours and
#                        upstream in each VM (and type1's container small
#                        maps in bench-vtd), one round unless BENCH_ROUNDS
#                        says otherwise (iommufd_bench's "profile" option);
#                        written to build/bench/<date>/profile.txt
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

BENCH_PROFILE=${BENCH_PROFILE:-}
if [ -n "$BENCH_PROFILE" ]; then
	BENCH_ROUNDS=${BENCH_ROUNDS:-1}
else
	BENCH_ROUNDS=${BENCH_ROUNDS:-5}
fi
BENCH_QUICK=${BENCH_QUICK:-}
BENCH_REPS=${BENCH_REPS:-}
BENCH_SHAPES=${BENCH_SHAPES:-mock vtd}
BENCH_AA=${BENCH_AA:-1}
BENCH_README=${BENCH_README:-1}
KERNELS="ours upstream type1"
PROG=iommufd_bench

case $BENCH_ROUNDS in
''|*[!0-9]*|0) die "BENCH_ROUNDS must be a positive number, not '$BENCH_ROUNDS'" ;;
esac
for shape in $BENCH_SHAPES; do
	[ -f "$SCRIPTS/suites/bench-$shape" ] || die "no VM 'bench-$shape' (scripts/suites/)"
done

# The kernels booted in each VM, in order; "ours-aa" is ours booted again.
labels() {
	local l="ours upstream"
	[ "$1" != vtd ] || l="$l type1"
	# A profile is no comparison of timings: no A/A boot
	[ -n "$BENCH_PROFILE" ] || [ "$BENCH_AA" = 0 ] || l="$l ours-aa"
	echo "$l"
}

lock_builds
for k in $KERNELS; do
	KERNEL=$k FLAVOUR=bench "$SCRIPTS/kernel.sh" build
done
# The program, against our installed headers, alone in its initramfs.
KERNEL=ours FLAVOUR=bench "$SCRIPTS/kernel.sh" headers
bin=$BUILD/bench-bin
mkdir -p "$bin"
logged "$LOGS/bench-build.log" \
	make -C "$LINUX/$SELFTESTS_DIR" OUTPUT="$bin" \
	KHDR_INCLUDES="-isystem $BUILD/obj-ours-bench/usr/include" LDFLAGS=-static "$bin/$PROG"
FLAVOUR=bench "$SCRIPTS/initramfs.sh" bench "$bin" "$PROG"
snapshot "$BUILD/initramfs/bench.cpio.gz"
for k in $KERNELS; do
	cp "$BUILD/obj-$k-bench/arch/x86/boot/bzImage" "$RUN_DIR/bzImage-$k"
done
unlock_builds

out=$BUILD/bench/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out/logs"
ln -sfn "$(basename "$out")" "$BUILD/bench/latest"
results=$out/results.txt
{
	echo "# date $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "# rounds $BENCH_ROUNDS"
	echo "# quick ${BENCH_QUICK:-0}"
	echo "# shapes $BENCH_SHAPES"
	echo "# accel ${ACCEL:-tcg}"
	echo "# host $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) CPUs"
	echo "# qemu $(qemu-system-x86_64 --version | head -n1)"
	echo "# base $(cat "$BASE.version")"
} >"$results"

# boot ROUND SHAPE LABEL: one VM, its BENCH lines appended to $results.
boot() {
	local round=$1 shape=$2 label=$3 kernel=${3%-aa} opts=() name log
	[ -z "$BENCH_QUICK" ] || opts+=(quick)
	[ -z "$BENCH_REPS" ] || opts+=("reps$BENCH_REPS")
	[ "$kernel" != type1 ] || opts+=(compat)
	[ -z "$BENCH_PROFILE" ] || opts+=(profile)
	name=bench-$shape-$label
	log=$out/logs/r$round-$shape-$label
	if ! BENCH_OPTS=$(IFS=,; echo "${opts[*]:-none}") \
		"$SCRIPTS/vm-run" --no-tap --no-kmemleak --name "$name" "bench-$shape" \
		"$RUN_DIR/bzImage-$kernel" "$RUN_DIR/bench.cpio.gz" "$PROG" >"$log.report" 2>&1; then
		say BENCH "round $round, $shape, $label: the boot FAILED, its values are left out:"
		sed 's/^/    /' "$log.report" >&2
		echo "$round $shape $label BOOT-FAIL" >>"$results"
		status=1
	fi
	cp "$LOGS/$name.out.log" "$log.out.log" 2>/dev/null || true
	cp "$LOGS/$name.console.log" "$log.console.log" 2>/dev/null || true
	sed -n "s/\r\$//; s/^\(BENCH[-A-Z]* \)/$round $shape $label \1/p" "$log.out.log" >>"$results" 2>/dev/null || true
}

status=0
total=0
for shape in $BENCH_SHAPES; do
	read -r -a l <<<"$(labels "$shape")"
	total=$((total + ${#l[@]} * BENCH_ROUNDS))
done
n=0 start=$SECONDS
say BENCH "$total boots: $BENCH_ROUNDS round(s) of $(for s in $BENCH_SHAPES; do printf '%s: %s; ' "$s" "$(labels "$s")"; done)"
say BENCH "results in ${out#"$ROOT"/}"
for round in $(seq 1 "$BENCH_ROUNDS"); do
	for shape in $BENCH_SHAPES; do
		for label in $(labels "$shape"); do
			n=$((n + 1))
			say BENCH "boot $n of $total: round $round, $shape, $label ($(( (SECONDS - start) / 60 )) min so far)"
			boot "$round" "$shape" "$label"
		done
	done
done
say BENCH "$total boots in $(( (SECONDS - start) / 60 )) min"

if [ -n "$BENCH_PROFILE" ]; then
	# Each case's profiles, ours then upstream: the stable sort keeps the
	# boots' order and each profile's lines in theirs.
	grep ' BENCH-PROF \| BENCH [a-z0-9]*\.lat\.\| BENCH-FAIL ' "$results" |
		sort -s -k5,5 >"$out/profile.txt" || true
	say BENCH "profile in ${out#"$ROOT"/}/profile.txt"
	grep -q ' BENCH-PROF ' "$out/profile.txt" || status=1
	exit $status
fi

readme=()
[ "$BENCH_README" = 0 ] || readme=(--readme "$ROOT/README.md")
"$SCRIPTS/bench-report" "${readme[@]}" --markdown "$out/table.md" "$results" || status=1
exit $status
