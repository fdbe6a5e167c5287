#!/usr/bin/env bash
# make test: build the kernel and the selftests, then boot one VM per suite of
# TEST_SUITES (scripts/suites/) and run its programs. The last line printed
# is the sum over all suites: "N passed, N failed, N skipped".
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

TEST_SUITES=${TEST_SUITES:-mock}

lock_builds
"$SCRIPTS/kernel.sh" build
"$SCRIPTS/initramfs.sh"
built=$BUILD/selftests-$KERNEL
initrd=$BUILD/initramfs/selftests-$KERNEL.cpio.gz
snapshot "$BZIMAGE" "$initrd" "$built/.tests" "$built/.extended"
unlock_builds

read -r -a tests <"$RUN_DIR/.tests" || true
read -r -a extended <"$RUN_DIR/.extended" || true
[ ${#tests[@]} -gt 0 ] || say NOTE "no test program is written yet: the VMs only boot"

passed=0 failed=0 skipped=0 status=0
for suite in $TEST_SUITES; do
	[ -f "$SCRIPTS/suites/$suite" ] || die "no suite '$suite' (scripts/suites/)"
	# shellcheck disable=SC1090,SC2154 # a suite file sets $programs
	wanted=$(. "$SCRIPTS/suites/$suite"; echo "$programs")
	progs=()
	for p in $wanted; do
		case $p in
		@TEST_GEN_PROGS)          progs+=("${tests[@]}") ;;
		@TEST_GEN_PROGS_EXTENDED) progs+=("${extended[@]}") ;;
		*) if [[ " ${tests[*]} ${extended[*]} " = *" $p "* ]]; then
			progs+=("$p")
		   else
			say NOTE "$suite: $p is not built ($SELFTESTS_DIR/$p.c not written?): not run"
		   fi ;;
		esac
	done
	"$SCRIPTS/vm-run" --name "$suite" --summary "$RUN_DIR/$suite.sum" \
		"$suite" "$RUN_DIR/bzImage" "$RUN_DIR/$(basename "$initrd")" "${progs[@]}" || status=1
	if [ -f "$RUN_DIR/$suite.sum" ]; then
		read -r p f s <"$RUN_DIR/$suite.sum"
		passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	else
		failed=$((failed + 1))   # the VM could not even be judged
	fi
done

echo "$passed passed, $failed failed, $skipped skipped"
exit $status
