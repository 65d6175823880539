"""Bad input to the postgresql and redis roles fails in preflight, naming the variable.

Runs each role for real with ansible-playbook against localhost in check mode, limited to
its preflight tag (argument specs are validated first, whatever the tags).
"""

from __future__ import annotations

import pytest
from rolerun import run_preflight

PG_OK = {"postgresql_app_password": "a-good-long-password"}
REDIS_OK = {"redis_password": "a-good-long-redis-password"}
OK = {"postgresql": PG_OK, "redis": REDIS_OK}


@pytest.mark.parametrize(("role", "variables"), OK.items())
def test_defaults_pass_preflight(tmp_path, role, variables):
    result = run_preflight(tmp_path, role, variables)
    assert result.returncode == 0, result.stdout + result.stderr


POSTGRESQL_BAD = [
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
]

REDIS_BAD = [
    ({"redis_maxmemory": "-1gb"}, 'redis_maxmemory="-1gb" is not a Redis size'),
    ({"redis_maxmemory": "999999gb"}, "redis_maxmemory=999999gb is more than this host's"),
    ({"redis_maxmemory_policy": "lru"}, "redis_maxmemory_policy"),
    ({"redis_password": "has a space in it ok"}, "redis_password must be at least 16"),
    ({"redis_bind": ["0.0.0.0 6379"]}, "redis_bind="),
    ({"redis_config_extra": {"requirepass": "x"}}, 'redis_config_extra: "requirepass"'),
]


@pytest.mark.parametrize(
    ("role", "variables", "expected"),
    [("postgresql", v, e) for v, e in POSTGRESQL_BAD] + [("redis", v, e) for v, e in REDIS_BAD],
)
def test_bad_input_names_the_variable(tmp_path, role, variables, expected):
    result = run_preflight(tmp_path, role, {**OK[role], **variables})
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert expected in " ".join(output.split()), output


@pytest.mark.parametrize(("role", "secret"), [("postgresql", "postgresql_app_password"), ("redis", "redis_password")])
def test_the_password_is_required(tmp_path, role, secret):
    result = run_preflight(tmp_path, role, {})
    output = result.stdout + result.stderr
    assert result.returncode != 0 and secret in output, output
