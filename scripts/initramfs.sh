#!/usr/bin/env bash
# initramfs.sh NAME DIR PROG...: pack busybox, scripts/vm-init as /init, and
# the programs DIR/PROG as /tests/PROG into build/initramfs/NAME.cpio.gz.
# initramfs.sh (no arguments): build our selftests and pack all of them into
# build/initramfs/selftests-<flavor>[-<FLAVOUR>].cpio.gz.
# Both for the architecture of FLAVOUR, and with the kernel's modules under
# /lib/modules when its config has modules.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

if [ $# = 0 ]; then
	"$SCRIPTS/selftests.sh"
	dir=$SELFTESTS_OUT
	name=${INITRD##*/}
	# shellcheck disable=SC2046 # the lists are words
	set -- "${name%.cpio.gz}" "$dir" $(cat "$dir/.tests" "$dir/.extended")
fi
[ $# -ge 2 ] || die "usage: $0 [NAME DIR PROG...]"
name=$1 dir=$2; shift 2
stage=$BUILD/initramfs/$name
out=$BUILD/initramfs/$name.cpio.gz
# The statically linked busybox (a dynamic one may come first in PATH), the
# host's; its applet list serves the arm64 one too (the same Debian package,
# built for arm64, which the host cannot run).
busybox=$(dpkg -L busybox-static 2>/dev/null | grep -m1 -E '^(/usr)?/s?bin/busybox$') ||
	die "busybox-static is not installed (scripts/setup.sh)"
applets=$("$busybox" --list)
if [ "$KARCH" = arm64 ]; then
	busybox=$BUSYBOX_ARM64/bin/busybox
	[ -x "$busybox" ] || die "no arm64 busybox in ${BUSYBOX_ARM64#"$ROOT"/} (scripts/setup.sh)"
fi

rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/tests" "$stage/proc" "$stage/sys" "$stage/dev" "$stage/tmp"
cp "$busybox" "$stage/bin/busybox"
for applet in $applets; do
	[ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
done
cp "$SCRIPTS/vm-init" "$stage/init"
chmod 755 "$stage/init"
for prog in "$@"; do
	cp "$dir/$prog" "$stage/tests/$prog"
done
# The modules, stripped, with modules.dep for busybox's modprobe.
if grep -q '^CONFIG_MODULES=y' "$OBJ/.config" 2>/dev/null; then
	logged "$LOGS/modules-install-${OBJ##*/obj-}.log" \
		kmake -s modules_install INSTALL_MOD_PATH="$stage" INSTALL_MOD_STRIP=1
	[ -n "$(find "$stage/lib/modules" -name modules.dep)" ] ||
		die "modules_install made no modules.dep (is depmod, package kmod, installed?)"
	cp "$SCRIPTS/vm-modules" "$stage/tests/modules_load"
	ln -s modules_load "$stage/tests/modules_unload"
fi

# /dev/console comes from the kernel's built-in initramfs, which this one is
# unpacked over: no device node (and so no root) needed here.
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
