"""No secret in any output (issue 16 part 5): the devnet's secrets used as sentinels.

The sentinels are the values of inventories/devnet/group_vars/all/vault.yml (devnet-only random
strings, so a hit is never a coincidence) and the hot wallet's private key. For the whole session:

- every playbook the tier runs goes through Devnet.playbook / start_playbook at
  MEVOPS_INTEGRATION_VERBOSITY (default 3, i.e. -vvv), and its output is kept (`outputs()`);
- an argv watch on every devnet host (a transient systemd unit) and on the controller reads
  every process's command line ten times a second and records each one that holds a sentinel.
  A process that lives less than a tenth of a second can slip between two scans: the watch
  narrows the gap that `ps` during a run leaves, it does not close it.

test_99_no_secret_anywhere.py reads all of it at the end, with each host's journal (every
field, not only the message), /var/log, the incident snapshot and the controller's audit log.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devnet_hosts import BIN, TOP, VAULT_PASSWORD_FILE, ansible_env

if TYPE_CHECKING:
    from conftest import Devnet

# What the tier's playbooks print at: -vvv shows each task's arguments and environment, the
# place ansible-core 2.19 prints an `environment:` secret even under no_log.
VERBOSITY = int(os.environ.get("MEVOPS_INTEGRATION_VERBOSITY", "3"))
OUTPUT_DIR = TOP / ".cache" / "integration-output"
VAULT_FILE = TOP / "inventories" / "devnet" / "group_vars" / "all" / "vault.yml"
HOST_DIR = "/run/mevops-test-watch"
WATCH_UNIT = "mevops-test-argv-watch"
# (playbook, log) of the runs started with start_playbook (their files are the tests').
_started_logs: list[tuple[str, Path]] = []

# The argv watch, the same program on the hosts and on the controller: argv[1] is its folder,
# which holds `sentinels` ({name: [needles]}, JSON, mode 0600); it appends each hit (the secret's
# name, never its value) to argv-hits.jsonl and keeps the number of scans in argv-scans.
ARGV_WATCH = r"""
import json, os, sys, time
folder = sys.argv[1]
with open(os.path.join(folder, "sentinels"), encoding="utf-8") as f:
    needles = [(name, n.encode()) for name, forms in json.load(f).items() for n in forms]
seen, scans, written, own = set(), 0, 0.0, str(os.getpid())
while True:
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == own:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read()
        except OSError:
            continue
        for name, needle in needles:
            if needle in argv and (pid, name) not in seen:
                seen.add((pid, name))
                shown = argv.replace(b"\0", b" ")
                for _name, other in needles:
                    shown = shown.replace(other, b"<" + _name.encode() + b">")
                hit = {"pid": int(pid), "secret": name, "argv": shown.decode(errors="replace")[:400]}
                with open(os.path.join(folder, "argv-hits.jsonl"), "a", encoding="utf-8") as out:
                    out.write(json.dumps(hit) + "\n")
    scans += 1
    if time.time() - written >= 1:
        with open(os.path.join(folder, "argv-scans.tmp"), "w", encoding="utf-8") as out:
            out.write(str(scans))
        os.replace(os.path.join(folder, "argv-scans.tmp"), os.path.join(folder, "argv-scans"))
        written = time.time()
    time.sleep(0.1)
"""

# Runs on a host as root: reads {name: [needles]} on stdin, prints {where: [secret names]} for
# every journal entry field and every file under /var/log (journald's own files excepted: the
# journal is read through journalctl, compressed fields included).
HOST_SCAN = r"""
import gzip, json, os, subprocess, sys
needles = [(name, n.encode()) for name, forms in json.load(sys.stdin).items() for n in forms]
found = {}
def look(where, data):
    names = {name for name, needle in needles if needle in data}
    if names:
        found[where] = sorted(set(found.get(where, [])) | names)
journal = ["journalctl", "--no-pager", "--all", "-o", "json"]
for line in subprocess.run(journal, capture_output=True, check=True).stdout.splitlines():
    if any(needle in line for _name, needle in needles):
        try:  # which program logged it, for the report (never the value)
            entry = json.loads(line)
            who = f"{entry.get('SYSLOG_IDENTIFIER') or entry.get('_COMM') or '?'} {entry.get('_SYSTEMD_UNIT') or ''}"
        except ValueError:
            who = "?"
        look(f"journal ({who.strip()})", line)
files = 0
for top, dirs, names in os.walk("/var/log"):
    dirs[:] = [d for d in dirs if not (top == "/var/log" and d == "journal")]
    for name in names:
        path = os.path.join(top, name)
        try:
            with (gzip.open if name.endswith(".gz") else open)(path, "rb") as f:
                look(path, f.read())
            files += 1
        except (OSError, EOFError):
            pass
