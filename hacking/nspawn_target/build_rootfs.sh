#!/bin/sh
# Build (once) the Debian 13 root filesystem of the systemd target host: debootstrap minbase with systemd as
# init, sshd and python3 (for Ansible), nothing else - the freezer_scheduler role installs the rest itself.
# Its apt lists are emptied: the role must refresh them. Cached in DEST (a stamp names what was built): a second
# run with the same stamp does nothing. Usage: build_rootfs.sh DEST [MIRROR]
set -eu
dest=$1
mirror=${2:-http://deb.debian.org/debian}
packages=systemd,systemd-sysv,dbus,openssh-server,python3,ca-certificates
stamp="debian 13 trixie minbase $packages $mirror"
if [ -f "$dest/.dp-rootfs-stamp" ] && [ "$(cat "$dest/.dp-rootfs-stamp")" = "$stamp" ]; then
    echo "cached $dest"
    exit 0
fi
rm -rf "$dest.part"
mkdir -p "$(dirname "$dest")"
debootstrap --variant=minbase --include="$packages" trixie "$dest.part" "$mirror" > "$dest.log" 2>&1 || {
    tail -20 "$dest.log" >&2
    exit 1
}
# empty apt lists and package cache, a hostname of its own, a machine id generated at first boot
rm -rf "$dest.part/var/lib/apt/lists" "$dest.part/var/cache/apt/archives"
mkdir -p "$dest.part/var/lib/apt/lists/partial" "$dest.part/var/cache/apt/archives/partial"
echo dp-sched-target > "$dest.part/etc/hostname"
: > "$dest.part/etc/machine-id"
echo "$stamp" > "$dest.part/.dp-rootfs-stamp"
rm -rf "$dest"
mv "$dest.part" "$dest"
echo "built $dest"
