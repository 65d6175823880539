"""The strategy interface and its loader (entry-point group `mev_engine.strategies`).

A strategy is a class taking (name, chain contexts) and offering `evaluate(candidate)`,
which returns the opportunities it sees now. Calculation calls it for every candidate
of a chain it covers. An opportunity carries the exact transaction that would capture
it (`to`, `data`, `gas_limit`); execution signs and submits that, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Protocol

from mev_engine.config import EngineConfig
from mev_engine.rpc import RpcClient

ENTRY_POINT_GROUP = "mev_engine.strategies"


@dataclass(frozen=True)
class Candidate:
    """What detection saw: a new head (`kind='head'`) or a pending transaction (`kind='pending_tx'`)."""

    chain: str
    kind: str
    block_number: int | None
    block_hash: str | None
    tx_hash: str | None
    seen_at: float


@dataclass(frozen=True)
class Opportunity:
    chain: str
    strategy: str
    block_number: int
    gross_profit_wei: int
    gas_estimate: int
    to: str
    data: str
    target_tx_hash: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def net_profit_wei(self, gas_price_wei: int) -> int:
        return self.gross_profit_wei - self.gas_estimate * gas_price_wei


class Strategy(Protocol):
    name: str

    def chains(self) -> list[str]: ...

    def evaluate(self, candidate: Candidate) -> list[Opportunity]: ...


def load_strategies(config: EngineConfig, clients: dict[str, RpcClient]) -> list[Strategy]:
    """Instantiate every installed strategy the config enables (`strategies.<name>`)."""
    loaded: list[Strategy] = []
    available = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    for name, settings in config.strategies.items():
        if not settings.get("enabled", True):
            continue
        if name not in available:
            installed = ", ".join(sorted(available)) or "none"
            raise LookupError(f"strategy {name!r} is configured but not installed (installed: {installed})")
        factory = available[name].load()
        loaded.append(factory(name, config, clients))
    return loaded
