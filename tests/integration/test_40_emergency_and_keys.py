"""Emergency and key rotation on the devnet (issue 9).

emergency.yml: trading stopped, every pending nonce replaced, the hot wallet swept to the cold
wallet - once with the engine's API answering, once with it stopped beforehand - and no secret
in the -vvv output. rotate_keys.yml: a scheduled rotation killed right after its sweep (fault
injection) completes on re-run, ending with the engine trading on the new address, the old one
empty on every chain, archived on the controller and gone from the host; no key or password in
the output. Each test puts the devnet's wallet back (its contracts are owned by the original key)
and leaves the engine ready with trading disabled. The rotation test runs last.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import sys
import tarfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from devnet_hosts import KEYSTORE, MON_HOST
from eth_account import Account
from eth_utils import keccak

ENGINE_HOST = "mevops-devnet-engine"


def _load_fees() -> Any:
    """The collection's fee families (plugins/module_utils/evm_fees.py), loaded from the checkout."""
    path = Path(__file__).resolve().parents[2] / "plugins" / "module_utils" / "evm_fees.py"
    spec = importlib.util.spec_from_file_location("evm_fees", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


FEES = _load_fees()

STOP_FILE = "/var/lib/mev/emergency-stop.json"  # mev_engine_stop_file: the emergency fallback's record
RECORD_INTEGRITY = Path(__file__).parent / "playbooks" / "record_integrity.yml"
WEI = 10**18


def balance(devnet: Any, chain: str, address: str) -> int:
    return int(devnet.rpc(chain, "eth_getBalance", [address, "latest"]), 16)


def nonces(devnet: Any, chain: str, address: str) -> tuple[int, int]:
    latest = int(devnet.rpc(chain, "eth_getTransactionCount", [address, "latest"]), 16)
    pending = int(devnet.rpc(chain, "eth_getTransactionCount", [address, "pending"]), 16)
    return latest, pending


def set_balance(devnet: Any, address: str, wei: int) -> None:
    for chain in devnet.chains():
        devnet.rpc(chain["name"], "anvil_setBalance", [address, hex(wei)])


def send_pending(devnet: Any, chain: str, account: Any, count: int) -> list[str]:
    """`count` transfers from the hot wallet priced just above the base fee, left pending (mining paused)."""
    chain_id = int(devnet.rpc(chain, "eth_chainId"), 16)
    base = int(devnet.rpc(chain, "eth_getBlockByNumber", ["latest", False])["baseFeePerGas"], 16)
    first = nonces(devnet, chain, account.address)[1]
    hashes = []
    for nonce in range(first, first + count):
        tx = {"chainId": chain_id, "nonce": nonce, "to": Account.create().address, "value": WEI // 10,
              "gas": 21000, "gasPrice": base + base // 10}  # fmt: skip
        signed = Account.sign_transaction(tx, account.key)
        raw = getattr(signed, "raw_transaction", None) or signed.rawTransaction
        hashes.append(devnet.rpc(chain, "eth_sendRawTransaction", ["0x" + bytes(raw).hex()]))
    return hashes


class Miner(threading.Thread):
    """With `chain`'s interval mining paused: mines a block whenever the pool holds transactions
    and none of `originals` is among them (they were replaced), so a test sees replacement, not a race."""

    def __init__(self, devnet: Any, chain: str, originals: list[str]) -> None:
        super().__init__(daemon=True)
        self.devnet, self.chain, self.originals = devnet, chain, {h.lower() for h in originals}
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            try:
                pool = self.devnet.rpc(self.chain, "txpool_content")
                hashes = {tx["hash"].lower() for txs in pool["pending"].values() for tx in txs.values()}
                if hashes and not hashes & self.originals:
                    self.devnet.rpc(self.chain, "evm_mine")
            except (AssertionError, ValueError, KeyError):
                pass  # a slow docker exec; try again
            time.sleep(0.3)


class PausedMining:
    """Context: `chain`'s interval mining off, a Miner on, and both restored on exit."""

    def __init__(self, devnet: Any, chain: str) -> None:
        self.devnet, self.chain, self.miner = devnet, chain, None

    def __enter__(self) -> PausedMining:
        self.devnet.rpc(self.chain, "evm_setIntervalMining", [0])
        return self

    def mine_when_replaced(self, originals: list[str]) -> None:
        self.miner = Miner(self.devnet, self.chain, originals)
        self.miner.start()

    def __exit__(self, *_exc: object) -> None:
        if self.miner:
            self.miner.halt.set()
            self.miner.join(timeout=10)
        self.devnet.rpc(self.chain, "evm_setIntervalMining", [1])


# ------------------------------------------------------------- the executors the hot wallet owns

ENGINE_YML = "/etc/mev/engine.yml"
INVENTORY = 10 * WEI  # the base-token inventory each executor starts with (devnet_contracts.py)
EXECUTOR_ETH = 3 * WEI


def calldata(signature: str, *args: Any) -> str:
    words = "".join((int(a, 16) if isinstance(a, str) else int(a)).to_bytes(32, "big").hex() for a in args)
    return "0x" + keccak(text=signature)[:4].hex() + words


def read_word(devnet: Any, chain: str, to: str, signature: str, *args: Any) -> int:
    return int(devnet.rpc(chain, "eth_call", [{"to": to, "data": calldata(signature, *args)}, "latest"]), 16)


def owner_of(devnet: Any, chain: str, contract: str) -> str:
    return "0x" + format(read_word(devnet, chain, contract, "owner()"), "040x")


def executors(devnet: Any) -> dict[str, tuple[str, str]]:
    """chain -> (executor, base token), as the engine runs with them (its engine.yml on the host)."""
    document = yaml.safe_load(devnet.exec(ENGINE_HOST, "cat", ENGINE_YML).stdout)
    chains = document["strategies"]["v2_cross_pool_arb"]["chains"]
    found = {name: (c["executor"], c["base_token"]) for name, c in chains.items()}
    assert sorted(found) == sorted(c["name"] for c in devnet.chains()), f"not an executor on every chain: {found}"
    return found


def transact(devnet: Any, chain: str, sender: str, to: str, data: str, *, impersonate: bool = False) -> None:
    """A transaction from an unlocked (anvil's) or impersonated account, waited for."""
    if impersonate:
        devnet.rpc(chain, "anvil_impersonateAccount", [sender])
    try:
        tx_hash = devnet.rpc(chain, "eth_sendTransaction", [{"from": sender, "to": to, "data": data}])
    finally:
        if impersonate:
            devnet.rpc(chain, "anvil_stopImpersonatingAccount", [sender])
    deadline = time.monotonic() + 30
    while (receipt := devnet.rpc(chain, "eth_getTransactionReceipt", [tx_hash])) is None:
        assert time.monotonic() < deadline, f"{chain}: {tx_hash} not mined"
        time.sleep(0.3)
    assert receipt["status"] == "0x1", f"{chain}: {tx_hash} reverted"


def stock_executors(devnet: Any, eth: int) -> dict[str, dict[str, Any]]:
    """Each executor back to INVENTORY base tokens (minted by anvil's first account) and `eth` wei;
    returns what each one holds: {chain: {executor, token, tokens, eth}}."""
    held = {}
    for chain, (executor, token) in executors(devnet).items():
        have = read_word(devnet, chain, token, "balanceOf(address)", executor)
        if have < INVENTORY:
            dev = devnet.rpc(chain, "eth_accounts")[0]
            transact(devnet, chain, dev, token, calldata("mint(address,uint256)", executor, INVENTORY - have))
        devnet.rpc(chain, "anvil_setBalance", [executor, hex(eth)])
        tokens = read_word(devnet, chain, token, "balanceOf(address)", executor)
        held[chain] = {"executor": executor, "token": token, "tokens": tokens, "eth": eth}
    return held


def head(devnet: Any, chain: str) -> int:
    return int(devnet.rpc(chain, "eth_blockNumber"), 16)


def sent_between(devnet: Any, chain: str, sender: str, to: str, *, since: int) -> int:
    """Wei that `sender` sent `to` in transactions mined after block `since`, read from the blocks
    (one JSON-RPC batch)."""
    url = next(c["http_url"] for c in devnet.chains() if c["name"] == chain)
    batch = [{"jsonrpc": "2.0", "id": n, "method": "eth_getBlockByNumber", "params": [hex(n), True]}
             for n in range(since + 1, head(devnet, chain) + 1)]  # fmt: skip
    status, replies = devnet.http(ENGINE_HOST, "POST", url, json_body=batch, timeout=60)
    assert status == 200 and isinstance(replies, list), f"{chain}: HTTP {status} {str(replies)[:300]}"
    return sum(
        int(tx["value"], 16)
        for reply in replies
        for tx in reply["result"]["transactions"]
        if tx["from"].lower() == sender.lower() and (tx.get("to") or "").lower() == to.lower()
    )


def hand_back(devnet: Any, owner: str) -> None:
    """Every executor back to `owner` (after a rotation handed them over), by impersonating its owner."""
    for chain, (executor, _token) in executors(devnet).items():
        current = owner_of(devnet, chain, executor)
        if current.lower() != owner.lower():
            data = calldata("transferOwnership(address)", owner)
            transact(devnet, chain, current, executor, data, impersonate=True)
        assert owner_of(devnet, chain, executor).lower() == owner.lower()


def wait_ready(devnet: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not devnet.engine_ready():
        assert time.monotonic() < deadline, f"engine not ready after {timeout:g} s"
        time.sleep(1)


def api_answers(devnet: Any) -> bool:
    try:
        return devnet.api("GET", "/health/live")[0] == 200
    except AssertionError:  # connection refused: the snippet in the container fails
        return False


def restore_engine(devnet: Any, keystore: str | None = None, funds: dict[str, int] | None = None) -> None:
    """Put the hot wallet back (keystore text, balances per address), start every unit, trading disabled."""
    if keystore is not None:
        devnet.exec(ENGINE_HOST, "sh", "-c", f"cat > {KEYSTORE} && chown mev:mev {KEYSTORE} && chmod 0600 {KEYSTORE}",
                    input=keystore)  # fmt: skip
    for address, wei in (funds or {}).items():
        set_balance(devnet, address, wei)
    # The emergency fallback's record would keep every component in emergency_stop at its start.
    devnet.exec(ENGINE_HOST, "rm", "-f", STOP_FILE)
    devnet.systemctl(ENGINE_HOST, "start", "mev-monitoring.service")
    deadline = time.monotonic() + 60
    while not api_answers(devnet):
        assert time.monotonic() < deadline, "mev-monitoring did not come back"
        time.sleep(1)
    # Disable before execution starts again: with the API down, the stored state stayed as it was.
    status, body = devnet.api("POST", "/api/v1/trading/disable", {"reason": "integration test restore"})
    assert status == 200, body
    if keystore is not None:
        devnet.systemctl(ENGINE_HOST, "restart", "mev-execution.service")
    devnet.systemctl(ENGINE_HOST, "start", "mev-execution.service", "mev-detection.service", "mev-calculation.service")
    wait_ready(devnet)
    if keystore is not None:
        # The keystore put back by hand is the baseline again (a later security check stays clean).
        run = devnet.playbook(RECORD_INTEGRITY, limit=ENGINE_HOST)
        assert run.returncode == 0, run.stdout[-3000:]


# ---------------------------------------------------------------- snapshot and notify (read-only)


def test_snapshot_and_notify(devnet_ready, tmp_path):
    devnet = devnet_ready
    reason = f"integration test {time.time()}"
    # The inventory's own emergency_webhooks: the notice crosses the monitoring host's firewall
    # from the controller to the alert receiver, as production's reaches its Slack.
    run = devnet.playbook("emergency.yml", tags="snapshot,notify", env={"MEVOPS_INCIDENT_DIR": str(tmp_path)},
                          extra_vars={"emergency_reason": reason})  # fmt: skip
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    (incident,) = list(tmp_path.iterdir())
    secrets = devnet.hostvars(ENGINE_HOST, "mev_engine_api_token", "mev_engine_keystore_password",
                              "mev_engine_db_password", "mev_engine_redis_password")  # fmt: skip
    hosts = {"mevops-devnet-node", "mevops-devnet-db", ENGINE_HOST, "mevops-devnet-mon"}
    for host in hosts:
        archive = incident / f"{host}.tar.gz"
        digest = (incident / f"{host}.tar.gz.sha256").read_text().split()[0]
        assert hashlib.sha256(archive.read_bytes()).hexdigest() == digest, f"{host}: sha256 does not match"
        with tarfile.open(archive) as tar:
            members = {m.name.split("/", 1)[-1]: m for m in tar.getmembers() if m.isfile()}
            texts = {name: tar.extractfile(m).read().decode(errors="replace") for name, m in members.items()}
        for name in ("MANIFEST.txt", "journal.txt", "units.txt", "processes.txt", "sockets.txt", "packages.txt",
                     "config-changes.txt"):  # fmt: skip
            assert name in texts, f"{host}: {name} missing from the snapshot"
        for line in texts["MANIFEST.txt"].splitlines():
            sha, _size, name = line.split("  ", 2)
            assert hashlib.sha256(texts[name].encode()).hexdigest() == sha or name not in texts
        for name, text in texts.items():
            assert "ciphertext" not in text, f"{host}: keystore content in {name}"
            for key, value in secrets.items():
                assert not value or value not in text, f"{host}: {key} in {name}"
        if host == ENGINE_HOST:
            assert "etc-mev/engine.yml" in texts and "etc-mev/engine.env" not in texts
            assert '"trading"' in texts["engine-and-chains.txt"], "no engine status in the snapshot"
            assert "mev_" in texts["metrics.txt"]
    (body,) = [entry["body"] for entry in devnet.received("/emergency") if entry["body"]["reason"] == reason]
    assert sorted(line.split()[0] for line in body["report"]) == sorted(hosts)


# ---------------------------------------------------------------- emergency.yml

FUNDS = 10 * WEI
STEPS = "stop_trading,cancel_pending,withdraw"


@pytest.fixture
def funded(devnet_ready):
    """Trading on, the hot wallet holding FUNDS and each executor its token inventory and EXECUTOR_ETH
    on every chain; restored afterwards (the executors' inventory minted again)."""
    devnet = devnet_ready
    account = devnet.hot_account()
    before = {c["name"]: balance(devnet, c["name"], account.address) for c in devnet.chains()}
    set_balance(devnet, account.address, FUNDS)
    stock_executors(devnet, EXECUTOR_ETH)
    status, body = devnet.api("POST", "/api/v1/trading/enable", {"reason": "integration test"})
    assert status == 200, body
    settle(devnet, account)
    yield devnet, account
    restore_engine(devnet, funds={account.address: max(before.values())})
    stock_executors(devnet, 0)


def settle(devnet, account, quiet: float = 6, timeout: float = 90) -> None:
    """Wait until the engine, trading, leaves the hot wallet alone: no pending nonce on any chain
    for `quiet` seconds. The devnet's pools may be out of balance (as site.yml leaves them, or as an
    earlier test left them): the engine's arbitrage then sends and mines its own transactions,
    which must be done before a test counts nonces."""
    deadline, calm_since = time.monotonic() + timeout, None
    while True:
        busy = [c["name"] for c in devnet.chains() if len(set(nonces(devnet, c["name"], account.address))) > 1]
        now = time.monotonic()
        calm_since = None if busy else (calm_since or now)
        if calm_since is not None and now - calm_since >= quiet:
            return
        assert now < deadline, f"the engine still has transactions pending on {busy} after {timeout:g} s"
        time.sleep(0.5)


def assert_emptied(devnet, chain, address):
    """Zero on Ethereum-like chains; on the L2s (by chain id: the devnet's base and optimism charge
    the L1 data fee too) the unspent part of the fee reserve stays, at most dust."""
    family = FEES.fee_family(int(devnet.rpc(chain, "eth_chainId"), 16))
    left = balance(devnet, chain, address)
    if family == FEES.EIP1559:
        assert left == 0, f"{chain}: {address} not emptied ({left} wei left)"
    else:
        assert left <= FEES.DUST_WEI, f"{chain} ({family}): {left} wei left in {address}, above dust"


def check_emptied(devnet, account, cold, cold_before, *, originals, chain, held):
    """Hot wallet at most dust, executors at zero, the cold wallet credited by exactly the executors'
    tokens and ETH plus what the hot wallet's transfers to it carried, all read from the chains."""
    for c in devnet.chains():
        name, executor = c["name"], held[c["name"]]
        latest, pending = nonces(devnet, name, account.address)
        assert latest == pending, f"{name}: nonces {latest}..{pending - 1} still pending"
        assert_emptied(devnet, name, account.address)
        token = executor["token"]
        assert read_word(devnet, name, token, "balanceOf(address)", executor["executor"]) == 0, f"{name}: tokens stay"
        assert balance(devnet, name, executor["executor"]) == 0, f"{name}: ETH stays in the executor"
        credited = read_word(devnet, name, token, "balanceOf(address)", cold) - cold_before[name]["tokens"]
        assert credited == executor["tokens"], (
            f"{name}: cold wallet credited {credited} tokens, not {executor['tokens']}"
        )
        eth = balance(devnet, name, cold) - cold_before[name]["eth"] - executor["eth"]
        sent = sent_between(devnet, name, account.address, cold, since=cold_before[name]["block"])
        assert eth == sent, f"{name}: cold wallet credited {eth} wei beside the executor's, the hot wallet sent {sent}"
        assert FUNDS - WEI // 100 < eth <= FUNDS, f"{name}: the hot wallet's transfers carried {eth} of {FUNDS} wei"
    for tx_hash in originals:
        assert devnet.rpc(chain, "eth_getTransactionReceipt", [tx_hash]) is None, f"{tx_hash} was mined, not replaced"


def run_emergency(devnet, account, verbosity=0, extra_vars=None):
    chain = devnet.chains()[0]["name"]
    cold = devnet.hostvars(ENGINE_HOST, "mev_engine_cold_wallet")["mev_engine_cold_wallet"]
    held = {name: {"executor": e, "token": t, "tokens": read_word(devnet, name, t, "balanceOf(address)", e),
                   "eth": balance(devnet, name, e)} for name, (e, t) in executors(devnet).items()}  # fmt: skip
    cold_before = {name: {"eth": balance(devnet, name, cold), "block": head(devnet, name),
                          "tokens": read_word(devnet, name, h["token"], "balanceOf(address)", cold)}
                   for name, h in held.items()}  # fmt: skip
    with PausedMining(devnet, chain) as mining:
        originals = send_pending(devnet, chain, account, 2)
        assert nonces(devnet, chain, account.address)[1] - nonces(devnet, chain, account.address)[0] == 2
        mining.mine_when_replaced(originals)
        run = devnet.playbook("emergency.yml", tags=STEPS, verbosity=verbosity,
                              extra_vars={"emergency_reason": "integration test", **(extra_vars or {})})  # fmt: skip
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-2000:]
    check_emptied(devnet, account, cold, cold_before, originals=originals, chain=chain, held=held)
    return run


def test_emergency_with_the_api_answering(funded):
    devnet, account = funded
    run = run_emergency(devnet, account, verbosity=3)
    assert devnet.trading_state() == "emergency_stop"
    # The controller called the API itself (no SSH for the stop); the report's lines may wrap.
    report = " ".join(run.stdout.split())
    assert f"{ENGINE_HOST} stop_trading: API: trading enabled -> emergency_stop (called from the controller)" in report
    # The withdrawals' line names each chain's fee family and what stays, read from the chain.
    assert re.search(
        r" base [0-9.]+ ETH tx 0x[0-9a-f]{64} \(op-stack\), from 0x[0-9a-fA-F]{40} \d+ of token ", report
    ), report[-3000:]
    secrets = devnet.hostvars(ENGINE_HOST, "mev_engine_api_token", "mev_engine_keystore_password")
    for name, value in [*secrets.items(), ("hot key", account.key.hex().removeprefix("0x"))]:
        assert value not in run.stdout + run.stderr, f"{name} appears in the -vvv output"


def test_emergency_with_the_api_stopped_beforehand(funded):
    devnet, account = funded
    devnet.systemctl(ENGINE_HOST, "stop", "mev-monitoring.service")
    run = run_emergency(devnet, account)
    assert not devnet.unit_active(ENGINE_HOST, "mev-execution.service"), "mev-execution still runs: trading not off"
    # Refused from the controller, then on the host: the fallback stopped mev-execution there.
    report = " ".join(run.stdout.split())
    assert f"{ENGINE_HOST} stop_trading: API did not answer (from the controller: " in report
    assert "mev-execution stopped" in report or "mev-execution killed" in report
    assert "on the host with the keystore" in run.stdout
    # The stop is recorded on the host (nothing could write the state with the API down) ...
    assert f"stop recorded in {STOP_FILE}" in report
    recorded = json.loads(devnet.exec(ENGINE_HOST, "cat", STOP_FILE).stdout)
    assert recorded["reason"] == "integration test", recorded
    # ... so starting the engine again - the operator's cold start, even asked to enable trading -
    # does not resume trading: every component honours the record at start.
    run = devnet.playbook("cold_start.yml", tags="cold_start_engine,cold_start_trading", limit=ENGINE_HOST,
                          extra_vars={"enable_trading": True})  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert devnet.unit_active(ENGINE_HOST, "mev-execution.service")
    assert "EMERGENCY STOP in force" in " ".join(run.stdout.split()), run.stdout[-3000:]
    status, body = devnet.api("GET", "/api/v1/status")
    assert status == 200 and body["trading"]["state"] == "emergency_stop", body
    assert "recorded on the host" in body["trading"]["reason"], body["trading"]
    # An operator's enable through the API lifts it and removes the record.
    status, body = devnet.api("POST", "/api/v1/trading/enable", {"reason": "operator after the incident"})
    assert status == 200 and body["trading"]["state"] == "enabled", body
    assert devnet.exec(ENGINE_HOST, "test", "-e", STOP_FILE, check=False).returncode == 1, "record not removed"


def test_emergency_with_a_token_the_api_refuses(funded):
    # The vault's token is not the one the engine has (changed in the vault, not yet deployed):
    # every call answers 401, and each step takes its host-side fallback as if the API were down.
    devnet, account = funded
    run = run_emergency(devnet, account, extra_vars={"emergency_api_token": "not-the-engines-token-" + "x" * 20})
    assert not devnet.unit_active(ENGINE_HOST, "mev-execution.service"), "mev-execution still runs: trading not off"
    report = " ".join(run.stdout.split())
    assert f"{ENGINE_HOST} stop_trading: API did not answer (from the controller: " in report
    assert "401 unauthorized" in report
    assert "on the host with the keystore" in run.stdout


# ---------------------------------------------------------------- the hot-wallet audit


def audit_alerts(devnet, address: str) -> dict[str, list[dict]]:
    """HotWalletUnrecordedTransaction for `address`: {"received": firing notifications at the
    receiver's critical path, "prometheus": the alert as Prometheus holds it now}."""
    received = [
        alert
        for alert in devnet.firing_received("HotWalletUnrecordedTransaction")
        if alert["labels"].get("address", "").lower() == address.lower()
    ]
    status, body = devnet.http(MON_HOST, "GET", f"http://{devnet.target('prometheus', MON_HOST)}/api/v1/alerts")
    assert status == 200, body
    held = [a for a in body["data"]["alerts"] if a["labels"].get("alertname") == "HotWalletUnrecordedTransaction"]
    return {"received": received, "prometheus": held}


def test_a_transaction_the_engine_did_not_send_reaches_the_receiver(devnet_ready):
    """The Key Compromise procedure's "monitor for unauthorized transactions": a transfer signed with
    the hot key outside the engine is counted by the engine's audit and its alert reaches the
    receiver; the baseline is then taken again as docs/alerts.md tells an operator to."""
    devnet = devnet_ready
    account = devnet.hot_account()
    chain = devnet.chains()[0]["name"]
    funds = max(balance(devnet, c["name"], account.address) for c in devnet.chains())
    before = len(audit_alerts(devnet, account.address)["received"])
    set_balance(devnet, account.address, WEI)
    try:
        started = time.monotonic()
        (sent,) = send_pending(devnet, chain, account, 1)
        deadline = started + 240
        while len(audit_alerts(devnet, account.address)["received"]) == before:
            assert time.monotonic() < deadline, f"HotWalletUnrecordedTransaction for {sent} did not reach the receiver"
            time.sleep(5)
        alert = audit_alerts(devnet, account.address)["received"][-1]
        print(f"HotWalletUnrecordedTransaction reached the receiver {time.monotonic() - started:.0f} s after the send")
        assert alert["labels"]["chain"] == chain and alert["labels"]["severity"] == "critical", alert
    finally:
        devnet.systemctl(ENGINE_HOST, "stop", "mev-execution.service")
        devnet.psql(f"DELETE FROM mev.wallet_audit WHERE lower(address) = '{account.address.lower()}'")
        restore_engine(devnet, funds={account.address: funds})
    # Quiet again before the next test: its health gate reads Prometheus' alerts.
    deadline = time.monotonic() + 120
    while audit_alerts(devnet, account.address)["prometheus"]:
        assert time.monotonic() < deadline, "HotWalletUnrecordedTransaction still held after the baseline was retaken"
        time.sleep(5)


# ---------------------------------------------------------------- rotate_keys.yml (last: it changes the key)

STATE_DIR = "/var/lib/mevops/key-rotation"
JOURNAL = f"{STATE_DIR}/sweeps.json"  # key_rotation's sweep journal (evm_sweep's journal)


@pytest.fixture
def original_key(devnet_ready):
    devnet = devnet_ready
    account = devnet.hot_account()
    text = json.dumps(devnet.keystore_document())
    before = max(balance(devnet, c["name"], account.address) for c in devnet.chains())
    set_balance(devnet, account.address, 5 * WEI)
    yield devnet, account
    rotated_to = devnet.hot_account().address
    # The harness now uses both keys outside the engine: it impersonates the new one (hand_back) and
    # puts the old one back, whose rotation sweeps the engine did not send. Execution is stopped first,
    # and both addresses' audit baselines are taken again, as docs/alerts.md tells an operator to do
    # once the transactions are known to be the desk's own (HotWalletUnrecordedTransaction).
    devnet.systemctl(ENGINE_HOST, "stop", "mev-execution.service")
    hand_back(devnet, account.address)  # the rotation handed the executors to the new key
    devnet.psql(
        f"DELETE FROM mev.wallet_audit WHERE lower(address) IN ('{account.address.lower()}', '{rotated_to.lower()}')"
    )
    restore_engine(devnet, keystore=text, funds={account.address: before})
    devnet.exec(ENGINE_HOST, "rm", "-rf", STATE_DIR, f"{KEYSTORE.rsplit('/', 1)[0]}/next.json")


def killed_when_swept(devnet, run, log, chain, timeout=240):
    """SIGKILL `run` (ansible-playbook, its output in `log`) once the sweep journal on the engine
    host holds a sweep on `chain` (mining paused there); returns that journal entry. The executor's
    transfer of ownership comes first: it is mined by hand (a block holding it alone) when the
    journal holds it without a receipt, so the sweep can follow."""
    chain_id = int(devnet.rpc(chain, "eth_chainId"), 16)
    deadline = time.monotonic() + timeout
    while True:
        found = devnet.exec(ENGINE_HOST, "cat", JOURNAL, check=False)
        if found.returncode == 0:
            entries = [t for t in json.loads(found.stdout)["transactions"] if t["chain_id"] == chain_id]
            sweeps = [t for t in entries if t["kind"] == "sweep"]
            handing = [t for t in entries if t["kind"] == "transfer_ownership"]
            if (
                handing
                and not sweeps
                and devnet.rpc(chain, "eth_getTransactionReceipt", [handing[-1]["tx_hash"]]) is None
            ):
                devnet.rpc(chain, "evm_mine")
            if sweeps:
                run.kill()  # SIGKILL: no handler, no cleanup, as when the controller dies
                run.wait()
                return sweeps[0]
        if run.poll() is not None:
            raise AssertionError(f"rotate_keys.yml ended before its sweep was sent: {log.read_text()[-4000:]}")
        assert time.monotonic() < deadline, f"no sweep in {JOURNAL} after {timeout} s"
        time.sleep(0.5)


def test_scheduled_rotation_killed_while_its_sweep_is_pending(original_key, tmp_path):
    """kill -9 of ansible-playbook while the sweep waits for its receipt (mining paused): the re-run
    waits for that sweep - exactly one sweep transaction from the old key - and completes the rotation."""
    devnet, old = original_key
    env = {"MEVOPS_KEY_ARCHIVE_DIR": str(tmp_path)}
    status, body = devnet.api("POST", "/api/v1/trading/enable", {"reason": "before rotation"})
    assert status == 200, body
    settle(devnet, old)
    chain = devnet.chains()[0]["name"]  # the first chain the sweep works on
    nonce_before = nonces(devnet, chain, old.address)[0]

    with PausedMining(devnet, chain) as mining:
        log = tmp_path / "killed-run.log"
        sweep = killed_when_swept(devnet, devnet.start_playbook("rotate_keys.yml", log, env=env), log, chain)
        state = json.loads(devnet.exec(ENGINE_HOST, "cat", f"{STATE_DIR}/state.json").stdout)
        assert state["phase"] == "stopped" and state["old_address"] == old.address and state["was_enabled"] is True
        new_address = state["new_address"]
        # The new keystore was archived on the controller before any funds moved to it.
        (new_copy,) = (tmp_path / ENGINE_HOST).glob(f"{new_address}-*-new.json")
        assert devnet.hot_account().address == old.address, "the engine switched keys before the run finished"
        assert devnet.rpc(chain, "eth_getTransactionReceipt", [sweep["tx_hash"]]) is None, "mined while paused"
        mining.mine_when_replaced([])  # mine whatever is pending from now on
        second = devnet.playbook("rotate_keys.yml", env=env, verbosity=3)
    assert second.returncode == 0, second.stdout[-5000:] + second.stderr[-2000:]
    # Exactly one sweep from the old key on that chain, after its executor's transfer of ownership:
    # the journaled one, mined, never replaced.
    assert nonces(devnet, chain, old.address)[0] == nonce_before + 2
    assert devnet.rpc(chain, "eth_getTransactionReceipt", [sweep["tx_hash"]])["status"] == "0x1"
    for c in devnet.chains():
        assert_emptied(devnet, c["name"], old.address)

    new = devnet.hot_account()
    assert new.address == new_address
    # Every executor is the new key's, read from the chains.
    for name, (executor, _token) in executors(devnet).items():
        assert owner_of(devnet, name, executor) == new_address.lower(), f"{name}: executor not handed over"
    assert devnet.trading_state() == "enabled", "a scheduled rotation re-enables trading that was on"
    status, metrics = devnet.api("GET", "/metrics")
    assert f'address="{new_address}"' in str(metrics)
    for chain in devnet.chains():
        assert_emptied(devnet, chain["name"], old.address)
        assert balance(devnet, chain["name"], new_address) > 4 * WEI
    archived = list((tmp_path / ENGINE_HOST).glob(f"{old.address}-*.json"))
    assert len(archived) == 1, "the old keystore is not in the key archive"
    password = devnet.hostvars(ENGINE_HOST, "mev_engine_keystore_password")["mev_engine_keystore_password"]
    assert Account.from_key(Account.decrypt(json.loads(archived[0].read_text()), password)).address == old.address
    left = devnet.exec(ENGINE_HOST, "ls", STATE_DIR).stdout.split()
    assert left == [f"done-{old.address}.json"], f"old keystore or state left on the host: {left}"

    copied_key = Account.decrypt(json.loads(new_copy.read_text()), password)
    assert Account.from_key(copied_key).address == new_address, "the new key's archive copy is not its keystore"
    output = log.read_text() + second.stdout + second.stderr
    for name, value in [("keystore password", password), ("old key", old.key.hex().removeprefix("0x")),
                        ("new key", new.key.hex().removeprefix("0x"))]:  # fmt: skip
        assert value not in output, f"the {name} appears in the output"
