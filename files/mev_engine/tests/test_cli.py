"""mev-cli, the runbooks' operator commands, against a running monitoring process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import services
from configs import env_file, unreachable_config
from devnet import ETH, Devnet, wait_for

from mev_engine.client import main
from mev_engine.fees import DUST_WEI, MARGIN_PERCENT, with_margin


def test_mev_cli_commands_and_exit_codes(engine: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    api = engine(("monitoring",))
    env = tmp_path / "engine.env"
    env.write_text(f"MEV_API_TOKEN={api.token}\n")
    base = ["--url", api.api, "--env-file", str(env)]

    assert main([*base, "trading", "enable", "--reason", "cli test"]) == 0
    assert json.loads(capsys.readouterr().out)["trading"]["state"] == "enabled"
    assert main([*base, "status"]) == 0
    assert json.loads(capsys.readouterr().out)["trading"]["reason"] == "cli test"
    assert main([*base, "trading", "disable", "--graceful"]) == 0
    assert json.loads(capsys.readouterr().out)["trading"]["enabled"] is False
    assert main([*base, "transactions", "wait", "--timeout", "5"]) == 0
    assert "no transaction in flight" in capsys.readouterr().out
    assert main([*base, "transactions", "list", "--status", "pending", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main([*base, "emergency", "stop", "--reason", "drill"]) == 0
    assert json.loads(capsys.readouterr().out)["trading"]["state"] == "emergency_stop"
    # execution is not running: the engine says so instead of hanging
    assert main([*base, "transactions", "cancel", "--all", "--force"]) == 1
    assert "mev-execution is not running" in capsys.readouterr().err

    env.write_text("MEV_API_TOKEN=wrong\n")
    assert main([*base, "status"]) == 1
    assert "HTTP 401" in capsys.readouterr().err
    assert main(["--url", "http://127.0.0.1:9", "--env-file", str(env), "status"]) == 3
    assert "unreachable" in capsys.readouterr().err


def test_status_detailed_says_what_is_not_ready_and_what_is_pending(
    engine: Any, db: Any, funded_hot: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The runbook's `mev-cli status --detailed` after starting the services: the status document, each
    component's and chain's problem from /health/ready, every pending transaction; exit 1 until ready."""
    api = engine(("monitoring",))
    env = tmp_path / "engine.env"
    env.write_text(f"MEV_API_TOKEN={api.token}\n")
    detailed = ["--url", api.api, "--env-file", str(env), "status", "--detailed"]
    tx_hash = "0x" + "ab" * 32
    db.execute(
        "INSERT INTO mev.transactions (tx_hash, chain, from_address, nonce, status)"
        " VALUES (%s, 'ethereum', %s, 7, 'submitted')",
        (tx_hash, funded_hot.address),
    )

    assert main(detailed) == 1
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert main(["--url", api.api, "--env-file", str(env), "status"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert set(plain) < set(report)  # everything `status` prints, and more
    assert report["ready"] is False
    assert report["components"]["monitoring"] == {"up": True, "problem": None}
    assert "mev-detection has not reported" in report["components"]["detection"]["problem"]
    chain = report["chains"]["ethereum"]
    assert chain["head"] is None and chain["problem"] == "no head seen yet"
    assert chain["max_head_age_seconds"] > 0
    assert chain["pending_transactions"] == report["pending_transactions"] == 1
    assert [(row["hash"], row["nonce"], row["status"]) for row in report["pending"]] == [(tx_hash, 7, "submitted")]
    assert "the engine is not ready: component:detection: mev-detection has not reported" in out.err
    assert "chain:ethereum: no head seen yet" in out.err

    db.execute("DELETE FROM mev.transactions")  # not a real transaction: execution would go looking for it
    for component in ("detection", "calculation", "execution"):
        api.start(component)
    wait_for(lambda: api.call("GET", "/health/ready").status_code == 200, 60, "ready", api)
    assert main(detailed) == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    assert report["ready"] is True and report["failing"] == {} and report["pending"] == []
    assert all(c == {"up": True, "problem": None} for c in report["components"].values())
    chain = report["chains"]["ethereum"]
    assert isinstance(chain["head"], int) and chain["problem"] is None and chain["pending_transactions"] == 0
    assert 0 <= chain["head_age_seconds"] <= chain["max_head_age_seconds"]


def test_preflight_check_runs_the_engine_preflight(
    engine: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The runbook's `mev-cli preflight check`: the checks of `mev-engine preflight`, no API needed."""
    api = engine(())
    env = env_file(tmp_path, api.env)
    assert main(["--env-file", str(env), "preflight", "check", "--config", str(api.config)]) == 0
    out = capsys.readouterr().out
    for name in ("postgresql", "redis", "chain:ethereum", "keystore"):
        assert f"ok {name}" in out

    broken = unreachable_config(api.config, tmp_path)
    assert main(["--env-file", str(env), "preflight", "check", "--config", str(broken)]) == 1
    err = capsys.readouterr().err
    assert "FAILED redis" in err and "FAILED chain:ethereum" in err
    assert "mev-cli preflight check: 2 failed: redis, chain:ethereum" in err

    env.write_text(f"MEV_API_TOKEN={api.token}\n")  # the keystore password is missing
    assert main(["--env-file", str(env), "preflight", "check", "--config", str(api.config)]) == 1
    assert "MEV_KEYSTORE_PASSWORD" in capsys.readouterr().err


def test_withdraw_without_a_chain_withdraws_on_every_chain(
    engine: Any,
    devnet: Any,
    funded_hot: Any,
    anvil_binary: str,
    cold_wallet: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The runbook's `mev-cli wallet withdraw --emergency --to $COLD_WALLET` (no --chain) on an engine
    with three chains: two funded are emptied to the cold wallet, the empty one is reported as such
    (not a failure); with trading on, every chain refuses and the command fails, naming each."""
    # Base and OP Mainnet ids in anvil's OP-stack mode, with the devnet's L1 prices and stand-in oracle.
    others = [services.start_anvil(anvil_binary, chain_id=cid, network="optimism") for cid in (8453, 10)]
    try:
        base, optimism = (Devnet(node.url, {}) for node in others)
        l1_fee = base.op_stack_predeploys()
        optimism.op_stack_predeploys()
        base.fund(funded_hot.address, 5 * ETH)
        extra = (("base", others[0].url, 8453), ("optimism", others[1].url, 10))
        api = engine(("monitoring", "execution"), extra_chains=extra)
        api.wait_up("execution")
        env = tmp_path / "engine.env"
        env.write_text(f"MEV_API_TOKEN={api.token}\n")
        withdraw = ["--url", api.api, "--env-file", str(env), "wallet", "withdraw", "--emergency", "--to", cold_wallet]

        assert main(withdraw) == 0, capsys.readouterr()
        report = json.loads(capsys.readouterr().out)
        assert report["failed"] == []
        assert sorted(report["chains"]) == ["base", "ethereum", "optimism"]
        assert report["chains"]["optimism"]["error"].startswith("nothing to withdraw on optimism")
        for name, chain in (("ethereum", devnet), ("base", base)):
            moved = report["chains"][name]
            chain.w3.eth.wait_for_transaction_receipt(moved["tx_hash"], timeout=30)
            # Read from the chain, not from the engine's records.
            assert chain.w3.eth.get_balance(cold_wallet) == int(moved["amount_wei"]) > 0, name
        # Exact on Ethereum; on the OP-stack chain the L1 data fee was reserved with its margin and
        # paid, and the unspent margin is all that stays.
        assert devnet.w3.eth.get_balance(funded_hot.address) == 0
        assert report["chains"]["base"]["fee_family"] == "op-stack"
        assert int(report["chains"]["base"]["l1_fee_wei"]) == with_margin(l1_fee, MARGIN_PERCENT)
        assert 0 < base.w3.eth.get_balance(funded_hot.address) <= DUST_WEI
        assert optimism.w3.eth.get_balance(cold_wallet) == 0

        assert api.call("POST", "/api/v1/trading/enable").status_code == 200
        assert main(withdraw) == 1
        out = capsys.readouterr()
        assert sorted(json.loads(out.out)["failed"]) == ["base", "ethereum", "optimism"]
        assert "HTTP 409: withdrawal failed on ethereum (trading is enabled" in out.err
    finally:
        for node in others:
            node.stop()
