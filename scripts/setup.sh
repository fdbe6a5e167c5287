#!/usr/bin/env bash
# Install what the build-boot-test loop needs and unpack the base tree into
# build/base/. Idempotent, and silent when there is nothing to do.
#
# build/base/ is Debian's linux-source-6.12 as shipped, never modified. It is
# unpacked again (and everything built from it thrown away) when the installed
# package's version differs from the one recorded in build/base.version, or
# when the base tree's iommufd files no longer match their recorded checksum.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

PACKAGES="linux-source-6.12 qemu-system-x86 busybox-static sparse ccache flex bison bc
	libelf-dev libssl-dev cpio rsync xz-utils gzip dwarves gcc make libc6-dev
	python3 perl util-linux coreutils findutils"
# What a flavour needs on top (scripts/lib.sh): modules_install runs depmod;
# arm64 is cross-built and booted by qemu-system-aarch64.
case $FLAVOUR in
modules) PACKAGES="$PACKAGES kmod" ;;
arm64*)  PACKAGES="$PACKAGES qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;;
esac

missing_packages() {
	local p
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			echo "$p"
	done
}

install_packages() {
	local missing sudo=
	missing=$(missing_packages)
	[ -n "$missing" ] || return 0
	[ "$(id -u)" = 0 ] || sudo=sudo
	say SETUP "installing: $(echo "$missing" | xargs)"
	local log=$LOGS/apt.log
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	if ! $sudo apt-get install -y -q --no-install-recommends $missing >"$log" 2>&1; then
		# Unknown packages or stale lists: refresh them once and retry.
		logged "$log" $sudo apt-get update -q
		# shellcheck disable=SC2086
		logged "$log" $sudo apt-get install -y -q --no-install-recommends $missing
	fi
}

# A checksum of the base tree's iommufd files (the ones we replace): if
# anything wrote into build/base by mistake, that is where it went.
base_sum() {
	# shellcheck disable=SC2086 # the lists are words
	(cd "$BASE" && find $OUR_DIRS $OUR_FILES -type f 2>/dev/null | LC_ALL=C sort |
		xargs -r sha256sum | sha256sum | cut -d' ' -f1)
}

unpack_base() {
	local version tarball
	version=$(dpkg-query -W -f='${Version}' linux-source-6.12)
	if [ -d "$BASE" ] && [ "$(cat "$BASE.version" 2>/dev/null)" = "$version $(base_sum)" ]; then
		return 0
	fi
	if [ -d "$BASE" ] && [ "$(cut -d' ' -f1 "$BASE.version" 2>/dev/null)" = "$version" ]; then
		say SETUP "build/base was modified (it must stay pristine): unpacking it again"
	fi
	# Debian ships the tree as /usr/src/linux-source-6.12.tar.xz (the name
	# carries no patch level); take whatever the package installed.
	tarball=$(dpkg-query -L linux-source-6.12 | grep -E '^/usr/src/linux-source-6\.12[^/]*\.tar\.(xz|bz2|gz)$' | head -n1)
	if [ -z "$tarball" ] || [ ! -f "$tarball" ]; then
		die "linux-source-6.12 installed no tarball under /usr/src"
	fi

	lock_builds
	say SETUP "unpacking $(basename "$tarball") ($version) into build/base"
	# Everything derived from an older base goes: hardlinked copy, objects.
	rm -rf "$BASE" "$BASE.version" "$BASE.tmp" "$LINUX" "$BUILD"/linux-* "$BUILD"/obj-*
	mkdir -p "$BASE.tmp"
	tar -xf "$tarball" -C "$BASE.tmp" --strip-components=1
	mv "$BASE.tmp" "$BASE"
	echo "$version $(base_sum)" >"$BASE.version"
}

# Unpack busybox-static:arm64 into $BUSYBOX_ARM64 (bin/busybox), once.
# apt needs arm64 as a foreign architecture, and its package lists, first.
fetch_busybox_arm64() {
	local log=$LOGS/apt-arm64.log tmp sudo=
	[ ! -x "$BUSYBOX_ARM64/bin/busybox" ] || return 0
	[ "$(id -u)" = 0 ] || sudo=sudo
	say SETUP "fetching busybox-static for arm64"
	: >"$log"
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		logged "$log" $sudo dpkg --add-architecture arm64
		logged "$log" $sudo apt-get update -q
	fi
	tmp=$(mktemp -d "$BUILD/busybox-arm64.XXXXXX")
	if ! (cd "$tmp" && apt-get download -q busybox-static:arm64) >>"$log" 2>&1; then
		logged "$log" $sudo apt-get update -q
		(cd "$tmp" && logged "$log" apt-get download -q busybox-static:arm64)
	fi
	logged "$log" dpkg-deb -x "$tmp"/busybox-static_*_arm64.deb "$tmp/root"
	rm -rf "$BUSYBOX_ARM64"
	mkdir -p "$BUSYBOX_ARM64/bin"
	cp "$tmp/root/bin/busybox" "$BUSYBOX_ARM64/bin/busybox"
	rm -rf "$tmp"
}

install_packages
case $FLAVOUR in
arm64*) fetch_busybox_arm64 ;;
esac
unpack_base
