# shellcheck shell=bash
# Sourced by the scripts that install Debian packages on this machine (ensure-docker.sh, sanity.sh,
# unit.sh), some of which run side by side in the test command: apt_get waits for the others
# (one lock for them all, and for dpkg's own lock when something else holds it) instead of failing.
apt_get() {
  DEBIAN_FRONTEND=noninteractive flock /var/lock/mevops-apt.lock apt-get -o DPkg::Lock::Timeout=600 "$@"
}
