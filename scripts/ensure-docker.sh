#!/usr/bin/env bash
# Make a Docker engine available for molecule and the devnet.
#   ensure-docker.sh start   install Debian's docker.io when dockerd is missing and start
#                            dockerd when none answers; remember whether we started it
#   ensure-docker.sh stop    stop dockerd only if `start` started it
# Works with or without systemd as PID 1 (CI machines run without it).
set -euo pipefail
# shellcheck source=lib/apt.sh
. "$(dirname "$0")/lib/apt.sh"

state_dir=${MEVOPS_STATE_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.cache/run}
pidfile=$state_dir/dockerd.pid
log=$state_dir/dockerd.log
data_root=${MEVOPS_DOCKER_DATA_ROOT:-/var/lib/docker} # dockerd's default; set to test the fallback
mkdir -p "$state_dir"

docker_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  # Refresh the lists once per hour at most: apt-cache look-ups need them.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -mmin -60 2>/dev/null | head -n1)" ]; then
    apt_get update -q >/dev/null
  fi
  apt_get install -y -q --no-install-recommends "$@" >/dev/null
}

# Start dockerd in the background; true once it answers, false when it exits or stays silent 30 s.
launch() {
  nohup dockerd >"$log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 60); do
    docker_answers && { echo "dockerd is up"; return 0; }
    kill -0 "$(cat "$pidfile")" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

start() {
  local need=()
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v docker >/dev/null || need+=(docker.io)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  command -v iptables >/dev/null || need+=(iptables)
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]}"
    apt_install "${need[@]}"
  fi
  if docker_answers; then
    echo "dockerd already running: leaving it as it is"
    return 0
  fi
  echo "starting dockerd (log: $log)"
  launch && return 0
  # A dockerd killed while containers ran can leave state it panics on when restoring it (seen
  # on CI: a panic in daemon.restore). When this dockerd has exited that way, keep the old state
  # aside (never deleted) and start once more on an empty one; the base image is then rebuilt.
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null && grep -q '^panic:\|daemon\.(\*Daemon)\.restore' "$log"; then
    local aside
    aside=$data_root.unrestorable-$(date -u +%Y%m%dT%H%M%SZ)
    echo "dockerd panicked restoring $data_root; last lines of $log:" >&2
    tail -n 8 "$log" >&2 || true
    echo "FALLBACK: moving $data_root aside to $aside and starting dockerd on an empty state" >&2
    mv "$data_root" "$aside"
    launch && return 0
  fi
  echo "dockerd did not come up; last lines of $log:" >&2
  tail -n 20 "$log" >&2 || true
  return 1
}

stop() {
  [ -f "$pidfile" ] || { echo "dockerd was not started by this harness: leaving it running"; return 0; }
  local pid
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    echo "stopping dockerd (pid $pid) that this harness started"
    kill -TERM "$pid"
    # dockerd stops its containers first (10 s each at most): wait for it rather than leave
    # state half-written, which the next dockerd may panic on.
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" || true; fi
  fi
  rm -f "$pidfile"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
