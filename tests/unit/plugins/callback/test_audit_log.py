"""The audit_log callback, through real ansible-playbook runs against local hosts.

Each test writes a small playbook named like an audited one (emergency.yml, rotate_keys.yml)
into tmp_path and reads the JSON lines the callback appended to an audit file there.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playbook import ansible_env, run_playbook

from ansible_collections.mevops.infra.plugins.callback.audit_log import append_line, playbook_matches

HOSTS = ["-i", "engine-1,engine-2,", "-c", "local"]
SECRET = "S3cr3t-0xdeadbeefcafe"
VAULTED = "V4ulted-0xfeedface1234"

CHANGES = """---
- name: Stop trading
  hosts: all
  gather_facts: false
  tasks:
    - name: Stop the engine
      ansible.builtin.command: "true"
      notify: restart things
    - name: Read the engine state
      ansible.builtin.command: "true"
      changed_when: false
    - name: Cancel pending transactions
      ansible.builtin.command: "true"
      when: inventory_hostname == 'engine-1'
  handlers:
    - name: Restart things
      ansible.builtin.command: "true"
      listen: restart things
"""

RESTORE_TASKS = """\
    - name: Try something that may fail
      ansible.builtin.command: "false"
      ignore_errors: true
    - name: Restore the database
      ansible.builtin.command: "{{ 'false' if inventory_hostname == 'engine-2' else 'true' }}"
    - name: Check the restore
      ansible.builtin.command: "true"
"""

BACKUP_TASKS = """\
    - name: Dump the database
      ansible.builtin.command: "true"
      tags: [dump]
    - name: Notify the desk
      ansible.builtin.command: "true"
      tags: [notify]
"""

EMERGENCY_TASKS = """\
    - name: Sign the sweep with the hot wallet key
      ansible.builtin.command: "echo {{ engine_private_key }} {{ hot_wallet_password }}"
      no_log: true
    - name: Show the key (the default callback prints it; the audit must not)
      ansible.builtin.debug:
        msg: "{{ engine_private_key }} {{ hot_wallet_password }}"
    - name: Fail with the key in the message
      ansible.builtin.fail:
        msg: "{{ engine_private_key }} {{ hot_wallet_password }}"
      when: inventory_hostname == 'engine-2'
"""

UPGRADE_ENGINE_TASKS = """\
    - name: Take a long time
      ansible.builtin.command: sleep 60
"""


@pytest.fixture
def audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The audit file, with the callback enabled for every run of this test (through the environment)."""
    path = tmp_path / "audit" / "audit.jsonl"
    monkeypatch.setenv("ANSIBLE_CALLBACKS_ENABLED", "mevops.infra.audit_log")
    monkeypatch.setenv("MEVOPS_AUDIT_LOG_PATH", str(path))
    for name in ("MEVOPS_AUDIT_LOG_PLAYBOOKS", "ANSIBLE_AUDIT_OPERATOR", "SUDO_USER"):
        monkeypatch.delenv(name, raising=False)
    return path


def _play(name: str, tasks: str, hosts: str = "all") -> str:
    """A one-play playbook running `tasks` (YAML list items indented by four spaces) on `hosts`."""
    return f"---\n- name: {name}\n  hosts: {hosts}\n  gather_facts: false\n  tasks:\n{tasks}"


def _playbook(tmp_path: Path, name: str, text: str = CHANGES) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return run_playbook([*HOSTS, *args], timeout=180)


