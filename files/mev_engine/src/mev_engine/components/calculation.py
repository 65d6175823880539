"""Calculation: candidates -> strategies -> `mev.opportunities` -> orders.

Consumes `mev:candidates` in the consumer group `calculation`. Within one read batch
only the newest head of each chain is evaluated (older heads are already stale);
pending-transaction candidates go to every strategy (the reference strategy ignores
them). Every opportunity is recorded in mev.opportunities with `profit_estimate` the
net profit in wei (gross minus gas_estimate x current gas price):

    status 'rejected'  net profit below trading.min_profit_eth
    status 'detected'  profitable, but trading is not enabled: no order
    status 'active'    profitable and forwarded to execution on `mev:orders`

Crash safety: candidates are acknowledged after their batch is handled, and a candidate
delivered before a crash is read again (streams.GroupReader: this consumer's pending list at
start, another consumer's after redis.claim_idle_seconds). Each opportunity carries a
deterministic key (details.key: chain, strategy, block, hash of the transaction data); for a
redelivered candidate an opportunity whose key is already recorded is neither recorded again
nor forwarded, so one opportunity never makes two orders.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import time
from decimal import Decimal

from mev_engine import streams
from mev_engine.db import Database
from mev_engine.rpc import RpcClient, RpcError
from mev_engine.runtime import Runtime
from mev_engine.state import TradingStateCache
from mev_engine.strategy import Candidate, Opportunity, Strategy, load_strategies

log = logging.getLogger(__name__)

GROUP = "calculation"
WEI_PER_ETH = Decimal(10**18)


def candidate_from_fields(fields: dict[str, str]) -> Candidate:
    return Candidate(
        chain=fields["chain"],
        kind=fields["kind"],
        block_number=int(fields["block_number"]) if fields.get("block_number") else None,
        block_hash=fields.get("block_hash") or None,
        tx_hash=fields.get("tx_hash") or None,
        seen_at=float(fields.get("seen_at", 0)),
    )


def coalesce(candidates: list[Candidate]) -> list[Candidate]:
    """Keep every pending transaction and only the newest head per chain."""
    newest: dict[str, Candidate] = {}
    others: list[Candidate] = []
    for candidate in candidates:
        if candidate.kind == "head":
            current = newest.get(candidate.chain)
            if current is None or (candidate.block_number or 0) >= (current.block_number or 0):
                newest[candidate.chain] = candidate
        else:
            others.append(candidate)
    return [*newest.values(), *others]


def opportunity_key(opportunity: Opportunity) -> str:
    """The same opportunity evaluated twice (a candidate read again after a crash) has the same key."""
    digest = hashlib.sha256(opportunity.data.encode()).hexdigest()[:16]
    return f"{opportunity.chain}:{opportunity.strategy}:{opportunity.block_number}:{opportunity.to.lower()}:{digest}"


class Calculator:
    def __init__(self, runtime: Runtime, database: Database) -> None:
        self.runtime = runtime
        self.config = runtime.config
        self.redis = runtime.redis
        self.db = database
        self.trading = TradingStateCache(self.redis)  # per candidate: read again only when mev:control announces
        self.metrics = runtime.metrics
        self.clients = {
            name: RpcClient.for_chain(chain, runtime.metrics, component="calculation")
            for name, chain in self.config.chains.items()
        }
        self.strategies: list[Strategy] = load_strategies(self.config, self.clients)
        self.consumer = socket.gethostname()  # stable: a restart resumes its own pending entries
        self.reader = streams.GroupReader(
            self.redis, (streams.CANDIDATES,), GROUP, self.consumer, self.config.claim_idle_seconds, self.metrics
        )
        self.min_profit_wei = int(self.config.min_profit_eth * WEI_PER_ETH)

    def gas_price(self, chain: str) -> int:
        return int(self.clients[chain].call("eth_gasPrice"), 16)

    def handle(self, candidate: Candidate, redelivered: bool = False) -> list[tuple[Opportunity, int, str]]:
        """Evaluate one candidate with every strategy covering its chain; record and forward
        (a redelivered candidate only the opportunities not recorded before the crash)."""
        results: list[tuple[Opportunity, int, str]] = []
        for strategy in self.strategies:
            if candidate.chain not in strategy.chains():
                continue
            opportunities = strategy.evaluate(candidate)
            if not opportunities:
                continue
            gas_price = self.gas_price(candidate.chain)
            trading = self.trading.current()
            for opportunity in opportunities:
                key = opportunity_key(opportunity)
                if redelivered and self.db.find_opportunity(opportunity.chain, opportunity.block_number, key):
                    recoveries = self.metrics["mev_recoveries_total"]
                    recoveries.labels(chain=opportunity.chain, action="duplicate_skipped").inc()
                    log.warning("%s: opportunity %s was recorded before the restart: not again", opportunity.chain, key)
                    continue
                results.append(self._record(opportunity, gas_price, trading.enabled))
        return results

    def _record(self, opportunity: Opportunity, gas_price: int, trading_enabled: bool) -> tuple[Opportunity, int, str]:
        labels = {"chain": opportunity.chain, "strategy": opportunity.strategy}
        self.metrics["mev_opportunities_total"].labels(**labels).inc()
        net = opportunity.net_profit_wei(gas_price)
        profitable = net >= self.min_profit_wei and net > 0
        if profitable:
            self.metrics["mev_opportunities_profitable_total"].labels(**labels).inc()
        status = "rejected" if not profitable else ("active" if trading_enabled else "detected")
        details = {
            **opportunity.details,
            "key": opportunity_key(opportunity),
            "gross_profit_wei": str(opportunity.gross_profit_wei),
            "gas_price_wei": str(gas_price),
            "to": opportunity.to,
        }
        opportunity_id, detected_at = self.db.insert_opportunity(
            opportunity.chain,
            opportunity.strategy,
            net,
            opportunity.gas_estimate,
            opportunity.block_number,
            details,
            status=status,
        )
        if status == "active":
            self.redis.xadd(
                streams.ORDERS,
                {
                    "opportunity_id": str(opportunity_id),
                    "detected_at": detected_at.isoformat(),
                    "chain": opportunity.chain,
                    "strategy": opportunity.strategy,
                    "to": opportunity.to,
                    "data": opportunity.data,
                    "gas_limit": str(opportunity.gas_estimate),
                    "gross_profit_wei": str(opportunity.gross_profit_wei),
                    "net_profit_wei": str(net),
                    "block_number": str(opportunity.block_number),
                    "created_at": f"{time.time():.6f}",
                    "details": json.dumps(opportunity.details),
                },
                maxlen=self.config.stream_maxlen,
                approximate=True,
            )
        log.info(
            "%s %s block %d: net profit %s ETH -> %s",
            opportunity.chain,
            opportunity.strategy,
            opportunity.block_number,
            Decimal(net) / WEI_PER_ETH,
            status,
        )
        return opportunity, opportunity_id, status

    def run(self) -> None:
        log.info("strategies: %s", ", ".join(s.name for s in self.strategies) or "none")
        self.runtime.ready()
        while not self.runtime.stop.is_set():
            entries = self.reader.read(count=1000, block_ms=500)
            if not entries:
                continue
            candidates = [candidate_from_fields(fields) for _stream, _id, fields, _again in entries]
            redelivered = {c for c, (*_entry, again) in zip(candidates, entries, strict=True) if again}
            for candidate in coalesce(candidates):
                try:
                    self.handle(candidate, redelivered=candidate in redelivered)
                except RpcError as exc:
                    log.error("%s: strategy input unavailable: %s", candidate.chain, exc)
                except Exception:
                    log.exception("%s: evaluating %s candidate failed", candidate.chain, candidate.kind)
            self.redis.xack(streams.CANDIDATES, GROUP, *[entry_id for _stream, entry_id, _fields, _again in entries])


def run(runtime: Runtime) -> None:
    database = Database(runtime.config.postgres_dsn_with_password(), "mev-calculation")
    try:
        Calculator(runtime, database).run()
    finally:
        database.close()
