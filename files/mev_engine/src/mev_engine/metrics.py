"""Prometheus metrics: one definition table, per-component registries, and the merge
that lets the monitoring component's /metrics show every component's figures.

Every component (detection, calculation, execution) keeps its metrics in its own
registry and publishes the exposition text to Redis every second under
`mev:metrics:<component>` with a 15 s expiry. The monitoring component parses those
texts and its own, merges them family by family (counters and histograms summed when
two components report the same series, gauges owned by one component) and serves the
result on /metrics. A component whose key expired shows as `mev_component_up 0`.
Redis-shared state was chosen over prometheus_client's multiprocess mode because the
components run as separately sandboxed systemd units with private /tmp and restart
independently: no shared directory and no stale per-pid files to clean up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

log = logging.getLogger(__name__)

COMPONENTS = ("detection", "calculation", "execution", "monitoring")
METRICS_KEY = "mev:metrics:{component}"
METRICS_TTL_SECONDS = 15

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
API_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0)

# name -> (kind, help, labels); the README's metrics table is this table.
DEFINITIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "mev_detection_latency_seconds": (
        "histogram",
        "Time from the node's notification reaching the engine to the candidate being on the Redis stream",
        ("chain",),
    ),
    "mev_candidates_total": ("counter", "Candidates published by detection", ("chain", "kind")),
    "mev_opportunities_total": ("counter", "Opportunities found by strategies", ("chain", "strategy")),
    "mev_opportunities_profitable_total": (
        "counter",
        "Opportunities whose net profit is above trading.min_profit_eth",
        ("chain", "strategy"),
    ),
    "mev_executions_total": (
        "counter",
        "Orders handled by execution, by outcome (confirmed, reverted, dropped, skipped, error)",
        ("chain", "strategy", "status"),
    ),
    "mev_bundle_success_rate": (
        "gauge",
        "Share of the last trading.success_rate_window submitted transactions that confirmed (0..1)",
        ("chain",),
    ),
    "mev_profit_eth_total": (
        "counter",
        "Realised net profit in ETH of confirmed executions that made money",
        ("chain", "strategy"),
    ),
    "mev_loss_eth_total": (
        "counter",
        "Realised net loss in ETH of confirmed executions whose gas cost exceeded their gross profit",
        ("chain", "strategy"),
    ),
    "mev_wallet_balance_eth": ("gauge", "Hot wallet balance in ETH", ("chain", "address")),
    "mev_wallet_unrecorded_transactions": (
        "gauge",
        "Mined transactions of the hot wallet since the audit's baseline that the engine did not record"
        " (the key used outside the engine)",
        ("chain", "address"),
    ),
    "mev_rpc_requests_total": ("counter", "JSON-RPC requests to the nodes", ("chain", "method", "status")),
    "mev_rpc_endpoint_state": (
        "gauge",
        "Circuit of each provider of a chain as a component's JSON-RPC client sees it (0 closed, 1 half-open, 2 open)",
        ("component", "chain", "endpoint"),
    ),
    "mev_rpc_endpoint_failures_total": (
        "counter",
        "Failed requests to a provider by reason (unreachable, timeout, rate_limited); the request went on to the next",
        ("chain", "endpoint", "reason"),
    ),
    "mev_detection_endpoint": (
        "gauge",
        "1 for the provider detection follows a chain's heads and pending transactions on (primary, backup1, ...)",
        ("chain", "endpoint"),
    ),
    "mev_api_request_duration_seconds": ("histogram", "HTTP API request duration", ("path", "method", "code")),
    "mev_api_requests_total": ("counter", "HTTP API requests", ("path", "code")),
    "mev_api_auth_failures_total": ("counter", "API requests refused for a missing or wrong bearer token", ()),
    "mev_errors_total": ("counter", "Errors logged by each component", ("component",)),
    "mev_trading_enabled": ("gauge", "1 while trading is enabled, 0 when disabled or emergency-stopped", ()),
    "mev_pending_transactions": ("gauge", "Submitted transactions without a receipt yet", ("chain",)),
    "mev_component_up": ("gauge", "1 when the component published its metrics within 15 s", ("component",)),
    "mev_chain_head_block": ("gauge", "Newest block number seen by detection", ("chain",)),
    "mev_chain_head_age_seconds": ("gauge", "Seconds since the timestamp of the newest block seen", ("chain",)),
    "mev_stream_reclaimed_total": (
        "counter",
        "Stream entries delivered before a crash and not acknowledged, read again"
        " (source: own_pending after a restart, idle_consumer taken over with XAUTOCLAIM)",
        ("stream", "source"),
    ),
    "mev_recoveries_total": (
        "counter",
        "Crash and nonce recoveries by action (duplicate_skipped, gap_filled, unknown_outcome_sent,"
        " unknown_outcome_not_sent, unknown_outcome_unresolved, fee_bump_resend)",
        ("chain", "action"),
    ),
}

OWNED: dict[str, tuple[str, ...]] = {
    "detection": (
        "mev_detection_latency_seconds",
        "mev_candidates_total",
        "mev_rpc_requests_total",
        "mev_rpc_endpoint_state",
        "mev_rpc_endpoint_failures_total",
        "mev_errors_total",
        "mev_chain_head_block",
        "mev_chain_head_age_seconds",
        "mev_detection_endpoint",
    ),
    "calculation": (
        "mev_opportunities_total",
        "mev_opportunities_profitable_total",
        "mev_rpc_requests_total",
        "mev_rpc_endpoint_state",
        "mev_rpc_endpoint_failures_total",
        "mev_errors_total",
        "mev_stream_reclaimed_total",
        "mev_recoveries_total",
    ),
    "execution": (
        "mev_executions_total",
        "mev_bundle_success_rate",
        "mev_profit_eth_total",
        "mev_loss_eth_total",
        "mev_wallet_balance_eth",
        "mev_wallet_unrecorded_transactions",
        "mev_rpc_requests_total",
        "mev_rpc_endpoint_state",
        "mev_rpc_endpoint_failures_total",
        "mev_errors_total",
        "mev_pending_transactions",
        "mev_stream_reclaimed_total",
        "mev_recoveries_total",
    ),
    "monitoring": (
        "mev_api_request_duration_seconds",
        "mev_api_requests_total",
        "mev_api_auth_failures_total",
        "mev_errors_total",
        "mev_trading_enabled",
        "mev_component_up",
    ),
}


class Metrics:
    """The metrics one component owns, registered in its own registry."""

    def __init__(self, component: str, registry: CollectorRegistry | None = None) -> None:
        self.component = component
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self._metrics: dict[str, Any] = {}
        for name in OWNED[component]:
            kind, documentation, labels = DEFINITIONS[name]
            if kind == "counter":
                self._metrics[name] = Counter(name, documentation, labels, registry=self.registry)
            elif kind == "gauge":
                self._metrics[name] = Gauge(name, documentation, labels, registry=self.registry)
            else:
                buckets = LATENCY_BUCKETS if "latency" in name else API_BUCKETS
                self._metrics[name] = Histogram(name, documentation, labels, buckets=buckets, registry=self.registry)
        if "mev_errors_total" in self._metrics:
            self._metrics["mev_errors_total"].labels(component=component)  # expose 0 from the start

    def __getitem__(self, name: str) -> Any:
        return self._metrics[name]

    def error(self) -> None:
        self._metrics["mev_errors_total"].labels(component=self.component).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class ErrorCounter(logging.Handler):
    """Counts every ERROR log record of the process in mev_errors_total."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__(level=logging.ERROR)
        self.metrics = metrics

    def emit(self, record: logging.LogRecord) -> None:
        self.metrics.error()