print(json.dumps({"found": found, "files": files}))
"""


def needles(value: str) -> list[str]:
    """The forms a secret takes in text: itself, percent-encoded (a URL's userinfo) and
    JSON-escaped, whichever differ."""
    forms = [value, urllib.parse.quote(value, safe=""), json.dumps(value)[1:-1]]
    return sorted(set(forms))


def vault_secrets() -> dict[str, str]:
    """{variable: value} of the devnet vault (the inventory's secrets, one per line there)."""
    import yaml

    proc = subprocess.run(
        [str(BIN / "ansible-vault"), "view", "--vault-password-file", str(VAULT_PASSWORD_FILE), str(VAULT_FILE)],
        capture_output=True, text=True, env=ansible_env(), cwd=TOP, timeout=120, check=True,
    )  # fmt: skip
    values = yaml.safe_load(proc.stdout)
    return {name: str(value).strip() for name, value in values.items() if str(value).strip()}


def record_output(playbook: str | Path, run: subprocess.CompletedProcess[str]) -> None:
    """Keep a finished playbook run's output for the end-of-tier scan."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUTPUT_DIR / f"{time.time_ns()}-{Path(playbook).name}.log"
    path.write_text(f"$ {' '.join(map(str, run.args))}\n{run.stdout}\n--- stderr\n{run.stderr}")


def record_started(playbook: str | Path, log: Path) -> None:
    _started_logs.append((Path(playbook).name, log))


def outputs() -> list[tuple[str, Path]]:
    """(playbook file name, output) of every run of this session; started runs whose log the
    test has removed are left out."""
    kept = sorted(OUTPUT_DIR.glob("*.log")) if OUTPUT_DIR.exists() else []
    return [(path.name.split("-", 1)[1].removesuffix(".log"), path) for path in kept] + [
        (name, log) for name, log in _started_logs if log.exists()
    ]


@dataclass
class SecretWatch:
    """The session's sentinels and argv watches (started by conftest's `secret_watch`)."""

    devnet: Devnet
    sentinels: dict[str, list[str]] = field(default_factory=dict)
    controller_dir: Path = TOP / ".cache" / "integration-watch"
    _controller: subprocess.Popen[bytes] | None = None

    def start(self, extra: dict[str, str]) -> None:
        self.sentinels = {name: needles(value) for name, value in {**vault_secrets(), **extra}.items()}
        shutil.rmtree(OUTPUT_DIR, ignore_errors=True)
        shutil.rmtree(self.controller_dir, ignore_errors=True)
        self.controller_dir.mkdir(mode=0o700, parents=True)
        payload = json.dumps(self.sentinels)
        (self.controller_dir / "sentinels").write_text(payload)
        (self.controller_dir / "sentinels").chmod(0o600)
        self._controller = subprocess.Popen([sys.executable, "-c", ARGV_WATCH, str(self.controller_dir)])
        for host in self.devnet.units:
            self.devnet.systemctl(host, "stop", WATCH_UNIT, check=False)
            self.devnet.exec(host, "sh", "-c", f"umask 077 && rm -rf {HOST_DIR} && mkdir {HOST_DIR} && "
                             f"cat > {HOST_DIR}/sentinels", input=payload)  # fmt: skip
            self.devnet.exec(host, "systemd-run", f"--unit={WATCH_UNIT}", "--collect", "--quiet",
                             "--property=Nice=10", "python3", "-c", ARGV_WATCH, HOST_DIR)  # fmt: skip

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.send_signal(signal.SIGTERM)
            self._controller.wait(timeout=30)
        for host in self.devnet.units:
            self.devnet.systemctl(host, "stop", WATCH_UNIT, check=False)

    def argv_hits(self) -> dict[str, Any]:
        """{place: [hits]} from every watch; raises when a watch did not run (no scans)."""
        hits: dict[str, Any] = {}
        idle = []
        read = f"cat {HOST_DIR}/argv-scans && echo && (cat {HOST_DIR}/argv-hits.jsonl 2>/dev/null || true)"
        for host in self.devnet.units:
            proc = self.devnet.exec(host, "sh", "-c", read, check=False)
            scans, _sep, lines = proc.stdout.partition("\n")
            if proc.returncode or not scans.strip().isdigit() or not int(scans):
                idle.append(f"{host} ({proc.stderr.strip()[:200]})")
            hits[host] = [json.loads(line) for line in lines.splitlines() if line.strip()]
        scans_file, hits_file = self.controller_dir / "argv-scans", self.controller_dir / "argv-hits.jsonl"
        if not scans_file.exists() or not int(scans_file.read_text() or 0):
            idle.append("the controller")
        lines = hits_file.read_text().splitlines() if hits_file.exists() else []
        hits["controller"] = [json.loads(line) for line in lines]
        if idle:
            raise AssertionError(f"the argv watch did not run on {', '.join(idle)}: its hits cannot be trusted")
        return {place: found for place, found in hits.items() if found}

    def scan_host(self, host: str) -> dict[str, Any]:
        """{where: [secret names]} in `host`'s journal and /var/log, and how many log files were read."""
        proc = self.devnet.exec(host, "python3", "-c", HOST_SCAN, input=json.dumps(self.sentinels), timeout=600)
        return json.loads(proc.stdout)

    def scan_text(self, data: bytes) -> list[str]:
        """The names of the sentinels in `data`."""
        return sorted({name for name, forms in self.sentinels.items() for form in forms if form.encode() in data})
