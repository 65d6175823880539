"""Bad input to the postgresql and redis roles fails in preflight, naming the variable.

Runs each role for real with ansible-playbook against localhost in check mode, limited to
its preflight tag (argument specs are validated first, whatever the tags).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[3]
PG_OK = {"postgresql_app_password": "a-good-long-password"}
REDIS_OK = {"redis_password": "a-good-long-redis-password"}


def run_preflight(tmp_path: Path, role: str, variables: dict) -> subprocess.CompletedProcess[str]:
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "---\n- hosts: localhost\n  connection: local\n  gather_facts: false\n"
        f"  roles:\n    - role: mevops.infra.{role}\n"
    )
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(variables))
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(TOP / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(TOP / ".collections"),
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_FACT_CACHING="memory",
    )
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            "--check",
            "--tags",
            f"{role}_preflight",
            "-e",
            f"@{extra}",
            str(playbook),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=TOP,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(("role", "variables"), [("postgresql", PG_OK), ("redis", REDIS_OK)])
def test_defaults_pass_preflight(tmp_path, role, variables):
    result = run_preflight(tmp_path, role, variables)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"postgresql_database": "mev'; DROP DATABASE x; --"}, "postgresql_database=\"mev'; DROP"),
        ({"postgresql_app_user": "mev-user"}, 'postgresql_app_user="mev-user" is not a plain SQL identifier'),
        ({"postgresql_memory_mb": -1024}, "postgresql_memory_mb=-1024 must be null or 256"),
        ({"postgresql_memory_mb": 100000000}, "postgresql_memory_mb=100000000 must be null or 256 to this host's"),
        ({"postgresql_settings_overrides": {"shared_buffers": "-1GB"}}, "postgresql_settings_overrides.shared_buffers"),
        (
            {"postgresql_settings_overrides": {"shared_buffers": "64TB"}},
            "shared_buffers (64TB) plus maintenance_work_mem",
        ),
        ({"postgresql_settings_overrides": {"effective_cache_size": "64TB"}}, "effective_cache_size (64TB) may not"),
        ({"postgresql_workload": "batch"}, "postgresql_workload"),
        ({"postgresql_app_password": "short"}, "postgresql_app_password must be a string of at least 12"),
        (
            {"postgresql_hba_entries": [{"type": "host", "database": "all", "user": "all", "method": "scram-sha-256"}]},
            "postgresql_hba_entries[0]",
        ),
        (
            {
                "postgresql_hba_entries": [
                    {"type": "host", "database": "all", "user": "all", "address": "10.0.0.0/8", "method": "md5"}
                ]
            },
            "method",
        ),
        ({"postgresql_timescaledb": True}, "is not available from the configured package sources"),
    ],
)
def test_postgresql_bad_input_names_the_variable(tmp_path, variables, expected):
    result = run_preflight(tmp_path, "postgresql", {**PG_OK, **variables})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert expected in " ".join(output.split()), output


def test_postgresql_password_is_required(tmp_path):
    result = run_preflight(tmp_path, "postgresql", {})
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "postgresql_app_password" in output, output


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"redis_maxmemory": "-1gb"}, 'redis_maxmemory="-1gb" is not a Redis size'),
        ({"redis_maxmemory": "999999gb"}, "redis_maxmemory=999999gb is more than this host's"),
        ({"redis_maxmemory_policy": "lru"}, "redis_maxmemory_policy"),
        ({"redis_password": "has a space in it ok"}, "redis_password must be at least 16"),
        ({"redis_bind": ["0.0.0.0 6379"]}, "redis_bind="),
        ({"redis_config_extra": {"requirepass": "x"}}, 'redis_config_extra: "requirepass"'),
    ],
)
def test_redis_bad_input_names_the_variable(tmp_path, variables, expected):
    result = run_preflight(tmp_path, "redis", {**REDIS_OK, **variables})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert expected in " ".join(output.split()), output


def test_redis_password_is_required(tmp_path):
    result = run_preflight(tmp_path, "redis", {})
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "redis_password" in output, output