def test_audited_playbook_writes_start_and_end_with_counts(
    tmp_path: Path, audit: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUDO_USER", "bob")
    book = _playbook(tmp_path, "emergency.yml")
    result = _run([book, "--limit", "engine-*"])
    assert result.returncode == 0, result.stdout + result.stderr

    start, end = _records(audit)
    assert (start["event"], end["event"]) == ("start", "end")
    assert start["run_id"] == end["run_id"] and len(start["run_id"]) == 32
    assert start["playbook"] == book and end["playbooks"] == [book]
    assert start["operator"] == "bob", "SUDO_USER names the person behind sudo"
    assert start["limit"] == "engine-*"
    assert start["inventory"] == ["engine-1,engine-2,"]
    assert start["time"].endswith("+00:00") and start["time"] <= end["time"]
    assert start["check_mode"] is False
    assert end["status"] == "ok" and end["duration_s"] > 0
    assert "hosts" not in start
    assert end["hosts"]["engine-1"] == {
        "ok": 4,
        "changed": 3,
        "failed": 0,
        "unreachable": 0,
        "skipped": 0,
        "rescued": 0,
        "ignored": 0,
        "changed_tasks": ["Stop the engine", "Cancel pending transactions", "Restart things"],
        "failed_tasks": [],
    }
    assert end["hosts"]["engine-2"]["changed"] == 2
    assert end["hosts"]["engine-2"]["skipped"] == 1
    assert end["hosts"]["engine-2"]["changed_tasks"] == ["Stop the engine", "Restart things"]
    assert oct(audit.stat().st_mode & 0o777) == "0o600"
    assert oct(audit.parent.stat().st_mode & 0o777) == "0o700"


def test_runs_append_and_operator_override(tmp_path: Path, audit: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANSIBLE_AUDIT_OPERATOR", "alice")
    monkeypatch.setenv("SUDO_USER", "bob")
    book = _playbook(tmp_path, "rotate_keys.yml")
    for _attempt in range(2):
        assert _run([book]).returncode == 0
    records = _records(audit)
    assert [r["event"] for r in records] == ["start", "end", "start", "end"]
    assert records[0]["run_id"] != records[2]["run_id"]
    assert {r["operator"] for r in records} == {"alice"}
    assert records[0]["controller_user"] not in ("alice", "bob"), "the real account stays on record"


def test_other_playbooks_are_not_audited(tmp_path: Path, audit: Path) -> None:
    result = _run([_playbook(tmp_path, "site.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert not audit.exists()
    assert not audit.parent.exists()


def test_star_audits_every_playbook(tmp_path: Path, audit: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEVOPS_AUDIT_LOG_PLAYBOOKS", "*")
    book = _playbook(tmp_path, "site.yml")
    assert _run([book]).returncode == 0
    assert [(r["event"], r["playbook"]) for r in _records(audit)] == [("start", book), ("end", book)]


def test_failing_host_makes_the_run_failed(tmp_path: Path, audit: Path) -> None:
    book = _playbook(tmp_path, "restore.yml", _play("Restore", RESTORE_TASKS))
    result = _run([book])
    assert result.returncode == 2
    end = _records(audit)[-1]
    assert end["status"] == "failed"
    assert end["hosts"]["engine-2"]["failed"] == 1
    assert end["hosts"]["engine-2"]["failed_tasks"] == ["Restore the database"]
    assert end["hosts"]["engine-2"]["ignored"] == 1
    assert end["hosts"]["engine-1"]["failed"] == 0
    assert end["hosts"]["engine-1"]["failed_tasks"] == []
    # An ignored failure that reports a change counts as changed, as in the recap.
    assert end["hosts"]["engine-1"]["changed_tasks"] == [
        "Try something that may fail",
        "Restore the database",
        "Check the restore",
    ]
    assert end["hosts"]["engine-1"]["changed"] == 3
    assert end["hosts"]["engine-2"]["changed_tasks"] == ["Try something that may fail"]
    assert end["hosts"]["engine-2"]["changed"] == 1


def test_unreachable_host_makes_the_run_failed(tmp_path: Path, audit: Path) -> None:
    book = _playbook(tmp_path, "maintenance.yml")
    result = run_playbook(["-i", "ghost,", "-e", "ansible_connection=ssh", "-e", "ansible_port=1", book], timeout=180)
    assert result.returncode == 4, result.stdout + result.stderr
    end = _records(audit)[-1]
    assert end["status"] == "failed"
    assert end["hosts"]["ghost"]["unreachable"] == 1


def test_check_mode_tags_and_extra_var_names(tmp_path: Path, audit: Path) -> None:
    book = _playbook(tmp_path, "backup.yml", _play("Back up", BACKUP_TASKS))
    result = _run(
        [book, "--check", "--diff", "--tags", "dump,notify", "--skip-tags", "notify", "-e", "backup_reason=weekly"]
    )
    assert result.returncode == 0, result.stdout + result.stderr
    start, end = _records(audit)
    assert start["check_mode"] is True and start["diff"] is True
    assert start["tags"] == ["dump", "notify"] and start["skip_tags"] == ["notify"]
    assert start["extra_vars"] == ["backup_reason"]
    assert "weekly" not in audit.read_text()
    assert end["hosts"]["engine-1"]["skipped"] == 1, "command skips in check mode; notify was skipped by tag"


def test_secrets_never_reach_the_audit_file(tmp_path: Path, audit: Path) -> None:
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("default", VaultSecret(b"vault-pass"))])
    ciphertext = vault.encrypt(VAULTED).decode()
    (tmp_path / "secrets.yml").write_text(
        "---\nhot_wallet_password: !vault |\n" + "".join(f"  {line}\n" for line in ciphertext.splitlines())
    )
    (tmp_path / "vault-pass").write_text("vault-pass\n")
    book = _playbook(tmp_path, "emergency.yml", _play("Withdraw", EMERGENCY_TASKS))
    result = _run(
        [
            book,
            "-vvv",
            "-e",
            f"engine_private_key={SECRET}",
            "-e",
            f"@{tmp_path / 'secrets.yml'}",
            "--vault-password-file",
            str(tmp_path / "vault-pass"),
        ]
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert SECRET in result.stdout and VAULTED in result.stdout, "the test must be able to fail: values did flow"
    text = audit.read_text()
    assert SECRET not in text and VAULTED not in text
    assert "$ANSIBLE_VAULT" not in text
    start, end = _records(audit)
    assert start["extra_vars"] == ["engine_private_key", "hot_wallet_password"]
    assert end["hosts"]["engine-1"]["changed_tasks"] == ["Sign the sweep with the hot wallet key"]
    assert end["hosts"]["engine-2"]["failed_tasks"] == ["Fail with the key in the message"]


def test_concurrent_runs_leave_intact_lines(tmp_path: Path, audit: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 40 changing tasks with long names: each end line is above PIPE_BUF (4096 bytes), where
    # the kernel no longer promises atomic pipe writes. debug runs on the controller: fast.
    tasks = "".join(
        f'    - name: "Change step {i:02d} {"x" * 150}"\n      ansible.builtin.debug:\n        msg: step\n'
        "      changed_when: true\n"
        for i in range(40)
    )
    books = [_playbook(tmp_path, f"maintenance{n}.yml", _play("Maintain", tasks)) for n in range(3)]
    monkeypatch.setenv("MEVOPS_AUDIT_LOG_PLAYBOOKS", "maintenance*")
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda book: run_playbook(["-i", "engine-1,", "-c", "local", book]), books))
    assert [r.returncode for r in results] == [0, 0, 0], [r.stderr for r in results]

    records = _records(audit)  # json.loads fails on any torn or interleaved line
    assert len(records) == 6
    ends = [r for r in records if r["event"] == "end"]
    assert sorted(r["playbook"] for r in ends) == sorted(books)
    assert len({r["run_id"] for r in records}) == 3
    spans = {r["run_id"]: [x["time"] for x in records if x["run_id"] == r["run_id"]] for r in ends}
    overlapping = [
        a for a in spans for b in spans if a != b and spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]
    ]
    assert overlapping, f"the runs did not overlap, nothing concurrent was tested: {spans}"
    for end in ends:
        assert len(end["hosts"]["engine-1"]["changed_tasks"]) == 40
        assert len(json.dumps(end)) > 4096


def _descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (Ansible's workers call setsid, so a process group misses them)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _commands(pids: list[int]) -> bytes:
    """The command lines of `pids` (NUL-separated arguments), one per line; gone processes are left out."""
    lines = []
    for pid in pids:
        with contextlib.suppress(OSError):
            lines.append(Path(f"/proc/{pid}/cmdline").read_bytes())
    return b"\n" + b"\n".join(lines)


def test_interrupted_run_leaves_its_start_line(tmp_path: Path, audit: Path) -> None:
    book = _playbook(tmp_path, "upgrade_engine.yml", _play("Upgrade", UPGRADE_ENGINE_TASKS, hosts="localhost"))
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", book],
        env=ansible_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Kill the controller in the middle of the task, as a lost session or `kill -9` would.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and b"\nsleep\0" not in _commands(_descendants(process.pid)):
            time.sleep(0.2)
    finally:
        for pid in [*_descendants(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()
    records = _records(audit)
    assert [r["event"] for r in records] == ["start"]
    assert records[0]["playbook"] == book


def test_unwritable_audit_file_warns_and_the_run_goes_on(
    tmp_path: Path, audit: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("MEVOPS_AUDIT_LOG_PATH", str(blocker / "audit.jsonl"))  # root ignores modes; a file does not
    result = _run([_playbook(tmp_path, "emergency.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert output.count("AUDIT LOG NOT WRITTEN") == 2, output  # the start and the end record
    assert "AUDIT LOG INCOMPLETE" in output
    assert str(blocker / "audit.jsonl") in output
    assert "changed=2" in result.stdout, "the playbook ran to the end"


@pytest.mark.parametrize(
    ("path", "patterns", "expected"),
    [
        ("/x/playbooks/emergency.yml", ["emergency"], True),
        ("/x/playbooks/emergency.yaml", ["emergency.yaml"], True),
        ("/x/playbooks/restore_drill.yml", ["restore"], False),
        ("/x/playbooks/restore_drill.yml", ["restore*"], True),
        ("/x/playbooks/site.yml", ["*"], True),
        ("/x/playbooks/site.yml", [], False),
        ("/x/emergency/site.yml", ["emergency"], False),
    ],
)
def test_playbook_patterns(path: str, patterns: list[str], expected: bool) -> None:
    assert playbook_matches(path, patterns) is expected


def test_enabled_and_configured_from_ansible_cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's ansible.cfg snippet: callbacks_enabled plus the [callback_audit_log] section."""
    for name in ("ANSIBLE_CALLBACKS_ENABLED", "MEVOPS_AUDIT_LOG_PATH", "MEVOPS_AUDIT_LOG_PLAYBOOKS"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "shared" / "audit.jsonl"
    config = tmp_path / "ansible.cfg"
    config.write_text(
        "[defaults]\ncallbacks_enabled = mevops.infra.audit_log\n\n"
        f"[callback_audit_log]\npath = {path}\nplaybooks = site, restore*\n"
    )
    env = {**ansible_env(), "ANSIBLE_CONFIG": str(config)}
    books = [_playbook(tmp_path, name) for name in ("site.yml", "restore_drill.yml", "emergency.yml")]
    for book in books:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), *HOSTS, book],
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
    assert [(r["event"], r["playbook"]) for r in _records(path)] == [
        ("start", books[0]),
        ("end", books[0]),
        ("start", books[1]),
        ("end", books[1]),
    ], "site and restore* are audited; emergency is not in this list"


def _append_many(path: str, writer: int, count: int) -> None:
    for n in range(count):
        append_line(path, {"writer": writer, "n": n, "pad": "x" * 20000})


def test_append_line_keeps_large_lines_whole_under_contention(tmp_path: Path) -> None:
    """Four processes appending 20 kB lines at once (five times PIPE_BUF): no line torn or interleaved."""
    path = str(tmp_path / "audit.jsonl")
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_append_many, args=(path, writer, 150)) for writer in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    records = _records(Path(path))
    assert len(records) == 600
    for writer in range(4):
        assert [r["n"] for r in records if r["writer"] == writer] == list(range(150))
