"""cold_start.yml from all-stopped (every unit on every devnet host stopped) reaches
trading-ready with trading disabled; with enable_trading=true the same playbook on the running
system enables trading and changes nothing else; the playbooks hold no fixed sleep."""

from __future__ import annotations

import re
import time
from pathlib import Path

import yaml

TOP = Path(__file__).resolve().parents[2]
PLAYBOOKS = [TOP / "playbooks" / "cold_start.yml", TOP / "playbooks" / "tasks" / "cold_start_component.yml"]


def tasks(document):
    """Every task dict in a playbook or task file, blocks and plays included."""
    for item in document or []:
        yield item
        for key in ("tasks", "pre_tasks", "post_tasks", "handlers", "block", "rescue", "always"):
            yield from tasks(item.get(key))


def test_cold_start_has_no_fixed_sleep():
    for path in PLAYBOOKS:
        for task in tasks(yaml.safe_load(path.read_text())):
            for module in ("ansible.builtin.pause", "pause", "ansible.builtin.wait_for", "wait_for"):
                assert module not in task, f"{path.name}: {task.get('name')} uses {module}"
            command = str(task.get("ansible.builtin.command", "")) + str(task.get("ansible.builtin.shell", ""))
            assert not re.search(r"\bsleep\b", command), f"{path.name}: {task.get('name')} sleeps"
            if "until" in task:
                # Polling a readiness probe: retries of 1 s, never a fixed wait before looking.
                assert int(task.get("delay", 5)) <= 1, f"{path.name}: {task.get('name')} polls every {task['delay']} s"


def test_cold_start_from_all_stopped_then_trading_on_request(devnet_ready):
    devnet = devnet_ready
    for host, units in devnet.units.items():
        devnet.systemctl(host, "stop", *units)
    assert devnet.inactive_units() == devnet.units, "not every unit stopped"
    assert not devnet.engine_ready()

    started = time.monotonic()
    run = devnet.playbook("cold_start.yml")
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert devnet.inactive_units() == {}, "units down after cold_start.yml"
    assert devnet.engine_ready()
    assert devnet.trading_state() == "disabled", "trading must stay disabled without enable_trading=true"
    print(f"cold_start.yml from all-stopped: {elapsed:.1f}s")

    # The same playbook on the running system, asked to enable trading: only that changes.
    run = devnet.playbook("cold_start.yml", extra_vars={"enable_trading": True})
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    changed = {host: c["changed"] for host, c in devnet.recap(run).items()}
    assert changed == {**dict.fromkeys(devnet.units, 0), "mevops-devnet-engine": 1}, changed
    try:
        assert devnet.trading_state() == "enabled"
    finally:
        status, body = devnet.api("POST", "/api/v1/trading/disable", {"reason": "integration test done"})
        assert status == 200, body
    assert devnet.trading_state() == "disabled"
