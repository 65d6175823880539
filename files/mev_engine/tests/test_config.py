"""Config validation: every problem is listed at once, each readably; secrets from the env file."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from mev_engine.cli import main
from mev_engine.config import COMPONENT_SECRETS, ConfigError, load_config, parse_config, read_env_file

HOT = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
COLD = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
POOL_A = "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB"
POOL_B = "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"
ENV = {"MEV_API_TOKEN": "x" * 40, "MEV_KEYSTORE_PASSWORD": "secret"}

GOOD: dict[str, Any] = {
    "engine": {"instance": "devnet", "log_level": "info"},
    "redis": {"url": "redis://127.0.0.1:6379/0"},
    "postgres": {"dsn": "postgresql://mev_engine@127.0.0.1:5432/mev_infrastructure"},
    "api": {"host": "127.0.0.1", "port": 8090},
    "chains": [
        {"name": "ethereum", "http_url": "http://127.0.0.1:8545", "ws_url": "ws://127.0.0.1:8545"},
        {"name": "base", "chain_id": 31337, "devnet": True, "http_url": "http://127.0.0.1:8546"},
    ],
    "wallet": {"keystore": "/etc/mev/keystore/hot.json", "cold_wallet": COLD},
    "trading": {"min_profit_eth": 0.001, "max_gas_price_gwei": 300},
    "strategies": {
        "v2_cross_pool_arb": {
            "chains": {"ethereum": {"executor": HOT, "base_token": POOL_B, "pairs": [[POOL_A, POOL_B]]}}
        }
    },
}


def mutated(path: str, value: Any) -> dict[str, Any]:
    """GOOD with one value replaced (`a.b.0.c`), or deleted when value is DELETE."""
    document = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node: Any = document
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return document


DELETE = object()

BAD = [
    ("chains.0.name", "ethreum", "unknown chain 'ethreum'"),
    ("chains.0.http_url", "localhost:8545", "is not a valid http/https URL"),
    ("chains.0.http_url", "http://127.0.0.1:99999", "is not a valid http/https URL"),
    ("chains.0.ws_url", "http://127.0.0.1:8545", "is not a valid ws/wss URL"),
    ("chains.0.chain_id", 5, "is not ethereum's chain id 1"),
    ("chains.1.chain_id", -3, "expected a positive integer"),
    ("chains.0.poll_interval_seconds", 0, "out of range"),
    ("chains", [], "expected a non-empty list of chains"),
    ("wallet.cold_wallet", DELETE, "wallet.cold_wallet: is required"),
    ("wallet.cold_wallet", COLD.lower(), "is not EIP-55 checksummed"),
    ("wallet.cold_wallet", "0x1234", "is not an EVM address"),
    ("wallet.cold_wallet", "0x" + "0" * 40, "is the zero or a burn address"),
    ("wallet.cold_wallet", "0x000000000000000000000000000000000000dEaD", "is the zero or a burn address"),
    ("trading.min_profit_eth", -1, "out of range"),
    ("trading.min_profit_eth", "lots", "expected a number"),
    ("trading.max_gas_price_gwei", 1e9, "out of range"),
    ("trading.fee_bump_percent", 5, "out of range [10, 1000]"),
    ("trading.resend_after_seconds", 0, "out of range"),
    ("trading.max_resends", 21, "out of range [0, 20]"),
    ("redis.claim_idle_seconds", 0, "out of range"),
    ("redis.url", "http://127.0.0.1:6379", "is not a valid redis/rediss/unix URL"),
    ("postgres.dsn", "mysql://x@h/db", "is not a valid postgresql/postgres URL"),
    ("api.port", 70000, "out of range [1, 65535]"),
    ("engine.log_level", "loud", "is not one of debug, info, warning, error"),
    ("engine.stop_file", "emergency-stop.json", "is not an absolute path"),
    ("engine.colour", "blue", "unknown key"),
    ("strategies.v2_cross_pool_arb.chains.ethereum.executor", HOT.lower(), "is not EIP-55 checksummed"),
    ("strategies.v2_cross_pool_arb.chains.ethereum.pairs", [[POOL_A, POOL_A]], "both pools are the same contract"),
    ("strategies.v2_cross_pool_arb.chains.ethereum.pairs", [[POOL_A]], "expected [pool_a, pool_b]"),
    ("wallet.owned_contracts", {"chain": "base"}, "wallet.owned_contracts must be a list, found dict"),
    ("wallet.owned_contracts", [{"chain": "base", "address": "0x12"}], "wallet.owned_contracts[0].address must be 0x"),
    (
        "wallet.owned_contracts",
        [{"chain": "moon", "address": POOL_A}],
        f"{POOL_A} is on 'moon', not a configured chain",
    ),
    (
        "wallet.owned_contracts",
        [{"chain": "base", "address": POOL_A, "withdraw_eth": "withdrawETH(uint256)"}],
        "wallet.owned_contracts[0].withdraw_eth must be a function signature taking (address, uint256)",
    ),
]


def test_good_config_parses() -> None:
    config = parse_config(GOOD, ENV)
    assert list(config.chains) == ["ethereum", "base"]
    assert config.chains["ethereum"].chain_id == 1
    assert config.chains["base"].ws_url is None
    assert config.cold_wallet == COLD
    assert str(config.stop_file) == "/var/lib/mev/emergency-stop.json"  # the default
    assert config.arb["ethereum"].pairs[0].pool_a == POOL_A
    # The executor is an owned contract holding the base token without being listed (owned.py).
    assert [(c["chain"], c["address"], c["tokens"]) for c in config.owned_contracts] == [("ethereum", HOT, [POOL_B])]
    assert "secret" not in repr(config)


@pytest.mark.parametrize(("path", "value", "message"), BAD, ids=[f"{p}={v!r}"[:60] for p, v, _message in BAD])
def test_bad_value_is_named(path: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(mutated(path, value), ENV)
    assert any(message in problem for problem in caught.value.problems), caught.value.problems


def test_every_problem_is_listed_at_once() -> None:
    document = mutated("chains.0.name", "ethreum")
    document["chains"][1]["http_url"] = "nope"
    document["wallet"]["cold_wallet"] = COLD.lower()
    document["trading"]["min_profit_eth"] = 5000
    with pytest.raises(ConfigError) as caught:
        parse_config(document, {})
    text = str(caught.value)
    for expected in (
        "unknown chain 'ethreum'",
        "'nope' is not a valid http/https URL",
        "not EIP-55 checksummed",
        "trading.min_profit_eth: 5000 is out of range",
        "MEV_API_TOKEN",
        "MEV_KEYSTORE_PASSWORD",
    ):
        assert expected in text
    assert len(caught.value.problems) >= 6


def test_short_token_is_refused() -> None:
    with pytest.raises(ConfigError, match="shorter than 32"):
        parse_config(GOOD, {"MEV_API_TOKEN": "short", "MEV_KEYSTORE_PASSWORD": "x"})


def test_env_file_and_passwords_in_urls(tmp_path: Path) -> None:
    env = tmp_path / "engine.env"
    env.write_text(
        "# secrets\nMEV_API_TOKEN=" + "a" * 40 + "\nexport MEV_KEYSTORE_PASSWORD='p w'\n"
        'MEV_DB_PASSWORD="d@b/pass"\nMEV_REDIS_PASSWORD=r3d\n'
    )
    assert read_env_file(env)["MEV_KEYSTORE_PASSWORD"] == "p w"
    config_file = tmp_path / "engine.yml"
    config_file.write_text(yaml.safe_dump(GOOD))
    config = load_config(config_file, env, environ={})
    assert config.secrets.keystore_password == "p w"
    assert config.postgres_dsn_with_password() == (
        "postgresql://mev_engine:d%40b%2Fpass@127.0.0.1:5432/mev_infrastructure"
    )
    assert config.redis_url_with_password() == "redis://:r3d@127.0.0.1:6379/0"


def test_cli_validate_config_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yml"
    good.write_text(yaml.safe_dump(GOOD))
    env = tmp_path / "engine.env"
    env.write_text("MEV_API_TOKEN=" + "a" * 40 + "\nMEV_KEYSTORE_PASSWORD=x\n")
    assert main(["validate-config", "--config", str(good), "--env-file", str(env)]) == 0
    bad = tmp_path / "bad.yml"
    bad.write_text(yaml.safe_dump(mutated("wallet.cold_wallet", DELETE) | {"chains": [{"name": "moon"}]}))
    assert main(["validate-config", "--config", str(bad), "--env-file", str(env)]) == 1
    err = capsys.readouterr().err
    assert "wallet.cold_wallet: is required" in err
    assert "unknown chain 'moon'" in err
    assert "chains[0] (moon).http_url: is required" in err
    assert main(["validate-config", "--config", str(tmp_path / "missing.yml")]) == 1
    assert "cannot read the configuration file" in capsys.readouterr().err
    (tmp_path / "broken.yml").write_text("chains: [\n")
    assert main(["validate-config", "--config", str(tmp_path / "broken.yml"), "--no-secrets"]) == 1
    assert "not valid YAML" in capsys.readouterr().err


def test_a_component_requires_only_its_own_secrets() -> None:
    redis_only = {"MEV_REDIS_PASSWORD": "r"}
    assert parse_config(GOOD, redis_only, require_secrets=COMPONENT_SECRETS["detection"]).secrets.api_token == ""
    with pytest.raises(ConfigError, match="MEV_KEYSTORE_PASSWORD: is not set"):
        parse_config(GOOD, {"MEV_API_TOKEN": "x" * 40}, require_secrets=COMPONENT_SECRETS["execution"])
    with pytest.raises(ConfigError, match="MEV_API_TOKEN: is not set"):
        parse_config(GOOD, {"MEV_KEYSTORE_PASSWORD": "k"}, require_secrets=COMPONENT_SECRETS["monitoring"])
    assert parse_config(GOOD, {"MEV_KEYSTORE_PASSWORD": "k"}, require_secrets=COMPONENT_SECRETS["execution"])
