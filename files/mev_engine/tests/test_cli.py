"""mev-cli, the runbooks' operator commands, against a running monitoring process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import services
from devnet import ETH, Devnet

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
