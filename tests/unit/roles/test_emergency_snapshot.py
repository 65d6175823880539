"""roles/emergency/files/incident-snapshot.sh on a fake /etc/mev: secrets stay out (env file,
keystores, secret-looking values, command-line secrets), the manifest matches the files."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "emergency" / "files" / "incident-snapshot.sh"
SECRETS = ("env-api-token-0123456789", "keystore-pass-abc", "db-pass-xyz", "redis-pass-987")


def fake_config(root: Path) -> Path:
    config = root / "etc-mev"
    (config / "keystore").mkdir(parents=True)
    (config / "engine.env").write_text(f"MEV_API_TOKEN={SECRETS[0]}\nMEV_KEYSTORE_PASSWORD={SECRETS[1]}\n")
    (config / "keystore" / "hot.json").write_text('{"crypto": {"ciphertext": "00"}, "version": 3}')
    (config / "hot.json.1700000000.0xabc").write_text('{"crypto": {"ciphertext": "11"}}')
    (config / "engine.yml").write_text(
        "engine:\n  instance: test\npostgres:\n"
        f"  dsn: postgresql://mev_user:{SECRETS[2]}@db:5432/mev\nredis:\n  url: redis://127.0.0.1:6379/0\n"
        f"  password: {SECRETS[3]}\nwallet:\n  cold_wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'\n"
    )
    return config


def test_snapshot_keeps_evidence_and_no_secret(tmp_path):
    config = fake_config(tmp_path)
    out = tmp_path / "out"
    # A process whose command line carries a secret, as ps will show it.
    sleeper = subprocess.Popen(["python3", "-c", "import time; time.sleep(30)", f"--password={SECRETS[3]}"])
    try:
        env = {**os.environ, "SNAP_CONFIG_DIR": str(config), "SNAP_ENV_FILE": str(config / "engine.env"),
               "SNAP_HOURS": "1", "SNAP_UNITS": "mev-*", "SNAP_CHAINS": "[]", "SNAP_API_URL": ""}  # fmt: skip
        proc = subprocess.run(
            ["bash", str(SCRIPT), str(out)], check=False, env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        sleeper.kill()
    assert proc.returncode == 0, proc.stderr
    files = {p.relative_to(out).as_posix(): p for p in out.rglob("*") if p.is_file()}
    assert "etc-mev/engine.yml" in files
    assert not [name for name in files if name.endswith((".env", ".json")) or "keystore" in name or "hot.json" in name]
    kept = files["etc-mev/engine.yml"].read_text()
    assert "instance: test" in kept and "0x70997970C51812dc3A010C7d01b50e0d17dc79C8" in kept
    assert "dsn: <redacted>" in kept and "password: <redacted>" in kept
    assert "--password=<redacted>" in files["processes.txt"].read_text()
    for name, path in files.items():
        text = path.read_text(errors="replace")
        for secret in SECRETS:
            assert secret not in text, f"{secret} in {name}"
        assert "ciphertext" not in text, f"keystore content in {name}"
    manifest = dict(
        (line.split("  ")[2], line.split("  ")[0]) for line in files["MANIFEST.txt"].read_text().splitlines()
    )
    assert set(manifest) == set(files) - {"MANIFEST.txt"}
    for name, sha in manifest.items():
        assert hashlib.sha256(files[name].read_bytes()).hexdigest() == sha
