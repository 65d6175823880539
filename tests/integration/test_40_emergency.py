"""emergency.yml on the devnet: trading stopped, every pending nonce replaced, the hot wallet swept
to the cold wallet - once with the engine's API answering, once with it stopped beforehand - and
no secret in the -vvv output. Each test puts the wallet back and leaves the engine ready with
trading disabled."""

from __future__ import annotations

import pytest
from conftest import ENGINE_HOST
from emergency_helpers import (
    WEI,
    PausedMining,
    balance,
    hot_account,
    nonces,
    restore_engine,
    send_pending,
    set_balance,
)

FUNDS = 10 * WEI
STEPS = "stop_trading,cancel_pending,withdraw"


@pytest.fixture
def funded(devnet_ready):
    """Trading on, the hot wallet holding FUNDS on every chain; restored afterwards."""
    devnet = devnet_ready
    account = hot_account(devnet)
    before = {c["name"]: balance(devnet, c["name"], account.address) for c in devnet.chains()}
    set_balance(devnet, account.address, FUNDS)
    status, body = devnet.api("POST", "/api/v1/trading/enable", {"reason": "integration test"})
    assert status == 200, body
    yield devnet, account
    restore_engine(devnet, funds={account.address: max(before.values())})


def check_emptied(devnet, account, cold, cold_before, *, originals, chain):
    for c in devnet.chains():
        name = c["name"]
        latest, pending = nonces(devnet, name, account.address)
        assert latest == pending, f"{name}: nonces {latest}..{pending - 1} still pending"
        assert balance(devnet, name, account.address) == 0, f"{name}: hot wallet not emptied"
        assert balance(devnet, name, cold) - cold_before[name] > FUNDS - WEI // 100, f"{name}: cold wallet not credited"
    for tx_hash in originals:
        assert devnet.rpc(chain, "eth_getTransactionReceipt", [tx_hash]) is None, f"{tx_hash} was mined, not replaced"


def run_emergency(devnet, account, verbosity=0):
    chain = devnet.chains()[0]["name"]
    cold = devnet.hostvars(ENGINE_HOST, "mev_engine_cold_wallet")["mev_engine_cold_wallet"]
    cold_before = {c["name"]: balance(devnet, c["name"], cold) for c in devnet.chains()}
    with PausedMining(devnet, chain) as mining:
        originals = send_pending(devnet, chain, account, 2)
        assert nonces(devnet, chain, account.address)[1] - nonces(devnet, chain, account.address)[0] == 2
        mining.mine_when_replaced(originals)
        run = devnet.playbook("emergency.yml", tags=STEPS, verbosity=verbosity,
                              extra_vars={"emergency_reason": "integration test"})  # fmt: skip
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    check_emptied(devnet, account, cold, cold_before, originals=originals, chain=chain)
    return run


def test_emergency_with_the_api_answering(funded):
    devnet, account = funded
    run = run_emergency(devnet, account, verbosity=3)
    assert devnet.trading_state() == "emergency_stop"
    assert f"{ENGINE_HOST} stop_trading: API: trading enabled -> emergency_stop" in run.stdout
    secrets = devnet.hostvars(ENGINE_HOST, "mev_engine_api_token", "mev_engine_keystore_password")
    for name, value in [*secrets.items(), ("hot key", account.key.hex().removeprefix("0x"))]:
        assert value not in run.stdout + run.stderr, f"{name} appears in the -vvv output"


def test_emergency_with_the_api_stopped_beforehand(funded):
    devnet, account = funded
    devnet.systemctl(ENGINE_HOST, "stop", "mev-monitoring.service")
    run = run_emergency(devnet, account)
    assert not devnet.unit_active(ENGINE_HOST, "mev-execution.service"), "mev-execution still runs: trading not off"
    assert "API did not answer" in run.stdout
    assert "on the host with the keystore" in run.stdout
