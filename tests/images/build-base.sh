#!/usr/bin/env bash
# Build the molecule/devnet base image: Debian 12 minbase + systemd as PID 1,
# python3, sudo, the OpenSSH server (the devnet's transport; host keys made per container at
# its first boot) and the machine's local CA certificates. No registry is reachable
# on these machines, so the image comes from debootstrap and `docker import`.
# The tag carries a hash of this recipe; a build is skipped when it exists.
set -euo pipefail

image_repo=${MEVOPS_BASE_IMAGE_REPO:-mevops/debian12-systemd}
suite=bookworm
packages=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,ca-certificates,iproute2,procps,gnupg,openssh-server
local_ca_dir=/usr/local/share/ca-certificates

# Mirror: the first deb.debian.org-style URI in the host's apt sources.
mirror=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
  | grep -v security | head -n1 | awk '{print $2}' || true)
mirror=${MEVOPS_DEBIAN_MIRROR:-${mirror:-http://deb.debian.org/debian}}

ca_hash=$( (find "$local_ca_dir" -type f -name '*.crt' -print0 2>/dev/null | sort -z | xargs -0r cat) | sha256sum | cut -c1-12)
recipe_hash=$( (cat "$0"; echo "$suite $packages $ca_hash") | sha256sum | cut -c1-12)
tag="$image_repo:$recipe_hash"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "base image $tag is up to date"
  docker tag "$tag" "$image_repo:latest"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }

root=$(mktemp -d /var/tmp/mevops-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
cache=${MEVOPS_CACHE_DIR:-/var/cache/mevops}/debootstrap
mkdir -p "$cache"

echo "debootstrap $suite from $mirror (packages: $packages)"
debootstrap --variant=minbase --include="$packages" --cache-dir="$cache" "$suite" "$root" "$mirror" >/dev/null

# apt sources inside the image mirror the host's Debian sources (main + updates + security).
cat > "$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb ${mirror%/debian*}/debian-security $suite-security main
SOURCES

# The machine's local CAs: without them pip and npm inside containers fail TLS.
if compgen -G "$local_ca_dir/*.crt" >/dev/null || compgen -G "$local_ca_dir/*/*.crt" >/dev/null; then
  cp -a "$local_ca_dir/." "$root$local_ca_dir/"
fi
chroot "$root" update-ca-certificates >/dev/null

# systemd in a container: no getty, no udev trigger on boot, no hostname/time sync.
for unit in getty@tty1.service console-getty.service systemd-timesyncd.service \
            systemd-udevd.service systemd-udev-trigger.service systemd-firstboot.service \
            systemd-remount-fs.service sys-kernel-debug.mount sys-kernel-tracing.mount; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
# sshd: no host keys in the image (every container would share them); each container makes
# its own at first boot, before sshd's own config test (a drop-in resets ExecStartPre).
rm -f "$root"/etc/ssh/ssh_host_*
mkdir -p "$root/etc/systemd/system/ssh.service.d"
cat > "$root/etc/systemd/system/ssh.service.d/10-host-keys.conf" <<'DROPIN'
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
DROPIN
echo "LANG=C.UTF-8" > "$root/etc/default/locale"
: > "$root/etc/machine-id"
# Keep downloaded .debs: the test harness bind-mounts a shared apt archive cache.
echo 'Binary::apt::APT::Keep-Downloaded-Packages "true";' > "$root/etc/apt/apt.conf.d/01keep-debs"
rm -f "$root/etc/apt/apt.conf.d/docker-clean"
chroot "$root" apt-get clean
rm -rf "$root/var/lib/apt/lists/"*
mkdir -p "$root/var/lib/apt/lists/partial"
# No package lists in the image: date the folder to the epoch so that any
# `apt: cache_valid_time` refreshes them on first use.
touch -d @0 "$root/var/lib/apt/lists"

echo "importing $tag"
tar -C "$root" -c . | docker import \
  --change 'ENTRYPOINT ["/lib/systemd/systemd"]' \
  --change 'ENV container=docker' \
  - "$tag" >/dev/null
docker tag "$tag" "$image_repo:latest"
echo "built $tag"
