#!/usr/bin/env bash
# Make build/linux/: the base tree with upstream's iommufd replaced by ours.
#
# The first time, build/linux is a hardlinked copy of build/base (cheap). Then
# upstream's iommufd files are removed and ours copied in with `rsync -c`:
#  - files whose content did not change keep their mtime, so make recompiles
#    only what we changed;
#  - rsync writes a changed file to a temporary name and renames it over the
#    old one, so a file hardlinked to build/base is replaced, never written
#    through (hence no --inplace, ever);
#  - --delete inside our directories: a file we delete disappears.
set -eu
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

"$SCRIPTS/setup.sh"
lock_builds

if [ ! -d "$LINUX" ] || [ "$(cat "$LINUX.version" 2>/dev/null)" != "$(cat "$BASE.version")" ]; then
	say OVERLAY "hardlinking build/base to build/linux"
	rm -rf "$LINUX" "$LINUX.tmp"
	cp -al "$BASE" "$LINUX.tmp"
	mv "$LINUX.tmp" "$LINUX"
	cp "$BASE.version" "$LINUX.version"
fi
# build/linux must be a tree of its own: syncing into a symlink to build/base
# (or to anyone's base) would overwrite the pristine tree.
if [ -L "$LINUX" ] || [ "$LINUX" -ef "$BASE" ] || [ "$LINUX/drivers" -ef "$BASE/drivers" ]; then
	die "build/linux is a symlink or the same tree as build/base: refusing to write into it"
fi

# -r recursive, -l symlinks as symlinks, -c compare by checksum. No -t: a file
# that changed gets the time of the copy, newer than any object built from it.
sync() { rsync -rlc --delete "$@"; }

for d in $OUR_DIRS; do
	mkdir -p "$LINUX/$d"
	if [ -d "$ROOT/$d" ]; then
		sync "$ROOT/$d/" "$LINUX/$d/"
	else
		# Not written yet: nothing of upstream's may stay there either.
		find "$LINUX/$d" -mindepth 1 -delete
	fi
done
for f in $OUR_FILES; do
	if [ -f "$ROOT/$f" ]; then
		sync "$ROOT/$f" "$LINUX/$f"
	else
		rm -f "$LINUX/$f"
	fi
done
