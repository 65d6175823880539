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
  nohup dockerd >"$log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 60); do
    docker_answers && { echo "dockerd is up"; return 0; }
    kill -0 "$(cat "$pidfile")" 2>/dev/null || break
    sleep 0.5
  done
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
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" || true; fi
  fi
  rm -f "$pidfile"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
