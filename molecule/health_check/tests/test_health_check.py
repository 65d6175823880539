"""The health check on one host in all four groups, run from the controller as an operator
would: healthy → exit 0 and the report files; an engine unit stopped → the gate fails naming
it, and the report run exits 2 with that unit's row critical."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[3]
UNIT = "mev-detection.service"
# Two shared cores: a busy moment makes CPU and load critical whatever the thresholds (100 %
# is reached), so the healthy run leaves the resources check out; the failing run has it.
HEALTHY_SCOPE = ["nodes", "engine", "wallets", "journal", "postgresql", "redis", "alerts", "integrity"]
HOT_ADDRESS = "import json; print(json.load(open('/etc/mev/keystore/hot.json'))['address'])"
FUND = (
    "import json, sys, urllib.request; req = urllib.request.Request('http://127.0.0.1:8545', json.dumps("
    "{'jsonrpc': '2.0', 'id': 1, 'method': 'anvil_setBalance', 'params': [sys.argv[1], '0x8AC7230489E80000']})"
    ".encode(), {'Content-Type': 'application/json'}); print(urllib.request.urlopen(req).read().decode())"
)


def playbook(path: Path, report_dir: Path, extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, ANSIBLE_CONFIG=str(TOP / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(TOP / ".collections"))
    extra_vars = {"health_check_report_dir": str(report_dir), **(extra or {})}
    return subprocess.run(
        [
            str(TOP / ".venv" / "bin" / "ansible-playbook"),
            "-i",
            os.environ["MOLECULE_INVENTORY_FILE"],
            str(path),
            "-e",
            json.dumps(extra_vars),
        ],
        cwd=TOP,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@pytest.fixture(scope="module")
def funded(host):
    address = "0x" + host.check_output(f'python3 -c "{HOT_ADDRESS}"').removeprefix("0x")
    host.run_test(f'python3 -c "{FUND}" {address}')
    return address


def test_healthy_host_exits_zero_with_json_and_markdown(host, funded, tmp_path):
    done = playbook(TOP / "playbooks" / "health_check.yml", tmp_path, {"health_check_scope": HEALTHY_SCOPE})
    assert done.returncode == 0, done.stdout[-4000:]
    [report_file] = tmp_path.glob("health_check-*.json")
    report = json.loads(report_file.read_text())
    assert report["status"] in ("ok", "warning")
    checks = {row["check"] for row in report["rows"]}
    assert {
        "node sync",
        "engine",
        "engine unit",
        "wallet balance",
        "postgresql",
        "redis",
        "alerts",
    } <= checks
    assert "resources" not in checks  # the scope is honoured
    [wallet] = [r for r in report["rows"] if r["check"] == "wallet balance"]
    assert wallet["severity"] == "ok" and wallet["reason"].startswith("10 ETH")
    [markdown] = tmp_path.glob("health_check-*.md")
    assert "| mevops-health-check | node sync | chain ethereum | ok |" in markdown.read_text()
    assert oct(report_file.stat().st_mode & 0o777) == "0o600"


def test_stopped_unit_fails_the_gate_and_the_report(host, funded, tmp_path):
    gate = tmp_path / "gate.yml"
    gate.write_text(
        "- hosts: engines\n  gather_facts: false\n  become: true\n  tasks:\n"
        "    - ansible.builtin.include_role:\n        name: mevops.infra.health_check\n        tasks_from: gate.yml\n"
        "      vars:\n        health_check_gate_ready_wait: 4\n"
    )
    host.run_test(f"systemctl stop {UNIT}")
    try:
        gated = playbook(gate, tmp_path / "gate")
        reported = playbook(TOP / "playbooks" / "health_check.yml", tmp_path / "report")
    finally:
        host.run_test(f"systemctl start {UNIT}")
    assert gated.returncode != 0
    assert f"engine unit {UNIT}: CRITICAL inactive (dead)" in gated.stdout
    assert not (tmp_path / "gate").exists()  # a gate writes no report
    assert reported.returncode == 2, reported.stdout[-4000:]
    [report_file] = (tmp_path / "report").glob("health_check-*.json")
    report = json.loads(report_file.read_text())
    assert report["status"] == "critical"
    [row] = [r for r in report["rows"] if r["target"] == UNIT]
    assert row["severity"] == "critical"
    assert report["rows"][0]["severity"] == "critical"  # worst first
    assert any(r["check"] == "resources" for r in report["rows"])
