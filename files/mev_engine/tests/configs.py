"""Files the engine's entry points read, written for a test: the env file and a config whose
services cannot be reached (the preflight tests of mev-engine and mev-cli share them)."""

from __future__ import annotations

from pathlib import Path

import yaml


def env_file(tmp_path: Path, env: dict[str, str]) -> Path:
    path = tmp_path / "engine.env"
    path.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    return path


def unreachable_config(config: Path, tmp_path: Path, dbname: str | None = None) -> Path:
    """`config` with the first chain's node and Redis on the discard port (nothing listens),
    and the database renamed to `dbname` when given."""
    document = yaml.safe_load(config.read_text())
    document["chains"][0]["http_url"] = "http://127.0.0.1:9"
    document["redis"]["url"] = "redis://127.0.0.1:9/0"
    if dbname:
        document["postgres"]["dsn"] = document["postgres"]["dsn"].replace("mev_infrastructure", dbname)
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(document))
    return path
