#!/usr/bin/env bash
# initramfs.sh NAME DIR PROG...: pack busybox, scripts/vm-init as /init, and
# the programs DIR/PROG as /tests/PROG into build/initramfs/NAME.cpio.gz.
# initramfs.sh (no arguments): build our selftests and pack all of them into
# build/initramfs/selftests-<flavor>.cpio.gz.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

if [ $# = 0 ]; then
	"$SCRIPTS/selftests.sh"
	dir=$BUILD/selftests-$KERNEL
	# shellcheck disable=SC2046 # the lists are words
	set -- "selftests-$KERNEL" "$dir" $(cat "$dir/.tests" "$dir/.extended")
fi
[ $# -ge 2 ] || die "usage: $0 [NAME DIR PROG...]"
name=$1 dir=$2; shift 2
stage=$BUILD/initramfs/$name
out=$BUILD/initramfs/$name.cpio.gz
# The statically linked busybox (a dynamic one may come first in PATH).
busybox=$(dpkg -L busybox-static 2>/dev/null | grep -m1 -E '^(/usr)?/s?bin/busybox$') ||
	die "busybox-static is not installed (scripts/setup.sh)"

rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/tests" "$stage/proc" "$stage/sys" "$stage/dev" "$stage/tmp"
cp "$busybox" "$stage/bin/busybox"
for applet in $("$busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
done
cp "$SCRIPTS/vm-init" "$stage/init"
chmod 755 "$stage/init"
for prog in "$@"; do
	cp "$dir/$prog" "$stage/tests/$prog"
done

# /dev/console comes from the kernel's built-in initramfs, which this one is
# unpacked over: no device node (and so no root) needed here.
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
