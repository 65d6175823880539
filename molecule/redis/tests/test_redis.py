"""Verify the redis role: loopback only, password required, memory policy, persistence."""

from __future__ import annotations

import time

PASSWORD = "molecule-redis-password-1"


def cli(host, *args: str, password: str | None = PASSWORD):
    env = f"REDISCLI_AUTH={password} " if password else ""
    return host.run(env + "redis-cli -h 127.0.0.1 -p 6379 " + " ".join(["%s"] * len(args)), *args)


def test_service_active_and_enabled(host):
    svc = host.service("redis-server")
    assert svc.is_running and svc.is_enabled


def test_listens_on_loopback_only(host):
    assert host.socket("tcp://127.0.0.1:6379").is_listening
    assert not host.socket("tcp://0.0.0.0:6379").is_listening
    listeners = [s for s in host.socket.get_listening_sockets() if s.endswith(":6379")]
    assert all(("127.0.0.1" in s) or ("::1" in s) for s in listeners), listeners


def test_answers_with_the_password_only(host):
    assert cli(host, "PING").stdout.strip() == "PONG"
    denied = cli(host, "SET", "intruder", "1", password=None)
    assert "NOAUTH" in denied.stdout + denied.stderr
    wrong = cli(host, "PING", password="not-the-password-at-all")
    assert "WRONGPASS" in wrong.stdout + wrong.stderr


def test_memory_and_persistence_settings(host):
    def get(name: str) -> str:
        return cli(host, "CONFIG", "GET", name).stdout.split("\n")[1].strip()

    assert get("maxmemory") == str(256 * 1024 * 1024)
    assert get("maxmemory-policy") == "noeviction"
    assert get("appendonly") == "yes"
    assert get("appendfsync") == "everysec"
    conf = host.file("/etc/redis/redis.conf")
    assert conf.user == "redis" and conf.mode == 0o640


def test_stream_and_keys_survive_a_restart(host):
    cli(host, "DEL", "mev:test:stream", "mev:test:key")
    assert cli(host, "SET", "mev:test:key", "kept").stdout.strip() == "OK"
    for i in range(3):
        assert cli(host, "XADD", "mev:test:stream", "*", "n", str(i)).rc == 0
    host.run_test("systemctl restart redis-server")
    for _round in range(30):
        if cli(host, "PING").stdout.strip() == "PONG":
            break
        time.sleep(1)
    assert cli(host, "GET", "mev:test:key").stdout.strip() == "kept"
    assert cli(host, "XLEN", "mev:test:stream").stdout.strip() == "3"
    assert host.file("/var/lib/redis/appendonlydir").is_directory
