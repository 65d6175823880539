#!/bin/bash
# Collect an incident snapshot of this host into OUT (argument 1); the emergency role's
# snapshot step archives and fetches it. Read-only on the system: it writes only under OUT.
# Environment: SNAP_HOURS, SNAP_DAYS, SNAP_UNITS (space-separated globs), SNAP_CONFIG_DIR,
# SNAP_CHAINS (JSON list of {name, http_url}), SNAP_API_URL, SNAP_ENV_FILE (the engine's env file,
# read here for MEV_API_TOKEN so the token is never on a command line),
# SNAP_ENGINE_PIP (optional pip of the engine's venv).
set -u
OUT=$1
mkdir -p "$OUT"
cd "$OUT" || exit 1
run() { # run FILE CMD... : keep stdout and stderr of one command, never fail the snapshot
  local file=$1; shift
  { echo "\$ $*"; "$@"; echo "(exit $?)"; } >"$file" 2>&1
}

read -r -a units <<<"${SNAP_UNITS:-mev-*}"
journal_args=()
for u in "${units[@]}"; do journal_args+=(-u "$u"); done
run journal.txt journalctl --no-pager -o short-iso --since "-${SNAP_HOURS:-6}h" "${journal_args[@]}"
run units.txt systemctl list-units --all --no-pager --plain "${units[@]}"
run units-failed.txt systemctl --failed --no-pager --plain
run processes.txt ps auxww --sort=-%cpu
# Command lines can carry secrets (KEY=value, --password x): redact them.
sed -i -E 's/((token|password|passwd|secret|private_?key)[A-Za-z_]*(=|[[:space:]]+))[^[:space:]'"'"'"]+/\1<redacted>/Ig' processes.txt
run sockets.txt ss -tunap
# shellcheck disable=SC2016 # dpkg-query's own ${Package} format, not a shell expansion
run packages.txt dpkg-query -W -f '${Package} ${Version}\n'
if [ -n "${SNAP_ENGINE_PIP:-}" ] && [ -x "${SNAP_ENGINE_PIP}" ]; then
  run engine-packages.txt "$SNAP_ENGINE_PIP" freeze --disable-pip-version-check
fi
run config-changes.txt find "${SNAP_CONFIG_DIR:-/etc/mev}" /etc/systemd/system /var/lib/mevops \
  -mtime "-${SNAP_DAYS:-7}" -printf '%TY-%Tm-%Td %TH:%TM %u:%g %m %p\n'

# /etc/mev without secrets: the env file, keystores and anything vault-ish stay out; in the
# rest, values of keys that look secret are replaced.
if [ -d "${SNAP_CONFIG_DIR:-/etc/mev}" ]; then
  mkdir -p etc-mev
  (cd "${SNAP_CONFIG_DIR:-/etc/mev}" && find . -type f \
      ! -name '*.env' ! -name '*.json' ! -name '*.json.*' ! -name '*.key' ! -path './keystore*' ! -path './*archive*' \
      -print0 | while IFS= read -r -d '' f; do
        mkdir -p "$OUT/etc-mev/$(dirname "$f")"
        sed -E 's/((password|passwd|token|secret|private_?key|dsn)[A-Za-z_]*["'\'']?[[:space:]]*[:=][[:space:]]*).*/\1<redacted>/I' \
          "$f" >"$OUT/etc-mev/$f"
      done)
  run etc-mev-listing.txt ls -laR "${SNAP_CONFIG_DIR:-/etc/mev}"
fi

python3 - <<'PY' >engine-and-chains.txt 2>&1
import json, os, urllib.request
def get(url, token=None, body=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.read().decode()
    except Exception as exc:  # evidence, not a check: record and go on
        return f"ERROR {exc}"
api = os.environ.get("SNAP_API_URL")
if api:
    token = None
    try:
        with open(os.environ.get("SNAP_ENV_FILE") or "/etc/mev/engine.env") as env:
            for line in env:
                if line.startswith("MEV_API_TOKEN="):
                    token = line.split("=", 1)[1].strip()
    except OSError:
        pass
    print("== engine status\n" + get(api + "/api/v1/status", token))
    print("== engine ready\n" + get(api + "/health/ready"))
    print("== pending transactions\n" + get(api + "/api/v1/transactions?status=pending&limit=1000", token))
    with open("metrics.txt", "w") as out:
        out.write(get(api + "/metrics"))
for chain in json.loads(os.environ.get("SNAP_CHAINS") or "[]"):
    body = [{"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
            {"jsonrpc": "2.0", "id": 2, "method": "eth_getBlockByNumber", "params": ["latest", False]}]
    print(f"== node head {chain['name']}\n" + get(chain["http_url"], body=body)[:2000])
PY

# The manifest: every file with its size and sha256.
# shellcheck disable=SC2094 # find leaves out MANIFEST.txt, the one file the loop writes
find . -type f ! -name MANIFEST.txt -printf '%P\n' | sort | while read -r f; do
  printf '%s  %s  %s\n' "$(sha256sum "$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "$f"
done >MANIFEST.txt
echo "snapshot of $(hostname) at $(date -u +%FT%TZ) in $OUT"
