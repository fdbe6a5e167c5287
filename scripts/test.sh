#!/usr/bin/env bash
# make test: build the kernel flavours and the selftests that the suites of
# TEST_SUITES (scripts/suites/) need, then boot one VM per suite and run its
# programs. The last line printed is the sum over all suites:
# "N passed, N failed, N skipped".
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

TEST_SUITES=${TEST_SUITES:-mock}

flavours=
for suite in $TEST_SUITES; do
	f=$(suite_flavour "$suite")
	[[ " $flavours " = *" $f "* ]] || flavours="$flavours $f"
done

# Build every flavour first, then boot: the build lock is free while VMs run.
# A flavour that does not build fails its suites, not the others.
lock_builds
RUN_DIR=$(mktemp -d "$BUILD/run.XXXXXX")
trap 'rm -rf "$RUN_DIR"' EXIT
broken=
for f in $flavours; do
	set_flavour "$f"
	if ! "$SCRIPTS/kernel.sh" build || ! "$SCRIPTS/initramfs.sh"; then
		say FAIL "the $f flavour did not build: its suites fail"
		broken="$broken $f"
		continue
	fi
	mkdir -p "$RUN_DIR/$f"
	cp "$KIMAGE" "$INITRD" "$SELFTESTS_OUT/.tests" "$SELFTESTS_OUT/.extended" "$RUN_DIR/$f/"
done
unlock_builds

passed=0 failed=0 skipped=0 status=0
for suite in $TEST_SUITES; do
	f=$(suite_flavour "$suite")
	set_flavour "$f"
	if [[ " $broken " = *" $f "* ]]; then
		printf '  %-10s FAIL not run: the %s flavour did not build\n' "$suite" "$f"
		failed=$((failed + 1)) status=1
		continue
	fi
	read -r -a tests <"$RUN_DIR/$f/.tests" || true
	read -r -a extended <"$RUN_DIR/$f/.extended" || true
	[ ${#tests[@]} -gt 0 ] || say NOTE "no test program is written yet: the VMs only boot"
	# shellcheck disable=SC1090,SC2154 # a suite file sets $programs
	wanted=$(. "$SCRIPTS/suites/$suite"; echo "$programs")
	progs=()
	for p in $wanted; do
		case $p in
		@TEST_GEN_PROGS)          progs+=("${tests[@]}") ;;
		@TEST_GEN_PROGS_EXTENDED) progs+=("${extended[@]}") ;;
		modules_load|modules_unload) progs+=("$p") ;;   # scripts/vm-modules
		*) if [[ " ${tests[*]} ${extended[*]} " = *" $p "* ]]; then
			progs+=("$p")
		   else
			say NOTE "$suite: $p is not built ($SELFTESTS_DIR/$p.c not written?): not run"
		   fi ;;
		esac
	done
	"$SCRIPTS/vm-run" --name "$suite" --summary "$RUN_DIR/$suite.sum" \
		"$suite" "$RUN_DIR/$f/${KIMAGE##*/}" "$RUN_DIR/$f/${INITRD##*/}" "${progs[@]}" || status=1
	if [ -f "$RUN_DIR/$suite.sum" ]; then
		read -r p fl s <"$RUN_DIR/$suite.sum"
		passed=$((passed + p)) failed=$((failed + fl)) skipped=$((skipped + s))
	else
		failed=$((failed + 1))   # the VM could not even be judged
	fi
done

echo "$passed passed, $failed failed, $skipped skipped"
exit $status