class Publisher:
    """Pushes a component's exposition text to Redis every second until stopped."""

    def __init__(self, metrics: Metrics, redis: Any, interval: float = 1.0) -> None:
        self.metrics = metrics
        self.redis = redis
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="metrics-publisher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def publish_once(self) -> None:
        key = METRICS_KEY.format(component=self.metrics.component)
        self.redis.set(key, self.metrics.exposition(), ex=METRICS_TTL_SECONDS)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.publish_once()
            except Exception as exc:  # Redis away: keep trying, the component may recover
                log.warning("cannot publish metrics to Redis: %s", exc)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        """Stop and withdraw the key so monitoring shows the component down at once."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        try:
            self.redis.delete(METRICS_KEY.format(component=self.metrics.component))
        except Exception as exc:
            log.debug("cannot withdraw metrics key: %s", exc)


def merge_expositions(texts: Iterable[str]) -> list[Metric]:
    """Merge several exposition texts into one list of metric families."""
    families: dict[str, Metric] = {}
    samples: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], Any]] = {}
    for text in texts:
        for family in text_string_to_metric_families(text):
            if family.name not in families:
                families[family.name] = Metric(family.name, family.documentation, family.type, family.unit)
                samples[family.name] = {}
            additive = family.type in ("counter", "histogram", "summary")
            bucket = samples[family.name]
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                if key in bucket and additive:
                    previous = bucket[key]
                    bucket[key] = previous._replace(value=previous.value + sample.value)
                else:
                    bucket[key] = sample
    for name, family in families.items():
        family.samples = list(samples[name].values())
    return list(families.values())


class MergedCollector(Collector):
    """A collector whose families come from a callable (evaluated at each scrape)."""

    def __init__(self, source: Any) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        families: Iterable[Metric] = self.source()
        return families
