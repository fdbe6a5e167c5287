#!/usr/bin/env bash
# Configure and build the kernel of the selected flavor (KERNEL=ours|upstream|type1)
# and FLAVOUR (x86, modules, arm64, arm64-64k, bench: see scripts/lib.sh).
#   kernel.sh config    .config from allnoconfig + our fragments, verified
#   kernel.sh headers   config, then headers_install into build/obj-<flavor>/usr/include
#   kernel.sh [build]   config, then the boot image (bzImage, arm64's Image),
#                       and the modules when the config has any
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

FRAGMENTS="$ROOT/$SELFTESTS_DIR/config"
for f in $FLAVOUR_FRAGS $KERNEL_FRAGS; do
	FRAGMENTS="$FRAGMENTS $SCRIPTS/$f"
done

# The value each fragment line asks for, last one wins, as "CONFIG_X=value"
# lines ("CONFIG_X=n" for "# CONFIG_X is not set").
requested_options() {
	# shellcheck disable=SC2086
	sed -n -e 's/^\(CONFIG_[A-Za-z0-9_]*=.*\)/\1/p' \
		-e 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set.*/\1=n/p' $FRAGMENTS |
		awk -F= '{ v[$1] = $0 } END { for (k in v) print v[k] }' | sort
}

# Fail loudly when the generated config does not have what the fragments ask.
verify_config() {
	local cfg=$1 bad=0 opt want have
	while IFS= read -r opt; do
		want=${opt#*=}
		have=$(sed -n "s/^${opt%%=*}=//p" "$cfg")
		[ -n "$have" ] || have=n
		if [ "$want" != "$have" ]; then
			echo "config: ${opt%%=*} is '$have', the fragments ask for '$want'" >&2
			bad=1
		fi
	done < <(requested_options)
	if [ "$bad" != 0 ]; then
		echo "config: unmet dependencies? See ${OBJ#"$ROOT"/}/.config.new and the fragments:" >&2
		echo "        $FRAGMENTS" >&2
		return 1
	fi
}

# Generate the config from scratch every time into .config.new; replace
# .config only when it differs, so an unchanged config rebuilds nothing.
make_config() {
	local log=$LOGS/config-${OBJ##*/obj-}.log new=$OBJ/.config.new
	mkdir -p "$OBJ"
	: >"$log"
	export KCONFIG_CONFIG=.config.new   # relative to $OBJ, for kconfig and merge_config.sh
	logged "$log.1" kmake allnoconfig
	# shellcheck disable=SC2086
	(cd "$OBJ" && logged "$log.2" "$SRC/scripts/kconfig/merge_config.sh" -m .config.new $FRAGMENTS)
	logged "$log.3" kmake olddefconfig
	unset KCONFIG_CONFIG
	cat "$log.1" "$log.2" "$log.3" >"$log"; rm -f "$log.1" "$log.2" "$log.3"
	verify_config "$new"
	if cmp -s "$new" "$OBJ/.config"; then
		rm -f "$new"
	else
		if [ -f "$OBJ/.config" ]; then
			say CONFIG "${OBJ##*/obj-}: config changed"
		else
			say CONFIG "${OBJ##*/obj-}: new config"
		fi
		mv "$new" "$OBJ/.config"
	fi
}

build_kernel() {
	local name=${OBJ##*/obj-} targets=$KIMAGE_TARGET start=$SECONDS
	local log=$LOGS/kernel-$name.log
	grep -q '^CONFIG_MODULES=y' "$OBJ/.config" && targets="$targets modules"
	say KERNEL "$name: building $targets (log: ${log#"$ROOT"/})"
	# shellcheck disable=SC2086 # $targets is a list
	logged "$log" kmake $targets
	say KERNEL "$name: $(( SECONDS - start ))s, ${KIMAGE#"$ROOT"/}"
}

install_headers() {
	logged "$LOGS/headers-${OBJ##*/obj-}.log" kmake headers_install
}

"$SCRIPTS/overlay.sh"
lock_builds
make_config
case ${1:-build} in
config)  ;;
headers) install_headers ;;
build)   build_kernel ;;
*) die "usage: $0 [config|headers|build]" ;;
esac
